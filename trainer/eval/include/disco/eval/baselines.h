// Baselines for next-item prediction, evaluated with the same protocol and metric code as the
// LSTM. Written after the algorithms of session-rec (Ludewig & Jannach), settings as published:
//   pop    item popularity: score = n / (n + 1), n = training events of the item; its propensity
//          head is the training conversion rate of prefixes in the same funnel cell (cart seen,
//          click seen, prefix length 1..5+), the counting baseline for the LSTM's propensity head
//   iknn   item-kNN on the last item: co-occurrence in sessions / ((n_i+l)^a (n_j+l)^(1-a)), top 100
//   sknn   session-kNN: k = 100 most cosine-similar of the 500 most recent sessions sharing an item
//   vsknn  V-SKNN: k = 500 of 5000 recent; position weights quadratic, neighbour score decay 1/step
//          (div), idf weighting 5
//   bpr    BPR-MF (Eigen, SGD, seeded); a session is the mean of its items' factors
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "disco/eval/recommender.h"

namespace disco::eval {

class Popularity final : public Recommender {
 public:
  std::string name() const override { return "pop"; }
  void fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) override;
  void score(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types,
             std::span<float> scores_out) const override;
  // Propensity: P(a purchase follows | funnel cell of the prefix), from the training sessions with
  // the cases of evaluate_propensity(); false when training held no purchase at all.
  bool has_propensity() const override { return has_purchases_; }
  float propensity(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types) const override;
  static size_t funnel_cell(std::span<const uint8_t> prefix_types);
  static constexpr size_t kFunnelCells = 20;

 private:
  std::vector<float> scores_;
  bool has_purchases_ = false;
  float cell_rate_[kFunnelCells] = {};
};

struct ItemKnnOptions {
  int n_sims = 100;      // keep this many most similar items per item
  double lambda = 20;    // support regularisation
  double alpha = 0.5;    // 0.5 = cosine-like, 1 = confidence
};

class ItemKnn final : public Recommender {
 public:
  explicit ItemKnn(ItemKnnOptions o = {}) : o_(o) {}
  std::string name() const override { return "iknn"; }
  void fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) override;
  void score(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types,
             std::span<float> scores_out) const override;
  // The kept neighbours of item i (item, similarity), most similar first.
  std::span<const std::pair<uint32_t, float>> neighbours(uint32_t i) const;

 private:
  ItemKnnOptions o_;
  size_t n_items_ = 0;
  std::vector<uint32_t> offs_;
  std::vector<std::pair<uint32_t, float>> sims_;
};

// The training sessions as sets of items, the sessions of each item and each session's last
// timestamp; shared by the session-based kNN models.
struct SessionIndex {
  size_t n_items = 0;
  std::vector<uint32_t> sess_offs, sess_items;   // CSR: local session -> distinct items (sorted)
  std::vector<uint32_t> item_offs, item_sess;    // CSR: item -> local sessions containing it
  std::vector<int64_t> sess_time;                // last event time of each local session
  std::vector<uint32_t> item_events;             // training events per item
  void build(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions);
  size_t n_sessions() const { return sess_time.size(); }
};

struct SessionKnnOptions {
  int k = 100;
  int sample_size = 500;  // the most recent sessions sharing an item with the prefix; 0 = all
};

class SessionKnn final : public Recommender {
 public:
  explicit SessionKnn(SessionKnnOptions o = {}) : o_(o) {}
  std::string name() const override { return "sknn"; }
  void fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) override;
  void score(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types,
             std::span<float> scores_out) const override;

 private:
  SessionKnnOptions o_;
  SessionIndex idx_;
};

enum class PositionWeight : uint8_t { Same, Linear, Div, Log, Quadratic };
enum class ScoreDecay : uint8_t { Same, Linear, Div, Log, Quadratic };

struct VsknnOptions {
  int k = 500;
  int sample_size = 5000;
  PositionWeight weighting = PositionWeight::Quadratic;  // weight of the i-th of L prefix items
  ScoreDecay weighting_score = ScoreDecay::Div;          // decay by the neighbour's last match step
  double idf_weighting = 5;                              // 0 = off
  bool remind = true;                                    // prefix items may be recommended again
};

class Vsknn final : public Recommender {
 public:
  explicit Vsknn(VsknnOptions o = {}) : o_(o) {}
  std::string name() const override { return "vsknn"; }
  void fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) override;
  void score(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types,
             std::span<float> scores_out) const override;

 private:
  VsknnOptions o_;
  SessionIndex idx_;
  std::vector<double> idf_;
};

// Defaults chosen on a validation split of yoochoose-100k's training sessions (last 10% by start
// time): HR@20 .24 at 20 epochs / lr .05 / reg .0025, .57 at 40 epochs / lr .1 / reg .001.
struct BprOptions {
  int factors = 64;
  int epochs = 40;
  double learning_rate = 0.1;
  double reg = 0.001;      // L2 on factors and item biases
  double init_sigma = 0.05;
  uint64_t seed = 42;
};

class BprMf final : public Recommender {
 public:
  explicit BprMf(BprOptions o = {}) : o_(o) {}
  std::string name() const override { return "bpr"; }
  void fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) override;
  void score(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types,
             std::span<float> scores_out) const override;
  const std::vector<double>& epoch_loss() const { return epoch_loss_; }  // mean -log sigmoid per epoch
  const std::vector<float>& item_factors() const { return item_f_; }     // n_items x factors, row-major

 private:
  BprOptions o_;
  size_t n_items_ = 0;
  std::vector<float> item_f_, item_b_;
  std::vector<uint8_t> trained_;
  std::vector<double> epoch_loss_;
};

// "pop", "iknn", "sknn", "vsknn", "bpr" -> a baseline with its default (published) settings.
// Throws std::invalid_argument naming the known baselines for anything else.
std::unique_ptr<Recommender> make_baseline(std::string_view name);
std::vector<std::string> baseline_names();

}  // namespace disco::eval

// The LSTM as disco::eval Recommenders, so the same metric code evaluates it and the baselines:
//   LstmRecommender     float weights, stepped one event at a time in plain C++ (FloatSession).
//                       Used for the float model and for "dequantized" variants (int8/int4 weights
//                       with float activations) that isolate the weight-quantization cost.
//   RuntimeRecommender  an exported bundle.disco loaded by the runtime (C ABI): disco_observe per
//                       event, disco_recommend over the whole catalog. The real int8 inference path.
// The eval interface passes items and event types only (no prices, no timestamps): price buckets
// use the item's catalog price (as the runtime does for events without a price), gap buckets 0.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "disco/eval/recommender.h"
#include "disco/model/sequences.h"
#include "disco/model/weights.h"

struct disco_bundle;

namespace disco::model {

class LstmRecommender final : public eval::Recommender {
 public:
  // `catalog_price` per dense item (for price buckets); may be empty.
  LstmRecommender(std::string name, std::shared_ptr<const ModelWeights> w, std::vector<float> catalog_price = {});
  std::string name() const override { return name_; }
  void fit(const data::Dataset&, const std::vector<uint32_t>&) override {}  // trained by disco-train
  void score(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types,
             std::span<float> scores_out) const override;
  void score_prefixes(std::span<const uint32_t> items, std::span<const uint8_t> types, size_t first,
                      std::span<float> scratch, const PrefixCallback& on_prefix) const override;
  bool has_propensity() const override { return true; }
  float propensity(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types) const override;

 private:
  void step(FloatSession& s, uint32_t item, uint8_t type) const;
  std::string name_;
  std::shared_ptr<const ModelWeights> w_;
  std::vector<float> price_;
};

class RuntimeRecommender final : public eval::Recommender {
 public:
  // Loads `bundle_bytes` with the runtime (checksum verified); throws TrainError with the
  // runtime's message when it refuses the bundle.
  // top_k: items requested from disco_recommend per prefix; items outside the top get -inf, which
  // is exact for every cutoff K < top_k (0 = the whole catalog, exact for every metric).
  RuntimeRecommender(std::string name, std::vector<uint8_t> bundle_bytes, uint32_t top_k = 0);
  ~RuntimeRecommender() override;
  std::string name() const override { return name_; }
  void fit(const data::Dataset&, const std::vector<uint32_t>&) override {}
  void score(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types,
             std::span<float> scores_out) const override;
  void score_prefixes(std::span<const uint32_t> items, std::span<const uint8_t> types, size_t first,
                      std::span<float> scratch, const PrefixCallback& on_prefix) const override;
  bool has_propensity() const override { return true; }
  float propensity(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types) const override;
  uint32_t n_items() const { return n_items_; }

 private:
  struct Run;
  std::string name_;
  std::vector<uint8_t> bytes_;
  disco_bundle* bundle_ = nullptr;
  uint32_t n_items_ = 0;
  uint32_t top_k_ = 0;
};

// Weights with the exported tensors replaced by their quantize -> dequantize round trip
// (int8 per row for item_emb, lstm_w_ih, lstm_w_hh, out_proj; item_emb int4 when item_int4).
ModelWeights dequantized_copy(const ModelWeights& w, bool item_int4);

}  // namespace disco::model

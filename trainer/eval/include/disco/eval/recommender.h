// The interface every next-item model implements to be evaluated by disco::eval: the baselines in
// this folder and the LibTorch LSTM (float and int8) in trainer/model/. No LibTorch here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "disco/data/dataset.h"

namespace disco::eval {

class Recommender {
 public:
  virtual ~Recommender() = default;

  // Short identifier used in tables and reports ("pop", "vsknn", "lstm-int8", ...).
  virtual std::string name() const = 0;

  // Learns from the events of the given sessions (indices into ds.sessions). Items keep their dense
  // index of ds.items; score() fills one score per ds.items entry.
  virtual void fit(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions) = 0;

  // Scores every item as the next event of a session whose events so far are prefix_items (oldest
  // first; dense item indices) with event types prefix_types (data::EventType values, same length).
  // scores_out.size() == number of items of the fitted dataset; higher = more likely. Items the
  // model knows nothing about should get a score no higher than any item it does score (e.g. 0 for
  // non-negative scores, or -infinity). Must be safe to call concurrently from several threads.
  virtual void score(std::span<const uint32_t> prefix_items, std::span<const uint8_t> prefix_types,
                     std::span<float> scores_out) const = 0;

  // Scores after each prefix of one session: for t = first .. items.size()-1 calls
  // on_prefix(t, scores) with the scores for the prefix items[0, t). The default calls score() per
  // prefix; stateful models (an LSTM) override it to advance their state one event at a time.
  using PrefixCallback = std::function<void(size_t t, std::span<const float> scores)>;
  virtual void score_prefixes(std::span<const uint32_t> items, std::span<const uint8_t> types,
                              size_t first, std::span<float> scratch,
                              const PrefixCallback& on_prefix) const {
    for (size_t t = first; t < items.size(); ++t) {
      score(items.first(t), types.first(t), scratch);
      on_prefix(t, scratch);
    }
  }

  // Optional purchase-propensity head: probability that the session/shopper buys later, given the
  // prefix. has_propensity() == false means the model has none (the evaluation then skips it).
  virtual bool has_propensity() const { return false; }
  virtual float propensity(std::span<const uint32_t> /*prefix_items*/,
                           std::span<const uint8_t> /*prefix_types*/) const {
    return 0.f;
  }
};

}  // namespace disco::eval

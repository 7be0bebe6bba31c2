// Training sequences and padded mini-batches built from a disco::data::Dataset (no LibTorch).
//
// One sequence = one session (cut into overlapping windows of at most max_len events; window k+1
// starts at the last event of window k, so every transition i_t -> i_{t+1} is trained exactly
// once; the LSTM state restarts at 0 at each window). Per position t:
//   inputs  item i_t, type y_t, price bucket pb(p_t), gap bucket gb(g_t)   (model-spec.md)
//   target  the next item i_{t+1} of the session (none at a window's last position)
//   label   purchase propensity: 1 if the shopper makes a purchase event LATER in the same
//           session (any event after t of type purchase), else 0. The horizon is therefore
//           "the rest of the current session", the same state the runtime has at decision time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "disco/data/dataset.h"

namespace disco::model {

struct FeatureSpec {
  int price_buckets = 0;
  int gap_buckets = 0;
};

// model-spec.md: pb(p) = p <= 0 ? 0 : clamp(floor(2*log2(1+p)), 0, nb-1)
int price_bucket(float price, int nb);
// model-spec.md: gb(g) = clamp(floor(log2(1+g)), 0, ng-1), g in seconds since the previous event
int gap_bucket(double gap_s, int ng);

// Per-event model inputs of one session, as the runtime sees them (price <= 0 -> catalog price).
struct EventFeatures {
  int32_t item;
  uint8_t type, pbucket, gbucket;
};
std::vector<EventFeatures> session_features(const data::Dataset& ds, const data::Session& s,
                                            const FeatureSpec& fs);

struct Sequences {
  std::vector<int32_t> item;
  std::vector<uint8_t> type, pbucket, gbucket, prop_label;
  std::vector<uint8_t> has_target;   // 1 if item[t+1] (same window) is this position's target
  std::vector<int64_t> offsets{0};   // sequence s spans [offsets[s], offsets[s+1])
  int64_t transitions = 0;           // positions with a next-item target
  int64_t purchases = 0;             // positions with prop_label = 1
  size_t size() const { return offsets.size() - 1; }
  int64_t positions() const { return offsets.back(); }
  int64_t length(size_t s) const { return offsets[s + 1] - offsets[s]; }
};

// Sessions listed in `session_ids` (indices into ds.sessions) with >= 2 events, cut at max_len.
// Items with skip_item[item] != 0 (held-back "new" items) are removed from the sequences.
Sequences build_sequences(const data::Dataset& ds, const std::vector<uint32_t>& session_ids,
                          const FeatureSpec& fs, int max_len,
                          const std::vector<uint8_t>* skip_item = nullptr);

// A padded batch [B, T], row-major; padding positions have mask 0 and target -1.
struct Batch {
  int B = 0, T = 0;
  std::vector<int64_t> item, type, pbucket, gbucket;
  std::vector<int64_t> next_pos;     // flat positions (b*T+t) with a next-item target
  std::vector<int64_t> next_target;  // their targets
  std::vector<int64_t> valid_pos;    // flat positions of real events
  std::vector<float> prop_label;     // for valid_pos
  int64_t events = 0;                // real events in the batch
};

Batch make_batch(const Sequences& seqs, const std::vector<int64_t>& seq_ids);

// Deterministic batch plan for one epoch: sequences shuffled with (seed, epoch), grouped by
// similar length within blocks of 32 batches (less padding), then batch order shuffled.
std::vector<std::vector<int64_t>> epoch_plan(const Sequences& seqs, int batch_size, uint64_t seed,
                                             int epoch);
// In-order plan (validation).
std::vector<std::vector<int64_t>> ordered_plan(const Sequences& seqs, int batch_size);

// Items' training frequencies (for the sampled-softmax proposal and the popularity tie-break).
std::vector<double> item_counts(const Sequences& seqs, int n_items);

}  // namespace disco::model

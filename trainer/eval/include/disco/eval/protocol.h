// The evaluation protocols: next-item prediction over test sessions with full-catalog ranking, and
// purchase propensity (AUC, log loss). Matches session-rec's evaluation for yoochoose-100k: every
// event of a test session after the first is predicted from the prefix before it; candidates are
// all items seen in training; test events whose item never occurs in training are removed before
// prefixes are formed (session-rec's loader does this) and sessions left with fewer than two events
// are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "disco/data/dataset.h"
#include "disco/eval/metrics.h"
#include "disco/eval/recommender.h"

namespace disco::eval {

enum class UnknownItems : uint8_t {
  Drop = 0,  // session-rec: remove such events from the test sequence (neither prefix nor target)
  Miss = 1,  // keep them in the prefix; as a target they count as a miss (rank beyond every cutoff)
};
const char* to_string(UnknownItems u);

struct TaskOptions {
  UnknownItems unknown_items = UnknownItems::Drop;
  size_t max_test_sessions = 0;  // 0 = all; else the first N test sessions (in the order given)
  // Optional, parallel to test_sessions: index (within the session's events) of the first event to
  // predict; earlier events are prefix only. Empty = 1 (every event after the first).
  std::vector<uint32_t> first_target;
};

struct TestSequence {
  uint32_t session = 0;             // index into Dataset::sessions
  std::vector<uint32_t> items;      // dense item indices, in time order
  std::vector<uint8_t> types;       // data::EventType values
  std::vector<uint8_t> known;       // 1 when the item occurs in training
  uint32_t first = 1;               // first position to predict (>= 1)
};

struct NextItemTask {
  std::vector<uint8_t> candidate;   // per Dataset item: 1 when seen in the training sessions
  uint64_t n_candidates = 0;
  std::vector<TestSequence> sequences;
  uint64_t n_targets = 0;           // predictions that will be scored (and missed)
  uint64_t dropped_unknown_events = 0;
  uint64_t skipped_short_sessions = 0;
  uint64_t unknown_targets = 0;     // UnknownItems::Miss: targets counted as misses
  UnknownItems unknown_items = UnknownItems::Drop;
};

NextItemTask build_next_item_task(const data::Dataset& ds, const std::vector<uint32_t>& train_sessions,
                                  const std::vector<uint32_t>& test_sessions, const TaskOptions& opt = {});

// Timeline protocol for long per-user histories (completejourney baskets): each user's events in
// time order form one sequence; events before the cutoff time (the (1 - test_frac) quantile of all
// event times) train the models; every event at or after it is predicted from all of the user's
// earlier events, including those before the cutoff.
struct TimelineSplit {
  data::Dataset ds;                   // the input with `sessions` replaced by the parts below
  std::vector<uint32_t> train;        // per user with events before the cutoff: those events
  std::vector<uint32_t> test;         // per user with events at/after the cutoff: the whole timeline
  std::vector<uint32_t> first_target; // per test session: index of its first event at/after the cutoff
  int64_t cutoff_ms = 0;
};
TimelineSplit timeline_split(const data::Dataset& ds, double test_frac);

struct EvalOptions {
  std::vector<int> cutoffs{10, 20};
  int threads = 1;                  // score test sessions in parallel (the model must be thread-safe)
};

struct NextItemResult {
  RankingAccumulator acc{{10, 20}};
  double seconds = 0;
  RankingMetrics metrics(TiePolicy p) const { return acc.result(p); }
};

NextItemResult evaluate_next_item(const Recommender& model, const NextItemTask& task, const EvalOptions& opt = {});

// How closely two models agree on the same prefixes (float vs int8): over the candidate items of
// every prediction of the task (at most max_cases predictions; 0 = all), the largest and mean
// absolute score difference and the mean overlap of the two top-k lists (1 = same items).
struct ScoreAgreement {
  uint64_t cases = 0;
  double max_abs_diff = 0, mean_abs_diff = 0;
  double topk_overlap = 0;
  int k = 10;
};
ScoreAgreement compare_scores(const Recommender& a, const Recommender& b, const NextItemTask& task, int k = 10,
                              size_t max_cases = 0);

// Propensity: for each test session, one case per prefix that holds no purchase yet, i.e. the
// prefixes events[0, t) for t = 1 .. min(first purchase index, n - 1); label = the session has a
// purchase at index >= t.
struct PropensityResult {
  uint64_t cases = 0, positives = 0;
  double auc = 0, log_loss = 0;
  double seconds = 0;
};
PropensityResult evaluate_propensity(const Recommender& model, const data::Dataset& ds,
                                     const std::vector<uint32_t>& test_sessions, size_t max_test_sessions = 0);

}  // namespace disco::eval

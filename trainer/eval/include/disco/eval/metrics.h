// Ranking metrics with full-catalog ranking (no sampled negatives) and binary-classification
// metrics for a propensity head.
//
// Rank of the target: 1 + (number of candidate items with a strictly higher score) under the
// optimistic tie policy (ties in the target's favour); + all tied items under the pessimistic one;
// the expected value over a uniformly random order of the tied items under TiePolicy::Expected
// (what a ranking that breaks ties arbitrarily, as session-rec's sort does, gives on average).
//   HR@K   = [rank <= K]
//   MRR@K  = [rank <= K] / rank
//   NDCG@K = [rank <= K] / log2(rank + 1)      (one relevant item, so IDCG = 1)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace disco::eval {

enum class TiePolicy : uint8_t { Optimistic = 0, Pessimistic = 1, Expected = 2 };
const char* to_string(TiePolicy p);
bool parse_tie_policy(std::string_view s, TiePolicy& out);  // "optimistic" | "pessimistic" | "expected"

// Where the target stands among the candidates: `higher` candidates score strictly higher, `tied`
// other candidates score exactly the same (NaN scores count as lowest).
struct RankStat {
  uint64_t higher = 0;
  uint64_t tied = 0;
};

// Counts higher/tied over candidate items (candidate_mask[i] != 0; an empty mask = all items),
// excluding the target itself. The target must be a candidate.
RankStat rank_of(std::span<const float> scores, uint32_t target, std::span<const uint8_t> candidate_mask = {});

// Per-case metric values for one cutoff K under a tie policy.
struct CaseMetrics {
  double hr = 0, mrr = 0, ndcg = 0;
};
CaseMetrics case_metrics(const RankStat& r, int k, TiePolicy policy);

struct RankingMetrics {
  struct AtK {
    int k = 0;
    double hr = 0, mrr = 0, ndcg = 0;
  };
  uint64_t cases = 0;
  std::vector<AtK> at;  // one per cutoff, in the order given
  const AtK* find(int k) const;
};

// Accumulates cases for several cutoffs under all three tie policies at once.
class RankingAccumulator {
 public:
  explicit RankingAccumulator(std::vector<int> cutoffs = {10, 20});
  void add(const RankStat& r);
  // A case whose target can never be ranked (e.g. not a candidate): counts as a miss.
  void add_miss();
  void merge(const RankingAccumulator& other);
  RankingMetrics result(TiePolicy policy) const;
  uint64_t cases() const { return cases_; }
  const std::vector<int>& cutoffs() const { return cutoffs_; }

 private:
  std::vector<int> cutoffs_;
  uint64_t cases_ = 0;
  // [policy][cutoff] sums of hr, mrr, ndcg
  std::vector<double> sums_;
  double& sum(int policy, size_t ci, int what) { return sums_[(policy * cutoffs_.size() + ci) * 3 + what]; }
  double sum(int policy, size_t ci, int what) const { return sums_[(policy * cutoffs_.size() + ci) * 3 + what]; }
};

// Area under the ROC curve (ties in score count one half: the Mann-Whitney statistic). Returns NaN
// when all labels are equal. labels: 0/1; scores: any real numbers.
double roc_auc(std::span<const uint8_t> labels, std::span<const float> scores);

// Mean binary cross-entropy, natural log; probabilities are clipped to [eps, 1 - eps].
double log_loss(std::span<const uint8_t> labels, std::span<const float> probs, double eps = 1e-7);

}  // namespace disco::eval

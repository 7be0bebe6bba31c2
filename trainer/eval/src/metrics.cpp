#include "disco/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace disco::eval {

const char* to_string(TiePolicy p) {
  switch (p) {
    case TiePolicy::Optimistic: return "optimistic";
    case TiePolicy::Pessimistic: return "pessimistic";
    case TiePolicy::Expected: return "expected";
  }
  return "?";
}

bool parse_tie_policy(std::string_view s, TiePolicy& out) {
  if (s == "optimistic") out = TiePolicy::Optimistic;
  else if (s == "pessimistic") out = TiePolicy::Pessimistic;
  else if (s == "expected") out = TiePolicy::Expected;
  else return false;
  return true;
}

RankStat rank_of(std::span<const float> scores, uint32_t target, std::span<const uint8_t> candidate_mask) {
  if (target >= scores.size()) throw std::out_of_range("rank_of: target index out of range");
  if (!candidate_mask.empty() && candidate_mask.size() != scores.size())
    throw std::invalid_argument("rank_of: candidate mask size differs from the number of scores");
  RankStat r;
  const float t = scores[target];
  const bool t_nan = std::isnan(t);
  const size_t n = scores.size();
  const bool all = candidate_mask.empty();
  for (size_t i = 0; i < n; ++i) {
    if (i == target || (!all && !candidate_mask[i])) continue;
    const float s = scores[i];
    if (t_nan) {  // NaN is the lowest score: every non-NaN beats it, NaNs tie with it
      if (std::isnan(s)) ++r.tied;
      else ++r.higher;
    } else if (s > t) {
      ++r.higher;
    } else if (s == t) {
      ++r.tied;
    }
  }
  return r;
}

namespace {
double rank_terms(uint64_t rank, int what) {
  if (what == 0) return 1.0;
  if (what == 1) return 1.0 / static_cast<double>(rank);
  return 1.0 / std::log2(static_cast<double>(rank) + 1.0);
}
}  // namespace

CaseMetrics case_metrics(const RankStat& r, int k, TiePolicy policy) {
  CaseMetrics m;
  const uint64_t K = k > 0 ? static_cast<uint64_t>(k) : 0;
  if (policy == TiePolicy::Expected) {
    // rank = 1 + higher + j, j uniform on {0, ..., tied}
    const uint64_t lo = r.higher + 1;
    if (lo > K) return m;
    const uint64_t hi = std::min<uint64_t>(r.higher + 1 + r.tied, K);
    const double w = 1.0 / static_cast<double>(r.tied + 1);
    for (uint64_t rank = lo; rank <= hi; ++rank) {
      m.hr += w;
      m.mrr += w * rank_terms(rank, 1);
      m.ndcg += w * rank_terms(rank, 2);
    }
    return m;
  }
  const uint64_t rank = r.higher + 1 + (policy == TiePolicy::Pessimistic ? r.tied : 0);
  if (rank > K) return m;
  m.hr = 1.0;
  m.mrr = rank_terms(rank, 1);
  m.ndcg = rank_terms(rank, 2);
  return m;
}

const RankingMetrics::AtK* RankingMetrics::find(int k) const {
  for (const auto& a : at)
    if (a.k == k) return &a;
  return nullptr;
}

RankingAccumulator::RankingAccumulator(std::vector<int> cutoffs) : cutoffs_(std::move(cutoffs)) {
  for (int k : cutoffs_)
    if (k <= 0) throw std::invalid_argument("RankingAccumulator: cutoffs must be positive");
  sums_.assign(3 * cutoffs_.size() * 3, 0.0);
}

void RankingAccumulator::add(const RankStat& r) {
  ++cases_;
  for (int p = 0; p < 3; ++p) {
    for (size_t ci = 0; ci < cutoffs_.size(); ++ci) {
      const CaseMetrics m = case_metrics(r, cutoffs_[ci], static_cast<TiePolicy>(p));
      sum(p, ci, 0) += m.hr;
      sum(p, ci, 1) += m.mrr;
      sum(p, ci, 2) += m.ndcg;
    }
  }
}

void RankingAccumulator::add_miss() { ++cases_; }

void RankingAccumulator::merge(const RankingAccumulator& other) {
  if (other.cutoffs_ != cutoffs_) throw std::invalid_argument("RankingAccumulator::merge: different cutoffs");
  cases_ += other.cases_;
  for (size_t i = 0; i < sums_.size(); ++i) sums_[i] += other.sums_[i];
}

RankingMetrics RankingAccumulator::result(TiePolicy policy) const {
  RankingMetrics out;
  out.cases = cases_;
  const int p = static_cast<int>(policy);
  const double n = cases_ ? static_cast<double>(cases_) : std::numeric_limits<double>::quiet_NaN();
  for (size_t ci = 0; ci < cutoffs_.size(); ++ci) {
    RankingMetrics::AtK a;
    a.k = cutoffs_[ci];
    a.hr = sum(p, ci, 0) / n;
    a.mrr = sum(p, ci, 1) / n;
    a.ndcg = sum(p, ci, 2) / n;
    out.at.push_back(a);
  }
  return out;
}

double roc_auc(std::span<const uint8_t> labels, std::span<const float> scores) {
  if (labels.size() != scores.size()) throw std::invalid_argument("roc_auc: labels and scores differ in length");
  const size_t n = labels.size();
  for (size_t i = 0; i < n; ++i)
    if (std::isnan(scores[i])) throw std::invalid_argument("roc_auc: NaN score at index " + std::to_string(i));
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U with mid-ranks for ties.
  double rank_sum_pos = 0;
  uint64_t n_pos = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double mid = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;  // 1-based
    for (size_t t = i; t <= j; ++t)
      if (labels[order[t]]) {
        rank_sum_pos += mid;
        ++n_pos;
      }
    i = j + 1;
  }
  const uint64_t n_neg = n - n_pos;
  if (n_pos == 0 || n_neg == 0) return std::numeric_limits<double>::quiet_NaN();
  const double u = rank_sum_pos - static_cast<double>(n_pos) * (static_cast<double>(n_pos) + 1) / 2.0;
  return u / (static_cast<double>(n_pos) * static_cast<double>(n_neg));
}

double log_loss(std::span<const uint8_t> labels, std::span<const float> probs, double eps) {
  if (labels.size() != probs.size()) throw std::invalid_argument("log_loss: labels and probabilities differ in length");
  if (labels.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    double p = std::clamp(static_cast<double>(probs[i]), eps, 1.0 - eps);
    s -= labels[i] ? std::log(p) : std::log(1.0 - p);
  }
  return s / static_cast<double>(labels.size());
}

}  // namespace disco::eval

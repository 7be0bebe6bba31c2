#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "disco/eval/metrics.h"

using namespace disco::eval;

TEST(EvalMetrics, RankCountsHigherAndTiedExcludingTarget) {
  const std::vector<float> s = {0.5f, 0.9f, 0.5f, 0.1f, 0.5f};
  const RankStat r = rank_of(s, 0);
  EXPECT_EQ(r.higher, 1u);
  EXPECT_EQ(r.tied, 2u);
  const RankStat top = rank_of(s, 1);
  EXPECT_EQ(top.higher, 0u);
  EXPECT_EQ(top.tied, 0u);
}

TEST(EvalMetrics, CandidateMaskExcludesNonCandidates) {
  const std::vector<float> s = {0.5f, 0.9f, 0.5f, 0.1f, 0.5f};
  const std::vector<uint8_t> mask = {1, 0, 1, 1, 0};  // item 1 (higher) and item 4 (tied) excluded
  const RankStat r = rank_of(s, 0, mask);
  EXPECT_EQ(r.higher, 0u);
  EXPECT_EQ(r.tied, 1u);
}

TEST(EvalMetrics, NanTargetRanksBelowEveryNumber) {
  const std::vector<float> s = {NAN, 0.f, -1.f, NAN};
  const RankStat r = rank_of(s, 0);
  EXPECT_EQ(r.higher, 2u);
  EXPECT_EQ(r.tied, 1u);
}

TEST(EvalMetrics, TiePoliciesOnHandComputedCase) {
  const RankStat r{1, 2};  // one item above, two tied: rank 2 (optimistic) .. 4 (pessimistic)
  const CaseMetrics o = case_metrics(r, 10, TiePolicy::Optimistic);
  EXPECT_DOUBLE_EQ(o.hr, 1.0);
  EXPECT_DOUBLE_EQ(o.mrr, 0.5);
  EXPECT_NEAR(o.ndcg, 1.0 / std::log2(3.0), 1e-12);
  const CaseMetrics p = case_metrics(r, 10, TiePolicy::Pessimistic);
  EXPECT_DOUBLE_EQ(p.mrr, 0.25);
  EXPECT_NEAR(p.ndcg, 1.0 / std::log2(5.0), 1e-12);
  const CaseMetrics e = case_metrics(r, 10, TiePolicy::Expected);
  EXPECT_NEAR(e.hr, 1.0, 1e-12);
  EXPECT_NEAR(e.mrr, (1.0 / 2 + 1.0 / 3 + 1.0 / 4) / 3, 1e-12);
  EXPECT_NEAR(e.ndcg, (1 / std::log2(3.0) + 1 / std::log2(4.0) + 1 / std::log2(5.0)) / 3, 1e-12);
  // Cutoff inside the tie block: ranks 2 and 3 hit at K = 3, rank 4 does not.
  const CaseMetrics e3 = case_metrics(r, 3, TiePolicy::Expected);
  EXPECT_NEAR(e3.hr, 2.0 / 3, 1e-12);
  EXPECT_NEAR(e3.mrr, (1.0 / 2 + 1.0 / 3) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(case_metrics(r, 3, TiePolicy::Pessimistic).hr, 0.0);
  EXPECT_DOUBLE_EQ(case_metrics(r, 1, TiePolicy::Optimistic).hr, 0.0);
}

TEST(EvalMetrics, AccumulatorAveragesAndCountsMisses) {
  RankingAccumulator acc({1, 5});
  acc.add({0, 0});  // rank 1
  acc.add({3, 0});  // rank 4
  acc.add_miss();
  acc.add({9, 0});  // rank 10: beyond both cutoffs
  const RankingMetrics m = acc.result(TiePolicy::Optimistic);
  ASSERT_EQ(m.cases, 4u);
  ASSERT_NE(m.find(1), nullptr);
  ASSERT_NE(m.find(5), nullptr);
  EXPECT_EQ(m.find(20), nullptr);
  EXPECT_DOUBLE_EQ(m.find(1)->hr, 0.25);
  EXPECT_DOUBLE_EQ(m.find(5)->hr, 0.5);
  EXPECT_DOUBLE_EQ(m.find(5)->mrr, (1.0 + 0.25) / 4);
  EXPECT_NEAR(m.find(5)->ndcg, (1.0 + 1.0 / std::log2(5.0)) / 4, 1e-12);
  RankingAccumulator other({1, 5});
  other.add({0, 0});
  acc.merge(other);
  EXPECT_EQ(acc.cases(), 5u);
  EXPECT_DOUBLE_EQ(acc.result(TiePolicy::Optimistic).find(1)->hr, 0.4);
  EXPECT_THROW(acc.merge(RankingAccumulator({10})), std::invalid_argument);
  EXPECT_THROW(RankingAccumulator({0}), std::invalid_argument);
}

TEST(EvalMetrics, AucMatchesHandValueWithTies) {
  const std::vector<uint8_t> y = {1, 0, 1, 0};
  const std::vector<float> s = {0.9f, 0.8f, 0.4f, 0.4f};
  // pairs (pos, neg): (.9,.8)=1 (.9,.4)=1 (.4,.8)=0 (.4,.4)=.5 -> 2.5 / 4
  EXPECT_DOUBLE_EQ(roc_auc(y, s), 0.625);
  const std::vector<float> perfect = {1.f, 0.f, 0.7f, 0.2f};
  EXPECT_DOUBLE_EQ(roc_auc(y, perfect), 1.0);
  const std::vector<float> reversed = {0.f, 1.f, 0.2f, 0.7f};
  EXPECT_DOUBLE_EQ(roc_auc(y, reversed), 0.0);
  const std::vector<uint8_t> all_pos = {1, 1};
  const std::vector<float> two = {0.1f, 0.2f};
  EXPECT_TRUE(std::isnan(roc_auc(all_pos, two)));
  const std::vector<float> nan_score = {0.1f, NAN, 0.2f, 0.3f};
  EXPECT_THROW(roc_auc(y, nan_score), std::invalid_argument);
}

TEST(EvalMetrics, LogLossMatchesHandValue) {
  const std::vector<uint8_t> y = {1, 0};
  const std::vector<float> p = {0.8f, 0.3f};
  EXPECT_NEAR(log_loss(y, p), -(std::log(0.8) + std::log(0.7)) / 2, 1e-6);
  const std::vector<float> certain_wrong = {0.f, 1.f};
  EXPECT_NEAR(log_loss(y, certain_wrong), -std::log(1e-7), 1e-6);  // clipped, finite
  const std::vector<float> one = {0.5f};
  EXPECT_THROW(log_loss(y, one), std::invalid_argument);
}

TEST(EvalMetrics, ParseTiePolicy) {
  TiePolicy p{};
  EXPECT_TRUE(parse_tie_policy("expected", p));
  EXPECT_EQ(p, TiePolicy::Expected);
  EXPECT_FALSE(parse_tie_policy("random", p));
  EXPECT_STREQ(to_string(TiePolicy::Pessimistic), "pessimistic");
}

// Every OPE estimator on hand-computed cases, SLOPE's choice on a case checked against the Open
// Bandit Pipeline's procedure, the bootstrap interval and the diagnostics.
#include <gtest/gtest.h>

#include <cmath>

#include "disco/eval/ope.h"

using namespace disco::eval::ope;

namespace {
// 4 decisions, 2 arms, one position.
//   row  arm  p_b   r   pi_e(0) pi_e(1)  q(0) q(1)   w = pi_e(arm)/p_b
//   0    0    .5    1   .2      .8       .6   .3     .4
//   1    1    .5    0   .2      .8       .6   .3     1.6
//   2    1    .25   1   .5      .5       .4   .5     2
//   3    0    .75   0   1       0        .2   .1     4/3
struct Case {
  BanditLog log;
  ActionDist pi;
  RewardPredictions q;
};
Case hand_case() {
  Case c;
  c.log.source = "hand";
  c.log.n_arms = 2;
  c.log.arm = {0, 1, 1, 0};
  c.log.position = {0, 0, 0, 0};
  c.log.propensity = {.5, .5, .25, .75};
  c.log.reward = {1, 0, 1, 0};
  c.log.cluster = {0, 1, 2, 3};
  c.pi.n_arms = 2;
  c.pi.p = {.2, .8, .2, .8, .5, .5, 1, 0};
  c.q.n_arms = 2;
  c.q.q = {.6, .3, .6, .3, .4, .5, .2, .1};
  return c;
}
// q_pi = .36, .36, .45, .2 (sum 1.37); residuals r - q(arm) = .4, -.3, .5, -.2
constexpr double kSumQpi = 1.37;
}  // namespace

TEST(OpeEstimators, RowTermsByHand) {
  Case c = hand_case();
  const RowTerms t = row_terms(c.log, c.pi, &c.q);
  EXPECT_DOUBLE_EQ(t.w[0], .4);
  EXPECT_DOUBLE_EQ(t.w[1], 1.6);
  EXPECT_DOUBLE_EQ(t.w[2], 2.0);
  EXPECT_DOUBLE_EQ(t.w[3], 4.0 / 3.0);
  EXPECT_NEAR(t.q_pi[0], .36, 1e-15);
  EXPECT_NEAR(t.q_pi[2], .45, 1e-15);
  EXPECT_NEAR(t.q_pi[3], .2, 1e-15);
  EXPECT_DOUBLE_EQ(t.q_fact[1], .3);
}

TEST(OpeEstimators, EachEstimatorByHand) {
  Case c = hand_case();
  const RowTerms t = row_terms(c.log, c.pi, &c.q);
  EXPECT_NEAR(estimate(Estimator::DM, t), kSumQpi / 4, 1e-12);                         // .3425
  EXPECT_NEAR(estimate(Estimator::IPS, t), (.4 * 1 + 2.0 * 1) / 4, 1e-12);             // .6
  EXPECT_NEAR(estimate(Estimator::SNIPS, t), 2.4 / (.4 + 1.6 + 2 + 4.0 / 3), 1e-12);  // .45
  const double wres = .4 * .4 - 1.6 * .3 + 2 * .5 - 4.0 / 3 * .2;                      // .41333
  EXPECT_NEAR(estimate(Estimator::DR, t), (kSumQpi + wres) / 4, 1e-12);               // .44583
  EXPECT_NEAR(estimate(Estimator::SNDR, t), kSumQpi / 4 + wres / (16.0 / 3), 1e-12);  // .42
  // Switch-DR: only rows with w <= 1.5 (rows 0 and 3) keep their correction.
  EXPECT_NEAR(estimate(Estimator::SwitchDR, t, 1.5), (kSumQpi + .4 * .4 - 4.0 / 3 * .2) / 4, 1e-12);
  // DR-OS with lambda 1: w_hat = w / (w^2 + 1).
  const double dros = kSumQpi + .4 / 1.16 * .4 - 1.6 / 3.56 * .3 + 2.0 / 5 * .5 - (4.0 / 3) / (16.0 / 9 + 1) * .2;
  EXPECT_NEAR(estimate(Estimator::DROS, t, 1.0), dros / 4, 1e-12);
  // Limits: lambda = inf is DR for both; lambda = 0 is DM for both.
  EXPECT_NEAR(estimate(Estimator::SwitchDR, t, kInf), estimate(Estimator::DR, t), 1e-15);
  EXPECT_NEAR(estimate(Estimator::DROS, t, kInf), estimate(Estimator::DR, t), 1e-15);
  EXPECT_NEAR(estimate(Estimator::SwitchDR, t, 0), estimate(Estimator::DM, t), 1e-15);
  EXPECT_NEAR(estimate(Estimator::DROS, t, 0), estimate(Estimator::DM, t), 1e-15);
  // The round values average to the estimate (SNIPS: w r / mean w).
  const auto v = round_values(Estimator::SNIPS, t);
  EXPECT_NEAR((v[0] + v[1] + v[2] + v[3]) / 4, .45, 1e-12);
}

TEST(OpeEstimators, OnPolicyCandidateRecoversTheLoggedMean) {
  // Candidate = the logging policy: every weight is 1, IPS = SNIPS = the mean reward.
  BanditLog log;
  log.n_arms = 3;
  log.arm = {0, 2, 1, 2, 0};
  log.position.assign(5, 0);
  log.propensity = {.2, .5, .3, .5, .2};
  log.reward = {3, 0, 1, 2, 5};
  log.cluster = {0, 1, 2, 3, 4};
  ActionDist pi;
  pi.n_arms = 3;
  for (int i = 0; i < 5; ++i) pi.p.insert(pi.p.end(), {.2, .3, .5});
  const RowTerms t = row_terms(log, pi, nullptr);
  EXPECT_NEAR(estimate(Estimator::IPS, t), 11.0 / 5, 1e-12);
  EXPECT_NEAR(estimate(Estimator::SNIPS, t), 11.0 / 5, 1e-12);
}

TEST(OpeEstimators, SlopeChoosesAsTheOpenBanditPipeline) {
  // Round-value inputs for which OBP's SLOPE (obp/ope/estimators_tuning.py, delta 0.1) picks lambda 3
  // among {1, 3, 10, inf} for both Switch-DR and DR-OS (checked with that procedure in Python).
  RowTerms t;
  t.w = {8, 8, 2, 4, .5, 8, 2, 1};
  t.r = {0, 0, 1, 1, 1, 1, 0, 1};
  t.q_fact = {.46, .33, .88, .42, .72, .67, .31, .99};
  t.q_pi = {.83, .28, .39, .17, .93, .19, .98, .34};
  const std::vector<double> lambdas = {1, 3, 10, kInf};
  EXPECT_EQ(slope_lambda(Estimator::SwitchDR, t, lambdas), 3);
  EXPECT_EQ(slope_lambda(Estimator::DROS, t, lambdas), 3);
  // The estimates those lambdas give (the same Python run): Switch-DR .5325 .485 .315 .315, DR-OS(3) .53568
  EXPECT_NEAR(estimate(Estimator::SwitchDR, t, 1), .5325, 1e-12);
  EXPECT_NEAR(estimate(Estimator::SwitchDR, t, 3), .485, 1e-12);
  EXPECT_NEAR(estimate(Estimator::SwitchDR, t, 10), .315, 1e-12);
  EXPECT_NEAR(estimate(Estimator::DROS, t, 3), 0.5356766620555407, 1e-12);
  EXPECT_NEAR(estimate(Estimator::DROS, t, 10), 0.547407262315799, 1e-12);
  // Equal candidates (no weight above the smallest lambda): any choice gives DR.
  RowTerms u = t;
  u.w = {.5, .5, 1, 1, .5, .5, 1, 1};
  const double l = slope_lambda(Estimator::SwitchDR, u, lambdas);
  EXPECT_NEAR(estimate(Estimator::SwitchDR, u, l), estimate(Estimator::DR, u), 1e-15);
  EXPECT_THROW(slope_lambda(Estimator::DR, t, lambdas), OpeError);
}

TEST(OpeEstimators, EvaluateIntervalsAndDiagnostics) {
  Case c = hand_case();
  OpeOptions opt;
  opt.bootstrap = 2000;
  opt.seed = 7;
  opt.lambdas = {1.5, kInf};
  const OpeResult r = evaluate(c.log, c.pi, &c.q, opt);
  EXPECT_NEAR(r.get(Estimator::IPS).value, .6, 1e-12);
  EXPECT_NEAR(r.get(Estimator::DM).value, .3425, 1e-12);
  for (const auto& e : r.estimates) {
    EXPECT_LE(e.lo, e.value + 1e-12) << to_string(e.estimator);
    EXPECT_GE(e.hi, e.value - 1e-12) << to_string(e.estimator);
  }
  // IPS resamples of 4 rows take values in {0, .1, .2, ...}: the interval spans the data's range.
  EXPECT_GE(r.get(Estimator::IPS).lo, 0.0);
  EXPECT_LE(r.get(Estimator::IPS).hi, 2.0 + 1e-12);
  EXPECT_LT(r.get(Estimator::IPS).lo, r.get(Estimator::IPS).hi);
  // The same seed, the same intervals.
  const OpeResult r2 = evaluate(c.log, c.pi, &c.q, opt);
  EXPECT_EQ(r2.get(Estimator::DR).lo, r.get(Estimator::DR).lo);
  EXPECT_EQ(r2.get(Estimator::DR).hi, r.get(Estimator::DR).hi);
  // Diagnostics: ESS = (sum w)^2 / sum w^2, weights .4 1.6 2 4/3.
  const auto& d = r.diag;
  const double sw = .4 + 1.6 + 2 + 4.0 / 3, sw2 = .16 + 2.56 + 4 + 16.0 / 9;
  EXPECT_NEAR(d.ess, sw * sw / sw2, 1e-12);
  EXPECT_NEAR(d.min_propensity, .25, 1e-15);
  EXPECT_NEAR(d.max_weight, 2.0, 1e-15);
  EXPECT_NEAR(d.mean_weight, sw / 4, 1e-12);
  EXPECT_EQ(d.zero_prob_share, 0.0);
  EXPECT_NEAR(d.logged_value, .5, 1e-15);
  EXPECT_EQ(d.clusters, 4u);
  uint64_t total = d.zero_weights;
  for (auto b : d.weight_bins) total += b;
  EXPECT_EQ(total, 4u);
  EXPECT_EQ(d.weight_bins.back(), 1u);  // the largest weight lands in the last bin
}

TEST(OpeEstimators, ClusteredBootstrapResamplesShoppers) {
  // Two shoppers with two decisions each: resampling shoppers can only give means of whole shoppers.
  Case c = hand_case();
  c.log.cluster = {10, 10, 20, 20};
  OpeOptions opt;
  opt.estimators = {Estimator::IPS};
  opt.bootstrap = 500;
  const OpeResult r = evaluate(c.log, c.pi, nullptr, opt);
  EXPECT_EQ(r.diag.clusters, 2u);
  // shopper 10: w r = .4, 0 -> mean .2; shopper 20: 2, 0 -> mean 1. Every resample is .2, .6 or 1.
  EXPECT_NEAR(r.get(Estimator::IPS).lo, .2, 1e-12);
  EXPECT_NEAR(r.get(Estimator::IPS).hi, 1.0, 1e-12);
}

TEST(OpeEstimators, ZeroCandidateProbabilityAndUnloggedArms) {
  Case c = hand_case();
  c.log.n_arms = 3;  // arm 2 is never logged
  c.pi.n_arms = 3;
  c.pi.p = {0, .5, .5, .2, .8, 0, .5, .5, 0, 1, 0, 0};
  const Diagnostics d = diagnose(c.log, c.pi);
  EXPECT_NEAR(d.zero_prob_share, .25, 1e-15);  // row 0: the candidate never takes arm 0
  EXPECT_NEAR(d.unlogged_mass, .5 / 4, 1e-15);
  ASSERT_EQ(d.unlogged_arms.size(), 1u);
  EXPECT_EQ(d.unlogged_arms[0], 2u);
  EXPECT_EQ(d.zero_weights, 1u);
}

TEST(OpeEstimators, RefusesBadLogs) {
  Case c = hand_case();
  c.log.propensity[2] = 0;
  EXPECT_THROW(c.log.validate(), OpeError);
  c = hand_case();
  c.log.propensity[1] = 1.2;
  try {
    c.log.validate();
    FAIL();
  } catch (const OpeError& e) {
    EXPECT_NE(std::string(e.what()).find("propensity 1.2 is outside (0, 1]"), std::string::npos) << e.what();
  }
  c = hand_case();
  c.log.propensity = {1, 1, 1, 1};
  try {
    c.log.validate();
    FAIL();
  } catch (const OpeError& e) {
    EXPECT_NE(std::string(e.what()).find("no randomization"), std::string::npos) << e.what();
  }
  c = hand_case();
  c.log.arm[0] = 5;
  EXPECT_THROW(c.log.validate(), OpeError);
  c = hand_case();
  EXPECT_THROW(evaluate(c.log, c.pi, nullptr, OpeOptions{}), OpeError);  // DM needs a reward model
}

TEST(OpeEstimators, ParsesNames) {
  Estimator e;
  ASSERT_TRUE(parse_estimator("IPW", e));
  EXPECT_EQ(e, Estimator::IPS);
  ASSERT_TRUE(parse_estimator("switch-dr", e));
  EXPECT_EQ(e, Estimator::SwitchDR);
  ASSERT_TRUE(parse_estimator("DR-OS", e));
  EXPECT_EQ(e, Estimator::DROS);
  EXPECT_FALSE(parse_estimator("magic", e));
  EXPECT_STREQ(to_string(Estimator::SNDR), "SNDR");
}

// The go-live gate: promote a better candidate, hold a worse one, fall back to SNIPS when the
// reward model is poor, hold when the log says too little about the candidate.
#include <gtest/gtest.h>

#include <cstdint>

#include "disco/eval/gate.h"
#include "disco/eval/ope_stats.h"

using namespace disco::eval;
using namespace disco::eval::ope;

namespace {
// n decisions, arms 0/1 logged uniformly; reward = 1 with probability p_arm (numpy-style draws).
BanditLog coin_log(size_t n, double p0, double p1, uint32_t seed = 3) {
  BanditLog log;
  log.source = "coins";
  log.n_arms = 2;
  stats::NumpyRandomState rs(seed);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t a = static_cast<uint32_t>(rs.interval(1));
    const double u = static_cast<double>(rs.interval(999999)) / 1e6;
    log.arm.push_back(a);
    log.position.push_back(0);
    log.propensity.push_back(0.5);
    log.reward.push_back(u < (a ? p1 : p0) ? 1.0 : 0.0);
    log.cluster.push_back(i);
  }
  return log;
}
ActionDist always(const BanditLog& log, uint32_t arm) {
  ActionDist d;
  d.n_arms = log.n_arms;
  d.p.assign(log.size() * log.n_arms, 0.0);
  for (size_t i = 0; i < log.size(); ++i) d.p[i * log.n_arms + arm] = 1.0;
  return d;
}
RewardPredictions model(const BanditLog& log) {
  return cross_fit(log, reward_model_preset("onehot"), stats::kfold_assignment(log.size(), 3, 1), 3);
}
}  // namespace

TEST(OpeGate, PromotesABetterCandidateAndHoldsAWorseOne) {
  const BanditLog log = coin_log(2000, 0.2, 0.6);
  const RewardPredictions q = model(log);
  ASSERT_GT(q.skill, 0.0);
  gate::GateOptions opt;
  opt.ope.bootstrap = 400;
  const gate::GateResult up = gate::decide(log, always(log, 1), always(log, 0), q, opt);
  EXPECT_EQ(up.verdict, gate::Verdict::Promote) << up.line;
  EXPECT_EQ(up.estimator, Estimator::DR);
  EXPECT_EQ(up.line.rfind("promote: candidate DR lower 95% bound", 0), 0u) << up.line;
  EXPECT_GT(up.candidate_lo, up.current_value);
  EXPECT_NEAR(up.candidate_value, 0.6, 0.05);
  EXPECT_NEAR(up.current_value, 0.2, 0.05);
  const gate::GateResult down = gate::decide(log, always(log, 0), always(log, 1), q, opt);
  EXPECT_EQ(down.verdict, gate::Verdict::Hold) << down.line;
  EXPECT_EQ(down.line.rfind("hold: candidate DR lower 95% bound", 0), 0u) << down.line;
  // The same policy against itself never passes (its lower bound is below its own estimate).
  EXPECT_EQ(gate::decide(log, always(log, 1), always(log, 1), q, opt).verdict, gate::Verdict::Hold);
}

TEST(OpeGate, PoorRewardModelMeansSnips) {
  // Rewards independent of the arm: the model cannot beat the training mean out of fold.
  const BanditLog log = coin_log(1500, 0.3, 0.3, 11);
  const RewardPredictions q = model(log);
  gate::GateOptions opt;
  opt.ope.bootstrap = 200;
  opt.poor_skill = 0.01;  // demand that the model explain 1% of the reward's variance out of fold
  ASSERT_LT(q.skill, 0.01) << "expected a useless model on arm-independent rewards";
  const gate::GateResult g = gate::decide(log, always(log, 1), always(log, 0), q, opt);
  EXPECT_TRUE(g.model_poor);
  EXPECT_EQ(g.estimator, Estimator::SNIPS);
  EXPECT_EQ(g.verdict, gate::Verdict::Hold);
  EXPECT_NE(g.line.find("reward model poor"), std::string::npos) << g.line;
  opt.poor_skill = -1;  // accept any model: DR decides
  EXPECT_EQ(gate::decide(log, always(log, 1), always(log, 0), q, opt).estimator, Estimator::DR);
}

TEST(OpeGate, HoldsWhenTheLogSaysTooLittle) {
  const BanditLog log = coin_log(150, 0.2, 0.9);
  const RewardPredictions q = model(log);
  gate::GateOptions opt;
  opt.ope.bootstrap = 100;
  opt.min_ess = 100;  // always-arm-1 keeps ~75 of the 150 rows
  const gate::GateResult g = gate::decide(log, always(log, 1), always(log, 0), q, opt);
  EXPECT_EQ(g.verdict, gate::Verdict::Hold);
  EXPECT_NE(g.line.find("effective sample size"), std::string::npos) << g.line;
  opt.min_ess = 10;
  EXPECT_EQ(gate::decide(log, always(log, 1), always(log, 0), q, opt).verdict, gate::Verdict::Promote);
}

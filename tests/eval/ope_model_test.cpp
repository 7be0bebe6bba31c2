// The OPE reward models: the logistic fit against scikit-learn, per-arm means by hand, cross-fit
// bookkeeping (out-of-fold skill, single-class fallback) and the presets.
#include <gtest/gtest.h>

#include <cmath>

#include "disco/eval/ope.h"

using namespace disco::eval::ope;

namespace {
BanditLog small_log() {
  BanditLog log;
  log.source = "small";
  log.n_arms = 2;
  log.context_dim = 1;
  log.context = {0.1f, 0.5f, -0.3f, 1.2f, 0.8f, -1.0f, 0.3f, 0.0f, 2.0f, -0.5f, 0.7f, 1.5f};
  log.arm = {0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0};
  log.reward = {0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1};
  log.position.assign(12, 0);
  log.propensity.assign(12, 0.5);
  for (uint64_t i = 0; i < 12; ++i) log.cluster.push_back(i);
  return log;
}
const std::vector<uint32_t> kFolds = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
}  // namespace

TEST(OpeModel, PooledLogisticMatchesScikitLearn) {
  // sklearn LogisticRegression(C=1, tol=1e-12) on [x, onehot(arm)] of the other fold, predict_proba
  // for both arms of this fold's rows (float contexts: agreement to 1e-6).
  const double sk[24] = {0.543336255915, 0.768686425159, 0.348975215829, 0.27920956877,  0.447550379477, 0.693504503713,
                         0.46863105782,  0.389246703531, 0.699811600635, 0.866866048293, 0.155711636644, 0.117603026605,
                         0.590481964511, 0.801084441087, 0.273051747536, 0.213487060874, 0.880740731436, 0.953761076343,
                         0.208359713666, 0.159804943429, 0.679246751518, 0.855380487252, 0.521922813096, 0.441003236215};
  const BanditLog log = small_log();
  RewardModelSpec s = reward_model_preset("onehot");
  ASSERT_EQ(s.l2, 1.0);
  const RewardPredictions q = cross_fit(log, s, kFolds, 2);
  ASSERT_EQ(q.q.size(), 24u);
  EXPECT_TRUE(q.logistic);
  for (size_t k = 0; k < 24; ++k) EXPECT_NEAR(q.q[k], sk[k], 1e-6) << k;
  EXPECT_EQ(q.constant_groups, 0u);
}

TEST(OpeModel, PerArmWithoutContextPredictsTheTrainingArmMean) {
  // No context: each arm's model is its intercept = the arm's mean reward in the other fold.
  BanditLog log = small_log();
  log.context_dim = 0;
  log.context.clear();
  log.reward = {2, 5, 4, 1, 3, 6, 0, 7, 9, 8, 5, 2};  // not 0/1: ridge
  const RewardPredictions q = cross_fit(log, reward_model_preset("per-arm"), kFolds, 2);
  EXPECT_FALSE(q.logistic);
  // fold 1 rows (odd) trained on fold 0 (even rows): arm 0 rows 0,2,6 -> (2+4+0)/3 = 2; arm 1 rows 4,8,10 -> (3+9+5)/3
  EXPECT_NEAR(q.at(1, 0), 2.0, 1e-9);
  EXPECT_NEAR(q.at(1, 1), 17.0 / 3, 1e-9);
  // fold 0 rows trained on odd rows: arm 0 rows 5,9,11 -> (6+8+2)/3; arm 1 rows 1,3,7 -> (5+1+7)/3
  EXPECT_NEAR(q.at(0, 0), 16.0 / 3, 1e-9);
  EXPECT_NEAR(q.at(4, 1), 13.0 / 3, 1e-9);
  // Out-of-fold skill against the training folds' mean (even rows mean 23/6, odd rows mean 29/6).
  double se = 0, sc = 0;
  for (size_t i = 0; i < 12; ++i) {
    const double qh = q.at(i, log.arm[i]), c = i % 2 ? 23.0 / 6 : 29.0 / 6;
    se += (log.reward[i] - qh) * (log.reward[i] - qh);
    sc += (log.reward[i] - c) * (log.reward[i] - c);
  }
  EXPECT_NEAR(q.mse, se / 12, 1e-9);
  EXPECT_NEAR(q.mse_constant, sc / 12, 1e-9);
  EXPECT_NEAR(q.skill, 1 - se / sc, 1e-9);
}

TEST(OpeModel, SingleClassGroupFallsBackToItsRate) {
  BanditLog log = small_log();
  for (size_t i = 0; i < 12; ++i)
    if (log.arm[i] == 1) log.reward[i] = 0;  // arm 1 never converts
  const RewardPredictions q = cross_fit(log, reward_model_preset("per-arm"), kFolds, 2);
  EXPECT_EQ(q.constant_groups, 2u);  // arm 1 in both folds
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(q.at(i, 1), 0.0);
}

TEST(OpeModel, PresetsAndRefusals) {
  const RewardModelSpec obp = reward_model_preset("obp");
  EXPECT_EQ(obp.group, RewardModelSpec::Group::Position);
  EXPECT_DOUBLE_EQ(obp.l2, 0.01);
  EXPECT_TRUE(obp.use_arm_features);
  EXPECT_NE(obp.describe().find("one per position"), std::string::npos);
  EXPECT_THROW(reward_model_preset("forest"), OpeError);
  BanditLog log = small_log();
  EXPECT_THROW(cross_fit(log, reward_model_preset("onehot"), kFolds, 1), OpeError);
  log.reward[0] = 0.5;  // not binary
  RewardModelSpec s = reward_model_preset("onehot");
  s.link = RewardModelSpec::Link::Logistic;
  EXPECT_THROW(cross_fit(log, s, kFolds, 2), OpeError);
}

TEST(OpeModel, PerArmRidgeOnTheContextRecoversLinearRewards) {
  // Noise-free margins linear in the context: arm 0 pays 1 + 2x, arm 1 pays 3 - x; a near-zero penalty
  // recovers both lines out of fold, for either arm at every row.
  BanditLog log = small_log();
  for (size_t i = 0; i < 12; ++i) {
    const double x = log.context[i];
    log.reward[i] = log.arm[i] == 0 ? 1 + 2 * x : 3 - x;
  }
  RewardModelSpec s = reward_model_preset("per-arm");
  s.l2 = 1e-9;
  const RewardPredictions q = cross_fit(log, s, kFolds, 2);
  EXPECT_FALSE(q.logistic);
  for (size_t i = 0; i < 12; ++i) {
    const double x = log.context[i];
    EXPECT_NEAR(q.at(i, 0), 1 + 2 * x, 1e-6) << i;
    EXPECT_NEAR(q.at(i, 1), 3 - x, 1e-6) << i;
  }
  EXPECT_NEAR(q.skill, 1.0, 1e-9);
}

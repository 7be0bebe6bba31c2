// The Open Bandit Pipeline cross-check on $DISCO_DATA/open-bandit-men (skips by name without it).
//  - exact IPW / SNIPW on the full logs (the figures the library prints, to 1e-9);
//  - the library's 30-bootstrap relative-error experiment (examples/obd protocol: numpy's bootstrap
//    draws, 3-fold cross-fitting, one logistic regression per position on [user one-hot ; item
//    features], C = 100): each estimator within 0.07 of the library's figure (trainer/eval/README.md,
//    "Checked against the Open Bandit Pipeline", column "library");
//  - disco's own reward model ("onehot": a pooled logistic regression on one-hot user, item and
//    position indicators, L2 1) with DR-OS beats the library's best estimator in both directions.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "disco/data/ingest.h"
#include "disco/eval/ope_data.h"

using namespace disco;
using namespace disco::eval::ope;

namespace {
std::string obd_dir() {
  const char* env = std::getenv("DISCO_DATA");
  return std::string(env && *env ? env : DISCO_DATA_DEFAULT) + "/open-bandit-men";
}
bool have_obd() {
  const std::string d = obd_dir();
  return std::filesystem::exists(d + "/random/men.csv") && std::filesystem::exists(d + "/bts/men.csv") &&
         std::filesystem::exists(d + "/bts_action_dist.csv");
}
const data::Dataset& obd() {
  static const data::Dataset ds = data::read_open_bandit(obd_dir());
  return ds;
}
#define SKIP_WITHOUT_OBD() \
  if (!have_obd()) GTEST_SKIP() << "open-bandit-men not found under " << obd_dir() << " (set DISCO_DATA)"

void print(const ObpCheckResult& r) {
  std::cout << r.evaluation << " <- " << r.behavior << " (ground truth " << r.ground_truth << ")\n";
  for (const auto& row : r.rows)
    std::cout << "  " << row.model << " " << to_string(row.estimator) << " " << row.mean_rel_error << " (sd "
              << row.std_rel_error << ")\n";
}
}  // namespace

TEST(OpeObp, FeaturesAsTheLibraryBuildsThem) {
  SKIP_WITHOUT_OBD();
  // read_open_bandit keeps each policy's item_context.csv and the user features as strings.
  ASSERT_EQ(obd().item_attributes.count("random/item_feature_1"), 1u);
  ASSERT_EQ(obd().item_attributes.count("bts/item_feature_1"), 1u);
  EXPECT_NE(obd().item_attributes.at("random/item_feature_1"), obd().item_attributes.at("bts/item_feature_1"));
  EXPECT_EQ(obd().user_attributes.at("user_feature_0").size(), obd().user_ids.size());
  const LoadedLog rnd = open_bandit_log(obd(), "random");
  EXPECT_EQ(rnd.log.n_arms, 34u);
  EXPECT_EQ(rnd.log.n_positions, 3u);
  // pandas get_dummies(drop_first): user_feature_0..3 have 3, 5, 9, 8 categories in the random log
  EXPECT_EQ(rnd.log.context_dim, 2u + 4 + 8 + 7);
  EXPECT_EQ(open_bandit_log(obd(), "bts").log.context_dim, 2u + 4 + 8 + 8);
  // action context [item_id, item_feature_1..3 label-encoded, item_feature_0] of item 0 (random log):
  // LabelEncoder ranks 5, 11, 3 and item_feature_0 -0.677...
  ASSERT_EQ(rnd.log.arm_feature_dim, 5u);
  EXPECT_EQ(rnd.log.arm_features[0], 0.f);
  EXPECT_EQ(rnd.log.arm_features[1], 5.f);
  EXPECT_EQ(rnd.log.arm_features[2], 11.f);
  EXPECT_EQ(rnd.log.arm_features[3], 3.f);
  EXPECT_NEAR(rnd.log.arm_features[4], -0.6771831139635117, 1e-6);
  EXPECT_EQ(rnd.log.arm_features[5 * 1 + 1], 1.f);  // item 1: item_feature_1 rank 1
}

TEST(OpeObp, ExactIpwSnipwOnTheFullLogs) {
  SKIP_WITHOUT_OBD();
  // uniform random evaluated from the BTS log
  LoadedLog bts = open_bandit_log(obd(), "bts");
  ASSERT_EQ(bts.log.size(), 10000u);
  ActionDist uni = candidate_distribution(uniform_candidate(), bts.log);
  RowTerms t = row_terms(bts.log, uni, nullptr);
  EXPECT_NEAR(estimate(Estimator::IPS, t), 0.00300862633, 1e-9);
  EXPECT_NEAR(estimate(Estimator::SNIPS, t), 0.00318942316, 1e-9);
  // BTS (bts_action_dist.csv, computed by the library) evaluated from the random log
  LoadedLog rnd = open_bandit_log(obd(), "random");
  const CandidateFile btsd = read_candidate_csv(obd_dir() + "/bts_action_dist.csv");
  ASSERT_EQ(btsd.kind, CandidateFile::Kind::PerPosition);
  ASSERT_EQ(btsd.n_positions, 3u);
  ActionDist pi = candidate_distribution(btsd, rnd.log);
  t = row_terms(rnd.log, pi, nullptr);
  EXPECT_NEAR(estimate(Estimator::IPS, t), 0.0045426788, 1e-9);
  EXPECT_NEAR(estimate(Estimator::SNIPS, t), 0.004613508073, 1e-9);  // the library's SNIPW on the same inputs
}

namespace {
struct Lib {
  Estimator e;
  double bts_from_random, random_from_bts;
};
// The library's figures (the Open Bandit Pipeline's examples/obd experiment run on these logs; the
// "library" columns of trainer/eval/README.md): mean relative error over 30 bootstrap replicates.
const Lib kLibrary[] = {{Estimator::DM, .377, .427},   {Estimator::IPS, .339, .413},      {Estimator::SNIPS, .331, .378},
                        {Estimator::DR, .348, .379},   {Estimator::SNDR, .347, .419},     {Estimator::SwitchDR, .314, .291},
                        {Estimator::DROS, .347, .251}};
}  // namespace

TEST(OpeObp, BootstrapRelativeErrorsMatchTheLibraryAndOursBeatsItsBest) {
  SKIP_WITHOUT_OBD();
  const CandidateFile btsd = read_candidate_csv(obd_dir() + "/bts_action_dist.csv");
  ObpCheckOptions opt;  // 30 runs, 3 folds, fold seed 12345, models {obp, onehot}
  const ObpCheckResult b = obp_check(obd(), "random", "bts", btsd, opt);
  const ObpCheckResult r = obp_check(obd(), "bts", "random", uniform_candidate(), opt);
  print(b);
  print(r);
  EXPECT_NEAR(b.ground_truth, 0.0069, 1e-12);
  EXPECT_NEAR(r.ground_truth, 0.0046, 1e-12);
  for (const auto& lib : kLibrary) {
    const auto* x = b.find("obp", lib.e);
    const auto* y = r.find("obp", lib.e);
    ASSERT_TRUE(x && y);
    EXPECT_EQ(x->rel_errors.size(), 30u);
    EXPECT_NEAR(x->mean_rel_error, lib.bts_from_random, 0.07) << "BTS <- random " << to_string(lib.e);
    EXPECT_NEAR(y->mean_rel_error, lib.random_from_bts, 0.07) << "random <- BTS " << to_string(lib.e);
  }
  // The library's best: Switch-DR .314 (BTS <- random), DR-OS .251 (random <- BTS).
  const auto* ours_b = b.find("onehot", Estimator::DROS);
  const auto* ours_r = r.find("onehot", Estimator::DROS);
  ASSERT_TRUE(ours_b && ours_r);
  EXPECT_LT(ours_b->mean_rel_error, .314);
  EXPECT_LT(ours_r->mean_rel_error, .251);
}

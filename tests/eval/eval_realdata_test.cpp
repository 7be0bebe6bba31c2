// Reproduces session-rec's published figures for yoochoose-100k (DESIGN.md "Real data"):
// V-SKNN HR@20 .688 / MRR@20 .367, popularity HR@20 .089, item-kNN .399 / .181. Ties are broken
// in expectation over a random order (session-rec sorts with an unstable sort, so tied items land
// in arbitrary order; the optimistic policy would inflate iknn/sknn). Skips when $DISCO_DATA lacks
// the data.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <limits>

#include "disco/data/ingest.h"
#include "disco/eval/baselines.h"
#include "disco/eval/protocol.h"

using namespace disco;

namespace {
std::string data_dir() {
  const char* env = std::getenv("DISCO_DATA");
  return env && *env ? env : DISCO_DATA_DEFAULT;
}
}  // namespace

TEST(EvalRealData, YoochooseMatchesSessionRec) {
  const std::string dir = data_dir() + "/yoochoose-100k";
  if (!std::filesystem::exists(dir + "/yoochoose-clicks-100k_train_full.txt"))
    GTEST_SKIP() << "yoochoose-100k not found under " << dir << " (set DISCO_DATA)";
  data::Dataset ds = data::read_yoochoose(dir);
  data::sessionize(ds, std::numeric_limits<int64_t>::max() / 4);  // the shipped session ids
  ASSERT_TRUE(ds.has_predefined_split);
  const auto& sp = ds.predefined_split;
  std::vector<uint32_t> train = sp.train;
  train.insert(train.end(), sp.valid.begin(), sp.valid.end());
  EXPECT_EQ(train.size(), 17794u);
  const auto task = eval::build_next_item_task(ds, train, sp.test);
  EXPECT_EQ(task.sequences.size(), 3416u);
  EXPECT_EQ(task.n_targets, 13568u - 3416u);
  EXPECT_EQ(task.n_candidates, 2933u);

  eval::Popularity pop;
  pop.fit(ds, train);
  const auto mp = eval::evaluate_next_item(pop, task).metrics(eval::TiePolicy::Expected);
  EXPECT_NEAR(mp.find(20)->hr, 0.089, 0.005);
  EXPECT_NEAR(mp.find(20)->mrr, 0.026, 0.005);

  eval::ItemKnn iknn;
  iknn.fit(ds, train);
  const auto mi = eval::evaluate_next_item(iknn, task).metrics(eval::TiePolicy::Expected);
  EXPECT_NEAR(mi.find(20)->hr, 0.399, 0.01);
  EXPECT_NEAR(mi.find(20)->mrr, 0.181, 0.01);

  eval::Vsknn vsknn;
  vsknn.fit(ds, train);
  const auto mv = eval::evaluate_next_item(vsknn, task).metrics(eval::TiePolicy::Expected);
  EXPECT_NEAR(mv.find(20)->hr, 0.688, 0.015);
  EXPECT_NEAR(mv.find(20)->mrr, 0.367, 0.015);
  EXPECT_NEAR(mv.find(10)->ndcg, 0.423, 0.015);
}

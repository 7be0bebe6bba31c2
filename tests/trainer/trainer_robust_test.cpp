// disco-train with its defaults on a small session log it was not tuned on (issue 16): sessions
// given, no users, session-relative timestamps with a date column, many rare items. It must
// learn (beat popularity and random on the test split), say so in its verdict, and refuse to
// export a model that did not learn unless --force.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "trainer_test_util.h"

namespace fs = std::filesystem;
using trainer_test::run;
using trainer_test::slurp;

namespace {

// A Markov chain over `n_items`: each item has two likely successors; sessions start at a
// popular item; 20 days, ts counted from the session start.
void write_session_log(const std::string& dir, int n_items, int n_events, uint64_t seed) {
  fs::create_directories(dir);
  std::mt19937_64 rng(seed);
  std::vector<std::pair<int, int>> succ(static_cast<size_t>(n_items));
  for (auto& s : succ) s = {int(rng() % uint64_t(n_items)), int(rng() % uint64_t(n_items))};
  auto popular = [&] {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return int(std::pow(u, 2.5) * n_items) % n_items;
  };
  std::ofstream f(dir + "/events.csv");
  f << "session_id,date,ts,item_id\n";
  int written = 0;
  for (int s = 0; written < n_events; ++s) {
    const int day = 1 + s % 20;
    const int len = 2 + int(rng() % 5);
    int it = popular();
    int64_t ts = 0;
    for (int e = 0; e < len; ++e, ++written) {
      f << "s" << s << ",2016-05-" << (day < 10 ? "0" : "") << day << "," << ts << ",i" << it << "\n";
      const uint64_t r = rng() % 100;
      it = r < 60 ? succ[size_t(it)].first : r < 85 ? succ[size_t(it)].second : popular();
      ts += 1000 + int64_t(rng() % 60000);
    }
  }
}

double metric(const std::string& report, const std::string& model, const std::string& name) {
  const size_t r = report.find("\"model\": \"" + model + "\"");
  if (r == std::string::npos) return NAN;
  const size_t m = report.find("\"" + name + "\": ", r);
  if (m == std::string::npos) return NAN;
  return std::atof(report.c_str() + m + name.size() + 4);
}

}  // namespace

TEST(TrainerRobust, DefaultsLearnOnASmallSessionLog) {
  const std::string dir = trainer_test::temp_dir("robust");
  write_session_log(dir + "/data", 600, 3000, 3);
  const auto r = run("train --data " + dir + "/data --out " + dir + "/out --threads 1 --baselines pop,vsknn --no-int4"
                     " --cold-holdout 0 --progress off --reference-sessions 30 --demote-untrained");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("beats popularity and random"), std::string::npos) << r.output;
  const std::string rep = slurp(dir + "/out/report.json");
  const double lstm = metric(rep, "lstm", "HR@20"), pop = metric(rep, "pop", "HR@20"), vsknn = metric(rep, "vsknn", "HR@20");
  const double random_hr = 20.0 / 600;
  EXPECT_GT(lstm, 2 * pop) << rep;
  EXPECT_GT(lstm, 5 * random_hr) << rep;
  EXPECT_GT(lstm, 0.5 * vsknn) << rep;
  EXPECT_GT(metric(rep, "lstm-int8", "HR@20"), 2 * pop) << rep;
  // untrained catalog items (seen only in valid/test) never outrank a trained one
  EXPECT_NE(rep.find("positions where one scores at or above a trained item: 0 of"), std::string::npos) << rep;
  EXPECT_NE(rep.find("(float), 0 (runtime int8)"), std::string::npos) << rep;
  EXPECT_TRUE(fs::exists(dir + "/out/bundle.disco"));
  fs::remove_all(dir);
}

TEST(TrainerRobust, RefusesToExportAModelThatDidNotLearn) {
  const std::string dir = trainer_test::temp_dir("robust-refuse");
  write_session_log(dir + "/data", 600, 1500, 4);
  const std::string args = "train --data " + dir + "/data --threads 1 --baselines pop --no-int4 --no-runtime-int8"
                           " --cold-holdout 0 --progress off --reference-sessions 5 --lr 1e-9 --epochs 1 --min-epoch-steps 0";
  const auto r = run(args + " --out " + dir + "/a");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("verdict: NOT EXPORTED: the training loss"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(a uniform guess): the model did not learn"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/a/bundle.disco"));
  EXPECT_TRUE(fs::exists(dir + "/a/report.json"));
  const auto f = run(args + " --out " + dir + "/b --force");
  EXPECT_EQ(f.exit_code, 0) << f.output;
  EXPECT_NE(f.output.find("verdict: EXPORTED ANYWAY (--force)"), std::string::npos) << f.output;
  EXPECT_TRUE(fs::exists(dir + "/b/bundle.disco"));
  // a run bounded by --max-steps is reported, not refused
  const auto m = run(args + " --out " + dir + "/c --epochs 5 --max-steps 12");
  EXPECT_EQ(m.exit_code, 0) << m.output;
  EXPECT_NE(m.output.find("verdict (not enforced: the run was bounded by --max-steps 12): the training loss"), std::string::npos) << m.output;
  EXPECT_TRUE(fs::exists(dir + "/c/bundle.disco"));
  fs::remove_all(dir);
}

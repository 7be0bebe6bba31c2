// End-to-end: disco-eval on a small canonical CSV folder writes a report with every model.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <unistd.h>

#include "cli_test_util.h"

namespace fs = std::filesystem;

namespace {
using disco::eval::testing::run;
using disco::eval::testing::slurp;
}  // namespace

TEST(EvalCli, CanonicalFolderToReport) {
  const fs::path dir = fs::temp_directory_path() / ("disco-eval-cli-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "data");
  {
    std::ofstream ev(dir / "data" / "events.csv");
    ev << "user_id,session_id,ts,type,item_id,price,quantity\n";
    for (int s = 0; s < 80; ++s) {
      const int chain = s % 4;
      for (int k = 0; k < 4; ++k)
        ev << "u" << s << ",s" << s << "," << (1700000000000LL + s * 3600000LL + k * 1000) << ",view,item"
           << chain * 4 + k << ",2.5,1\n";
    }
  }
  const std::string exe = DISCO_EVAL_EXE;
  const std::string out = (dir / "out").string();
  ASSERT_EQ(run(exe + " --dataset canonical --data " + (dir / "data").string() + " --out " + out +
                " --models pop,iknn,sknn,vsknn,bpr > " + (dir / "stdout.txt").string() + " 2>&1"),
            0)
      << slurp(dir / "stdout.txt");
  const std::string text = slurp(dir / "stdout.txt");
  EXPECT_NE(text.find("HR@20"), std::string::npos);
  EXPECT_NE(text.find("vsknn"), std::string::npos);
  const auto j = nlohmann::json::parse(slurp(fs::path(out) / "report.json"));
  ASSERT_EQ(j["rows"].size(), 5u);
  for (const auto& row : j["rows"]) {
    EXPECT_EQ(row["dataset"], "canonical");
    EXPECT_GT(row["cases"].get<int>(), 0);
    if (row["model"] != "pop") EXPECT_GT(row["metrics"]["HR@10"].get<double>(), 0.9) << row["model"];  // chains
  }
  EXPECT_TRUE(fs::exists(fs::path(out) / "report.html"));

  // Bad input: a clear message and a non-zero status, no report.
  const std::string err = (dir / "err.txt").string();
  EXPECT_EQ(run(exe + " --dataset canonical --data " + (dir / "missing").string() + " --out " + out + "2 2> " + err), 1);
  EXPECT_NE(slurp(err).find("disco-eval: error:"), std::string::npos);
  EXPECT_FALSE(fs::exists(out + "2"));
  EXPECT_EQ(run(exe + " --dataset canonical --data " + (dir / "data").string() + " --models nope 2> " + err), 1);
  EXPECT_NE(slurp(err).find("unknown baseline 'nope'"), std::string::npos);
  EXPECT_EQ(run(exe + " --frobnicate 2> " + err), 2);
  EXPECT_NE(slurp(err).find("not expected: --frobnicate"), std::string::npos);
  fs::remove_all(dir);
}

// `disco-eval timing` end to end on a CDNOW-format log simulated from BG/NBD (never skipped), and its
// refusals.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <unistd.h>

#include "cli_test_util.h"
#include "disco/eval/timing.h"

namespace fs = std::filesystem;
namespace dt = disco::eval::timing;

namespace {
using disco::eval::testing::run;
using disco::eval::testing::slurp;
struct Tmp : disco::eval::testing::TempDir {
  Tmp() : TempDir("disco-timing-cli-") {}
};

// YYYYMMDD of days since 1970-01-01 (civil_from_days)
std::string ymd(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  char b[16];
  std::snprintf(b, sizeof b, "%04d%02u%02u", static_cast<int>(y + (m <= 2)), m, d);
  return b;
}
}  // namespace

TEST(EvalTimingCli, SimulatedCdnowToJsonAndHtml) {
  Tmp t;
  // 2,000 customers, first purchases over the first 12 weeks of 1997, BG/NBD at the published values
  const size_t n = 2000;
  std::vector<double> t0(n);
  for (size_t i = 0; i < n; ++i) t0[i] = static_cast<double>(i % 84) / 7.0;
  const auto times = dt::simulate_bgnbd({0.243, 4.414, 0.793, 2.426}, t0, 78, 3);
  const int64_t start = dt::parse_day("1997-01-01");
  {
    std::ofstream f(t.dir / "CDNOW_master.txt");
    f << " customer_id  date number_of_cds  dollar_value\n";
    char id[16];
    for (size_t i = 0; i < n; ++i)
      for (double w : times[i]) {
        std::snprintf(id, sizeof id, "%05zu", i + 1);
        f << ' ' << id << ' ' << ymd(start + static_cast<int64_t>(w * 7)) << " 1 12.00\n";
      }
  }
  const fs::path out = t.dir / "out";
  const std::string log = (t.dir / "stdout.txt").string();
  ASSERT_EQ(run(std::string(DISCO_EVAL_EXE) + " timing --data " + t.dir.string() + " --sample-every 2 --out " +
                out.string() + " > " + log + " 2>&1"),
            0)
      << slurp(log);
  const std::string text = slurp(log);
  EXPECT_NE(text.find("BG/NBD      r "), std::string::npos) << text;
  EXPECT_NE(text.find("per-customer MAE"), std::string::npos) << text;
  const auto j = nlohmann::json::parse(slurp(out / "timing.json"));
  ASSERT_EQ(j["evaluations"].size(), 2u);
  EXPECT_EQ(j["evaluations"][0]["customers"], 2000);
  EXPECT_EQ(j["evaluations"][1]["customers"], 1000);
  for (const auto& e : j["evaluations"]) {
    EXPECT_TRUE(e["bgnbd"]["r"].is_number());
    EXPECT_TRUE(e["pareto_nbd"]["beta"].is_number());
    EXPECT_EQ(e["by_frequency"].size(), 8u);
    EXPECT_EQ(e["tracking"]["week"].size(), 78u);
    EXPECT_EQ(e["tracking"]["bgnbd"].size(), 78u);
    EXPECT_LT(e["holdout"]["mae"]["bgnbd"].get<double>(), e["holdout"]["mae"]["baseline"].get<double>());
  }
  const double r = j["evaluations"][0]["bgnbd"]["r"];
  EXPECT_NEAR(r, 0.243, 0.243 * 0.3);
  const std::string html = slurp(out / "timing.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, static
  EXPECT_EQ(html.find("<link"), std::string::npos);  // no external resources
  EXPECT_EQ(html.find("src="), std::string::npos);

  // refusals: no CDNOW_master.txt (1), a bad option value (2), a bad date (1)
  EXPECT_EQ(run(std::string(DISCO_EVAL_EXE) + " timing --data " + (t.dir / "none").string() + " > " + log + " 2>&1"), 1);
  EXPECT_NE(slurp(log).find("disco-eval timing: error: no CDNOW_master.txt"), std::string::npos) << slurp(log);
  EXPECT_EQ(run(std::string(DISCO_EVAL_EXE) + " timing --sample-every x > " + log + " 2>&1"), 2);
  EXPECT_EQ(run(std::string(DISCO_EVAL_EXE) + " timing --data " + t.dir.string() + " --holdout-end 1997-02-30 > " +
                log + " 2>&1"),
            1);
  EXPECT_NE(slurp(log).find("not a valid date"), std::string::npos) << slurp(log);
}

// End-to-end: `disco-eval uplift` on the simulator writes the JSON and the self-contained HTML;
// bad input ends with a clear message and a non-zero status.
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
struct Tmp : disco::eval::testing::TempDir {
  Tmp() : TempDir("disco-uplift-cli-") {}
};
}  // namespace

TEST(UpliftCli, SimulatorToJsonAndHtml) {
  Tmp t;
  const std::string exe = DISCO_EVAL_EXE;
  const std::string json = (t.dir / "u.json").string(), html = (t.dir / "u.html").string();
  const std::string out = (t.dir / "stdout.txt").string();
  ASSERT_EQ(run(exe + " uplift --dataset sim --sim-shoppers 2000 --sim-days 10 --splits 2 --learners t,dr,ct "
                      "--bases linear --targets conversion,margin --json " + json + " --html " + html + " > " + out +
                      " 2>&1"),
            0)
      << slurp(out);
  const std::string text = slurp(out);
  EXPECT_NE(text.find("sim: 20% vs 0%, conversion"), std::string::npos) << text;
  EXPECT_NE(text.find("pehe"), std::string::npos);
  const auto j = nlohmann::json::parse(slurp(json));
  ASSERT_EQ(j["comparisons"].size(), 10u);  // 5 arms x 2 targets
  for (const auto& c : j["comparisons"]) {
    EXPECT_EQ(c["dataset"], "sim");
    EXPECT_TRUE(c["has_truth"].get<bool>());
    ASSERT_EQ(c["learners"].size(), 3u);
    for (const auto& l : c["learners"]) {
      EXPECT_EQ(l["qini"]["splits"].size(), 2u);
      EXPECT_TRUE(l["pehe"]["mean"].is_number());
      EXPECT_GE(l["qini_curve"]["x"].size(), 2u);
    }
  }
  EXPECT_EQ(j["comparisons"][5]["target"], "margin");
  EXPECT_FALSE(j["comparisons"][5]["binary"].get<bool>());
  const std::string h = slurp(html);
  EXPECT_NE(h.find("<svg"), std::string::npos);
  EXPECT_NE(h.find("Qini curves"), std::string::npos);
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("http://") == std::string::npos || h.find("http://www.w3.org/2000/svg") != std::string::npos, true);
}

TEST(UpliftCli, BadInputEndsWithAClearMessage) {
  Tmp t;
  const std::string exe = DISCO_EVAL_EXE;
  const std::string err = (t.dir / "err.txt").string();
  // a canonical log without context vectors or user features: nothing to learn effects from
  fs::create_directories(t.dir / "log");
  {
    std::ofstream(t.dir / "log" / "events.csv") << "user_id,session_id,ts,type,item_id,price,quantity\nu1,s1,1000,view,i1,5,1\n";
    std::ofstream d(t.dir / "log" / "decisions.csv");
    d << "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version\n";
    for (int i = 0; i < 40; ++i) {
      char id[40];
      std::snprintf(id, sizeof id, "%032x", i + 1);
      d << id << "," << 1000 + i << ",u1,i1," << i % 2 << ",0," << 0.5 << ",m,uniform\n";
    }
  }
  EXPECT_EQ(run(exe + " uplift --dataset canonical --data " + (t.dir / "log").string() + " > " + err + " 2>&1"), 1);
  std::string m = slurp(err);
  EXPECT_NE(m.find("carries no context vector"), std::string::npos) << m;
  EXPECT_EQ(run(exe + " uplift --dataset nope > " + err + " 2>&1"), 2);
  EXPECT_NE(slurp(err).find("unknown kind 'nope'"), std::string::npos);
  EXPECT_EQ(run(exe + " uplift --dataset sim --learners q > " + err + " 2>&1"), 2);
  EXPECT_NE(slurp(err).find("unknown learner 'q'"), std::string::npos);
  EXPECT_EQ(run(exe + " uplift --dataset canonical > " + err + " 2>&1"), 2);
  EXPECT_NE(slurp(err).find("--data DIR is required"), std::string::npos);
  EXPECT_EQ(run(exe + " uplift --dataset hillstrom --data " + t.dir.string() + "/missing > " + err + " 2>&1"), 1);
  EXPECT_NE(slurp(err).find("not a directory"), std::string::npos) << slurp(err);
  EXPECT_EQ(run(exe + " uplift --dataset sim --targets clicks > " + err + " 2>&1"), 1);
  EXPECT_NE(slurp(err).find("unknown target 'clicks'"), std::string::npos);
}

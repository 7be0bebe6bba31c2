// disco-eval ope / gate / ab end to end on a canonical log written here (a uniform-random logging
// policy over 3 arms, known expected margins), their JSON and HTML, and the refusals' exit codes
// and one-line messages.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "disco/eval/ab.h"
#include "disco/eval/ope_data.h"
#include "disco/eval/ope_stats.h"
#include "ope_test_util.h"

using disco::eval::testing::did;
using disco::eval::testing::slurp;
using disco::eval::testing::TempDir;

namespace {
int run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
const std::string kExe = DISCO_EVAL_EXE;

// 1500 decisions of 500 shoppers, arm uniform over {0, 1, 2} (propensity 1/3, or `prop` when given);
// margin: arm 0 pays 1 w.p. .3 (E .3), arm 1 pays 2.5 w.p. .2 (E .5), arm 2 pays .5 w.p. .4 (E .2).
// Shoppers with an index divisible by 5 are in the holdout (arm 0 by rule).
void write_log(const TempDir& t, const std::string& prop = "", bool holdout_column = true) {
  disco::eval::stats::NumpyRandomState rs(5);
  std::string d = "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version";
  d += holdout_column ? ",holdout\n" : "\n";
  std::string o = "decision_id,ts,converted,revenue,margin\n";
  const double pay[3] = {1.0, 2.5, 0.5}, p[3] = {.3, .2, .4}, disc[3] = {0, 0.1, 0.2};
  for (unsigned i = 0; i < 1500; ++i) {
    const unsigned shopper = i % 500;
    const bool hold = holdout_column && shopper % 5 == 0;
    const unsigned a = hold ? 0 : static_cast<unsigned>(rs.interval(2));
    const double u = static_cast<double>(rs.interval(999999)) / 1e6;
    const int64_t ts = 1700006400000LL + static_cast<int64_t>(i) * 3600000LL;  // one an hour: ~62 days
    char line[256];
    std::snprintf(line, sizeof line, "%s,%lld,s%u,i1,%u,%g,%s,m1,v1", did(i + 1).c_str(), static_cast<long long>(ts), shopper, a,
                  disc[a], prop.empty() ? (hold ? "1" : "0.3333333333") : prop.c_str());
    d += line;
    d += holdout_column ? (hold ? ",1\n" : ",0\n") : "\n";
    if (u < p[a]) {
      std::snprintf(line, sizeof line, "%s,%lld,1,%g,%g\n", did(i + 1).c_str(), static_cast<long long>(ts + 60000), 20 * (1 - disc[a]),
                    pay[a]);
      o += line;
    }
  }
  t.file("decisions.csv", d);
  t.file("outcomes.csv", o);
  t.file("events.csv", "user_id,ts,type,item_id\ns1,1700006400000,view,i1\n");
}
}  // namespace

TEST(OpeCli, OpeWritesEstimatesJsonAndHtml) {
  TempDir t("cli");
  write_log(t, "0.3333333333", false);  // every decision randomized
  t.file("always1.csv", "arm,probability\n0,0\n1,1\n2,0\n");
  const std::string out = t.str() + "/out";
  ASSERT_EQ(run(kExe + " ope --log " + t.str() + " --candidate " + t.str() + "/always1.csv --bootstrap 300 --json " + out +
                "/r.json --html " + out + "/r.html > " + t.str() + "/stdout.txt 2>&1"),
            0)
      << slurp(t.str() + "/stdout.txt");
  const std::string text = slurp(t.str() + "/stdout.txt");
  EXPECT_NE(text.find("Switch-DR"), std::string::npos);
  EXPECT_NE(text.find("ESS"), std::string::npos);
  const auto j = nlohmann::json::parse(slurp(out + "/r.json"));
  ASSERT_EQ(j["result"]["estimates"].size(), 7u);
  for (const auto& e : j["result"]["estimates"]) {
    EXPECT_NEAR(e["value"].get<double>(), 0.5, 0.15) << e["estimator"];  // arm 1's expected margin
    EXPECT_LT(e["lo"].get<double>(), e["hi"].get<double>());
  }
  EXPECT_EQ(j["result"]["diagnostics"]["rows"], 1500);
  EXPECT_EQ(j["result"]["diagnostics"]["clusters"], 500);
  EXPECT_NEAR(j["result"]["diagnostics"]["max_weight"].get<double>(), 3.0, 1e-6);
  EXPECT_EQ(j["meta"]["items"]["reward"], "margin");
  const std::string html = slurp(out + "/r.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("importance weights"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  // --reward conversion and an estimator subset
  ASSERT_EQ(run(kExe + " ope --log " + t.str() + " --candidate uniform --reward conversion --estimators ips,snips --bootstrap 50 --json " +
                out + "/c.json > /dev/null 2>&1"),
            0);
  const auto c = nlohmann::json::parse(slurp(out + "/c.json"));
  ASSERT_EQ(c["result"]["estimates"].size(), 2u);
  EXPECT_NEAR(c["result"]["estimates"][0]["value"].get<double>(), 0.3, 0.06);  // mean of .3 .2 .4
}

TEST(OpeCli, GatePromotesOrHoldsWithExitCodes) {
  TempDir t("cli");
  write_log(t, "0.3333333333", false);
  t.file("always1.csv", "arm,probability\n0,0\n1,1\n2,0\n");
  t.file("always0.csv", "arm,probability\n0,1\n1,0\n2,0\n");
  const std::string so = t.str() + "/gate.txt";
  EXPECT_EQ(run(kExe + " gate --log " + t.str() + " --candidate " + t.str() + "/always1.csv --current " + t.str() +
                "/always0.csv --bootstrap 300 --html " + t.str() + "/g.html --json " + t.str() + "/g.json > " + so),
            0);
  EXPECT_EQ(slurp(so).rfind("promote: candidate DR lower 95% bound", 0), 0u) << slurp(so);
  const auto j = nlohmann::json::parse(slurp(t.str() + "/g.json"));
  EXPECT_EQ(j["gate"]["verdict"], "promote");
  EXPECT_NE(slurp(t.str() + "/g.html").find("candidate vs current policy"), std::string::npos);
  EXPECT_EQ(run(kExe + " gate --log " + t.str() + " --candidate " + t.str() + "/always0.csv --current " + t.str() +
                "/always1.csv --bootstrap 300 > " + so),
            3);
  EXPECT_EQ(slurp(so).rfind("hold: ", 0), 0u) << slurp(so);
}

// Apprentice mode -> online: an apprentice log (the baseline arm, propensity 1) cannot say what a
// discount would do, and the gate says how to get a log that can; with a share of shoppers online
// (the rest held out on the baseline arm) the gate compares the policy with fixed:0, what the
// store served until then.
TEST(OpeCli, GoingLiveFromApprenticeModeGoesThroughTheGate) {
  TempDir a("cli");
  std::string d = "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version\n";
  for (unsigned i = 0; i < 300; ++i)
    d += did(i + 1) + "," + std::to_string(1700006400000LL + i * 60000LL) + ",s" + std::to_string(i % 100) + ",i1,0,0,1,m1,v1\n";
  a.file("decisions.csv", d);
  a.file("outcomes.csv", "decision_id,ts,converted,revenue,margin\n" + did(1) + ",1700006460000,1,20,1\n");
  a.file("events.csv", "user_id,ts,type,item_id\ns1,1700006400000,view,i1\n");
  const std::string err = a.str() + "/err.txt";
  EXPECT_EQ(run(kExe + " gate --log " + a.str() + " --candidate fixed:1 --current fixed:0 2> " + err), 1);
  EXPECT_NE(slurp(err).find("apprentice-mode log"), std::string::npos) << slurp(err);
  EXPECT_NE(slurp(err).find("holdout: { share: 0.9 }"), std::string::npos) << slurp(err);
  TempDir t("cli");
  write_log(t);  // a fifth of the shoppers held out on arm 0 (propensity 1), the rest randomized
  const std::string so = t.str() + "/gate.txt";
  EXPECT_EQ(run(kExe + " gate --log " + t.str() + " --candidate fixed:1 --current fixed:0 --bootstrap 300 > " + so), 0) << slurp(so);
  EXPECT_EQ(slurp(so).rfind("promote: ", 0), 0u) << slurp(so);
  EXPECT_EQ(run(kExe + " gate --log " + t.str() + " --candidate fixed:2 --current fixed:0 --bootstrap 300 > " + so), 3) << slurp(so);
}

TEST(OpeCli, BadLogsAndOptionsEndWithOneLineAndAnExitCode) {
  TempDir t("cli");
  t.file("always1.csv", "arm,probability\n0,0\n1,1\n2,0\n");
  t.file("two.csv", "arm,probability\n0,0.5\n1,0.5\n");
  const std::string err = t.str() + "/err.txt";
  auto one_line = [&](const std::string& needle) {
    const std::string e = slurp(err);
    EXPECT_NE(e.find(needle), std::string::npos) << e;
    EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  };
  {  // propensity 0 and > 1
    TempDir l("cli-bad");
    write_log(l, "0", false);
    EXPECT_EQ(run(kExe + " ope --log " + l.str() + " --candidate " + t.str() + "/always1.csv 2> " + err), 1);
    one_line("propensity outside (0, 1]");
    write_log(l, "1.5", false);
    EXPECT_EQ(run(kExe + " ope --log " + l.str() + " --candidate " + t.str() + "/always1.csv 2> " + err), 1);
    one_line("propensity outside (0, 1]");
  }
  {  // no randomization
    TempDir l("cli-bad");
    write_log(l, "1", false);
    EXPECT_EQ(run(kExe + " ope --log " + l.str() + " --candidate " + t.str() + "/always1.csv 2> " + err), 1);
    one_line("no randomization");
  }
  TempDir l("cli-ok");
  write_log(l, "0.3333333333", false);
  // an arm the candidate does not know
  EXPECT_EQ(run(kExe + " ope --log " + l.str() + " --candidate " + t.str() + "/two.csv 2> " + err), 1);
  one_line("which the candidate");
  // a missing column
  {
    TempDir m("cli-bad");
    write_log(m, "0.5", false);
    m.file("decisions.csv", "decision_id,ts,user_id,item_id,arm\n" + did(1) + ",1,a,i1,0\n");
    EXPECT_EQ(run(kExe + " ope --log " + m.str() + " --candidate " + t.str() + "/always1.csv 2> " + err), 1);
    one_line("missing column");
  }
  // no such candidate, a broken bundle
  EXPECT_EQ(run(kExe + " ope --log " + l.str() + " --candidate " + t.str() + "/nope.csv 2> " + err), 1);
  one_line("no such candidate file");
  t.file("fake.disco", "not a bundle");
  EXPECT_EQ(run(kExe + " ope --log " + l.str() + " --candidate " + t.str() + "/fake.disco 2> " + err), 1);
  one_line("not a loadable bundle");
  // usage errors: exit 2
  EXPECT_EQ(run(kExe + " ope --log " + l.str() + " 2> " + err), 2);
  EXPECT_NE(slurp(err).find("--candidate is required"), std::string::npos) << slurp(err);
  EXPECT_EQ(run(kExe + " ope --log " + l.str() + " --candidate uniform --estimators magic 2> " + err), 2);
  EXPECT_EQ(run(kExe + " ope --log " + l.str() + " --candidate uniform --reward profit 2> " + err), 2);
  EXPECT_EQ(run(kExe + " gate --log " + l.str() + " --candidate uniform 2> " + err), 2);
  EXPECT_EQ(run(kExe + " ope --help > " + err), 0);
  EXPECT_NE(slurp(err).find("--reward-model"), std::string::npos);
}

TEST(OpeCli, AbReportsTheHoldoutLiftOrSaysWhyNot) {
  TempDir t("cli-ab");
  write_log(t);  // holdout column: shoppers divisible by 5 get arm 0 by rule
  const std::string so = t.str() + "/ab.txt", err = t.str() + "/err.txt";
  const int rc = run(kExe + " ab --log " + t.str() + " --json " + t.str() + "/ab.json --html " + t.str() + "/ab.html > " + so +
                     " 2> " + err);
  ASSERT_EQ(rc, 0) << slurp(err);
  const auto j = nlohmann::json::parse(slurp(t.str() + "/ab.json"));
  EXPECT_EQ(j["ab"]["shoppers_holdout"], 100);
  EXPECT_EQ(j["ab"]["shoppers_disco"], 400);
  EXPECT_NEAR(j["ab"]["days"].get<double>(), 63, 1);
  EXPECT_NE(slurp(t.str() + "/ab.html").find("Days to detect a lift"), std::string::npos);
  // A log without the holdout column has no holdout shoppers: exit 1, saying what to configure.
  TempDir n("cli-ab-none");
  write_log(n, "", false);
  EXPECT_EQ(run(kExe + " ab --log " + n.str() + " > " + so + " 2> " + err), 1);
  EXPECT_NE(slurp(err).find("no holdout shoppers in the log"), std::string::npos) << slurp(err);
}

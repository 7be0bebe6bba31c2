// Candidate files (both formats and every refusal) and logged bandit feedback from canonical logs
// (rewards, clusters, and the refusals of bad logs: propensity 0 or > 1, missing columns, missing
// outcomes, no randomization).
#include <gtest/gtest.h>

#include <functional>

#include "disco/data/ingest.h"
#include "disco/eval/ope_data.h"
#include "ope_test_util.h"

using namespace disco;
using namespace disco::eval::ope;
using disco::eval::testing::did;
using disco::eval::testing::TempDir;

namespace {
BanditLog three_arm_log(uint32_t positions = 1) {
  BanditLog log;
  log.source = "t";
  log.n_arms = 3;
  log.n_positions = positions;
  log.arm = {0, 1, 2, 1};
  log.position = {0, positions > 1 ? 1u : 0u, 0, positions > 2 ? 2u : 0u};
  log.propensity = {.5, .25, .25, .25};
  log.reward = {1, 0, 0, 1};
  log.cluster = {0, 1, 2, 3};
  log.id = {did(1), did(2), did(3), did(4)};
  return log;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(OpeCandidate, PerPositionFileLikeObpActionDist) {
  TempDir t("cand");
  const std::string p = t.file("pi.csv", "item_id,position_1,position_2,position_3\n0,0.5,0.2,1\n1,0.25,0.8,0\n2,0.25,0,0\n");
  const CandidateFile c = read_candidate_csv(p);
  ASSERT_EQ(c.kind, CandidateFile::Kind::PerPosition);
  EXPECT_EQ(c.n_positions, 3u);
  EXPECT_EQ(c.arms, (std::vector<uint32_t>{0, 1, 2}));
  BanditLog log = three_arm_log(3);
  const ActionDist d = candidate_distribution(c, log);
  // row 1 is at position 2: (0.2, 0.8, 0); row 3 at position 3: (1, 0, 0)
  EXPECT_DOUBLE_EQ(d.prob(1, 1), 0.8);
  EXPECT_DOUBLE_EQ(d.prob(3, 0), 1.0);
  EXPECT_DOUBLE_EQ(d.prob(0, 2), 0.25);
  // A single probability column serves every position.
  const CandidateFile one = read_candidate_csv(t.file("one.csv", "arm,probability\n0,0.5\n1,0.5\n2,0\n"));
  BanditLog log3 = three_arm_log(3);
  EXPECT_DOUBLE_EQ(candidate_distribution(one, log3).prob(3, 1), 0.5);
}

TEST(OpeCandidate, PerDecisionFile) {
  TempDir t("cand");
  std::string text = "decision_id,arm,probability\n";
  for (unsigned i = 1; i <= 4; ++i) text += did(i) + ",0,0.5\n" + did(i) + ",2,0.5\n";
  text += did(9) + ",1,1\n";  // a decision the log does not have: ignored
  const CandidateFile c = read_candidate_csv(t.file("rows.csv", text));
  ASSERT_EQ(c.kind, CandidateFile::Kind::PerRow);
  BanditLog log = three_arm_log();
  const ActionDist d = candidate_distribution(c, log);
  EXPECT_DOUBLE_EQ(d.prob(2, 2), 0.5);
  EXPECT_DOUBLE_EQ(d.prob(1, 1), 0.0);  // not listed: 0
}

TEST(OpeCandidate, Refusals) {
  TempDir t("cand");
  auto err = [&](const std::string& text) { return error_of([&] { read_candidate_csv(t.file("bad.csv", text)); }); };
  EXPECT_NE(err("arm,p\n0,0.5\n1,0.4\n").find("sums to 0.9, not 1"), std::string::npos);
  EXPECT_NE(err("arm,p\n0,0.5\n0,0.5\n").find("bad.csv:3: arm 0 appears twice"), std::string::npos) << err("arm,p\n0,0.5\n0,0.5\n");
  EXPECT_NE(err("arm,p\n0,1.5\n").find("bad.csv:2: column p: '1.5' is not a probability"), std::string::npos);
  EXPECT_NE(err("arm,p\nx,1\n").find("'x' is not an arm number"), std::string::npos);
  EXPECT_NE(err("foo,bar\n0,1\n").find("header must start with arm"), std::string::npos);
  EXPECT_NE(err("arm,p\n0,1,2\n").find("expected 2 fields, got 3"), std::string::npos);
  EXPECT_NE(err("").find("empty file"), std::string::npos);
  EXPECT_NE(err("decision_id,arm,probability\n" + did(1) + ",0,0.7\n").find("sum to 0.7, not 1"), std::string::npos);
  EXPECT_NE(error_of([&] { read_candidate_csv((t.path / "nope.csv").string()); }).find("cannot open"), std::string::npos);
  // A logged arm the candidate does not know.
  BanditLog log = three_arm_log();
  const CandidateFile two = read_candidate_csv(t.file("two.csv", "arm,p\n0,0.5\n1,0.5\n"));
  const std::string e = error_of([&] { candidate_distribution(two, log); });
  EXPECT_NE(e.find("logged arm 2, which the candidate"), std::string::npos) << e;
  // A per-decision file that leaves a logged decision out.
  const CandidateFile rows = read_candidate_csv(t.file("r.csv", "decision_id,arm,probability\n" + did(1) + ",0,1\n" + did(2) +
                                                                    ",1,1\n" + did(3) + ",2,1\n"));
  EXPECT_NE(error_of([&] { candidate_distribution(rows, log); }).find("no distribution for decision " + did(4)), std::string::npos);
  // Fewer position columns than the log has positions.
  BanditLog log3 = three_arm_log(3);
  const CandidateFile two_pos = read_candidate_csv(t.file("p2.csv", "arm,p1,p2\n0,1,1\n1,0,0\n2,0,0\n"));
  EXPECT_NE(error_of([&] { candidate_distribution(two_pos, log3); }).find("2 position columns but the log has 3"), std::string::npos);
}

namespace {
// A canonical log: decisions of 3 shoppers, 2 arms, with outcomes (one decision has none).
void write_canonical(const TempDir& t, const std::string& props = "0.5,0.5,0.5,0.5,0.5", bool outcomes = true) {
  std::stringstream ps(props);
  std::vector<std::string> p;
  for (std::string x; std::getline(ps, x, ',');) p.push_back(x);
  std::string d = "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version\n";
  const char* users[] = {"alice", "bob", "alice", "carol", "bob"};
  const int arms[] = {0, 1, 1, 0, 1};
  for (int i = 0; i < 5; ++i)
    d += did(i + 1) + "," + std::to_string(1700000000000LL + i * 1000) + "," + users[i] + ",i1," + std::to_string(arms[i]) + "," +
         (arms[i] ? "0.1" : "0") + "," + p[i] + ",m1,v" + (i < 4 ? "1" : "2") + "\n";
  t.file("decisions.csv", d);
  t.file("events.csv", "user_id,ts,type,item_id\nalice,1700000000000,view,i1\n");
  if (outcomes)
    t.file("outcomes.csv", "decision_id,ts,converted,revenue,margin\n" + did(1) + ",1700000001000,1,20,5\n" + did(2) +
                               ",1700000002000,0,0,0\n" + did(3) + ",1700000003000,1,18,3\n" + did(5) +
                               ",1700000005000,1,18,-1.5\n");
}
}  // namespace

TEST(OpeCanonicalLog, RewardsClustersAndMissingOutcomes) {
  TempDir t("canon");
  write_canonical(t);
  LogOptions o;
  LoadedLog L = load_bandit_log(t.str(), o);
  EXPECT_EQ(L.kind, "canonical");
  ASSERT_EQ(L.log.size(), 5u);
  EXPECT_EQ(L.log.n_arms, 2u);
  EXPECT_EQ(L.log.reward, (std::vector<double>{5, 0, 3, 0, -1.5}));  // margin; decision 4 has no outcome: 0
  EXPECT_EQ(L.without_outcome, 1u);
  EXPECT_EQ(L.log.cluster[0], L.log.cluster[2]);  // alice twice
  EXPECT_EQ(L.log.cluster[1], L.log.cluster[4]);  // bob twice
  EXPECT_NE(L.log.cluster[0], L.log.cluster[1]);
  EXPECT_EQ(L.log.id[0], did(1));
  o.reward = RewardKind::Conversion;
  EXPECT_EQ(load_bandit_log(t.str(), o).log.reward, (std::vector<double>{1, 0, 1, 0, 1}));
  o.reward = RewardKind::Revenue;
  EXPECT_EQ(load_bandit_log(t.str(), o).log.reward, (std::vector<double>{20, 0, 18, 0, 18}));
  o.behavior = "v2";
  EXPECT_EQ(load_bandit_log(t.str(), o).log.size(), 1u);
  o.behavior = "v9";
  EXPECT_THROW(load_bandit_log(t.str(), o), OpeError);
}

// The collector's export carries A/B holdout decisions (holdout = 1, propensity 1, no context):
// OPE and the gate leave them out (they are disco-eval ab's control group), say so, and refuse a
// log holding nothing else. Found by the loop (loop/loop.mjs --holdout 0.1): the gate with bundle
// candidates stopped at the first holdout decision ("has no logged context").
TEST(OpeCanonicalLog, LeavesHoldoutDecisionsOut) {
  TempDir t("canon-holdout");
  std::string d = "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version,site,mode,shown,holdout,price,cost,context\n";
  d += did(1) + ",1700000000000,alice,i1,1,0.1,0.25,m1,m1,s,online,1,0,10,5,0.5 1\n";
  d += did(2) + ",1700000001000,bob,i1,0,0,1,m1,m1,s,online,1,1,10,5,\n";
  d += did(3) + ",1700000002000,alice,i1,0,0,0.75,m1,m1,s,online,1,0,10,5,0.25 1\n";
  t.file("decisions.csv", d);
  t.file("events.csv", "user_id,ts,type,item_id\nalice,1700000000000,view,i1\n");
  t.file("outcomes.csv", "decision_id,ts,converted,revenue,margin\n" + did(1) + ",1700000001000,1,9,4\n" + did(2) +
                             ",1700000002000,1,10,5\n" + did(3) + ",1700000003000,0,0,0\n");
  LoadedLog L = load_bandit_log(t.str(), LogOptions{});
  ASSERT_EQ(L.log.size(), 2u);
  EXPECT_EQ(L.log.id, (std::vector<std::string>{did(1), did(3)}));
  EXPECT_EQ(L.log.reward, (std::vector<double>{4, 0}));
  bool noted = false;
  for (const auto& n : L.notes) noted |= n.find("1 A/B holdout decisions left out") != std::string::npos;
  EXPECT_TRUE(noted);
  // Only holdout decisions: refused with the reason.
  std::string h = "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version,site,mode,shown,holdout,price,cost,context\n";
  h += did(2) + ",1700000001000,bob,i1,0,0,1,m1,m1,s,online,1,1,10,5,\n";
  t.file("decisions.csv", h);
  const std::string e = error_of([&] { load_bandit_log(t.str(), LogOptions{}); });
  EXPECT_NE(e.find("every decision is an A/B holdout decision (1"), std::string::npos) << e;
}

TEST(OpeCanonicalLog, RefusesBadLogs) {
  LogOptions o;
  {  // propensity 0 and > 1: the reader drops them as invalid_propensity; OPE refuses the log
    TempDir t("canon");
    write_canonical(t, "0.5,0,0.5,1.5,0.5");
    const std::string e = error_of([&] { load_bandit_log(t.str(), o); });
    EXPECT_NE(e.find("2 decision(s) have a propensity outside (0, 1]"), std::string::npos) << e;
  }
  {  // no randomization
    TempDir t("canon");
    write_canonical(t, "1,1,1,1,1");
    LoadedLog L = load_bandit_log(t.str(), o);
    const std::string e = error_of([&] { L.log.validate(); });
    EXPECT_NE(e.find("every logged propensity is 1 (no randomization)"), std::string::npos) << e;
  }
  {  // no outcomes.csv
    TempDir t("canon");
    write_canonical(t, "0.5,0.5,0.5,0.5,0.5", false);
    EXPECT_NE(error_of([&] { load_bandit_log(t.str(), o); }).find("no outcomes.csv"), std::string::npos);
  }
  {  // a missing column: the reader's one-line message
    TempDir t("canon");
    write_canonical(t);
    t.file("decisions.csv", "decision_id,ts,user_id,item_id,arm,discount\n" + did(1) + ",1,a,i1,0,0\n");
    const std::string e = error_of([&] { load_bandit_log(t.str(), o); });
    EXPECT_NE(e.find("missing column 'propensity'"), std::string::npos) << e;
  }
  {  // no decisions at all
    TempDir t("canon");
    t.file("events.csv", "user_id,ts,type,item_id\nalice,1700000000000,view,i1\n");
    EXPECT_NE(error_of([&] { load_bandit_log(t.str(), o); }).find("no decisions"), std::string::npos);
  }
  EXPECT_NE(error_of([&] { load_bandit_log("/nonexistent/log", o); }).find("not a directory"), std::string::npos);
}

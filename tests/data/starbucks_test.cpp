// read_starbucks: the offer history rebuilt from the rows (strictly before each offer; nothing
// from the leaking per-customer totals), the cleaning reasons, gzip and plain files, error
// messages; and the shared starbucks-offers files with counts checked independently (Python over
// the two CSV files: trainer/data/README.md).
#include <gtest/gtest.h>

#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "disco/data/dataset.h"
#include "disco/data/ingest.h"
#include "test_util.h"

namespace dd = disco::data;
using disco_test::TempDir;

namespace {

const char* kHeader =
    "customer_id,offer_received_time,offer_id,reward,difficulty,duration,offer_type,ch_web,ch_email,ch_mobile,"
    "ch_social,age,days_registered,income,gender_F,gender_M,gender_Missing,transaction_amount,offer_completed,"
    "offer_completed_time\n";

// One row; `total` stands for the leaking 30-day totals (must never show up in the features).
std::string row(const std::string& cust, double t, const std::string& offer, double completed, double done_t,
                const std::string& gender = "1.0,0.0,0.0", double total = 999.0) {
  std::string attrs;
  if (offer == "b5") attrs = "5,5,168,bogo,1,1,1,0";
  else if (offer == "d10") attrs = "2,10,240,discount,1,1,0,1";
  else if (offer == "i72") attrs = "0,0,72,informational,0,1,1,1";
  else if (offer == "b5x") attrs = "7,5,168,bogo,1,1,1,0";      // b5 with another reward
  else if (offer == "cpn") attrs = "1,1,24,coupon,1,1,1,1";     // unknown type
  const std::string oid = offer == "b5x" ? "b5" : offer;
  char b[256];
  std::snprintf(b, sizeof b, "%s,%g,%s,%s,40.0,300,%s,%s,%g,%g,%g\n", cust.c_str(), t, oid.c_str(), attrs.c_str(),
                cust == "A" ? "70000.0" : "50000.0", gender.c_str(), total, completed, done_t);
  return b;
}

void write_gz(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(f);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const dd::IngestError& e) {
    return e.what();
  }
  return "";
}

uint64_t count(const std::map<std::string, uint64_t>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

const dd::Decision* find(const dd::Dataset& ds, const std::string& user, int64_t ts_h) {
  for (const auto& d : ds.decisions)
    if (ds.user_ids[d.user] == user && d.ts_ms == ts_h * 3600000) return &d;
  return nullptr;
}

float ctx(const dd::Dataset& ds, const dd::Decision& d, const std::string& name) {
  for (size_t i = 0; i < ds.context_names.size(); ++i)
    if (ds.context_names[i] == name) return d.context.at(i);
  ADD_FAILURE() << "no context feature " << name;
  return NAN;
}

}  // namespace

TEST(DataStarbucks, HistoryRebuiltFromRowsAndCleaning) {
  TempDir tmp;
  write_gz(tmp.file("train_v3_starbucks.csv.gz"),
           std::string(kHeader) + row("A", 0, "b5", 1, 24) + row("A", 168, "i72", 0, -1) +
               row("A", 336, "d10", 1, 504) + row("A", 336, "d10", 1, 520) +  // same offer again: dropped
               row("A", 504, "b5", 0, -1) + row("B", 0, "cpn", 0, -1) +        // unknown offer type
               row("B", 168, "b5x", 0, -1) +                                     // b5 with other attributes
               row("B", 336, "d10", 1, 300));                                    // completed before received
  // test part as a plain CSV (zlib reads it as it is)
  tmp.write("test_v3_starbucks.csv", std::string(kHeader) + row("C", 0, "i72", 0, -1, "0.0,0.0,1.0") +
                                         row("C", 168, "d10", 0, -1, "1.0,1.0,0.0"));  // two gender flags
  const dd::Dataset ds = dd::read_starbucks(tmp.path());
  const auto& q = ds.quality;
  EXPECT_EQ(q.rows_read, 10u);
  EXPECT_EQ(q.rows_kept, 5u);
  EXPECT_EQ(count(q.dropped, "duplicate_offer"), 1u);
  EXPECT_EQ(count(q.dropped, "unknown_category"), 1u);
  EXPECT_EQ(count(q.dropped, "inconsistent_offer"), 1u);
  EXPECT_EQ(count(q.dropped, "invalid_completion"), 1u);
  EXPECT_EQ(count(q.dropped, "unparsable_number"), 1u);
  ASSERT_EQ(q.files.size(), 2u);
  EXPECT_EQ(q.files[0].rows_read, 8u);
  EXPECT_EQ(q.files[1].rows_read, 2u);

  // arms = offers in the order of their names; item index = arm
  ASSERT_EQ(ds.arm_names, (std::vector<std::string>{"bogo-5-5-168", "discount-2-10-240", "informational-0-0-72"}));
  ASSERT_EQ(ds.items.size(), 3u);
  EXPECT_EQ(ds.items[0].id, "b5");
  EXPECT_EQ(ds.categories[ds.items[2].category], "informational");
  ASSERT_EQ(ds.decisions.size(), 5u);
  ASSERT_EQ(ds.outcomes.size(), 5u);
  for (size_t i = 1; i < ds.decisions.size(); ++i) EXPECT_LE(ds.decisions[i - 1].ts_ms, ds.decisions[i].ts_ms);
  for (size_t i = 0; i < ds.decisions.size(); ++i) {
    EXPECT_EQ(ds.decisions[i].item, ds.decisions[i].arm);
    EXPECT_FLOAT_EQ(ds.decisions[i].propensity, 1.f / 3.f);
    EXPECT_EQ(ds.outcomes[i].id_lo, ds.decisions[i].id_lo);
    ASSERT_EQ(ds.decisions[i].context.size(), ds.context_names.size());
  }
  // the customer's profile, not the 30-day totals
  EXPECT_EQ(ds.user_feature_names,
            (std::vector<std::string>{"age", "income", "days_registered", "gender_f", "gender_m", "gender_missing"}));
  const uint32_t a = ds.user_index.at("A");
  EXPECT_FLOAT_EQ(ds.user_features[a * 6 + 0], 40.f);
  EXPECT_FLOAT_EQ(ds.user_features[a * 6 + 1], 70000.f);
  EXPECT_FLOAT_EQ(ds.user_features[a * 6 + 2], 300.f);
  EXPECT_FLOAT_EQ(ds.user_features[a * 6 + 3], 1.f);
  const uint32_t c = ds.user_index.at("C");
  EXPECT_FLOAT_EQ(ds.user_features[c * 6 + 5], 1.f);
  for (const auto& d : ds.decisions)
    for (float v : d.context) EXPECT_NE(v, 999.f) << "a leaking total reached the features";

  // A at 504: A's offers at 0 (completed at 24), 168 (informational), 336 (completed at 504 =
  // this receipt time: not before it, and still active)
  const dd::Decision* a504 = find(ds, "A", 504);
  ASSERT_NE(a504, nullptr);
  EXPECT_EQ(a504->arm, 0);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "offers_before"), 3.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "bogo_before"), 1.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "discount_before"), 1.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "info_before"), 1.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "completed_before"), 1.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "active_before"), 1.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "hours_since_prev"), 168.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "received_h"), 504.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "reward"), 5.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "duration_h"), 168.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a504, "ch_social"), 0.f);
  // A at 336: the first of the two identical offers is kept (completion at 504)
  const dd::Decision* a336 = find(ds, "A", 336);
  ASSERT_NE(a336, nullptr);
  EXPECT_FLOAT_EQ(ctx(ds, *a336, "offers_before"), 2.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a336, "completed_before"), 1.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a336, "active_before"), 0.f);  // the bogo was completed at 24
  const size_t i336 = static_cast<size_t>(a336 - ds.decisions.data());
  EXPECT_TRUE(ds.outcomes[i336].converted);
  EXPECT_EQ(ds.outcomes[i336].ts_ms, 504LL * 3600000);
  EXPECT_FLOAT_EQ(a336->discount, 0.2f);
  // the first offer of a customer has no history
  const dd::Decision* a0 = find(ds, "A", 0);
  ASSERT_NE(a0, nullptr);
  EXPECT_FLOAT_EQ(ctx(ds, *a0, "offers_before"), 0.f);
  EXPECT_FLOAT_EQ(ctx(ds, *a0, "hours_since_prev"), -1.f);
  // not completed: the outcome is at the offer's expiry
  const dd::Decision* c0 = find(ds, "C", 0);
  ASSERT_NE(c0, nullptr);
  const size_t ic0 = static_cast<size_t>(c0 - ds.decisions.data());
  EXPECT_FALSE(ds.outcomes[ic0].converted);
  EXPECT_EQ(ds.outcomes[ic0].ts_ms, 72LL * 3600000);
  // through the dispatcher too
  EXPECT_EQ(dd::read_dataset("starbucks", tmp.path()).decisions.size(), 5u);
}

TEST(DataStarbucks, BadInputNamesTheProblem) {
  TempDir tmp;
  std::string m = error_of([&] { dd::read_starbucks(tmp.path()); });
  EXPECT_NE(m.find("expected train_v3_starbucks.csv.gz"), std::string::npos) << m;
  m = error_of([&] { dd::read_starbucks(tmp.file("nope")); });
  EXPECT_NE(m.find("not a directory"), std::string::npos) << m;
  tmp.write("train_v3_starbucks.csv", "customer_id,offer_received_time,offer_id\nA,0,b5\n");
  tmp.write("test_v3_starbucks.csv", kHeader);
  m = error_of([&] { dd::read_starbucks(tmp.path()); });
  EXPECT_NE(m.find("train_v3_starbucks.csv:1: wrong header: missing column 'reward'"), std::string::npos) << m;
  tmp.write("train_v3_starbucks.csv.gz", "not gzip at all, and no header either");
  m = error_of([&] { dd::read_starbucks(tmp.path()); });
  EXPECT_NE(m.find("train_v3_starbucks.csv.gz:1: wrong header"), std::string::npos) << m;
}

namespace {
std::string real_dir() {
  const char* env = std::getenv("DISCO_DATA");
  const std::string root = env && *env ? env : DISCO_DATA_DEFAULT;
  return (std::filesystem::path(root) / "starbucks-offers").string();
}
}  // namespace

// Counts from Python over the two files (csv module; a row is a duplicate when (customer_id,
// offer_received_time, offer_id) repeats; history sums recomputed per customer).
TEST(DataReal, Starbucks) {
  const std::string dir = real_dir();
  if (!std::filesystem::is_directory(dir))
    GTEST_SKIP() << "real data not found at " << dir << " (set DISCO_DATA to the shared data folder)";
  const dd::Dataset ds = dd::read_starbucks(dir);
  const auto& q = ds.quality;
  EXPECT_EQ(q.rows_read, 76358u);
  EXPECT_EQ(q.rows_kept, 76277u);
  EXPECT_EQ(count(q.dropped, "duplicate_offer"), 81u);
  EXPECT_EQ(q.total_dropped(), 81u);
  EXPECT_TRUE(q.flagged.empty());
  ASSERT_EQ(q.files.size(), 2u);
  EXPECT_EQ(q.files[0].rows_read, 51116u);
  EXPECT_EQ(q.files[1].rows_read, 25242u);
  EXPECT_EQ(ds.user_ids.size(), 16994u);
  ASSERT_EQ(ds.decisions.size(), 76277u);
  ASSERT_EQ(ds.arm_names.size(), 10u);
  const std::map<std::string, std::pair<int, int>> expect = {
      {"bogo-10-10-120", {7593, 3301}},       {"bogo-10-10-168", {7658, 3635}},   {"bogo-5-5-120", {7571, 4262}},
      {"bogo-5-5-168", {7677, 4303}},         {"discount-2-10-168", {7632, 3955}}, {"discount-2-10-240", {7597, 5230}},
      {"discount-3-7-168", {7646, 5102}},     {"discount-5-20-240", {7668, 3313}},
      {"informational-0-0-72", {7618, 0}},    {"informational-0-0-96", {7617, 0}}};
  std::map<std::string, std::pair<int, int>> got;
  std::map<int64_t, int> waves;
  std::map<std::string, double> sums;
  for (size_t i = 0; i < ds.decisions.size(); ++i) {
    const auto& d = ds.decisions[i];
    auto& g = got[ds.arm_names.at(d.arm)];
    ++g.first;
    g.second += ds.outcomes[i].converted;
    ++waves[d.ts_ms / 3600000];
    for (size_t k = 0; k < ds.context_names.size(); ++k) sums[ds.context_names[k]] += d.context.at(k);
  }
  EXPECT_EQ(got, expect);
  EXPECT_EQ(waves, (std::map<int64_t, int>{{0, 12650}, {168, 12669}, {336, 12711}, {408, 12778}, {504, 12704},
                                           {576, 12765}}));
  EXPECT_DOUBLE_EQ(sums["offers_before"], 142828);
  EXPECT_DOUBLE_EQ(sums["info_before"], 28550);
  EXPECT_DOUBLE_EQ(sums["bogo_before"], 57003);
  EXPECT_DOUBLE_EQ(sums["completed_before"], 55934);
  EXPECT_DOUBLE_EQ(sums["active_before"], 18093);
  EXPECT_DOUBLE_EQ(sums["hours_since_prev"], 8389606);
  // customer 78afa995...: bogo-5-5-168 at 0 (completed 132), info at 168, bogo-10-10-168 at 408 and
  // bogo-5-5-120 at 504 (both completed at 510)
  const dd::Decision* d504 = find(ds, "78afa995795e4d85b5d9ceeca43f5fef", 504);
  ASSERT_NE(d504, nullptr);
  EXPECT_EQ(ds.arm_names[d504->arm], "bogo-5-5-120");
  EXPECT_FLOAT_EQ(ctx(ds, *d504, "offers_before"), 3.f);
  EXPECT_FLOAT_EQ(ctx(ds, *d504, "completed_before"), 1.f);
  EXPECT_FLOAT_EQ(ctx(ds, *d504, "active_before"), 1.f);
  const uint32_t u = ds.user_index.at("78afa995795e4d85b5d9ceeca43f5fef");
  EXPECT_FLOAT_EQ(ds.user_features[u * 6 + 0], 75.f);
  EXPECT_FLOAT_EQ(ds.user_features[u * 6 + 1], 100000.f);
  EXPECT_FLOAT_EQ(ds.user_features[u * 6 + 2], 443.f);
}

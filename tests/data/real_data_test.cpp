// Each real-data adapter on the shared files in $DISCO_DATA (default ../shared/data), with exact
// counts checked independently against the files (see trainer/data/README.md). Skipped with a
// message when the data is absent.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "disco/data/dataset.h"
#include "disco/data/ingest.h"

namespace dd = disco::data;

namespace {

std::string data_dir(const std::string& name) {
  const char* env = std::getenv("DISCO_DATA");
  const std::string root = env && *env ? env : DISCO_DATA_DEFAULT;
  return (std::filesystem::path(root) / name).string();
}

#define REQUIRE_DATA(dir)                                                                         \
  if (!std::filesystem::is_directory(dir)) {                                                      \
    GTEST_SKIP() << "real data not found at " << dir << " (set DISCO_DATA to the shared data folder)"; \
  }

uint64_t count(const std::map<std::string, uint64_t>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

void expect_consistent(const dd::Dataset& ds) {
  const auto& q = ds.quality;
  EXPECT_EQ(q.rows_read, q.rows_kept + q.total_dropped());
  uint64_t read = 0, kept = 0;
  for (const auto& f : q.files) {
    EXPECT_EQ(f.rows_read, f.rows_kept + f.rows_dropped) << f.file;
    read += f.rows_read;
    kept += f.rows_kept;
  }
  EXPECT_EQ(read, q.rows_read);
  EXPECT_EQ(kept, q.rows_kept);
  for (size_t i = 1; i < ds.events.size(); ++i) {
    const auto& a = ds.events[i - 1];
    const auto& b = ds.events[i];
    ASSERT_TRUE(a.user < b.user || (a.user == b.user && a.ts_ms <= b.ts_ms)) << "events not sorted at " << i;
  }
  uint64_t in_sessions = 0;
  for (const auto& s : ds.sessions) in_sessions += s.end - s.begin;
  EXPECT_EQ(in_sessions, ds.events.size());
  for (const auto& e : ds.events) {
    ASSERT_LT(e.item, ds.items.size());
    ASSERT_LT(e.user, ds.user_ids.size());
  }
  for (const auto& d : ds.decisions) {
    ASSERT_LT(d.item, ds.items.size());
    ASSERT_LT(d.user, ds.user_ids.size());
  }
}

}  // namespace

TEST(DataReal, Yoochoose) {
  const std::string dir = data_dir("yoochoose-100k");
  REQUIRE_DATA(dir);
  const dd::Dataset ds = dd::read_yoochoose(dir);
  expect_consistent(ds);
  const auto& q = ds.quality;
  ASSERT_EQ(q.files.size(), 2u);
  EXPECT_EQ(q.files[0].rows_read, 70278u);  // train_full
  EXPECT_EQ(q.files[1].rows_read, 13568u);  // test
  // one train row is an exact duplicate (same session, item and timestamp)
  EXPECT_EQ(count(q.dropped, "duplicate_row"), 1u);
  EXPECT_EQ(q.total_dropped(), 1u);
  EXPECT_EQ(q.total_repaired(), 0u);  // already sorted by session and time
  EXPECT_EQ(ds.events.size(), 70277u + 13568u);
  EXPECT_EQ(ds.items.size(), 2933u);  // every test item also occurs in train
  EXPECT_EQ(ds.user_ids.size(), 17794u + 3416u);
  ASSERT_TRUE(ds.has_predefined_split);
  EXPECT_EQ(ds.predefined_split.train.size(), 17794u);
  EXPECT_EQ(ds.predefined_split.test.size(), 3416u);
  EXPECT_EQ(ds.sessions.size(), 17794u + 3416u);  // sessions are the SessionIds
  uint64_t test_events = 0;
  for (uint32_t s : ds.predefined_split.test) test_events += ds.sessions[s].end - ds.sessions[s].begin;
  EXPECT_EQ(test_events, 13568u);
  for (const auto& e : ds.events) ASSERT_EQ(e.type, dd::EventType::Click);
  // first test event: session 1, item 214536502, 1396860669.277 s
  const uint32_t u = ds.user_index.at("1");
  const auto& first = ds.events[ds.sessions[ds.events[0].session].begin];
  (void)first;
  bool found = false;
  for (const auto& e : ds.events)
    if (e.user == u) {
      EXPECT_EQ(ds.items[e.item].id, "214536502");
      EXPECT_EQ(e.ts_ms, 1396860669277LL);
      found = true;
      break;
    }
  EXPECT_TRUE(found);
  // time split with the predefined test part; valid carved from the end of train
  const dd::Split sp = dd::time_split(ds, 0.1, 0.1);
  EXPECT_EQ(sp.test.size(), 3416u);
  EXPECT_EQ(sp.train.size() + sp.valid.size(), 17794u);
  EXPECT_GT(sp.valid.size(), 0u);
  int64_t max_train = 0, min_valid = INT64_MAX, max_valid = 0, min_test = INT64_MAX;
  for (uint32_t s : sp.train) max_train = std::max(max_train, ds.sessions[s].start_ms);
  for (uint32_t s : sp.valid) min_valid = std::min(min_valid, ds.sessions[s].start_ms);
  for (uint32_t s : sp.valid) max_valid = std::max(max_valid, ds.sessions[s].start_ms);
  for (uint32_t s : sp.test) min_test = std::min(min_test, ds.sessions[s].start_ms);
  EXPECT_LE(max_train, min_valid);
  EXPECT_LE(max_valid, min_test);
  // re-sessionizing with a 30 min gap splits the 492 + 84 inner gaps
  dd::Dataset copy = ds;
  dd::sessionize(copy, 30LL * 60 * 1000);
  EXPECT_EQ(copy.sessions.size(), 17794u + 3416u + 492u + 84u);
  EXPECT_EQ(copy.predefined_split.test.size(), 3416u + 84u);
}

TEST(DataReal, CompleteJourney) {
  const std::string dir = data_dir("completejourney-v2");
  REQUIRE_DATA(dir);
  const dd::Dataset ds = dd::read_completejourney(dir);
  expect_consistent(ds);
  const auto& q = ds.quality;
  ASSERT_EQ(q.files.size(), 2u);
  EXPECT_EQ(q.files[0].rows_read, 92331u);  // products.csv
  EXPECT_EQ(q.files[0].rows_kept, 92331u);
  EXPECT_EQ(q.files[1].rows_read, 75000u);  // transactions_sample.csv
  // quantity 0 rows; quantities > 1000 (fuel sold in thousandths); sales_value 0 with quantity > 0
  EXPECT_EQ(count(q.dropped, "non_positive_quantity"), 416u);
  EXPECT_EQ(count(q.dropped, "absurd_quantity"), 692u);
  EXPECT_EQ(count(q.dropped, "non_positive_price"), 113u);
  EXPECT_EQ(q.total_dropped(), 416u + 692u + 113u);
  EXPECT_EQ(q.files[1].rows_kept, 75000u - 1221u);
  // 222 rows name a product absent from products.csv; 1 of them survives cleaning
  EXPECT_EQ(count(q.repaired, "unknown_item"), 1u);
  EXPECT_EQ(count(q.flagged, "product_missing_from_catalog"), 222u);
  EXPECT_EQ(ds.items.size(), 92332u);
  // the file is not ordered by time: kept rows earlier than an earlier row of the same household
  EXPECT_EQ(count(q.repaired, "out_of_order_ts"), 64299u);
  EXPECT_EQ(ds.events.size(), 73779u);
  EXPECT_EQ(ds.user_ids.size(), 2372u);  // 2,377 households in the file; 5 have only dropped rows
  EXPECT_EQ(ds.sessions.size(), 45649u);  // 30 min gap (47,243 baskets in the file)
  for (const auto& e : ds.events) {
    ASSERT_EQ(e.type, dd::EventType::Purchase);
    ASSERT_GT(e.price, 0.f);
    ASSERT_GE(e.quantity, 1);
    ASSERT_LE(e.quantity, 1000);
  }
  // 2017 (local time, stored as UTC)
  EXPECT_GE(ds.events.front().ts_ms, 1483228800000LL - 86400000LL);
  const dd::Split sp = dd::time_split(ds, 0.1, 0.1);
  EXPECT_EQ(sp.train.size() + sp.valid.size() + sp.test.size(), ds.sessions.size());
  EXPECT_GT(sp.test.size(), 0u);
}

TEST(DataReal, Cdnow) {
  const std::string dir = data_dir("cdnow");
  REQUIRE_DATA(dir);
  const dd::Dataset ds = dd::read_cdnow(dir);
  expect_consistent(ds);
  const auto& q = ds.quality;
  EXPECT_EQ(q.rows_read, 69659u);
  EXPECT_EQ(q.rows_kept, 69659u);
  EXPECT_EQ(count(q.flagged, "identical_row_kept"), 255u);
  EXPECT_EQ(count(q.flagged, "zero_value_purchase"), 80u);
  EXPECT_EQ(ds.user_ids.size(), 23570u);
  EXPECT_EQ(ds.events.size(), 69659u);
  EXPECT_EQ(ds.sessions.size(), 67591u);  // distinct (customer, day)
  double spend = 0;
  int64_t cds = 0, t0 = INT64_MAX, t1 = 0;
  for (const auto& e : ds.events) {
    spend += static_cast<double>(e.price) * e.quantity;
    cds += e.quantity;
    t0 = std::min(t0, e.ts_ms);
    t1 = std::max(t1, e.ts_ms);
  }
  EXPECT_EQ(t0, 852076800000LL);   // 1997-01-01
  EXPECT_EQ(t1, 899164800000LL);   // 1998-06-30
  EXPECT_GT(cds, 69659);
  EXPECT_GT(spend, 0);
}

TEST(DataReal, Hillstrom) {
  const std::string dir = data_dir("hillstrom");
  REQUIRE_DATA(dir);
  const dd::Dataset ds = dd::read_hillstrom(dir);
  expect_consistent(ds);
  const auto& q = ds.quality;
  EXPECT_EQ(q.rows_read, 64000u);  // the last line has no terminator
  EXPECT_EQ(q.rows_kept, 64000u);
  EXPECT_TRUE(q.dropped.empty());
  ASSERT_EQ(ds.decisions.size(), 64000u);
  ASSERT_EQ(ds.outcomes.size(), 64000u);
  ASSERT_EQ(ds.user_ids.size(), 64000u);
  std::map<int, int> arms;
  int conv = 0, visits = 0;
  double spend = 0;
  for (size_t i = 0; i < ds.decisions.size(); ++i) {
    ++arms[ds.decisions[i].arm];
    EXPECT_FLOAT_EQ(ds.decisions[i].propensity, 1.f / 3.f);
    ASSERT_EQ(ds.outcomes[i].id_lo, ds.decisions[i].id_lo);
    conv += ds.outcomes[i].converted;
    spend += ds.outcomes[i].revenue;
    visits += ds.outcome_labels[i] > 0.5f;
  }
  EXPECT_EQ(arms[0], 21306);  // No E-Mail
  EXPECT_EQ(arms[1], 21307);  // Mens E-Mail
  EXPECT_EQ(arms[2], 21387);  // Womens E-Mail
  EXPECT_EQ(conv, 578);
  EXPECT_EQ(visits, 9394);
  EXPECT_NEAR(spend, 67258.13, 0.05);
  // features: the quoted "6) $750 - $1,000" and "7) $1,000 +" segments parsed
  const size_t nf = ds.user_feature_names.size();
  ASSERT_EQ(nf, 12u);
  ASSERT_EQ(ds.user_features.size(), 64000u * nf);
  std::map<int, int> seg;
  for (size_t u = 0; u < 64000; ++u) ++seg[static_cast<int>(ds.user_features[u * nf + 1])];
  EXPECT_EQ(seg[6], 1859);
  EXPECT_EQ(seg[7], 1308);
  EXPECT_EQ(seg[1], 22970);
  // first row: 10,"2) $100 - $200",142.44,1,0,Surburban,0,Phone,Womens E-Mail,0,0,0
  EXPECT_FLOAT_EQ(ds.user_features[0], 10.f);
  EXPECT_FLOAT_EQ(ds.user_features[1], 2.f);
  EXPECT_FLOAT_EQ(ds.user_features[2], 142.44f);
  EXPECT_FLOAT_EQ(ds.user_features[7], 1.f);  // zip_suburban
  EXPECT_FLOAT_EQ(ds.user_features[9], 1.f);  // channel_phone
  EXPECT_EQ(ds.decisions[0].arm, 2);
}

TEST(DataReal, OpenBandit) {
  const std::string dir = data_dir("open-bandit-men");
  REQUIRE_DATA(dir);
  const dd::Dataset ds = dd::read_open_bandit(dir);
  expect_consistent(ds);
  const auto& q = ds.quality;
  ASSERT_EQ(q.files.size(), 4u);  // random/item_context, random/men, bts/item_context, bts/men
  EXPECT_EQ(q.files[0].rows_read, 34u);
  EXPECT_EQ(q.files[1].rows_read, 10000u);
  EXPECT_EQ(q.files[3].rows_read, 10000u);
  EXPECT_TRUE(q.dropped.empty());
  EXPECT_EQ(count(q.repaired, "unknown_item"), 0u);
  EXPECT_EQ(ds.items.size(), 34u);
  EXPECT_EQ(ds.user_ids.size(), 265u);  // distinct user_feature_0..3 combinations over both logs
  ASSERT_EQ(ds.decisions.size(), 20000u);
  ASSERT_EQ(ds.outcomes.size(), 20000u);
  std::map<std::string, int> n, clicks;
  std::set<int> positions;
  for (size_t i = 0; i < ds.decisions.size(); ++i) {
    const auto& d = ds.decisions[i];
    ++n[d.policy_version];
    clicks[d.policy_version] += ds.outcomes[i].converted;
    positions.insert(d.position);
    ASSERT_EQ(ds.outcomes[i].id_lo, d.id_lo);
    ASSERT_GT(d.propensity, 0.f);
    ASSERT_LE(d.propensity, 1.f);
    if (d.policy_version == "random") ASSERT_FLOAT_EQ(d.propensity, 1.f / 34.f);
    ASSERT_LT(d.arm, 34);
    if (i && ds.decisions[i - 1].policy_version == d.policy_version) ASSERT_LE(ds.decisions[i - 1].ts_ms, d.ts_ms);
  }
  EXPECT_EQ(n["random"], 10000);
  EXPECT_EQ(n["bts"], 10000);
  EXPECT_EQ(clicks["random"], 46);
  EXPECT_EQ(clicks["bts"], 69);
  EXPECT_EQ(positions, (std::set<int>{1, 2, 3}));
  // 2019-11-24 00:03:13.442536+00:00
  EXPECT_EQ(ds.decisions[0].ts_ms, 1574553793442LL);
}

// The simulator's canonical CSV read back by ingest: a clean log round-trips row for row, and the
// dirty rows the simulator injects on purpose are counted under the same reasons, exactly.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

#include "disco/data/ingest.h"
#include "disco/sim/environment.h"
#include "disco/sim/simulate.h"
#include "test_util.h"

namespace dd = disco::data;
namespace ds = disco::sim;

namespace {
ds::Config small_store() {
  ds::Config cfg;
  cfg.seed = 7;
  cfg.num_items = 2000;
  cfg.num_shoppers = 3000;
  cfg.num_days = 14;
  return cfg;
}
}  // namespace

TEST(DataSim, CleanLogRoundTrips) {
  ds::Environment env(small_store());
  const ds::LoggingPolicy pol;
  const ds::SimLog log = ds::simulate(env, pol);
  disco_test::TempDir tmp;
  const ds::WriteStats st = ds::write_csv(env, log, tmp.path(), pol, 0.0);
  const dd::Dataset d = dd::read_canonical(tmp.path());
  EXPECT_TRUE(d.quality.dropped.empty()) << d.quality.to_text();
  EXPECT_EQ(d.quality.total_repaired(), 0u) << d.quality.to_text();
  EXPECT_EQ(d.items.size(), st.item_rows);
  EXPECT_EQ(d.events.size(), st.event_rows);
  EXPECT_EQ(d.events.size(), log.events.size());
  EXPECT_EQ(d.decisions.size(), log.decisions.size());
  EXPECT_EQ(d.outcomes.size(), log.outcomes.size());
  // sessions follow the simulator's session ids (plus any 30 min gap inside one)
  EXPECT_GE(d.sessions.size(), log.sessions);
  dd::Dataset by_id = d;
  dd::sessionize(by_id, INT64_MAX);
  EXPECT_EQ(by_id.sessions.size(), log.sessions);
  uint64_t purchases = 0;
  for (const auto& e : d.events) purchases += e.type == dd::EventType::Purchase;
  uint64_t sim_purchases = 0;
  for (const auto& e : log.events) sim_purchases += e.kind == ds::kPurchase;
  EXPECT_EQ(purchases, sim_purchases);
  for (size_t i = 0; i < d.decisions.size(); ++i) {
    ASSERT_FLOAT_EQ(d.decisions[i].propensity, static_cast<float>(pol.propensity(d.decisions[i].arm)));
    ASSERT_EQ(d.decisions[i].policy_version, pol.to_string());
  }
}

TEST(DataSim, InjectedDirtyRowsAreCountedExactly) {
  ds::Environment env(small_store());
  const ds::LoggingPolicy pol;
  const ds::SimLog log = ds::simulate(env, pol);
  disco_test::TempDir tmp;
  const ds::WriteStats st = ds::write_csv(env, log, tmp.path(), pol, 0.02);
  const dd::Dataset d = dd::read_canonical(tmp.path());
  const auto& inj = st.dirty.by_reason;
  auto injected = [&](const char* k) {
    auto it = inj.find(k);
    return it == inj.end() ? uint64_t{0} : it->second;
  };
  auto dropped = [&](const char* k) {
    auto it = d.quality.dropped.find(k);
    return it == d.quality.dropped.end() ? uint64_t{0} : it->second;
  };
  ASSERT_GT(injected("duplicate_row"), 0u);
  EXPECT_EQ(dropped("duplicate_row"), injected("duplicate_row"));
  // an empty category is kept (unknown category); the other missing fields are dropped
  uint64_t empty_category = 0;
  {
    std::ifstream f(tmp.file("items.csv"));
    std::string line;
    std::getline(f, line);
    while (std::getline(f, line)) {
      const size_t c = line.find(',');
      empty_category += c != std::string::npos && c + 1 < line.size() && line[c + 1] == ',';
    }
  }
  EXPECT_GT(empty_category, 0u);
  EXPECT_EQ(dropped("missing_field") + empty_category, injected("missing_field"));
  EXPECT_EQ(dropped("unparsable_number"), injected("unparsable_number"));
  EXPECT_EQ(dropped("non_positive_price"), injected("nonpositive_price"));
  EXPECT_EQ(dropped("absurd_quantity"), injected("absurd_quantity"));
  EXPECT_EQ(d.quality.total_dropped() + empty_category, injected("duplicate_row") + injected("missing_field") +
                                           injected("unparsable_number") + injected("nonpositive_price") +
                                           injected("absurd_quantity"))
      << d.quality.to_text();
  // shifted timestamps are repaired when they land before an earlier event of the same shopper
  // (a shift that stays after the previous event is not detectable as out of order)
  const auto ooo = d.quality.repaired.find("out_of_order_ts");
  ASSERT_NE(ooo, d.quality.repaired.end());
  EXPECT_GT(ooo->second, injected("out_of_order_ts") / 2);
  EXPECT_LE(ooo->second, injected("out_of_order_ts"));
  EXPECT_EQ(d.quality.rows_read, st.item_rows + st.event_rows + st.decision_rows + st.outcome_rows);
  EXPECT_EQ(d.quality.rows_read, d.quality.rows_kept + d.quality.total_dropped());
}

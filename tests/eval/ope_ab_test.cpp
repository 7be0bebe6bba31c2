// The A/B holdout analysis on hand-made logs with known answers (Welch intervals on per-shopper
// totals, the delta method for the conversion ratio and relative lifts, the power table, the
// cumulative timeline), its refusals, and the canonical-log adapter.
#include <gtest/gtest.h>

#include <cmath>

#include "disco/data/ingest.h"
#include "disco/eval/ab.h"
#include "ope_test_util.h"

using namespace disco;
using namespace disco::eval::ab;
using disco::eval::testing::did;
using disco::eval::testing::TempDir;

namespace {
constexpr int64_t kDay = 86400000, kT0 = 1700006400000;  // kT0 is a UTC midnight (day 19676)
AbRow row(const std::string& s, int day, bool holdout, bool conv, double rev, double margin, double spend = 0) {
  AbRow r;
  r.shopper = s;
  r.ts_ms = kT0 + day * kDay + 3600000;
  r.holdout = holdout;
  r.converted = conv;
  r.revenue = rev;
  r.margin = margin;
  r.discount_spend = spend;
  return r;
}
// disco: d1 margin 10 over two decisions, d2 0, d3 5, d4 7; holdout: h1 4, h2 0, h3 2 over two.
std::vector<AbRow> hand_rows() {
  return {row("d1", 0, false, false, 0, 0),          row("h1", 0, true, true, 40, 4),   row("d2", 0, false, false, 0, 0),
          row("d1", 1, false, true, 50, 10, 50.0 / 9), row("d3", 1, false, true, 30, 5, 7.5), row("d4", 1, false, true, 40, 7),
          row("h2", 1, true, false, 0, 0),           row("h3", 1, true, false, 0, 0),   row("h3", 1, true, true, 20, 2)};
}
}  // namespace

TEST(OpeAb, KnownLiftsAndIntervals) {
  const AbResult r = analyze(hand_rows());
  EXPECT_EQ(r.shoppers_disco, 4u);
  EXPECT_EQ(r.shoppers_holdout, 3u);
  EXPECT_EQ(r.decisions_disco, 5u);
  EXPECT_EQ(r.decisions_holdout, 4u);
  EXPECT_NEAR(r.holdout_share, 3.0 / 7, 1e-15);
  EXPECT_EQ(r.days, 2.0);
  const MetricLift& m = r.metric("margin_per_shopper");
  EXPECT_DOUBLE_EQ(m.disco, 5.5);
  EXPECT_DOUBLE_EQ(m.holdout, 2.0);
  EXPECT_DOUBLE_EQ(m.lift, 3.5);
  // Welch: var 53/3 over 4 shoppers, 4 over 3 (scipy's t quantile at the Satterthwaite df 4.4732).
  EXPECT_NEAR(m.se, 2.3979157616563596, 1e-12);
  EXPECT_NEAR(m.df, 4.473222674600689, 1e-9);
  EXPECT_NEAR(m.lo, -2.8889032292062424, 1e-9);
  EXPECT_NEAR(m.hi, 9.888903229206242, 1e-9);
  EXPECT_NEAR(m.p_value, 0.21084383832747422, 1e-9);
  EXPECT_NEAR(m.rel_lift, 1.75, 1e-12);
  EXPECT_NEAR(m.rel_lo, -3.3227842661314506, 1e-9);
  EXPECT_NEAR(m.rel_hi, 6.822784266131451, 1e-9);
  // Conversion per decision: 3/5 vs 2/4, linearized per shopper.
  const MetricLift& c = r.metric("conversion_rate");
  EXPECT_DOUBLE_EQ(c.disco, 0.6);
  EXPECT_DOUBLE_EQ(c.holdout, 0.5);
  EXPECT_NEAR(c.se, 0.29201883500897674, 1e-12);
  EXPECT_NEAR(c.lo, -0.6722364132440837, 1e-9);
  EXPECT_NEAR(c.hi, 0.8722364132440836, 1e-9);
  EXPECT_DOUBLE_EQ(r.metric("revenue_per_shopper").disco, 30.0);
  EXPECT_DOUBLE_EQ(r.metric("revenue_per_shopper").holdout, 20.0);
  EXPECT_NEAR(r.metric("discount_spend_per_shopper").disco, (50.0 / 9 + 7.5) / 4, 1e-12);
  EXPECT_DOUBLE_EQ(r.metric("discount_spend_per_shopper").holdout, 0.0);
  EXPECT_TRUE(std::isnan(r.metric("discount_spend_per_shopper").rel_lift));  // the holdout spends nothing
}

TEST(OpeAb, DaysToDetect) {
  const AbResult r = analyze(hand_rows());
  // +2% of the holdout's margin per shopper (0.04): (z_.975 + z_.8)^2 (var_d / .571 + var_h / .429) / .04^2 shoppers,
  // at 3.5 new shoppers a day over the 2 days seen.
  const PowerRow* p = nullptr;
  for (const auto& x : r.power_table)
    if (x.metric == "margin_per_shopper" && x.label == "+2%") p = &x;
  ASSERT_NE(p, nullptr);
  EXPECT_NEAR(p->abs_lift, 0.04, 1e-15);
  EXPECT_NEAR(p->shoppers_needed, 197448.3808172193, 1e-3);
  EXPECT_NEAR(p->days_needed, 56413.82309063408, 1e-4);
  EXPECT_EQ(p->more_days, 56412.0);
  bool observed = false;
  for (const auto& x : r.power_table) observed = observed || (x.metric == "margin_per_shopper" && x.label == "observed");
  EXPECT_TRUE(observed);
}

TEST(OpeAb, CumulativeTimeline) {
  const AbResult r = analyze(hand_rows());
  ASSERT_EQ(r.timeline.size(), 2u);
  // end of day 0: disco d1, d2 at 0 each; holdout h1 at 4 (one shopper: no interval)
  EXPECT_EQ(r.timeline[0].shoppers_disco, 2u);
  EXPECT_EQ(r.timeline[0].shoppers_holdout, 1u);
  EXPECT_DOUBLE_EQ(r.timeline[0].lift, -4.0);
  EXPECT_TRUE(std::isnan(r.timeline[0].lo));
  EXPECT_DOUBLE_EQ(r.timeline[1].lift, 3.5);
  EXPECT_NEAR(r.timeline[1].lo, -2.8889032292062424, 1e-9);
}

TEST(OpeAb, MixedShoppersAreLeftOutAndRefusals) {
  auto rows = hand_rows();
  rows.push_back(row("d4", 1, true, false, 0, 0));  // d4 now has a holdout decision too
  const AbResult r = analyze(rows);
  EXPECT_EQ(r.mixed_shoppers, 1u);
  EXPECT_EQ(r.shoppers_disco, 3u);
  EXPECT_DOUBLE_EQ(r.metric("margin_per_shopper").disco, 5.0);
  ASSERT_FALSE(r.notes.empty());
  std::vector<AbRow> none;
  for (auto x : hand_rows()) {
    x.holdout = false;
    none.push_back(x);
  }
  try {
    analyze(none);
    FAIL();
  } catch (const AbError& e) {
    EXPECT_NE(std::string(e.what()).find("no holdout shoppers"), std::string::npos);
  }
  for (auto& x : none) x.holdout = true;
  EXPECT_THROW(analyze(none), AbError);
  EXPECT_THROW(analyze({}), AbError);
}

TEST(OpeAb, CanonicalLogRowsCarryTheHoldoutColumn) {
  TempDir t("ab");
  t.file("events.csv", "user_id,ts,type,item_id\nu1,1700000000000,view,i1\n");
  t.file("decisions.csv",
         "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version,holdout\n" + did(1) +
             ",1700000000000,u1,i1,2,0.1,0.5,m,v,0\n" + did(2) + ",1700000001000,u2,i1,0,0,1,m,v,1\n");
  t.file("outcomes.csv", "decision_id,ts,converted,revenue,margin\n" + did(1) + ",1700000002000,1,45,6\n");
  const data::Dataset ds = data::read_canonical(t.str());
  const auto rows = rows_from_dataset(ds, t.str());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[0].holdout);
  EXPECT_TRUE(rows[1].holdout);
  EXPECT_TRUE(rows[0].converted);
  EXPECT_DOUBLE_EQ(rows[0].margin, 6.0);
  EXPECT_NEAR(rows[0].discount_spend, 45 * 0.1 / 0.9, 1e-5);  // the price cut: revenue at 10% off
  EXPECT_FALSE(rows[1].converted);
}

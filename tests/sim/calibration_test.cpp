// Tests of the calibration statistics (disco/sim/calibration.h): hand-made campaigns and promotions
// with known answers, estimators on synthetic data with a known effect, the simulator's runs of both
// designs, the real-data readers on $DISCO_DATA (skipped by name when it is absent) and the CLI.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "disco/sim/arms.h"
#include "disco/sim/calibration.h"
#include "disco/sim/environment.h"
#include "disco/sim/random.h"

namespace fs = std::filesystem;
using namespace disco::sim;
using namespace disco::sim::calib;

namespace {

std::string data_dir(const std::string& name) {
  const char* env = std::getenv("DISCO_DATA");
  const std::string root = env && *env ? env : DISCO_DATA_DEFAULT;
  return (fs::path(root) / name).string();
}

#define REQUIRE_DATA(dir)                                                                              \
  if (!fs::is_directory(dir)) {                                                                        \
    GTEST_SKIP() << "real data not found at " << dir << " (set DISCO_DATA to the shared data folder)"; \
  }

// Three customers, a placebo and two reward kinds; every statistic below is worked out by hand.
Campaign hand_campaign() {
  Campaign c;
  c.horizon_h = 720;
  c.kinds = {{"placebo", true, 72}, {"A", false, 168}, {"B", false, 240}};
  c.num_customers = 3;
  c.offers = {
      {0, 0, 1, true, 10},    {0, 168, 0, false, -1}, {0, 336, 2, false, -1},
      {1, 0, 0, false, -1},   {1, 168, 1, true, 200}, {1, 336, 1, true, 400},
      {2, 0, 2, true, 5},     {2, 168, 2, false, -1}, {2, 336, 1, false, -1}, {2, 408, 1, true, 410},
  };
  return c;
}

const CampaignStats::Kth* kth(const CampaignStats& s, int k) {
  for (const auto& x : s.kth)
    if (x.k == k) return &x;
  return nullptr;
}

}  // namespace

TEST(SimCalibrationStats, CampaignStatisticsMatchHandComputedValues) {
  const CampaignStats s = campaign_stats(hand_campaign());
  ASSERT_EQ(s.by_kind.size(), 3u);
  EXPECT_EQ(s.by_kind[0].n, 2u);
  EXPECT_DOUBLE_EQ(s.by_kind[0].rate, 0.0);
  EXPECT_EQ(s.by_kind[1].n, 5u);
  EXPECT_DOUBLE_EQ(s.by_kind[1].rate, 0.8);
  EXPECT_EQ(s.by_kind[2].n, 3u);
  EXPECT_DOUBLE_EQ(s.by_kind[2].rate, 1.0 / 3);
  EXPECT_EQ(s.reward_offers, 8u);
  EXPECT_DOUBLE_EQ(s.reward_rate, 5.0 / 8);
  EXPECT_DOUBLE_EQ(s.mean_reward_duration_h, (5 * 168.0 + 3 * 240.0) / 8);
  // k-th offer: k counts the placebos too.
  ASSERT_NE(kth(s, 1), nullptr);
  EXPECT_EQ(kth(s, 1)->n, 2u);
  EXPECT_DOUBLE_EQ(kth(s, 1)->rate, 1.0);
  EXPECT_NEAR(kth(s, 1)->adjusted, (0.2 + 2.0 / 3) / 2, 1e-12);
  EXPECT_NEAR(kth(s, 2)->rate, 0.5, 1e-12);
  EXPECT_NEAR(kth(s, 2)->adjusted, (0.2 - 1.0 / 3) / 2, 1e-12);
  EXPECT_NEAR(kth(s, 3)->rate, 1.0 / 3, 1e-12);
  EXPECT_NEAR(kth(s, 3)->adjusted, (-1.0 / 3 + 0.2 - 0.8) / 3, 1e-12);
  EXPECT_EQ(kth(s, 4)->n, 1u);
  EXPECT_NEAR(kth(s, 4)->adjusted, 0.2, 1e-12);
  // Earlier reward completions known at receipt: one offer with 0 (completed), five with 1 (two completed).
  ASSERT_EQ(s.by_prior_completions.size(), 4u);
  EXPECT_EQ(s.by_prior_completions[0].n, 1u);
  EXPECT_DOUBLE_EQ(s.by_prior_completions[0].rate, 1.0);
  EXPECT_EQ(s.by_prior_completions[1].n, 5u);
  EXPECT_DOUBLE_EQ(s.by_prior_completions[1].rate, 0.4);
  EXPECT_EQ(s.by_prior_completions[2].n, 0u);
  // Only customer 2 has >= 3 reward offers (B, B, A, A; completed B and the last A).
  EXPECT_EQ(s.spread_customers, 1u);
  EXPECT_DOUBLE_EQ(s.none_observed, 0.0);
  EXPECT_DOUBLE_EQ(s.all_observed, 0.0);
  EXPECT_NEAR(s.none_expected, (2.0 / 3) * (2.0 / 3) * 0.2 * 0.2, 1e-12);
  EXPECT_NEAR(s.all_expected, (1.0 / 3) * (1.0 / 3) * 0.8 * 0.8, 1e-12);
  EXPECT_FALSE(s.has_totals);
}

TEST(SimCalibrationStats, BadCampaignsAreRefusedWithAReason) {
  Campaign c = hand_campaign();
  std::swap(c.offers[0], c.offers[1]);
  try {
    campaign_stats(c);
    FAIL() << "unsorted offers accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sort_offers"), std::string::npos) << e.what();
  }
  sort_offers(c);
  EXPECT_NO_THROW(campaign_stats(c));
  c.offers[3].kind = 7;
  EXPECT_THROW(campaign_stats(c), std::invalid_argument);
  c = hand_campaign();
  c.transactions = {1, 2};  // one customer short
  c.spend = {1, 2};
  EXPECT_THROW(campaign_stats(c), std::invalid_argument);
}

// A synthetic randomized campaign whose completion probability is known: 0.5, minus 0.05 per
// earlier reward offer whose window closed, plus 0.10 per earlier one still open; purchases over
// the horizon = 5 + 0.5 per reward offer received in the first half + 1.0 per one in the second.
TEST(SimCalibrationStats, EstimatorsRecoverKnownEffects) {
  Campaign c;
  c.horizon_h = 720;
  c.kinds = {{"placebo", true, 72}, {"short", false, 120}, {"long", false, 240}};
  const std::vector<double> waves{0, 168, 336, 408, 504, 576};
  const uint32_t customers = 40000;
  c.num_customers = customers;
  c.transactions.assign(customers, 0);
  c.spend.assign(customers, 0);
  for (uint32_t u = 0; u < customers; ++u) {
    Rng r(99, 1, u);
    std::vector<CampaignOffer> mine;
    double early = 0, late = 0;
    for (double w : waves) {
      if (!r.bernoulli(0.75)) continue;
      const uint16_t kind = uint16_t(r.below(3));
      int closed = 0, open = 0;
      for (const auto& o : mine) {
        if (c.kinds[o.kind].placebo) continue;
        (o.received_h + c.kinds[o.kind].duration_h <= w ? closed : open) += 1;
      }
      const double p = 0.5 - 0.05 * closed + 0.10 * open;
      const bool done = r.bernoulli(std::clamp(p, 0.0, 1.0));
      mine.push_back({u, w, kind, done, done ? w + 1 : -1});
      if (kind != 0) (w < 360 ? early : late) += 1;
    }
    c.transactions[u] = 5 + 0.5 * early + 1.0 * late + (r.uniform() - 0.5);
    c.spend[u] = 10 * c.transactions[u];
    c.offers.insert(c.offers.end(), mine.begin(), mine.end());
  }
  const CampaignStats s = campaign_stats(c);
  EXPECT_NEAR(s.prior_closed_slope.value, -0.05, 4 * s.prior_closed_slope.se);
  EXPECT_NEAR(s.prior_open_slope.value, 0.10, 4 * s.prior_open_slope.se);
  EXPECT_GT(s.prior_closed_slope.se, 0.001);
  EXPECT_LT(s.prior_closed_slope.se, 0.01);
  ASSERT_TRUE(s.has_totals);
  EXPECT_NEAR(s.tx_early_reward.value, 0.5, 4 * s.tx_early_reward.se);
  EXPECT_NEAR(s.tx_late_reward.value, 1.0, 4 * s.tx_late_reward.se);
  EXPECT_LT(s.tx_early_reward.se, 0.02);
  // The pooled effect lies between the two, and spend scales with it.
  EXPECT_GT(s.tx_per_reward_offer.value, 0.5);
  EXPECT_LT(s.tx_per_reward_offer.value, 1.0);
  EXPECT_NEAR(s.spend_per_reward_offer.value, 10 * s.tx_per_reward_offer.value, 1e-6);
  // Per kind: both reward kinds come early and late alike, so each adds 0.75 on average.
  ASSERT_EQ(s.tx_by_kind.size(), 2u);
  for (const auto& k : s.tx_by_kind) {
    EXPECT_NEAR(k.tx.value, 0.75, 4 * k.tx.se) << k.name;
    EXPECT_GT(k.tx.se, 0.0);
    EXPECT_NEAR(k.per_window, k.tx.value / (s.mean_transactions * (k.name == "short" ? 120.0 : 240.0) / 720), 1e-9);
  }
  EXPECT_EQ(s.tx_by_kind[0].name, "short");
}

TEST(SimCalibrationStats, QuartileGroupsKeepTiesTogether) {
  std::vector<std::string> labels;
  const auto g = quartile_groups({5, 1, 1, 4, 1, 2, 3, 1}, labels);
  ASSERT_EQ(labels.size(), 4u);
  EXPECT_EQ(labels[0], "1");
  EXPECT_EQ(labels[1], "2");
  EXPECT_EQ(labels[2], "3-4");
  EXPECT_EQ(labels[3], "5");
  EXPECT_EQ(g, (std::vector<uint8_t>{3, 0, 0, 2, 0, 1, 2, 0}));
  // All equal: one group.
  const auto one = quartile_groups({7, 7, 7}, labels, 1);
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_EQ(labels[0], "7.0");
  EXPECT_EQ(one, (std::vector<uint8_t>{0, 0, 0}));
}

TEST(SimCalibrationStats, UpliftStatisticsMatchHandComputedValues) {
  UpliftData d;
  d.groupings = {"g"};
  d.labels = {{"low", "high"}};
  auto add = [&](bool treated, bool visit, bool conv, double spend, uint8_t group, int times) {
    for (int k = 0; k < times; ++k) d.rows.push_back({treated, visit, conv, spend, {group}});
  };
  // low: control 1/10 convert, treated 3/10; high: control 5/10, treated 4/10 (a negative group).
  add(false, true, true, 10, 0, 1), add(false, false, false, 0, 0, 9);
  add(true, true, true, 10, 0, 3), add(true, true, false, 0, 0, 1), add(true, false, false, 0, 0, 6);
  add(false, true, true, 20, 1, 5), add(false, false, false, 0, 1, 5);
  add(true, true, true, 20, 1, 4), add(true, false, false, 0, 1, 6);
  const UpliftStats s = uplift_stats(d);
  ASSERT_EQ(s.cells.size(), 3u);
  const UpliftCell& all = s.cells[0];
  EXPECT_EQ(all.grouping, "all");
  EXPECT_EQ(all.n_control, 20u);
  EXPECT_EQ(all.n_treated, 20u);
  EXPECT_DOUBLE_EQ(all.conv_c, 0.3);
  EXPECT_DOUBLE_EQ(all.conv_t, 0.35);
  EXPECT_DOUBLE_EQ(all.spend_c, (10 + 100) / 20.0);
  EXPECT_NEAR(all.conv_diff_se, std::sqrt(0.3 * 0.7 / 20 + 0.35 * 0.65 / 20), 1e-12);
  const UpliftCell& low = s.cells[1];
  EXPECT_EQ(low.label, "low");
  EXPECT_DOUBLE_EQ(low.conv_ratio(), 3.0);
  EXPECT_DOUBLE_EQ(low.visit_t, 0.4);
  EXPECT_DOUBLE_EQ(low.conv_given_visit_t, 0.75);
  EXPECT_DOUBLE_EQ(low.conv_given_visit_c, 1.0);
  EXPECT_EQ(s.groups, 2);
  EXPECT_EQ(s.negative_groups, 1);
  EXPECT_DOUBLE_EQ(s.min_ratio, 0.8);
  EXPECT_DOUBLE_EQ(s.max_ratio, 3.0);
  EXPECT_NEAR(s.lift_base_correlation, -1.0, 1e-12);  // two groups: the lift falls as the base rises
  d.rows[0].group = {2};
  EXPECT_THROW(uplift_stats(d), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------

namespace {
Config campaign_world(uint64_t seed = 5) {
  Config c;
  c.seed = seed;
  c.num_items = 1500;
  c.num_shoppers = 4000;
  c.num_days = 30;
  c.mean_visits_per_day = 1.5;
  return c;
}
}  // namespace

TEST(SimCalibrationRun, CampaignFollowsTheDesignAndIsDeterministic) {
  Environment env(campaign_world());
  const CampaignDesign design;
  const Campaign a = simulate_campaign(env, design);
  ASSERT_EQ(a.kinds.size(), design.portfolio.size());
  EXPECT_TRUE(a.placebo_completion_defined);
  // ~0.75 of 6 waves x 4000 shoppers, every kind ~1/10 of them.
  EXPECT_NEAR(double(a.offers.size()), 0.75 * 6 * 4000, 0.05 * 0.75 * 6 * 4000);
  std::vector<int> per_kind(a.kinds.size());
  for (size_t j = 0; j < a.offers.size(); ++j) {
    const CampaignOffer& o = a.offers[j];
    ++per_kind[o.kind];
    if (o.completed) {
      EXPECT_GE(o.completed_h, o.received_h);
      EXPECT_LT(o.completed_h, o.received_h + a.kinds[o.kind].duration_h);
    }
    if (j) ASSERT_TRUE(a.offers[j - 1].customer < o.customer ||
                       (a.offers[j - 1].customer == o.customer && a.offers[j - 1].received_h < o.received_h));
  }
  for (int n : per_kind) EXPECT_NEAR(n, double(a.offers.size()) / 10, 0.15 * double(a.offers.size()) / 10);
  const CampaignStats s = campaign_stats(a);
  double placebo = 0, placebo_n = 0;
  for (const auto& k : s.by_kind)
    if (k.placebo) placebo += k.rate * double(k.n), placebo_n += double(k.n);
  EXPECT_GT(s.reward_rate, placebo / placebo_n) << "discounts must raise purchases in their windows";
  EXPECT_GT(s.mean_transactions, 3.0);
  // Discounts received at the carts leave habituation behind.
  double waiting = 0;
  for (uint32_t sh = 0; sh < env.num_shoppers(); ++sh) waiting += env.wait_level(sh);
  EXPECT_GT(waiting, 0.0);
  // Same seed -> the same campaign; another seed -> another.
  Environment env2(campaign_world());
  const Campaign b = simulate_campaign(env2, design);
  ASSERT_EQ(a.offers.size(), b.offers.size());
  for (size_t j = 0; j < a.offers.size(); ++j) {
    ASSERT_EQ(a.offers[j].customer, b.offers[j].customer);
    ASSERT_EQ(a.offers[j].kind, b.offers[j].kind);
    ASSERT_EQ(a.offers[j].completed, b.offers[j].completed);
  }
  EXPECT_EQ(a.transactions, b.transactions);
  Environment env3(campaign_world(6));
  EXPECT_NE(simulate_campaign(env3, design).transactions, a.transactions);
}

TEST(SimCalibrationRun, CampaignDesignErrorsNameTheProblem) {
  Config cfg = campaign_world();
  cfg.num_days = 20;
  Environment env(cfg);
  try {
    simulate_campaign(env, CampaignDesign{});
    FAIL() << "a 720 h campaign ran on a 20-day world";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("30 days"), std::string::npos) << e.what();
  }
  CampaignDesign d;
  d.horizon_h = 400;
  EXPECT_THROW(simulate_campaign(env, d), std::invalid_argument);  // waves at 408.. lie outside
  d.waves_h = {0, 100};
  d.portfolio = {{"bad", 9, 24}};
  EXPECT_THROW(simulate_campaign(env, d), std::invalid_argument);
  d.portfolio = {{"ok", 2, 24}};
  EXPECT_NO_THROW(simulate_campaign(env, d));
}

TEST(SimCalibrationRun, PromotionRowsAreHistoryBuyersAndDiscountsRaiseConversion) {
  Config cfg;
  cfg.seed = 11;
  cfg.num_items = 1500;
  cfg.num_shoppers = 20000;
  cfg.num_days = 42;
  Environment env(cfg);
  UpliftDesign d;
  d.arm = 4;  // 20%
  const UpliftData u = simulate_uplift(env, d);
  ASSERT_EQ(u.groupings.size(), 3u);
  ASSERT_GT(u.rows.size(), 2000u);
  double treated = 0;
  for (const auto& r : u.rows) {
    treated += r.treated;
    ASSERT_EQ(r.group.size(), 3u);
    for (size_t g = 0; g < 3; ++g) ASSERT_LT(r.group[g], u.labels[g].size());
    if (r.converted) {
      EXPECT_GT(r.spend, 0.0);
      EXPECT_TRUE(r.visit) << "a purchase needs a session";
    }
  }
  EXPECT_NEAR(treated / double(u.rows.size()), 2.0 / 3, 0.03);
  const UpliftStats s = uplift_stats(u);
  EXPECT_GT(s.cells[0].conv_t, s.cells[0].conv_c);
  // Deterministic.
  Environment env2(cfg);
  const UpliftData v = simulate_uplift(env2, d);
  ASSERT_EQ(v.rows.size(), u.rows.size());
  for (size_t k = 0; k < u.rows.size(); ++k) {
    ASSERT_EQ(u.rows[k].converted, v.rows[k].converted);
    ASSERT_EQ(u.rows[k].spend, v.rows[k].spend);
  }
  cfg.num_days = 30;
  Environment short_env(cfg);
  EXPECT_THROW(simulate_uplift(short_env, d), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Real data (counts checked independently with Python, trainer/sim/README.md)

TEST(SimCalibrationReal, StarbucksCampaign) {
  const std::string dir = data_dir("starbucks-offers");
  REQUIRE_DATA(dir);
  StarbucksTotalsReport rep;
  const Campaign c = starbucks_campaign(dir, &rep);
  EXPECT_EQ(c.offers.size(), 76277u);
  EXPECT_EQ(c.num_customers, 16994u);
  ASSERT_EQ(c.kinds.size(), 10u);
  int placebos = 0;
  for (const auto& k : c.kinds) placebos += k.placebo;
  EXPECT_EQ(placebos, 2);
  EXPECT_EQ(c.kinds[0].name, "bogo-10-10-120");
  EXPECT_DOUBLE_EQ(c.kinds[0].duration_h, 120);
  const CampaignStats s = campaign_stats(c);
  EXPECT_EQ(s.reward_offers, 61042u);
  EXPECT_NEAR(s.reward_rate, 33101.0 / 61042, 1e-12);
  EXPECT_EQ(rep.rows, 76358u);
  EXPECT_EQ(rep.bad_rows, 0u);
  EXPECT_EQ(rep.inconsistent_rows, 0u);
  EXPECT_EQ(rep.customers_without_totals, 0u);
  double tx = 0, amt = 0;
  for (uint32_t u = 0; u < c.num_customers; ++u) tx += c.transactions[u], amt += c.spend[u];
  EXPECT_DOUBLE_EQ(tx, 138933.0);
  EXPECT_NEAR(amt, 1838884.73, 0.01);
  EXPECT_FALSE(c.placebo_completion_defined);
}

TEST(SimCalibrationReal, HillstromPromotion) {
  const std::string dir = data_dir("hillstrom");
  REQUIRE_DATA(dir);
  const UpliftStats s = uplift_stats(hillstrom_uplift(dir));
  const UpliftCell& all = s.cells.at(0);
  EXPECT_EQ(all.n_control, 21306u);
  EXPECT_EQ(all.n_treated, 42694u);
  EXPECT_DOUBLE_EQ(all.conv_c, 122.0 / 21306);
  EXPECT_DOUBLE_EQ(all.conv_t, 456.0 / 42694);
  EXPECT_DOUBLE_EQ(all.visit_c, 2262.0 / 21306);
  EXPECT_DOUBLE_EQ(all.visit_t, 7132.0 / 42694);
  EXPECT_EQ(s.negative_groups, 0);
}

// ---------------------------------------------------------------------------------------------

#ifdef DISCO_SIM_EXE
namespace {
int run(const std::string& args, std::string* out = nullptr) {
  const fs::path log = fs::temp_directory_path() / ("disco-sim-calibrate-" + std::to_string(::getpid()) + ".txt");
  const int rc = std::system((std::string(DISCO_SIM_EXE) + " " + args + " > " + log.string() + " 2>&1").c_str());
  if (out) {
    std::FILE* f = std::fopen(log.string().c_str(), "rb");
    out->clear();
    if (f) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
      std::fclose(f);
    }
  }
  fs::remove(log);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
}  // namespace

TEST(SimCalibrationCli, HelpBadArgumentsAndAMissingDataRoot) {
  std::string out;
  EXPECT_EQ(run("calibrate --help", &out), 0);
  EXPECT_NE(out.find("starbucks"), std::string::npos);
  EXPECT_EQ(run("calibrate --bogus", &out), 2);
  EXPECT_NE(out.find("not expected: --bogus"), std::string::npos) << out;
  EXPECT_EQ(run("calibrate --uplift-arm 0%", &out), 2);
  EXPECT_EQ(run("calibrate --campaign-visits x", &out), 2);
  const fs::path empty = fs::temp_directory_path() / ("disco-sim-calibrate-empty-" + std::to_string(::getpid()));
  fs::create_directories(empty);
  EXPECT_EQ(run("calibrate --shoppers 2000 --uplift-shoppers 3000 --items 500 --data " + empty.string(), &out), 0) << out;
  fs::remove_all(empty);
  EXPECT_NE(out.find("starbucks-offers: " + (empty / "starbucks-offers").string() + " missing"), std::string::npos) << out;
  EXPECT_NE(out.find("hillstrom: "), std::string::npos) << out;
  EXPECT_NE(out.find("habituation test"), std::string::npos) << out;
  EXPECT_NE(out.find("One-shot randomized promotion: (no real data)"), std::string::npos) << out;
  EXPECT_NE(out.find("policies on the loop's store (sim world 2 seed 42"), std::string::npos) << out;
  EXPECT_EQ(run("calibrate --world 3", &out), 2);
}
#else
// Registered without the CLI too, so its absence shows as a skip with the reason.
TEST(SimCalibrationCli, NotBuilt) {
  GTEST_SKIP() << "disco-sim is not built in this configuration (DISCO_BUILD_TOOLS=ON builds it)";
}
#endif

// The loop's lab with a cart-level arm (loop/lab_cart.h: disco_offer_cart at the cart page of each
// visit, the simulator's cart ground truth): in a world where the coupon clearly pays (persuadable
// shoppers, free shipping that costs the merchant little) the bandit learns to give it and beats
// no coupon; where it clearly does not (sleeping dogs, 20% off) it learns to hold it back.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "disco/bundle_writer.h"
#include "disco/sim/environment.h"
#include "disco/sim/simulate.h"
#include "lab_cart.h"

using namespace disco::loop;
using namespace disco::loop::lab;

namespace {

Config world(std::array<double, 4> shares, uint64_t seed) {
  Config c;
  c.seed = seed;
  c.num_shoppers = 3000;
  c.num_items = 800;
  c.num_days = 21;
  c.segment_shares = shares;
  return c;
}

// A synthetic model over the world's catalog, item arm 0% only and one cart arm.
std::vector<uint8_t> cart_bundle(const Environment& env, const disco::BundleArm& cart) {
  disco::SyntheticOptions o;
  o.n_items = env.num_items();
  o.emb_dim = 16;
  o.hidden = 24;
  o.seed = 5;
  disco::BundleSpec s = disco::make_synthetic_spec(o);
  for (uint32_t i = 0; i < env.num_items(); ++i) {
    const Item& it = env.item(i);
    s.catalog.item_ids[i] = Environment::item_id(i);
    s.catalog.category[i] = it.category;
    s.catalog.brand[i] = it.brand;
    s.catalog.price[i] = float(it.price);
    s.catalog.cost[i] = float(it.cost);
  }
  s.catalog.in_stock.assign(env.num_items(), 1);
  for (uint32_t i = 0; i < env.num_items(); ++i) s.catalog.in_stock[i] = env.item(i).in_stock;
  disco::BundleArm none;
  none.name = "0%";
  s.arms = {none, cart};
  s.guardrails.max_discount = 0.5f;
  s.guardrails.margin_floor = 0.0f;
  s.guardrails.cooldown_s = 0;
  s.guardrails.offer_ttl_s = 900;
  s.bandit.noise_scale = 0.25f;  // the order of the pilots' fitted noise scales (the default 1 learns slowly)
  auto r = disco::build_bundle(s);
  EXPECT_TRUE(r.ok()) << r.error;
  return r.bytes;
}

struct Result {
  RunResult lab;
  double none_margin = 0, lab_margin = 0;
  double last_week_share = 0;  // of the carts with the coupon eligible, offered it in the last loop week
};

Result run(std::array<double, 4> shares, const disco::BundleArm& cart, uint64_t seed) {
  Environment env(world(shares, seed));
  const Browsing browsing = generate_browsing(env);
  const std::vector<uint8_t> bytes = cart_bundle(env, cart);
  const BundleArms arms = bundle_arms(bytes, "test bundle");
  EXPECT_EQ(arms.cart.size(), 1u);
  const int64_t start = env.config().start_ms;
  const uint32_t days = env.config().num_days;
  Result r;
  r.lab = run_disco_cart(env, browsing, bytes, arms, start, start, days, 1, false);
  r.lab_margin = r.lab.stats.total_margin();
  const Baselines base = run_baselines(env, browsing, start, start, days);
  r.none_margin = base.fixed[0].total_margin();
  const auto& w = r.lab.cart_arm_weeks.at(cart.name);
  const auto& n = r.lab.cart_arm_weeks.at("none");
  r.last_week_share = double(w.back()) / double(std::max<uint64_t>(1, w.back() + n.back()));
  return r;
}

}  // namespace

TEST(LoopLabCart, LearnsToGiveACouponThatPays) {
  disco::BundleArm ship;
  ship.name = "cheap-free-shipping";
  ship.kind = disco::ArmKindSpec::FreeShipping;
  ship.merchant_cost = 0.5f;  // shoppers value shipping at ~6
  ship.scope = 2;
  for (uint64_t seed : {21, 31}) {
    const Result r = run({1, 0, 0, 0}, ship, seed);  // persuadables only
    ASSERT_GT(r.lab.carts, 1000u);
    EXPECT_EQ(r.lab.carts_eligible, r.lab.carts);
    const auto& w = r.lab.cart_arm_weeks.at(ship.name);
    std::printf("persuadables, cheap free shipping: coupons by week %llu/%llu/%llu, last week %.2f; margin %.0f vs none %.0f\n",
                (unsigned long long)w[0], (unsigned long long)w[1], (unsigned long long)w[2], r.last_week_share,
                r.lab_margin, r.none_margin);
    EXPECT_GT(r.last_week_share, 0.7);
    EXPECT_GT(r.lab_margin, r.none_margin * 1.3);
    EXPECT_GT(r.lab.carts_applied, 0u);
  }
}

TEST(LoopLabCart, LearnsToHoldBackACouponThatDoesNotPay) {
  disco::BundleArm pct;
  pct.name = "20%-off-the-cart";
  pct.kind = disco::ArmKindSpec::Percent;
  pct.value = 0.20f;
  pct.scope = 2;
  for (uint64_t seed : {22, 32}) {
    const Result r = run({0, 0, 0, 1}, pct, seed);  // sleeping dogs only: a discount lowers their purchases
    ASSERT_GT(r.lab.carts, 1000u);
    const auto& w = r.lab.cart_arm_weeks.at(pct.name);
    std::printf("sleeping dogs, 20%% off: coupons by week %llu/%llu/%llu, last week %.2f; margin %.0f vs none %.0f\n",
                (unsigned long long)w[0], (unsigned long long)w[1], (unsigned long long)w[2], r.last_week_share,
                r.lab_margin, r.none_margin);
    EXPECT_LT(r.last_week_share, 0.10);
    EXPECT_LT(w.back(), w.front());
    EXPECT_LT(r.lab_margin, r.none_margin);  // what learning it cost, never a gain
    EXPECT_GT(r.lab_margin, r.none_margin * 0.85);
  }
}

TEST(LoopLabCart, BundleArmsRefusesArmsTheWorldDoesNotKnow) {
  Environment env(world({1, 0, 0, 0}, 3));
  disco::BundleArm cart;
  cart.name = "cat-coupon";
  cart.kind = disco::ArmKindSpec::Percent;
  cart.value = 0.1f;
  cart.scope = 2;
  cart.categories = {1};
  const std::vector<uint8_t> bytes = cart_bundle(env, cart);
  try {
    bundle_arms(bytes, "b.disco");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("eligibility list"), std::string::npos) << e.what();
  }
}

// The harness's accounting: item arm 0 only and a coupon no cart reaches (min spend 10^9): every
// cart decision is "no coupon", so the run is the no-discount world, margin for margin.
TEST(LoopLabCart, NoCouponEverEligibleIsTheNoDiscountWorld) {
  disco::BundleArm never;
  never.name = "10%-over-a-billion";
  never.kind = disco::ArmKindSpec::Percent;
  never.value = 0.10f;
  never.scope = 2;
  never.min_spend = 1e9f;
  const Result r = run({0.4, 0.3, 0.1, 0.2}, never, 7);
  ASSERT_GT(r.lab.carts, 1000u);
  EXPECT_EQ(r.lab.carts_eligible, 0u);
  EXPECT_EQ(r.lab.carts_discounted, 0u);
  EXPECT_EQ(r.lab.cart_spend, 0.0);
  EXPECT_NEAR(r.lab_margin, r.none_margin, 1e-6 * std::abs(r.none_margin));
  double spend = 0;
  for (const Day& d : r.lab.stats.days) spend += d.spend;
  EXPECT_EQ(spend, 0.0);
}

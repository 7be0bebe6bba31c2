// Cart-level offers in the simulator (trainer/sim/include/disco/sim/cart.h): the ground truth checked
// by hand, min spend, expiry, campaign windows, margin accounting, item offer lifetimes, and that
// without a coupon nothing changes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "disco/sim/arms.h"
#include "disco/sim/cart.h"
#include "disco/sim/environment.h"
#include "disco/sim/random.h"
#include "disco/sim/simulate.h"

using namespace disco::sim;
namespace fs = std::filesystem;

namespace {

Config cart_config(uint64_t seed = 11) {
  Config c;
  c.seed = seed;
  c.num_items = 1500;
  c.num_shoppers = 3000;
  c.num_days = 10;
  return c;
}

CartArm percent(double p, double min_spend) {
  CartArm a;
  a.name = "pct";
  a.kind = ArmKind::Percent;
  a.value = p;
  a.min_spend = min_spend;
  return a;
}

// Always the first eligible arm.
class FirstEligible final : public CartOfferPolicy {
 public:
  int choose(const Environment&, const CartPoint&, std::span<const int> eligible) override {
    return eligible.empty() ? -1 : eligible.front();
  }
};

// A fixed item arm everywhere.
class FixedItem final : public OfferPolicy {
 public:
  explicit FixedItem(int a) : a_(a) {}
  Choice choose(const Environment&, const OfferPoint&) override { return {a_, 1.0}; }

 private:
  int a_;
};

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST(SimCart, ParseCartArmSpecs) {
  const int64_t t0 = 1767571200000LL;
  CartArm a = parse_cart_arm("percent:10:50", t0);
  EXPECT_EQ(a.kind, ArmKind::Percent);
  EXPECT_DOUBLE_EQ(a.value, 0.10);
  EXPECT_DOUBLE_EQ(a.min_spend, 50);
  EXPECT_EQ(a.lifetime_ms, 0);
  EXPECT_EQ(a.name, "10%-over-50");
  a = parse_cart_arm("free-shipping:40:600:24:72", t0);
  EXPECT_EQ(a.kind, ArmKind::FreeShipping);
  EXPECT_DOUBLE_EQ(a.merchant_cost, kShippingMerchantCost);
  EXPECT_EQ(a.lifetime_ms, 600000);
  EXPECT_EQ(a.window_start_ms, t0 + 24 * 3600000LL);
  EXPECT_EQ(a.window_end_ms, t0 + 72 * 3600000LL);
  EXPECT_EQ(a.expires_at(t0), t0 + 600000);
  EXPECT_EQ(a.expires_at(a.window_end_ms - 1000), a.window_end_ms);  // the window's end at the latest
  a = parse_cart_arm("fixed:5:30", t0);
  EXPECT_EQ(a.kind, ArmKind::FixedAmount);
  EXPECT_DOUBLE_EQ(a.value, 5);
  for (const char* bad : {"percent:10", "percent:0:50", "percent:x:50", "bogus:1:2", "free-shipping:40:0:5:5",
                          "free-shipping:40:0:5", "fixed:5:30:0:1:2:3", "percent:-5:10"}) {
    EXPECT_THROW(parse_cart_arm(bad, t0), std::invalid_argument) << bad;
  }
  try {
    parse_cart_arm("percent:10", t0);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("missing MIN"), std::string::npos) << e.what();
  }
}

// A persuadable at waiting level 0 with a 10% coupon: the purchase log-odds by hand; the coupon's
// cost and the order's margin by hand on every line it bought.
TEST(SimCart, GroundTruthByHand) {
  Environment env(cart_config());
  uint32_t s = 0;
  while (env.segment(s) != Segment::Persuadable) ++s;
  const Shopper& p = env.shopper(s);
  uint32_t i = 0;
  while (!env.item(i).in_stock) ++i;
  const Item& it = env.item(i);
  const double logit0 = p.base_logit - 0.5 * p.price_sensitivity * std::log(it.price / env.category_median_price(it.category));
  EXPECT_NEAR(env.line_probability(s, i, 0, 0.0, 0.0), sigmoid(logit0), 1e-12);
  EXPECT_NEAR(env.line_probability(s, i, 0, 0.10, 0.0), sigmoid(logit0 + p.beta * 0.10), 1e-12);
  // 10% on top of an item's 5%: 0.05 + 0.10 x 0.95.
  const CartArm c = percent(0.10, 0.0);
  EXPECT_NEAR(env.coupon_value(s, c, 1, 100.0), 0.095, 1e-12);
  EXPECT_NEAR(env.line_probability(s, i, 1, env.coupon_value(s, c, 1, 100.0), 0.0),
              sigmoid(logit0 + p.beta * (0.05 + 0.095)), 1e-12);
  // Waiting level w: kappa w max(0, 1 - v / 0.15) off the log-odds, v the total value.
  EXPECT_NEAR(env.line_probability(s, i, 0, 0.10, 0.8),
              sigmoid(logit0 + p.beta * 0.10 - p.kappa * 0.8 * (1.0 - 0.10 / 0.15)), 1e-12);
  // Free shipping over a cart: the shopper's shipping value over the cart's value, at most half;
  // nothing more on a line whose item arm is free shipping already.
  CartArm ship;
  ship.kind = ArmKind::FreeShipping;
  ship.merchant_cost = 4.5;
  EXPECT_NEAR(env.coupon_value(s, ship, 0, 1000.0), p.shipping_value / 1000.0, 1e-9);
  EXPECT_DOUBLE_EQ(env.coupon_value(s, ship, 0, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(env.coupon_value(s, ship, 5, 1000.0), 0.0);

  int bought = 0;
  for (uint64_t key = 0; key < 400; ++key) {
    const CartLine line{i, 0, key, 0.0};
    const CartOutcome o = env.draw_cart(s, {&line, 1}, &c, 1000, 2000);
    ASSERT_EQ(o.lines.size(), 1u);
    const Outcome& l = o.lines[0];
    EXPECT_NEAR(l.probability, sigmoid(logit0 + p.beta * 0.10), 1e-12);
    EXPECT_FALSE(o.expired);
    if (!l.purchased) {
      EXPECT_FALSE(o.applied);
      EXPECT_EQ(o.discount, 0.0);
      EXPECT_EQ(o.margin, 0.0);
      continue;
    }
    ++bought;
    EXPECT_TRUE(o.applied);
    const double off = std::round(0.10 * l.quantity * it.price * 100.0) / 100.0;
    EXPECT_NEAR(o.discount, off, 1e-9);
    EXPECT_NEAR(o.margin, l.quantity * (it.price - it.cost) - off, 1e-9);
    EXPECT_NEAR(o.revenue, l.quantity * it.price - off, 1e-9);
    EXPECT_NEAR(o.bought_value, l.quantity * it.price, 1e-9);
  }
  EXPECT_GT(bought, 0);
  EXPECT_LT(bought, 400);
}

// No coupon, or one that expired: every line is Environment::draw of its item arm, bit for bit.
TEST(SimCart, NoCouponAndExpiredCouponAreTheItemDraw) {
  Environment env(cart_config());
  CartArm c = percent(0.2, 0.0);
  c.lifetime_ms = 60000;  // expires a minute after the decision
  for (uint32_t s = 0; s < 300; ++s) {
    std::vector<CartLine> lines;
    for (uint32_t k = 0; k < 3; ++k) lines.push_back({(s * 7 + k * 13) % env.num_items(), int((s + k) % kNumArms), k, 0.0});
    const CartOutcome none = env.draw_cart(s, lines, nullptr, 0, 1000);
    const CartOutcome late = env.draw_cart(s, lines, &c, 0, 60000);  // checkout at the expiry: expired
    EXPECT_TRUE(late.expired);
    EXPECT_FALSE(late.applied);
    EXPECT_EQ(late.discount, 0.0);
    for (size_t k = 0; k < lines.size(); ++k) {
      const Outcome d = env.draw(s, lines[k].item, lines[k].arm, lines[k].key);
      for (const CartOutcome* o : {&none, &late}) {
        EXPECT_EQ(o->lines[k].probability, d.probability);
        EXPECT_EQ(o->lines[k].purchased, d.purchased);
        EXPECT_EQ(o->lines[k].margin, d.margin);
      }
    }
    EXPECT_EQ(late.margin, none.margin);
    const CartOutcome in_time = env.draw_cart(s, lines, &c, 0, 59999);
    EXPECT_FALSE(in_time.expired);
  }
}

TEST(SimCart, BelowMinSpendNeverApplies) {
  Environment env(cart_config());
  const CartArm c = percent(0.10, 50.0);
  EXPECT_FALSE(Environment::cart_arm_eligible(c, 49.99, 0));
  EXPECT_TRUE(Environment::cart_arm_eligible(c, 50.0, 0));
  // Forced on carts whatever their value: applied only when what was bought reaches 50.
  int applied = 0, below = 0;
  for (uint32_t s = 0; s < 2000; ++s) {
    std::vector<CartLine> lines;
    for (uint32_t k = 0; k < 1 + s % 3; ++k) lines.push_back({(s * 31 + k * 17) % env.num_items(), 0, k, 0.0});
    const CartOutcome o = env.draw_cart(s, lines, &c, 0, 1000);
    double line_margin = 0;
    for (const Outcome& l : o.lines) line_margin += l.margin;
    if (o.bought_value < 50.0) {
      ++below;
      EXPECT_FALSE(o.applied);
      EXPECT_EQ(o.discount, 0.0);
      EXPECT_EQ(o.margin, line_margin);
    } else {
      applied += o.applied;
      EXPECT_TRUE(o.applied);
      EXPECT_NEAR(o.margin, line_margin - o.discount, 1e-9);
    }
  }
  EXPECT_GT(applied, 20);
  EXPECT_GT(below, 20);
  // In the loop: a cart below the minimum is never offered the coupon.
  Environment env2(cart_config());
  FixedItem item(0);
  FirstEligible cart;
  const CartArm arms[] = {c};
  const SimLog log = run_policy(env2, generate_browsing(env2), item, arms, cart);
  ASSERT_GT(log.cart_decisions.size(), 100u);
  int offered = 0;
  for (const SimCartDecision& d : log.cart_decisions) {
    EXPECT_EQ(d.arm == 0, d.cart_value >= 50.0);
    EXPECT_EQ(bool(d.eligible_mask & 1), d.cart_value >= 50.0);
    offered += d.arm == 0;
    if (d.outcome.applied) EXPECT_GE(d.outcome.bought_value, 50.0);
    if (!d.outcome.applied) EXPECT_EQ(d.outcome.discount, 0.0);
  }
  EXPECT_GT(offered, 10);
}

TEST(SimCart, CampaignWindowGatesTheArm) {
  Environment env(cart_config());
  CartArm c = percent(0.10, 0.0);
  c.window_start_ms = env.config().start_ms + 2 * 86400000LL;
  c.window_end_ms = env.config().start_ms + 4 * 86400000LL;
  c.lifetime_ms = 0;
  FixedItem item(0);
  FirstEligible cart;
  const CartArm arms[] = {c};
  const SimLog log = run_policy(env, generate_browsing(env), item, arms, cart);
  int inside = 0, outside = 0;
  for (const SimCartDecision& d : log.cart_decisions) {
    const bool in = d.ts_ms >= c.window_start_ms && d.ts_ms < c.window_end_ms;
    EXPECT_EQ(d.arm == 0, in) << d.ts_ms;
    (in ? inside : outside)++;
    // An offer made near the window's end expires with it.
    if (d.arm == 0 && d.checkout_ts_ms >= c.window_end_ms) EXPECT_TRUE(d.outcome.expired);
  }
  EXPECT_GT(inside, 50);
  EXPECT_GT(outside, 50);
}

// The loop with cart arms and a policy that never gives a coupon is the loop without: same files'
// rows (events, decisions, outcomes), same margins.
TEST(SimCart, NoCouponPolicyKeepsTheWorld) {
  Environment a(cart_config()), b(cart_config());
  LoggingOfferPolicy la(LoggingPolicy::parse("uniform")), lb(LoggingPolicy::parse("uniform"));
  const Browsing br = generate_browsing(a);
  const SimLog plain = run_policy(a, br, la);
  FixedCartPolicy never(-1);
  const CartArm arms[] = {percent(0.10, 20.0)};
  const SimLog cart = run_policy(b, br, lb, arms, never);
  ASSERT_EQ(plain.outcomes.size(), cart.outcomes.size());
  for (size_t k = 0; k < plain.outcomes.size(); ++k) {
    EXPECT_EQ(plain.outcomes[k].id_lo, cart.outcomes[k].id_lo);
    EXPECT_EQ(plain.outcomes[k].margin, cart.outcomes[k].margin);
    EXPECT_EQ(plain.outcomes[k].converted, cart.outcomes[k].converted);
  }
  ASSERT_EQ(plain.events.size(), cart.events.size());
  for (size_t k = 0; k < plain.events.size(); ++k) {
    EXPECT_EQ(plain.events[k].ts_ms, cart.events[k].ts_ms);
    EXPECT_EQ(plain.events[k].kind, cart.events[k].kind);
  }
  EXPECT_EQ(plain.sessions_with_purchase, cart.sessions_with_purchase);
  EXPECT_GT(cart.cart_decisions.size(), 100u);
  for (const SimCartDecision& d : cart.cart_decisions) EXPECT_EQ(d.arm, -1);
}

// Orders' margins add up: the lines' margins (SimLog::outcomes) minus the coupons' costs; a free
// shipping coupon costs the merchant's shipping once per order it applies to; habituation counts a
// shown coupon as a discount received.
TEST(SimCart, MarginAccountingAndHabituation) {
  Environment env(cart_config());
  CartArm ship;
  ship.name = "ship";
  ship.kind = ArmKind::FreeShipping;
  ship.merchant_cost = 4.5;
  ship.min_spend = 30;
  FixedItem item(0);
  FirstEligible cart;
  const CartArm arms[] = {ship};
  const SimLog log = run_policy(env, generate_browsing(env), item, arms, cart);
  double lines = 0, orders = 0, discounts = 0;
  for (const SimOutcome& o : log.outcomes) lines += o.margin;
  uint32_t shown = 0;
  for (const SimCartDecision& d : log.cart_decisions) {
    orders += d.outcome.margin;
    discounts += d.outcome.discount;
    EXPECT_EQ(d.outcome.discount, d.outcome.applied ? 4.5 : 0.0);
    shown += d.arm == 0;
  }
  EXPECT_NEAR(orders, lines - discounts, 1e-6);
  EXPECT_GT(discounts, 0.0);
  uint32_t received = 0;
  for (const Shopper& p : env.shoppers()) received += p.offers_received;
  EXPECT_EQ(received, shown);  // item arm 0 everywhere: only the coupons habituate
}

TEST(SimCart, ItemOfferLifetimeShorterThanTheVisit) {
  Config cfg = cart_config();
  Environment base(cfg);
  cfg.item_offer_lifetime_ms = 1;  // every item offer expires before checkout
  Environment expiring(cfg);
  FixedItem twenty(4), none(0);
  const Browsing br = generate_browsing(base);
  const SimLog at_list = run_policy(base, br, none);
  const SimLog expired = run_policy(expiring, br, twenty);
  ASSERT_EQ(at_list.outcomes.size(), expired.outcomes.size());
  uint64_t conv = 0, conv_list = 0;
  for (size_t k = 0; k < expired.outcomes.size(); ++k) {
    EXPECT_EQ(expired.outcomes[k].discount_spend, 0.0);
    conv += expired.outcomes[k].converted;
    conv_list += at_list.outcomes[k].converted;
  }
  // Bought at list price, with the habituation of 20% offers shown: fewer purchases than no offers.
  EXPECT_LT(conv, conv_list);
  EXPECT_GT(conv, 0u);
  // A lifetime longer than every visit changes nothing.
  cfg.item_offer_lifetime_ms = 365LL * 86400000LL;
  Environment longlived(cfg), plain(cart_config());
  const SimLog a = run_policy(longlived, br, twenty), b = run_policy(plain, br, twenty);
  ASSERT_EQ(a.outcomes.size(), b.outcomes.size());
  for (size_t k = 0; k < a.outcomes.size(); ++k) EXPECT_EQ(a.outcomes[k].margin, b.outcomes[k].margin);
}

#ifdef DISCO_SIM_EXE
TEST(SimCart, CliSameSeedSameFilesAndUsageErrors) {
  const fs::path d = fs::temp_directory_path() / ("disco_sim_cart_" + std::to_string(::getpid()));
  fs::remove_all(d);
  const std::string base = std::string(DISCO_SIM_EXE) +
                           " --seed 3 --shoppers 800 --items 400 --days 5 --quiet --cart-arm percent:10:40 "
                           "--cart-arm free-shipping:30:900:24:96 --out ";
  ASSERT_EQ(std::system((base + (d / "a").string() + " >/dev/null 2>&1").c_str()), 0);
  ASSERT_EQ(std::system((base + (d / "b").string() + " >/dev/null 2>&1").c_str()), 0);
  for (const char* f : {"events.csv", "decisions.csv", "outcomes.csv", "cart_decisions.csv"}) {
    const std::string x = slurp(d / "a" / f), y = slurp(d / "b" / f);
    EXPECT_FALSE(x.empty()) << f;
    EXPECT_EQ(x, y) << f;
  }
  EXPECT_NE(slurp(d / "a" / "cart_decisions.csv").find("10%-over-40"), std::string::npos);
  // --help documents the cart options.
  const fs::path help = d / "help.txt";
  ASSERT_EQ(std::system((std::string(DISCO_SIM_EXE) + " --help > " + help.string()).c_str()), 0);
  const std::string h = slurp(help);
  for (const char* opt : {"--cart-arm", "--cart-policy", "--item-lifetime-s", "free-shipping:MIN", "START_H:END_H"})
    EXPECT_NE(h.find(opt), std::string::npos) << opt;
  // Without --cart-arm no cart_decisions.csv; bad specs are usage errors (exit 2).
  ASSERT_EQ(std::system((std::string(DISCO_SIM_EXE) + " --seed 3 --shoppers 200 --items 100 --days 2 --quiet --out " +
                         (d / "c").string() + " >/dev/null 2>&1").c_str()), 0);
  EXPECT_FALSE(fs::exists(d / "c" / "cart_decisions.csv"));
  for (const char* bad : {" --cart-arm percent:10", " --cart-arm percent:10:40 --cart-policy fixed:3",
                          " --cart-policy sometimes"}) {
    const int rc = std::system((std::string(DISCO_SIM_EXE) + " --out " + (d / "e").string() + bad + " >/dev/null 2>&1").c_str());
    EXPECT_EQ(WEXITSTATUS(rc), 2) << bad;
  }
  fs::remove_all(d);
}
#else
TEST(SimCart, CliNotBuilt) {
  GTEST_SKIP() << "disco-sim is not built in this configuration (DISCO_BUILD_TOOLS=ON builds it)";
}
#endif

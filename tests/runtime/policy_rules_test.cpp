// Offer-policy rules in the runtime (schemas/bundle.fbs Arm scope / lifetime_s / window / eligibility,
// Guardrails.max_discounted_offers; runtime/src/bundle.cpp rule_mask, expiry): an arm outside its
// campaign window or its eligibility is never offered, cart-scope arms never by the per-item
// decision, an offer expires after its arm's lifetime and at its window's end at the latest, the
// per-shopper cap ends discounts, and the loader refuses malformed rules; and the property test:
// 10^6 random offers on bundles with random rules and guardrails, each checked by an oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>

#include "disco/bundle_writer.h"
#include "disco/context.h"
#include "disco/disco.h"
#include "disco/rng.h"
#include "test_util.h"

namespace {

constexpr int64_t kT0 = 1795737600000;  // 2026-11-27T00:00:00Z
constexpr int64_t kHour = 3600 * 1000;

disco::BundleSpec base_spec() {
  disco::BundleSpec s = disco::make_synthetic_spec(rt_test::small_options(200));
  s.guardrails.offer_ttl_s = 900;
  return s;  // arms 0 %, 5 %, 10 %, 15 %, free shipping; max discount 0.3, margin 40 %: all allowed
}

struct Seen {
  std::set<uint32_t> arms;  // arms offered
  uint32_t flags = 0;       // OR of the offers' guardrail flags
};

// `n` offers of `item` (one fresh session each, so no cooldown or cap) at time `t`.
Seen offers(disco_runtime* rt, uint32_t item, int64_t t, int n = 120, std::vector<disco_offer>* out = nullptr) {
  Seen r;
  for (int i = 0; i < n; ++i) {
    disco_session* s = nullptr;
    EXPECT_EQ(disco_session_create(rt, 1000 + uint64_t(i) + uint64_t(t % 100000) * 7 + item * 131, &s), DISCO_OK);
    disco_offer o{};
    EXPECT_EQ(disco_offer_make(s, item, t, 0, 0, &o), DISCO_OK) << disco_last_error();
    r.arms.insert(o.arm);
    r.arms.insert(o.bandit_arm);
    r.flags |= o.guardrails;
    if (out) out->push_back(o);
    disco_session_free(s);
  }
  return r;
}

}  // namespace

TEST(PolicyRules, AnArmExistsOnlyInsideItsCampaignWindow) {
  disco::BundleSpec s = base_spec();
  s.arms[2].window_start_ms = kT0;
  s.arms[2].window_end_ms = kT0 + 2 * kHour;
  s.arms[3].window_start_ms = kT0 + kHour;  // open end
  rt_test::BundleHolder b(s);
  disco_runtime* rt = rt_test::make_runtime(b.bundle, 7);
  const Seen before = offers(rt, 5, kT0 - 1);
  EXPECT_FALSE(before.arms.count(2) || before.arms.count(3));
  EXPECT_TRUE(before.flags & DISCO_GUARD_INELIGIBLE);
  const Seen first = offers(rt, 5, kT0);  // the start is inside
  EXPECT_TRUE(first.arms.count(2));
  EXPECT_FALSE(first.arms.count(3));
  const Seen both = offers(rt, 5, kT0 + kHour + 1);
  EXPECT_TRUE(both.arms.count(2) && both.arms.count(3));
  EXPECT_FALSE(both.flags & DISCO_GUARD_INELIGIBLE);
  const Seen after = offers(rt, 5, kT0 + 2 * kHour);  // the end is outside
  EXPECT_FALSE(after.arms.count(2));
  EXPECT_TRUE(after.arms.count(3));
  disco_runtime_free(rt);
}

TEST(PolicyRules, EligibilityByCategoryBrandItemAndExclusion) {
  disco::BundleSpec s = base_spec();
  const auto& cat = s.catalog.category;
  const auto& brand = s.catalog.brand;
  ASSERT_FALSE(brand.empty());
  // arm 1: category of item 3 only, minus item 3 itself; arm 2: brand of item 4; arm 3: items 6 and 8
  s.arms[1].categories = {cat[3]};
  s.arms[1].excluded_items = {3};
  s.arms[2].brands = {brand[4]};
  s.arms[3].items = {6, 8};
  rt_test::BundleHolder b(s);
  disco_runtime* rt = rt_test::make_runtime(b.bundle, 9);
  for (uint32_t item = 0; item < 60; ++item) {
    if (!(s.catalog.in_stock.empty() || s.catalog.in_stock[item])) continue;
    const Seen r = offers(rt, item, kT0, 40);
    const bool a1 = cat[item] == cat[3] && item != 3, a2 = brand[item] == brand[4], a3 = item == 6 || item == 8;
    if (!a1) EXPECT_FALSE(r.arms.count(1)) << "item " << item;
    if (!a2) EXPECT_FALSE(r.arms.count(2)) << "item " << item;
    if (!a3) EXPECT_FALSE(r.arms.count(3)) << "item " << item;
    EXPECT_EQ(bool(r.flags & DISCO_GUARD_INELIGIBLE), !(a1 && a2 && a3)) << "item " << item;
  }
  // the admitted arms are offered where they are admitted
  const uint32_t in_cat = [&] {
    for (uint32_t i = 0; i < 200; ++i)
      if (i != 3 && cat[i] == cat[3]) return i;
    return 0u;
  }();
  EXPECT_TRUE(offers(rt, in_cat, kT0).arms.count(1));
  EXPECT_TRUE(offers(rt, 4, kT0).arms.count(2));
  EXPECT_TRUE(offers(rt, 8, kT0).arms.count(3));
  disco_runtime_free(rt);
}

TEST(PolicyRules, CartScopeArmsAreNeverChosenPerItem) {
  disco::BundleSpec s = base_spec();
  s.arms.push_back({"site-10-off-50", disco::ArmKindSpec::FixedAmount, 10.0f, 0.0f});
  s.arms.back().scope = 2;
  s.arms.back().min_spend = 50.0f;
  s.arms[3].scope = 1;  // category scope is a per-item arm (its categories, here: all)
  rt_test::BundleHolder b(s);
  disco_runtime* rt = rt_test::make_runtime(b.bundle, 11);
  const Seen r = offers(rt, 7, kT0, 200);
  EXPECT_FALSE(r.arms.count(5));
  EXPECT_TRUE(r.arms.count(3));
  disco_runtime_free(rt);
}

TEST(PolicyRules, AnOfferExpiresAfterItsArmsLifetimeAndAtItsWindowsEnd) {
  disco::BundleSpec s = base_spec();
  s.arms[0].lifetime_s = 60;    // the no-discount offer
  s.arms[1].lifetime_s = 1800;
  s.arms[2].window_end_ms = kT0 + 100 * 1000;  // 100 s left at kT0, lifetime 900 s: capped
  s.arms[3].lifetime_s = 30;
  s.arms[3].window_end_ms = kT0 + 100 * 1000;  // lifetime first
  rt_test::BundleHolder b(s);
  disco_runtime* rt = rt_test::make_runtime(b.bundle, 13);
  std::vector<disco_offer> os;
  const Seen r = offers(rt, 9, kT0, 200, &os);
  ASSERT_TRUE(r.arms.count(0) && r.arms.count(1) && r.arms.count(2) && r.arms.count(3) && r.arms.count(4));
  const int64_t want[] = {60 * 1000, 1800 * 1000, 100 * 1000, 30 * 1000, 900 * 1000};
  for (const disco_offer& o : os) EXPECT_EQ(o.expires_at_ms - kT0, want[o.arm]) << "arm " << o.arm;
  disco_runtime_free(rt);
}

TEST(PolicyRules, ThePerShopperCapEndsDiscounts) {
  disco::BundleSpec s = base_spec();
  s.guardrails.max_discounted_offers = 2;
  s.arms.resize(2);  // 0 % and 5 %
  s.bandit.exploration_floor = 1.0f;  // uniform: half the offers discount
  rt_test::BundleHolder b(s);
  disco_runtime* rt = rt_test::make_runtime(b.bundle, 17);
  disco_session* ses = nullptr;
  ASSERT_EQ(disco_session_create(rt, 42, &ses), DISCO_OK);
  int discounted = 0;
  for (int i = 0; i < 60; ++i) {
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(ses, 10, kT0 + i * kHour, 0, 0, &o), DISCO_OK);
    if (discounted >= 2) {
      EXPECT_EQ(o.arm, 0u) << "offer " << i;
      EXPECT_TRUE(o.guardrails & DISCO_GUARD_COOLDOWN);
    }
    discounted += o.arm != 0;
  }
  EXPECT_EQ(discounted, 2);
  disco_session_free(ses);
  disco_runtime_free(rt);
}

TEST(PolicyRules, TheLoaderRefusesMalformedRules) {
  auto refused = [](void (*edit)(disco::BundleSpec&)) {
    disco::BundleSpec s = base_spec();
    edit(s);
    disco::WriteOptions w;
    w.validate = false;
    const auto r = disco::build_bundle(s, w);
    disco_bundle* b = nullptr;
    const disco_status st = disco_bundle_load(r.bytes.data(), r.bytes.size(), 0, &b);
    disco_bundle_free(b);
    return st == DISCO_ERR_BUNDLE_FORMAT && std::string(disco_last_error()).find("offer-policy rules") != std::string::npos;
  };
  EXPECT_TRUE(refused([](disco::BundleSpec& s) { s.arms[1].window_start_ms = kT0, s.arms[1].window_end_ms = kT0; }));
  EXPECT_TRUE(refused([](disco::BundleSpec& s) { s.arms[1].categories = {3, 2}; }));
  EXPECT_TRUE(refused([](disco::BundleSpec& s) { s.arms[1].brands = {2, 2}; }));
  EXPECT_TRUE(refused([](disco::BundleSpec& s) { s.arms[1].items = {5, 200}; }));
  EXPECT_TRUE(refused([](disco::BundleSpec& s) { s.arms[1].excluded_items = {999}; }));
  EXPECT_FALSE(refused([](disco::BundleSpec& s) { s.arms[1].items = {5, 199}; }));
}

// ---- cart decisions (disco_offer_cart) ------------------------------------------------------------

namespace {

// The bundle of the cart tests: base_spec's item arms 0..4 plus cart arms 5..8.
disco::BundleSpec cart_spec() {
  disco::BundleSpec s = base_spec();
  auto cart_arm = [&](const char* name, disco::ArmKindSpec kind, float value, float ship, float min_spend) {
    s.arms.push_back({name, kind, value, ship});
    s.arms.back().scope = 2;
    s.arms.back().min_spend = min_spend;
    return &s.arms.back();
  };
  cart_arm("10%-over-50", disco::ArmKindSpec::Percent, 0.10f, 0.0f, 50.0f);
  cart_arm("5-off-cat3-over-30", disco::ArmKindSpec::FixedAmount, 5.0f, 0.0f, 30.0f)->categories = {3};
  disco::BundleArm* ship = cart_arm("ship-over-20", disco::ArmKindSpec::FreeShipping, 0.0f, 4.0f, 20.0f);
  ship->window_start_ms = kT0 + kHour;
  ship->window_end_ms = kT0 + 2 * kHour;
  ship->lifetime_s = 600;
  cart_arm("20%-not-item-3", disco::ArmKindSpec::Percent, 0.20f, 0.0f, 0.0f)->excluded_items = {3};
  s.bandit.exploration_floor = 1.0f;  // uniform over the eligible arms: propensity = 1 / their count
  return s;
}

struct Cart {
  std::vector<uint32_t> items, qty;
};

disco_status offer_cart(disco_session* s, const Cart& c, int64_t t, disco_offer* o, disco_cart_terms* terms,
                        uint64_t hi = 0, uint64_t lo = 0) {
  return disco_offer_cart(s, c.items.data(), c.qty.data(), uint32_t(c.items.size()), t, hi, lo, o, terms);
}

}  // namespace

// Which cart arms a cart may get: the eligible value (the lines an arm applies to) against the arm's
// minimum spend, the window, the arm's lists and the guardrails' lists, checked by an oracle over
// random carts and times; the terms (value, cost, eligible value, amount, min spend) and the logged
// propensity (uniform floor: 1 / the eligible arms) agree with it.
TEST(CartOffers, EligibleArmsFollowMinSpendWindowAndTheArmsLines) {
  disco::BundleSpec s = cart_spec();
  s.guardrails.excluded_items = {7};  // never discounted, so never counted toward a min spend
  rt_test::BundleHolder b(s);
  disco_runtime* rt = rt_test::make_runtime(b.bundle, 21);
  disco::Rng rng(14, 1, 2, 3);
  const auto& price = s.catalog.price;
  const auto& cat = s.catalog.category;
  std::set<uint32_t> offered;
  long below_min = 0, outside_window = 0;
  for (int k = 0; k < 3000; ++k) {
    Cart c;
    const uint32_t lines = 1 + rng.below(4);
    for (uint32_t i = 0; i < lines; ++i) {
      c.items.push_back(rng.uniform() < 0.15 ? (rng.uniform() < 0.5 ? 3u : 7u) : rng.below(200));
      c.qty.push_back(1 + rng.below(3));
    }
    const int64_t t = kT0 + int64_t(rng.below(3 * 3600)) * 1000;
    disco_session* ses = nullptr;
    ASSERT_EQ(disco_session_create(rt, 5000 + uint64_t(k), &ses), DISCO_OK);
    disco_offer o{};
    disco_cart_terms terms{};
    ASSERT_EQ(offer_cart(ses, c, t, &o, &terms), DISCO_OK) << disco_last_error();
    disco_session_free(ses);
    // the oracle
    double value = 0, cost = 0, elig[9] = {};
    for (size_t i = 0; i < c.items.size(); ++i) {
      const uint32_t it = c.items[i];
      const double line = double(price[it]) * c.qty[i];
      value += line;
      cost += double(s.catalog.cost[it]) * c.qty[i];
      if (it == 7) continue;
      elig[5] += line;
      if (cat[it] == 3) elig[6] += line;
      if (t >= kT0 + kHour && t < kT0 + 2 * kHour) elig[7] += line;
      if (it != 3) elig[8] += line;
    }
    uint32_t allowed = 1u, n_allowed = 1;
    for (uint32_t a = 5; a < 9; ++a)
      if (elig[a] > 0 && elig[a] >= s.arms[a].min_spend) allowed |= 1u << a, ++n_allowed;
      else if (a == 7 && !(t >= kT0 + kHour && t < kT0 + 2 * kHour)) ++outside_window;
      else ++below_min;
    ASSERT_EQ(o.item, DISCO_CART_ITEM);
    ASSERT_TRUE(allowed >> o.arm & 1u) << "cart " << k << ": arm " << o.arm << " offered against its rules";
    ASSERT_EQ(o.propensity, float(1.0 / n_allowed)) << "cart " << k << ": eligible arms differ from the oracle's";
    ASSERT_EQ(terms.value, value);
    ASSERT_EQ(terms.cost, cost);
    const double e = o.arm ? elig[o.arm] : value;
    ASSERT_EQ(terms.eligible, e);
    const disco::BundleArm& a = s.arms[o.arm];
    const double amount = a.kind == disco::ArmKindSpec::Percent ? double(a.value) * e
                          : a.kind == disco::ArmKindSpec::FixedAmount ? std::min(double(a.value), e) : 0.0;
    ASSERT_EQ(terms.amount, amount) << "arm " << o.arm;
    ASSERT_EQ(terms.min_spend, o.arm ? double(a.min_spend) : 0.0);
    ASSERT_EQ(o.discount, float(amount / value));
    const int64_t life_end = t + int64_t(a.lifetime_s ? a.lifetime_s : 900) * 1000;
    ASSERT_EQ(o.expires_at_ms, a.window_end_ms ? std::min(life_end, a.window_end_ms) : life_end);
    offered.insert(o.arm);
  }
  for (uint32_t a : {0u, 5u, 6u, 7u, 8u}) EXPECT_TRUE(offered.count(a)) << "arm " << a << " never offered";
  for (uint32_t a = 1; a < 5; ++a) EXPECT_FALSE(offered.count(a)) << "item arm " << a << " in a cart decision";
  EXPECT_GT(below_min, 500);
  EXPECT_GT(outside_window, 500);
  disco_runtime_free(rt);
}

// The guardrails judge the whole cart: a 30 % coupon the margin floor refuses on a thin-margin item
// alone passes on a cart whose margin carries it; max discount is on the cart's value (an arm of one
// item's lines is 30 % of them but 10 % of the cart); the budget reserves the arm's cost on its
// eligible lines and disco_offer_expired gives exactly that back (also after a save and restore);
// cooldown and the per-shopper cap hold for carts as for items.
TEST(CartOffers, GuardrailsJudgeTheWholeCartsMargin) {
  disco::BundleSpec s = base_spec();
  s.catalog.price[0] = 100.0f, s.catalog.cost[0] = 10.0f;  // A: 90 % margin
  s.catalog.price[1] = 100.0f, s.catalog.cost[1] = 90.0f;  // B: 10 % margin
  s.arms.resize(1);
  s.arms.push_back({"30%-cart", disco::ArmKindSpec::Percent, 0.30f, 0.0f});
  s.arms.back().scope = 2;
  s.arms.push_back({"30%-on-A", disco::ArmKindSpec::Percent, 0.30f, 0.0f});
  s.arms.back().scope = 2;
  s.arms.back().items = {0};
  s.bandit.exploration_floor = 1.0f;
  s.guardrails.margin_floor = 0.2f;
  s.guardrails.max_discount = 0.25f;
  const Cart b_only{{1}, {1}}, a_a_b{{0, 1}, {2, 1}}, a_b_b{{0, 1}, {1, 2}};
  {
    rt_test::BundleHolder h(s);
    disco_runtime* rt = rt_test::make_runtime(h.bundle, 3);
    auto eligible = [&](const Cart& c, uint32_t* flags) {
      disco_session* ses = nullptr;
      EXPECT_EQ(disco_session_create(rt, 77, &ses), DISCO_OK);
      disco_offer o{};
      EXPECT_EQ(offer_cart(ses, c, kT0, &o, nullptr), DISCO_OK) << disco_last_error();
      disco_session_free(ses);
      *flags = o.guardrails;
      return uint32_t(std::lround(1.0 / o.propensity)) - 1;  // discount arms eligible (floor 1: uniform)
    };
    uint32_t f = 0;
    EXPECT_EQ(eligible(b_only, &f), 0u);  // 100 - 90 - 30 < 20; and 30 % > 25 %
    EXPECT_TRUE((f & DISCO_GUARD_MARGIN_FLOOR) && (f & DISCO_GUARD_MAX_DISCOUNT));
    // A A B: 300 - 110 - 90 >= 60 passes the floor, but the cart-wide 30 % is over max discount; the
    // arm on A's lines: 60 of 300 = 20 %
    EXPECT_EQ(eligible(a_a_b, &f), 1u);
    EXPECT_TRUE(f & DISCO_GUARD_MAX_DISCOUNT);
    EXPECT_FALSE(f & DISCO_GUARD_MARGIN_FLOOR);
    // A B B: the arm on A: 30 of 300 = 10 %, margin 300 - 190 - 30 = 80 >= 60
    EXPECT_EQ(eligible(a_b_b, &f), 1u);
    disco_runtime_free(rt);
  }
  // budget: 65 per period, all available at once; the arm on A's lines reserves 30 (not 30 % of the cart)
  s.arms.erase(s.arms.begin() + 1);  // only "30%-on-A"
  s.guardrails.budget_per_period = 65.0f;
  s.guardrails.pacing_burst = 1.0f;
  s.guardrails.budget_mode = 0;
  rt_test::BundleHolder h(s);
  disco_runtime* rt = rt_test::make_runtime(h.bundle, 4);
  uint64_t user = 100;
  auto discounted = [&](disco_runtime* r, disco_offer* got) {  // the next discounted offer of A B B
    for (int i = 0; i < 64; ++i) {
      disco_session* ses = nullptr;
      EXPECT_EQ(disco_session_create(r, ++user, &ses), DISCO_OK);
      disco_offer o{};
      EXPECT_EQ(offer_cart(ses, a_b_b, kT0 + 1000, &o, nullptr), DISCO_OK);
      disco_session_free(ses);
      if (o.arm || (o.guardrails & DISCO_GUARD_BUDGET)) {
        *got = o;
        return o.arm != 0;
      }
    }
    ADD_FAILURE() << "no discounted offer in 64 tries";
    return false;
  };
  disco_offer o1{}, o2{}, o3{}, o4{};
  ASSERT_TRUE(discounted(rt, &o1));   // 30
  ASSERT_TRUE(discounted(rt, &o2));   // 60
  ASSERT_FALSE(discounted(rt, &o3));  // 90 > 65
  EXPECT_TRUE(o3.guardrails & DISCO_GUARD_BUDGET);
  std::vector<uint8_t> state(1 << 20);
  size_t len = 0;
  ASSERT_EQ(disco_runtime_save(rt, state.data(), state.size(), &len), DISCO_OK);
  disco_runtime* rt2 = rt_test::make_runtime(h.bundle, 4);
  ASSERT_EQ(disco_runtime_restore(rt2, state.data(), len), DISCO_OK) << disco_last_error();
  for (disco_runtime* r : {rt, rt2}) {
    ASSERT_EQ(disco_offer_expired(r, o2.decision_hi, o2.decision_lo), DISCO_OK);  // 60 - 30
    ASSERT_TRUE(discounted(r, &o4));   // 60
    ASSERT_FALSE(discounted(r, &o4));  // 90 > 65: 30 was given back, not the arm's cost on the cart (60)
  }
  disco_runtime_free(rt2);
  disco_runtime_free(rt);
  // cooldown and the per-shopper cap: one discounted cart offer, then none for this shopper
  for (int variant = 0; variant < 2; ++variant) {
    disco::BundleSpec c = s;
    c.guardrails.budget_per_period = 0.0f;
    if (variant == 0) c.guardrails.cooldown_s = 3600;
    else c.guardrails.max_discounted_offers = 1;
    rt_test::BundleHolder hc(c);
    disco_runtime* r = rt_test::make_runtime(hc.bundle, 5);
    disco_session* ses = nullptr;
    ASSERT_EQ(disco_session_create(r, 9, &ses), DISCO_OK);
    int n_discounted = 0;
    for (int i = 0; i < 40; ++i) {
      disco_offer o{};
      ASSERT_EQ(offer_cart(ses, a_b_b, kT0 + i * 60000, &o, nullptr), DISCO_OK);
      if (n_discounted) {
        EXPECT_EQ(o.arm, 0u) << "variant " << variant << " offer " << i;
        EXPECT_TRUE(o.guardrails & DISCO_GUARD_COOLDOWN);
      }
      n_discounted += o.arm != 0;
    }
    EXPECT_EQ(n_discounted, 1) << "variant " << variant;
    disco_session_free(ses);
    disco_runtime_free(r);
  }
}

// Same seed, events and decision ids: the same cart offers and terms in two runtimes; a cart
// decision is shown, trained (reward over the cart's value) and refused twice like an item's; the
// context is the cart's (value, cost, units) and the shopper's; bad calls are refused by name.
TEST(CartOffers, DeterministicTrainedAndRefusedLikeItemDecisions) {
  disco::BundleSpec s = cart_spec();
  rt_test::BundleHolder b(s);
  disco_runtime* r1 = rt_test::make_runtime(b.bundle, 33);
  disco_runtime* r2 = rt_test::make_runtime(b.bundle, 33);
  disco_session *s1 = nullptr, *s2 = nullptr;
  ASSERT_EQ(disco_session_create(r1, 7, &s1), DISCO_OK);
  ASSERT_EQ(disco_session_create(r2, 7, &s2), DISCO_OK);
  const Cart c{{4, 13, 4, 22}, {1, 2, 3, 1}};
  std::set<std::pair<uint64_t, uint64_t>> ids;
  for (int i = 0; i < 50; ++i) {
    const disco_event e = rt_test::ev(kT0 + i * 1000, uint32_t(i * 7 % 200), uint32_t(i % 4));
    ASSERT_EQ(disco_observe(s1, &e), DISCO_OK);
    ASSERT_EQ(disco_observe(s2, &e), DISCO_OK);
    disco_offer a{}, z{};
    disco_cart_terms ta{}, tz{};
    ASSERT_EQ(offer_cart(s1, c, kT0 + i * 1000 + 1, &a, &ta), DISCO_OK);
    ASSERT_EQ(offer_cart(s2, c, kT0 + i * 1000 + 1, &z, &tz), DISCO_OK);
    EXPECT_TRUE(rt_test::same_offer(a, z)) << "offer " << i;
    EXPECT_EQ(std::memcmp(&ta, &tz, sizeof ta), 0) << "offer " << i;
    EXPECT_TRUE(ids.insert({a.decision_hi, a.decision_lo}).second) << "decision ids repeat";
  }
  // a caller's decision id replays the decision in a fresh runtime with the same state
  disco_runtime* r3 = rt_test::make_runtime(b.bundle, 33);
  disco_session* s3 = nullptr;
  ASSERT_EQ(disco_session_create(r3, 7, &s3), DISCO_OK);
  disco_offer x1{}, x2{};
  ASSERT_EQ(offer_cart(s3, c, kT0, &x1, nullptr, 0xabc, 0xdef), DISCO_OK);
  ASSERT_EQ(offer_cart(s3, c, kT0, &x2, nullptr, 0xabc, 0xdef), DISCO_ERR_DUPLICATE);
  disco_runtime* r4 = rt_test::make_runtime(b.bundle, 33);
  disco_session* s4 = nullptr;
  ASSERT_EQ(disco_session_create(r4, 7, &s4), DISCO_OK);
  ASSERT_EQ(offer_cart(s4, c, kT0, &x2, nullptr, 0xabc, 0xdef), DISCO_OK);
  EXPECT_TRUE(rt_test::same_offer(x1, x2));
  // the context: the cart's value, margin and units
  double value = 0, cost = 0;
  for (size_t i = 0; i < c.items.size(); ++i)
    value += double(s.catalog.price[c.items[i]]) * c.qty[i], cost += double(s.catalog.cost[c.items[i]]) * c.qty[i];
  disco::ShopperStats fresh;
  disco::ContextInputs ci;
  ci.stats = &fresh;
  ci.price = value;
  ci.cost = cost;
  ci.now_ms = kT0;
  ci.cart_units = 7;
  float want[disco::kContextDim];
  disco::build_context(ci, want);
  want[disco::kFeatPropensity] = x1.context[disco::kFeatPropensity];
  for (uint32_t f = 0; f < disco::kContextDim; ++f) EXPECT_EQ(x1.context[f], want[f]) << "feature " << f;
  EXPECT_EQ(x1.context[disco::kFeatCart], 0.7f);
  // shown + outcome trains the offered arm once, on reward / the cart's value
  ASSERT_EQ(disco_offer_shown(r3, x1.decision_hi, x1.decision_lo), DISCO_OK);
  disco_outcome out{};
  out.decision_hi = x1.decision_hi;
  out.decision_lo = x1.decision_lo;
  out.ts_ms = kT0 + 5000;
  out.converted = 1;
  out.revenue = float(value);
  out.reward = float(value * 0.3);
  ASSERT_EQ(disco_update(r3, &out), DISCO_OK) << disco_last_error();
  EXPECT_EQ(disco_update(r3, &out), DISCO_ERR_DUPLICATE);
  const disco::BanditStats st = rt_test::exported_stats(r3);
  EXPECT_EQ(st.arms[x1.arm].n, 1.0);
  EXPECT_NEAR(st.arms[x1.arm].reward_sum, double(float(value * 0.3)) / double(float(value)), 1e-12);
  // refusals
  disco_offer o{};
  const uint32_t items[2] = {4, 200}, zero[2] = {1, 0};
  EXPECT_EQ(disco_offer_cart(s3, items, nullptr, 0, kT0, 0, 0, &o, nullptr), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(disco_last_error()).find("disco_offer_cart: the cart is empty"), std::string::npos);
  EXPECT_EQ(disco_offer_cart(s3, items, nullptr, 2, kT0, 0, 0, &o, nullptr), DISCO_ERR_UNKNOWN_ITEM);
  EXPECT_EQ(disco_offer_cart(s3, items, zero, 1, kT0, 0, 0, &o, nullptr), DISCO_OK);  // line 0: quantity 1
  EXPECT_EQ(disco_offer_cart(s3, items, zero + 1, 1, kT0, 0, 0, &o, nullptr), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(disco_offer_cart(s3, nullptr, nullptr, 1, kT0, 0, 0, &o, nullptr), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(disco_offer_cart(s3, items, nullptr, 1, kT0, 0, 0, nullptr, nullptr), DISCO_ERR_INVALID_ARGUMENT);
  // apprentice and logging-only modes show arm 0, as for items
  for (disco_mode mode : {DISCO_MODE_APPRENTICE, DISCO_MODE_LOGGING_ONLY}) {
    disco_runtime* rm = rt_test::make_runtime(b.bundle, 33, mode);
    disco_session* sm = nullptr;
    ASSERT_EQ(disco_session_create(rm, 7, &sm), DISCO_OK);
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(offer_cart(sm, c, kT0 + i, &o, nullptr), DISCO_OK);
      EXPECT_EQ(o.arm, 0u);
      if (mode == DISCO_MODE_LOGGING_ONLY) EXPECT_EQ(o.propensity, 1.0f);
      else EXPECT_TRUE(o.guardrails & DISCO_GUARD_APPRENTICE);
    }
    disco_session_free(sm);
    disco_runtime_free(rm);
  }
  for (disco_session* x : {s1, s2, s3, s4}) disco_session_free(x);
  for (disco_runtime* x : {r1, r2, r3, r4}) disco_runtime_free(x);
}

// THE property test of the offer-policy rules with the guardrails: random bundles (random
// campaign windows, cart-scope arms, category / brand / item / exclusion lists, lifetimes, the
// per-shopper cap, the guardrails' max discount, margin floor, budget with pacing, cooldown,
// eligible categories and excluded items), random shoppers and out-of-order times through
// disco_offer_make, and random carts (1..6 lines) through disco_offer_cart (3 offers in 10); an
// independent oracle checks every returned offer against every rule: per item, and for carts the
// arms' eligible values against their minimum spend and the guardrails on the whole cart's value,
// cost and the arm's cost on its eligible lines.
// 200 bundles x 5000 offers = 1,000,000 offers; deterministic (fixed seeds).
TEST(PolicyRules, PropertyNoOfferEverBreaksARuleOrAGuardrail) {
  const int kWorlds = 200, kSteps = 5000;
  const uint32_t kItems = 200;
  disco::Rng meta(2026, 12, 3, 14);
  long offers = 0, discounted = 0, edge_probes = 0, window_capped = 0, lifetime_used = 0, released = 0;
  long cart_offers = 0, cart_discounted = 0;
  // How often each rule barred at least one otherwise-configured arm from an offer (or, for the
  // guardrails, set its flag), so a reader sees every rule was exercised.
  enum Rule { kWindow, kCart, kCategories, kBrands, kItems_, kExcluded, kCap, kCooldown, kBudget, kMaxDiscount,
              kMarginFloor, kGuardIneligible, kItemArmInCart, kMinSpend, kCartMaxDiscount, kCartMarginFloor,
              kCartBudget, kNRules };
  const char* rule_name[kNRules] = {"arm outside its window", "cart-scope arm (never per item)",
                                    "arm's categories", "arm's brands", "arm's items", "arm's excluded_items",
                                    "per-shopper cap", "cooldown", "budget (guard flag)",
                                    "max discount (guard flag)", "margin floor (guard flag)",
                                    "INELIGIBLE flag (lists, rules)", "item arm (never per cart)",
                                    "cart: eligible value < min spend", "cart: max discount (guard flag)",
                                    "cart: margin floor (guard flag)", "cart: budget (guard flag)"};
  long hits[kNRules] = {};
  auto sorted_subset = [&](uint32_t n, double p) {
    std::vector<uint32_t> v;
    for (uint32_t i = 0; i < n; ++i)
      if (meta.uniform() < p) v.push_back(i);
    return v;
  };
  auto has = [](const std::vector<uint32_t>& v, uint32_t x) { return std::binary_search(v.begin(), v.end(), x); };
  for (int w = 0; w < kWorlds; ++w) {
    disco::BundleSpec s = disco::make_synthetic_spec(rt_test::small_options(kItems, 16, 24, 3 + uint64_t(w)));
    // catalog: random prices, costs, categories, brands
    const uint32_t n_cat = 1 + meta.below(10), n_brand = 1 + meta.below(15);
    for (uint32_t i = 0; i < kItems; ++i) {
      const double price = std::exp(std::log(0.5) + (std::log(3000.0) - std::log(0.5)) * meta.uniform());
      s.catalog.price[i] = float(price);
      s.catalog.cost[i] = float(price * (0.2 + 0.9 * meta.uniform()));
      s.catalog.category[i] = meta.below(n_cat);
      s.catalog.brand[i] = meta.below(n_brand);
    }
    // guardrails
    disco::GuardrailsSpec& g = s.guardrails;
    g.max_discount = meta.uniform() < 0.1 ? 0.0f : float(0.5 * meta.uniform());
    g.margin_floor = meta.uniform() < 0.2 ? 0.0f : float(0.3 * meta.uniform() - 0.05);
    g.budget_per_period = meta.uniform() < 0.2 ? 0.0f : float(50.0 + 2000.0 * meta.uniform());
    g.budget_period_s = 60 + meta.below(86400);
    g.cooldown_s = meta.uniform() < 0.3 ? 0 : meta.below(7200);
    g.pacing_burst = meta.uniform() < 0.2 ? 0.0f : float(0.2 * meta.uniform());
    g.budget_mode = uint8_t(meta.below(2));
    g.offer_ttl_s = 60 + meta.below(86400);
    g.max_discounted_offers = meta.uniform() < 0.4 ? 0 : 1 + meta.below(30);
    if (meta.uniform() < 0.3) g.eligible_categories = sorted_subset(n_cat, 0.7);
    if (meta.uniform() < 0.5) g.excluded_items = sorted_subset(kItems, 0.03);
    // time span of this world: about 9 days from a random start
    const int64_t t_begin = kT0 + int64_t(meta.below(1u << 20)) * 1000, span = 10 * 24 * kHour;
    // arms, each with random rules
    s.arms.resize(1);
    s.arms[0].lifetime_s = meta.uniform() < 0.3 ? 1 + meta.below(3600) : 0;
    const uint32_t n_arms = 2 + meta.below(11);
    while (s.arms.size() < n_arms) {
      disco::BundleArm a;
      a.name = "arm-" + std::to_string(s.arms.size());
      const uint32_t k = meta.below(3);
      if (k == 0) a.kind = disco::ArmKindSpec::Percent, a.value = float(0.6 * meta.uniform());
      if (k == 1) a.kind = disco::ArmKindSpec::FixedAmount, a.value = float(50.0 * meta.uniform());
      if (k == 2) a.kind = disco::ArmKindSpec::FreeShipping, a.merchant_cost = float(15.0 * meta.uniform());
      const double u = meta.uniform();
      a.scope = u < 0.12 ? 2 : u < 0.3 ? 1 : 0;
      if (a.scope == 2) a.min_spend = float(100.0 * meta.uniform());
      if (meta.uniform() < 0.5) a.lifetime_s = 1 + meta.below(2 * 86400);
      if (meta.uniform() < 0.6) {  // a campaign window (either end may be open)
        const int64_t st = t_begin + int64_t(meta.uniform() * double(span));
        const int64_t len = int64_t(1000 + meta.uniform() * double(span) / 2);
        const double o = meta.uniform();
        a.window_start_ms = o < 0.2 ? 0 : st;
        a.window_end_ms = o > 0.8 ? 0 : st + len;
      }
      if (a.scope == 1 || meta.uniform() < 0.2) a.categories = sorted_subset(n_cat, 0.5);
      if (meta.uniform() < 0.2) a.brands = sorted_subset(n_brand, 0.5);
      if (meta.uniform() < 0.15) a.items = sorted_subset(kItems, 0.4);
      if (meta.uniform() < 0.3) a.excluded_items = sorted_subset(kItems, 0.1);
      s.arms.push_back(std::move(a));
    }
    s.bandit.algorithm = disco::BanditAlgorithmSpec(meta.below(3));
    s.bandit.exploration_floor = float(0.3 * meta.uniform());
    rt_test::BundleHolder b(s);
    ASSERT_NE(b.bundle, nullptr);
    disco_runtime* rt = rt_test::make_runtime(b.bundle, 1000 + uint64_t(w));
    ASSERT_NE(rt, nullptr);
    const uint32_t n_shoppers = 1 + meta.below(60);
    std::vector<disco_session*> ses(n_shoppers);
    for (uint32_t i = 0; i < n_shoppers; ++i)
      ASSERT_EQ(disco_session_create(rt, uint64_t(w) * 1000 + i, &ses[i]), DISCO_OK);
    std::vector<int64_t> last_discount(n_shoppers, INT64_MIN);
    std::vector<uint32_t> n_discounted(n_shoppers, 0);
    // oracle ledger of reserved spend in the current period (by the guardrails' monotone clock)
    const int64_t P = int64_t(g.budget_period_s) * 1000;
    int64_t clock = INT64_MIN, ledger_period = INT64_MIN;
    double ledger = 0.0;
    int64_t flow = t_begin;
    std::vector<int64_t> edges;  // every window's ends, to probe them to the millisecond
    for (const disco::BundleArm& a : s.arms)
      for (int64_t e : {a.window_start_ms, a.window_end_ms})
        if (e) edges.push_back(e);
    disco::Rng rng(w, 0, 0, 14);
    for (int step = 0; step < kSteps; ++step) {
      // time: mostly forward, sometimes backwards (late or reordered requests); 5 % of the offers
      // at a past window edge or 1 ms before it
      const double u = rng.uniform();
      if (u < 0.05) flow -= rng.below(600000);
      else flow += int64_t(rng.below(u < 0.9 ? 20000 : 3000000));
      int64_t now = flow;
      if (!edges.empty() && rng.uniform() < 0.05) {
        const int64_t e = edges[rng.below(uint32_t(edges.size()))] - int64_t(rng.below(2));
        if (e <= flow) now = e, ++edge_probes;  // a late request (one from the future would hold the cooldown)
      }
      const uint32_t shopper = rng.below(n_shoppers), item = rng.below(kItems);
      // a cart decision 3 times in 10: 1..6 random lines of 1..3 units
      const bool is_cart = rng.uniform() < 0.3;
      std::vector<uint32_t> cart_items, cart_qty;
      if (is_cart)
        for (uint32_t l = 0, nl = 1 + rng.below(6); l < nl; ++l)
          cart_items.push_back(rng.below(kItems)), cart_qty.push_back(1 + rng.below(3));
      disco_offer o{};
      disco_cart_terms terms{};
      if (is_cart)
        ASSERT_EQ(disco_offer_cart(ses[shopper], cart_items.data(), cart_qty.data(), uint32_t(cart_items.size()), now,
                                   0, 0, &o, &terms), DISCO_OK) << disco_last_error();
      else
        ASSERT_EQ(disco_offer_make(ses[shopper], item, now, 0, 0, &o), DISCO_OK) << disco_last_error();
      ++offers;
      cart_offers += is_cart;
      ASSERT_LT(o.arm, n_arms);
      ASSERT_EQ(o.item, is_cart ? DISCO_CART_ITEM : item);
      double price = s.catalog.price[item], cost = s.catalog.cost[item];
      const uint32_t cat = s.catalog.category[item], brand = s.catalog.brand[item];
      auto in_window = [&](const disco::BundleArm& a) {
        return !(now < a.window_start_ms || (a.window_end_ms && now >= a.window_end_ms));
      };
      auto admits = [&](const disco::BundleArm& a, uint32_t it) {  // the arm's own lists
        return (a.categories.empty() || has(a.categories, s.catalog.category[it])) &&
               (a.brands.empty() || has(a.brands, s.catalog.brand[it])) && (a.items.empty() || has(a.items, it)) &&
               !has(a.excluded_items, it);
      };
      // a cart: its value and cost, and each cart arm's eligible value (the lines that pass the
      // guardrails' lists and the arm's window and lists)
      double elig[32] = {};
      if (is_cart) {
        price = cost = 0;
        for (size_t l = 0; l < cart_items.size(); ++l) {
          const uint32_t it = cart_items[l];
          const double line = double(s.catalog.price[it]) * cart_qty[l];
          price += line;
          cost += double(s.catalog.cost[it]) * cart_qty[l];
          if (has(g.excluded_items, it) || !(g.eligible_categories.empty() || has(g.eligible_categories, s.catalog.category[it])))
            continue;
          for (uint32_t i = 1; i < n_arms; ++i)
            if (s.arms[i].scope == 2 && in_window(s.arms[i]) && admits(s.arms[i], it)) elig[i] += line;
        }
        ASSERT_EQ(terms.value, price);
        ASSERT_EQ(terms.cost, cost);
      }
      // ---- the oracle: which arms the rules allow, and which rule barred which arm ----
      bool barred[kNRules] = {};
      uint32_t allowed = 1u;
      for (uint32_t i = 1; i < n_arms; ++i) {
        const disco::BundleArm& a = s.arms[i];
        bool ok = true;
        auto bar = [&](Rule r, bool cond) {
          if (cond) barred[r] = true, ok = false;
        };
        bar(kWindow, !in_window(a));
        if (is_cart) {
          bar(kItemArmInCart, a.scope != 2);
          if (ok) bar(kMinSpend, !(elig[i] > 0 && elig[i] >= double(a.min_spend)));
        } else {
          bar(kCart, a.scope == 2);
          bar(kCategories, !a.categories.empty() && !has(a.categories, cat));
          bar(kBrands, !a.brands.empty() && !has(a.brands, brand));
          bar(kItems_, !a.items.empty() && !has(a.items, item));
          bar(kExcluded, has(a.excluded_items, item));
        }
        if (ok) allowed |= 1u << i;
      }
      const bool capped = g.max_discounted_offers && n_discounted[shopper] >= g.max_discounted_offers;
      barred[kCap] = capped;
      barred[kCooldown] = g.cooldown_s > 0 && last_discount[shopper] != INT64_MIN &&
                          now - last_discount[shopper] < int64_t(g.cooldown_s) * 1000;
      barred[is_cart ? kCartBudget : kBudget] = o.guardrails & DISCO_GUARD_BUDGET;
      barred[is_cart ? kCartMaxDiscount : kMaxDiscount] = o.guardrails & DISCO_GUARD_MAX_DISCOUNT;
      barred[is_cart ? kCartMarginFloor : kMarginFloor] = o.guardrails & DISCO_GUARD_MARGIN_FLOOR;
      barred[kGuardIneligible] = o.guardrails & DISCO_GUARD_INELIGIBLE;
      for (int r = 0; r < kNRules; ++r) hits[r] += barred[r];
      ASSERT_TRUE(allowed >> o.arm & 1u)
          << "world " << w << " step " << step << ": arm " << o.arm << " offered against its rules (scope "
          << int(s.arms[o.arm].scope) << ", window [" << s.arms[o.arm].window_start_ms << ", "
          << s.arms[o.arm].window_end_ms << "), now " << now << ", " << (is_cart ? "cart" : "item ") << item << ")";
      ASSERT_TRUE(o.bandit_arm == o.arm) << "online mode";
      // expiry = now + (arm lifetime or the guardrails' ttl), at the window's end at the latest
      const disco::BundleArm& a = s.arms[o.arm];
      const int64_t life = int64_t(a.lifetime_s ? a.lifetime_s : g.offer_ttl_s) * 1000;
      const int64_t want_exp = a.window_end_ms ? std::min(now + life, a.window_end_ms) : now + life;
      ASSERT_EQ(o.expires_at_ms, want_exp) << "world " << w << " step " << step << " arm " << o.arm;
      window_capped += a.window_end_ms && a.window_end_ms < now + life;
      lifetime_used += a.lifetime_s != 0;
      if (o.arm != 0) {
        ++discounted;
        // the guardrails' clock: the latest time of a discounted offer (what commit() sees), never back
        clock = std::max(clock, now);
        const int64_t period = clock / P;
        if (period != ledger_period) ledger_period = period, ledger = 0.0;
        ASSERT_FALSE(capped) << "per-shopper cap broken: shopper " << shopper << " had " << n_discounted[shopper];
        // the arm's cost on what it applies to: the item's price, or the cart arm's eligible lines;
        // judged against the item's, or the whole cart's, value and cost
        const double base = is_cart ? elig[o.arm] : price;
        double spend = 0, amount = 0;
        if (a.kind == disco::ArmKindSpec::Percent) spend = amount = double(a.value) * base;
        if (a.kind == disco::ArmKindSpec::FixedAmount) spend = amount = std::min(double(a.value), base);
        if (a.kind == disco::ArmKindSpec::FreeShipping) spend = a.merchant_cost;
        const double off = spend / price;
        ASSERT_LE(off, double(g.max_discount) + 1e-9) << "max discount broken";
        ASSERT_GE(price - cost - spend, double(g.margin_floor) * price - 1e-9 * price) << "margin floor broken";
        if (is_cart) {
          ++cart_discounted;
          ASSERT_GT(base, 0.0);
          ASSERT_GE(base, double(a.min_spend)) << "min spend broken";
          ASSERT_EQ(terms.eligible, base);
          ASSERT_EQ(terms.amount, amount);
          ASSERT_EQ(terms.min_spend, double(a.min_spend));
          ASSERT_EQ(o.discount, float(amount / price));
        } else {
          ASSERT_FALSE(has(g.excluded_items, item)) << "guardrails' excluded item discounted";
          ASSERT_TRUE(g.eligible_categories.empty() || has(g.eligible_categories, cat))
              << "guardrails' ineligible category discounted";
        }
        if (g.cooldown_s > 0 && last_discount[shopper] != INT64_MIN)
          ASSERT_GE(now - last_discount[shopper], int64_t(g.cooldown_s) * 1000) << "cooldown broken";
        if (g.budget_per_period > 0 && spend > 0) {
          ledger += spend;
          ASSERT_LE(ledger, double(g.budget_per_period) * (1 + 1e-9)) << "budget exceeded";
          const double frac = double(clock - period * P) / double(P);
          ASSERT_LE(ledger, double(g.budget_per_period) * std::min(1.0, frac + double(g.pacing_burst)) * (1 + 1e-9) + 1e-9)
              << "pacing broken: world " << w << " step " << step << " arm " << o.arm << " kind " << int(a.kind)
              << " value " << a.value << " spend " << spend << " price " << price << " discount " << o.discount
              << " budget " << g.budget_per_period << " frac " << frac << " burst " << g.pacing_burst << " flags " << o.guardrails;
        }
        last_discount[shopper] = std::max(last_discount[shopper], now);
        ++n_discounted[shopper];
        // some discounted offers lapse unredeemed: their spend goes back within the period
        if (rng.uniform() < 0.05) {
          ASSERT_EQ(disco_offer_expired(rt, o.decision_hi, o.decision_lo), DISCO_OK) << disco_last_error();
          if (now >= 0 && now / P == period) ledger = std::max(0.0, ledger - spend);
          ++released;
          continue;
        }
      }
      // some offers are shown and get an outcome (the bandit learns)
      if (rng.uniform() < 0.1) {
        ASSERT_EQ(disco_offer_shown(rt, o.decision_hi, o.decision_lo), DISCO_OK);
        disco_outcome out{};
        out.decision_hi = o.decision_hi;
        out.decision_lo = o.decision_lo;
        out.ts_ms = now;
        out.converted = rng.uniform() < 0.3;
        out.revenue = out.converted ? float(price) : 0.0f;
        out.reward = out.converted ? float(price * (1.0 - o.discount) - cost) : 0.0f;
        ASSERT_EQ(disco_update(rt, &out), DISCO_OK) << disco_last_error();
      }
    }
    for (disco_session* x : ses) disco_session_free(x);
    disco_runtime_free(rt);
  }
  std::printf("policy property test: %ld offers (%ld cart offers, %ld of them discounted), %ld discounted, %ld with an "
              "arm's lifetime, %ld expiring at the window's end, %ld lapsed (spend released), %ld at a window's edge; "
              "0 violations\n", offers, cart_offers, cart_discounted, discounted, lifetime_used, window_capped, released,
              edge_probes);
  for (int r = 0; r < kNRules; ++r) std::printf("  %-34s barred arms in %ld offers\n", rule_name[r], hits[r]);
  EXPECT_GE(offers, 1000000);
  EXPECT_GT(discounted, offers / 20);
  EXPECT_GT(cart_offers, offers / 4);
  EXPECT_GT(cart_discounted, 10000);
  EXPECT_GT(window_capped, 1000);
  EXPECT_GT(edge_probes, 10000);
  EXPECT_GT(lifetime_used, 1000);
  for (int r = 0; r < kNRules; ++r) EXPECT_GT(hits[r], 1000) << rule_name[r] << " barely exercised";
}

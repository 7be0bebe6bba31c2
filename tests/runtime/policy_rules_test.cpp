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
#include <set>
#include <string>

#include "disco/bundle_writer.h"
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

// THE property test of the offer-policy rules with the guardrails: random bundles (random
// campaign windows, cart-scope arms, category / brand / item / exclusion lists, lifetimes, the
// per-shopper cap, the guardrails' max discount, margin floor, budget with pacing, cooldown,
// eligible categories and excluded items), random shoppers and out-of-order times through
// disco_offer_make; an independent oracle checks every returned offer against every rule.
// 200 bundles x 5000 offers = 1,000,000 offers; deterministic (fixed seeds).
TEST(PolicyRules, PropertyNoOfferEverBreaksARuleOrAGuardrail) {
  const int kWorlds = 200, kSteps = 5000;
  const uint32_t kItems = 200;
  disco::Rng meta(2026, 12, 3, 14);
  long offers = 0, discounted = 0, edge_probes = 0, window_capped = 0, lifetime_used = 0, released = 0;
  // How often each rule barred at least one otherwise-configured arm from an offer (or, for the
  // guardrails, set its flag), so a reader sees every rule was exercised.
  enum Rule { kWindow, kCart, kCategories, kBrands, kItems_, kExcluded, kCap, kCooldown, kBudget, kMaxDiscount,
              kMarginFloor, kGuardIneligible, kNRules };
  const char* rule_name[kNRules] = {"arm outside its window", "cart-scope arm (never per item)",
                                    "arm's categories", "arm's brands", "arm's items", "arm's excluded_items",
                                    "per-shopper cap", "cooldown", "budget (guard flag)",
                                    "max discount (guard flag)", "margin floor (guard flag)",
                                    "INELIGIBLE flag (lists, rules)"};
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
      disco_offer o{};
      ASSERT_EQ(disco_offer_make(ses[shopper], item, now, 0, 0, &o), DISCO_OK) << disco_last_error();
      ++offers;
      ASSERT_LT(o.arm, n_arms);
      const double price = s.catalog.price[item], cost = s.catalog.cost[item];
      const uint32_t cat = s.catalog.category[item], brand = s.catalog.brand[item];
      // ---- the oracle: which arms the rules allow, and which rule barred which arm ----
      bool barred[kNRules] = {};
      uint32_t allowed = 1u;
      for (uint32_t i = 1; i < n_arms; ++i) {
        const disco::BundleArm& a = s.arms[i];
        bool ok = true;
        auto bar = [&](Rule r, bool cond) {
          if (cond) barred[r] = true, ok = false;
        };
        bar(kCart, a.scope == 2);
        bar(kWindow, now < a.window_start_ms || (a.window_end_ms && now >= a.window_end_ms));
        bar(kCategories, !a.categories.empty() && !has(a.categories, cat));
        bar(kBrands, !a.brands.empty() && !has(a.brands, brand));
        bar(kItems_, !a.items.empty() && !has(a.items, item));
        bar(kExcluded, has(a.excluded_items, item));
        if (ok) allowed |= 1u << i;
      }
      const bool capped = g.max_discounted_offers && n_discounted[shopper] >= g.max_discounted_offers;
      barred[kCap] = capped;
      barred[kCooldown] = g.cooldown_s > 0 && last_discount[shopper] != INT64_MIN &&
                          now - last_discount[shopper] < int64_t(g.cooldown_s) * 1000;
      barred[kBudget] = o.guardrails & DISCO_GUARD_BUDGET;
      barred[kMaxDiscount] = o.guardrails & DISCO_GUARD_MAX_DISCOUNT;
      barred[kMarginFloor] = o.guardrails & DISCO_GUARD_MARGIN_FLOOR;
      barred[kGuardIneligible] = o.guardrails & DISCO_GUARD_INELIGIBLE;
      for (int r = 0; r < kNRules; ++r) hits[r] += barred[r];
      ASSERT_TRUE(allowed >> o.arm & 1u)
          << "world " << w << " step " << step << ": arm " << o.arm << " offered against its rules (scope "
          << int(s.arms[o.arm].scope) << ", window [" << s.arms[o.arm].window_start_ms << ", "
          << s.arms[o.arm].window_end_ms << "), now " << now << ", item " << item << ")";
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
        double spend = 0, off = 0;
        if (a.kind == disco::ArmKindSpec::Percent) spend = double(a.value) * price, off = a.value;
        if (a.kind == disco::ArmKindSpec::FixedAmount) spend = std::min(double(a.value), price), off = spend / price;
        if (a.kind == disco::ArmKindSpec::FreeShipping) spend = a.merchant_cost, off = spend / price;
        ASSERT_LE(off, double(g.max_discount) + 1e-9) << "max discount broken";
        ASSERT_GE(price - cost - spend, double(g.margin_floor) * price - 1e-9 * price) << "margin floor broken";
        ASSERT_FALSE(has(g.excluded_items, item)) << "guardrails' excluded item discounted";
        ASSERT_TRUE(g.eligible_categories.empty() || has(g.eligible_categories, cat))
            << "guardrails' ineligible category discounted";
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
  std::printf("policy property test: %ld offers, %ld discounted, %ld with an arm's lifetime, %ld expiring at the "
              "window's end, %ld lapsed (spend released), %ld at a window's edge; 0 violations\n",
              offers, discounted, lifetime_used, window_capped, released, edge_probes);
  for (int r = 0; r < kNRules; ++r) std::printf("  %-34s barred arms in %ld offers\n", rule_name[r], hits[r]);
  EXPECT_GE(offers, 1000000);
  EXPECT_GT(discounted, offers / 20);
  EXPECT_GT(window_capped, 1000);
  EXPECT_GT(edge_probes, 10000);
  EXPECT_GT(lifetime_used, 1000);
  for (int r = 0; r < kNRules; ++r) EXPECT_GT(hits[r], 1000) << rule_name[r] << " barely exercised";
}

// Offer-policy rules in the runtime (schemas/bundle.fbs Arm scope / lifetime_s / window / eligibility,
// Guardrails.max_discounted_offers; runtime/src/bundle.cpp rule_mask, expiry): an arm outside its
// campaign window or its eligibility is never offered, cart-scope arms never by the per-item
// decision, an offer expires after its arm's lifetime and at its window's end at the latest, the
// per-shopper cap ends discounts, and the loader refuses malformed rules.
#include <gtest/gtest.h>

#include <set>

#include "disco/bundle_writer.h"
#include "disco/disco.h"
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

// Guardrails: unit tests per rule, and the property test: >= 1M random offers through
// eligible_arms -> bandit choose -> check -> commit, checked by an independent oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <sstream>
#include <vector>

#include <cereal/archives/portable_binary.hpp>

#include "disco/bandit.h"
#include "disco/context.h"
#include "disco/guardrails.h"

using namespace disco;

namespace {

std::vector<ArmSpec> standard_arms() {
  return {{ArmKind::Percent, 0.0, 0.0},     {ArmKind::Percent, 0.05, 0.0},
          {ArmKind::Percent, 0.10, 0.0},    {ArmKind::Percent, 0.20, 0.0},
          {ArmKind::FixedAmount, 5.0, 0.0}, {ArmKind::FreeShipping, 0.0, 4.0}};
}

OfferRequest req(double price, double cost, int64_t now, uint32_t item = 1, uint32_t cat = 0) {
  OfferRequest r;
  r.item = item;
  r.category = cat;
  r.price = price;
  r.cost = cost;
  r.now_ms = now;
  return r;
}

}  // namespace

TEST(BanditGuardrails, ConfigureValidates) {
  Guardrails g;
  GuardrailPolicy p;
  EXPECT_EQ(g.configure(p, standard_arms()), "");
  auto arms = standard_arms();
  arms[0].value = 0.1;
  EXPECT_NE(g.configure(p, arms).find("arm 0"), std::string::npos);
  arms = standard_arms();
  arms[2].value = 1.5;
  EXPECT_NE(g.configure(p, arms).find("arm 2"), std::string::npos);
  p.max_discount = 2;
  EXPECT_NE(g.configure(p, standard_arms()).find("max_discount"), std::string::npos);
  p = GuardrailPolicy{};
  p.budget_period_s = 0;
  EXPECT_NE(g.configure(p, standard_arms()).find("budget_period_s"), std::string::npos);
  EXPECT_NE(g.configure(GuardrailPolicy{}, {}), "");
}

TEST(BanditGuardrails, MaxDiscountAndMarginFloorIncludingShipping) {
  Guardrails g;
  GuardrailPolicy p;
  p.max_discount = 0.10;
  p.margin_floor = 0.05;
  ASSERT_EQ(g.configure(p, standard_arms()), "");
  uint32_t per[6], flags = 0;
  // price 100, cost 80: 5% -> margin 15 ok; 10% -> 10 ok; 20% > max; $5 ok; shipping 4 ok
  uint32_t m = g.eligible_arms(req(100, 80, 0), &flags, per);
  EXPECT_EQ(m, 0b110111u);
  EXPECT_EQ(per[3], DISCO_GUARD_MAX_DISCOUNT | DISCO_GUARD_MARGIN_FLOOR);
  // cost 88: margin floor 5 -> 5% ok (7), 10% (2) no, $5 (7) ok, shipping 4 -> 8 ok
  m = g.eligible_arms(req(100, 88, 0), &flags, per);
  EXPECT_EQ(m, 0b110011u);
  EXPECT_TRUE(flags & DISCO_GUARD_MARGIN_FLOOR);
  // cost 92: shipping 4 -> margin 4 < 5: shipping refused too
  m = g.eligible_arms(req(100, 92, 0), &flags, per);
  EXPECT_EQ(m, 0b000001u);
  EXPECT_EQ(per[5], DISCO_GUARD_MARGIN_FLOOR);
  // cheap item: $5 off a $20 item is 25% > max; shipping 4 on 20 is 20% > max
  m = g.eligible_arms(req(20, 5, 0), &flags, per);
  EXPECT_EQ(m, 0b000111u);
  EXPECT_TRUE(g.check(req(20, 5, 0), 2));
  EXPECT_FALSE(g.check(req(20, 5, 0), 4, &flags));
  EXPECT_EQ(flags, DISCO_GUARD_MAX_DISCOUNT);
  EXPECT_TRUE(g.check(req(20, 5, 0), 0));
  // exactly at the limit is allowed
  p.max_discount = 0.20;
  p.margin_floor = 0.0;
  ASSERT_EQ(g.configure(p, standard_arms()), "");
  EXPECT_TRUE(g.check(req(37.37, 10.0, 0), 3));
  // unusable price: only arm 0
  EXPECT_EQ(g.eligible_arms(req(NAN, 1, 0), &flags), 1u);
  EXPECT_EQ(flags, DISCO_GUARD_INELIGIBLE);
  EXPECT_EQ(g.eligible_arms(req(0, 1, 0), &flags), 1u);
}

TEST(BanditGuardrails, EligibilityLists) {
  Guardrails g;
  GuardrailPolicy p;
  p.max_discount = 1.0;
  p.eligible_categories = {7, 3};
  p.excluded_items = {42, 9};
  ASSERT_EQ(g.configure(p, standard_arms()), "");
  uint32_t f;
  EXPECT_EQ(g.eligible_arms(req(100, 10, 0, 1, 3), &f), 0x3fu);
  EXPECT_EQ(g.eligible_arms(req(100, 10, 0, 1, 4), &f), 1u);
  EXPECT_EQ(f, DISCO_GUARD_INELIGIBLE);
  EXPECT_EQ(g.eligible_arms(req(100, 10, 0, 9, 7), &f), 1u);
  EXPECT_EQ(g.eligible_arms(req(100, 10, 0, 10, 7), &f), 0x3fu);
}

TEST(BanditGuardrails, CooldownPerShopper) {
  Guardrails g;
  GuardrailPolicy p;
  p.cooldown_s = 3600;
  ASSERT_EQ(g.configure(p, standard_arms()), "");
  OfferRequest r = req(100, 10, 10'000'000);
  r.last_discount_offer_ms = r.now_ms - 3599'999;
  uint32_t f;
  EXPECT_EQ(g.eligible_arms(r, &f), 1u);
  EXPECT_EQ(f, DISCO_GUARD_COOLDOWN);
  r.last_discount_offer_ms = r.now_ms - 3600'000;
  EXPECT_EQ(g.eligible_arms(r, &f), 0x3fu);
  r.last_discount_offer_ms = r.now_ms + 5;  // offer "from the future": still cooling down
  EXPECT_EQ(g.eligible_arms(r, &f), 1u);
}

TEST(BanditGuardrails, BudgetPacingAndPeriods) {
  Guardrails g;
  GuardrailPolicy p;
  p.max_discount = 1.0;
  p.budget_per_period = 100.0;
  p.budget_period_s = 1000;  // 1000 s periods
  p.pacing_burst = 0.1;
  ASSERT_EQ(g.configure(p, standard_arms()), "");
  const int64_t t0 = 5'000'000;  // a period start
  EXPECT_DOUBLE_EQ(g.allowed_spend(t0), 10.0);
  EXPECT_DOUBLE_EQ(g.allowed_spend(t0 + 500'000), 60.0);
  EXPECT_DOUBLE_EQ(g.allowed_spend(t0 + 999'000), 100.0);
  // 20% of 40 = 8 spend per offer: at t0 one fits (8 <= 10), the second does not
  OfferRequest r = req(40, 0, t0);
  EXPECT_TRUE(g.check(r, 3));
  EXPECT_DOUBLE_EQ(g.commit(r, 3), 8.0);
  uint32_t f;
  EXPECT_FALSE(g.check(r, 3, &f));
  EXPECT_EQ(f, DISCO_GUARD_BUDGET);
  EXPECT_TRUE(g.check(r, 1));  // 2 more fits
  // half way: 60 allowed
  r.now_ms = t0 + 500'000;
  int n = 0;
  while (g.check(r, 3)) g.commit(r, 3), ++n;
  EXPECT_EQ(n, 6);  // 8 + 6*8 = 56 <= 60
  EXPECT_DOUBLE_EQ(g.spent(r.now_ms), 56.0);
  // release gives budget back in the same period
  g.release(t0 + 10, 8.0);
  EXPECT_DOUBLE_EQ(g.spent(r.now_ms), 48.0);
  // a late request (older timestamp) is judged at the latest time seen
  OfferRequest late = req(40, 0, t0 - 5'000'000);
  EXPECT_DOUBLE_EQ(g.allowed_spend(late.now_ms), 60.0);
  // next period resets
  r.now_ms = t0 + 1'000'000;
  EXPECT_DOUBLE_EQ(g.spent(r.now_ms), 0.0);
  EXPECT_TRUE(g.check(r, 3));
  g.commit(r, 3);
  EXPECT_DOUBLE_EQ(g.spent(r.now_ms), 8.0);
  g.release(t0, 8.0);  // previous period: ignored
  EXPECT_DOUBLE_EQ(g.spent(r.now_ms), 8.0);
  // save / restore keeps the spend state
  std::stringstream ss;
  {
    cereal::PortableBinaryOutputArchive ar(ss);
    ar(g);
  }
  Guardrails h;
  {
    cereal::PortableBinaryInputArchive ar(ss);
    ar(h);
  }
  EXPECT_EQ(h.validate(), "");
  EXPECT_DOUBLE_EQ(h.spent(r.now_ms), 8.0);
  EXPECT_EQ(h.eligible_arms(r), g.eligible_arms(r));
}

// THE property test: random policies, arms, items, prices, costs, shoppers, timestamps (some out
// of order) and outcomes through the whole decision path; an independent oracle checks every
// issued offer against every rule.
TEST(BanditGuardrails, PropertyNoOfferEverBreaksAGuardrail) {
  const int kWorlds = 200, kSteps = 5000;  // 1,000,000 offers
  const auto t_start = std::chrono::steady_clock::now();
  Rng meta(2026, 11, 28, 1);
  long offers = 0, discounted = 0, explored = 0;
  std::map<uint32_t, long> flag_counts;
  for (int w = 0; w < kWorlds; ++w) {
    // random policy
    GuardrailPolicy p;
    p.max_discount = meta.uniform() < 0.1 ? 0.0 : 0.5 * meta.uniform();
    p.margin_floor = meta.uniform() < 0.2 ? 0.0 : 0.3 * meta.uniform() - 0.05;
    p.budget_per_period = meta.uniform() < 0.2 ? 0.0 : 50.0 + 2000.0 * meta.uniform();
    p.budget_period_s = 60 + meta.below(86400);
    p.cooldown_s = meta.uniform() < 0.3 ? 0 : meta.below(7200);
    p.pacing_burst = meta.uniform() < 0.2 ? 0.0 : 0.2 * meta.uniform();
    const uint32_t n_cat = 1 + meta.below(10);
    if (meta.uniform() < 0.5)
      for (uint32_t c = 0; c < n_cat; ++c)
        if (meta.uniform() < 0.6) p.eligible_categories.push_back(c);
    const uint32_t n_items = 50 + meta.below(500);
    for (int i = 0; i < 10; ++i)
      if (meta.uniform() < 0.5) p.excluded_items.push_back(meta.below(n_items));
    // random arms
    std::vector<ArmSpec> arms{{ArmKind::Percent, 0.0, 0.0}};
    const uint32_t n_arms = 2 + meta.below(7);
    while (arms.size() < n_arms) {
      const uint32_t k = meta.below(3);
      if (k == 0) arms.push_back({ArmKind::Percent, 0.6 * meta.uniform(), 0.0});
      if (k == 1) arms.push_back({ArmKind::FixedAmount, 50.0 * meta.uniform(), 0.0});
      if (k == 2) arms.push_back({ArmKind::FreeShipping, 0.0, 15.0 * meta.uniform()});
    }
    Guardrails g;
    ASSERT_EQ(g.configure(p, arms), "");
    BanditConfig bc;
    bc.algorithm = static_cast<BanditAlgorithm>(meta.below(3));
    bc.n_arms = n_arms;
    bc.dim = kContextDim;
    bc.exploration_floor = 0.1 * meta.uniform();
    Bandit bandit;
    ASSERT_EQ(bandit.configure(bc), "");
    // catalog
    std::vector<double> price(n_items), cost(n_items);
    std::vector<uint32_t> cat(n_items);
    for (uint32_t i = 0; i < n_items; ++i) {
      price[i] = std::exp(std::log(0.5) + (std::log(3000.0) - std::log(0.5)) * meta.uniform());
      cost[i] = price[i] * (0.2 + 0.9 * meta.uniform());
      cat[i] = meta.below(n_cat);
    }
    const uint32_t n_shoppers = 1 + meta.below(60);
    std::vector<ShopperStats> shoppers(n_shoppers);
    std::vector<int64_t> oracle_last_discount(n_shoppers, INT64_MIN);
    // oracle ledger of reserved spend per period (by the monotone clock)
    std::map<int64_t, double> ledger;
    const int64_t P = static_cast<int64_t>(p.budget_period_s) * 1000;
    int64_t now = static_cast<int64_t>(meta.below(1u << 30)) * 1000;
    int64_t clock = INT64_MIN;
    struct Issued {
      int64_t ts;
      double spend;
    };
    std::vector<Issued> issued;
    Rng rng(w, 0, 0, 2);
    for (int s = 0; s < kSteps; ++s) {
      // time: mostly forward, sometimes backwards (late or reordered requests)
      const double u = rng.uniform();
      if (u < 0.05) now -= rng.below(600000);
      else now += static_cast<int64_t>(rng.below(u < 0.9 ? 20000 : 3000000));
      const uint32_t shopper = rng.below(n_shoppers);
      ShopperStats& st = shoppers[shopper];
      const uint32_t item = rng.below(n_items);
      OfferRequest r;
      r.item = item;
      r.category = cat[item];
      r.price = price[item];
      r.cost = cost[item];
      const double odd = rng.uniform();
      if (odd < 0.002) r.price = NAN;
      else if (odd < 0.004) r.price = 0.0;
      else if (odd < 0.006) r.cost = INFINITY;
      else if (odd < 0.05) r.price = price[item] * (0.5 + rng.uniform());  // sale price
      r.now_ms = now;
      r.last_discount_offer_ms = st.last_discount_offer_ms;
      if (rng.uniform() < 0.3) on_event(st, rng.below(5), r.price, 1, now);
      ContextInputs in;
      in.stats = &st;
      in.purchase_propensity = rng.uniform();
      in.price = r.price;
      in.cost = r.cost;
      in.now_ms = now;
      float x[kContextDim];
      build_context(in, x);
      // the decision path
      uint32_t flags = 0;
      const uint32_t mask = g.eligible_arms(r, &flags);
      ASSERT_TRUE(mask & 1u);
      Rng drng(99, static_cast<uint64_t>(w), static_cast<uint64_t>(s));
      const Choice ch = bandit.choose(x, mask, drng);
      ASSERT_TRUE(mask >> ch.arm & 1u) << "bandit chose an ineligible arm";
      ASSERT_GT(ch.propensity, 0.0);
      ASSERT_LE(ch.propensity, 1.0 + 1e-12);
      ASSERT_GE(ch.propensity, bc.exploration_floor / __builtin_popcount(mask) * (1 - 1e-9));
      for (uint32_t b = 0; b < 32; ++b)
        if (flags >> b & 1u) ++flag_counts[1u << b];
      uint32_t cf = 0;
      uint32_t arm = ch.arm;
      if (!g.check(r, arm, &cf)) arm = 0;  // defence in depth (never expected to trigger)
      ASSERT_EQ(arm, ch.arm) << "check() disagreed with eligible_arms(), flags " << cf;
      const double spend = g.commit(r, arm);
      // ---- independent oracle ----
      clock = std::max(clock, now);
      const int64_t period = clock >= 0 ? clock / P : -((-clock + P - 1) / P);
      if (arm != 0) {
        ++discounted;
        const ArmSpec& a = arms[arm];
        ASSERT_TRUE(std::isfinite(r.price) && r.price > 0 && std::isfinite(r.cost));
        double oracle_spend = 0, off = 0;
        if (a.kind == ArmKind::Percent) oracle_spend = a.value * r.price, off = a.value;
        if (a.kind == ArmKind::FixedAmount)
          oracle_spend = std::min(a.value, r.price), off = oracle_spend / r.price;
        if (a.kind == ArmKind::FreeShipping) oracle_spend = a.merchant_cost, off = 0;
        ASSERT_DOUBLE_EQ(spend, oracle_spend);
        ASSERT_LE(off, p.max_discount + 1e-12) << "max discount broken";
        ASSERT_LE(oracle_spend, p.max_discount * r.price * (1 + 1e-12)) << "max discount (cost) broken";
        ASSERT_GE(r.price - r.cost - oracle_spend, p.margin_floor * r.price - 1e-9 * r.price)
            << "margin floor broken";
        ASSERT_TRUE(std::find(p.excluded_items.begin(), p.excluded_items.end(), item) ==
                    p.excluded_items.end())
            << "excluded item discounted";
        ASSERT_TRUE(p.eligible_categories.empty() ||
                    std::find(p.eligible_categories.begin(), p.eligible_categories.end(), r.category) !=
                        p.eligible_categories.end())
            << "ineligible category discounted";
        if (p.cooldown_s > 0 && oracle_last_discount[shopper] != INT64_MIN) {
          ASSERT_GE(now - oracle_last_discount[shopper], static_cast<int64_t>(p.cooldown_s) * 1000)
              << "cooldown broken";
        }
        if (p.budget_per_period > 0 && oracle_spend > 0) {
          double& l = ledger[period];
          l += oracle_spend;
          ASSERT_LE(l, p.budget_per_period * (1 + 1e-12)) << "budget exceeded in period " << period;
          const double frac = static_cast<double>(clock - period * P) / static_cast<double>(P);
          ASSERT_LE(l, p.budget_per_period * std::min(1.0, frac + p.pacing_burst) * (1 + 1e-12) + 1e-9)
              << "pacing broken";
        }
        oracle_last_discount[shopper] = std::max(oracle_last_discount[shopper], now);
        issued.push_back({now, oracle_spend});
      }
      on_offer(st, arm != 0, now);
      ++offers;
      explored += ch.explored;
      // outcomes: some convert (bandit learns margin), some expire unused (budget released)
      if (rng.uniform() < 0.15) {
        const double d = arm_cost(arms[arm], r.price).spend;
        const double margin = std::isfinite(r.price) ? r.price - r.cost - d : 0.0;
        bandit.update(arm, x, scaled_reward(margin, r.price));
      } else if (arm != 0 && rng.uniform() < 0.05 && p.budget_per_period > 0) {
        g.release(now, spend);
        if (clock >= 0 && now >= 0 && now / P == period && clock / P == period) {
          ledger[period] = std::max(0.0, ledger[period] - spend);
        }
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("property test: %ld offers (%ld discounted, %ld by the floor) in %.1f s\n", offers,
              discounted, explored, secs);
  for (auto [bit, n] : flag_counts) std::printf("  guard bit 0x%02x limited %ld requests\n", bit, n);
  EXPECT_GE(offers, 1000000);
  EXPECT_GT(discounted, offers / 20);  // the test exercises real discounts, not only arm 0
  for (uint32_t bit : {DISCO_GUARD_MAX_DISCOUNT, DISCO_GUARD_MARGIN_FLOOR, DISCO_GUARD_BUDGET,
                       DISCO_GUARD_COOLDOWN, DISCO_GUARD_INELIGIBLE})
    EXPECT_GT(flag_counts[bit], 1000) << "rule 0x" << std::hex << bit << " barely exercised";
}

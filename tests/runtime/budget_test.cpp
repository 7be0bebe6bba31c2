// The budget's dual price (disco/guardrails.h, Dual mode; schemas/bundle.fbs Guardrails.budget_mode):
// lambda rises while spend runs ahead of the paced target and falls back when it does not; with a
// binding budget the hard cap still holds and the discounts go to the contexts where they gain most
// per unit of spend (first come first served splits them); logged propensities include the price;
// the price survives save / restore (format 3) and a format 2 state restores with lambda 0; bad
// settings are refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "disco/context.h"
#include "disco/guardrails.h"
#include "test_util.h"

using rt_test::BundleHolder;

namespace {

constexpr int64_t kT0 = 1700000000000;

std::vector<disco::ArmSpec> arms() {
  return {{disco::ArmKind::Percent, 0.0, 0.0}, {disco::ArmKind::Percent, 0.1, 0.0}, {disco::ArmKind::Percent, 0.2, 0.0}};
}

disco::GuardrailPolicy dual_policy(double budget, uint32_t period_s, double rate) {
  disco::GuardrailPolicy p;
  p.budget_per_period = budget;
  p.budget_period_s = period_s;
  p.budget_mode = disco::BudgetMode::Dual;
  p.budget_dual_rate = rate;
  return p;
}

disco::OfferRequest request(int64_t now, double price = 50.0) {
  disco::OfferRequest r;
  r.item = 1;
  r.price = price;
  r.cost = 10.0;
  r.now_ms = now;
  return r;
}

// An item of the synthetic catalog priced near 50 (price = 5 + (i * 7919 % 9500) / 100), in stock.
uint32_t item_near_50() {
  for (uint32_t i = 0; i < 300; ++i) {
    const float price = 5.0f + float((i * 7919u) % 9500u) / 100.0f;
    if (i % 17 != 16 && price > 45.0f && price < 55.0f) return i;
  }
  return 0;
}
float price_of(uint32_t i) { return 5.0f + float((i * 7919u) % 9500u) / 100.0f; }

// A bundle whose value model makes the 15% arm (arm 3) worth `bias` currency units to every shopper
// and `bias + cart` to a shopper with a full cart (context feature kFeatCart = 1), with a budget.
disco::BundleSpec budget_spec(float budget, uint8_t mode, float rate, float bias = 10.0f, float cart = 40.0f) {
  disco::BundleSpec s = disco::make_synthetic_spec(rt_test::small_options());
  s.bandit.noise_scale = 0.05f;  // the untrained bandit's draws small beside the value model's gains
  disco::ValueModelSpec& v = s.value_model;
  v.context_dim = uint16_t(disco::kContextDim);
  const uint32_t nf = disco::kContextDim;
  v.weights.assign(size_t(s.arms.size()) * nf, 0.0f);
  v.weights[3 * nf + disco::kFeatBias] = bias;
  v.weights[3 * nf + disco::kFeatCart] = cart;
  v.max_abs = 1000.0f;
  v.fitted = "budget test";
  s.guardrails.budget_per_period = budget;
  s.guardrails.budget_period_s = 3600;
  s.guardrails.budget_mode = mode;
  s.guardrails.budget_dual_rate = rate;
  return s;
}

struct Split {
  int high = 0, low = 0;      // discounted offers to the full-cart (high gain) / empty-cart shopper
  double gain = 0.0;          // sum of the value model's gain of the discounted offers
  int budget_refusals = 0;    // offers where the cap removed arms
  double max_period_spend = 0.0;
};

// Two shoppers, one with a full cart, asking in turn every 6 s for `hours` hours; the spend of every
// discounted offer is checked against the paced cap of its period.
Split run_two_shoppers(const disco_bundle* b, double budget, int hours, int warmup_hours = 1) {
  disco_runtime* rt = rt_test::make_runtime(b, 21);
  disco_session *hi = nullptr, *lo = nullptr;
  EXPECT_EQ(disco_session_create(rt, 1, &hi), DISCO_OK);
  EXPECT_EQ(disco_session_create(rt, 2, &lo), DISCO_OK);
  const uint32_t item = item_near_50();
  const int64_t start = (kT0 / 3600000 + 1) * 3600000;  // a period start
  for (int k = 0; k < 10; ++k) rt_test::observe(hi, rt_test::ev(start - 60000 + k, item, DISCO_EVENT_CART));
  Split r;
  double spent = 0.0;
  int64_t period = -1;
  for (int k = 0; k < hours * 600; ++k) {
    const int64_t now = start + int64_t(k) * 6000;
    disco_session* s = k % 2 ? lo : hi;
    disco_offer o{};
    EXPECT_EQ(disco_offer_make(s, item, now, 0, 0, &o), DISCO_OK) << disco_last_error();
    const int64_t p = (now - start) / 3600000;
    if (p != period) period = p, spent = 0.0;
    const double spend = o.arm == 4 ? 4.5 : double(o.discount) * double(price_of(item));
    if (o.arm) spent += spend;
    const double frac = double((now - start) % 3600000) / 3600000.0;
    EXPECT_LE(spent, budget * std::min(1.0, frac + 0.05) + 1e-3) << "paced cap exceeded at offer " << k;
    r.max_period_spend = std::max(r.max_period_spend, spent);
    if (o.guardrails & DISCO_GUARD_BUDGET) ++r.budget_refusals;
    if (k >= warmup_hours * 600 && o.arm != 0) {
      (s == hi ? r.high : r.low)++;
      if (o.arm == 3) r.gain += s == hi ? 50.0 : 10.0;
    }
  }
  disco_session_free(hi);
  disco_session_free(lo);
  disco_runtime_free(rt);
  return r;
}

std::vector<uint8_t> save(disco_runtime* rt) {
  size_t len = 0;
  EXPECT_EQ(disco_runtime_save(rt, nullptr, 0, &len), DISCO_ERR_BUFFER_TOO_SMALL);
  std::vector<uint8_t> buf(len);
  EXPECT_EQ(disco_runtime_save(rt, buf.data(), buf.size(), &len), DISCO_OK) << disco_last_error();
  buf.resize(len);
  return buf;
}

// Offset of the dual-price block {u8 mode, f64 rate, f64 lambda, i64 clock} in a format 3 state.
size_t dual_block(const std::vector<uint8_t>& st, double rate) {
  uint8_t pat[9];
  pat[0] = 1;
  std::memcpy(pat + 1, &rate, 8);
  size_t found = SIZE_MAX;
  for (size_t i = 0; i + 25 <= st.size(); ++i)
    if (std::memcmp(st.data() + i, pat, 9) == 0) {
      EXPECT_EQ(found, SIZE_MAX) << "dual block pattern is not unique";
      found = i;
    }
  return found;
}

// The format 3 bytes of a format 4 runtime state: each pending decision without its reserved spend
// (the entry's last 8 bytes: slot 4, id 16, ts 8, price 4, arm 4, shown 1, context 60, held 1,
// reward 8, spend 8); the pending table follows the dual block (25 bytes) and its 3 counts.
std::vector<uint8_t> format3_of(std::vector<uint8_t> st, size_t dual_at) {
  uint32_t n = 0, version = 3;
  size_t p = dual_at + 25;
  std::memcpy(&n, st.data() + p + 8, 4);
  p += 12;
  for (uint32_t k = 0; k < n; ++k) {
    p += 106;
    st.erase(st.begin() + long(p), st.begin() + long(p) + 8);
  }
  std::memcpy(st.data() + 4, &version, 4);
  return st;
}

}  // namespace

TEST(RuntimeBudgetDual, PriceRisesWhenSpendRunsAheadAndFallsBackWhenItDoesNot) {
  disco::Guardrails g;
  disco::GuardrailPolicy p = dual_policy(100.0, 1000, 100.0);
  p.pacing_burst = 0.5;  // room to run ahead of the target
  ASSERT_EQ(g.configure(p, arms()), "");
  ASSERT_TRUE(g.dual());
  const int64_t t0 = int64_t(1000000) * 1000;  // a period start
  g.pace(t0);
  EXPECT_EQ(g.lambda(), 0.0);
  EXPECT_EQ(g.price(), 0.0);
  // Ahead of pace: a 10% arm on a 50 item (spend 5) every 10 s, 5x the target rate (100 / 1000 s).
  double prev_lambda = 0.0;
  for (int k = 0; k < 6; ++k) {
    const int64_t now = t0 + k * 10000;
    g.pace(now);
    if (k > 1) EXPECT_GT(g.lambda(), prev_lambda) << "step " << k;
    prev_lambda = g.lambda();
    ASSERT_TRUE(g.check(request(now), 1));
    g.commit(request(now), 1);
    const double e = g.spent(now) / 100.0 - double(now - t0) / 1e6;
    EXPECT_NEAR(g.price(), std::max(0.0, g.lambda() + 2.0 * 10.0 * e), 1e-12) << "step " << k;
    EXPECT_GT(g.price(), g.lambda());  // ahead: the proportional term adds
  }
  // The integral exactly: sum over steps of eta * e(t_k) * dt / P, e(t_k) = 5 k / 100 - k / 100.
  double expect = 0.0;
  for (int k = 1; k < 6; ++k) expect += 100.0 * (5.0 * k / 100.0 - 10.0 * k / 1000.0) * 0.01;
  EXPECT_NEAR(g.lambda(), expect, 1e-12);
  const double high = g.price();
  // Behind pace: no spend -> the error turns negative, the price falls to 0 and lambda with it.
  g.pace(t0 + 200000);
  EXPECT_LT(g.price(), high);
  g.pace(t0 + 900000);
  EXPECT_EQ(g.price(), 0.0);
  EXPECT_LT(g.lambda(), expect);
  for (int k = 1; k <= 30; ++k) g.pace(t0 + 1000000 + k * 30000);  // a new period, still no spend
  EXPECT_EQ(g.lambda(), 0.0);
  // A late request (clock behind) changes nothing.
  g.pace(t0);
  EXPECT_EQ(g.lambda(), 0.0);
  // On pace (spend 5 every 50 s = the target rate) the price stays near 0.
  const int64_t t1 = t0 + 3 * 1000000;
  for (int k = 0; k < 19; ++k) {
    const int64_t now = t1 + k * 50000;
    g.pace(now);
    if (g.check(request(now), 1)) g.commit(request(now), 1);
    EXPECT_LE(g.price(), 2.0 * 10.0 * 0.05 + 1e-9) << k;
    EXPECT_LE(g.lambda(), 0.05) << k;
  }
  // The offsets: -price * spend / item price on each arm, nothing on arm 0.
  double off[3] = {1.0, 1.0, 1.0};
  g.budget_offsets(50.0, 2.0, off);
  EXPECT_EQ(off[0], 1.0);
  EXPECT_DOUBLE_EQ(off[1], 1.0 - 2.0 * 0.1);
  EXPECT_DOUBLE_EQ(off[2], 1.0 - 2.0 * 0.2);
}

TEST(RuntimeBudgetDual, FcfsAndUnlimitedBudgetsKeepNoPrice) {
  disco::Guardrails g;
  disco::GuardrailPolicy p = dual_policy(100.0, 1000, 4.0);
  p.budget_mode = disco::BudgetMode::Fcfs;
  p.pacing_burst = 0.5;
  ASSERT_EQ(g.configure(p, arms()), "");
  EXPECT_FALSE(g.dual());
  for (int k = 0; k < 5; ++k) {
    g.pace(k * 1000);
    if (g.check(request(k * 1000), 2)) g.commit(request(k * 1000), 2);
  }
  EXPECT_GT(g.spent(5000), 0.0);
  EXPECT_EQ(g.lambda(), 0.0);
  EXPECT_EQ(g.price(), 0.0);
  ASSERT_EQ(g.configure(dual_policy(0.0, 1000, 4.0), arms()), "");  // no budget: nothing to price
  EXPECT_FALSE(g.dual());
  g.pace(0);
  g.commit(request(0), 2);
  g.pace(100000);
  EXPECT_EQ(g.lambda(), 0.0);
  EXPECT_EQ(g.price(), 0.0);
}

TEST(RuntimeBudgetDual, RefusesBadSettingsWithMessages) {
  disco::Guardrails g;
  disco::GuardrailPolicy p = dual_policy(100.0, 1000, 0.0);
  EXPECT_NE(g.configure(p, arms()).find("budget_dual_rate must be in (0, 1e6] (dual mode)"), std::string::npos);
  p.budget_dual_rate = NAN;
  EXPECT_NE(g.configure(p, arms()).find("budget_dual_rate"), std::string::npos);
  p.budget_dual_rate = 4.0;
  p.budget_mode = static_cast<disco::BudgetMode>(7);
  EXPECT_NE(g.configure(p, arms()).find("budget_mode must be fcfs (0) or dual (1), got 7"), std::string::npos);
  p.budget_mode = disco::BudgetMode::Fcfs;
  p.budget_dual_rate = 0.0;  // no rate needed without the price
  EXPECT_EQ(g.configure(p, arms()), "");

  // Through the bundle: the runtime refuses the policy and names the field.
  BundleHolder bad_mode(budget_spec(100.0f, 5, 4.0f));
  disco_runtime_options o;
  disco_runtime_default_options(&o);
  disco_runtime* rt = nullptr;
  EXPECT_EQ(disco_runtime_create(bad_mode.bundle, &o, &rt), DISCO_ERR_BUNDLE_FORMAT);
  EXPECT_NE(std::string(disco_last_error()).find("guardrails.budget_mode must be fcfs (0) or dual (1), got 5"),
            std::string::npos)
      << disco_last_error();
  BundleHolder bad_rate(budget_spec(100.0f, 1, -1.0f));
  EXPECT_EQ(disco_runtime_create(bad_rate.bundle, &o, &rt), DISCO_ERR_BUNDLE_FORMAT);
  EXPECT_NE(std::string(disco_last_error()).find("budget_dual_rate"), std::string::npos) << disco_last_error();
}

TEST(RuntimeBudgetDual, BindingBudgetGoesToTheHigherGainShopperAndNeverExceedsTheCap) {
  // 300 offers an hour to each shopper; the 15% arm costs ~7.5 and the budget pays for 60 an hour.
  // Unconstrained both shoppers get it (gain 10 and 50); first come first served splits the
  // budget between them; the dual price gives it to the full cart.
  const uint32_t item = item_near_50();
  const double budget = 60 * 0.15 * double(price_of(item));
  BundleHolder fcfs(budget_spec(float(budget), 0, 4.0f));
  BundleHolder dual(budget_spec(float(budget), 1, 100.0f));
  BundleHolder unlimited(budget_spec(0.0f, 1, 100.0f));
  const Split f = run_two_shoppers(fcfs.bundle, budget, 4);
  const Split d = run_two_shoppers(dual.bundle, budget, 4);
  const Split u = run_two_shoppers(unlimited.bundle, 1e9, 2);
  // Unconstrained: both shoppers are worth a discount (300 offers each after the first hour).
  EXPECT_GT(u.high, 280);
  EXPECT_GT(u.low, 200);
  EXPECT_EQ(u.budget_refusals, 0);
  // The cap binds in both modes (checked offer by offer in run_two_shoppers), and never more than the budget.
  EXPECT_GT(f.budget_refusals, 100);
  EXPECT_LE(f.max_period_spend, budget + 1e-3);
  EXPECT_LE(d.max_period_spend, budget + 1e-3);
  // FCFS: both shoppers share the budget; dual: the full cart gets nearly all of it.
  EXPECT_GT(f.low, 40) << "fcfs high " << f.high << " low " << f.low;
  EXPECT_GT(double(d.high) / double(d.high + d.low), 0.85) << "dual high " << d.high << " low " << d.low;
  EXPECT_GT(double(d.high) / double(d.high + d.low), double(f.high) / double(f.high + f.low) + 0.2);
  // The same budget buys more gain (at most the discounts the cap allows in either mode).
  EXPECT_GT(d.gain, 1.3 * f.gain) << "dual " << d.gain << " fcfs " << f.gain;
  std::printf("high / low gain shopper's discounts after the first hour: fcfs %d / %d (gain %.0f), dual %d / %d (gain %.0f)\n",
              f.high, f.low, f.gain, d.high, d.low, d.gain);
}

TEST(RuntimeBudgetDual, LoggedPropensityIncludesThePriceAndTheStateRoundTrips) {
  const uint32_t item = item_near_50();
  const double budget = double(float(60 * 0.15 * double(price_of(item))));
  BundleHolder dual(budget_spec(float(budget), 1, 100.0f));
  disco_runtime* rt = rt_test::make_runtime(dual.bundle, 5);
  disco_runtime* other = rt_test::make_runtime(dual.bundle, 5);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(rt, 7, &s), DISCO_OK);
  const int64_t start = (kT0 / 3600000 + 1) * 3600000;
  int checked = 0, priced = 0;
  double spent = 0.0;
  const double p = double(price_of(item));
  const double arm_spend[5] = {0.0, double(0.05f) * p, double(0.1f) * p, double(0.15f) * p, 4.5};
  for (int k = 0; k < 400; ++k) {
    const int64_t now = start + int64_t(k / 4) * 9000;  // bursts of 4 decisions at one time: pace() moves once
    const std::vector<uint8_t> before = save(rt);
    // The arms the paced cap allows now (guardrails.h), away from the boundary; the caller's mask.
    const double allowed = budget * std::min(1.0, double(now - start) / 3600000.0 + 0.05);
    uint32_t mask = 1;
    bool borderline = false;
    for (int a = 1; a < 5; ++a) {
      if (spent + arm_spend[a] <= allowed) mask |= 1u << a;
      borderline |= std::fabs(spent + arm_spend[a] - allowed) < 1e-6;
    }
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(s, item, now, 0, 0, &o), DISCO_OK) << disco_last_error();
    if (o.arm) spent += arm_spend[o.arm];
    EXPECT_LE(spent, allowed + 1e-6);
    if (k % 4 == 0 || borderline) continue;  // the integral moved in pace() / a mask this test cannot know
    // The runtime as it was before the decision, with the same time (pace() did nothing): the arm
    // probabilities it gives for the logged context are the logged propensity, price included.
    ASSERT_EQ(disco_runtime_restore(other, before.data(), before.size()), DISCO_OK) << disco_last_error();
    double unpriced[5];
    double pr[5];
    ASSERT_EQ(disco_policy_probabilities(other, o.context, o.context_dim, mask, p, 0.6 * p, pr), DISCO_OK);
    EXPECT_NEAR(pr[o.arm], double(o.propensity), 1e-6) << "offer " << k;
    ++checked;
    // The same state with lambda zeroed gives other probabilities whenever the price is > 0.
    std::vector<uint8_t> zeroed = before;
    const size_t at = dual_block(zeroed, 100.0);
    ASSERT_NE(at, SIZE_MAX);
    double lambda = 0;
    std::memcpy(&lambda, zeroed.data() + at + 9, 8);
    if (lambda > 0) {
      const double zero = 0.0;
      std::memcpy(zeroed.data() + at + 9, &zero, 8);
      ASSERT_EQ(disco_runtime_restore(other, zeroed.data(), zeroed.size()), DISCO_OK) << disco_last_error();
      ASSERT_EQ(disco_policy_probabilities(other, o.context, o.context_dim, mask, p, 0.6 * p, unpriced), DISCO_OK);
      double diff = 0.0;
      for (int a = 0; a < 5; ++a) diff = std::max(diff, std::fabs(unpriced[a] - pr[a]));
      priced += diff > 1e-3;
    }
  }
  EXPECT_GT(checked, 200);
  EXPECT_GT(priced, 10) << "checked " << checked;  // the price moved the probabilities (the comparison above is not vacuous)

  // Round trip: a restored runtime decides as the one that saved it, price included.
  const std::vector<uint8_t> st = save(rt);
  ASSERT_EQ(disco_runtime_restore(other, st.data(), st.size()), DISCO_OK) << disco_last_error();
  disco_session* s2 = nullptr;
  std::vector<uint8_t> sess(1 << 16);
  size_t slen = 0;
  ASSERT_EQ(disco_session_save(s, sess.data(), sess.size(), &slen), DISCO_OK);
  ASSERT_EQ(disco_session_restore(other, sess.data(), slen, &s2), DISCO_OK) << disco_last_error();
  for (int k = 0; k < 40; ++k) {
    const int64_t now = start + 3600000 + int64_t(k) * 20000;
    disco_offer a{}, b{};
    ASSERT_EQ(disco_offer_make(s, item, now, 0, 0, &a), DISCO_OK);
    ASSERT_EQ(disco_offer_make(s2, item, now, 0, 0, &b), DISCO_OK);
    EXPECT_TRUE(rt_test::same_offer(a, b)) << "offer " << k;
  }
  EXPECT_EQ(save(rt), save(other));

  // A format 2 state (before the dual price: the same bytes without the block) restores with
  // lambda 0: it gives the probabilities of the format 3 state whose lambda is 0. (Format 3 = the
  // saved format 4 without the pending decisions' spend; that one restores to the same state.)
  const std::vector<uint8_t> v4 = save(rt);
  const size_t at = dual_block(v4, 100.0);
  ASSERT_NE(at, SIZE_MAX);
  std::vector<uint8_t> v3 = format3_of(v4, at);
  ASSERT_LT(v3.size(), v4.size());
  ASSERT_EQ(disco_runtime_restore(other, v3.data(), v3.size()), DISCO_OK) << disco_last_error();
  EXPECT_EQ(save(other), v4);  // each pending decision's spend: its arm's cost at its price
  std::vector<uint8_t> v2 = v3;
  v2.erase(v2.begin() + long(at), v2.begin() + long(at) + 25);
  const uint32_t two = 2;
  std::memcpy(v2.data() + 4, &two, 4);
  std::vector<uint8_t> v3_zero = v3;
  const double zero = 0.0;
  const int64_t never = INT64_MIN;
  std::memcpy(v3_zero.data() + at + 9, &zero, 8);
  std::memcpy(v3_zero.data() + at + 17, &never, 8);
  double lambda = 0;
  std::memcpy(&lambda, v3.data() + at + 9, 8);
  disco_offer probe{};
  ASSERT_EQ(disco_offer_make(s, item, start + 3 * 3600000, 0, 0, &probe), DISCO_OK);
  double p2[5], p3[5], p3z[5];
  ASSERT_EQ(disco_runtime_restore(other, v2.data(), v2.size()), DISCO_OK) << disco_last_error();
  ASSERT_EQ(disco_policy_probabilities(other, probe.context, probe.context_dim, 0, p, 0.6 * p, p2), DISCO_OK);
  ASSERT_EQ(disco_runtime_restore(other, v3_zero.data(), v3_zero.size()), DISCO_OK) << disco_last_error();
  ASSERT_EQ(disco_policy_probabilities(other, probe.context, probe.context_dim, 0, p, 0.6 * p, p3z), DISCO_OK);
  ASSERT_EQ(disco_runtime_restore(other, v3.data(), v3.size()), DISCO_OK) << disco_last_error();
  ASSERT_EQ(disco_policy_probabilities(other, probe.context, probe.context_dim, 0, p, 0.6 * p, p3), DISCO_OK);
  for (int a = 0; a < 5; ++a) EXPECT_EQ(p2[a], p3z[a]) << "arm " << a;
  if (lambda > 0) EXPECT_NE(p2[3], p3[3]);

  // A corrupted price is refused by name.
  std::vector<uint8_t> bad = v3;
  const double negative = -1.0;
  std::memcpy(bad.data() + at + 9, &negative, 8);
  EXPECT_EQ(disco_runtime_restore(other, bad.data(), bad.size()), DISCO_ERR_STATE);
  EXPECT_NE(std::string(disco_last_error()).find("dual price"), std::string::npos) << disco_last_error();
  bad = v3;
  bad[at] = 9;
  EXPECT_EQ(disco_runtime_restore(other, bad.data(), bad.size()), DISCO_ERR_STATE);
  EXPECT_NE(std::string(disco_last_error()).find("budget_mode"), std::string::npos) << disco_last_error();

  disco_session_free(s);
  disco_session_free(s2);
  disco_runtime_free(rt);
  disco_runtime_free(other);
}

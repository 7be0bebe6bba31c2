// Digests of bit patterns produced by the decision code: portable math, the RNG, context
// features, guardrails and all three bandit algorithms (updates + choices + propensities).
// Native and WASM builds must print the same values (tests/bandit/golden_main.cpp builds with
// em++; bandit_golden_test.cpp freezes them natively).
#pragma once
#include <cstdint>
#include <cstring>

#include "disco/bandit.h"
#include "disco/context.h"
#include "disco/guardrails.h"
#include "disco/portable_math.h"
#include "disco/rng.h"

namespace disco_golden {

struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void bytes(const void* p, size_t n) {
    const unsigned char* c = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
  }
  void d(double v) { bytes(&v, sizeof v); }
  void f(float v) { bytes(&v, sizeof v); }
  void u(uint64_t v) { bytes(&v, sizeof v); }
};

inline uint64_t math_digest() {
  namespace pm = disco::pmath;
  Fnv h;
  disco::Rng r(1, 2, 3, 40);
  for (int i = 0; i < 20000; ++i) {
    const double x = 80.0 * r.uniform() - 40.0;
    const double p = r.uniform_open();
    h.d(pm::exp(x * 10));
    h.d(pm::log(pm::exp(x * 10) + 1e-300));
    h.d(pm::sigmoid(x));
    h.d(pm::tanh(x));
    h.f(pm::expf(static_cast<float>(x)));
    h.f(pm::sigmoidf(static_cast<float>(x)));
    h.f(pm::tanhf(static_cast<float>(x)));
    h.d(pm::normal_cdf(x / 4));
    h.d(pm::normal_pdf(x / 4));
    h.d(pm::normal_quantile(p));
  }
  return h.h;
}

inline uint64_t rng_digest() {
  Fnv h;
  for (uint64_t id = 0; id < 1000; ++id) {
    disco::Rng r(0xdecafbad, id * 0x9e3779b97f4a7c15ull, ~id, static_cast<uint32_t>(id % 3));
    for (int i = 0; i < 7; ++i) h.u(r.next_u64());
    h.d(r.uniform());
    h.d(r.normal());
    h.u(r.below(6));
  }
  return h.h;
}

inline uint64_t context_digest() {
  Fnv h;
  disco::Rng r(9, 9, 9, 41);
  disco::ShopperStats s;
  int64_t ts = 1700000000000;
  for (int i = 0; i < 5000; ++i) {
    ts += r.below(3600000);
    const uint32_t type = r.below(5);  // draws sequenced: argument order is unspecified
    const double price = 500 * r.uniform();
    const int32_t qty = 1 + static_cast<int32_t>(r.below(3));
    disco::on_event(s, type, price, qty, ts);
    if (r.uniform() < 0.2) disco::on_offer(s, r.uniform() < 0.5, ts);
    disco::ContextInputs in;
    in.stats = &s;
    in.purchase_propensity = r.uniform();
    in.price = 300 * r.uniform();
    in.cost = in.price * r.uniform();
    (void)r.below(8);  // was the item-interest draw (context v1); kept so the stream is unchanged
    in.now_ms = ts;
    float x[disco::kContextDim];
    disco::build_context(in, x);
    for (float v : x) h.f(v);
  }
  return h.h;
}

// The bandit digest runs at a fixed 12 features (the context length when it was frozen), so it
// tests the bandit's math independently of the context's length.
inline constexpr uint32_t kBanditGoldenDim = 12;

inline uint64_t bandit_digest(disco::BanditAlgorithm alg) {
  Fnv h;
  disco::BanditConfig c;
  c.algorithm = alg;
  c.n_arms = 6;
  c.dim = kBanditGoldenDim;
  c.noise_scale = 0.5;
  c.exploration_floor = 0.03;
  disco::Bandit b;
  if (!b.configure(c).empty()) return 0;
  disco::Rng r(5, 5, 5, 42);
  float x[kBanditGoldenDim];
  for (int t = 0; t < 3000; ++t) {
    x[0] = 1.0f;
    for (uint32_t i = 1; i < kBanditGoldenDim; ++i) x[i] = static_cast<float>(r.uniform());
    disco::Rng dr(77, 0, static_cast<uint64_t>(t));
    const uint32_t mask = t % 5 == 0 ? 0x15u : 0x3fu;
    const disco::Choice ch = b.choose(x, mask, dr, t % 7 == 0);
    h.u(ch.arm);
    h.d(ch.propensity);
    h.d(ch.score);
    h.u(ch.explored);
    const double reward = 0.1 * ch.arm * x[1] - 0.05 * x[2] + 0.3 * r.normal();
    b.update(ch.arm, x, reward);
  }
  for (const auto& a : b.stats().arms) {
    for (double v : a.A) h.d(v);
    for (double v : a.b) h.d(v);
  }
  return h.h;
}

inline uint64_t guardrails_digest() {
  Fnv h;
  disco::GuardrailPolicy p;
  p.max_discount = 0.25;
  p.margin_floor = 0.05;
  p.budget_per_period = 500;
  p.budget_period_s = 3600;
  p.cooldown_s = 600;
  std::vector<disco::ArmSpec> arms{{disco::ArmKind::Percent, 0, 0},
                                   {disco::ArmKind::Percent, 0.1, 0},
                                   {disco::ArmKind::FixedAmount, 7, 0},
                                   {disco::ArmKind::FreeShipping, 0, 5}};
  disco::Guardrails g;
  if (!g.configure(p, arms).empty()) return 0;
  disco::Rng r(8, 8, 8, 43);
  int64_t now = 1700000000000;
  int64_t last[10];
  for (int64_t& l : last) l = INT64_MIN;
  for (int i = 0; i < 20000; ++i) {
    now += r.below(20000);
    disco::OfferRequest q;
    q.item = r.below(100);
    q.price = 200 * r.uniform();
    q.cost = q.price * r.uniform();
    q.now_ms = now;
    const uint32_t shopper = r.below(10);
    q.last_discount_offer_ms = last[shopper];
    uint32_t flags = 0;
    const uint32_t mask = g.eligible_arms(q, &flags);
    uint32_t arm = 31 - static_cast<uint32_t>(__builtin_clz(mask));  // most generous allowed
    h.u(mask);
    h.u(flags);
    h.d(g.commit(q, arm));
    if (arm) last[shopper] = now;
  }
  return h.h;
}

}  // namespace disco_golden

// Bandit + guardrails cost per decision, 6 arms, context dim kContextDim (15 since context v3), with peers measured in the same
// run: LinTS with the exact-by-quadrature propensity vs LinTS whose propensity is estimated from
// 256 seeded Thompson draws (the bundle's `propensity_draws` alternative) -- time and accuracy.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "disco/bandit.h"
#include "disco/context.h"
#include "disco/guardrails.h"

using namespace disco;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kArms = 6;

Bandit trained(BanditAlgorithm alg) {
  BanditConfig c;
  c.algorithm = alg;
  c.n_arms = kArms;
  c.dim = kContextDim;
  c.noise_scale = 0.5;
  Bandit b;
  b.configure(c);
  Rng r(1, 2, 3, 20);
  float x[kContextDim];
  for (int i = 0; i < 2000; ++i) {
    x[0] = 1;
    for (uint32_t k = 1; k < kContextDim; ++k) x[k] = static_cast<float>(r.uniform());
    const uint32_t a = r.below(kArms);
    b.update(a, x, 0.05 * a * x[1] - 0.1 * x[2] + 0.3 * r.normal());
  }
  return b;
}

// Best of 7 rounds of n/7 calls (the machine is shared: the minimum is the least disturbed).
template <class F>
double ns_per(int n, F f) {
  double best = 1e300;
  const int per = std::max(1, n / 7);
  for (int round = 0; round < 7; ++round) {
    const auto t0 = Clock::now();
    for (int i = round * per; i < (round + 1) * per; ++i) f(i);
    best = std::min(best, std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / per);
  }
  return best;
}

// Peer: LinTS propensity of `arm` estimated with `draws` seeded Thompson draws.
double mc_propensity(const Bandit& b, const float* x, uint32_t arm, int draws, Rng& r) {
  double m[kArms], s[kArms];
  for (uint32_t a = 0; a < kArms; ++a) m[a] = b.mean(a, x), s[a] = b.stddev(a, x);
  int hits = 0;
  for (int d = 0; d < draws; ++d) {
    uint32_t best = 0;
    double bv = -1e300;
    for (uint32_t a = 0; a < kArms; ++a) {
      const double v = m[a] + s[a] * r.normal();
      if (v > bv) bv = v, best = a;
    }
    hits += best == arm;
  }
  const double f = b.config().exploration_floor;
  return (1 - f) * hits / draws + f / kArms;
}

}  // namespace

int main() {
  std::printf("bandit_bench: 6 arms, context dim %u, 2000 updates of history\n", kContextDim);
  const int n = 200000;
  float xs[64][kContextDim];
  Rng rc(4, 4, 4, 21);
  for (auto& x : xs) {
    x[0] = 1;
    for (uint32_t k = 1; k < kContextDim; ++k) x[k] = static_cast<float>(rc.uniform());
  }
  uint64_t sink = 0;
  double lints_ns = 0;
  for (BanditAlgorithm alg : {BanditAlgorithm::LinTS, BanditAlgorithm::LinUCB, BanditAlgorithm::EpsGreedy}) {
    Bandit b = trained(alg);
    const double c = ns_per(n, [&](int i) {
      Rng r(9, 0, static_cast<uint64_t>(i));
      sink += b.choose(xs[i & 63], 0x3f, r).arm;
    });
    const double call = ns_per(n / 10, [&](int i) {
      Rng r(9, 0, static_cast<uint64_t>(i));
      sink += b.choose(xs[i & 63], 0x3f, r, true).arm;
    });
    const double u = ns_per(n, [&](int i) { b.update(static_cast<uint32_t>(i % kArms), xs[i & 63], 0.01); });
    const char* name = alg == BanditAlgorithm::LinTS ? "LinTS" : alg == BanditAlgorithm::LinUCB ? "LinUCB" : "EpsGreedy";
    std::printf("  %-9s choose %7.0f ns   choose+all 6 probabilities %7.0f ns   update %6.0f ns\n", name, c,
                call, u);
    if (alg == BanditAlgorithm::LinTS) lints_ns = c;
  }
  // Peer: Monte Carlo propensity with 256 draws (time and error against the quadrature).
  Bandit b = trained(BanditAlgorithm::LinTS);
  double err2 = 0, maxerr = 0;
  const int m = 21000;
  const double mc = ns_per(m, [&](int i) {
    Rng r(9, 0, static_cast<uint64_t>(i));
    const Choice ch = b.choose(xs[i & 63], 0x3f, r);
    Rng r2(9, 1, static_cast<uint64_t>(i));
    const double p = mc_propensity(b, xs[i & 63], ch.arm, 256, r2);
    err2 += (p - ch.propensity) * (p - ch.propensity);
    maxerr = std::max(maxerr, std::fabs(p - ch.propensity));
    sink += ch.arm;
  });
  std::printf("  peer: LinTS + 256-draw Monte Carlo propensity %7.0f ns/decision (%.2fx the quadrature "
              "path); its propensity error vs quadrature: rms %.4f, max %.4f (quadrature |error| < 1e-7)\n",
              mc, mc / lints_ns, std::sqrt(err2 / (m / 7 * 7)), maxerr);
  // Guardrails.
  GuardrailPolicy p;
  p.max_discount = 0.3;
  p.margin_floor = 0.05;
  p.budget_per_period = 1e6;
  p.cooldown_s = 60;
  Guardrails g;
  g.configure(p, {{ArmKind::Percent, 0, 0},
                  {ArmKind::Percent, 0.05, 0},
                  {ArmKind::Percent, 0.1, 0},
                  {ArmKind::Percent, 0.2, 0},
                  {ArmKind::FixedAmount, 5, 0},
                  {ArmKind::FreeShipping, 0, 4}});
  const double ge = ns_per(n, [&](int i) {
    OfferRequest q;
    q.item = static_cast<uint32_t>(i & 1023);
    q.price = 20 + (i & 255);
    q.cost = q.price * 0.6;
    q.now_ms = 1700000000000 + i;
    uint32_t flags;
    const uint32_t mask = g.eligible_arms(q, &flags);
    sink += mask + g.check(q, 31 - static_cast<uint32_t>(__builtin_clz(mask)));
    g.commit(q, 1);
  });
  // Context features.
  ShopperStats st;
  for (int i = 0; i < 20; ++i) on_event(st, static_cast<uint32_t>(i % 5), 30, 1, 1700000000000 + i * 1000);
  const double ce = ns_per(n, [&](int i) {
    ContextInputs in;
    in.stats = &st;
    in.purchase_propensity = 0.3;
    in.price = 20 + (i & 255);
    in.cost = 12;
    in.now_ms = 1700000100000 + i;
    float x[kContextDim];
    build_context(in, x);
    sink += x[3] > 0;
  });
  std::printf("  guardrails eligible_arms + check + commit %5.0f ns;  build_context %5.0f ns\n", ge, ce);
  std::printf("  (sink %llu)\n", static_cast<unsigned long long>(sink));
  return 0;
}

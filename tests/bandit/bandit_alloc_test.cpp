// The hot path allocates nothing: choose(), update(), probabilities(), build_context(),
// eligible_arms(), check(), commit() (counted by replacing global operator new in this binary).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "disco/bandit.h"
#include "disco/context.h"
#include "disco/guardrails.h"

namespace {
std::atomic<long> g_allocs{0};
thread_local bool g_counting = false;
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting) g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace disco;

TEST(BanditAlloc, HotPathDoesNotAllocate) {
  for (BanditAlgorithm alg : {BanditAlgorithm::LinTS, BanditAlgorithm::LinUCB, BanditAlgorithm::EpsGreedy}) {
    BanditConfig c;
    c.algorithm = alg;
    c.n_arms = 6;
    c.dim = kContextDim;
    Bandit b;
    ASSERT_EQ(b.configure(c), "");
    GuardrailPolicy p;
    p.budget_per_period = 1000;
    p.cooldown_s = 10;
    p.excluded_items = {3};
    Guardrails g;
    ASSERT_EQ(g.configure(p, {{ArmKind::Percent, 0, 0},
                              {ArmKind::Percent, 0.05, 0},
                              {ArmKind::Percent, 0.1, 0},
                              {ArmKind::Percent, 0.2, 0},
                              {ArmKind::FixedAmount, 5, 0},
                              {ArmKind::FreeShipping, 0, 4}}),
              "");
    ShopperStats st;
    Rng r(1, 1, 1, 30);
    // warm up (the Phi table is built on first use, in static storage)
    float x[kContextDim] = {1};
    Rng w(0, 0, 0);
    b.choose(x, 0x3f, w);
    g_allocs = 0;
    g_counting = true;
    for (int i = 0; i < 2000; ++i) {
      on_event(st, r.below(5), 40, 1, 1000 * i);
      ContextInputs in;
      in.stats = &st;
      in.price = 10 + 100 * r.uniform();
      in.cost = in.price * 0.5;
      in.now_ms = 1000 * i;
      build_context(in, x);
      OfferRequest q;
      q.item = r.below(10);
      q.price = in.price;
      q.cost = in.cost;
      q.now_ms = in.now_ms;
      q.last_discount_offer_ms = st.last_discount_offer_ms;
      uint32_t flags;
      const uint32_t mask = g.eligible_arms(q, &flags);
      Rng dr(7, 0, static_cast<uint64_t>(i));
      const Choice ch = b.choose(x, mask, dr, i % 2 == 0);
      double probs[kMaxArms];
      b.probabilities(x, mask, probs);
      if (g.check(q, ch.arm)) g.commit(q, ch.arm);
      on_offer(st, ch.arm != 0, q.now_ms);
      b.update(ch.arm, x, scaled_reward(r.uniform() < 0.2 ? 5.0 : 0.0, q.price));
    }
    g_counting = false;
    EXPECT_EQ(g_allocs.load(), 0) << "algorithm " << static_cast<int>(alg);
  }
}

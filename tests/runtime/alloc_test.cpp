// The hot path (observe, recommend, rank, offer, shown, update) performs no heap allocation once the
// runtime and session exist (disco.h's promise, and what keeps WASM calls cheap). Counted by
// replacing the global operator new in this test binary (Eigen and the runtime allocate through it
// or through malloc, which the runtime does not call directly).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "test_util.h"

namespace {
std::atomic<long> g_news{0};
}
void* operator new(size_t n) {
  ++g_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) {
  ++g_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

using namespace rt_test;

TEST(RuntimeHotPath, NoHeapAllocationInObserveRecommendRankOfferUpdate) {
  auto spec = disco::make_synthetic_spec(small_options(2000, 32, 64));
  spec.guardrails.budget_per_period = 1000;
  spec.guardrails.cooldown_s = 60;
  BundleHolder bh(spec);
  disco_runtime* rt = make_runtime(bh.bundle, 3, DISCO_MODE_ONLINE, 256);
  disco_session* s = nullptr;
  const long at_create = g_news.load();
  ASSERT_EQ(disco_session_create(rt, 1, &s), DISCO_OK);
  ASSERT_GT(g_news.load() - at_create, 0) << "the counter must see the session's own allocations";
  uint32_t items[10];
  float scores[10];
  uint32_t n = 0;
  const uint32_t excl[2] = {5, 6};
  const uint32_t cand[8] = {5, 1999, 7, 0, 300, 7, 42, 1000};
  uint32_t rank_items[8];
  float rank_scores[8];
  disco_filter f;
  disco_filter_default_options(&f);
  f.exclude_seen = 1; f.include_out_of_stock = 0; f.exclude = excl; f.n_exclude = 2; f.category = -1;
  long worst = 0;
  for (int i = 0; i < 2000; ++i) {  // > max_pending: evictions included
    const long before = g_news.load();
    disco_event e = ev(1700000000000 + i * 1000, uint32_t((i * 37) % 2000), uint32_t(i % 5));
    ASSERT_EQ(disco_observe(s, &e), DISCO_OK);
    ASSERT_EQ(disco_recommend(s, 10, (i % 2) ? &f : nullptr, items, scores, &n), DISCO_OK);
    ASSERT_EQ(disco_rank(s, cand, 8, (i % 2) ? &f : nullptr, rank_items, rank_scores, &n), DISCO_OK);
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(s, items[0], e.ts_ms, 0, 0, &o), DISCO_OK);
    float p = 0;
    disco_purchase_probability(s, &p);
    if (i % 3) {
      ASSERT_EQ(disco_offer_shown(rt, o.decision_hi, o.decision_lo), DISCO_OK);
      disco_outcome out{o.decision_hi, o.decision_lo, e.ts_ms, uint32_t(i % 2), 10, 2};
      ASSERT_EQ(disco_update(rt, &out), DISCO_OK);
    }
    worst = std::max(worst, g_news.load() - before);
  }
  EXPECT_EQ(worst, 0) << "heap allocations in one observe+recommend+rank+offer+update round";
  disco_session_free(s);
  disco_runtime_free(rt);
}

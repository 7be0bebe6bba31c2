// The C ABI's hardening (disco.h, runtime/README.md "C ABI"):
//  - no exception crosses it: every extern "C" function runs under one guard (status_internal.h)
//    and an exception inside comes back as a status + disco_last_error(). Proved by failing each
//    allocation in turn of each call that allocates (this binary replaces operator new) and by
//    throwing through the guard directly. Every function is declared noexcept for C++ callers, so
//    an exception the guard missed would terminate this test instead of passing it.
//  - sized options structs: *_default_options(), an unknown size is refused by name.
//  - the renamed names and their deprecated aliases; disco_offer_expired (Guardrails::release).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "disco/context.h"
#include "status_internal.h"
#include "test_util.h"

// ---- allocation failure injection ------------------------------------------------------------
namespace {
std::atomic<bool> g_armed{false};
std::atomic<long> g_countdown{0};  // allocations left before the injected failure
std::atomic<bool> g_injected{false};

void* checked_malloc(size_t n) {
  if (g_armed.load(std::memory_order_relaxed) && g_countdown.fetch_sub(1) == 0) {
    g_armed = false;
    g_injected = true;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace
void* operator new(size_t n) { return checked_malloc(n); }
void* operator new[](size_t n) { return checked_malloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

using namespace rt_test;

namespace {

constexpr int64_t kT0 = 1700000000000;

// Runs `call` with the k-th allocation failing, k = 0, 1, ... until a run allocates fewer than
// k + 1 times. Each failing run must return DISCO_ERR_OUT_OF_MEMORY with an "out of memory ..."
// message, and `after` (called after every failed run) may check the objects are still sound.
// Returns how many failures were injected (0 = the call does not allocate).
template <class Call, class After>
int sweep(const char* name, Call call, After after) {
  int injected = 0;
  for (long k = 0; k < 100000; ++k) {
    g_injected = false;
    g_countdown = k;
    g_armed = true;
    const disco_status st = call();
    g_armed = false;
    if (!g_injected) break;
    ++injected;
    EXPECT_EQ(st, DISCO_ERR_OUT_OF_MEMORY) << name << " with allocation " << k << " failing: " << disco_last_error();
    EXPECT_NE(std::string(disco_last_error()).find("out of memory"), std::string::npos) << name << ": " << disco_last_error();
    after();
  }
  return injected;
}
template <class Call>
int sweep(const char* name, Call call) {
  return sweep(name, call, [] {});
}

std::vector<uint8_t> save_runtime(const disco_runtime* rt) {
  std::vector<uint8_t> buf(1 << 20);
  size_t len = 0;
  EXPECT_EQ(disco_runtime_save(rt, buf.data(), buf.size(), &len), DISCO_OK) << disco_last_error();
  buf.resize(len);
  return buf;
}

std::vector<uint8_t> save_session(const disco_session* s) {
  std::vector<uint8_t> buf(1 << 16);
  size_t len = 0;
  EXPECT_EQ(disco_session_save(s, buf.data(), buf.size(), &len), DISCO_OK) << disco_last_error();
  buf.resize(len);
  return buf;
}

}  // namespace

TEST(RuntimeAbiGuard, TurnsAnyExceptionIntoAStatusAndMessage) {
  using disco::detail::guarded;
  EXPECT_EQ(guarded("doing a test", []() -> disco_status { throw std::runtime_error("boom"); }), DISCO_ERR_INTERNAL);
  EXPECT_STREQ(disco_last_error(), "internal error while doing a test: boom");
  EXPECT_EQ(guarded("doing a test", []() -> disco_status { throw std::bad_alloc(); }), DISCO_ERR_OUT_OF_MEMORY);
  EXPECT_STREQ(disco_last_error(), "out of memory while doing a test");
  EXPECT_EQ(guarded("doing a test", []() -> disco_status { throw 42; }), DISCO_ERR_INTERNAL);
  EXPECT_STREQ(disco_last_error(), "internal error while doing a test");
  // A long what() is cut at the fixed buffer, not allocated.
  const std::string long_what(1000, 'x');
  EXPECT_EQ(guarded("doing a test", [&]() -> disco_status { throw std::runtime_error(long_what); }), DISCO_ERR_INTERNAL);
  EXPECT_LT(std::strlen(disco_last_error()), 256u);
  EXPECT_EQ(disco::detail::guarded_value("sizing", size_t(7), []() -> size_t { throw std::bad_alloc(); }), 7u);
  EXPECT_STREQ(disco_last_error(), "out of memory while sizing");
  // Without an exception the body's own status and message stand.
  EXPECT_EQ(guarded("doing a test", [] { return disco::detail::fail(DISCO_ERR_STATE, "its own message"); }), DISCO_ERR_STATE);
  EXPECT_STREQ(disco_last_error(), "its own message");
  static_assert(noexcept(disco_offer_make(nullptr, 0, 0, 0, 0, nullptr)), "disco.h declares the ABI noexcept for C++");
  static_assert(noexcept(disco_rank(nullptr, nullptr, 0, nullptr, nullptr, nullptr, nullptr)), "disco_rank too");
}

// Every ABI call that allocates, with each of its allocations failing in turn: a status and a
// message every time, never an exception or a crash, and the objects stay usable (restores and
// swaps are all or nothing).
TEST(RuntimeAbiGuard, AllocationFailureInEveryCallComesBackAsAStatus) {
  auto spec = disco::make_synthetic_spec(small_options(300, 16, 24));
  spec.guardrails.budget_per_period = 100;
  auto built = disco::build_bundle(spec);
  ASSERT_TRUE(built.ok()) << built.error;
  std::vector<uint8_t> bytes = built.bytes;

  // A create that fails leaves *out NULL; the sweep's last run succeeds and gives the object.
  disco_bundle* b = nullptr;
  EXPECT_GT(sweep("disco_bundle_load", [&] { return disco_bundle_load(bytes.data(), bytes.size(), 0, &b); },
                  [&] { EXPECT_EQ(b, nullptr); }),
            0);
  ASSERT_NE(b, nullptr);

  disco_runtime_options o;
  disco_runtime_default_options(&o);
  o.seed = 5;
  o.max_pending_decisions = 64;
  disco_runtime* rt = nullptr;
  EXPECT_GT(sweep("disco_runtime_create", [&] { return disco_runtime_create(b, &o, &rt); }, [&] { EXPECT_EQ(rt, nullptr); }), 0);
  ASSERT_NE(rt, nullptr);

  disco_session* s = nullptr;
  EXPECT_GT(sweep("disco_session_create", [&] { return disco_session_create(rt, 7, &s); }, [&] { EXPECT_EQ(s, nullptr); }), 0);
  ASSERT_NE(s, nullptr);

  // The hot path allocates nothing when it succeeds; its refusals build a message (std::string).
  for (int i = 0; i < 6; ++i) ASSERT_EQ(observe(s, ev(kT0 + i * 1000, uint32_t(10 + i), uint32_t(i % 3))), DISCO_OK);
  disco_event bad_item = ev(kT0, 100000, 0);
  EXPECT_GT(sweep("disco_observe", [&] { return disco_observe(s, &bad_item); }), 0);
  disco_offer offer{};
  EXPECT_GT(sweep("disco_offer_make", [&] { return disco_offer_make(s, 100000, kT0, 0, 0, &offer); }), 0);
  uint32_t items[5];
  float scores[5];
  uint32_t n = 0;
  disco_filter unsized{};
  EXPECT_GT(sweep("disco_recommend", [&] { return disco_recommend(s, 5, &unsized, items, scores, &n); }), 0);
  disco_outcome unknown{};
  unknown.decision_hi = unknown.decision_lo = 99;
  EXPECT_GT(sweep("disco_update", [&] { return disco_update(rt, &unknown); }), 0);
  EXPECT_GT(sweep("disco_offer_shown", [&] { return disco_offer_shown(rt, 99, 99); }), 0);
  EXPECT_GT(sweep("disco_offer_expired", [&] { return disco_offer_expired(rt, 99, 99); }), 0);
  uint32_t index = 0;
  EXPECT_GT(sweep("disco_bundle_item_index", [&] { return disco_bundle_item_index(b, "no such item", 12, &index); }), 0);
  EXPECT_GT(sweep("disco_session_note_offer", [&] { return disco_session_note_offer(s, 1000, kT0); }), 0);

  // Offers and outcomes so that the state has pending decisions and statistics.
  for (uint32_t i = 0; i < 8; ++i) {
    ASSERT_EQ(disco_offer_make(s, 20 + i, kT0 + 10000 + i, 0, 0, &offer), DISCO_OK) << disco_last_error();
    if (i % 2) {
      ASSERT_EQ(disco_offer_shown(rt, offer.decision_hi, offer.decision_lo), DISCO_OK);
      disco_outcome out{offer.decision_hi, offer.decision_lo, kT0 + 20000, 1, 10.0f, 2.0f};
      ASSERT_EQ(disco_update(rt, &out), DISCO_OK);
    }
  }
  const std::vector<uint8_t> rt_state = save_runtime(rt);
  const std::vector<uint8_t> s_state = save_session(s);

  std::vector<uint8_t> buf(1 << 20);
  size_t len = 0;
  sweep("disco_runtime_save", [&] { return disco_runtime_save(rt, buf.data(), buf.size(), &len); });
  sweep("disco_session_save", [&] { return disco_session_save(s, buf.data(), buf.size(), &len); });
  sweep("disco_session_save_compact", [&] { return disco_session_save_compact(s, buf.data(), buf.size(), &len); });
  EXPECT_GT(sweep("disco_bandit_export", [&] { return disco_bandit_export(rt, 1, buf.data(), buf.size(), &len); },
                  [&] { EXPECT_EQ(save_runtime(rt), rt_state) << "a failed export consumed the delta"; }),
            0);
  ASSERT_EQ(disco_bandit_export(rt, 0, buf.data(), buf.size(), &len), DISCO_OK);
  const std::vector<uint8_t> exported(buf.begin(), buf.begin() + long(len));
  const std::vector<uint8_t> exported_state = save_runtime(rt);  // the last export reset the delta
  EXPECT_GT(sweep("disco_bandit_import", [&] { return disco_bandit_import(rt, exported.data(), exported.size(), 1); },
                  [&] { EXPECT_EQ(save_runtime(rt), exported_state) << "a failed import changed the bandit"; }),
            0);
  // The import above succeeded on its last run (a merge): restore the state from before it.
  const std::vector<uint8_t> merged = save_runtime(rt);
  EXPECT_NE(merged, rt_state);
  EXPECT_GT(sweep("disco_runtime_restore", [&] { return disco_runtime_restore(rt, rt_state.data(), rt_state.size()); },
                  [&] { EXPECT_EQ(save_runtime(rt), merged) << "a failed restore changed the runtime"; }),
            0);
  EXPECT_EQ(save_runtime(rt), rt_state);
  disco_session* restored = nullptr;
  EXPECT_GT(sweep("disco_session_restore", [&] { return disco_session_restore(rt, s_state.data(), s_state.size(), &restored); },
                  [&] { EXPECT_EQ(restored, nullptr); }),
            0);
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(save_session(restored), s_state);
  disco_session_free(restored);

  const float ctx[disco::kContextDim] = {1.0f, 0.5f};
  double probs[8];
  sweep("disco_policy_probabilities", [&] { return disco_policy_probabilities(rt, ctx, 3, 0, 0.0, 1.0, probs); });

  // A hot swap to a bundle of other dimensions: all or nothing.
  auto spec2 = disco::make_synthetic_spec(small_options(280, 8, 12, 4));
  BundleHolder other(spec2);
  ASSERT_NE(other.bundle, nullptr);
  const std::vector<uint8_t> before = save_session(s);
  EXPECT_GT(sweep("disco_runtime_swap_bundle", [&] { return disco_runtime_swap_bundle(rt, other.bundle); },
                  [&] {
                    EXPECT_EQ(save_session(s), before) << "a failed swap changed the session";
                    EXPECT_EQ(save_runtime(rt), rt_state) << "a failed swap changed the runtime";
                    uint32_t k = 0;
                    ASSERT_EQ(disco_recommend(s, 5, nullptr, items, scores, &k), DISCO_OK) << disco_last_error();
                  }),
            0);
  ASSERT_EQ(observe(s, ev(kT0 + 99000, 3, 0)), DISCO_OK) << disco_last_error();  // swapped: the new bundle
  ASSERT_EQ(disco_recommend(s, 5, nullptr, items, scores, &n), DISCO_OK);
  for (uint32_t i = 0; i < n; ++i) EXPECT_LT(items[i], 280u);

  disco_session_free(s);
  disco_runtime_free(rt);
  disco_bundle_free(b);
}

// ---- sized options ---------------------------------------------------------------------------

TEST(RuntimeAbiOptions, DefaultsAndTheSizeConvention) {
  disco_runtime_options o;
  std::memset(&o, 0xAB, sizeof o);
  disco_runtime_default_options(&o);
  EXPECT_EQ(o.size, sizeof(disco_runtime_options));
  EXPECT_EQ(o.mode, DISCO_MODE_ONLINE);
  EXPECT_EQ(o.seed, 0u);
  EXPECT_EQ(o.max_pending_decisions, 0u);
  EXPECT_EQ(o.reserved_, 0u);
  disco_filter f;
  std::memset(&f, 0xAB, sizeof f);
  disco_filter_default_options(&f);
  EXPECT_EQ(f.size, sizeof(disco_filter));
  EXPECT_EQ(f.exclude_seen, 1u);
  EXPECT_EQ(f.include_out_of_stock, 0u);
  EXPECT_EQ(f.category, -1);
  EXPECT_EQ(f.exclude, nullptr);
  EXPECT_EQ(f.n_exclude, 0u);
  EXPECT_EQ(f.reserved_, 0u);

  BundleHolder bh(disco::make_synthetic_spec(small_options()));
  disco_runtime* rt = nullptr;
  auto refused = [&](const disco_runtime_options* opt, const char* says) {
    EXPECT_EQ(disco_runtime_create(bh.bundle, opt, &rt), DISCO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(rt, nullptr);
    EXPECT_NE(std::string(disco_last_error()).find(says), std::string::npos) << disco_last_error();
  };
  // Not filled by disco_runtime_default_options (size 0), or too small.
  disco_runtime_options zero{};
  refused(&zero, "disco_runtime_options.size is 0, not 24: fill it with disco_runtime_default_options() first");
  disco_runtime_options small = o;
  small.size = 20;
  refused(&small, "disco_runtime_options.size is 20");
  // A caller of ABI 1's layout {uint64 seed; mode; max_pending; max_sessions_hint}: its seed's low
  // half reads as the size; refused without reading beyond the 256-byte cap.
  struct AbiV1Options {
    uint64_t seed;
    uint32_t mode, max_pending, hint;
  } v1{123456789, 0, 0, 0};
  refused(reinterpret_cast<const disco_runtime_options*>(&v1), "disco_runtime_options.size is 123456789");
  // reserved_ must be 0.
  disco_runtime_options res = o;
  res.reserved_ = 1;
  refused(&res, "disco_runtime_options.size is 24: it sets a field beyond this runtime's 24 bytes (upgrade it) or "
                "reserved_ (0 in disco_runtime_default_options())");
  // A newer caller's larger struct: fine while its extra fields are 0 (their defaults), refused
  // by name when one is set.
  struct Newer {
    disco_runtime_options v2;
    uint32_t added_later[4];
  } newer{};
  newer.v2 = o;
  newer.v2.size = sizeof(Newer);
  newer.v2.seed = 9;
  ASSERT_EQ(disco_runtime_create(bh.bundle, &newer.v2, &rt), DISCO_OK) << disco_last_error();
  disco_runtime_free(rt);
  rt = nullptr;
  newer.added_later[2] = 1;
  refused(&newer.v2, "disco_runtime_options.size is 40: it sets a field beyond this runtime's 24 bytes (upgrade it)");
  // NULL = the defaults, equal to the filled struct.
  disco_runtime* a = nullptr;
  disco_runtime* c = nullptr;
  ASSERT_EQ(disco_runtime_create(bh.bundle, nullptr, &a), DISCO_OK);
  ASSERT_EQ(disco_runtime_create(bh.bundle, &o, &c), DISCO_OK);
  EXPECT_EQ(disco_runtime_memory_bytes(a), disco_runtime_memory_bytes(c));
  disco_session *sa = nullptr, *sc = nullptr;
  ASSERT_EQ(disco_session_create(a, 3, &sa), DISCO_OK);
  ASSERT_EQ(disco_session_create(c, 3, &sc), DISCO_OK);
  disco_offer oa{}, oc{};
  ASSERT_EQ(disco_offer_make(sa, 4, kT0, 0, 0, &oa), DISCO_OK);
  ASSERT_EQ(disco_offer_make(sc, 4, kT0, 0, 0, &oc), DISCO_OK);
  EXPECT_TRUE(same_offer(oa, oc));

  // The filter: the same rules; the default filter = NULL.
  ASSERT_EQ(observe(sa, ev(kT0, 1, 0)), DISCO_OK);
  uint32_t i1[10], i2[10], n1 = 0, n2 = 0;
  float s1[10], s2[10];
  ASSERT_EQ(disco_recommend(sa, 10, nullptr, i1, s1, &n1), DISCO_OK);
  ASSERT_EQ(disco_recommend(sa, 10, &f, i2, s2, &n2), DISCO_OK);
  ASSERT_EQ(n1, n2);
  for (uint32_t i = 0; i < n1; ++i) EXPECT_EQ(i1[i], i2[i]);
  disco_filter unsized{};
  EXPECT_EQ(disco_recommend(sa, 10, &unsized, i2, s2, &n2), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(disco_last_error()).find("disco_filter.size is 0, not " + std::to_string(sizeof(disco_filter)) +
                                                 ": fill it with disco_filter_default_options() first"),
            std::string::npos)
      << disco_last_error();
  disco_filter fr = f;
  fr.reserved_ = 3;
  EXPECT_EQ(disco_recommend(sa, 10, &fr, i2, s2, &n2), DISCO_ERR_INVALID_ARGUMENT);
  // disco_rank reads the same sized filter (and refuses the same ones), its bits cleared after a refusal.
  const uint32_t cand[3] = {i1[0], i1[1], 1};
  EXPECT_EQ(disco_rank(sa, cand, 3, &unsized, i2, s2, &n2), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(disco_rank(sa, cand, 3, &fr, i2, s2, &n2), DISCO_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(disco_rank(sa, cand, 2, &f, i2, s2, &n2), DISCO_OK);
  ASSERT_EQ(n2, 2u);
  EXPECT_EQ(i2[0], i1[0]);
  EXPECT_EQ(i2[1], i1[1]);
  disco_session_free(sa);
  disco_session_free(sc);
  disco_runtime_free(a);
  disco_runtime_free(c);
}

// ---- renames ---------------------------------------------------------------------------------

TEST(RuntimeAbiRenames, DeprecatedAliasesStillWork) {
  BundleHolder bh(disco::make_synthetic_spec(small_options()));
  disco_runtime* rt = make_runtime(bh.bundle, 1);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(rt, 1, &s), DISCO_OK);
  ASSERT_EQ(observe(s, ev(kT0, 2, 2)), DISCO_OK);
  float p = -1, q = -2;
  ASSERT_EQ(disco_purchase_probability(s, &p), DISCO_OK);
  EXPECT_GT(p, 0.0f);
  EXPECT_LT(p, 1.0f);
  disco_outcome o{};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  ASSERT_EQ(disco_propensity(s, &q), DISCO_OK);
  o.margin = 3.5f;
#pragma GCC diagnostic pop
  EXPECT_EQ(p, q);
  EXPECT_EQ(o.reward, 3.5f);  // one field, two names
  static_assert(offsetof(disco_outcome, reward) == 32 && sizeof(disco_outcome) == 40, "the layout of ABI 1");
  disco_session_free(s);
  disco_runtime_free(rt);
}

// ---- disco_offer_expired -----------------------------------------------------------------------

namespace {
// A bundle whose value model makes the 15% arm (arm 3) worth 200 to every shopper, with a
// first-come-first-served budget of 8 per hour: one 15% offer on an item near 50 (spend 7.5).
disco::BundleSpec expiring_spec() {
  disco::BundleSpec s = disco::make_synthetic_spec(small_options());
  s.bandit.noise_scale = 0.05f;
  disco::ValueModelSpec& v = s.value_model;
  v.context_dim = uint16_t(disco::kContextDim);
  v.weights.assign(size_t(s.arms.size()) * disco::kContextDim, 0.0f);
  v.weights[3 * disco::kContextDim + disco::kFeatBias] = 200.0f;
  v.max_abs = 10000.0f;
  v.fitted = "abi test";
  s.guardrails.budget_per_period = 8.0f;
  s.guardrails.budget_period_s = 3600;
  s.guardrails.budget_mode = 0;
  return s;
}
uint32_t item_near_50(const disco_bundle* b) {
  for (uint32_t i = 0; i < 300; ++i) {
    float price = 0, cost = 0;
    uint32_t cat = 0, stock = 0;
    disco_bundle_item_info(b, i, &price, &cost, &cat, &stock);
    if (stock && price > 45.0f && price < 55.0f) return i;
  }
  return 0;
}
}  // namespace

TEST(RuntimeOfferExpired, GivesTheBudgetBackAndRecordsANonConversion) {
  BundleHolder bh(expiring_spec());
  disco_runtime* rt = make_runtime(bh.bundle, 11);
  const uint32_t item = item_near_50(bh.bundle);
  ASSERT_NE(item, 0u);
  // Late in an hour (periods are epoch-aligned): the paced allowance is the whole budget.
  const int64_t hour = 3600 * 1000;
  const int64_t now = (kT0 / hour) * hour + hour - 60000;
  std::vector<disco_session*> ss(5);
  for (size_t i = 0; i < ss.size(); ++i) ASSERT_EQ(disco_session_create(rt, 100 + i, &ss[i]), DISCO_OK);
  disco_offer first{}, second{}, third{};
  ASSERT_EQ(disco_offer_make(ss[0], item, now, 0, 0, &first), DISCO_OK);
  ASSERT_EQ(first.arm, 3u) << "the value model should pick the 15% arm";
  ASSERT_EQ(disco_offer_make(ss[1], item, now + 1, 0, 0, &second), DISCO_OK);
  EXPECT_EQ(second.arm, 0u);
  EXPECT_TRUE(second.guardrails & DISCO_GUARD_BUDGET) << "the budget is spent";
  // The first offer expired unused: its 7.5 come back, the next shopper gets the discount.
  ASSERT_EQ(disco_offer_shown(rt, first.decision_hi, first.decision_lo), DISCO_OK);
  ASSERT_EQ(disco_offer_expired(rt, first.decision_hi, first.decision_lo), DISCO_OK) << disco_last_error();
  ASSERT_EQ(disco_offer_make(ss[2], item, now + 2, 0, 0, &third), DISCO_OK);
  EXPECT_EQ(third.arm, 3u);
  EXPECT_FALSE(third.guardrails & DISCO_GUARD_BUDGET);
  // Once: a second expiry or an outcome after it is a duplicate, and nothing more is given back.
  EXPECT_EQ(disco_offer_expired(rt, first.decision_hi, first.decision_lo), DISCO_ERR_DUPLICATE);
  disco_outcome late{first.decision_hi, first.decision_lo, now + 3, 1, 50.0f, 5.0f};
  EXPECT_EQ(disco_update(rt, &late), DISCO_ERR_DUPLICATE);
  disco_offer fourth{};
  ASSERT_EQ(disco_offer_make(ss[3], item, now + 4, 0, 0, &fourth), DISCO_OK);
  EXPECT_EQ(fourth.arm, 0u);
  // The shown, expired offer trained the bandit once with reward 0 (a non-conversion).
  const disco::BanditStats st = exported_stats(rt);
  double n = 0, reward = 0;
  for (const auto& a : st.arms) n += a.n, reward += a.reward_sum;
  EXPECT_EQ(n, 1.0);
  EXPECT_EQ(reward, 0.0);
  EXPECT_EQ(st.arms[3].n, 1.0);
  // Not shown yet: the non-conversion is held until it is (as disco_update's).
  EXPECT_EQ(disco_offer_expired(rt, third.decision_hi, third.decision_lo), DISCO_OK);
  EXPECT_EQ(disco_offer_expired(rt, third.decision_hi, third.decision_lo), DISCO_ERR_DUPLICATE);
  EXPECT_EQ(exported_stats(rt).arms[3].n, 1.0);
  ASSERT_EQ(disco_offer_shown(rt, third.decision_hi, third.decision_lo), DISCO_OK);
  EXPECT_EQ(exported_stats(rt).arms[3].n, 2.0);
  // An outcome already held: the offer may have converted, nothing is given back.
  disco_offer fifth{};
  ASSERT_EQ(disco_offer_make(ss[4], item, now + 5, 0, 0, &fifth), DISCO_OK);
  ASSERT_EQ(fifth.arm, 3u);
  disco_outcome bought{fifth.decision_hi, fifth.decision_lo, now + 6, 1, 42.5f, 5.0f};
  EXPECT_EQ(disco_update(rt, &bought), DISCO_ERR_NOT_FOUND);  // held until shown
  EXPECT_EQ(disco_offer_expired(rt, fifth.decision_hi, fifth.decision_lo), DISCO_ERR_DUPLICATE);
  EXPECT_EQ(disco_offer_expired(rt, 1, 2), DISCO_ERR_NOT_FOUND);
  EXPECT_EQ(disco_offer_expired(nullptr, 1, 2), DISCO_ERR_INVALID_ARGUMENT);
  for (auto* s : ss) disco_session_free(s);
  disco_runtime_free(rt);
}

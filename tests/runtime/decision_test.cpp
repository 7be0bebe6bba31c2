// Offers, determinism, modes, deferred activation, idempotent updates, save/restore, hot swap,
// fleet statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "disco/context.h"
#include "test_util.h"

using namespace rt_test;

namespace {

// A scripted shopper workload: events, offers (some shown), outcomes. Everything derived from seed.
struct Workload {
  std::mt19937_64 rng;
  explicit Workload(uint64_t seed) : rng(seed) {}
  // One round on a session: a few events then an offer on the last item; returns the offer.
  disco_status round(disco_runtime* rt, disco_session* s, uint32_t n_items, int64_t* ts, disco_offer* offer,
                     bool* shown, disco_outcome* outcome) {
    const int events = 1 + int(rng() % 4);
    uint32_t item = 0;
    for (int e = 0; e < events; ++e) {
      item = uint32_t(rng() % n_items);
      *ts += int64_t(rng() % 60000);
      disco_event ev_{*ts, item, uint32_t(rng() % 3), 0.0f, 1};
      disco_status st = disco_observe(s, &ev_);
      if (st != DISCO_OK) return st;
    }
    disco_status st = disco_offer_make(s, item, *ts, 0, 0, offer);
    if (st != DISCO_OK) return st;
    *shown = rng() % 4 != 0;
    if (*shown) {
      st = disco_offer_shown(rt, offer->decision_hi, offer->decision_lo);
      if (st != DISCO_OK) return st;
    }
    outcome->decision_hi = offer->decision_hi;
    outcome->decision_lo = offer->decision_lo;
    outcome->ts_ms = *ts + 1000;
    outcome->converted = rng() % 3 == 0;
    outcome->revenue = outcome->converted ? 20.0f : 0.0f;
    outcome->reward = outcome->converted ? float(int(rng() % 20) - 5) : 0.0f;
    return DISCO_OK;
  }
};

struct World {
  disco_runtime* rt = nullptr;
  std::vector<disco_session*> sessions;
  // A new session of this runtime, freed with the world (nullptr after a failed assertion).
  disco_session* session(uint64_t user_key) {
    disco_session* s = nullptr;
    EXPECT_EQ(disco_session_create(rt, user_key, &s), DISCO_OK) << disco_last_error();
    if (s) sessions.push_back(s);
    return s;
  }
  ~World() {
    for (auto* s : sessions) disco_session_free(s);
    disco_runtime_free(rt);
  }
};

// All of the runtime's observed bandit statistics, as disco_bandit_export writes them.
std::vector<uint8_t> bandit_bytes(disco_runtime* rt) {
  std::vector<uint8_t> buf(1 << 16);
  size_t len = 0;
  EXPECT_EQ(disco_bandit_export(rt, 0, buf.data(), buf.size(), &len), DISCO_OK) << disco_last_error();
  buf.resize(len);
  return buf;
}

}  // namespace

TEST(RuntimeOffer, OfferFieldsAndGuardrails) {
  auto spec = disco::make_synthetic_spec(small_options(200, 16, 16));
  spec.guardrails.max_discount = 0.1f;
  BundleHolder bh(spec);
  World w;
  w.rt = make_runtime(bh.bundle, 42);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(w.rt, 9, &s), DISCO_OK);
  w.sessions.push_back(s);
  ASSERT_EQ(observe(s, ev(1000, 5, DISCO_EVENT_CART)), DISCO_OK);
  int arms_seen[5] = {};
  for (int i = 0; i < 400; ++i) {
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(s, uint32_t(i % 200), 1000 + i, 0, 0, &o), DISCO_OK) << disco_last_error();
    EXPECT_FALSE(o.decision_hi == 0 && o.decision_lo == 0);
    EXPECT_EQ(o.item, uint32_t(i % 200));
    EXPECT_LE(o.discount, 0.1f + 1e-6f) << "max_discount guardrail";
    EXPECT_NE(o.arm, 3u) << "15% arm is above max_discount";
    EXPECT_GT(o.propensity, 0.0f);
    EXPECT_LE(o.propensity, 1.0f);
    EXPECT_EQ(o.expires_at_ms, 1000 + i + 900 * 1000);
    EXPECT_EQ(o.context_dim, disco::kContextDim);
    EXPECT_EQ(o.context[disco::kFeatBias], 1.0f);
    if (o.arm == 3 || o.bandit_arm == 3) ADD_FAILURE() << "ineligible arm chosen";
    if (spec.guardrails.max_discount < 0.15f) EXPECT_TRUE(o.guardrails & DISCO_GUARD_MAX_DISCOUNT);
    ++arms_seen[o.arm];
  }
  // Exploration: more than one arm appears.
  int distinct = 0;
  for (int a : arms_seen) distinct += a > 0;
  EXPECT_GE(distinct, 2);
  disco_offer o{};
  EXPECT_EQ(disco_offer_make(s, 200, 0, 0, 0, &o), DISCO_ERR_UNKNOWN_ITEM);
}

TEST(RuntimeOffer, DeterministicAcrossRuntimesAndSeedSensitive) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(300, 16, 16)));
  auto run = [&](uint64_t seed, std::vector<disco_offer>* offers) {
    World w;
    w.rt = make_runtime(bh.bundle, seed);
    for (int u = 0; u < 3; ++u) {
      disco_session* s = nullptr;
      EXPECT_EQ(disco_session_create(w.rt, 1000 + u, &s), DISCO_OK);
      w.sessions.push_back(s);
    }
    Workload wl(7);
    int64_t ts = 1700000000000;
    for (int r = 0; r < 150; ++r) {
      disco_session* s = w.sessions[size_t(r % 3)];
      disco_offer o{};
      bool shown = false;
      disco_outcome out{};
      ASSERT_EQ(wl.round(w.rt, s, 300, &ts, &o, &shown, &out), DISCO_OK) << disco_last_error();
      offers->push_back(o);
      const disco_status st = disco_update(w.rt, &out);
      EXPECT_EQ(st, shown ? DISCO_OK : DISCO_ERR_NOT_FOUND);
    }
  };
  std::vector<disco_offer> a, b, c;
  run(5, &a);
  run(5, &b);
  run(6, &c);
  ASSERT_EQ(a.size(), b.size());
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(same_offer(a[i], b[i])) << "offer " << i;
    differ += !same_offer(a[i], c[i]);
  }
  EXPECT_GT(differ, 100) << "another seed gives other decision ids and draws";
}

TEST(RuntimeOffer, CallerDecisionIdIsReproducible) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(100, 8, 8)));
  disco_offer o1{}, o2{};
  for (disco_offer* o : {&o1, &o2}) {
    World w;
    w.rt = make_runtime(bh.bundle, 3);
    disco_session* s = nullptr;
    ASSERT_EQ(disco_session_create(w.rt, 1, &s), DISCO_OK);
    w.sessions.push_back(s);
    ASSERT_EQ(disco_offer_make(s, 4, 5000, 0xABCDEFull, 0x12345ull, o), DISCO_OK);
    EXPECT_EQ(o->decision_hi, 0xABCDEFull);
    EXPECT_EQ(o->decision_lo, 0x12345ull);
    disco_offer again{};
    EXPECT_EQ(disco_offer_make(s, 4, 5000, 0xABCDEFull, 0x12345ull, &again), DISCO_ERR_DUPLICATE);
  }
  EXPECT_TRUE(same_offer(o1, o2));
}

TEST(RuntimeOffer, ApprenticeAndLoggingOnlyModes) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(100, 8, 8)));
  for (disco_mode mode : {DISCO_MODE_APPRENTICE, DISCO_MODE_LOGGING_ONLY}) {
    World w;
    w.rt = make_runtime(bh.bundle, 11, mode);
    disco_session* s = nullptr;
    ASSERT_EQ(disco_session_create(w.rt, 1, &s), DISCO_OK);
    w.sessions.push_back(s);
    int would_discount = 0;
    for (int i = 0; i < 200; ++i) {
      disco_offer o{};
      ASSERT_EQ(disco_offer_make(s, uint32_t(i % 100), i * 1000, 0, 0, &o), DISCO_OK);
      EXPECT_EQ(o.arm, 0u);
      EXPECT_EQ(o.discount, 0.0f);
      if (mode == DISCO_MODE_APPRENTICE) {
        EXPECT_TRUE(o.guardrails & DISCO_GUARD_APPRENTICE);
        EXPECT_GT(o.propensity, 0.0f);
        would_discount += o.bandit_arm != 0;
      } else {
        EXPECT_EQ(o.bandit_arm, 0u);
        EXPECT_EQ(o.propensity, 1.0f);
      }
    }
    if (mode == DISCO_MODE_APPRENTICE) EXPECT_GT(would_discount, 20);
  }
  disco_runtime_options bad;
  disco_runtime_default_options(&bad);
  const int32_t seven = 7;  // what a C or JS caller may pass; not a valid C++ enum value
  std::memcpy(&bad.mode, &seven, sizeof seven);
  disco_runtime* rt = nullptr;
  EXPECT_EQ(disco_runtime_create(bh.bundle, &bad, &rt), DISCO_ERR_INVALID_ARGUMENT);
}

TEST(RuntimeUpdate, IdempotentDeferredAndBounded) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(100, 8, 8)));
  World w;
  w.rt = make_runtime(bh.bundle, 1, DISCO_MODE_ONLINE, 8);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(w.rt, 1, &s), DISCO_OK);
  w.sessions.push_back(s);
  disco_offer o{};
  ASSERT_EQ(disco_offer_make(s, 3, 1000, 0, 0, &o), DISCO_OK);
  disco_outcome out{o.decision_hi, o.decision_lo, 2000, 1, 20.0f, 5.0f};
  // Not shown yet: does not train now; the outcome is held and applied once the offer is shown.
  EXPECT_EQ(disco_update(w.rt, &out), DISCO_ERR_NOT_FOUND);
  EXPECT_NE(std::string(disco_last_error()).find("not shown yet"), std::string::npos) << disco_last_error();
  ASSERT_EQ(disco_offer_shown(w.rt, o.decision_hi, o.decision_lo), DISCO_OK);
  EXPECT_EQ(disco_update(w.rt, &out), DISCO_ERR_DUPLICATE);
  EXPECT_EQ(disco_update(w.rt, &out), DISCO_ERR_DUPLICATE);
  EXPECT_EQ(disco_offer_shown(w.rt, o.decision_hi, o.decision_lo), DISCO_ERR_DUPLICATE);
  disco_outcome unknown{1, 2, 0, 1, 1.0f, 1.0f};
  EXPECT_EQ(disco_update(w.rt, &unknown), DISCO_ERR_NOT_FOUND);
  disco_outcome nan_out = out;
  nan_out.reward = NAN;
  EXPECT_EQ(disco_update(w.rt, &nan_out), DISCO_ERR_INVALID_ARGUMENT);

  // The bandit statistics count exactly one update.
  std::vector<uint8_t> buf(1 << 16);
  size_t len = 0;
  ASSERT_EQ(disco_bandit_export(w.rt, 0, buf.data(), buf.size(), &len), DISCO_OK);

  // Bounded memory: with 8 pending slots, the 9th offer evicts the oldest pending decision.
  std::vector<disco_offer> offers(9);
  for (int i = 0; i < 9; ++i) ASSERT_EQ(disco_offer_make(s, uint32_t(10 + i), 5000 + i, 0, 0, &offers[size_t(i)]), DISCO_OK);
  EXPECT_EQ(disco_offer_shown(w.rt, offers[0].decision_hi, offers[0].decision_lo), DISCO_ERR_NOT_FOUND);
  for (int i = 1; i < 9; ++i) EXPECT_EQ(disco_offer_shown(w.rt, offers[size_t(i)].decision_hi, offers[size_t(i)].decision_lo), DISCO_OK);
  const size_t mem_before = disco_runtime_memory_bytes(w.rt);
  for (int i = 0; i < 1000; ++i) {
    disco_offer x{};
    ASSERT_EQ(disco_offer_make(s, uint32_t(i % 100), 10000 + i, 0, 0, &x), DISCO_OK);
    ASSERT_EQ(disco_offer_shown(w.rt, x.decision_hi, x.decision_lo), DISCO_OK);
    disco_outcome ox{x.decision_hi, x.decision_lo, 0, 0, 0.0f, 0.0f};
    ASSERT_EQ(disco_update(w.rt, &ox), DISCO_OK);
    ASSERT_EQ(disco_update(w.rt, &ox), DISCO_ERR_DUPLICATE);
  }
  EXPECT_EQ(disco_runtime_memory_bytes(w.rt), mem_before) << "no growth with the number of decisions";
}

TEST(RuntimeUpdate, OnlyShownOutcomesTrainTheBandit) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(100, 8, 8)));
  auto stats_after = [&](bool show) {
    World w;
    w.rt = make_runtime(bh.bundle, 1);
    disco_session* s = nullptr;
    EXPECT_EQ(disco_session_create(w.rt, 1, &s), DISCO_OK);
    w.sessions.push_back(s);
    for (int i = 0; i < 20; ++i) {
      disco_offer o{};
      EXPECT_EQ(disco_offer_make(s, uint32_t(i), i * 1000, 0, 0, &o), DISCO_OK);
      if (show) EXPECT_EQ(disco_offer_shown(w.rt, o.decision_hi, o.decision_lo), DISCO_OK);
      disco_outcome out{o.decision_hi, o.decision_lo, 0, 1, 10.0f, 3.0f};
      disco_update(w.rt, &out);
    }
    std::vector<uint8_t> buf(1 << 16);
    size_t len = 0;
    EXPECT_EQ(disco_bandit_export(w.rt, 0, buf.data(), buf.size(), &len), DISCO_OK);
    buf.resize(len);
    return buf;
  };
  std::vector<uint8_t> fresh;
  {
    World w;
    w.rt = make_runtime(bh.bundle, 1);
    fresh.resize(1 << 16);
    size_t len = 0;
    ASSERT_EQ(disco_bandit_export(w.rt, 0, fresh.data(), fresh.size(), &len), DISCO_OK);
    fresh.resize(len);
  }
  EXPECT_EQ(stats_after(false), fresh);
  EXPECT_NE(stats_after(true), fresh);
}

TEST(RuntimeState, SaveRestoreContinuesExactly) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(300, 16, 24)));
  World a;
  a.rt = make_runtime(bh.bundle, 99);
  disco_session* sa = nullptr;
  ASSERT_EQ(disco_session_create(a.rt, 555, &sa), DISCO_OK);
  a.sessions.push_back(sa);
  Workload wl(3);
  int64_t ts = 1700000000000;
  for (int r = 0; r < 60; ++r) {
    disco_offer o{};
    bool shown = false;
    disco_outcome out{};
    ASSERT_EQ(wl.round(a.rt, sa, 300, &ts, &o, &shown, &out), DISCO_OK);
    if (r % 5 != 0) disco_update(a.rt, &out);  // leave some decisions pending
  }
  // Save both, with the size query protocol (BUFFER_TOO_SMALL reports the needed size).
  size_t need = 0;
  ASSERT_EQ(disco_runtime_save(a.rt, nullptr, 0, &need), DISCO_ERR_BUFFER_TOO_SMALL);
  std::vector<uint8_t> rbuf(need);
  size_t rlen = 0;
  ASSERT_EQ(disco_runtime_save(a.rt, rbuf.data(), rbuf.size(), &rlen), DISCO_OK);
  ASSERT_EQ(rlen, need);
  ASSERT_EQ(disco_session_save(sa, nullptr, 0, &need), DISCO_ERR_BUFFER_TOO_SMALL);
  std::vector<uint8_t> sbuf(need);
  size_t slen = 0;
  ASSERT_EQ(disco_session_save(sa, sbuf.data(), sbuf.size(), &slen), DISCO_OK);

  World b;
  b.rt = make_runtime(bh.bundle, 99);
  ASSERT_EQ(disco_runtime_restore(b.rt, rbuf.data(), rlen), DISCO_OK) << disco_last_error();
  disco_session* sb = nullptr;
  ASSERT_EQ(disco_session_restore(b.rt, sbuf.data(), slen, &sb), DISCO_OK) << disco_last_error();
  b.sessions.push_back(sb);

  // Saving the restored objects gives the same bytes.
  std::vector<uint8_t> rbuf2(rlen + 100), sbuf2(slen + 100);
  size_t rlen2 = 0, slen2 = 0;
  ASSERT_EQ(disco_runtime_save(b.rt, rbuf2.data(), rbuf2.size(), &rlen2), DISCO_OK);
  ASSERT_EQ(disco_session_save(sb, sbuf2.data(), sbuf2.size(), &slen2), DISCO_OK);
  EXPECT_EQ(std::vector<uint8_t>(rbuf.begin(), rbuf.begin() + long(rlen)), std::vector<uint8_t>(rbuf2.begin(), rbuf2.begin() + long(rlen2)));
  EXPECT_EQ(std::vector<uint8_t>(sbuf.begin(), sbuf.begin() + long(slen)), std::vector<uint8_t>(sbuf2.begin(), sbuf2.begin() + long(slen2)));

  // Both continue identically: offers, outcomes (incl. ones pending at save time), recommendations.
  Workload wa(17), wb(17);
  int64_t ta = ts, tb = ts;
  for (int r = 0; r < 60; ++r) {
    disco_offer oa{}, ob{};
    bool sha = false, shb = false;
    disco_outcome outa{}, outb{};
    ASSERT_EQ(wa.round(a.rt, sa, 300, &ta, &oa, &sha, &outa), DISCO_OK);
    ASSERT_EQ(wb.round(b.rt, sb, 300, &tb, &ob, &shb, &outb), DISCO_OK);
    ASSERT_TRUE(same_offer(oa, ob)) << "round " << r;
    EXPECT_EQ(disco_update(a.rt, &outa), disco_update(b.rt, &outb));
    uint32_t ia[10], ib[10], na = 0, nb = 0;
    float fa[10], fb[10];
    ASSERT_EQ(disco_recommend(sa, 10, nullptr, ia, fa, &na), DISCO_OK);
    ASSERT_EQ(disco_recommend(sb, 10, nullptr, ib, fb, &nb), DISCO_OK);
    ASSERT_EQ(na, nb);
    EXPECT_EQ(0, std::memcmp(ia, ib, na * 4));
    EXPECT_EQ(0, std::memcmp(fa, fb, na * 4));
  }
}

TEST(RuntimeState, RefusesOtherBundleVersionAndCorruption) {
  BundleHolder b1(disco::make_synthetic_spec(small_options(100, 8, 8, 1)));
  BundleHolder b2(disco::make_synthetic_spec(small_options(100, 8, 8, 2)));
  World w1, w2;
  w1.rt = make_runtime(b1.bundle, 1);
  w2.rt = make_runtime(b2.bundle, 1);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(w1.rt, 1, &s), DISCO_OK);
  w1.sessions.push_back(s);
  ASSERT_EQ(observe(s, ev(0, 3, 0)), DISCO_OK);
  std::vector<uint8_t> sb(1 << 16), rb(1 << 22);
  size_t sl = 0, rl = 0;
  ASSERT_EQ(disco_session_save(s, sb.data(), sb.size(), &sl), DISCO_OK);
  ASSERT_EQ(disco_runtime_save(w1.rt, rb.data(), rb.size(), &rl), DISCO_OK);
  sb.resize(sl);
  rb.resize(rl);
  disco_session* out = nullptr;
  EXPECT_EQ(disco_session_restore(w2.rt, sb.data(), sb.size(), &out), DISCO_ERR_STATE);
  EXPECT_NE(std::string(disco_last_error()).find("saved with bundle 'synthetic-1'"), std::string::npos) << disco_last_error();
  EXPECT_NE(std::string(disco_last_error()).find("'synthetic-2'"), std::string::npos);
  EXPECT_EQ(disco_runtime_restore(w2.rt, rb.data(), rb.size()), DISCO_ERR_STATE);
  // Wrong format version (bytes 4..7 hold the version).
  std::vector<uint8_t> v = sb;
  v[4] = 9;
  EXPECT_EQ(disco_session_restore(w1.rt, v.data(), v.size(), &out), DISCO_ERR_STATE);
  EXPECT_NE(std::string(disco_last_error()).find("format version 9"), std::string::npos) << disco_last_error();
  // A session state is not a runtime state.
  EXPECT_EQ(disco_runtime_restore(w1.rt, sb.data(), sb.size()), DISCO_ERR_STATE);
  // Truncation at every point, and trailing bytes.
  for (size_t cut = 0; cut < sb.size(); ++cut) {
    ASSERT_EQ(disco_session_restore(w1.rt, sb.data(), cut, &out), DISCO_ERR_STATE) << cut;
    ASSERT_EQ(out, nullptr);
  }
  for (size_t cut = 0; cut < rb.size(); cut += 7) ASSERT_EQ(disco_runtime_restore(w1.rt, rb.data(), cut), DISCO_ERR_STATE) << cut;
  std::vector<uint8_t> longer = sb;
  longer.push_back(0);
  EXPECT_EQ(disco_session_restore(w1.rt, longer.data(), longer.size(), &out), DISCO_ERR_STATE);
  // Too small a buffer reports the needed size and writes nothing past cap.
  std::vector<uint8_t> tiny(10, 0xEE);
  size_t need = 0;
  EXPECT_EQ(disco_session_save(s, tiny.data(), 4, &need), DISCO_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(need, sl);
  for (size_t i = 4; i < 10; ++i) EXPECT_EQ(tiny[i], 0xEE);
}

TEST(RuntimeBandit, ExportImportMergeEqualsUnion) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(100, 8, 8)));
  // Two edges see different outcomes; a third learns both directly. Merged stats must match.
  auto play = [&](disco_runtime* rt, uint64_t user, int from, int to) {
    disco_session* s = nullptr;
    EXPECT_EQ(disco_session_create(rt, user, &s), DISCO_OK);
    for (int i = from; i < to; ++i) {
      disco_offer o{};
      EXPECT_EQ(disco_offer_make(s, uint32_t(i % 100), i * 1000, 0, uint64_t(i + 1), &o), DISCO_OK);
      EXPECT_EQ(disco_offer_shown(rt, o.decision_hi, o.decision_lo), DISCO_OK);
      disco_outcome out{o.decision_hi, o.decision_lo, 0, uint32_t(i % 2), 10.0f, float(i % 7)};
      EXPECT_EQ(disco_update(rt, &out), DISCO_OK);
    }
    disco_session_free(s);
  };
  World e1, e2, all, agg;
  e1.rt = make_runtime(bh.bundle, 1);
  e2.rt = make_runtime(bh.bundle, 1);
  all.rt = make_runtime(bh.bundle, 1);
  agg.rt = make_runtime(bh.bundle, 1);
  std::vector<uint8_t> d1(1 << 16), d2(1 << 16), dall(1 << 16), dagg(1 << 16);
  size_t l1, l2, lall, lagg;
  play(e1.rt, 1, 0, 30);
  ASSERT_EQ(disco_bandit_export(e1.rt, 1, d1.data(), d1.size(), &l1), DISCO_OK);
  // Edge 2 starts from edge 1's statistics (as a fleet sync would give it), so its choices match
  // what the single learner does next; merged statistics stay out of its delta.
  ASSERT_EQ(disco_bandit_import(e2.rt, d1.data(), l1, 1), DISCO_OK);
  play(e2.rt, 1, 30, 50);
  play(all.rt, 1, 0, 30);
  play(all.rt, 1, 30, 50);
  ASSERT_EQ(disco_bandit_export(e2.rt, 1, d2.data(), d2.size(), &l2), DISCO_OK);
  ASSERT_EQ(disco_bandit_import(agg.rt, d1.data(), l1, 1), DISCO_OK) << disco_last_error();
  ASSERT_EQ(disco_bandit_import(agg.rt, d2.data(), l2, 1), DISCO_OK);
  ASSERT_EQ(disco_bandit_export(agg.rt, 0, dagg.data(), dagg.size(), &lagg), DISCO_OK);
  ASSERT_EQ(disco_bandit_export(all.rt, 0, dall.data(), dall.size(), &lall), DISCO_OK);
  ASSERT_EQ(lagg, lall);
  // Sums of floating-point statistics in a different order may differ in the last bit; compare
  // decisions instead: the same next offers.
  disco_session *sa = nullptr, *sb = nullptr;
  ASSERT_EQ(disco_session_create(agg.rt, 2, &sa), DISCO_OK);
  ASSERT_EQ(disco_session_create(all.rt, 2, &sb), DISCO_OK);
  agg.sessions.push_back(sa);
  all.sessions.push_back(sb);
  int same = 0;
  for (int i = 0; i < 50; ++i) {
    disco_offer oa{}, ob{};
    // Explicit ids: the derived ones depend on how many sessions each runtime created.
    ASSERT_EQ(disco_offer_make(sa, uint32_t(i), 100000 + i, 99, uint64_t(i + 1), &oa), DISCO_OK);
    ASSERT_EQ(disco_offer_make(sb, uint32_t(i), 100000 + i, 99, uint64_t(i + 1), &ob), DISCO_OK);
    same += oa.arm == ob.arm && std::fabs(oa.propensity - ob.propensity) < 1e-5f;
  }
  EXPECT_EQ(same, 50);
  // A delta export after a delta export is empty of new data: importing it changes nothing.
  ASSERT_EQ(disco_bandit_export(e1.rt, 1, d1.data(), d1.size(), &l1), DISCO_OK);
  std::vector<uint8_t> junk = {1, 2, 3};
  EXPECT_EQ(disco_bandit_import(agg.rt, junk.data(), junk.size(), 1), DISCO_ERR_STATE);
  size_t need = 0;
  EXPECT_EQ(disco_bandit_export(e1.rt, 1, nullptr, 0, &need), DISCO_ERR_BUFFER_TOO_SMALL);
  EXPECT_GT(need, 0u);
}

TEST(RuntimeSwap, HotSwapKeepsSessionsAndRemapsItems) {
  auto spec1 = disco::make_synthetic_spec(small_options(120, 16, 24, 1));
  // Bundle 2: same items in reverse order, other weights, other hidden size.
  auto spec2 = disco::make_synthetic_spec(small_options(120, 16, 32, 2));
  std::reverse(spec2.catalog.item_ids.begin(), spec2.catalog.item_ids.end());
  BundleHolder b1(spec1), b2(spec2);
  World w;
  w.rt = make_runtime(b1.bundle, 1);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(w.rt, 1, &s), DISCO_OK);
  w.sessions.push_back(s);
  for (uint32_t i = 0; i < 5; ++i) ASSERT_EQ(observe(s, ev(i * 1000, i, 0)), DISCO_OK);
  disco_offer o{};
  ASSERT_EQ(disco_offer_make(s, 3, 6000, 0, 0, &o), DISCO_OK);
  ASSERT_EQ(disco_runtime_swap_bundle(w.rt, b2.bundle), DISCO_OK) << disco_last_error();
  // The session's seen items (item-0..item-4) are now indices 119..115 and stay excluded.
  std::vector<uint32_t> items(120);
  std::vector<float> scores(120);
  uint32_t n = 0;
  disco_filter f;
  disco_filter_default_options(&f);
  f.exclude_seen = 1; f.include_out_of_stock = 1; f.exclude = nullptr; f.n_exclude = 0; f.category = -1;
  ASSERT_EQ(disco_recommend(s, 120, &f, items.data(), scores.data(), &n), DISCO_OK);
  EXPECT_EQ(n, 115u);
  for (uint32_t i = 0; i < n; ++i) EXPECT_LT(items[i], 115u);
  // The LSTM state was rebuilt from the recent history with the new weights: equal to a fresh
  // session that observed the same (remapped) events on bundle 2.
  disco_session* fresh = nullptr;
  ASSERT_EQ(disco_session_create(w.rt, 2, &fresh), DISCO_OK);
  w.sessions.push_back(fresh);
  for (uint32_t i = 0; i < 5; ++i) ASSERT_EQ(observe(fresh, ev(i * 1000, 119 - i, 0)), DISCO_OK);
  float p1 = 0, p2 = 0;
  disco_purchase_probability(s, &p1);
  disco_purchase_probability(fresh, &p2);
  EXPECT_EQ(p1, p2);
  // Same arms: the pending decision survives the swap.
  EXPECT_EQ(disco_offer_shown(w.rt, o.decision_hi, o.decision_lo), DISCO_OK);
  ASSERT_EQ(observe(s, ev(7000, 10, 2)), DISCO_OK);
  ASSERT_EQ(disco_offer_make(s, 10, 7000, 0, 0, &o), DISCO_OK);
}

TEST(RuntimeOffer, DerivedIdsDifferAcrossSessionsOfOneShopper) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(50, 8, 8)));
  World w;
  w.rt = make_runtime(bh.bundle, 1);
  disco_session *a = nullptr, *b = nullptr;
  ASSERT_EQ(disco_session_create(w.rt, 42, &a), DISCO_OK);
  ASSERT_EQ(disco_session_create(w.rt, 42, &b), DISCO_OK);
  w.sessions = {a, b};
  disco_offer oa{}, ob{};
  ASSERT_EQ(disco_offer_make(a, 1, 1000, 0, 0, &oa), DISCO_OK);
  ASSERT_EQ(disco_offer_make(b, 1, 1000, 0, 0, &ob), DISCO_OK) << disco_last_error();
  EXPECT_FALSE(oa.decision_hi == ob.decision_hi && oa.decision_lo == ob.decision_lo);
  EXPECT_EQ(oa.decision_hi, ob.decision_hi);  // hi = f(seed, user): groups a shopper's decisions
}

// disco_session_note_offer: an offer decided elsewhere shapes the context (exposure, offer recency,
// discounted visit history) without touching the bandit or the pending decisions; bad arms refused.
TEST(RuntimeOffer, NoteOfferFeedsTheContextOnly) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(200, 16, 16)));
  World w;
  w.rt = make_runtime(bh.bundle, 7, DISCO_MODE_LOGGING_ONLY);
  disco_session* s = w.session(11);
  ASSERT_NE(s, nullptr);
  const int64_t t0 = 1'000'000, hour = 3600 * 1000;
  ASSERT_EQ(observe(s, ev(t0, 5, DISCO_EVENT_CART)), DISCO_OK);
  disco_offer o{};
  ASSERT_EQ(disco_offer_make(s, 5, t0, 0, 0, &o), DISCO_OK);
  EXPECT_EQ(o.arm, 0u);  // logging-only shows the baseline
  EXPECT_EQ(disco_session_note_offer(s, 4, t0), DISCO_OK) << disco_last_error();
  EXPECT_EQ(disco_session_note_offer(s, 6, t0), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(disco_last_error()).find("out of range"), std::string::npos) << disco_last_error();
  EXPECT_EQ(disco_session_note_offer(nullptr, 0, t0), DISCO_ERR_INVALID_ARGUMENT);
  // Next visit, a day later: the noted discount shows as exposure, recency and a discounted visit.
  ASSERT_EQ(observe(s, ev(t0 + 24 * hour, 6, DISCO_EVENT_CART)), DISCO_OK);
  ASSERT_EQ(disco_offer_make(s, 6, t0 + 24 * hour, 0, 0, &o), DISCO_OK);
  EXPECT_GT(o.context[disco::kFeatExposure], 0.4f);
  EXPECT_FLOAT_EQ(o.context[disco::kFeatOfferRecency], 0.5f);
  EXPECT_GT(o.context[disco::kFeatDiscountAbandons], 0.0f);  // the noted visit's cart, not bought
  EXPECT_EQ(o.context[disco::kFeatFullPriceAbandons], 0.0f);
  // Session state format 2 keeps the visit counters: a restored session builds the same context.
  size_t len = 0;
  ASSERT_EQ(disco_session_save(s, nullptr, 0, &len), DISCO_ERR_BUFFER_TOO_SMALL);
  std::vector<uint8_t> buf(len);
  ASSERT_EQ(disco_session_save(s, buf.data(), buf.size(), &len), DISCO_OK);
  disco_session* r = nullptr;
  ASSERT_EQ(disco_session_restore(w.rt, buf.data(), len, &r), DISCO_OK) << disco_last_error();
  w.sessions.push_back(r);
  disco_offer a{}, b{};
  ASSERT_EQ(disco_offer_make(s, 7, t0 + 48 * hour, 1, 1, &a), DISCO_OK);
  ASSERT_EQ(disco_offer_make(r, 7, t0 + 48 * hour, 2, 2, &b), DISCO_OK);
  for (uint32_t i = 0; i < disco::kContextDim; ++i) EXPECT_EQ(a.context[i], b.context[i]) << i;
  EXPECT_GT(a.context[disco::kFeatDiscountAbandons], 0.0f);
}

// A bundle's bandit prior must have been fitted on this runtime's context feature set.
TEST(RuntimeOffer, BundlePriorFromAnotherContextVersionIsRefused) {
  auto spec = disco::make_synthetic_spec(small_options(100, 16, 16));
  const size_t n = spec.arms.size(), d = disco::kContextDim;
  spec.bandit.prior_a.assign(n * d * d, 0.0f);
  for (size_t a = 0; a < n; ++a)
    for (size_t i = 0; i < d; ++i) spec.bandit.prior_a[a * d * d + i * d + i] = 2.0f;
  spec.bandit.prior_b.assign(n * d, 0.1f);
  spec.bandit.prior_n.assign(n, 2.0f);
  {
    BundleHolder ok(spec);  // default: the current version
    disco_runtime_options o;
    disco_runtime_default_options(&o);
    disco_runtime* rt = nullptr;
    EXPECT_EQ(disco_runtime_create(ok.bundle, &o, &rt), DISCO_OK) << disco_last_error();
    disco_runtime_free(rt);
  }
  spec.bandit.context_version = 1;
  BundleHolder old(spec);
  disco_runtime_options o;
  disco_runtime_default_options(&o);
  disco_runtime* rt = nullptr;
  EXPECT_NE(disco_runtime_create(old.bundle, &o, &rt), DISCO_OK);
  EXPECT_EQ(rt, nullptr);
  EXPECT_NE(std::string(disco_last_error()).find("context features v1"), std::string::npos) << disco_last_error();
}

// A bundle exported for a shorter feature list (context_dim 12: v1/v2 bundles) keeps working: the
// bandit uses the first 12 features and offers report 12.
TEST(RuntimeOffer, BundleWithShorterContextUsesTheFirstFeatures) {
  auto spec = disco::make_synthetic_spec(small_options(100, 16, 16));
  spec.bandit.context_dim = 12;
  BundleHolder bh(spec);
  World w;
  w.rt = make_runtime(bh.bundle, 5);
  disco_session* s = w.session(3);
  ASSERT_NE(s, nullptr);
  disco_offer o{};
  ASSERT_EQ(disco_offer_make(s, 4, 1000, 0, 0, &o), DISCO_OK) << disco_last_error();
  EXPECT_EQ(o.context_dim, 12u);
  const std::vector<uint8_t> buf = bandit_bytes(w.rt);
  ASSERT_GE(buf.size(), 16u);
  uint32_t dim = 0;
  std::memcpy(&dim, buf.data() + 12, 4);  // magic, version, n_arms, dim
  EXPECT_EQ(dim, 12u);
  spec.bandit.context_dim = disco::kContextDim + 1;
  auto r = disco::build_bundle(spec);
  ASSERT_TRUE(r.ok());
  disco_bundle* too_long = nullptr;
  ASSERT_EQ(disco_bundle_load(r.bytes.data(), r.bytes.size(), 0, &too_long), DISCO_OK) << disco_last_error();
  disco_runtime_options opt;
  disco_runtime_default_options(&opt);
  disco_runtime* rt2 = nullptr;
  EXPECT_NE(disco_runtime_create(too_long, &opt, &rt2), DISCO_OK);
  EXPECT_NE(std::string(disco_last_error()).find("context_dim"), std::string::npos) << disco_last_error();
  disco_bundle_free(too_long);
}

// A hot swap to a bundle with the same arms installs its bandit config and prior (a refitted warm
// start) and keeps the observed statistics.
TEST(RuntimeOffer, SwapAdoptsTheNewPriorAndKeepsObservedStatistics) {
  auto spec = disco::make_synthetic_spec(small_options(100, 16, 16));
  BundleHolder a(spec);
  const size_t n = spec.arms.size(), d = disco::kContextDim;
  spec.bandit.prior_a.assign(n * d * d, 0.0f);
  spec.bandit.prior_b.assign(n * d, 0.0f);
  spec.bandit.prior_n.assign(n, 0.0f);
  for (size_t arm = 0; arm < n; ++arm) {
    for (size_t i = 0; i < d; ++i) spec.bandit.prior_a[arm * d * d + i * d + i] = i == 0 ? 5000.0f : 1.0f;
    spec.bandit.prior_b[arm * d] = arm == 2 ? 5000.0f : 0.0f;  // arm 2 earns 1 per offer, the others 0
    spec.bandit.prior_n[arm] = 5000.0f;
  }
  spec.bandit.noise_scale = 0.05f;
  BundleHolder b(spec);
  World w;
  w.rt = make_runtime(a.bundle, 9);
  disco_session* s = w.session(1);
  ASSERT_NE(s, nullptr);
  int64_t t = 1000;
  for (int i = 0; i < 30; ++i, t += 7200 * 1000) {  // outcomes observed under bundle a
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(s, uint32_t(i % 100), t, 0, 0, &o), DISCO_OK);
    ASSERT_EQ(disco_offer_shown(w.rt, o.decision_hi, o.decision_lo), DISCO_OK);
    disco_outcome out{o.decision_hi, o.decision_lo, t + 1, 0, 0.0f, 0.0f};
    ASSERT_EQ(disco_update(w.rt, &out), DISCO_OK) << disco_last_error();
  }
  const auto before = bandit_bytes(w.rt);
  ASSERT_EQ(disco_runtime_swap_bundle(w.rt, b.bundle), DISCO_OK) << disco_last_error();
  EXPECT_EQ(bandit_bytes(w.rt), before);  // observed statistics kept
  int arm2 = 0;
  for (int i = 0; i < 200; ++i, t += 7200 * 1000) {
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(s, uint32_t(i % 100), t, 0, 0, &o), DISCO_OK);
    arm2 += o.bandit_arm == 2;
  }
  EXPECT_GE(arm2, 170) << "the swapped-in prior favours arm 2";
}

// The reward is the reported margin whether the offer converted or not (a cost charged to a
// non-converted discount reaches the local statistics, as it reaches the collector's).
TEST(RuntimeOffer, NonConvertedOutcomeRewardIsItsMargin) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(50, 16, 16)));
  auto run = [&](uint32_t converted, float margin) {
    World w;
    w.rt = make_runtime(bh.bundle, 21);
    disco_session* s = w.session(4);
    disco_offer o{};
    EXPECT_EQ(disco_offer_make(s, 3, 5000, 0, 0, &o), DISCO_OK);
    EXPECT_EQ(disco_offer_shown(w.rt, o.decision_hi, o.decision_lo), DISCO_OK);
    disco_outcome out{o.decision_hi, o.decision_lo, 6000, converted, 0.0f, margin};
    EXPECT_EQ(disco_update(w.rt, &out), DISCO_OK) << disco_last_error();
    return bandit_bytes(w.rt);
  };
  const auto plain = run(0, 0.0f), charged = run(0, -5.0f), charged_converted = run(1, -5.0f);
  EXPECT_NE(plain, charged) << "a non-converted outcome's negative reward must reach the statistics";
  EXPECT_EQ(charged, charged_converted) << "the reward does not depend on the converted flag";
}

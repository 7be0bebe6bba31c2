// Regular-build stand-in for the fuzzers: thousands of mutated bundles and mutated saved states go
// through the loaders; each is refused with a status and message, or accepted and usable.
#include <gtest/gtest.h>

#include <random>

#include "test_util.h"

using namespace rt_test;

TEST(RuntimeCorpus, MutatedBundlesNeverCrash) {
  auto r = disco::build_bundle(disco::make_synthetic_spec(small_options(30, 8, 8)));
  ASSERT_TRUE(r.ok());
  std::mt19937_64 rng(2024);
  int accepted = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::vector<uint8_t> m = r.bytes;
    const int kind = int(rng() % 4);
    const int edits = 1 + int(rng() % 8);
    for (int e = 0; e < edits && !m.empty(); ++e) {
      const size_t pos = rng() % m.size();
      if (kind == 0) m[pos] = uint8_t(rng());
      else if (kind == 1) m.resize(pos);
      else if (kind == 2) m.insert(m.begin() + long(pos), uint8_t(rng()));
      else {  // overwrite a 4-byte word (offsets / lengths) with an extreme value
        const uint32_t vals[] = {0u, 0xFFFFFFFFu, 0x7FFFFFFFu, 0x80000000u, uint32_t(m.size()), 4u};
        const uint32_t v = vals[rng() % 6];
        for (int k = 0; k < 4 && pos + size_t(k) < m.size(); ++k) m[pos + size_t(k)] = uint8_t(v >> (8 * k));
      }
    }
    disco_bundle* b = nullptr;
    const disco_status st = disco_bundle_load(m.data(), m.size(), iter % 2 ? DISCO_LOAD_SKIP_CHECKSUM : 0, &b);
    if (st == DISCO_OK) {
      ++accepted;
      // Accepted means fully usable: run a session over it.
      disco_runtime* rt = nullptr;
      if (disco_runtime_create(b, nullptr, &rt) == DISCO_OK) {
        disco_session* s = nullptr;
        ASSERT_EQ(disco_session_create(rt, 1, &s), DISCO_OK);
        disco_bundle_info info{};
        disco_bundle_get_info(b, &info);
        observe(s, ev(0, 0, 0));
        uint32_t items[5];
        float scores[5];
        uint32_t n = 0;
        disco_recommend(s, 5, nullptr, items, scores, &n);
        disco_offer o{};
        disco_offer_make(s, 0, 0, 0, 0, &o);
        disco_session_free(s);
        disco_runtime_free(rt);
      }
      disco_bundle_free(b);
    } else {
      ASSERT_NE(std::string(disco_last_error()), "");
    }
  }
  std::printf("mutated bundles accepted: %d of 4000 (half with the checksum skipped)\n", accepted);
}

TEST(RuntimeCorpus, MutatedStatesNeverCrash) {
  BundleHolder bh(disco::make_synthetic_spec(small_options(30, 8, 8)));
  disco_runtime* rt = make_runtime(bh.bundle, 1, DISCO_MODE_ONLINE, 16);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(rt, 1, &s), DISCO_OK);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(observe(s, ev(i, uint32_t(i), 0)), DISCO_OK);
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(s, uint32_t(i), i, 0, 0, &o), DISCO_OK);
    if (i % 2) {
      disco_offer_shown(rt, o.decision_hi, o.decision_lo);
      disco_outcome out{o.decision_hi, o.decision_lo, 0, 1, 1, 1};
      disco_update(rt, &out);
    }
  }
  std::vector<uint8_t> sb(1 << 16), rb(1 << 20), bb(1 << 16);
  size_t sl, rl, bl;
  ASSERT_EQ(disco_session_save(s, sb.data(), sb.size(), &sl), DISCO_OK);
  ASSERT_EQ(disco_runtime_save(rt, rb.data(), rb.size(), &rl), DISCO_OK);
  ASSERT_EQ(disco_bandit_export(rt, 0, bb.data(), bb.size(), &bl), DISCO_OK);
  sb.resize(sl);
  rb.resize(rl);
  bb.resize(bl);
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 3000; ++iter) {
    for (int which = 0; which < 3; ++which) {
      std::vector<uint8_t> m = which == 0 ? sb : which == 1 ? rb : bb;
      const int edits = 1 + int(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t pos = rng() % m.size();
        if (rng() % 3 == 0) m.resize(pos + 1);
        else m[pos] ^= uint8_t(1u << (rng() % 8));
      }
      disco_status st;
      if (which == 0) {
        disco_session* out = nullptr;
        st = disco_session_restore(rt, m.data(), m.size(), &out);
        if (st == DISCO_OK) {
          uint32_t items[3], n;
          float sc[3];
          disco_recommend(out, 3, nullptr, items, sc, &n);
          observe(out, ev(100, 1, 0));
          disco_session_free(out);
        }
      } else if (which == 1) {
        st = disco_runtime_restore(rt, m.data(), m.size());
      } else {
        st = disco_bandit_import(rt, m.data(), m.size(), rng() % 2);
      }
      ASSERT_TRUE(st == DISCO_OK || st == DISCO_ERR_STATE) << disco_status_string(st) << " " << disco_last_error();
      // Whatever was accepted, the runtime keeps working.
      disco_offer o{};
      ASSERT_EQ(disco_offer_make(s, uint32_t(iter % 30), 1000 + iter, 0, 0, &o), DISCO_OK) << disco_last_error();
      ASSERT_TRUE(std::isfinite(o.propensity));
    }
  }
  disco_session_free(s);
  disco_runtime_free(rt);
}

// Shared by the runtime's fuzz targets: a small valid bundle built once, the fixture bundle the
// saved-state fixtures belong to, and a little of everything to run on whatever was accepted.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "disco/bundle_writer.h"
#include "disco/disco.h"

namespace disco_fuzz {
inline const std::vector<uint8_t>& seed_bundle() {
  static const std::vector<uint8_t> bytes = [] {
    disco::SyntheticOptions o;
    o.n_items = 24;
    o.emb_dim = 8;
    o.hidden = 8;
    o.seed = 5;
    return disco::build_bundle(disco::make_synthetic_spec(o)).bytes;
  }();
  return bytes;
}

// A refusal must be a status with a message; DISCO_ERR_INTERNAL (an exception the parser did not
// expect, caught by the C ABI's guard) is a bug on any input.
inline void check_refusal(disco_status st) {
  if (st == DISCO_OK) return;
  if (st == DISCO_ERR_INTERNAL || disco_last_error()[0] == '\0') {
    std::fprintf(stderr, "refusal without a proper status: %s: %s\n", disco_status_string(st), disco_last_error());
    std::abort();
  }
}

// tests/runtime/fixtures/bundle_schema1.0.disco: the bundle every saved-state fixture (the seed
// corpora of the state targets) belongs to, so seeds are accepted and mutations reach deep.
// A runtime over it with the options the fixtures were written with.
inline disco_bundle* fixture_bundle() {
  static const std::vector<uint8_t> bytes = [] {
    std::ifstream f(DISCO_FUZZ_FIXTURE_BUNDLE, std::ios::binary);
    std::vector<uint8_t> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (b.empty()) {
      std::fprintf(stderr, "cannot read %s\n", DISCO_FUZZ_FIXTURE_BUNDLE);
      std::abort();
    }
    return b;
  }();
  static disco_bundle* bundle = [] {
    disco_bundle* b = nullptr;
    if (disco_bundle_load(bytes.data(), bytes.size(), 0, &b) != DISCO_OK) {
      std::fprintf(stderr, "fixture bundle refused: %s\n", disco_last_error());
      std::abort();
    }
    return b;
  }();
  return bundle;
}
inline uint32_t fixture_items() {
  disco_bundle_info info{};
  disco_bundle_get_info(fixture_bundle(), &info);
  return info.n_items;
}
inline disco_runtime* fixture_runtime() {
  disco_bundle* bundle = fixture_bundle();
  disco_runtime_options opt;
  disco_runtime_default_options(&opt);
  opt.max_pending_decisions = 16;
  disco_runtime* rt = nullptr;
  if (disco_runtime_create(bundle, &opt, &rt) != DISCO_OK) std::abort();
  return rt;
}

// Runs a little of everything on a loaded bundle: must never crash whatever was accepted.
inline void exercise(disco_runtime* rt, uint32_t n_items) {
  disco_session* s = nullptr;
  if (disco_session_create(rt, 7, &s) != DISCO_OK) return;
  disco_event ev{1000, 0, 2, 0.0f, 1};
  disco_observe(s, &ev);
  ev.item = n_items - 1;
  ev.ts_ms = 5000;
  disco_observe(s, &ev);
  uint32_t items[4];
  float scores[4];
  uint32_t n = 0;
  disco_recommend(s, 4, nullptr, items, scores, &n);
  disco_offer o{};
  if (disco_offer_make(s, 0, 6000, 0, 0, &o) == DISCO_OK) {
    disco_offer_shown(rt, o.decision_hi, o.decision_lo);
    disco_outcome out{o.decision_hi, o.decision_lo, 7000, 1, 10.0f, 2.0f};
    disco_update(rt, &out);
  }
  disco_session_free(s);
}

// Saves the runtime again (what was accepted must serialize).
inline void save_again(disco_runtime* rt) {
  static std::vector<uint8_t> out(1 << 20);
  size_t len = 0;
  check_refusal(disco_runtime_save(rt, out.data(), out.size(), &len));
}
}  // namespace disco_fuzz

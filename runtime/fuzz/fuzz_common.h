// Shared by the fuzz targets: a small valid bundle, built once.
#pragma once
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
}  // namespace disco_fuzz

// Helpers shared by the runtime tests.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <cstring>

#include "disco/bandit.h"
#include "disco/bundle_writer.h"
#include "disco/disco.h"
#include "bandit_export_layout.h"

namespace rt_test {

struct BundleHolder {
  std::vector<uint8_t> bytes;
  disco_bundle* bundle = nullptr;
  explicit BundleHolder(const disco::BundleSpec& spec) {
    auto r = disco::build_bundle(spec);
    EXPECT_TRUE(r.ok()) << r.error;
    bytes = std::move(r.bytes);
    EXPECT_EQ(disco_bundle_load(bytes.data(), bytes.size(), 0, &bundle), DISCO_OK) << disco_last_error();
  }
  ~BundleHolder() { disco_bundle_free(bundle); }
  BundleHolder(const BundleHolder&) = delete;
  BundleHolder& operator=(const BundleHolder&) = delete;
};

inline disco::SyntheticOptions small_options(uint32_t n = 300, uint16_t d = 16, uint16_t h = 24, uint64_t seed = 3) {
  disco::SyntheticOptions o;
  o.n_items = n;
  o.emb_dim = d;
  o.hidden = h;
  o.seed = seed;
  return o;
}

inline disco_event ev(int64_t ts, uint32_t item, uint32_t type, float price = 0.0f, int32_t qty = 1) {
  disco_event e{};
  e.ts_ms = ts;
  e.item = item;
  e.type = type;
  e.price = price;
  e.quantity = qty;
  return e;
}

inline disco_status observe(disco_session* s, disco_event e) { return disco_observe(s, &e); }

inline disco_runtime* make_runtime(const disco_bundle* b, uint64_t seed, disco_mode mode = DISCO_MODE_ONLINE,
                                   uint32_t max_pending = 0) {
  disco_runtime_options o;
  disco_runtime_default_options(&o);
  o.seed = seed;
  o.mode = mode;
  o.max_pending_decisions = max_pending;
  disco_runtime* rt = nullptr;
  EXPECT_EQ(disco_runtime_create(b, &o, &rt), DISCO_OK) << disco_last_error();
  return rt;
}

inline bool same_offer(const disco_offer& a, const disco_offer& b) {
  return a.decision_hi == b.decision_hi && a.decision_lo == b.decision_lo && a.item == b.item && a.arm == b.arm &&
         a.bandit_arm == b.bandit_arm && a.discount == b.discount && a.propensity == b.propensity &&
         a.purchase_propensity == b.purchase_propensity && a.expires_at_ms == b.expires_at_ms &&
         a.guardrails == b.guardrails && a.context_dim == b.context_dim &&
         std::equal(a.context, a.context + a.context_dim, b.context);
}

// The runtime's observed bandit statistics, decoded from disco_bandit_export (bandit_export_layout.h).
// Fails the test on a bad layout.
inline disco::BanditStats exported_stats(disco_runtime* rt) {
  std::vector<uint8_t> buf(1 << 20);
  size_t len = 0;
  EXPECT_EQ(disco_bandit_export(rt, 0, buf.data(), buf.size(), &len), DISCO_OK) << disco_last_error();
  disco::BanditStats s;
  const std::string err = decode_bandit_export(buf.data(), len, &s);
  EXPECT_EQ(err, "") << "bandit export layout";
  return s;
}

}  // namespace rt_test

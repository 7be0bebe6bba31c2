// The fleet bandit statistics message (schemas/bandit_stats.fbs) read by disco_bandit_import, and
// the rule for an outcome that arrives before its decision is shown (held, applied once when the
// decision is shown; the collector applies the same rule, tests/collector).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "disco/context.h"
#include "disco/fleet_stats.h"
#include "disco/version.h"
#include "test_util.h"

using namespace rt_test;

namespace {

struct Rt {
  BundleHolder bh;
  disco_runtime* rt = nullptr;
  disco_session* s = nullptr;
  explicit Rt(const disco::BundleSpec& spec) : bh(spec) {
    rt = make_runtime(bh.bundle, 11);
    EXPECT_EQ(disco_session_create(rt, 3, &s), DISCO_OK);
  }
  ~Rt() {
    disco_session_free(s);
    disco_runtime_free(rt);
  }
  disco_offer offer(uint32_t item, int64_t ts) {
    disco_offer o{};
    EXPECT_EQ(disco_offer_make(s, item, ts, 0, 0, &o), DISCO_OK) << disco_last_error();
    return o;
  }
};

disco::BundleSpec spec(uint16_t context_dim = 0) {
  auto sp = disco::make_synthetic_spec(small_options(60, 8, 8));
  sp.bandit.context_dim = context_dim;
  return sp;
}

// A message of `dim` with deterministic statistics for the listed arms.
disco::FleetStats message(uint16_t dim, std::vector<uint16_t> arms, double scale = 1.0) {
  disco::FleetStats m;
  m.version = 42;
  m.site = "shop";
  m.context_version = static_cast<uint16_t>(disco::kContextVersion);
  m.dim = dim;
  for (uint16_t a : arms) {
    disco::FleetArmStats x;
    x.arm = a;
    std::vector<float> ctx(dim);
    for (int k = 0; k < 3 + a; ++k) {
      for (uint16_t i = 0; i < dim; ++i) ctx[i] = static_cast<float>(std::sin(0.3 * (i + 1) * (k + 1) + a));
      EXPECT_TRUE(disco::add_observation(x.stats, dim, ctx.data(), scale * 0.1 * (a + 1) * (k % 2 ? 1 : -0.5)));
    }
    m.arms.push_back(std::move(x));
  }
  return m;
}

disco_status import(disco_runtime* rt, const std::vector<uint8_t>& bytes, uint32_t merge) {
  return disco_bandit_import(rt, bytes.data(), bytes.size(), merge);
}

}  // namespace

TEST(RuntimeFleetStats, MessageRoundTripsAndIsRecognised) {
  const disco::FleetStats m = message(15, {0, 3});
  const std::vector<uint8_t> bytes = disco::write_fleet_stats(m);
  ASSERT_TRUE(disco::is_fleet_stats_message(bytes.data(), bytes.size()));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()) + 4, 4), "DSBS");
  disco::FleetStats back;
  ASSERT_EQ(disco::read_fleet_stats(bytes.data(), bytes.size(), &back), "");
  EXPECT_EQ(back.version, 42u);
  EXPECT_EQ(back.site, "shop");
  EXPECT_EQ(back.dim, 15);
  ASSERT_EQ(back.arms.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(back.arms[k].arm, m.arms[k].arm);
    EXPECT_EQ(back.arms[k].stats.A, m.arms[k].stats.A);
    EXPECT_EQ(back.arms[k].stats.b, m.arms[k].stats.b);
    EXPECT_EQ(back.arms[k].stats.n, m.arms[k].stats.n);
    EXPECT_EQ(back.arms[k].stats.reward_sum, m.arms[k].stats.reward_sum);
  }
  // The runtime's own export also starts with "DSBS", but at byte 0: it is not taken for a message.
  Rt r(spec());
  std::vector<uint8_t> own(1 << 16);
  size_t len = 0;
  ASSERT_EQ(disco_bandit_export(r.rt, 0, own.data(), own.size(), &len), DISCO_OK);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(own.data()), 4), "DSBS");
  EXPECT_FALSE(disco::is_fleet_stats_message(own.data(), len));
  ASSERT_EQ(disco_bandit_import(r.rt, own.data(), len, 0), DISCO_OK) << disco_last_error();
}

TEST(RuntimeFleetStats, ImportReplacesOrMergesAndNeverEntersTheDelta) {
  Rt r(spec());
  const disco::FleetStats m = message(disco::kContextDim, {1, 4});
  ASSERT_EQ(import(r.rt, disco::write_fleet_stats(m), 0), DISCO_OK) << disco_last_error();
  disco::BanditStats got = exported_stats(r.rt);
  ASSERT_EQ(got.arms.size(), 5u);
  EXPECT_EQ(got.arms[1].A, m.arms[0].stats.A);
  EXPECT_EQ(got.arms[4].b, m.arms[1].stats.b);
  EXPECT_EQ(got.arms[4].n, m.arms[1].stats.n);
  for (int a : {0, 2, 3}) {  // absent from the message: no data
    EXPECT_EQ(got.arms[size_t(a)].n, 0.0);
    for (double v : got.arms[size_t(a)].A) EXPECT_EQ(v, 0.0);
  }
  // Merge adds; replace again gives the message alone.
  ASSERT_EQ(import(r.rt, disco::write_fleet_stats(m), 1), DISCO_OK) << disco_last_error();
  got = exported_stats(r.rt);
  EXPECT_EQ(got.arms[4].n, 2 * m.arms[1].stats.n);
  EXPECT_DOUBLE_EQ(got.arms[1].A[5], 2 * m.arms[0].stats.A[5]);
  ASSERT_EQ(import(r.rt, disco::write_fleet_stats(m), 0), DISCO_OK);
  EXPECT_EQ(exported_stats(r.rt).arms[4].n, m.arms[1].stats.n);
  // Imported statistics are never part of the delta an edge reports.
  std::vector<uint8_t> buf(1 << 16);
  size_t len = 0;
  ASSERT_EQ(disco_bandit_export(r.rt, 1, buf.data(), buf.size(), &len), DISCO_OK);
  Rt fresh(spec());
  ASSERT_EQ(disco_bandit_import(fresh.rt, buf.data(), len, 0), DISCO_OK);
  for (const auto& a : exported_stats(fresh.rt).arms) EXPECT_EQ(a.n, 0.0);
}

TEST(RuntimeFleetStats, MismatchesAreRefusedByName) {
  Rt r(spec());  // 5 arms x 15 features, context v3
  auto refused = [&](const std::vector<uint8_t>& bytes, const std::string& words) {
    ASSERT_EQ(import(r.rt, bytes, 0), DISCO_ERR_STATE) << words;
    const std::string msg = disco_last_error();
    EXPECT_NE(msg.find(words), std::string::npos) << msg;
  };
  refused(disco::write_fleet_stats(message(12, {0})),
          "bandit statistics are for context dim 12; this runtime's bandit uses 15 features");
  refused(disco::write_fleet_stats(message(15, {0, 7})), "name arm 7; this runtime's bundle has 5 arms");
  disco::FleetStats old = message(15, {0});
  old.context_version = 2;
  refused(disco::write_fleet_stats(old), "accumulated on context features v2; this runtime builds v" +
                                             std::to_string(disco::kContextVersion));
  old.context_version = 0;
  refused(disco::write_fleet_stats(old), "v0 (not recorded)");
  disco::FleetStats twice = message(15, {2});
  twice.arms.push_back(twice.arms[0]);
  refused(disco::write_fleet_stats(twice), "list arm 2 twice");
  disco::FleetStats short_b = message(15, {1});
  short_b.arms[0].stats.b.pop_back();
  refused(disco::write_fleet_stats(short_b), "A has 225 values and b 14; dim 15 needs 225 and 15");
  disco::FleetStats nan = message(15, {1});
  nan.arms[0].stats.A[3] = NAN;
  refused(disco::write_fleet_stats(nan), "A has a non-finite value");
  disco::FleetStats asym = message(15, {1});
  asym.arms[0].stats.A[1] += 1.0;
  refused(disco::write_fleet_stats(asym), "not symmetric");
  std::vector<uint8_t> cut = disco::write_fleet_stats(message(15, {0, 1}));
  cut.resize(cut.size() / 2);
  refused(cut, "corrupt");
  // A refused import changes nothing.
  for (const auto& a : exported_stats(r.rt).arms) EXPECT_EQ(a.n, 0.0);

  // A bundle whose bandit uses the first 12 features takes a dim-12 message.
  Rt r12(spec(12));
  EXPECT_EQ(import(r12.rt, disco::write_fleet_stats(message(12, {0, 4})), 0), DISCO_OK) << disco_last_error();
  EXPECT_EQ(exported_stats(r12.rt).arms[4].n, 7.0);
}

// One rule for an outcome that arrives before its `shown` (runtime/README.md, collector/PROTOCOL.md):
// the decision trains the bandit once, when it is both shown and has its outcome, in either order.
TEST(RuntimeUpdate, OutcomeBeforeShownIsHeldAndAppliedOnceWhenShown) {
  Rt first(spec()), second(spec());  // same seed and inputs: outcome-first vs shown-first
  std::vector<disco_offer> a, b;
  for (uint32_t i = 0; i < 6; ++i) {
    a.push_back(first.offer(i * 5, 1000 + i));
    b.push_back(second.offer(i * 5, 1000 + i));
    ASSERT_EQ(a.back().decision_lo, b.back().decision_lo);
  }
  for (size_t i = 0; i < 6; ++i) {
    disco_outcome o{a[i].decision_hi, a[i].decision_lo, 5000, i % 2 == 0, 20.0f, 3.0f - float(i)};
    // outcome first: held (NOT_FOUND names it), a second outcome while held is a duplicate
    ASSERT_EQ(disco_update(first.rt, &o), DISCO_ERR_NOT_FOUND);
    EXPECT_NE(std::string(disco_last_error()).find("not shown yet"), std::string::npos) << disco_last_error();
    EXPECT_NE(std::string(disco_last_error()).find("held"), std::string::npos);
    EXPECT_EQ(disco_update(first.rt, &o), DISCO_ERR_DUPLICATE);
    if (i == 5) continue;  // never shown: never trains
    ASSERT_EQ(disco_offer_shown(first.rt, a[i].decision_hi, a[i].decision_lo), DISCO_OK);
    EXPECT_EQ(disco_update(first.rt, &o), DISCO_ERR_DUPLICATE) << "applied when shown";
    EXPECT_EQ(disco_offer_shown(first.rt, a[i].decision_hi, a[i].decision_lo), DISCO_ERR_DUPLICATE);
    // shown first
    ASSERT_EQ(disco_offer_shown(second.rt, b[i].decision_hi, b[i].decision_lo), DISCO_OK);
    ASSERT_EQ(disco_update(second.rt, &o), DISCO_OK);
  }
  const disco::BanditStats x = exported_stats(first.rt), y = exported_stats(second.rt);
  double n = 0;
  for (size_t k = 0; k < x.arms.size(); ++k) {
    EXPECT_EQ(x.arms[k].A, y.arms[k].A) << "arm " << k;
    EXPECT_EQ(x.arms[k].b, y.arms[k].b) << "arm " << k;
    EXPECT_EQ(x.arms[k].n, y.arms[k].n);
    n += x.arms[k].n;
  }
  EXPECT_EQ(n, 5.0);
}

TEST(RuntimeUpdate, HeldOutcomeSurvivesSaveAndRestore) {
  Rt r(spec());
  disco_offer o = r.offer(7, 1000);
  disco_outcome out{o.decision_hi, o.decision_lo, 2000, 1, 20.0f, 4.0f};
  ASSERT_EQ(disco_update(r.rt, &out), DISCO_ERR_NOT_FOUND);
  std::vector<uint8_t> buf(1 << 22);
  size_t len = 0;
  ASSERT_EQ(disco_runtime_save(r.rt, buf.data(), buf.size(), &len), DISCO_OK) << disco_last_error();
  uint32_t version = 0;
  std::memcpy(&version, buf.data() + 4, 4);
  EXPECT_EQ(version, disco::kRuntimeStateVersion);  // >= 2: held outcomes are saved
  Rt back(spec());
  ASSERT_EQ(disco_runtime_restore(back.rt, buf.data(), len), DISCO_OK) << disco_last_error();
  ASSERT_EQ(disco_offer_shown(back.rt, o.decision_hi, o.decision_lo), DISCO_OK);
  double n = 0, rs = 0;
  for (const auto& a : exported_stats(back.rt).arms) n += a.n, rs += a.reward_sum;
  EXPECT_EQ(n, 1.0);
  EXPECT_DOUBLE_EQ(rs, disco::scaled_reward(4.0, spec().catalog.price[7]));  // the held outcome's reward
  EXPECT_EQ(disco_update(back.rt, &out), DISCO_ERR_DUPLICATE);
}

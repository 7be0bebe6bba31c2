// Backward compatibility (FAISS-style): bundles and saved states written by earlier versions are
// kept as files and must keep loading and giving the same numbers. Regenerate only on a deliberate
// format change: DISCO_WRITE_FIXTURES=1 ./runtime_fixture_test (then update the expected values).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "disco/fleet_stats.h"
#include "disco/version.h"
#include "fixtures/fixture_workload.h"
#include "test_util.h"

using namespace rt_test;

namespace {
// Recorded when the fixtures were written (runtime format 1, schema 1.0).
constexpr uint32_t kPropensityBits = 0x3ef0c1af;
constexpr uint32_t kTop[5] = {25, 31, 22, 18, 1};
constexpr uint32_t kScore0Bits = 0x3fca0046;
const std::string kDir = std::string(DISCO_SOURCE_DIR) + "/tests/runtime/fixtures/";

std::vector<uint8_t> read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
void write(const std::string& path, const uint8_t* p, size_t n) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(p), long(n));
}
uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
// The fixed workload applied to the fixture session.
void drive(disco_session* s) {
  for (uint32_t i = 0; i < 6; ++i) ASSERT_EQ(observe(s, ev(1700000000000 + i * 7000, (i * 7) % 40, i % 5, 0.0f)), DISCO_OK);
}
}  // namespace

TEST(RuntimeFixture, Schema1_0BundleAndState1StillLoadAndAgree) {
  if (std::getenv("DISCO_WRITE_FIXTURES")) {
    auto o = small_options(40, 8, 12, 1234);
    o.num_price_buckets = 6;
    o.num_gap_buckets = 4;
    auto r = disco::build_bundle(disco::make_synthetic_spec(o));
    ASSERT_TRUE(r.ok());
    write(kDir + "bundle_schema1.0.disco", r.bytes.data(), r.bytes.size());
    disco_bundle* b = nullptr;
    ASSERT_EQ(disco_bundle_load(r.bytes.data(), r.bytes.size(), 0, &b), DISCO_OK);
    disco_runtime* rt = make_runtime(b, 5);
    disco_session* s = nullptr;
    ASSERT_EQ(disco_session_create(rt, 9, &s), DISCO_OK);
    drive(s);
    std::vector<uint8_t> buf(1 << 16);
    size_t len = 0;
    ASSERT_EQ(disco_session_save(s, buf.data(), buf.size(), &len), DISCO_OK);
    write(kDir + "session_state1.bin", buf.data(), len);
    float p = 0;
    disco_purchase_probability(s, &p);
    uint32_t items[5], n = 0;
    float sc[5];
    disco_recommend(s, 5, nullptr, items, sc, &n);
    std::printf("propensity bits 0x%08x; top-5 %u %u %u %u %u; score0 bits 0x%08x\n", bits(p), items[0], items[1],
                items[2], items[3], items[4], bits(sc[0]));
    disco_session_free(s);
    disco_runtime_free(rt);
    disco_bundle_free(b);
    GTEST_SKIP() << "fixtures written; update the expected values from the line above";
  }
  const std::vector<uint8_t> bundle = read(kDir + "bundle_schema1.0.disco");
  const std::vector<uint8_t> state = read(kDir + "session_state1.bin");
  ASSERT_FALSE(bundle.empty()) << "missing fixture " << kDir << "bundle_schema1.0.disco";
  ASSERT_FALSE(state.empty()) << "missing fixture " << kDir << "session_state1.bin";
  disco_bundle* b = nullptr;
  ASSERT_EQ(disco_bundle_load(bundle.data(), bundle.size(), 0, &b), DISCO_OK) << disco_last_error();
  disco_bundle_info info{};
  disco_bundle_get_info(b, &info);
  EXPECT_EQ(info.schema_major, 1);
  EXPECT_EQ(info.n_items, 40u);
  EXPECT_STREQ(info.model_version, "synthetic-1234");
  disco_runtime* rt = make_runtime(b, 5);
  // A fresh session over the same events and the restored one agree with the recorded numbers.
  disco_session* fresh = nullptr;
  ASSERT_EQ(disco_session_create(rt, 9, &fresh), DISCO_OK);
  drive(fresh);
  disco_session* restored = nullptr;
  ASSERT_EQ(disco_session_restore(rt, state.data(), state.size(), &restored), DISCO_OK) << disco_last_error();
  for (disco_session* s : {fresh, restored}) {
    float p = 0;
    disco_purchase_probability(s, &p);
    EXPECT_EQ(bits(p), kPropensityBits);
    uint32_t items[5], n = 0;
    float sc[5];
    ASSERT_EQ(disco_recommend(s, 5, nullptr, items, sc, &n), DISCO_OK);
    ASSERT_EQ(n, 5u);
    const uint32_t want[5] = {kTop[0], kTop[1], kTop[2], kTop[3], kTop[4]};
    EXPECT_EQ(0, std::memcmp(items, want, sizeof want));
    EXPECT_EQ(bits(sc[0]), kScore0Bits);
  }
  disco_session_free(fresh);
  disco_session_free(restored);
  disco_runtime_free(rt);
  disco_bundle_free(b);
}

// One saved session per state format version (1: the original, 2: + visit counters, 3: compact),
// all of the same session over the schema 1.0 fixture bundle, all restoring to the recorded
// numbers. Writing (DISCO_WRITE_STATE_FIXTURES=1) adds the newest versions without touching the
// bundle or the older states; the SDK's node test compares disco.wasm's bytes to these files.
TEST(RuntimeFixture, SessionStateOfEveryFormatVersionRestores) {
  const std::vector<uint8_t> bundle = read(kDir + "bundle_schema1.0.disco");
  ASSERT_FALSE(bundle.empty()) << "missing fixture " << kDir << "bundle_schema1.0.disco";
  disco_bundle* b = nullptr;
  ASSERT_EQ(disco_bundle_load(bundle.data(), bundle.size(), 0, &b), DISCO_OK) << disco_last_error();
  disco_runtime* rt = make_runtime(b, 5);
  if (std::getenv("DISCO_WRITE_STATE_FIXTURES")) {
    disco_session* s = nullptr;
    ASSERT_EQ(disco_session_create(rt, 9, &s), DISCO_OK);
    drive(s);
    std::vector<uint8_t> buf(1 << 16);
    size_t len = 0;
    ASSERT_EQ(disco_session_save(s, buf.data(), buf.size(), &len), DISCO_OK);
    write(kDir + "session_state2.bin", buf.data(), len);
    ASSERT_EQ(disco_session_save_compact(s, buf.data(), buf.size(), &len), DISCO_OK);
    write(kDir + "session_state3.bin", buf.data(), len);
    disco_session_free(s);
  }
  for (uint32_t version : {1u, 2u, 3u}) {
    const std::string name = "session_state" + std::to_string(version) + ".bin";
    const std::vector<uint8_t> state = read(kDir + name);
    ASSERT_GE(state.size(), 8u) << "missing fixture " << kDir << name;
    uint32_t v = 0;
    std::memcpy(&v, state.data() + 4, 4);
    EXPECT_EQ(v, version) << name;
    disco_session* s = nullptr;
    ASSERT_EQ(disco_session_restore(rt, state.data(), state.size(), &s), DISCO_OK) << name << ": " << disco_last_error();
    float p = 0;
    disco_purchase_probability(s, &p);
    EXPECT_EQ(bits(p), kPropensityBits) << name;
    uint32_t items[5], n = 0;
    float sc[5];
    ASSERT_EQ(disco_recommend(s, 5, nullptr, items, sc, &n), DISCO_OK);
    ASSERT_EQ(n, 5u);
    const uint32_t want[5] = {kTop[0], kTop[1], kTop[2], kTop[3], kTop[4]};
    EXPECT_EQ(0, std::memcmp(items, want, sizeof want)) << name;
    EXPECT_EQ(bits(sc[0]), kScore0Bits) << name;
    // Today's writers still write these exact bytes (format 2 full, format 3 compact).
    std::vector<uint8_t> again(1 << 16);
    size_t len = 0;
    if (version == 2) {
      ASSERT_EQ(disco_session_save(s, again.data(), again.size(), &len), DISCO_OK);
      EXPECT_TRUE(len == state.size() && std::memcmp(again.data(), state.data(), len) == 0) << name;
    } else if (version == 3) {
      ASSERT_EQ(disco_session_save_compact(s, again.data(), again.size(), &len), DISCO_OK);
      EXPECT_TRUE(len == state.size() && std::memcmp(again.data(), state.data(), len) == 0) << name;
    }
    disco_session_free(s);
  }
  disco_runtime_free(rt);
  disco_bundle_free(b);
}

// Runtime state format 1 (before held outcomes), written by the runtime of that time
// (runtime_state1.bin: seed 5, session user 9 over the fixture bundle; four offers on items 0, 7,
// 14, 21: the first shown and updated, the second shown, the last two pending unshown).
TEST(RuntimeFixture, RuntimeState1StillRestores) {
  const std::vector<uint8_t> bundle = read(kDir + "bundle_schema1.0.disco");
  const std::vector<uint8_t> state = read(kDir + "runtime_state1.bin");
  ASSERT_FALSE(state.empty()) << "missing fixture " << kDir << "runtime_state1.bin";
  uint32_t version = 0;
  std::memcpy(&version, state.data() + 4, 4);
  ASSERT_EQ(version, 1u);
  disco_bundle* b = nullptr;
  ASSERT_EQ(disco_bundle_load(bundle.data(), bundle.size(), 0, &b), DISCO_OK) << disco_last_error();
  disco_runtime* rt = make_runtime(b, 5);
  ASSERT_EQ(disco_runtime_restore(rt, state.data(), state.size()), DISCO_OK) << disco_last_error();
  const uint64_t hi = 0x97b3d0b5cd9f9cd1ull;
  const uint64_t lo[4] = {0x9698fefef1c9863eull, 0x9a7bed8caef5fda5ull, 0x49a8e88e8ec053e7ull, 0xf5af6107fb03aa24ull};
  disco_outcome o{hi, lo[0], 1700000010000, 1, 20.0f, 4.0f};
  EXPECT_EQ(disco_update(rt, &o), DISCO_ERR_DUPLICATE);  // applied before the save
  o.decision_lo = lo[1];
  EXPECT_EQ(disco_update(rt, &o), DISCO_OK) << disco_last_error();  // shown before the save
  EXPECT_EQ(disco_offer_shown(rt, hi, lo[2]), DISCO_OK);
  o.decision_lo = lo[3];
  EXPECT_EQ(disco_update(rt, &o), DISCO_ERR_NOT_FOUND);  // not shown: held ...
  EXPECT_EQ(disco_offer_shown(rt, hi, lo[3]), DISCO_OK);  // ... and applied now
  double n = 0;
  for (const auto& a : exported_stats(rt).arms) n += a.n;
  EXPECT_EQ(n, 3.0);
  disco_runtime_free(rt);
  disco_bundle_free(b);
}

// ---- today's formats, written by tests/runtime/fixtures/make_fixtures.cpp -----------------------
// (the values below are what it printed; the workloads are fixtures/fixture_workload.h).
namespace {
disco_runtime* fixture_runtime(const disco_bundle* b) { return make_runtime(b, fixture::kSeed); }
uint64_t bits64(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}
// The bandit statistics after the whole runtime-state-2 workload: arm, n, reward_sum.
struct ArmRecord {
  uint32_t arm;
  double n, reward_sum;
};
constexpr ArmRecord kStats[] = {{1, 2, 0x1.8e6a194db44c2p-1}, {2, 1, 0x1.e5b5fcb2b9ba8p-6}, {3, 1, 0x1.cfc91d6cc3efdp-4}};

void expect_recorded_stats(disco_runtime* rt, const char* what) {
  const disco::BanditStats s = exported_stats(rt);
  ASSERT_EQ(s.arms.size(), 5u) << what;
  for (uint32_t a = 0; a < 5; ++a) {
    double n = 0, r = 0;
    for (const auto& k : kStats)
      if (k.arm == a) n = k.n, r = k.reward_sum;
    EXPECT_EQ(s.arms[a].n, n) << what << " arm " << a;
    EXPECT_EQ(bits64(s.arms[a].reward_sum), bits64(r)) << what << " arm " << a;
  }
}
std::vector<uint8_t> export_bytes(disco_runtime* rt) {
  std::vector<uint8_t> buf(1 << 16);
  size_t len = 0;
  EXPECT_EQ(disco_bandit_export(rt, 0, buf.data(), buf.size(), &len), DISCO_OK) << disco_last_error();
  buf.resize(len);
  return buf;
}
struct Loaded {
  std::vector<uint8_t> bytes;
  disco_bundle* b = nullptr;
  explicit Loaded(const std::string& name) : bytes(read(kDir + name)) {
    EXPECT_FALSE(bytes.empty()) << "missing fixture " << kDir << name;
    EXPECT_EQ(disco_bundle_load(bytes.data(), bytes.size(), 0, &b), DISCO_OK) << name << ": " << disco_last_error();
  }
  ~Loaded() { disco_bundle_free(b); }
};
}  // namespace

// Bundle schema 1.0 with what the trainer adds today: a bandit prior with a warm start (fitted on
// context set 3) and a long-term value model. Its policy and its offers keep their numbers.
TEST(RuntimeFixture, BundleWithPriorAndValueModelStillLoadsAndAgrees) {
  Loaded f("bundle_prior_value_schema1.0.disco");
  ASSERT_NE(f.b, nullptr);
  disco_bundle_info info{};
  disco_bundle_get_info(f.b, &info);
  EXPECT_EQ(info.schema_major, 1);
  EXPECT_EQ(info.n_arms, 5u);
  EXPECT_EQ(info.context_dim, 15u);
  EXPECT_STREQ(info.model_version, "fixture-prior-value");
  disco_runtime* rt = fixture_runtime(f.b);
  std::vector<float> x(info.context_dim);
  fixture::context(x.data(), info.context_dim);
  double probs[5];
  ASSERT_EQ(disco_policy_probabilities(rt, x.data(), info.context_dim, 0, fixture::kPrice, fixture::kCost, probs), DISCO_OK)
      << disco_last_error();
  const double want[5] = {0x1.c04f5165a6d28p-4, 0x1.26d42fa3be95ap-3, 0x1.65ae67f013fb7p-3, 0x1.12dcbc335b35p-2,
                          0x1.36ce23c26a454p-2};
  for (int a = 0; a < 5; ++a) EXPECT_EQ(bits64(probs[a]), bits64(want[a])) << "arm " << a;
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(rt, fixture::kUser, &s), DISCO_OK);
  ASSERT_EQ(fixture::drive(s), DISCO_OK);
  disco_offer o{};
  ASSERT_EQ(disco_offer_make(s, 3, fixture::kT0 + 50000, fixture::kIdHi, 100, &o), DISCO_OK) << disco_last_error();
  EXPECT_EQ(o.arm, 1u);
  EXPECT_EQ(o.bandit_arm, 1u);
  EXPECT_EQ(bits(o.propensity), bits(0x1.097026p-3f));
  EXPECT_EQ(bits(o.discount), bits(0x1.99999ap-5f));
  disco_session_free(s);
  disco_runtime_free(rt);
}

// Runtime state formats 2 (held outcomes) and 3 (the budget's dual price), the same workload saved
// by the runtime of each: the pending decisions and the held outcome of one not shown yet survive;
// finishing the story trains the bandit to the recorded statistics; today's writer still writes
// today's file's exact bytes.
TEST(RuntimeFixture, RuntimeStateOfEveryFormatFromTwoRestoresWithItsHeldOutcome) {
  Loaded f("bundle_schema1.0.disco");
  for (uint32_t want_version = 2; want_version <= disco::kRuntimeStateVersion; ++want_version) {
    const std::string name = "runtime_state" + std::to_string(want_version) + ".bin";
    const std::vector<uint8_t> state = read(kDir + name);
    ASSERT_GE(state.size(), 8u) << "missing fixture " << kDir << name;
    uint32_t version = 0;
    std::memcpy(&version, state.data() + 4, 4);
    EXPECT_EQ(version, want_version) << name;
    disco_runtime* rt = fixture_runtime(f.b);
    ASSERT_EQ(disco_runtime_restore(rt, state.data(), state.size()), DISCO_OK) << name << ": " << disco_last_error();
    if (want_version == disco::kRuntimeStateVersion) {
      std::vector<uint8_t> again(state.size() + 64);
      size_t len = 0;
      ASSERT_EQ(disco_runtime_save(rt, again.data(), again.size(), &len), DISCO_OK);
      EXPECT_TRUE(len == state.size() && std::memcmp(again.data(), state.data(), len) == 0) << name << ": bytes changed";
    }
    double n = 0;
    for (const auto& a : exported_stats(rt).arms) n += a.n;
    EXPECT_EQ(n, 1.0) << name;  // only the first decision trained before the save
    disco_outcome o1 = fixture::outcome(1, fixture::kMargin[0]), o3 = fixture::outcome(3, fixture::kMargin[2]);
    EXPECT_EQ(disco_update(rt, &o1), DISCO_ERR_DUPLICATE) << name;  // applied before the save
    EXPECT_EQ(disco_update(rt, &o3), DISCO_ERR_DUPLICATE) << name;  // held before the save
    ASSERT_EQ(fixture::runtime_state_finish(rt), DISCO_OK) << name << ": " << disco_last_error();
    expect_recorded_stats(rt, name.c_str());
    EXPECT_EQ(export_bytes(rt), read(kDir + "bandit_export1.bin")) << name;
    disco_runtime_free(rt);
  }
}

// The bandit statistics export, format 1: imported into a fresh runtime it gives the recorded
// statistics, and exporting them again gives the same bytes.
TEST(RuntimeFixture, BanditExport1Imports) {
  Loaded f("bundle_schema1.0.disco");
  const std::vector<uint8_t> bytes = read(kDir + "bandit_export1.bin");
  ASSERT_GE(bytes.size(), 8u) << "missing fixture " << kDir << "bandit_export1.bin";
  uint32_t version = 0;
  std::memcpy(&version, bytes.data() + 4, 4);
  EXPECT_EQ(version, 1u);
  disco_runtime* rt = fixture_runtime(f.b);
  ASSERT_EQ(disco_bandit_import(rt, bytes.data(), bytes.size(), 0), DISCO_OK) << disco_last_error();
  expect_recorded_stats(rt, "imported");
  EXPECT_EQ(export_bytes(rt), bytes);
  disco_runtime_free(rt);
}

// The collector's fleet statistics message (schemas/bandit_stats.fbs): read field by field,
// written back to the same bytes, and imported to the same statistics as the runtime's export.
TEST(RuntimeFixture, FleetStatsMessageReadsAndImports) {
  Loaded f("bundle_schema1.0.disco");
  const std::vector<uint8_t> bytes = read(kDir + "fleet_stats1.dsbs");
  ASSERT_FALSE(bytes.empty()) << "missing fixture " << kDir << "fleet_stats1.dsbs";
  ASSERT_TRUE(disco::is_fleet_stats_message(bytes.data(), bytes.size()));
  disco::FleetStats m;
  ASSERT_EQ(disco::read_fleet_stats(bytes.data(), bytes.size(), &m), "");
  EXPECT_EQ(m.version, 17u);
  EXPECT_EQ(m.site, "fixture-shop");
  EXPECT_EQ(m.context_version, 3);  // the context set when it was written (a runtime on another set refuses it)
  EXPECT_EQ(m.dim, 15);
  ASSERT_EQ(m.arms.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(m.arms[k].arm, kStats[k].arm);
    EXPECT_EQ(m.arms[k].stats.n, kStats[k].n);
    EXPECT_EQ(bits64(m.arms[k].stats.reward_sum), bits64(kStats[k].reward_sum));
    EXPECT_EQ(m.arms[k].stats.A.size(), 225u);
    EXPECT_EQ(m.arms[k].stats.b.size(), 15u);
  }
  EXPECT_EQ(disco::write_fleet_stats(m), bytes);
  disco_runtime* rt = fixture_runtime(f.b);
  ASSERT_EQ(disco_bandit_import(rt, bytes.data(), bytes.size(), 0), DISCO_OK) << disco_last_error();
  expect_recorded_stats(rt, "imported from the message");
  EXPECT_EQ(export_bytes(rt), read(kDir + "bandit_export1.bin"));
  disco_runtime_free(rt);
}

// Bundle schema 1.0 with offer-policy rules (disco-train export --policy): per-arm lifetime,
// campaign window, category / brand / item eligibility and exclusions, a cart arm, a per-shopper
// cap. Its offers (arm, expiry, flags) keep their values.
TEST(RuntimeFixture, BundleWithOfferPolicyStillLoadsAndAgrees) {
  Loaded f("bundle_policy_schema1.0.disco");
  ASSERT_NE(f.b, nullptr);
  disco_bundle_info info{};
  disco_bundle_get_info(f.b, &info);
  EXPECT_EQ(info.schema_major, 1);
  EXPECT_EQ(info.n_arms, 6u);
  EXPECT_STREQ(info.model_version, "fixture-policy");
  disco_runtime* rt = fixture_runtime(f.b);
  std::vector<disco_offer> offers;
  ASSERT_EQ(fixture::policy_offers(rt, &offers), DISCO_OK) << disco_last_error();
  // recorded by make_fixtures.cpp: arm, bandit_arm, expires_at_ms - kT0, guardrails
  const int64_t want[18][4] = {{0, 0, 60000, 19},  {0, 0, 69000, 16},  {0, 0, 78000, 16},  {1, 1, 100000, 16},
                               {0, 0, 96000, 16},  {0, 0, 105000, 19}, {2, 2, 174000, 16}, {0, 0, 123000, 16},
                               {0, 0, 132000, 16}, {0, 0, 141000, 19}, {0, 0, 150000, 19}, {1, 1, 100000, 16},
                               {0, 0, 168000, 16}, {2, 2, 237000, 19}, {0, 0, 186000, 19}, {0, 0, 195000, 16},
                               {2, 2, 264000, 16}, {0, 0, 213000, 16}};
  ASSERT_EQ(offers.size(), 18u);
  for (size_t k = 0; k < offers.size(); ++k) {
    EXPECT_EQ(offers[k].arm, uint32_t(want[k][0])) << "offer " << k;
    EXPECT_EQ(offers[k].bandit_arm, uint32_t(want[k][1])) << "offer " << k;
    EXPECT_EQ(offers[k].expires_at_ms - fixture::kT0, want[k][2]) << "offer " << k;
    EXPECT_EQ(offers[k].guardrails, uint32_t(want[k][3])) << "offer " << k;
    EXPECT_NE(offers[k].arm, 5u) << "the cart arm is never chosen per item";
  }
  disco_runtime_free(rt);
}

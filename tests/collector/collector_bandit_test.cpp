// The fleet bandit statistics: one accumulation and reward (the runtime's), one rule for an outcome
// that arrives before its `shown`, and the message GET /v1/bandit-state serves (schemas/
// bandit_stats.fbs) read by the runtime's disco_bandit_import, in both forms (FlatBuffers, JSON).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "../runtime/test_util.h"
#include "collector_http_util.h"
#include "collector_test_util.h"
#include "disco/collector/auth.h"
#include "disco/collector/batch.h"
#include "disco/collector/server.h"
#include "disco/collector/store.h"
#include "disco/context.h"
#include "disco/fleet_stats.h"

using namespace disco::collector;
using namespace disco::collector::test_util;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kKey = "bandit-key";
const std::string kSecret = "bandit-secret-0123456789";

// A runtime over a synthetic bundle (5 arms; bandit context_dim 0 = all 15 features, or 12).
struct Edge {
  std::unique_ptr<rt_test::BundleHolder> bh;
  disco_runtime* rt = nullptr;
  disco_session* s = nullptr;
  explicit Edge(uint16_t context_dim = 0, uint64_t seed = 21) {
    auto spec = disco::make_synthetic_spec(rt_test::small_options(80, 8, 8));
    spec.bandit.context_dim = context_dim;
    bh = std::make_unique<rt_test::BundleHolder>(spec);
    rt = rt_test::make_runtime(bh->bundle, seed);
    EXPECT_EQ(disco_session_create(rt, 5, &s), DISCO_OK);
  }
  ~Edge() {
    disco_session_free(s);
    disco_runtime_free(rt);
  }
  const std::vector<uint8_t>& bundle_bytes() const { return bh->bytes; }
};

DecisionId id_of(const disco_offer& o) { return {o.decision_hi, o.decision_lo}; }

// The decision record an SDK sends for a runtime offer.
Decision decision_of(const disco_offer& o, int64_t ts, float price) {
  Decision d;
  d.id = id_of(o);
  d.ts_ms = ts;
  d.user_key = 5;
  d.item_id = "item-" + std::to_string(o.item);
  d.arm = static_cast<uint16_t>(o.arm);
  d.discount = o.discount;
  d.propensity = o.propensity;
  d.price = price;
  d.cost = price * 0.6;
  d.context.assign(o.context, o.context + o.context_dim);
  return d;
}

Batch one(std::vector<Decision> d, std::vector<Outcome> o = {}, std::vector<Activation> a = {}) {
  static std::atomic<uint64_t> seq{0};
  Batch b;
  b.sender_id = "edge";
  b.seq = ++seq;
  b.decisions = std::move(d);
  b.outcomes = std::move(o);
  b.activations = std::move(a);
  return b;
}

void expect_same(const disco::BanditStats& rt, const std::vector<disco::FleetArmStats>& fleet, const char* what) {
  std::vector<const disco::ArmStats*> by_arm(rt.arms.size(), nullptr);
  for (const auto& a : fleet) {
    ASSERT_LT(a.arm, rt.arms.size()) << what;
    by_arm[a.arm] = &a.stats;
  }
  for (size_t k = 0; k < rt.arms.size(); ++k) {
    if (!by_arm[k]) {
      EXPECT_EQ(rt.arms[k].n, 0.0) << what << ": arm " << k << " has runtime data but no fleet entry";
      continue;
    }
    // Bit for bit: the same accumulation code on the same floats in the same order.
    EXPECT_EQ(rt.arms[k].A, by_arm[k]->A) << what << ": arm " << k;
    EXPECT_EQ(rt.arms[k].b, by_arm[k]->b) << what << ": arm " << k;
    EXPECT_EQ(rt.arms[k].n, by_arm[k]->n) << what << ": arm " << k;
    EXPECT_EQ(rt.arms[k].reward_sum, by_arm[k]->reward_sum) << what << ": arm " << k;
  }
}

}  // namespace

// The same offers, shown flags, activations and outcomes, in the same (randomized) orders, through
// an edge's runtime and through the collector's store give bit-identical statistics: outcome before
// shown (held / joined, then trained when shown), shown before outcome, never shown, shown on the
// decision record itself.
TEST(CollectorBanditCore, SameStatisticsAsTheRuntimeWhateverTheOrder) {
  Edge edge;
  const std::string dir = make_temp_dir("disco-cbandit-core");
  int64_t clock = 1'700'000'000'000;
  StoreOptions so;
  so.path = dir + "/collector.sqlite";
  so.reward_window_ms = 3'600'000;
  so.clock = [&] { return clock; };
  SqliteStore store(so);
  const auto catalog = disco::make_synthetic_spec(rt_test::small_options(80, 8, 8)).catalog;
  std::mt19937 rng(7);
  int held = 0, never = 0;
  for (int i = 0; i < 120; ++i) {
    const uint32_t item = static_cast<uint32_t>(rng() % 80);
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(edge.s, item, clock, 0, 0, &o), DISCO_OK) << disco_last_error();
    Decision d = decision_of(o, clock, catalog.price[item]);  // the price the runtime's offer used
    disco_outcome out{o.decision_hi, o.decision_lo, clock + 10, rng() % 3 == 0, 20.0f,
                      static_cast<float>(static_cast<int>(rng() % 21) - 5)};
    const Outcome oc{id_of(o), clock + 10, out.converted != 0, out.revenue, out.reward};
    const int order = static_cast<int>(rng() % 4);
    const std::string h = "b" + std::to_string(i);
    if (order == 0) {  // shown on the decision record, then the outcome
      d.shown = true;
      ASSERT_TRUE(store.apply("shop", h + "d", one({d})).ok);
      ASSERT_EQ(disco_offer_shown(edge.rt, o.decision_hi, o.decision_lo), DISCO_OK);
      ASSERT_TRUE(store.apply("shop", h + "o", one({}, {oc})).ok);
      ASSERT_EQ(disco_update(edge.rt, &out), DISCO_OK);
    } else if (order == 1) {  // activation, then outcome
      ASSERT_TRUE(store.apply("shop", h + "d", one({d})).ok);
      ASSERT_TRUE(store.apply("shop", h + "a", one({}, {}, {Activation{id_of(o), clock + 5}})).ok);
      ASSERT_EQ(disco_offer_shown(edge.rt, o.decision_hi, o.decision_lo), DISCO_OK);
      ASSERT_TRUE(store.apply("shop", h + "o", one({}, {oc})).ok);
      ASSERT_EQ(disco_update(edge.rt, &out), DISCO_OK);
    } else if (order == 2) {  // outcome before shown: held / joined, trained when shown
      ++held;
      ASSERT_TRUE(store.apply("shop", h + "d", one({d})).ok);
      ASSERT_TRUE(store.apply("shop", h + "o", one({}, {oc})).ok);
      ASSERT_EQ(disco_update(edge.rt, &out), DISCO_ERR_NOT_FOUND);
      ASSERT_TRUE(store.apply("shop", h + "a", one({}, {}, {Activation{id_of(o), clock + 20}})).ok);
      ASSERT_EQ(disco_offer_shown(edge.rt, o.decision_hi, o.decision_lo), DISCO_OK);
    } else {  // never shown: trains neither
      ++never;
      ASSERT_TRUE(store.apply("shop", h + "d", one({d}, {oc})).ok);
      ASSERT_EQ(disco_update(edge.rt, &out), DISCO_ERR_NOT_FOUND);
    }
    clock += 1000;
  }
  ASSERT_GT(held, 10);
  ASSERT_GT(never, 10);
  const auto snap = store.bandit();
  const disco::FleetStats m = fleet_stats_of(*snap, "shop", static_cast<int>(disco::kContextVersion),
                                             static_cast<int>(disco::kContextDim));
  double n = 0;
  for (const auto& a : m.arms) n += a.stats.n;
  EXPECT_EQ(n, 120.0 - never);
  expect_same(rt_test::exported_stats(edge.rt), m.arms, "collector vs runtime");
  // The window closing changes nothing for decisions already closed by their outcome.
  clock += 4'000'000;
  store.sweep();
  expect_same(rt_test::exported_stats(edge.rt),
              fleet_stats_of(*store.bandit(), "shop", static_cast<int>(disco::kContextVersion),
                             static_cast<int>(disco::kContextDim))
                  .arms,
              "after the sweep");
}

namespace {

struct Served : ServedCollector {
  void start(const std::string& dir, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--site", "shop:" + kKey + ":" + kSecret, "--sweep-interval-ms", "50"});
    ASSERT_TRUE(ServedCollector::start(DISCO_COLLECTOR_BIN, dir, extra)) << proc.output();
  }
  httplib::Client client() const { return ServedCollector::client(20); }
  void post(const Batch& b) {
    auto c = client();
    const std::string body = encode_json(b);
    auto r = c.Post("/v1/events", signed_headers_for(kKey, kSecret, body), body, "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
};

// Decisions from a real runtime's offers, all shown, each with an outcome: favouring arm `best`.
void drive(Edge& e, Served& col, int n, uint32_t best) {
  const auto spec = disco::make_synthetic_spec(rt_test::small_options(80, 8, 8));
  std::vector<Decision> ds;
  std::vector<Outcome> os;
  const int64_t t0 = now_ms() - 60'000;
  for (int i = 0; i < n; ++i) {
    const uint32_t item = static_cast<uint32_t>((i * 7) % 80);
    disco_offer o{};
    EXPECT_EQ(disco_offer_make(e.s, item, t0 + i, 0, 0, &o), DISCO_OK) << disco_last_error();
    Decision d = decision_of(o, t0 + i, spec.catalog.price[item]);
    d.shown = true;
    ds.push_back(d);
    os.push_back(Outcome{d.id, t0 + i + 5, true, 10, d.arm == best ? 8.0 : 0.5});
  }
  col.post(one(ds, os));
}

}  // namespace

TEST(CollectorBanditState, RuntimeImportsTheServedMessageAndBothFormsAgree) {
  Served col;
  col.start(make_temp_dir("disco-cbandit-serve"));
  Edge producer;
  drive(producer, col, 200, 2);
  auto c = col.client();
  auto fb = c.Get("/v1/bandit-state", httplib::Headers{{"x-disco-key", kKey}, {"Accept", "application/x-disco-bandit-stats"}});
  ASSERT_TRUE(fb);
  ASSERT_EQ(fb->status, 200) << fb->body;
  EXPECT_EQ(fb->get_header_value("Content-Type"), "application/x-disco-bandit-stats");
  const std::string etag = fb->get_header_value("ETag");
  auto js = c.Get("/v1/bandit-state", httplib::Headers{{"x-disco-key", kKey}});
  ASSERT_TRUE(js);
  ASSERT_EQ(js->status, 200);
  EXPECT_EQ(js->get_header_value("Content-Type").rfind("application/json", 0), 0u);
  EXPECT_EQ(js->get_header_value("ETag"), etag);

  // The two forms carry the same statistics, field for field.
  const auto* p = reinterpret_cast<const uint8_t*>(fb->body.data());
  disco::FleetStats m;
  ASSERT_EQ(disco::read_fleet_stats(p, fb->body.size(), &m), "");
  json j = json::parse(js->body);
  EXPECT_EQ(etag, "\"v" + std::to_string(m.version) + "\"");
  EXPECT_EQ(j["version"].get<uint64_t>(), m.version);
  EXPECT_EQ(j["site"], "shop");
  EXPECT_EQ(m.site, "shop");
  EXPECT_EQ(j["context_version"].get<int>(), static_cast<int>(disco::kContextVersion));
  EXPECT_EQ(m.context_version, disco::kContextVersion);
  EXPECT_EQ(j["dim"].get<int>(), 15);
  EXPECT_EQ(m.dim, 15);
  ASSERT_EQ(j["arms"].size(), m.arms.size());
  ASSERT_GE(m.arms.size(), 2u);
  double n = 0;
  for (size_t k = 0; k < m.arms.size(); ++k) {
    const json& a = j["arms"][k];
    EXPECT_EQ(a["arm"].get<int>(), m.arms[k].arm);
    EXPECT_EQ(a["n"].get<double>(), m.arms[k].stats.n);
    EXPECT_EQ(a["reward_sum"].get<double>(), m.arms[k].stats.reward_sum);
    EXPECT_EQ(a["A"].get<std::vector<double>>(), m.arms[k].stats.A);
    EXPECT_EQ(a["b"].get<std::vector<double>>(), m.arms[k].stats.b);
    n += m.arms[k].stats.n;
  }
  EXPECT_EQ(n, 200.0);

  // The body goes straight into another edge's runtime (what RuntimeRef.banditImport does), and
  // that edge now has exactly the fleet's statistics; the producer's own statistics are the same
  // (it learnt nothing locally: every outcome went to the collector only).
  Edge consumer(0, 99);
  ASSERT_EQ(disco_bandit_import(consumer.rt, p, fb->body.size(), 0), DISCO_OK) << disco_last_error();
  expect_same(rt_test::exported_stats(consumer.rt), m.arms, "imported");

  // ETag / 304, and the key is required.
  auto again = c.Get("/v1/bandit-state", httplib::Headers{{"x-disco-key", kKey}, {"If-None-Match", etag},
                                                          {"Accept", "application/x-disco-bandit-stats"}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  auto nokey = c.Get("/v1/bandit-state");
  ASSERT_TRUE(nokey);
  EXPECT_EQ(nokey->status, 401);

  // Another context length: asked for explicitly, no data; refused by name by a 15-feature runtime.
  auto d12 = c.Get("/v1/bandit-state?dim=12", httplib::Headers{{"x-disco-key", kKey},
                                                               {"Accept", "application/x-disco-bandit-stats"}});
  ASSERT_TRUE(d12);
  ASSERT_EQ(d12->status, 200);
  ASSERT_EQ(disco_bandit_import(consumer.rt, reinterpret_cast<const uint8_t*>(d12->body.data()), d12->body.size(), 0),
            DISCO_ERR_STATE);
  EXPECT_NE(std::string(disco_last_error()).find("context dim 12; this runtime's bandit uses 15"), std::string::npos)
      << disco_last_error();
  auto bad = c.Get("/v1/bandit-state?dim=99", httplib::Headers{{"x-disco-key", kKey}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST(CollectorBanditState, DimFollowsTheServedBundle) {
  Served col;
  const std::string dir = make_temp_dir("disco-cbandit-bundle");
  Edge e12(12);  // a bundle whose bandit uses the first 12 features
  std::ofstream(dir + "/bundle.disco", std::ios::binary)
      .write(reinterpret_cast<const char*>(e12.bundle_bytes().data()), static_cast<long>(e12.bundle_bytes().size()));
  col.start(dir);
  drive(e12, col, 50, 1);
  auto c = col.client();
  auto fb = c.Get("/v1/bandit-state", httplib::Headers{{"x-disco-key", kKey}, {"Accept", "application/x-disco-bandit-stats"}});
  ASSERT_TRUE(fb);
  ASSERT_EQ(fb->status, 200);
  disco::FleetStats m;
  ASSERT_EQ(disco::read_fleet_stats(reinterpret_cast<const uint8_t*>(fb->body.data()), fb->body.size(), &m), "");
  EXPECT_EQ(m.dim, 12);
  double n = 0;
  for (const auto& a : m.arms) n += a.stats.n;
  EXPECT_EQ(n, 50.0);
  Edge other(12, 5);
  ASSERT_EQ(disco_bandit_import(other.rt, reinterpret_cast<const uint8_t*>(fb->body.data()), fb->body.size(), 0), DISCO_OK)
      << disco_last_error();
  expect_same(rt_test::exported_stats(other.rt), m.arms, "dim 12");
}

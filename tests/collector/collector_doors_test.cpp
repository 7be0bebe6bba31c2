// Issue 17 item 4, "doors closed" (collector/PROTOCOL.md, "Who may send what" and after): browser
// write keys (origin allow-list, token buckets, 429), outcomes a page reports kept apart and never
// rewarded, the checkout's outcomes priced from the catalog, site keys with ids and their rotation,
// DELETE /v1/shoppers and retention. In-process parts first (CollectorDoors*), then the real
// disco-collector binary over loopback (CollectorDoorsService).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "collector_http_util.h"
#include "collector_test_util.h"
#include "disco/bandit.h"
#include "disco/bundle_writer.h"
#include "disco/collector/auth.h"
#include "disco/collector/batch.h"
#include "disco/collector/checkout.h"
#include "disco/collector/config.h"
#include "disco/collector/server.h"
#include "disco/collector/store.h"
#include "disco/context.h"

using namespace disco::collector;
using namespace disco::collector::test_util;

// The outcomes a store holds: those of known decisions are on the decision's row (outcome_ts_ms),
// table outcomes keeps the orphans (collector/README.md, "Storage and durability").
static const char* const kStoredOutcomes =
    "SELECT (SELECT count(*) FROM decisions WHERE outcome_ts_ms IS NOT NULL) + (SELECT count(*) FROM outcomes o WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE d.decision_id = o.decision_id))";
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {


DecisionId did(uint64_t k) { return {0x1234, k + 1}; }

Decision decision(uint64_t k, int64_t ts, uint64_t user_key, uint16_t arm = 1, double price = 10) {
  Decision d;
  d.id = did(k);
  d.ts_ms = ts;
  d.user_key = user_key;
  d.item_id = "item-" + std::to_string(k % 5);
  d.arm = arm;
  d.propensity = 0.5;
  d.shown = true;
  d.price = price;
  d.cost = price * 0.5;
  d.context = {1.0f, 0.5f};
  return d;
}

int64_t count(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql << ": " << sqlite3_errmsg(db);
  const int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

struct StoreFixture {
  std::string dir;
  int64_t now = 1'000'000'000;
  std::unique_ptr<SqliteStore> store;
  explicit StoreFixture(const std::string& name) : dir(make_temp_dir("disco-cdoors-" + name)) {
    StoreOptions o;
    o.path = dir + "/collector.sqlite";
    o.reward_window_ms = 1000;
    o.clock = [this] { return now; };
    store = std::make_unique<SqliteStore>(o);
  }
  std::string db() const { return dir + "/collector.sqlite"; }
  void apply(const std::string& site, const Batch& b) {
    static int n = 0;
    ApplyOutcome o = store->apply(site, "h" + std::to_string(++n), b);
    ASSERT_TRUE(o.ok) << o.error;
  }
  const disco::ArmStats* arm(int a) {
    auto snap = store->bandit();
    auto it = snap->arms.find({"shop", static_cast<int>(disco::kContextVersion), 2, a});
    static std::shared_ptr<const BanditSnapshot> keep;
    keep = snap;
    return it == snap->arms.end() ? nullptr : &it->second->stats;
  }
};

}  // namespace

// ---- in process ---------------------------------------------------------------------------------

TEST(CollectorDoors, ConfigReadsSiteKeysAndWriteKeys) {
  Config c = parse_config_args({"--site", "shop:pub:0123456789abcdef", "--site-key", "shop:k2:fedcba9876543210",
                                "--write-key", "shop:wk:https://shop.example, http://127.0.0.1:8080",
                                "--retention-days", "30", "--client-burst", "5"});
  check_config(c);
  ASSERT_EQ(c.sites.size(), 1u);
  ASSERT_EQ(c.sites[0].keys.size(), 1u);
  EXPECT_EQ(c.sites[0].keys[0].id, "k2");
  const WriteKey* w = c.write_key("wk");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->site, "shop");
  EXPECT_TRUE(w->allows("http://127.0.0.1:8080"));
  EXPECT_FALSE(w->allows("https://evil.example"));
  EXPECT_FALSE(w->allows(""));
  EXPECT_EQ(c.write_key(""), nullptr);
  EXPECT_EQ(c.retention_days, 30);
  EXPECT_EQ(c.client_burst, 5);
  EXPECT_EQ(c.client_rate, 2);  // the documented default
  // a site whose keys are all in site_key lines
  Config k = parse_config_args({"--site", "shop:pub", "--site-key", "shop:k3:fedcba9876543210"});
  EXPECT_NO_THROW(check_config(k));
  EXPECT_THROW(check_config(parse_config_args({"--site", "shop:pub"})), ConfigError);  // no key at all
  auto error = [](std::vector<std::string> a) -> std::string {
    try {
      check_config(parse_config_args(a));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error({"--site-key", "nope:k:fedcba9876543210"}).find("no site 'nope'"), std::string::npos);
  EXPECT_NE(error({"--site", "shop:pub:0123456789abcdef", "--site-key", "shop:0:fedcba9876543210"}).find("already has"),
            std::string::npos);
  EXPECT_NE(error({"--site", "shop:pub:0123456789abcdef", "--site-key", "shop:k/1:fedcba9876543210"}).find("key id"),
            std::string::npos);
  EXPECT_NE(error({"--site", "shop:pub:0123456789abcdef", "--write-key", "shop:wk:shop.example"}).find("SCHEME://HOST"),
            std::string::npos);
  EXPECT_NE(error({"--site", "shop:pub:0123456789abcdef", "--write-key", "shop:pub:*"}).find("api key"), std::string::npos);
  EXPECT_NE(error({"--site", "shop:pub:0123456789abcdef", "--retention-days", "1", "--reward-window-ms", "90000000"})
                .find("retention_days"),
            std::string::npos);
}

TEST(CollectorDoors, SignaturesNameTheirKey) {
  Site s{"shop", "pub", "old-secret-0123456789", {SiteKey{"k2", "new-secret-0123456789"}}};
  const std::string m = "123.body";
  const std::string by_old = hmac_sha256_hex("old-secret-0123456789", m), by_new = hmac_sha256_hex("new-secret-0123456789", m);
  EXPECT_EQ(verify_site_signature(s, "", m, by_old), KeyCheck::Ok);  // no key id: every key is tried
  EXPECT_EQ(verify_site_signature(s, "", m, by_new), KeyCheck::Ok);
  EXPECT_EQ(verify_site_signature(s, "0", m, by_old), KeyCheck::Ok);
  EXPECT_EQ(verify_site_signature(s, "k2", m, by_new), KeyCheck::Ok);
  EXPECT_EQ(verify_site_signature(s, "k2", m, by_old), KeyCheck::BadSignature);  // named key only
  EXPECT_EQ(verify_site_signature(s, "k9", m, by_new), KeyCheck::UnknownKeyId);
  EXPECT_EQ(verify_site_signature(s, "", m, hmac_sha256_hex("other-secret-0123456789", m)), KeyCheck::BadSignature);
}

TEST(CollectorDoors, TokenBucketsRefillAndStayBounded) {
  RateLimiter rl(2.0, 3.0, 16);  // 2 per second, burst 3
  int64_t t = 1'000'000, wait = 0;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.take("a", t)) << i;
  EXPECT_FALSE(rl.take("a", t, &wait));
  EXPECT_EQ(wait, 500);            // one token every 500 ms
  EXPECT_TRUE(rl.take("b", t));    // buckets are per name
  EXPECT_FALSE(rl.take("a", t + 499));
  EXPECT_TRUE(rl.take("a", t + 500));
  EXPECT_FALSE(rl.take("a", t + 500));
  EXPECT_TRUE(rl.take("a", t + 100000));  // refilled, never above the burst:
  EXPECT_TRUE(rl.take("a", t + 100000));
  EXPECT_TRUE(rl.take("a", t + 100000));
  EXPECT_FALSE(rl.take("a", t + 100000));
  for (int i = 0; i < 100; ++i) rl.take("client-" + std::to_string(i), t + 200000 + i);
  EXPECT_LE(rl.size(), 16u);
}

// A page cannot inflate an arm's reward: the outcomes it reports with a write key (the server
// moves them to Batch::reported_outcomes) are stored apart, never joined, never in the statistics
// and never in the canonical export, but counted there.
TEST(CollectorDoors, ReportedOutcomesNeverJoinNorTrain) {
  StoreFixture f("reported");
  Batch page;
  page.sender_id = "page";
  page.decisions = {decision(1, f.now, 7, 1), decision(2, f.now, 7, 2)};
  page.reported_outcomes = {Outcome{did(1), f.now + 10, true, 1e6, 1e6}};
  f.apply("shop", page);
  Batch server;
  server.sender_id = "server";
  server.outcomes = {Outcome{did(2), f.now + 20, true, 10, 3}};  // signed: a reward
  f.apply("shop", server);
  EXPECT_EQ(count(f.db(), "SELECT count(*) FROM reported_outcomes"), 1);
  EXPECT_EQ(count(f.db(), kStoredOutcomes), 1);
  f.now += 5000;
  f.store->sweep();  // decision 1's window closes with no (trusted) outcome: default reward 0
  EXPECT_EQ(count(f.db(), "SELECT status FROM decisions WHERE arm = 1"), static_cast<int>(JoinStatus::Default));
  const disco::ArmStats* a1 = f.arm(1);
  ASSERT_NE(a1, nullptr);
  EXPECT_EQ(a1->n, 1.0);
  EXPECT_EQ(a1->reward_sum, 0.0);
  const disco::ArmStats* a2 = f.arm(2);
  ASSERT_NE(a2, nullptr);
  EXPECT_EQ(a2->reward_sum, disco::scaled_reward(3, 10));
  // the same report again is a duplicate (first wins), still not an outcome
  Batch again = page;
  again.decisions.clear();
  f.apply("shop", again);
  EXPECT_EQ(count(f.db(), "SELECT count(*) FROM reported_outcomes"), 1);
  CanonicalExportOptions opt;
  opt.data_dir = f.dir;
  opt.out_dir = f.dir + "/canonical";
  opt.bundle_path = "-";
  CanonicalExportSummary sum = export_canonical(opt);
  EXPECT_EQ(sum.outcomes, 1u);
  EXPECT_EQ(sum.reported_outcomes, 1u);
  EXPECT_NE(sum.text().find("1 outcomes reported by browsers with a write key"), std::string::npos) << sum.text();
  std::ifstream in(opt.out_dir + "/outcomes.csv");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all.find(did(1).hex()), std::string::npos) << all;
  EXPECT_NE(all.find(did(2).hex()), std::string::npos) << all;
}

// DELETE /v1/shoppers in the store: one shopper's rows of one site go (events, decisions, and the
// outcomes, activations and reported outcomes of those decisions); other shoppers and the same
// user_key of another site stay; the statistics stay as they were; again -> zeros.
TEST(CollectorDoors, EraseShopperRemovesTheirRowsOnly) {
  StoreFixture f("erase");
  Batch b;
  b.sender_id = "s";
  b.decisions = {decision(1, f.now, 7), decision(2, f.now, 7), decision(3, f.now, 8)};
  b.outcomes = {Outcome{did(1), f.now + 1, true, 10, 3}, Outcome{did(3), f.now + 1, true, 10, 3}};
  b.activations = {Activation{did(2), f.now + 1}};
  b.reported_outcomes = {Outcome{did(2), f.now + 2, true, 5, 5}};
  for (uint64_t u : {7u, 7u, 8u}) b.events.push_back(Event{u, "s1", f.now, 0, "item-1", 10, 1});
  b.events.push_back(Event{~uint64_t{0} - 1, "s2", f.now, 0, "item-1", 10, 1});  // a uint64 beyond int64
  f.apply("shop", b);
  Batch other = b;
  for (auto& d : other.decisions) d.id.hi = 99;
  for (auto& o : other.outcomes) o.id.hi = 99;
  other.activations.clear();
  other.reported_outcomes.clear();
  f.apply("other", other);
  const double n_before = f.arm(1)->n;
  SqliteStore::EraseCounts c = f.store->erase_shopper("shop", 7);
  EXPECT_EQ(c.events, 2u);
  EXPECT_EQ(c.decisions, 2u);
  EXPECT_EQ(c.outcomes, 1u);
  EXPECT_EQ(c.activations, 1u);
  EXPECT_EQ(c.reported_outcomes, 1u);
  EXPECT_EQ(c.bandit_kept, 1u);  // decision 1 (shown, joined) had entered the statistics
  EXPECT_EQ(count(f.db(), "SELECT count(*) FROM decisions WHERE site = 'shop'"), 1);
  EXPECT_EQ(count(f.db(), "SELECT count(*) FROM decisions WHERE site = 'other' AND user_key = 7"), 2);
  EXPECT_EQ(count(f.db(), "SELECT count(*) FROM events WHERE site = 'shop' AND user_key = 7"), 0);
  EXPECT_EQ(count(f.db(), "SELECT count(*) FROM events WHERE site = 'shop'"), 2);
  EXPECT_EQ(f.arm(1)->n, n_before);  // aggregated statistics are kept (PROTOCOL.md)
  EXPECT_EQ(f.store->erase_shopper("shop", 7).decisions, 0u);
  EXPECT_EQ(f.store->erase_shopper("shop", ~uint64_t{0} - 1).events, 1u);
  // the export no longer has them
  CanonicalExportOptions opt;
  opt.data_dir = f.dir;
  opt.out_dir = f.dir + "/canonical";
  opt.bundle_path = "-";
  opt.site = "shop";
  opt.include_pending = true;
  CanonicalExportSummary sum = export_canonical(opt);
  EXPECT_EQ(sum.decisions, 1u);
  EXPECT_EQ(sum.events, 1u);
}

// Retention: every row older than the cutoff goes, in chunks; newer rows stay.
TEST(CollectorDoors, RetentionDropsRowsOlderThanTheCutoff) {
  StoreFixture f("retention");
  const int64_t old_ts = f.now, new_ts = f.now + 100000;
  Batch b;
  b.sender_id = "s";
  for (uint64_t k = 0; k < 7; ++k) {
    b.decisions.push_back(decision(k, k < 5 ? old_ts : new_ts, k));
    b.outcomes.push_back(Outcome{did(k), (k < 5 ? old_ts : new_ts) + 1, true, 10, 2});
    b.events.push_back(Event{k, "s", k < 5 ? old_ts : new_ts, 0, "item-1", 10, 1});
  }
  b.outcomes.push_back(Outcome{did(50), old_ts, true, 1, 1});  // an orphan
  b.reported_outcomes = {Outcome{did(51), old_ts, true, 1, 1}, Outcome{did(52), new_ts, true, 1, 1}};
  b.activations = {Activation{did(53), old_ts}};  // of a decision never received
  f.apply("shop", b);
  SqliteStore::EraseCounts c = f.store->drop_older_than(old_ts + 50000, /*chunk=*/2);
  EXPECT_EQ(c.decisions, 5u);
  EXPECT_EQ(c.outcomes, 6u);
  EXPECT_EQ(c.events, 5u);
  EXPECT_EQ(c.reported_outcomes, 1u);
  EXPECT_EQ(c.activations, 1u);
  EXPECT_EQ(count(f.db(), "SELECT count(*) FROM decisions"), 2);
  EXPECT_EQ(count(f.db(), "SELECT min(ts_ms) FROM decisions"), new_ts);
  EXPECT_EQ(count(f.db(), kStoredOutcomes), 2);
  EXPECT_EQ(count(f.db(), "SELECT count(*) FROM events"), 2);
  EXPECT_EQ(count(f.db(), "SELECT count(*) FROM reported_outcomes"), 1);
  EXPECT_EQ(f.store->drop_older_than(old_ts + 50000).decisions, 0u);
}

// ---- the real binary ----------------------------------------------------------------------------

namespace {

const std::string kKey = "doors-key";
const std::string kSecret = "doors-secret-0123456789";
const std::string kOrigin = "http://shop.test";

struct Service : ServedCollector {
  void start(const std::string& dir, std::vector<std::string> extra, bool default_site = true) {
    if (default_site) extra.insert(extra.begin(), {"--site", "shop:" + kKey + ":" + kSecret});
    ASSERT_TRUE(ServedCollector::start(DISCO_COLLECTOR_BIN, dir, extra)) << "collector did not start: " << proc.output();
  }
};

httplib::Headers signed_headers(const std::string& message_tail, const std::string& secret = kSecret,
                                const std::string& key_id = "") {
  httplib::Headers h = signed_headers_for(kKey, secret, message_tail);
  if (!key_id.empty()) h.emplace("X-Disco-Key-Id", key_id);
  return h;
}

httplib::Headers page_headers(const std::string& origin = kOrigin, const std::string& client = "") {
  httplib::Headers h{{"X-Disco-Write-Key", "wk-public"}, {"Origin", origin}};
  if (!client.empty()) h.emplace("X-Forwarded-For", client + ", 10.0.0.1");
  return h;
}

std::string field(const httplib::Result& r) {
  if (!r) return "<no response>";
  auto j = json::parse(r->body, nullptr, false);
  return j.is_object() && j.contains("field") ? j["field"].get<std::string>() : "";
}

// A served bundle (synthetic: items item-0.., with prices and costs) in `dir`; its spec.
disco::BundleSpec write_bundle(const std::string& dir) {
  disco::SyntheticOptions o;
  o.n_items = 20;
  o.emb_dim = 8;
  o.hidden = 8;
  o.seed = 3;
  disco::BundleSpec spec = disco::make_synthetic_spec(o);
  auto r = disco::build_bundle(spec);
  EXPECT_TRUE(r.ok()) << r.error;
  std::ofstream(dir + "/bundle.disco", std::ios::binary).write(reinterpret_cast<const char*>(r.bytes.data()),
                                                                static_cast<std::streamsize>(r.bytes.size()));
  return spec;
}

// An offer token as the SDK writes it (sdk-js/src/token.js), signed with `secret`.
std::string offer_token(const std::string& decision_hex, const std::string& item, double discount, const std::string& secret) {
  const std::string claims = json{{"d", decision_hex}, {"i", item}, {"x", discount}, {"a", 1}, {"e", now_ms() + 600000}}.dump();
  const std::string head = "v1." + base64url_encode(claims);
  const std::string hex = hmac_sha256_hex(secret, head);
  std::string mac;
  for (size_t i = 0; i < hex.size(); i += 2) mac.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return head + "." + base64url_encode(mac);
}

json arm_stats(Service& s, int arm) {
  auto c = s.client();
  auto r = c.Get("/v1/bandit-state?dim=2", httplib::Headers{{"x-disco-key", kKey}});
  EXPECT_TRUE(r && r->status == 200);
  if (!r) return json();
  const json state = json::parse(r->body);
  for (const auto& a : state["arms"])
    if (a["arm"] == arm) return a;
  return json();
}

std::string batch_json(const Batch& b) { return encode_json(b); }

}  // namespace

TEST(CollectorDoorsService, WriteKeyNeedsAnAllowedOriginAndIsRateLimited) {
  Service s;
  // rates of one token per 1000 s: nothing refills while the test runs, however slow the machine
  s.start(make_temp_dir("disco-cdoors-wk"), {"--write-key", "shop:wk-public:" + kOrigin, "--client-rate", "0.001",
                                             "--client-burst", "3", "--write-key-burst", "5", "--write-key-rate", "0.001",
                                             "--client-ip-header", "X-Forwarded-For"});
  auto c = s.client();
  Batch b;
  b.sender_id = "page";
  b.events.push_back(Event{7, "s", now_ms(), 0, "item-1", 10, 1});
  std::string body;
  auto fresh = [&] {  // each request its own batch (events are deduplicated by the whole batch)
    b.seq++;
    body = batch_json(b);
    return body;
  };
  auto r = c.Post("/v1/events", page_headers(kOrigin, "1.1.1.1"), fresh(), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = c.Post("/v1/events", page_headers("https://evil.example", "1.1.1.1"), fresh(), "text/plain");
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(field(r), "origin");
  r = c.Post("/v1/events", httplib::Headers{{"X-Disco-Write-Key", "wk-public"}}, fresh(), "text/plain");
  EXPECT_EQ(r->status, 403) << "no Origin header";
  r = c.Post("/v1/events", httplib::Headers{{"X-Disco-Write-Key", "nope"}, {"Origin", kOrigin}}, fresh(), "text/plain");
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(field(r), "x-disco-write-key");
  // beacons: the write key in the query string
  r = c.Post("/v1/events?disco_write_key=wk-public", httplib::Headers{{"Origin", kOrigin}, {"X-Forwarded-For", "1.1.1.1"}},
             fresh(), "text/plain");
  EXPECT_EQ(r->status, 200) << r->body;
  // client 1.1.1.1 had a burst of 3: the third request (refused origins take no token) is its last
  r = c.Post("/v1/events", page_headers(kOrigin, "1.1.1.1"), fresh(), "text/plain");
  EXPECT_EQ(r->status, 200) << r->body;
  r = c.Post("/v1/events", page_headers(kOrigin, "1.1.1.1"), fresh(), "text/plain");
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(field(r), "client");
  EXPECT_GE(std::stoi(r->get_header_value("Retry-After")), 1);
  // another client still gets through until the key's own bucket (burst 5) is empty
  r = c.Post("/v1/events", page_headers(kOrigin, "2.2.2.2"), fresh(), "text/plain");
  EXPECT_EQ(r->status, 200) << r->body;
  r = c.Post("/v1/events", page_headers(kOrigin, "3.3.3.3"), fresh(), "text/plain");
  EXPECT_EQ(r->status, 200) << r->body;
  r = c.Post("/v1/events", page_headers(kOrigin, "4.4.4.4"), fresh(), "text/plain");
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(field(r), "write_key");
  // signed senders are not rate-limited by the write key's buckets
  fresh();
  r = c.Post("/v1/events", signed_headers(body), body, "application/json");
  EXPECT_EQ(r->status, 200) << r->body;
  auto m = c.Get("/metrics");
  EXPECT_NE(m->body.find("reason=\"rate_limited_client\""), std::string::npos);
  EXPECT_NE(m->body.find("reason=\"origin_not_allowed\""), std::string::npos);
  EXPECT_EQ(count(s.db(), "SELECT count(*) FROM events"), 6);
}

// The end to end proof that a page cannot inflate an arm's reward: with the write key it reports a
// huge margin for its own decision and gives that decision a tiny price (so that a real margin
// would divide into the clamp); the arm gets the default reward 0, and a real purchase through
// the checkout gives the reward of the catalog's price, not the page's.
TEST(CollectorDoorsService, APageCannotInflateAnArmsReward) {
  Service s;
  const std::string dir = make_temp_dir("disco-cdoors-inflate");
  const disco::BundleSpec spec = write_bundle(dir);
  s.start(dir, {"--write-key", "shop:wk-public:" + kOrigin, "--reward-window-ms", "1500", "--sweep-interval-ms", "50"});
  auto c = s.client();
  const int64_t t = now_ms();
  Batch page;
  page.sender_id = "page";
  Decision d1 = decision(1, t, 7, /*arm=*/1, /*price=*/0.01), d2 = decision(2, t, 7, /*arm=*/2, /*price=*/0.01);
  d1.item_id = spec.catalog.item_ids[3];
  d2.item_id = spec.catalog.item_ids[4];
  page.decisions = {d1, d2};
  page.outcomes = {Outcome{d1.id, t + 10, true, 1e6, 1e6}};
  const std::string body = batch_json(page);
  auto r = c.Post("/v1/events", page_headers(), body, "text/plain");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["reported_outcomes"], 1);
  EXPECT_EQ(j["outcomes"]["accepted"], 0);
  // the page's decision prices were replaced by the catalog's
  EXPECT_EQ(count(s.db(), "SELECT CAST(round(price * 1000) AS INTEGER) FROM decisions WHERE arm = 2"),
            std::llround(spec.catalog.price[4] * 1000));
  // d2 is bought through the checkout with a verified offer: that is its reward
  const double discount = 0.1;
  json order{{"lines", json::array({{{"item_id", d2.item_id}, {"quantity", 1}, {"price", 0.01},
                                     {"token", offer_token(d2.id.hex(), d2.item_id, discount, kSecret)}}})}};
  r = c.Post("/v1/checkout", page_headers("https://evil.example"), order.dump(), "application/json");
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json::parse(r->body)["error"], "origin_not_allowed");  // the checkout's error form: a code
  r = c.Post("/v1/checkout", page_headers(), order.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  EXPECT_EQ(j["lines"][0]["offer"], "applied");
  EXPECT_EQ(j["lines"][0]["repriced"], true);
  // wait until both windows closed and both decisions are in the statistics
  json a1, a2;
  for (int i = 0; i < 100; ++i) {
    a1 = arm_stats(s, 1);
    a2 = arm_stats(s, 2);
    if (!a1.is_null() && !a2.is_null()) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(a1.is_null()) << "decision 1 never entered the statistics";
  ASSERT_FALSE(a2.is_null()) << "decision 2 never entered the statistics";
  EXPECT_EQ(a1["n"].get<double>(), 1.0);
  EXPECT_EQ(a1["reward_sum"].get<double>(), 0.0);  // the page's 1e6 margin is nowhere
  const double price = spec.catalog.price[4], cost = spec.catalog.cost[4];
  const double net = std::round(price * (1 - discount) * 100) / 100;
  EXPECT_NEAR(a2["reward_sum"].get<double>(), disco::scaled_reward(net - cost, price), 1e-5);
  EXPECT_LT(a2["reward_sum"].get<double>(), 1.0);  // with the page's 0.01 price it would be the clamp, 4
  EXPECT_EQ(count(s.db(), "SELECT count(*) FROM reported_outcomes"), 1);
  EXPECT_EQ(count(s.db(), kStoredOutcomes), 1);  // the checkout's
  auto m = c.Get("/metrics");
  EXPECT_NE(m->body.find("disco_collector_reported_outcomes_total{stored=\"yes\"} 1"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("disco_collector_checkout_outcomes_total 1"), std::string::npos) << m->body;
}

// A cart-level offer end to end: an edge's (signed) cart decision, logged as item "@cart" at the
// cart's value, is bought through /v1/checkout with its cart token: the cart offer comes off the
// order, and the order's margin after it is the decision's reward (scaled by the cart's value).
TEST(CollectorDoorsService, ACartOfferBoughtAtTheCheckoutIsItsCartDecisionsReward) {
  Service s;
  const std::string dir = make_temp_dir("disco-cdoors-cart");
  const disco::BundleSpec spec = write_bundle(dir);
  s.start(dir, {"--reward-window-ms", "1500", "--sweep-interval-ms", "50"});
  auto c = s.client();
  const std::string a = spec.catalog.item_ids[3], b2 = spec.catalog.item_ids[4];
  const double value = spec.catalog.price[3] + 2.0 * spec.catalog.price[4];
  const double cost = spec.catalog.cost[3] + 2.0 * spec.catalog.cost[4];
  Batch edge;
  edge.sender_id = "edge";
  Decision d = decision(9, now_ms(), 7, /*arm=*/2, value);
  d.item_id = "@cart";
  d.cost = cost;
  edge.decisions = {d};
  edge.seq = 1;
  const std::string body = batch_json(edge);
  auto r = c.Post("/v1/events", signed_headers(body), body, "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  // the cart token (as the SDK signs it): 5 off this cart over a minimum below its value
  const std::string claims = json{{"d", d.id.hex()}, {"s", "cart"}, {"c", cart_digest({{b2, 2}, {a, 1}})}, {"x", 5.0 / value},
                                  {"v", 5.0}, {"m", value - 1}, {"k", "fixed"}, {"a", 2}, {"e", now_ms() + 600000}}.dump();
  const std::string head = "v1." + base64url_encode(claims);
  const std::string hex = hmac_sha256_hex(kSecret, head);
  std::string mac;
  for (size_t i = 0; i < hex.size(); i += 2) mac.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  json order{{"lines", json::array({{{"item_id", a}, {"quantity", 1}}, {{"item_id", b2}, {"quantity", 2}}})},
             {"cart_token", head + "." + base64url_encode(mac)}};
  r = c.Post("/v1/checkout", httplib::Headers{{"x-disco-key", kKey}}, order.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  ASSERT_EQ(j["cart_offer"]["offer"], "applied") << j.dump();
  EXPECT_NEAR(j["cart_offer"]["discount"].get<double>(), 5.0, 1e-9);
  double charged = 0;
  for (const auto& l : j["lines"]) charged += l["total"].get<double>();
  const double net = std::round((charged - 5.0) * 100) / 100;
  EXPECT_NEAR(j["total"].get<double>(), net, 1e-9);
  json st;
  for (int i = 0; i < 100 && st.is_null(); ++i) {
    st = arm_stats(s, 2);
    if (st.is_null()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(st.is_null()) << "the cart decision never entered the statistics";
  EXPECT_EQ(st["n"].get<double>(), 1.0);
  EXPECT_NEAR(st["reward_sum"].get<double>(), disco::scaled_reward(net - cost, value), 1e-5);
  EXPECT_EQ(count(s.db(), kStoredOutcomes), 1);
}

// Site keys with ids: during the window both keys are accepted (named by X-Disco-Key-Id, or tried
// when not named); after the old one is removed from the config, its signatures are refused.
TEST(CollectorDoorsService, SiteKeysRotateWithoutRefusingTheWindow) {
  const std::string dir = make_temp_dir("disco-cdoors-rotate");
  const std::string kNew = "doors-new-secret-0123456789";
  Batch b;
  b.sender_id = "edge";
  b.events.push_back(Event{7, "s", now_ms(), 0, "item-1", 10, 1});
  auto send = [&](Service& s, const std::string& secret, const std::string& kid) {
    b.seq++;
    const std::string body = batch_json(b);
    auto c = s.client();
    return c.Post("/v1/events", signed_headers(body, secret, kid), body, "application/json");
  };
  {
    Service s;
    s.start(dir, {"--site-key", "shop:k2:" + kNew});
    EXPECT_EQ(send(s, kSecret, "")->status, 200);
    EXPECT_EQ(send(s, kSecret, "0")->status, 200);
    EXPECT_EQ(send(s, kNew, "k2")->status, 200);
    EXPECT_EQ(send(s, kNew, "")->status, 200);
    auto r = send(s, kSecret, "k2");
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(field(r), "x-disco-signature");
    r = send(s, kNew, "k9");
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(field(r), "x-disco-key-id");
  }
  Service s;
  s.start(dir, {"--site", "shop:" + kKey, "--site-key", "shop:k2:" + kNew}, /*default_site=*/false);
  EXPECT_EQ(send(s, kNew, "k2")->status, 200);
  auto r = send(s, kSecret, "");
  EXPECT_EQ(r->status, 401) << "the removed key still signs";
  EXPECT_EQ(send(s, kSecret, "0")->status, 401);
}

// Key rotation and removal without a restart (collector/README.md): the keys live in the config
// file; SIGHUP re-reads it and the keys it lists are the keys in force from then on. The same
// process (no restart) refuses a removed key and accepts a new one, a sender on a kept key gets
// 200 before, during and after the reload, and a config that does not check leaves the keys as
// they were.
TEST(CollectorDoorsService, SighupReloadsKeysWithoutARestart) {
  const std::string dir = make_temp_dir("disco-cdoors-reload");
  const std::string conf = dir + ".conf";
  const std::string kNew = "doors-new-secret-0123456789", kNewer = "doors-newer-secret-0123456789";
  auto write_conf = [&](const std::string& text) {
    std::ofstream(conf + ".tmp") << text;
    std::filesystem::rename(conf + ".tmp", conf);  // as an operator's editor or config tool would
  };
  write_conf("site = shop:" + kKey + ":" + kSecret + "\nsite_key = shop:k2:" + kNew +
             "\nwrite_key = shop:wk-public:" + kOrigin + "\n");
  Service s;
  s.start(dir, {"--config", conf}, /*default_site=*/false);
  const pid_t pid = s.proc.pid;
  Batch b;
  b.sender_id = "edge";
  b.events.push_back(Event{7, "s", now_ms(), 0, "item-1", 10, 1});
  auto send = [&](const std::string& secret, const std::string& kid) {
    b.seq++;
    const std::string body = batch_json(b);
    auto c = s.client();
    auto r = c.Post("/v1/events", signed_headers(body, secret, kid), body, "application/json");
    return r ? r->status : -1;
  };
  auto page = [&] {
    b.seq++;
    const std::string body = batch_json(b);
    auto c = s.client();
    auto r = c.Post("/v1/events", page_headers(kOrigin, ""), body, "text/plain");
    return r ? r->status : -1;
  };
  EXPECT_EQ(send(kSecret, ""), 200);
  EXPECT_EQ(send(kNew, "k2"), 200);
  EXPECT_EQ(send(kNewer, "k3"), 401);
  EXPECT_EQ(page(), 200);

  // A sender on the kept key k2 posts all along, on its own connection.
  std::atomic<bool> done{false};
  std::atomic<int> kept_ok{0}, kept_failed{0};
  std::thread kept([&] {
    Batch kb;
    kb.sender_id = "kept";
    kb.events.push_back(Event{8, "s", now_ms(), 0, "item-2", 10, 1});
    auto c = s.client();
    while (!done) {
      kb.seq++;
      const std::string body = batch_json(kb);
      auto r = c.Post("/v1/events", signed_headers(body, kNew, "k2"), body, "application/json");
      (r && r->status == 200 ? kept_ok : kept_failed)++;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  // Rotation: key 0 and the write key removed, k3 added.
  write_conf("site = shop:" + kKey + "\nsite_key = shop:k2:" + kNew + "\nsite_key = shop:k3:" + kNewer + "\n");
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  int removed = 0;
  for (int i = 0; i < 100 && removed != 401; ++i) {
    removed = send(kSecret, "");
    if (removed != 401) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(removed, 401) << "the removed key still signs after SIGHUP: " << s.proc.output();
  EXPECT_EQ(send(kSecret, "0"), 401);
  EXPECT_EQ(send(kNewer, "k3"), 200);
  EXPECT_EQ(send(kNewer, ""), 200);
  EXPECT_EQ(page(), 401) << "the removed write key";
  // A config that does not check (a secret too short): the keys in force stay.
  write_conf("site = shop:" + kKey + "\nsite_key = shop:k4:short\n");
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  std::string out;
  for (int i = 0; i < 100 && out.find("keys not reloaded") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    out = s.proc.output();
  }
  EXPECT_NE(out.find("keys not reloaded"), std::string::npos) << out;
  EXPECT_NE(out.find("site_key 'k4'"), std::string::npos) << "the message names the bad line: " << out;
  EXPECT_EQ(send(kNew, "k2"), 200);
  EXPECT_EQ(send(kNewer, "k3"), 200);
  EXPECT_EQ(send(kSecret, ""), 401);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  done = true;
  kept.join();
  EXPECT_GT(kept_ok.load(), 5);
  EXPECT_EQ(kept_failed.load(), 0) << "the kept key's sender got refusals during the reloads";
  EXPECT_EQ(s.proc.pid, pid);
  EXPECT_TRUE(s.proc.alive()) << "the collector restarted or died";
  auto c = s.client();
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("disco_collector_key_reloads_total{result=\"ok\"} 1"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("disco_collector_key_reloads_total{result=\"error\"} 1"), std::string::npos);
}

TEST(CollectorDoorsService, DeleteShopperIsSignedAndRemovesTheirRows) {
  Service s;
  s.start(make_temp_dir("disco-cdoors-delete"), {});
  auto c = s.client();
  const int64_t t = now_ms();
  Batch b;
  b.sender_id = "server";
  b.decisions = {decision(1, t, 42), decision(2, t, 43)};
  b.outcomes = {Outcome{did(1), t + 1, true, 10, 2}};
  b.events = {Event{42, "s", t, 0, "item-1", 10, 1}, Event{43, "s", t, 0, "item-1", 10, 1}};
  const std::string body = batch_json(b);
  ASSERT_EQ(c.Post("/v1/events", signed_headers(body), body, "application/json")->status, 200);
  auto r = c.Delete("/v1/shoppers/42", httplib::Headers{{"x-disco-key", kKey}});
  EXPECT_EQ(r->status, 401);
  r = c.Delete("/v1/shoppers/42", signed_headers("DELETE /v1/shoppers/43"));  // signed for another shopper
  EXPECT_EQ(r->status, 401);
  r = c.Delete("/v1/shoppers/x42", signed_headers("DELETE /v1/shoppers/x42"));
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(field(r), "user_key");
  const httplib::Headers h = signed_headers("DELETE /v1/shoppers/42");
  r = c.Delete("/v1/shoppers/42", h);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["deleted"]["decisions"], 1);
  EXPECT_EQ(j["deleted"]["events"], 1);
  EXPECT_EQ(j["deleted"]["outcomes"], 1);
  EXPECT_EQ(j["bandit_contributions_kept"], 1);
  EXPECT_EQ(c.Delete("/v1/shoppers/42", h)->status, 409);  // the same signed request again
  EXPECT_EQ(count(s.db(), "SELECT count(*) FROM decisions WHERE user_key = 42"), 0);
  EXPECT_EQ(count(s.db(), "SELECT count(*) FROM events WHERE user_key = 42"), 0);
  EXPECT_EQ(count(s.db(), "SELECT count(*) FROM decisions WHERE user_key = 43"), 1);
  r = c.Delete("/v1/shoppers/42", signed_headers("DELETE /v1/shoppers/42"));
  EXPECT_EQ(json::parse(r->body)["deleted"]["decisions"], 0);  // idempotent
}

TEST(CollectorDoorsService, RetentionDropsOldRowsAtStart) {
  const std::string dir = make_temp_dir("disco-cdoors-keep");
  const int64_t t = now_ms(), day = 86400000;
  {
    Service s;
    s.start(dir, {});
    Batch b;
    b.sender_id = "server";
    b.decisions = {decision(1, t - 10 * day, 1), decision(2, t - day, 2)};
    b.events = {Event{1, "s", t - 10 * day, 0, "item-1", 10, 1}, Event{2, "s", t - day, 0, "item-1", 10, 1}};
    const std::string body = batch_json(b);
    auto c = s.client();
    ASSERT_EQ(c.Post("/v1/events", signed_headers(body), body, "application/json")->status, 200);
    EXPECT_EQ(s.proc.terminate() >= 0, true);
  }
  Service s;
  s.start(dir, {"--retention-days", "5"});
  EXPECT_EQ(count(s.db(), "SELECT count(*) FROM decisions"), 1);
  EXPECT_EQ(count(s.db(), "SELECT count(*) FROM events"), 1);
  EXPECT_EQ(count(s.db(), "SELECT min(ts_ms) FROM decisions"), t - day);
  auto c = s.client();
  EXPECT_NE(c.Get("/metrics")->body.find("disco_collector_retention_deleted_total{table=\"decisions\"} 1"), std::string::npos);
}

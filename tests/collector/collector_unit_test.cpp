// In-process tests of the collector's parsers, auth helpers and the SQLite joined log (with a
// fake clock for the reward window).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>

#include <cstdlib>
#include <filesystem>
#include <vector>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sqlite3.h>

#include "disco/collector/auth.h"
#include "disco/collector/batch.h"
#include "disco/collector/config.h"
#include "disco/collector/server.h"
#include "disco/collector/store.h"
#include "collector_test_util.h"

using namespace disco::collector;
using disco::collector::test_util::make_temp_dir;
using json = nlohmann::json;

namespace {

std::string tmpdir(const std::string& name) { return make_temp_dir("disco-coll-" + name); }

DecisionId did(uint64_t k) { return {0x1000 + k, 0xabc0000000000000ull + k}; }

Decision decision(uint64_t k, int64_t ts, int arm = 1, bool shown = true) {
  Decision d;
  d.id = did(k);
  d.ts_ms = ts;
  d.user_key = 7;
  d.item_id = "item-" + std::to_string(k);
  d.arm = static_cast<uint16_t>(arm);
  d.discount = 0.1;
  d.propensity = 0.25;
  d.shown = shown;
  d.price = 10;
  d.cost = 6;
  d.context = {1.0f, 2.0f};
  return d;
}

Outcome outcome(uint64_t k, int64_t ts, double margin) {
  Outcome o;
  o.id = did(k);
  o.ts_ms = ts;
  o.converted = margin != 0;
  o.revenue = margin != 0 ? 9 : 0;
  o.margin = margin;
  return o;
}

Batch batch_of(std::vector<Decision> ds, std::vector<Outcome> os = {}, std::vector<Activation> as = {}) {
  Batch b;
  b.sender_id = "edge-1";
  b.seq = 1;
  b.decisions = std::move(ds);
  b.outcomes = std::move(os);
  b.activations = std::move(as);
  return b;
}

struct Row {
  std::string status;
  double reward = 0;
  int late = 0;
  int shown = 0;
};

}  // namespace

// ---- parsers ----------------------------------------------------------------------------------

TEST(CollectorParse, ValidJsonBatchParses) {
  std::string body = R"({"sender_id":"e1","seq":3,"sent_at_ms":1700000000000,
    "decisions":[{"decision_id":"0123456789abcdef0123456789abcdef","ts_ms":1700000000000,"user_key":"18446744073709551615",
      "item_id":"sku-1","arm":2,"discount":0.15,"propensity":0.4,"model_version":"m1","policy_version":"p1",
      "mode":"apprentice","shown":true,"price":20,"cost":12,"context":[0.5,-1,2]}],
    "outcomes":[{"decision_id":"0123456789abcdef0123456789abcdef","ts_ms":1700000001000,"converted":true,"revenue":17,"margin":5}],
    "activations":[{"decision_id":"0123456789abcdef0123456789abcdef","ts_ms":1700000000500}],
    "events":[{"user_key":1,"session_id":"s","ts_ms":1700000000000,"type":"cart","item_id":"sku-1","price":20,"quantity":2}]})";
  Batch b;
  ParseError e;
  ASSERT_TRUE(parse_json_batch(body, b, e)) << e.field << ": " << e.message;
  ASSERT_EQ(b.decisions.size(), 1u);
  EXPECT_EQ(b.decisions[0].id.hex(), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(b.decisions[0].user_key, 18446744073709551615ull);
  EXPECT_EQ(b.decisions[0].mode, Mode::Apprentice);
  EXPECT_EQ(b.decisions[0].context.size(), 3u);
  EXPECT_EQ(b.events[0].type, 2);
  EXPECT_EQ(b.events[0].quantity, 2);
  EXPECT_TRUE(b.outcomes[0].converted);
  EXPECT_EQ(b.activations.size(), 1u);
}

TEST(CollectorParse, ErrorsNameTheField) {
  struct Case { std::string body, field, reason; };
  const std::string ok_dec = R"("decision_id":"0123456789abcdef0123456789abcdef","ts_ms":5,"item_id":"a","arm":1)";
  std::vector<Case> cases = {
      {"{", "", "malformed_json"},
      {"[]", "", "wrong_type"},
      {R"({"seq":1})", "sender_id", "missing_field"},
      {R"({"sender_id":"e","seq":"x"})", "seq", "invalid_value"},
      {R"({"sender_id":"e","decisions":{}})", "decisions", "wrong_type"},
      {R"({"sender_id":"e","decisions":[{)" + ok_dec + R"(,"propensity":0.5},{)" + ok_dec + R"(,"propensity":1.5}]})",
       "decisions[1].propensity", "invalid_value"},
      {R"({"sender_id":"e","decisions":[{)" + ok_dec + R"(,"propensity":"high"}]})", "decisions[0].propensity", "wrong_type"},
      {R"({"sender_id":"e","decisions":[{)" + ok_dec + "}]}", "decisions[0].propensity", "missing_field"},
      {R"({"sender_id":"e","decisions":[{)" + ok_dec + R"(,"propensity":0.5,"discount":2}]})", "decisions[0].discount", "invalid_value"},
      {R"({"sender_id":"e","decisions":[{)" + ok_dec + R"(,"propensity":0.5,"colour":1}]})", "decisions[0].colour", "unknown_field"},
      {R"({"sender_id":"e","decisions":[{)" + ok_dec + R"(,"propensity":0.5,"context":[1,"x"]}]})", "decisions[0].context[1]", "wrong_type"},
      {R"({"sender_id":"e","outcomes":[{"decision_id":"0123456789ABCDEF0123456789abcdef","ts_ms":1,"converted":true}]})",
       "outcomes[0].decision_id", "invalid_value"},
      {R"({"sender_id":"e","outcomes":[{"decision_id":"0123456789abcdef0123456789abcdef","ts_ms":1.5,"converted":true}]})",
       "outcomes[0].ts_ms", "wrong_type"},
      {R"({"sender_id":"e","outcomes":[{"decision_id":"0123456789abcdef0123456789abcdef","ts_ms":1,"converted":1}]})",
       "outcomes[0].converted", "wrong_type"},
      {R"({"sender_id":"e","events":[{"ts_ms":1,"item_id":"a","type":"buy"}]})", "events[0].type", "invalid_value"},
  };
  for (const Case& c : cases) {
    Batch b;
    ParseError e;
    EXPECT_FALSE(parse_json_batch(c.body, b, e)) << c.body;
    EXPECT_EQ(e.field, c.field) << c.body << " -> " << e.message;
    EXPECT_EQ(e.reason, c.reason) << c.body << " -> " << e.message;
    EXPECT_FALSE(e.message.empty());
  }
}

TEST(CollectorParse, RowLimitIsTooLarge) {
  ParseLimits lim;
  lim.max_rows = 3;
  Batch b = batch_of({decision(1, 5), decision(2, 5), decision(3, 5), decision(4, 5)});
  Batch out;
  ParseError e;
  EXPECT_FALSE(parse_json_batch(encode_json(b), out, e, lim));
  EXPECT_TRUE(e.too_large);
  EXPECT_FALSE(parse_flatbuffers_batch(encode_flatbuffers(b), out, e, lim));
  EXPECT_TRUE(e.too_large);
}

TEST(CollectorParse, FlatBuffersRoundTripAndJsonAgree) {
  Batch b = batch_of({decision(1, 1000), decision(2, 2000, 3, false)}, {outcome(1, 1500, 2.5)},
                     {Activation{did(2), 2100}});
  b.events.push_back(Event{42, "sess", 900, 1, "item-9", 3.5f, 1});
  Batch f, j;
  ParseError e;
  ASSERT_TRUE(parse_flatbuffers_batch(encode_flatbuffers(b), f, e)) << e.field << ": " << e.message;
  ASSERT_TRUE(parse_json_batch(encode_json(b), j, e)) << e.field << ": " << e.message;
  for (const Batch* x : {&f, &j}) {
    ASSERT_EQ(x->decisions.size(), 2u);
    EXPECT_EQ(x->decisions[1].id, did(2));
    EXPECT_EQ(x->decisions[1].arm, 3);
    EXPECT_FALSE(x->decisions[1].shown);
    EXPECT_FLOAT_EQ(static_cast<float>(x->decisions[0].propensity), 0.25f);
    EXPECT_EQ(x->decisions[0].context, (std::vector<float>{1.0f, 2.0f}));
    EXPECT_DOUBLE_EQ(x->outcomes[0].margin, 2.5);
    EXPECT_EQ(x->activations[0].ts_ms, 2100);
    EXPECT_EQ(x->events[0].item_id, "item-9");
  }
}

// Decision.holdout and Decision.user_id (collector/PROTOCOL.md, schemas/events.fbs): parsed from both forms, validated,
// absent = false / none.
TEST(CollectorParse, HoldoutAndUserIdInBothForms) {
  const std::string ok_dec =
      R"("decision_id":"0123456789abcdef0123456789abcdef","ts_ms":5,"item_id":"a","arm":0,"propensity":1)";
  Batch j;
  ParseError e;
  ASSERT_TRUE(parse_json_batch(R"({"sender_id":"e","decisions":[{)" + ok_dec +
                                   R"(,"holdout":true,"user_id":"cust-42@shop"},{)" + ok_dec + R"(,"user_id":null}]})",
                               j, e))
      << e.field << ": " << e.message;
  EXPECT_TRUE(j.decisions[0].holdout);
  EXPECT_EQ(j.decisions[0].user_id, "cust-42@shop");
  EXPECT_FALSE(j.decisions[1].holdout);
  EXPECT_EQ(j.decisions[1].user_id, "");
  Batch b = batch_of({decision(1, 1000), decision(2, 2000)});
  b.decisions[0].holdout = true;
  b.decisions[0].user_id = "Müller, K.";
  for (const std::string& body : {encode_flatbuffers(b), encode_json(b)}) {
    Batch x;
    const bool fb = body[4] == 'D';
    ASSERT_TRUE(fb ? parse_flatbuffers_batch(body, x, e) : parse_json_batch(body, x, e)) << e.message;
    EXPECT_TRUE(x.decisions[0].holdout);
    EXPECT_EQ(x.decisions[0].user_id, "Müller, K.");
    EXPECT_FALSE(x.decisions[1].holdout);
    EXPECT_EQ(x.decisions[1].user_id, "");
  }
  struct Case { std::string extra, reason; };
  for (const Case& c : std::vector<Case>{{R"("holdout":1)", "wrong_type"},
                                         {R"("user_id":7)", "wrong_type"},
                                         {R"("user_id":"a\u0001b")", "invalid_value"},
                                         {"\"user_id\":\"" + std::string(300, 'x') + "\"", "invalid_value"}}) {
    Batch x;
    EXPECT_FALSE(parse_json_batch(R"({"sender_id":"e","decisions":[{)" + ok_dec + "," + c.extra + "}]}", x, e)) << c.extra;
    EXPECT_EQ(e.reason, c.reason) << c.extra << ": " << e.message;
    EXPECT_EQ(e.field.rfind("decisions[0].", 0), 0u) << e.field;
  }
  Batch bad = b;
  bad.decisions[1].user_id = std::string("a\nb");
  Batch x;
  EXPECT_FALSE(parse_flatbuffers_batch(encode_flatbuffers(bad), x, e));
  EXPECT_EQ(e.field, "decisions[1].user_id");
}

TEST(CollectorParse, CorruptFlatBuffersRefused) {
  Batch b = batch_of({decision(1, 1000)}, {outcome(1, 1500, 2.5)});
  std::string fb = encode_flatbuffers(b);
  Batch out;
  ParseError e;
  EXPECT_FALSE(parse_flatbuffers_batch(fb.substr(0, fb.size() / 2), out, e));
  EXPECT_EQ(e.reason, "malformed_flatbuffers");
  std::string wrong_id = fb;
  wrong_id[4] = 'X';
  EXPECT_FALSE(parse_flatbuffers_batch(wrong_id, out, e));
  EXPECT_EQ(e.reason, "malformed_flatbuffers");
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {  // random byte flips: refused or parsed, never a crash
    std::string m = fb;
    m[8 + rng() % (m.size() - 8)] = static_cast<char>(rng());
    parse_flatbuffers_batch(m, out, e);
  }
  // FlatBuffers strings are not UTF-8 checked by the verifier: the parser does it.
  Batch bad = b;
  bad.decisions[0].item_id = std::string("sku\xff", 4);
  EXPECT_FALSE(parse_flatbuffers_batch(encode_flatbuffers(bad), out, e));
  EXPECT_EQ(e.field, "decisions[0].item_id");
  // A misaligned buffer parses the same (copied to aligned memory first).
  std::string shifted = "x" + fb;
  EXPECT_TRUE(parse_flatbuffers_batch(std::string_view(shifted).substr(1), out, e)) << e.message;
  // Out-of-range values are caught by the same validation as JSON.
  b.decisions[0].propensity = 0;
  EXPECT_FALSE(parse_flatbuffers_batch(encode_flatbuffers(b), out, e));
  EXPECT_EQ(e.field, "decisions[0].propensity");
}

// ---- auth -------------------------------------------------------------------------------------

TEST(CollectorAuth, HmacMatchesRfc4231) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_TRUE(signature_matches("5bdcc146", "5BDCC146"));
  EXPECT_FALSE(signature_matches("5bdcc146", "5bdcc147"));
  EXPECT_FALSE(signature_matches("5bdcc146", "5bdcc1"));
}

TEST(CollectorAuth, ReplayCacheRemembersUntilExpiryAndIsBounded) {
  ReplayCache c(1000, 3);
  EXPECT_EQ(c.check_and_insert("a", 0), ReplayCache::Result::Fresh);
  EXPECT_EQ(c.check_and_insert("a", 500), ReplayCache::Result::Replayed);
  EXPECT_EQ(c.check_and_insert("b", 600), ReplayCache::Result::Fresh);
  EXPECT_EQ(c.check_and_insert("c", 700), ReplayCache::Result::Fresh);
  EXPECT_EQ(c.check_and_insert("d", 800), ReplayCache::Result::Full);
  EXPECT_EQ(c.check_and_insert("a", 1001), ReplayCache::Result::Fresh);  // "a" expired at 1000
  c.forget("b");
  EXPECT_EQ(c.check_and_insert("b", 1002), ReplayCache::Result::Fresh);
}

TEST(CollectorConfig, FileAndFlags) {
  std::string dir = tmpdir("cfg");
  {
    std::ofstream f(dir + "/c.conf");
    f << "# comment\nlisten = 127.0.0.1:9000\nsite = shop:key1:0123456789abcdef\nreward_window_ms = 1000\n";
  }
  Config c = parse_config_args({"--config", dir + "/c.conf", "--reward-window-ms", "2000", "--storage=jetstream"});
  EXPECT_EQ(c.port, 9000);
  EXPECT_EQ(c.reward_window_ms, 2000);
  EXPECT_EQ(c.storage, "jetstream");
  ASSERT_NE(c.site_by_key("key1"), nullptr);
  {
    std::ofstream f(dir + "/bad.conf");
    f << "site = shop:key1:0123456789abcdef\nrewrad_window_ms = 5\n";
  }
  try {
    parse_config_args({"--config", dir + "/bad.conf"});
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.conf:2: unknown key 'rewrad_window_ms'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_config(Config{}), ConfigError);  // no sites
  EXPECT_THROW(parse_config_args({"--max-body-bytes", "lots"}), ConfigError);
}

// ---- the joined log -----------------------------------------------------------------------------

class CollectorStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = tmpdir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    reopen();
  }
  void reopen(std::function<int(int)> wal_sync = {}, size_t group_commit_max_jobs = 512) {
    store.reset();
    StoreOptions o;
    o.path = dir + "/collector.sqlite";
    o.reward_window_ms = 1000;
    o.clock = [this] { return now; };
    o.wal_sync = std::move(wal_sync);
    o.group_commit_max_jobs = group_commit_max_jobs;
    store = std::make_unique<SqliteStore>(o);
  }
  ApplyResult apply(const Batch& b, const std::string& hash) {
    ApplyOutcome o = store->apply("shop", hash, b);
    EXPECT_TRUE(o.ok) << o.error;
    return o.result;
  }
  Row row(uint64_t k) {
    std::string csv = dir + "/out.csv";
    export_rows = export_joined_csv(dir, csv, true);
    std::ifstream in(csv);
    std::string line, want = did(k).hex();
    std::getline(in, line);
    header = line;
    while (std::getline(in, line)) {
      if (line.rfind(want, 0) != 0) continue;
      std::vector<std::string> f;
      std::stringstream ss(line);
      std::string x;
      while (std::getline(ss, x, ',')) f.push_back(x);
      Row r;
      r.shown = std::stoi(f[11]);
      r.status = f[14];
      r.reward = f[15].empty() ? -999 : std::stod(f[15]);
      r.late = std::stoi(f[20]);
      return r;
    }
    return Row{"absent"};
  }
  const disco::ArmStats* arm(int a) {
    snap = store->bandit();
    auto it = snap->arms.find({"shop", static_cast<int>(disco::kContextVersion), 2, a});
    return it == snap->arms.end() ? nullptr : &it->second->stats;
  }

  std::string dir;
  int64_t now = 1'000'000;
  std::unique_ptr<SqliteStore> store;
  std::shared_ptr<const BanditSnapshot> snap;
  size_t export_rows = 0;
  std::string header;
};

// meta.schema_version is written at creation and checked at every open: a store written by a newer
// collector (or with a damaged version) is refused with a message naming both versions.
TEST_F(CollectorStore, SchemaVersionIsCheckedAtOpen) {
  store.reset();
  const std::string path = dir + "/collector.sqlite";
  auto set_version = [&](const std::string& value) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, ("UPDATE meta SET value = " + value + " WHERE key = 'schema_version'").c_str(), nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  };
  auto open_error = [&]() -> std::string {
    try {
      reopen();
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  };
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 3);  // written at creation
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  set_version("4");
  std::string err = open_error();
  EXPECT_NE(err.find(path + ": the store has schema version 4 (written by a newer disco-collector)"), std::string::npos) << err;
  EXPECT_NE(err.find("reads store schema version 3"), std::string::npos) << err;
  EXPECT_EQ(store, nullptr);
  set_version("'one'");
  err = open_error();
  EXPECT_NE(err.find("schema_version (table meta) is not an integer"), std::string::npos) << err;
  set_version("0");
  err = open_error();
  EXPECT_NE(err.find("schema version 0, unknown"), std::string::npos) << err;
  set_version("1");  // a version-1 store opens and is moved to version 3
  EXPECT_EQ(open_error(), "");
  EXPECT_NE(store, nullptr);
  for (const char* v : {"2", "3"}) {  // version 2 (joined outcomes in table outcomes too) opens as well
    set_version(v);
    EXPECT_EQ(open_error(), "") << "version " << v;
    EXPECT_NE(store, nullptr);
  }
}

// The oldest store layout (tests/collector/fixtures/store_schema1_oldest.sql: the first collector's
// schema with one joined decision and its arm's statistics in the old `bandit` table) opens: the
// decisions get the holdout / user_id columns, the statistics move to bandit_stats under this
// collector's context_version, and the joined row exports as it was.
TEST_F(CollectorStore, OldestStoreLayoutOpensAndMigrates) {
  store.reset();
  const std::string path = dir + "/collector.sqlite";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  std::ifstream in(std::string(DISCO_SOURCE_DIR) + "/tests/collector/fixtures/store_schema1_oldest.sql");
  std::stringstream sql;
  sql << in.rdbuf();
  ASSERT_FALSE(sql.str().empty()) << "missing fixture store_schema1_oldest.sql";
  auto count = [&](const char* q) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, q, -1, &st, nullptr), SQLITE_OK) << q;
    const int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  };
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.str().c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }
  ASSERT_EQ(count("SELECT count(*) FROM pragma_table_info('decisions') WHERE name IN ('holdout', 'user_id')"), 0);
  reopen();
  EXPECT_EQ(count("SELECT count(*) FROM pragma_table_info('decisions') WHERE name IN ('holdout', 'user_id')"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'bandit'"), 0);
  // schema version 2: the reported_outcomes table and the per-shopper indexes (moved on to 3)
  EXPECT_EQ(count("SELECT value FROM meta WHERE key = 'schema_version'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM sqlite_master WHERE name IN ('reported_outcomes', 'events_user', 'decisions_user')"), 3);
  const disco::ArmStats* a = arm(2);
  ASSERT_NE(a, nullptr) << "the old statistics did not move to bandit_stats";
  EXPECT_EQ(a->n, 1.0);
  EXPECT_EQ(a->reward_sum, 0.3);
  EXPECT_EQ(a->A, (std::vector<double>{1.0, 0.5, 0.5, 0.25}));
  EXPECT_EQ(a->b, (std::vector<double>{0.3, 0.15}));
  EXPECT_EQ(snap->version, 1);
  const Row r = row(1);
  EXPECT_EQ(r.status, "joined");
  EXPECT_EQ(r.shown, 1);
  EXPECT_EQ(r.reward, 6.0);
  EXPECT_EQ(export_rows, 1u);
  EXPECT_NE(header.find(",holdout"), std::string::npos) << header;
}

TEST_F(CollectorStore, ResendingABatchChangesNothing) {
  Batch b = batch_of({decision(1, now), decision(2, now)}, {outcome(1, now + 10, 3)});
  ApplyResult r1 = apply(b, "h1");
  EXPECT_EQ(r1.decisions.accepted, 2u);
  EXPECT_EQ(r1.outcomes.accepted, 1u);
  EXPECT_EQ(r1.joined, 1u);
  int64_t v = store->bandit()->version;
  ApplyResult r2 = apply(b, "h1");  // same bytes
  EXPECT_TRUE(r2.batch_seen_before);
  EXPECT_EQ(r2.decisions.duplicate, 2u);
  EXPECT_EQ(r2.decisions.accepted, 0u);
  ApplyResult r3 = apply(b, "h2");  // same rows in a different batch (e.g. re-signed and re-encoded)
  EXPECT_FALSE(r3.batch_seen_before);
  EXPECT_EQ(r3.decisions.duplicate, 2u);
  EXPECT_EQ(r3.outcomes.duplicate, 1u);
  EXPECT_EQ(r3.joined, 0u);
  EXPECT_EQ(store->bandit()->version, v);
  ASSERT_NE(arm(1), nullptr);
  EXPECT_EQ(arm(1)->n, 1.0);
  row(1);
  EXPECT_EQ(export_rows, 2u);
}

TEST_F(CollectorStore, JoinWindowWithFakeClock) {
  // 1: outcome inside the window -> joined with its margin.
  // 2: no outcome -> default reward once the window closes.
  // 3: outcome after the window (by timestamp) -> late, default reward for the bandit.
  // 4: window closed first, then the outcome arrives -> late.
  apply(batch_of({decision(1, now), decision(2, now), decision(3, now), decision(4, now)}), "d");
  apply(batch_of({}, {outcome(1, now + 999, 4.0)}), "o1");
  EXPECT_EQ(row(1).status, "joined");
  EXPECT_DOUBLE_EQ(row(1).reward, 4.0);
  EXPECT_EQ(row(2).status, "pending");
  now += 500;
  EXPECT_EQ(store->sweep(), 0u);  // nothing is due yet
  apply(batch_of({}, {outcome(3, now + 600, 5.0)}), "o3");  // ts 1100 ms after its decision
  EXPECT_EQ(row(3).status, "late");
  EXPECT_EQ(row(3).late, 1);
  EXPECT_DOUBLE_EQ(row(3).reward, 0.0);
  now += 501;
  EXPECT_EQ(store->sweep(), 2u);  // 2 and 4
  EXPECT_EQ(row(2).status, "default");
  EXPECT_DOUBLE_EQ(row(2).reward, 0.0);
  EXPECT_EQ(row(4).status, "default");
  apply(batch_of({}, {outcome(4, now - 600, 7.0)}), "o4");  // in-window timestamp, but arrived after close
  EXPECT_EQ(row(4).status, "late");
  EXPECT_DOUBLE_EQ(row(4).reward, 0.0);
  EXPECT_EQ(store->sweep(), 0u);
  // Bandit: all four shown, online, arm 1, context (1, 2); rewards 4/price=0.4, 0, 0, 0.
  const disco::ArmStats* a = arm(1);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->n, 4.0);
  EXPECT_DOUBLE_EQ(a->reward_sum, 0.4);
  EXPECT_EQ(a->A, (std::vector<double>{4, 8, 8, 16}));
  EXPECT_NEAR(a->b[0], 0.4, 1e-12);
  EXPECT_NEAR(a->b[1], 0.8, 1e-12);
  // The header is the decisions.csv columns first, then the joined columns.
  EXPECT_EQ(header.rfind("decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version,", 0), 0u);
}

TEST_F(CollectorStore, OrphanOutcomesJoinWhenTheirDecisionArrivesOrExpire) {
  ApplyResult r = apply(batch_of({}, {outcome(1, now + 10, 2.0), outcome(2, now + 10, 2.0)}), "o");
  EXPECT_EQ(r.orphans, 2u);
  now += 100;
  ApplyResult r2 = apply(batch_of({decision(1, now - 100)}), "d1");
  EXPECT_EQ(r2.joined, 1u);
  EXPECT_EQ(row(1).status, "joined");
  EXPECT_DOUBLE_EQ(row(1).reward, 2.0);
  StoreCounters c = store->counters();
  EXPECT_EQ(c.orphans_waiting, 1u);
  now += 2000;
  store->sweep();
  c = store->counters();
  EXPECT_EQ(c.orphans_waiting, 0u);
  EXPECT_EQ(c.orphans_expired, 1u);
  // Its decision finally arrives: the outcome is kept, joined as late.
  ApplyResult r3 = apply(batch_of({decision(2, now - 2100)}), "d2");
  EXPECT_EQ(r3.late, 1u);
  EXPECT_EQ(row(2).status, "late");
}

TEST_F(CollectorStore, OnlyShownOnlineDecisionsTrainTheBandit) {
  Decision apprentice = decision(3, now, 1, true);
  apprentice.mode = Mode::Apprentice;
  apply(batch_of({decision(1, now, 1, false), decision(2, now, 1, true), apprentice},
                 {outcome(1, now + 1, 1.0), outcome(2, now + 1, 1.0), outcome(3, now + 1, 1.0)}),
        "b");
  ASSERT_NE(arm(1), nullptr);
  EXPECT_EQ(arm(1)->n, 1.0);  // only decision 2
  // Deferred activation: decision 1 becomes shown after its outcome -> counted once now.
  apply(batch_of({}, {}, {Activation{did(1), now + 2}}), "a");
  EXPECT_EQ(arm(1)->n, 2.0);
  EXPECT_EQ(row(1).shown, 1);
  apply(batch_of({}, {}, {Activation{did(1), now + 3}}), "a2");  // duplicate activation
  EXPECT_EQ(arm(1)->n, 2.0);
  // An activation that arrives before its decision.
  apply(batch_of({}, {}, {Activation{did(9), now}}), "a3");
  apply(batch_of({decision(9, now, 1, false)}, {outcome(9, now + 5, 0.0)}), "d9");
  EXPECT_EQ(row(9).shown, 1);
  EXPECT_EQ(arm(1)->n, 3.0);
}

TEST_F(CollectorStore, HoldoutAndUserIdAreStoredAndExported) {
  Decision h = decision(1, now, 0, true);
  h.holdout = true;
  h.user_id = "cust-7";
  apply(batch_of({h, decision(2, now)}, {outcome(1, now + 5, 1.0), outcome(2, now + 5, 1.0)}), "h");
  CanonicalExportOptions o;
  o.data_dir = dir;
  o.out_dir = dir + "/log";
  const CanonicalExportSummary sum = export_canonical(o);
  EXPECT_EQ(sum.decisions, 2u);
  std::ifstream in(dir + "/log/decisions.csv");
  std::string head, l1, l2;
  std::getline(in, head);
  std::getline(in, l1);
  std::getline(in, l2);
  EXPECT_NE(head.find(",holdout,"), std::string::npos);
  // both decisions are user_key 7: the user_id sent with one names the shopper in every row
  EXPECT_NE(l1.find(",cust-7,"), std::string::npos) << l1;
  EXPECT_NE(l2.find(",cust-7,"), std::string::npos) << l2;
  const int holdout_col = 12;
  auto field = [](const std::string& line, int k) {
    std::stringstream ss(line);
    std::string f;
    for (int i = 0; i <= k; ++i) std::getline(ss, f, ',');
    return f;
  };
  EXPECT_EQ(field(head, holdout_col), "holdout");
  EXPECT_EQ(field(l1, holdout_col) + field(l2, holdout_col), "10");
  row(1);
  EXPECT_NE(header.find(",holdout"), std::string::npos);  // the joined CSV carries it too
}

// An outcome of a known decision is stored on the decision's row, not in table outcomes (which
// keeps orphans), and the decision keeps its first outcome: a second one, in any batch, is a
// duplicate. The canonical export's outcomes.csv has each stored outcome once, whichever way it
// arrived (known decision, late after the window closed, orphan first).
TEST_F(CollectorStore, AnOutcomeIsStoredOnItsDecisionAndKeptOnce) {
  apply(batch_of({decision(1, now), decision(2, now)}, {outcome(1, now + 10, 3.0)}), "a");
  auto sql = [&](const std::string& q) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((dir + "/collector.sqlite").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, q.c_str(), -1, &st, nullptr), SQLITE_OK) << q;
    const double v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_double(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  };
  const std::string d1 = "x'" + did(1).hex() + "'";
  EXPECT_EQ(sql("SELECT count(*) FROM outcomes"), 0.0) << "a joined outcome needs no outcomes row";
  EXPECT_EQ(sql("SELECT margin FROM decisions WHERE decision_id = " + d1), 3.0);
  ApplyResult r = apply(batch_of({}, {outcome(1, now + 20, 9.0)}), "b");  // another batch, another margin
  EXPECT_EQ(r.outcomes.duplicate, 1u);
  EXPECT_EQ(r.outcomes.accepted, 0u);
  EXPECT_EQ(r.joined + r.late, 0u);
  EXPECT_EQ(sql("SELECT margin FROM decisions WHERE decision_id = " + d1), 3.0) << "the first outcome stays";
  ASSERT_NE(arm(1), nullptr);
  const double n_before = arm(1)->n;
  now += 1001;
  store->sweep();  // decision 2 closes with the default reward
  r = apply(batch_of({}, {outcome(2, now, 5.0)}), "c");  // late
  EXPECT_EQ(r.late, 1u);
  r = apply(batch_of({}, {outcome(2, now + 1, 6.0)}), "d");
  EXPECT_EQ(r.outcomes.duplicate, 1u);
  // orphan first, then its decision, then a resend of the outcome
  r = apply(batch_of({}, {outcome(3, now + 5, 2.0)}), "e");
  EXPECT_EQ(r.orphans, 1u);
  apply(batch_of({decision(3, now)}), "f");
  r = apply(batch_of({}, {outcome(3, now + 6, 8.0)}), "g");
  EXPECT_EQ(r.outcomes.duplicate, 1u);
  EXPECT_EQ(sql("SELECT count(*) FROM outcomes"), 1.0) << "only the orphan had an outcomes row";
  EXPECT_EQ(arm(1)->n, n_before + 2) << "decisions 2 and 3 entered the statistics once each";
  CanonicalExportOptions o;
  o.data_dir = dir;
  o.out_dir = dir + "/log";
  o.include_pending = true;
  const CanonicalExportSummary sum = export_canonical(o);
  EXPECT_EQ(sum.outcomes, 3u);
  std::ifstream in(dir + "/log/outcomes.csv");
  std::string head, line, all;
  std::getline(in, head);
  EXPECT_EQ(head, "decision_id,ts,converted,revenue,margin,late");
  while (std::getline(in, line)) all += line + "\n";
  EXPECT_NE(all.find(did(1).hex() + "," + std::to_string(now - 1001 + 10) + ",1,"), std::string::npos) << all;
  EXPECT_NE(all.find(",3,0\n"), std::string::npos) << "decision 1: margin 3, not late: " << all;
  EXPECT_NE(all.find(",5,1\n"), std::string::npos) << "decision 2: margin 5, late: " << all;
  EXPECT_NE(all.find(",2,0\n"), std::string::npos) << "decision 3: the orphan's margin 2: " << all;
}

TEST_F(CollectorStore, StatisticsSurviveRestart) {
  apply(batch_of({decision(1, now, 2)}, {outcome(1, now + 1, 3.0)}), "b");
  int64_t v = store->bandit()->version;
  ASSERT_NE(arm(2), nullptr);
  reopen();
  EXPECT_EQ(store->bandit()->version, v);
  ASSERT_NE(arm(2), nullptr);
  EXPECT_EQ(arm(2)->n, 1.0);
  EXPECT_DOUBLE_EQ(arm(2)->reward_sum, 0.3);
}

TEST_F(CollectorStore, GroupCommitAnswersEveryRequestAfterCommit) {
  store->start();
  std::vector<std::future<ApplyOutcome>> fs;
  for (int i = 0; i < 200; ++i) {
    auto b = std::make_shared<Batch>(batch_of({decision(1000 + i, now)}, {outcome(1000 + i, now + 1, 1.0)}));
    fs.push_back(store->submit("shop", "g" + std::to_string(i), b));
    ASSERT_TRUE(fs.back().valid());
  }
  for (auto& f : fs) {
    ApplyOutcome o = f.get();
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.joined, 1u);
  }
  store->stop();
  EXPECT_EQ(store->counters().joined, 200u);
}

// Acknowledged = durable: a request's future resolves only after an fsync of the WAL that began
// after its COMMIT has returned (the syncer thread under group commit, inline with one job per
// transaction), and a failed fsync fails the request instead of answering it.
TEST_F(CollectorStore, AnsweredOnlyAfterTheWalIsFsynced) {
  for (size_t max_jobs : {size_t{512}, size_t{1}}) {
    SCOPED_TRACE("group_commit_max_jobs " + std::to_string(max_jobs));
    std::mutex mu;
    std::condition_variable cv;
    bool hold = false, fail = false;
    int calls = 0, held = 0;
    reopen([&](int fd) {
      std::unique_lock<std::mutex> lk(mu);
      ++calls;
      if (hold) {
        ++held;
        cv.notify_all();
        cv.wait(lk, [&] { return !hold; });
      }
      if (fail) {
        errno = EIO;
        return -1;
      }
      return ::fdatasync(fd);
    }, max_jobs);
    EXPECT_GE(calls, 1);  // at open: the WAL file is made durable before anything is written
    store->start();
    {
      std::lock_guard<std::mutex> lk(mu);
      hold = true;
      held = 0;
    }
    auto b = std::make_shared<Batch>(batch_of({decision(2000 + max_jobs, now)}, {}));
    auto f = store->submit("shop", "s" + std::to_string(max_jobs), b);
    ASSERT_TRUE(f.valid());
    {
      std::unique_lock<std::mutex> lk(mu);
      ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(10), [&] { return held > 0; })) << "no fsync after the commit";
    }
    // Committed, the fsync is under way and held: not answered yet.
    EXPECT_EQ(f.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
    {
      std::lock_guard<std::mutex> lk(mu);
      hold = false;
    }
    cv.notify_all();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    ApplyOutcome o = f.get();
    EXPECT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.decisions.accepted, 1u);
    // A failed fsync: the request fails (503 upstream), naming the fsync.
    {
      std::lock_guard<std::mutex> lk(mu);
      fail = true;
    }
    auto f2 = store->submit("shop", "t" + std::to_string(max_jobs),
                            std::make_shared<Batch>(batch_of({decision(3000 + max_jobs, now)}, {})));
    ASSERT_TRUE(f2.valid());
    ApplyOutcome o2 = f2.get();
    EXPECT_FALSE(o2.ok);
    EXPECT_NE(o2.error.find("fsync of the WAL"), std::string::npos) << o2.error;
    {
      std::lock_guard<std::mutex> lk(mu);
      fail = false;
    }
    // The synchronous path fsyncs too.
    int before = 0;
    {
      std::lock_guard<std::mutex> lk(mu);
      before = calls;
    }
    store->stop();
    EXPECT_TRUE(store->apply("shop", "u" + std::to_string(max_jobs), batch_of({decision(4000 + max_jobs, now)}, {})).ok);
    {
      std::lock_guard<std::mutex> lk(mu);
      EXPECT_GT(calls, before);
    }
    store.reset();  // the hook refers to this iteration's locals
  }
}


// More than one collector behind one JetStream stream (collector/README.md, "Several collectors").
//  CollectorStreamStore.*  the stream-fed store in-process: its joined log and bandit statistics are
//                          a function of the stream prefix (same messages -> same state, however
//                          they are grouped into transactions or interrupted by a restart), a
//                          batch the stream holds twice is applied once, windows close at the
//                          stream's ticks and clock.
//  CollectorMulti.*        3 nats-server nodes (R3 stream) + 3 collectors on loopback, a load
//                          client posting signed batches round-robin with SDK-style retries,
//                          kill -9 of one collector and of one NATS node (the stream leader) under
//                          load: every acknowledged batch is in every collector's joined log and
//                          export exactly once, and every collector serves the same statistics.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "collector_http_util.h"
#include "collector_test_util.h"
#include "disco/collector/auth.h"
#include "disco/collector/batch.h"
#include "disco/collector/server.h"
#include "disco/collector/store.h"

using namespace disco::collector;
using namespace disco::collector::test_util;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {


const std::string kKey = "multi-key";
const std::string kSecret = "multi-secret-0123456789";

// A small deterministic generator for contexts and choices.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
float unit(uint64_t h) { return static_cast<float>(h >> 40) / static_cast<float>(1ull << 24); }

// Batch `k` of sender `sender`: 10 decisions (3 arms, context of 3 floats, some shown, some shown
// later by an activation), outcomes for the previous batch's decisions (some joined within the
// window, some late, some never: default) and activations for some of the previous batch.
Batch make_load_batch(int sender, int k, int64_t ts, int64_t window_ms) {
  Batch b;
  b.sender_id = "load-" + std::to_string(sender);
  b.seq = static_cast<uint64_t>(k);
  b.sent_at_ms = ts;
  auto id_of = [&](int kk, int i) {
    return DecisionId{static_cast<uint64_t>(sender + 1) << 32 | static_cast<uint64_t>(kk + 1), static_cast<uint64_t>(i + 1)};
  };
  for (int i = 0; i < 10; ++i) {
    const uint64_t h = mix(static_cast<uint64_t>(sender) * 1000003 + static_cast<uint64_t>(k) * 101 + static_cast<uint64_t>(i));
    Decision d;
    d.id = id_of(k, i);
    d.ts_ms = ts;
    d.item_id = "sku" + std::to_string(h % 50);
    d.arm = static_cast<uint16_t>(h % 3);
    d.propensity = 0.25 + 0.5 * unit(mix(h));
    d.discount = 0.05 * d.arm;
    d.shown = (h >> 8) % 4 != 0;  // a quarter are shown later, by an activation
    d.price = 10 + (h >> 16) % 40;
    d.cost = d.price * 0.6;
    d.context = {unit(mix(h + 1)), unit(mix(h + 2)) - 0.5f, unit(mix(h + 3)) * 2.0f};
    b.decisions.push_back(d);
  }
  if (k > 0) {
    for (int i = 0; i < 10; ++i) {
      const uint64_t h = mix(static_cast<uint64_t>(sender) * 1000003 + static_cast<uint64_t>(k - 1) * 101 + static_cast<uint64_t>(i));
      if ((h >> 8) % 4 == 0) b.activations.push_back(Activation{id_of(k - 1, i), ts});
      const int kind = static_cast<int>((h >> 24) % 4);  // 0: none (default), 1-2: joined, 3: late
      if (kind == 0) continue;
      const bool late = kind == 3;
      const double price = 10 + (h >> 16) % 40;
      const bool conv = (h >> 32) % 2 == 0;
      // Outcome timestamps are the shopper's: a late one is after its decision's window.
      b.outcomes.push_back(Outcome{id_of(k - 1, i), ts - 30 + (late ? window_ms + 50 : 0), conv, conv ? price : 0,
                                   conv ? price * 0.4 - 0.05 * price : 0});
    }
  }
  return b;
}

// ---- the stream-fed store, in-process ---------------------------------------------------------

StoreOptions stream_opts(const std::string& path) {
  StoreOptions so;
  so.path = path;
  so.stream_fed = true;
  so.reward_window_ms = 1000;
  so.synchronous_full = false;
  return so;
}

// A stream: batches every 20 ms of stream time, a tick every 5 messages, one batch twice (a resend
// after the stream's duplicate window).
std::vector<StreamMessage> make_stream(int n) {
  std::vector<StreamMessage> out;
  const int64_t t0 = 1'700'000'000'000;
  uint64_t seq = 0;
  int k = 0;
  std::map<int, StreamMessage> sent;
  for (int i = 0; i < n; ++i) {
    StreamMessage m;
    m.seq = ++seq;
    m.ts_ms = t0 + i * 20 + (i % 7 == 3 ? -15 : 0);  // a stream clock that steps back now and then
    if (i % 5 == 4) {
      out.push_back(m);  // tick
      continue;
    }
    const int sender = k % 2;
    const int kk = k / 2;
    auto b = std::make_shared<Batch>(make_load_batch(sender, kk, m.ts_ms, 1000));
    m.site = "shop";
    m.batch_id = sha256_hex("shop\n" + encode_json(*b));
    m.batch = b;
    if (k == 7) sent[k] = m;
    out.push_back(m);
    ++k;
    if (k == 30) {  // batch 7 again, as a later stream message with the same batch id
      StreamMessage again = sent[7];
      again.seq = ++seq;
      again.ts_ms = t0 + i * 20 + 1;
      out.push_back(again);
    }
  }
  return out;
}

struct StoreState {
  StreamPosition pos;
  int64_t version = 0;
  std::map<BanditKey, disco::ArmStats> arms;
  std::vector<std::string> decisions;  // every column of the joined log that the join sets
  std::string export_csv;
};

std::string sql_rows(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
    while (sqlite3_step(s) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(s); ++c) {
        const unsigned char* t = sqlite3_column_text(s, c);
        out += t ? reinterpret_cast<const char*>(t) : "NULL";
        out += c + 1 < sqlite3_column_count(s) ? "," : "\n";
      }
    }
  } else {
    out = std::string("<") + sqlite3_errmsg(db) + ">";
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

StoreState state_of(SqliteStore& st, const std::string& dir) {
  StoreState s;
  s.pos = st.stream_position();
  auto snap = st.bandit();
  s.version = snap->version;
  EXPECT_EQ(snap->stream_seq, s.pos.seq);
  for (const auto& [k, e] : snap->arms) s.arms[k] = e->stats;
  const std::string db = dir + "/collector.sqlite";
  s.decisions.push_back(sql_rows(db, "SELECT hex(decision_id), status, closed, quote(reward), late, in_bandit, shown, "
                                     "shown_ts_ms, closed_ms, received_ms FROM decisions ORDER BY seq"));
  s.decisions.push_back(sql_rows(db, "SELECT hex(decision_id), status, received_ms FROM outcomes ORDER BY seq"));
  s.decisions.push_back(sql_rows(db, "SELECT hash, received_ms FROM batches ORDER BY hash"));
  export_joined_csv(dir, dir + "/joined.csv", true);
  s.export_csv = slurp(dir + "/joined.csv");
  return s;
}

void expect_same(const StoreState& a, const StoreState& b, const std::string& what) {
  EXPECT_EQ(a.pos.seq, b.pos.seq) << what;
  EXPECT_EQ(a.pos.clock_ms, b.pos.clock_ms) << what;
  EXPECT_EQ(a.pos.stats_seq, b.pos.stats_seq) << what;
  EXPECT_EQ(a.version, b.version) << what;
  ASSERT_EQ(a.arms.size(), b.arms.size()) << what;
  for (const auto& [k, s] : a.arms) {
    auto it = b.arms.find(k);
    ASSERT_NE(it, b.arms.end()) << what;
    const disco::ArmStats& t = it->second;
    EXPECT_EQ(s.n, t.n) << what;
    EXPECT_EQ(s.reward_sum, t.reward_sum) << what;  // bit for bit: same operations in the same order
    EXPECT_EQ(s.A, t.A) << what;
    EXPECT_EQ(s.b, t.b) << what;
  }
  EXPECT_EQ(a.decisions, b.decisions) << what;
  EXPECT_EQ(a.export_csv, b.export_csv) << what;
}

}  // namespace

TEST(CollectorStreamStore, SameStreamPrefixGivesTheSameStateHoweverItIsApplied) {
  const std::vector<StreamMessage> stream = make_stream(120);
  const std::string root = make_temp_dir("disco-cmulti-store");
  // A: all of it in one transaction.
  StoreState a;
  {
    SqliteStore st(stream_opts(root + "/a/collector.sqlite"));
    StreamApplyCounts c;
    ApplyOutcome o = st.apply_stream(stream, &c);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(c.duplicates, 1u) << "the batch the stream holds twice is applied once";
    EXPECT_EQ(c.ticks, 24u);
    EXPECT_EQ(c.batches, stream.size() - 24 - 1);
    a = state_of(st, root + "/a");
    StoreCounters k = st.counters();
    // The stream exercises every path of the join: joined, late, default (closed at ticks).
    EXPECT_GT(k.joined, 0u);
    EXPECT_GT(k.late, 0u);
    EXPECT_GT(k.defaulted, 0u);
    EXPECT_GT(k.pending, 0u) << "the last windows are still open at the end of the stream";
  }
  EXPECT_EQ(a.pos.seq, stream.back().seq);
  ASSERT_FALSE(a.arms.empty());
  double n = 0;
  for (const auto& [key, s] : a.arms) n += s.n;
  EXPECT_GT(n, 100);
  // B: one message per transaction.
  {
    SqliteStore st(stream_opts(root + "/b/collector.sqlite"));
    for (const StreamMessage& m : stream) ASSERT_TRUE(st.apply_stream({m}).ok);
    expect_same(a, state_of(st, root + "/b"), "one message per transaction");
  }
  // C: groups of 7, a restart (the store closed and opened again) after 50 messages, and the
  // consumer reading again from the start: what is at or below the stored position is skipped.
  {
    {
      SqliteStore st(stream_opts(root + "/c/collector.sqlite"));
      for (size_t i = 0; i < 50; i += 7)
        ASSERT_TRUE(st.apply_stream(std::vector<StreamMessage>(stream.begin() + i, stream.begin() + std::min<size_t>(i + 7, 50))).ok);
      EXPECT_EQ(st.stream_position().seq, stream[49].seq);
    }
    SqliteStore st(stream_opts(root + "/c/collector.sqlite"));
    EXPECT_EQ(st.stream_position().seq, stream[49].seq) << "the position is committed with the rows";
    StreamApplyCounts c;
    ASSERT_TRUE(st.apply_stream(stream, &c).ok);
    EXPECT_EQ(c.skipped, 50u);
    expect_same(a, state_of(st, root + "/c"), "restart in the middle, then read from the start");
  }
  // D: only a prefix: the state at that sequence, which A passed through (its version is older).
  {
    SqliteStore st(stream_opts(root + "/d/collector.sqlite"));
    ASSERT_TRUE(st.apply_stream(std::vector<StreamMessage>(stream.begin(), stream.begin() + 60)).ok);
    StoreState d = state_of(st, root + "/d");
    EXPECT_EQ(d.pos.seq, stream[59].seq);
    EXPECT_LE(d.version, a.version);
    EXPECT_NE(d.export_csv, a.export_csv);
  }
}

TEST(CollectorStreamStore, WindowsCloseAtTheStreamsTicksAndClockNotTheWallClock) {
  const std::string root = make_temp_dir("disco-cmulti-clock");
  SqliteStore st(stream_opts(root + "/collector.sqlite"));
  const int64_t t0 = 1'000'000;  // 1970: the wall clock would have closed every window long ago
  auto b = std::make_shared<Batch>(make_load_batch(0, 0, t0, 1000));
  for (auto& d : b->decisions) d.shown = true;
  ASSERT_TRUE(st.apply_stream({StreamMessage{1, t0, "shop", "batch-0", b}}).ok);
  EXPECT_EQ(st.counters().pending, 10u);
  ASSERT_TRUE(st.apply_stream({StreamMessage{2, t0 + 500, "", "", nullptr}}).ok);  // a tick inside the window
  EXPECT_EQ(st.counters().pending, 10u);
  // A batch after the window closes nothing: windows close at ticks only.
  auto empty = std::make_shared<Batch>();
  empty->sender_id = "x";
  ASSERT_TRUE(st.apply_stream({StreamMessage{3, t0 + 5000, "shop", "batch-1", empty}}).ok);
  EXPECT_EQ(st.counters().pending, 10u);
  ASSERT_TRUE(st.apply_stream({StreamMessage{4, t0 + 5001, "", "", nullptr}}).ok);  // the tick closes them
  StoreCounters c = st.counters();
  EXPECT_EQ(c.pending, 0u);
  EXPECT_EQ(c.defaulted, 10u);
  EXPECT_EQ(sql_rows(root + "/collector.sqlite", "SELECT DISTINCT closed_ms FROM decisions"),
            std::to_string(t0 + 5001) + "\n")
      << "closed at the stream's time";
  double n = 0;
  for (const auto& [k, e] : st.bandit()->arms) n += e->stats.n;
  EXPECT_EQ(n, 10);
  EXPECT_EQ(st.bandit()->version, 4) << "the version is the sequence of the last message that changed the statistics";
  EXPECT_EQ(st.bandit()->stream_seq, 4u);
}

TEST(CollectorStreamStore, RefusesAStoreNotFedByTheStreamAndApplyOutsideIt) {
  const std::string root = make_temp_dir("disco-cmulti-refuse");
  {
    StoreOptions so;
    so.path = root + "/collector.sqlite";
    so.synchronous_full = false;
    SqliteStore st(so);
    ASSERT_TRUE(st.apply("shop", "h1", make_load_batch(0, 0, now_ms(), 1000)).ok);
  }
  try {
    SqliteStore st(stream_opts(root + "/collector.sqlite"));
    FAIL() << "opened a store written with storage = sqlite as a stream-fed one";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("empty data_dir"), std::string::npos) << e.what();
  }
  SqliteStore fresh(stream_opts(root + "/fresh/collector.sqlite"));
  ApplyOutcome o = fresh.apply("shop", "h1", make_load_batch(0, 0, now_ms(), 1000));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("stream"), std::string::npos) << o.error;
}

// ---- the batch id ----------------------------------------------------------------------------

TEST(CollectorBatchId, EveryResendOfABatchHasOneIdInEitherFormat) {
  Batch b = make_load_batch(1, 3, 1'700'000'000'000, 1000);
  Event e;
  e.session_id = "s";
  e.ts_ms = 1'700'000'000'001;
  e.item_id = "sku1";
  e.price = 12.5;
  b.events.push_back(e);
  const std::string id = batch_id("shop", b);
  EXPECT_EQ(id.size(), 64u);
  Batch resent = b;
  resent.sent_at_ms += 4321;  // the SDK stamps each send
  EXPECT_EQ(batch_id("shop", resent), id);
  Batch j, f;
  ParseError pe;
  ASSERT_TRUE(parse_json_batch(encode_json(resent), j, pe)) << pe.message;
  ASSERT_TRUE(parse_flatbuffers_batch(encode_flatbuffers(resent), f, pe)) << pe.message;
  EXPECT_EQ(batch_id("shop", j), id) << "parsed from JSON";
  EXPECT_EQ(batch_id("shop", f), id) << "parsed from FlatBuffers";
  EXPECT_NE(batch_id("other", b), id) << "another site";
  Batch next = b;
  next.seq += 1;
  EXPECT_NE(batch_id("shop", next), id) << "another batch of the sender";
  Batch row = b;
  row.events[0].quantity = 2;
  EXPECT_NE(batch_id("shop", row), id) << "another row";
}

TEST(CollectorBatchId, AResendWithAFreshSentAtIsADuplicateNotNewEvents) {
  const std::string dir = make_temp_dir("disco-cmulti-resend");
  Child proc({DISCO_COLLECTOR_BIN, "serve", "--port", "0", "--data", dir + "/c", "--site",
              "shop:" + kKey + ":" + kSecret},
             dir + "/c.log");
  const int port = wait_listening(proc);
  ASSERT_GT(port, 0) << proc.output();
  httplib::Client c("127.0.0.1", port);
  Batch b = make_load_batch(2, 1, now_ms(), 1000);
  Event e;
  e.session_id = "s";
  e.ts_ms = now_ms();
  e.item_id = "sku1";
  b.events.push_back(e);
  std::vector<std::string> ids;
  std::vector<int> dups;
  for (int i = 0; i < 2; ++i) {
    b.sent_at_ms = now_ms() + i;  // a resend: only sent_at_ms differs
    const std::string body = encode_json(b);
    auto r = c.Post("/v1/events", signed_headers_for(kKey, kSecret, body), body, "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    json j = json::parse(r->body);
    ids.push_back(j["batch"]);
    dups.push_back(j["duplicate"]);
  }
  EXPECT_EQ(ids[0], batch_id("shop", b));
  EXPECT_EQ(ids[1], ids[0]);
  EXPECT_EQ(dups[0], 0);
  EXPECT_EQ(dups[1], static_cast<int>(b.rows()));
  EXPECT_EQ(sql_rows(dir + "/c/collector.sqlite", "SELECT count(*) FROM events"), "1\n") << "events once";
  EXPECT_EQ(sql_rows(dir + "/c/collector.sqlite", "SELECT count(*) FROM batches"), "1\n");
}

// ---- several collectors, one stream, failures under load ---------------------------------------

namespace {

struct Col {
  Child proc;
  int port = 0;
  std::string data;
  int starts = 0;
  void start(const std::string& dir, const std::vector<std::string>& extra) {
    data = dir;
    std::vector<std::string> argv = {DISCO_COLLECTOR_BIN, "serve", "--port", "0", "--data", dir,
                                     "--site", "shop:" + kKey + ":" + kSecret};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc.start(argv, dir + "." + std::to_string(starts++) + ".log");
    port = wait_listening(proc, 600);
  }
  json get(const std::string& path, int* status = nullptr, std::string* header = nullptr) const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(10, 0);
    auto r = c.Get(path, {{"x-disco-key", kKey}});
    if (status) *status = r ? r->status : -1;
    if (header && r) *header = r->get_header_value("X-Disco-Stream-Seq");
    if (!r) return json();
    return json::parse(r->body, nullptr, false);
  }
  std::string metrics() const {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/metrics");
    return r ? r->body : "";
  }
};

uint64_t metric(const std::string& text, const std::string& name) {
  const std::string key = "\n" + name + " ";
  auto p = text.find(key);
  return p == std::string::npos ? 0 : static_cast<uint64_t>(std::stod(text.substr(p + key.size())));
}

std::vector<std::string> sql_column(const std::string& db_path, const std::string& sql) {
  std::vector<std::string> out;
  std::string rows = sql_rows(db_path, sql);
  size_t a = 0;
  for (size_t b; (b = rows.find('\n', a)) != std::string::npos; a = b + 1) out.push_back(rows.substr(a, b - a));
  return out;
}

// The node name ("n0".."n2") that leads the stream, from nats-server's monitoring endpoint; -1 if unknown.
int stream_leader(const std::vector<int>& monitor_ports, const std::vector<bool>& up) {
  for (size_t i = 0; i < monitor_ports.size(); ++i) {
    if (!up[i]) continue;
    httplib::Client c("127.0.0.1", monitor_ports[i]);
    c.set_read_timeout(3, 0);
    auto r = c.Get("/jsz?accounts=true&streams=true");
    if (!r || r->status != 200) continue;
    json j = json::parse(r->body, nullptr, false);
    if (!j.is_object()) continue;
    for (const auto& acc : j.value("account_details", json::array()))
      for (const auto& st : acc.value("stream_detail", json::array()))
        if (st.value("name", "") == "DISCO_EVENTS" && st.contains("cluster")) {
          const std::string leader = st["cluster"].value("leader", "");
          if (leader.size() == 2 && leader[0] == 'n') return leader[1] - '0';
        }
  }
  return -1;
}

}  // namespace

TEST(CollectorMulti, KillOneCollectorAndOneNatsNodeUnderLoadEveryAckedBatchOnceSameState) {
  // The one found at configure time, else the one on PATH (tests/run_if.sh checked it is there).
  std::string nats = DISCO_NATS_SERVER_BIN;
  if (nats.empty() || !std::filesystem::exists(nats)) {
    const char* path = std::getenv("PATH");
    for (std::string p = path ? path : "", d; !p.empty();) {
      const size_t c = p.find(':');
      d = p.substr(0, c);
      p = c == std::string::npos ? "" : p.substr(c + 1);
      if (std::filesystem::exists(d + "/nats-server")) {
        nats = d + "/nats-server";
        break;
      }
    }
  }
  ASSERT_TRUE(std::filesystem::exists(nats)) << "nats-server missing (CTest reports this test skipped then)";
  const std::string dir = make_temp_dir("disco-cmulti");
  const int64_t window_ms = 3000;
  // 3 nodes, one cluster, JetStream on each.
  std::vector<int> cp(3), rp(3), mp(3);
  for (int i = 0; i < 3; ++i) cp[i] = free_port(), rp[i] = free_port(), mp[i] = free_port();
  std::string routes, urls;
  for (int i = 0; i < 3; ++i) {
    routes += (i ? "," : "") + std::string("nats://127.0.0.1:") + std::to_string(rp[i]);
    urls += (i ? "," : "") + std::string("nats://127.0.0.1:") + std::to_string(cp[i]);
  }
  std::vector<std::unique_ptr<Child>> nodes;
  std::vector<bool> up(3, true);
  for (int i = 0; i < 3; ++i) {
    const std::string sd = dir + "/n" + std::to_string(i);
    std::filesystem::create_directories(sd);
    nodes.push_back(std::make_unique<Child>(
        std::vector<std::string>{nats, "-js", "-sd", sd, "-a", "127.0.0.1", "-p", std::to_string(cp[i]), "-m",
                                 std::to_string(mp[i]), "-n", "n" + std::to_string(i), "--cluster_name", "disco",
                                 "--cluster", "nats://127.0.0.1:" + std::to_string(rp[i]), "--routes", routes},
        sd + ".log"));
  }
  std::this_thread::sleep_for(1500ms);  // routes + meta leader election
  const std::vector<std::string> flags = {"--storage", "jetstream", "--nats-urls", urls, "--nats-replicas", "3",
                                          "--reward-window-ms", std::to_string(window_ms), "--sweep-interval-ms", "500",
                                          "--storage-timeout-ms", "15000"};
  std::vector<std::unique_ptr<Col>> cols;
  for (int i = 0; i < 3; ++i) {
    cols.push_back(std::make_unique<Col>());
    cols[i]->start(dir + "/c" + std::to_string(i), flags);
    ASSERT_GT(cols[i]->port, 0) << "collector " << i << " did not start: " << cols[i]->proc.output();
  }
  std::vector<int> ports = {cols[0]->port, cols[1]->port, cols[2]->port};

  // The load: 4 senders, 75 batches each, posted round-robin to the collectors; a refused or
  // unanswered post is retried (re-signed, same body: the same batch id) at the next collector.
  constexpr int kSenders = 4, kBatches = 75;
  struct Sent {
    std::string body, hash;
    std::vector<std::string> decision_ids;
    std::string answered_id;  // the "batch" of the 200 answer
    bool acked = false, dup_answer = false, timed_out = false;
    int attempts = 0;
  };
  std::vector<std::vector<Sent>> sent(kSenders, std::vector<Sent>(kBatches));
  std::atomic<int> done{0};
  std::atomic<uint64_t> max_seq{0};
  std::atomic<int64_t> last_send_ms{0};
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      std::vector<std::unique_ptr<httplib::Client>> cl, impatient;
      for (int p : ports) {
        cl.push_back(std::make_unique<httplib::Client>("127.0.0.1", p));
        cl.back()->set_connection_timeout(1, 0);
        cl.back()->set_read_timeout(20, 0);
        // Gives up before any answer can come: the collector publishes, the client never hears.
        impatient.push_back(std::make_unique<httplib::Client>("127.0.0.1", p));
        impatient.back()->set_connection_timeout(1, 0);
        impatient.back()->set_read_timeout(0, 300);
      }
      for (int k = 0; k < kBatches; ++k) {
        Sent& b = sent[s][k];
        Batch batch = make_load_batch(s, k, now_ms(), window_ms);
        for (const Decision& d : batch.decisions) b.decision_ids.push_back(d.id.hex());
        b.hash = batch_id("shop", batch);
        for (int attempt = 0; attempt < 40 && !b.acked; ++attempt) {
          const int c = (s + k + attempt) % 3;
          // As the SDK does: the same batch, sent_at_ms stamped afresh, re-signed.
          batch.sent_at_ms = now_ms();
          b.body = encode_json(batch);
          const httplib::Headers h = signed_headers_for(kKey, kSecret, b.body);
          b.attempts++;
          last_send_ms = now_ms();
          // Every 8th batch: a client timeout on the first send, so its resend goes to another
          // collector while the first one publishes it too.
          const bool give_up = attempt == 0 && k % 8 == 3;
          auto r = (give_up ? impatient : cl)[c]->Post("/v1/events", h, b.body, "application/json");
          if (give_up) {
            b.timed_out = true;
            if (r && r->status == 200) b.acked = true;  // answered anyway (within 0.3 ms)
            continue;
          }
          if (r && r->status == 200) {
            json j = json::parse(r->body, nullptr, false);
            if (j.is_object()) {
              b.acked = true;
              b.answered_id = j.value("batch", "");
              b.dup_answer = j.value("duplicate", 0) > 0;
              uint64_t seq = j.value("stream_seq", uint64_t{0}), m = max_seq.load();
              while (seq > m && !max_seq.compare_exchange_weak(m, seq)) {
              }
            }
          } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50 * (attempt + 1), 500)));
          }
        }
        done++;
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  const int total = kSenders * kBatches;
  while (done < total / 3) std::this_thread::sleep_for(5ms);
  cols[0]->proc.kill9();  // a collector dies under load: its in-flight posts are retried elsewhere
  const int killed_at = done;
  while (done < 2 * total / 3) std::this_thread::sleep_for(5ms);
  int leader = stream_leader(mp, up);
  const int stopped = leader >= 0 ? leader : 1;
  nodes[stopped]->kill9();  // the stream leader (when found): a new one is elected, R3 keeps a quorum
  up[stopped] = false;
  const int stopped_at = done;
  for (auto& t : senders) t.join();

  // The killed collector comes back on its data dir and reads on from its committed position.
  cols[0]->start(cols[0]->data, flags);
  ASSERT_GT(cols[0]->port, 0) << cols[0]->proc.output();

  // Every collector reads the stream up to the last acknowledged batch, and every reward window
  // has closed (a tick at least one window after the last send).
  const uint64_t target = max_seq.load();
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  std::vector<uint64_t> seqs(3, 0);
  for (;;) {
    for (int i = 0; i < 3; ++i) seqs[i] = cols[i]->get("/healthz").value("stream_seq", uint64_t{0});
    bool caught_up = seqs[0] >= target && seqs[1] >= target && seqs[2] >= target;
    if (caught_up && now_ms() > last_send_ms + window_ms + 2000) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "collectors at stream_seq " << seqs[0] << ", " << seqs[1] << ", " << seqs[2] << " of " << target;
    std::this_thread::sleep_for(200ms);
  }

  // The same statistics from every collector, at the same stream sequence.
  std::vector<json> states(3);
  bool same_seq = false;
  for (int attempt = 0; attempt < 200 && !same_seq; ++attempt) {
    for (int i = 0; i < 3; ++i) {
      int status = 0;
      std::string hdr;
      states[i] = cols[i]->get("/v1/bandit-state?dim=3", &status, &hdr);
      ASSERT_EQ(status, 200) << "collector " << i;
      ASSERT_EQ(hdr, std::to_string(states[i].value("stream_seq", uint64_t{0})));
    }
    same_seq = states[0]["stream_seq"] == states[1]["stream_seq"] && states[1]["stream_seq"] == states[2]["stream_seq"];
    if (!same_seq) std::this_thread::sleep_for(37ms);
  }
  ASSERT_TRUE(same_seq) << "never read the three collectors at one stream sequence";
  ASSERT_TRUE(states[0]["arms"].is_array());
  EXPECT_EQ(states[0]["arms"].size(), 3u) << states[0].dump();
  double n = 0;
  for (const auto& a : states[0]["arms"]) n += a.value("n", 0.0);
  EXPECT_GT(n, 0);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(states[i]["version"], states[0]["version"]) << "collector " << i;
    EXPECT_EQ(states[i]["arms"], states[0]["arms"]) << "collector " << i << " serves other statistics";
  }

  // Every acknowledged batch is in every collector's joined log exactly once.
  std::set<std::string> sent_hashes, acked_hashes, retried_hashes;
  std::map<std::string, const Sent*> by_hash;
  int retried = 0, attempts = 0, dup_answers = 0, timed_out = 0;
  for (const auto& v : sent)
    for (const Sent& b : v) {
      sent_hashes.insert(b.hash);
      by_hash[b.hash] = &b;
      if (b.acked) acked_hashes.insert(b.hash);
      if (!b.answered_id.empty()) EXPECT_EQ(b.answered_id, b.hash) << "the batch id the collector answered";
      if (b.attempts > 1) retried++, retried_hashes.insert(b.hash);
      attempts += b.attempts;
      dup_answers += b.dup_answer;
      timed_out += b.timed_out;
    }
  const std::string mt1 = cols[1]->metrics(), mt2 = cols[2]->metrics();
  const uint64_t stream_dups = metric(mt1, "disco_collector_jetstream_duplicate_batches_total");
  EXPECT_EQ(metric(mt2, "disco_collector_jetstream_duplicate_batches_total"), stream_dups);
  size_t in_log = 0;
  int unacked_in_log = 0;
  for (int i = 0; i < 3; ++i) {
    const std::string db = cols[i]->data + "/collector.sqlite";
    const std::vector<std::string> hashes = sql_column(db, "SELECT hash FROM batches");
    const std::set<std::string> log(hashes.begin(), hashes.end());
    const std::vector<std::string> ids = sql_column(db, "SELECT lower(hex(decision_id)) FROM decisions");
    const std::set<std::string> id_set(ids.begin(), ids.end());
    EXPECT_EQ(log.size(), hashes.size());
    EXPECT_EQ(ids.size(), 10 * log.size()) << "collector " << i << ": decisions of the batches in its log, once each";
    EXPECT_EQ(id_set.size(), ids.size());
    for (const std::string& h : acked_hashes) {
      EXPECT_TRUE(log.count(h)) << "collector " << i << ": acknowledged batch " << h << " is not in its log";
      for (const std::string& d : by_hash[h]->decision_ids)
        EXPECT_TRUE(id_set.count(d)) << "collector " << i << ": decision " << d << " of an acknowledged batch missing";
    }
    int unacked = 0;
    for (const std::string& h : log) {
      EXPECT_TRUE(sent_hashes.count(h)) << "collector " << i << ": a batch nobody sent: " << h;
      if (!acked_hashes.count(h)) {
        unacked++;
        EXPECT_TRUE(retried_hashes.count(h)) << "unacknowledged batch in the log that was never retried: " << h;
      }
    }
    if (i == 1) in_log = log.size(), unacked_in_log = unacked;
    EXPECT_EQ(log.size(), in_log ? in_log : log.size()) << "collector " << i;
  }
  std::printf("multicol: sent %zu, acked %zu, retried %d (%d posts in all, %d first sends abandoned, %d answered 'already in "
              "the stream'), in log %zu (unacknowledged %d), stream duplicates %llu; collector 0 killed after %d batches, "
              "NATS node n%d (%s) after %d; stream_seq %s, bandit n %.0f\n",
              sent_hashes.size(), acked_hashes.size(), retried, attempts, timed_out, dup_answers, in_log, unacked_in_log,
              static_cast<unsigned long long>(stream_dups), killed_at, stopped, leader >= 0 ? "stream leader" : "leader unknown",
              stopped_at, states[0]["stream_seq"].dump().c_str(), n);
  EXPECT_EQ(acked_hashes.size(), sent_hashes.size()) << "with retries every batch should be acknowledged";
  // Within the stream's 2-minute duplicate window a resend (same batch id) is never stored twice,
  // though the SDK stamps its sent_at_ms afresh and it went to another collector.
  EXPECT_EQ(stream_dups, 0u) << "a resend stored twice in the stream";
  EXPECT_LE(dup_answers, retried) << "only a resend can be 'already in the stream'";
  EXPECT_GT(dup_answers, 0) << "no resend of a batch already published was exercised";

  // The export (the training set) is the same from every collector and holds each decision once.
  for (auto& c : cols) EXPECT_EQ(c->proc.terminate(), 0) << c->proc.output();
  std::vector<std::string> csv(3);
  for (int i = 0; i < 3; ++i) {
    export_joined_csv(cols[i]->data, cols[i]->data + "/joined.csv", true);
    csv[i] = slurp(cols[i]->data + "/joined.csv");
  }
  EXPECT_EQ(csv[1], csv[0]);
  EXPECT_EQ(csv[2], csv[0]);
  std::set<std::string> exported;
  size_t lines = 0;
  for (size_t a = csv[0].find('\n') + 1, b; (b = csv[0].find('\n', a)) != std::string::npos; a = b + 1, ++lines)
    exported.insert(csv[0].substr(a, csv[0].find(',', a) - a));
  EXPECT_EQ(lines, 10 * in_log);
  EXPECT_EQ(exported.size(), lines) << "a decision exported twice";
}

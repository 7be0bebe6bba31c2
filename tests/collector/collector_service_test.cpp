// The real disco-collector binary over loopback: status codes for bad input, slow bodies,
// bounded memory, kill -9 under load, bundle/static serving, export, and (when nats-server is
// installed) a 3-node JetStream cluster that loses a node while the collector keeps accepting.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <vector>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <thread>

#include "disco/collector/auth.h"
#include "disco/collector/batch.h"
#include "collector_http_util.h"
#include "collector_test_util.h"

using namespace disco::collector;
using namespace disco::collector::test_util;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kKey = "test-key";
const std::string kSecret = "test-secret-0123456789";


std::string tmpdir(const std::string& name) { return make_temp_dir("disco-csvc-" + name); }

struct Collector : ServedCollector {
  void start(const std::string& data_dir, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--site", "shop:" + kKey + ":" + kSecret});
    ASSERT_TRUE(ServedCollector::start(DISCO_COLLECTOR_BIN, data_dir, extra)) << "collector did not start: " << proc.output();
  }
};

httplib::Headers signed_headers(const std::string& body, int64_t ts = 0, const std::string& secret = kSecret,
                                const std::string& key = kKey) {
  return signed_headers_for(key, secret, body, ts);
}

httplib::Result post(httplib::Client& c, const std::string& body, const std::string& ctype = "application/json",
                     httplib::Headers h = {}) {
  if (h.empty()) h = signed_headers(body);
  return c.Post("/v1/events", h, body, ctype.c_str());
}

DecisionId make_id(uint64_t a, uint64_t b) { return {a + 1, b + 1}; }

Batch make_batch(uint64_t batch_no, int n, int64_t ts) {
  Batch b;
  b.sender_id = "test";
  b.seq = batch_no;
  b.sent_at_ms = ts;
  for (int i = 0; i < n; ++i) {
    Decision d;
    d.id = make_id(batch_no, static_cast<uint64_t>(i));
    d.ts_ms = ts;
    d.item_id = "sku";
    d.arm = static_cast<uint16_t>(i % 3);
    d.propensity = 0.5;
    d.shown = true;
    d.price = 10;
    d.context = {1.0f, 0.5f};
    b.decisions.push_back(d);
    b.outcomes.push_back(Outcome{d.id, ts + 1, i % 2 == 0, 10, 2});
  }
  return b;
}

std::string error_field(const httplib::Result& r) {
  if (!r) return "<no response>";
  auto j = json::parse(r->body, nullptr, false);
  return j.is_object() && j.contains("field") ? j["field"].get<std::string>() : "";
}

int64_t sql_count(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

}  // namespace

TEST(CollectorService, EachBadRequestGetsItsStatusAndTheServerStaysUp) {
  Collector col;
  col.start(tmpdir("status"), {"--max-body-bytes", "65536", "--max-rows", "50"});
  auto c = col.client();
  std::string good = encode_json(make_batch(1, 2, now_ms()));

  auto r = post(c, good);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;

  r = post(c, "{\"sender_id\": ");  // malformed JSON
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("malformed JSON"), std::string::npos) << r->body;

  std::string wrong = R"({"sender_id":"e","outcomes":[{"decision_id":"0123456789abcdef0123456789abcdef","ts_ms":"yesterday","converted":true}]})";
  r = post(c, wrong);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(error_field(r), "outcomes[0].ts_ms");

  r = post(c, encode_json(make_batch(2, 40, now_ms())));  // 80 rows > max_rows 50
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;

  std::string huge(200000, ' ');
  r = post(c, huge);  // > max_body_bytes
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);

  r = post(c, good, "application/xml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);

  r = post(c, good, "application/json", signed_headers(good, 0, "wrong-secret-0123456789"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(error_field(r), "x-disco-signature");

  r = post(c, good, "application/json", signed_headers(good, 0, kSecret, "nobody"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(error_field(r), "x-disco-key");

  r = post(c, good, "application/json", signed_headers(good, now_ms() - 10 * 60 * 1000));  // stale
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(error_field(r), "x-disco-timestamp");

  std::string fresh = encode_json(make_batch(3, 2, now_ms()));
  auto h = signed_headers(fresh);
  r = post(c, fresh, "application/json", h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = post(c, fresh, "application/json", h);  // the same signed request again
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);

  // Outcomes for unknown decisions are accepted and counted as orphans.
  Batch orphan;
  orphan.sender_id = "t";
  orphan.outcomes.push_back(Outcome{make_id(999, 1), now_ms(), true, 5, 1});
  r = post(c, encode_json(orphan));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["orphans"], 1);

  // FlatBuffers: accepted, and a corrupt one refused.
  std::string fb = encode_flatbuffers(make_batch(4, 3, now_ms()));
  r = post(c, fb, "application/x-flatbuffers");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["decisions"]["accepted"], 3);
  r = post(c, fb.substr(0, fb.size() - 9), "application/x-flatbuffers");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);

  // A beacon: auth in the query string, text/plain body (navigator.sendBeacon cannot set headers).
  {
    std::string beacon = encode_json(make_batch(5, 1, now_ms()));
    auto bh = signed_headers(beacon);
    std::string q = "/v1/events?disco_key=" + kKey + "&disco_ts=" + bh.find("x-disco-timestamp")->second +
                    "&disco_sig=" + bh.find("x-disco-signature")->second;
    r = c.Post(q.c_str(), beacon, "text/plain;charset=UTF-8");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "*");
  }
  r = c.Options("/v1/events");  // CORS preflight
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_NE(r->get_header_value("Access-Control-Allow-Headers").find("X-Disco-Signature"), std::string::npos);

  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  for (const char* want : {"disco_collector_rejects_total{reason=\"bad_signature\"} 1",
                           "disco_collector_rejects_total{reason=\"replay\"} 1",
                           "disco_collector_rejects_total{reason=\"too_many_rows\"} 1",
                           "disco_collector_orphans_total 1",
                           "disco_collector_storage_commit_seconds_count"})
    EXPECT_NE(r->body.find(want), std::string::npos) << want << "\n" << r->body;
  EXPECT_TRUE(col.proc.alive());
}

TEST(CollectorService, ResendIsIdempotentAndBanditStateHasVersionAndETag) {
  Collector col;
  col.start(tmpdir("idem"));
  auto c = col.client();
  std::string body = encode_json(make_batch(10, 6, now_ms()));
  auto r1 = post(c, body);
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->status, 200);
  EXPECT_EQ(json::parse(r1->body)["accepted"], 12);
  auto r2 = post(c, body);  // re-signed with a new timestamp: not a replay, but all duplicates
  ASSERT_TRUE(r2);
  ASSERT_EQ(r2->status, 200);
  EXPECT_EQ(json::parse(r2->body)["accepted"], 0);
  EXPECT_EQ(json::parse(r2->body)["duplicate"], 12);

  auto s = c.Get("/v1/bandit-state", httplib::Headers{{"x-disco-key", kKey}});
  ASSERT_TRUE(s);
  ASSERT_EQ(s->status, 200);
  json st = json::parse(s->body);
  EXPECT_GE(st["version"].get<int64_t>(), 1);
  uint64_t n = 0;
  for (auto& a : st["arms"]) n += a["n"].get<uint64_t>();
  EXPECT_EQ(n, 6u);
  auto etag = s->get_header_value("ETag");
  auto s2 = c.Get("/v1/bandit-state", httplib::Headers{{"x-disco-key", kKey}, {"If-None-Match", etag}});
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->status, 304);
  auto s3 = c.Get("/v1/bandit-state");
  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->status, 401);
}

TEST(CollectorService, SlowBodyIsCutOffAndOthersAreServed) {
  Collector col;
  col.start(tmpdir("slow"), {"--body-timeout-ms", "1500", "--read-timeout-ms", "1000"});
  auto slow_client = [&](int64_t gap_ms, int bytes, std::string* answer) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(col.port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string head = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    for (int i = 0; i < bytes; ++i) {
      if (send(fd, " ", 1, MSG_NOSIGNAL) <= 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
    }
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) > 0) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n > 0) answer->assign(buf, static_cast<size_t>(n));
    }
    close(fd);
  };
  auto t0 = std::chrono::steady_clock::now();
  std::string dribble, stalled;
  // One sends a byte every 300 ms (under the read timeout, over the body deadline); one stalls.
  std::thread t1(slow_client, 300, 30, &dribble);
  std::thread t2(slow_client, 100, 3, &stalled);
  // Meanwhile the service answers others.
  auto c = col.client();
  for (int i = 0; i < 5; ++i) {
    std::string body = encode_json(make_batch(100 + static_cast<uint64_t>(i), 2, now_ms()));
    auto r = post(c, body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  t1.join();
  t2.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(dribble.find(" 408 "), std::string::npos) << "dribbling client got: " << dribble;
  // The stalled one hits the read timeout: 408 or a closed connection, never a hang.
  EXPECT_TRUE(stalled.empty() || stalled.find(" 408 ") != std::string::npos) << stalled;
  EXPECT_LT(secs, 12.0);
  EXPECT_TRUE(col.proc.alive());
}

TEST(CollectorService, MemoryStaysBoundedUnderBadTraffic) {
  Collector col;
  col.start(tmpdir("mem"), {"--max-body-bytes", "1048576"});
  auto c = col.client();
  std::string big(900 * 1024, 'x');  // under the size limit: read fully, then refused (401/400)
  std::string huge(4 * 1024 * 1024, 'x');
  std::string bad_json = "{\"sender_id\":\"a\",\"decisions\":[" + std::string(100000, '[');
  long rss_after_warmup = 0;
  for (int round = 0; round < 150; ++round) {
    post(c, big, "application/json", signed_headers(big, 0, "wrong-secret-0123456789"));
    post(c, huge);
    post(c, bad_json);
    if (round == 30) rss_after_warmup = col.proc.rss_kb();
  }
  long rss = col.proc.rss_kb();
  std::printf("collector RSS: %ld kB after 30 rounds of bad traffic, %ld kB after 150\n", rss_after_warmup, rss);
  EXPECT_TRUE(col.proc.alive());
  ASSERT_GT(rss_after_warmup, 0);
  EXPECT_LT(rss, rss_after_warmup + 64 * 1024) << "RSS grew from " << rss_after_warmup << " kB to " << rss << " kB";
#if defined(__SANITIZE_ADDRESS__)
  const long bound_kb = 1024 * 1024;  // ASan's quarantine keeps up to 256 MB of freed memory
#else
  const long bound_kb = 512 * 1024;
#endif
  EXPECT_LT(rss, bound_kb) << "RSS " << rss << " kB";
}

TEST(CollectorService, KillNineUnderLoadLosesNothingAcknowledged) {
  std::string dir = tmpdir("kill9");
  Collector col;
  col.start(dir);
  std::mutex mu;
  std::vector<uint64_t> acked;  // batch numbers answered 200
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> next{1};
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&] {
      httplib::Client c("127.0.0.1", col.port);
      c.set_read_timeout(10, 0);
      while (!stop) {
        uint64_t k = next++;
        std::string body = encode_json(make_batch(k, 20, now_ms()));
        auto r = post(c, body);
        if (r && r->status == 200) {
          std::lock_guard<std::mutex> lk(mu);
          acked.push_back(k);
        } else if (!r) {
          break;  // the server is gone
        }
      }
    });
  }
  std::this_thread::sleep_for(1500ms);
  col.proc.kill9();  // mid-flight
  stop = true;
  for (auto& t : senders) t.join();
  ASSERT_GT(acked.size(), 10u) << "too little load before the kill";

  Collector again;
  again.start(dir);  // restart on the same data
  std::string db = dir + "/collector.sqlite";
  // Every acknowledged batch is there, exactly once per decision id (the primary key), joined.
  int64_t decisions = sql_count(db, "SELECT count(*) FROM decisions");
  int64_t outcomes = sql_count(db, "SELECT count(*) FROM decisions WHERE outcome_ts_ms IS NOT NULL");  // each on its decision
  EXPECT_GE(decisions, static_cast<int64_t>(acked.size()) * 20);
  EXPECT_EQ(decisions, outcomes);
  for (uint64_t k : acked) {
    Batch b = make_batch(k, 20, 0);
    std::string first = b.decisions.front().id.hex(), last = b.decisions.back().id.hex();
    int64_t n = sql_count(db, "SELECT count(*) FROM decisions WHERE decision_id IN (x'" + first + "', x'" + last +
                                  "') AND status=1");
    ASSERT_EQ(n, 2) << "acknowledged batch " << k << " is missing after kill -9";
  }
  // Resending every acknowledged batch now changes nothing.
  auto c = again.client();
  for (size_t i = 0; i < acked.size() && i < 50; ++i) {
    auto r = post(c, encode_json(make_batch(acked[i], 20, now_ms())));
    ASSERT_TRUE(r) << "resend " << i << ": " << httplib::to_string(r.error()) << "\n" << again.proc.output();
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(json::parse(r->body)["accepted"], 0);
  }
  EXPECT_EQ(sql_count(db, "SELECT count(*) FROM decisions"), decisions);
}

TEST(CollectorService, BundleETagStaticFilesAndExport) {
  std::string dir = tmpdir("serve");
  std::string www = dir + "-www";
  std::filesystem::create_directories(www);
  { std::ofstream(www + "/index.html") << "<html>shop</html>"; }
  { std::ofstream(www + "/disco.wasm", std::ios::binary) << std::string("\0asm\1\0\0\0", 8); }
  Collector col;
  col.start(dir, {"--static-dir", www, "--reward-window-ms", "200", "--sweep-interval-ms", "50"});
  auto c = col.client();
  auto r = c.Get("/v1/bundle");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  { std::ofstream(dir + "/bundle.disco", std::ios::binary) << "bundle-v1"; }
  r = c.Get("/v1/bundle");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "bundle-v1");
  std::string etag = r->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  r = c.Get("/v1/bundle", httplib::Headers{{"If-None-Match", etag}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 304);
  EXPECT_TRUE(r->body.empty());
  { std::ofstream(dir + "/bundle.disco", std::ios::binary) << "bundle-v2!"; }
  r = c.Get("/v1/bundle", httplib::Headers{{"If-None-Match", etag}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("ETag"), etag);

  r = c.Get("/disco.wasm");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/wasm");
  EXPECT_NE(r->get_header_value("Cache-Control").find("max-age"), std::string::npos);
  r = c.Get("/index.html");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache");

  // Two decisions: one converts, one gets the default reward when the 200 ms window closes.
  Batch b = make_batch(77, 2, now_ms());
  b.outcomes.pop_back();
  auto p = post(c, encode_json(b));
  ASSERT_TRUE(p);
  ASSERT_EQ(p->status, 200);
  std::this_thread::sleep_for(600ms);
  std::string csv = dir + "/joined.csv";
  Child ex({DISCO_COLLECTOR_BIN, "export", "--data", dir, "--out", csv}, dir + "-export.log");
  int st = 0;
  waitpid(ex.pid, &st, 0);
  ex.pid = -1;
  ASSERT_EQ(WEXITSTATUS(st), 0) << ex.output();
  std::ifstream in(csv);
  std::string header, l1, l2, l3;
  std::getline(in, header);
  std::getline(in, l1);
  std::getline(in, l2);
  EXPECT_FALSE(std::getline(in, l3));
  EXPECT_EQ(header.rfind("decision_id,ts,user_id,item_id,arm,discount,propensity", 0), 0u);
  std::string both = l1 + "\n" + l2;
  EXPECT_NE(both.find(",joined,"), std::string::npos) << both;
  EXPECT_NE(both.find(",default,"), std::string::npos) << both;
}

// ---- JetStream ------------------------------------------------------------------------------

TEST(CollectorJetStream, KeepsAcceptingWhileOneOfThreeNodesIsDown) {
  std::string nats = DISCO_NATS_SERVER_BIN;
  if (nats.empty() || !std::filesystem::exists(nats))
    GTEST_SKIP() << "nats-server is not installed (scripts/setup.sh installs it): JetStream cluster test skipped";
  std::string dir = tmpdir("js");
  int cp[3], rp[3];
  for (int i = 0; i < 3; ++i) {
    cp[i] = free_port();
    rp[i] = free_port();
  }
  std::string routes;
  for (int i = 0; i < 3; ++i) routes += (i ? "," : "") + std::string("nats://127.0.0.1:") + std::to_string(rp[i]);
  std::vector<std::unique_ptr<Child>> nodes;
  for (int i = 0; i < 3; ++i) {
    std::string sd = dir + "/n" + std::to_string(i);
    std::filesystem::create_directories(sd);
    nodes.push_back(std::make_unique<Child>(
        std::vector<std::string>{nats, "-js", "-sd", sd, "-a", "127.0.0.1", "-p", std::to_string(cp[i]),
                                 "-n", "n" + std::to_string(i), "--cluster_name", "disco",
                                 "--cluster", "nats://127.0.0.1:" + std::to_string(rp[i]), "--routes", routes},
        sd + ".log"));
  }
  std::string urls;
  for (int i = 0; i < 3; ++i) urls += (i ? "," : "") + std::string("nats://127.0.0.1:") + std::to_string(cp[i]);
  std::this_thread::sleep_for(1500ms);  // routes + meta leader election
  Collector col;
  col.start(dir + "/collector", {"--storage", "jetstream", "--nats-urls", urls, "--nats-replicas", "3"});
  auto c = col.client();
  std::set<uint64_t> acked;
  std::map<uint64_t, std::string> bodies;
  auto send = [&](uint64_t k) {
    std::string body = encode_json(make_batch(k, 10, now_ms()));
    bodies[k] = body;
    for (int attempt = 0; attempt < 3; ++attempt) {  // an SDK retries with a fresh signature
      auto r = post(c, body);
      if (r && r->status == 200) {
        acked.insert(k);
        return true;
      }
    }
    return false;
  };
  for (uint64_t k = 1; k <= 20; ++k) ASSERT_TRUE(send(k)) << "before the node stop";
  nodes[1]->kill9();  // one of three down: the R3 stream keeps its quorum
  for (uint64_t k = 21; k <= 60; ++k) EXPECT_TRUE(send(k)) << "batch " << k << " refused with a node down";
  // A resent batch is a JetStream duplicate (same message id) and changes nothing.
  auto r = post(c, bodies[5]);  // the same bytes, signed afresh
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["duplicate"], 20) << r->body;
  // The joiner builds the joined log from the stream: every acknowledged batch arrives once.
  std::string db = dir + "/collector/collector.sqlite";
  int64_t n = 0;
  // (If the reader's consumer lived on the killed node, it is made again after 2 s without progress.)
  for (int i = 0; i < 200; ++i) {
    n = sql_count(db, "SELECT count(*) FROM decisions WHERE status=1");
    if (n >= static_cast<int64_t>(acked.size()) * 10) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(n, static_cast<int64_t>(acked.size()) * 10);
  EXPECT_EQ(acked.size(), 60u);
}

// A browser page's (write-key) outcomes with storage = jetstream: published with the batch and kept
// apart by the stream reader (table reported_outcomes), never joined, exactly as with sqlite
// (before: counted stored="no" and dropped). One nats-server node, R1.
TEST(CollectorJetStream, WriteKeyOutcomesAreStoredApartFromTheStream) {
  std::string nats = DISCO_NATS_SERVER_BIN;
  if (nats.empty() || !std::filesystem::exists(nats))
    GTEST_SKIP() << "nats-server is not installed (scripts/setup.sh installs it): JetStream test skipped";
  std::string dir = tmpdir("js-wk");
  const int port = free_port();
  std::filesystem::create_directories(dir + "/n0");
  Child node({nats, "-js", "-sd", dir + "/n0", "-a", "127.0.0.1", "-p", std::to_string(port)}, dir + "/n0.log");
  const std::string origin = "http://shop.test";
  Collector col;
  col.start(dir + "/collector", {"--storage", "jetstream", "--nats-urls", "nats://127.0.0.1:" + std::to_string(port),
                                 "--nats-replicas", "1", "--write-key", "shop:wk-public:" + origin,
                                 "--reward-window-ms", "600000"});
  auto c = col.client();
  // The store's server decides (signed): two shown decisions.
  const int64_t t = now_ms();
  Batch server = make_batch(1, 2, t);
  server.outcomes.clear();
  auto r = post(c, encode_json(server));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  // The page reports a huge margin for the first one, and decides a third one itself.
  Batch page;
  page.sender_id = "page";
  page.seq = 1;
  page.sent_at_ms = t;
  page.outcomes.push_back(Outcome{server.decisions[0].id, t + 10, true, 1e6, 1e6});
  Decision d3 = server.decisions[1];
  d3.id = make_id(9, 9);
  page.decisions.push_back(d3);
  page.outcomes.push_back(Outcome{d3.id, t + 20, true, 5e5, 5e5});
  const httplib::Headers ph{{"X-Disco-Write-Key", "wk-public"}, {"Origin", origin}};
  for (bool fb : {false, true}) {  // both wire forms (the second a resend: a stream duplicate)
    r = c.Post("/v1/events", ph, fb ? encode_flatbuffers(page) : encode_json(page),
               fb ? "application/x-flatbuffers" : "text/plain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  const std::string db = dir + "/collector/collector.sqlite";
  int64_t reported = 0;
  for (int i = 0; i < 100 && reported < 2; ++i) {
    std::this_thread::sleep_for(100ms);
    reported = sql_count(db, "SELECT count(*) FROM reported_outcomes");
  }
  EXPECT_EQ(reported, 2) << "the page's outcomes did not reach the reported_outcomes table: " << col.proc.output();
  EXPECT_EQ(sql_count(db, "SELECT count(*) FROM decisions"), 3);
  EXPECT_EQ(sql_count(db, "SELECT count(*) FROM outcomes"), 0) << "a page's outcome became a reward";
  EXPECT_EQ(sql_count(db, "SELECT count(*) FROM decisions WHERE outcome_ts_ms IS NOT NULL"), 0) << "a page's outcome joined";
  EXPECT_EQ(sql_count(db, "SELECT count(*) FROM decisions WHERE status != 0"), 0) << "a page's outcome joined";
  EXPECT_EQ(sql_count(db, "SELECT count(*) FROM reported_outcomes WHERE margin = 1e6"), 1);
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("disco_collector_reported_outcomes_total{stored=\"stream\"} 4"), std::string::npos) << m->body;
  EXPECT_EQ(m->body.find("disco_collector_jetstream_bad_messages_total"), std::string::npos) << m->body;
}

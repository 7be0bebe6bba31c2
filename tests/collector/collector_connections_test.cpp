// The real disco-collector binary over loopback under connection abuse (collector/README.md
// "Connections"): 1,000 idle, slow-header (slowloris) and slow-body connections must not stop a
// well-behaved client from getting 200s at the rate it gets without them, and the collector's
// memory stays bounded; the limits are settings (503 beyond max_connections, 431, 408, idle close)
// and the request framing the front reads (chunked, Expect: 100-continue, pipelining) works.
// DISCO_CONNECTIONS_TEST_BIN=path runs the same checks against another collector binary (to show
// they fail against one that gives each connection a worker thread).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "collector_http_util.h"
#include "collector_test_util.h"
#include "disco/collector/auth.h"
#include "disco/collector/batch.h"

using namespace disco::collector;
using namespace disco::collector::test_util;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kKey = "conn-key";
const std::string kSecret = "conn-secret-0123456789";


std::string collector_bin() {
  const char* o = std::getenv("DISCO_CONNECTIONS_TEST_BIN");
  return o && *o ? o : DISCO_COLLECTOR_BIN;
}

// Raises this process's open-file limit (the test holds ~1,000 sockets, the collector as many:
// it raises its own). Returns the soft limit now.
rlim_t raise_fd_limit(rlim_t want) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

struct Collector : ServedCollector {
  void start(const std::string& name, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--site", "shop:" + kKey + ":" + kSecret, "--sqlite-synchronous", "normal"});
    ASSERT_TRUE(ServedCollector::start(collector_bin(), make_temp_dir("disco-conn-" + name), extra))
        << "collector did not start: " << proc.output();
  }
};

std::string batch_body(uint64_t seq) {
  Batch b;
  b.sender_id = "conn-test";
  b.seq = seq;
  b.sent_at_ms = now_ms();
  for (int i = 0; i < 2; ++i) {
    Decision d;
    d.id = {seq + 1, static_cast<uint64_t>(i) + 1};
    d.ts_ms = b.sent_at_ms;
    d.item_id = "sku";
    d.arm = static_cast<uint16_t>(i);
    d.propensity = 0.5;
    d.shown = true;
    d.price = 10;
    d.context = {1.0f, 0.5f};
    b.decisions.push_back(d);
  }
  return encode_json(b);
}

httplib::Headers signed_headers(const std::string& body) {
  return signed_headers_for(kKey, kSecret, body);
}

std::atomic<uint64_t> g_seq{1};

struct Rate {
  int ok = 0, failed = 0;
  double secs = 0;
  double per_s() const { return secs > 0 ? ok / secs : 0; }
};

// A well-behaved client: one keep-alive connection posting signed batches back to back.
Rate good_client(int port, double seconds) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(2, 0);
  c.set_write_timeout(2, 0);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);  // headers and body leave at once (else Nagle + delayed ACK: 40 ms each)
  Rate r;
  auto t0 = Clock::now();
  while ((r.secs = std::chrono::duration<double>(Clock::now() - t0).count()) < seconds) {
    std::string body = batch_body(g_seq++ * 1000);
    auto res = c.Post("/v1/events", signed_headers(body), body, "application/json");
    if (res && res->status == 200) ++r.ok;
    else ++r.failed;
  }
  return r;
}

// Batches on a fresh connection each (browsers' beacons): how many of `n` got 200.
int fresh_connections(int port, int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(2, 0);
    c.set_tcp_nodelay(true);
    std::string body = batch_body(g_seq++ * 1000);
    auto res = c.Post("/v1/events", signed_headers(body), body, "application/json");
    if (res && res->status == 200) ++ok;
  }
  return ok;
}

int connect_nb(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// Blocking loopback connection with a receive timeout.
int connect_blocking(int port, int timeout_ms = 3000) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_str(int fd, const std::string& s) { (void)send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

// Reads until the peer closes, `want` is seen, or the receive timeout.
std::string recv_until(int fd, const std::string& want = "", int timeout_ms = 3000) {
  std::string out;
  char buf[4096];
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (poll(&p, 1, std::max(1, left)) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (!want.empty() && out.find(want) != std::string::npos) break;
  }
  return out;
}

// 1,000 abusive connections, kept open (reconnected when the collector drops one): a third idle,
// a third sending a never-ending header block one byte a second, a third sending a 100 kB body one
// byte a second.
class Attack {
 public:
  Attack(int port, int n) : port_(port), conns_(static_cast<size_t>(n)) {}
  ~Attack() { stop(); }
  void start() { th_ = std::thread([this] { loop(); }); }
  void stop() {
    run_ = false;
    if (th_.joinable()) th_.join();
    for (auto& c : conns_)
      if (c.fd >= 0) close(c.fd), c.fd = -1;
  }
  int open() const { return open_.load(); }
  int reconnects() const { return reconnects_.load(); }

 private:
  struct C {
    int fd = -1;
    size_t sent = 0;
    Clock::time_point next;
  };
  void loop() {
    const std::string slow_head = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    const std::string body_head =
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
    char sink[4096];
    while (run_) {
      auto now = Clock::now();
      int open = 0;
      for (size_t i = 0; i < conns_.size(); ++i) {
        C& c = conns_[i];
        int kind = static_cast<int>(i % 3);  // 0 idle, 1 slow headers, 2 slow body
        if (c.fd >= 0) {  // dropped (closed, 408, 503)? reconnect
          ssize_t n = recv(c.fd, sink, sizeof sink, MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN) || n > 0) {
            close(c.fd);
            c.fd = -1;
            ++reconnects_;
          }
        }
        if (c.fd < 0) {
          c.fd = connect_nb(port_);
          c.sent = 0;
          // staggered: the slow ones send their first byte within a second
          c.next = now + std::chrono::milliseconds(static_cast<int>(i * 7919 % 1000));
          if (kind == 2 && c.fd >= 0) c.next = now + 50ms;
        }
        if (c.fd < 0) continue;
        ++open;
        if (kind == 0 || now < c.next) continue;
        if (kind == 1) {
          // the header block never ends: "X-Pad-N: y" lines after the first ones
          std::string s = c.sent < slow_head.size() ? slow_head : "X-Pad: y\r\n";
          size_t off = c.sent < slow_head.size() ? c.sent : (c.sent - slow_head.size()) % s.size();
          if (send(c.fd, s.data() + off, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) ++c.sent;
          c.next = now + 1s;
        } else if (c.sent == 0) {
          if (send(c.fd, body_head.data(), body_head.size(), MSG_NOSIGNAL | MSG_DONTWAIT) ==
              static_cast<ssize_t>(body_head.size()))
            c.sent = 1, c.next = now + 1s;
          else
            c.next = now + 100ms;  // still connecting
        } else {
          if (send(c.fd, " ", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) ++c.sent;
          c.next = now + 1s;
        }
      }
      open_ = open;
      std::this_thread::sleep_for(50ms);
    }
  }
  int port_;
  std::vector<C> conns_;
  std::atomic<bool> run_{true};
  std::atomic<int> open_{0}, reconnects_{0};
  std::thread th_;
};

double metric(int port, const std::string& name) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(2, 0);
  auto r = c.Get("/metrics");
  if (!r || r->status != 200) return -1;
  auto p = r->body.find("\n" + name + " ");
  if (p == std::string::npos) return -1;
  return std::atof(r->body.c_str() + p + name.size() + 2);
}

}  // namespace

TEST(CollectorConnections, ThousandSlowConnectionsDoNotStarveAGoodClient) {
  constexpr int kAttackers = 1000;
  constexpr int kRounds = 3;  // without / with the attack, alternated: the two shared cores' other
                              // load falls on both sides alike
  rlim_t lim = raise_fd_limit(4096);
  ASSERT_GE(lim, static_cast<rlim_t>(kAttackers + 200))
      << "this test needs ulimit -n >= " << kAttackers + 200 << " (hard limit too low)";
  Collector col;
  col.start("starve");
  const long rss_start = col.proc.rss_kb();
  Rate base, under;
  auto add = [](Rate& total, const Rate& r) {
    total.ok += r.ok;
    total.failed += r.failed;
    total.secs += r.secs;
  };
  long rss_before = 0, rss_during = 0;
  int fresh_ok = 0, reconnects = 0;
  double open_gauge = -1;
  for (int round = 0; round < kRounds; ++round) {
    add(base, good_client(col.port, 1.0));
    if (round == 0) {
      ASSERT_GT(base.ok, 10) << col.proc.output();
      rss_before = col.proc.rss_kb();  // after the store's caches warmed up
    }
    Attack attack(col.port, kAttackers);
    attack.start();
    for (int i = 0; i < 100 && attack.open() < kAttackers; ++i) std::this_thread::sleep_for(50ms);
    std::this_thread::sleep_for(1500ms);  // every slow connection has started its request
    EXPECT_GE(attack.open(), kAttackers);
    add(under, good_client(col.port, 1.0));
    if (round == 0) {
      fresh_ok = fresh_connections(col.port, 20);
      rss_during = col.proc.rss_kb();
      open_gauge = metric(col.port, "disco_collector_connections_open");
    }
    reconnects += attack.reconnects();
    attack.stop();
    std::this_thread::sleep_for(300ms);
  }
  const long rss_after = col.proc.rss_kb();
  const double ratio = base.per_s() > 0 ? under.per_s() / base.per_s() : 0.0;
  std::printf("[connections] no attack:      %d x 200 in %.2f s = %.0f req/s (%d failed)\n", base.ok, base.secs,
              base.per_s(), base.failed);
  std::printf("[connections] %d attackers: %d x 200 in %.2f s = %.0f req/s (%d failed); fresh connections %d/20 x "
              "200; connections_open %.0f; attacker reconnects %d\n",
              kAttackers, under.ok, under.secs, under.per_s(), under.failed, fresh_ok, open_gauge, reconnects);
  std::printf("[connections] rate under attack / without = %.2f; collector RSS kB: start %ld, before attack %ld, "
              "during %ld, after %ld\n",
              ratio, rss_start, rss_before, rss_during, rss_after);

  // The well-behaved client keeps its rate (0.5: two shared cores, the attack's own thread; the
  // collector that gave each connection a worker thread got 0).
  EXPECT_GE(ratio, 0.5) << "the good client was starved";
  EXPECT_EQ(under.failed, 0);
  EXPECT_EQ(fresh_ok, 20) << "new connections were not served during the attack";
  // The attack really was in place on the collector's side.
  EXPECT_GE(open_gauge, 0.9 * kAttackers);
  // Memory: 1,000 connections cost their small buffers, not threads or megabytes each.
  EXPECT_LT(rss_during - rss_before, 64 * 1024) << "RSS grew by more than 64 MiB";
  EXPECT_TRUE(col.proc.alive());
}

// Clients that pipeline requests and never read the answers: the workers send what the socket
// takes and hand the rest to the front, so they never wait for a slow reader.
TEST(CollectorConnections, SlowReadersDoNotHoldWorkers) {
  constexpr int kReaders = 16;
  Collector col;
  col.start("readers", {"--http-threads", "2", "--write-timeout-ms", "4000"});
  Rate base = good_client(col.port, 1.0);
  std::string pipelined;
  for (int i = 0; i < 2000; ++i) pipelined += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<int> readers;
  for (int i = 0; i < kReaders; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(col.port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    (void)send(fd, pipelined.data(), pipelined.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    readers.push_back(fd);
  }
  std::this_thread::sleep_for(500ms);  // their socket buffers are full of answers
  Rate under = good_client(col.port, 1.5);
  std::printf("[connections] %d slow readers: %.0f req/s (%d failed), without them %.0f req/s\n", kReaders,
              under.per_s(), under.failed, base.per_s());
  EXPECT_EQ(under.failed, 0);
  EXPECT_GE(under.per_s(), 0.3 * base.per_s()) << "slow readers held the workers";
  for (int fd : readers) close(fd);
  EXPECT_TRUE(col.proc.alive());
}

TEST(CollectorConnections, LimitsAreSettings) {
  raise_fd_limit(1024);
  Collector col;
  col.start("limits", {"--max-connections", "20", "--idle-timeout-ms", "300", "--header-timeout-ms", "600",
                       "--read-timeout-ms", "400", "--max-header-bytes", "2048"});
  // Beyond max_connections: 503 and closed; below it again, served.
  {
    std::vector<int> held;
    for (int i = 0; i < 20; ++i) held.push_back(connect_blocking(col.port));
    std::this_thread::sleep_for(100ms);
    int extra = connect_blocking(col.port);
    ASSERT_GE(extra, 0);
    std::string got = recv_until(extra);
    EXPECT_NE(got.find("HTTP/1.1 503 "), std::string::npos) << got;
    EXPECT_NE(got.find("max_connections = 20"), std::string::npos) << got;
    close(extra);
    for (int fd : held) close(fd);
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(fresh_connections(col.port, 3), 3);
  // An idle connection is closed after idle_timeout_ms, silently.
  {
    int fd = connect_blocking(col.port);
    auto t0 = Clock::now();
    std::string got = recv_until(fd, "", 3000);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_EQ(got, "");
    EXPECT_GT(s, 0.2);
    EXPECT_LT(s, 2.0);
    close(fd);
  }
  // A header block over max_header_bytes: 431.
  {
    int fd = connect_blocking(col.port);
    send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(3000, 'a') + "\r\n\r\n");
    std::string got = recv_until(fd);
    EXPECT_NE(got.find("HTTP/1.1 431 "), std::string::npos) << got;
    close(fd);
  }
  // Headers trickled faster than read_timeout_ms but never finished: 408 at header_timeout_ms.
  {
    int fd = connect_blocking(col.port);
    auto t0 = Clock::now();
    std::string got;
    std::string head = "GET /healthz HTTP/1.1\r\nX-Slow: ";
    for (int i = 0; i < 40 && got.empty(); ++i) {
      send_str(fd, i < static_cast<int>(head.size()) ? head.substr(static_cast<size_t>(i), 1) : "z");
      got = recv_until(fd, "", 100);
    }
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_NE(got.find("HTTP/1.1 408 "), std::string::npos) << got;
    EXPECT_NE(got.find("header_timeout_ms = 600"), std::string::npos) << got;
    EXPECT_LT(s, 2.0);
    close(fd);
  }
  // A request that stalls: 408 at read_timeout_ms.
  {
    int fd = connect_blocking(col.port);
    send_str(fd, "GET /healthz HTTP/1.1\r\n");
    std::string got = recv_until(fd, "", 2000);
    EXPECT_NE(got.find("HTTP/1.1 408 "), std::string::npos) << got;
    close(fd);
  }
  EXPECT_TRUE(col.proc.alive());
}

TEST(CollectorConnections, BufferLimits) {
  Collector col;
  col.start("buffers", {"--max-buffered-bytes", "2097152", "--max-body-bytes", "1048576"});
  // Three bodies of 1 MiB each (max_body_bytes), 1,000 kB of the first two sent, then 100 kB of
  // the third: together over max_buffered_bytes (2 MiB), the third gets 503; the first is still
  // served when it completes.
  const std::string head =
      "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n";
  const std::string part(1000 * 1024, ' ');
  int a = connect_blocking(col.port), b = connect_blocking(col.port), c = connect_blocking(col.port);
  send_str(a, head + part);
  send_str(b, head + part);
  std::this_thread::sleep_for(300ms);
  send_str(c, head + std::string(100 * 1024, ' '));
  std::string got_c = recv_until(c, "}", 3000);
  EXPECT_NE(got_c.find("HTTP/1.1 503 "), std::string::npos) << got_c;
  EXPECT_NE(got_c.find("max_buffered_bytes = 2097152"), std::string::npos) << got_c;
  close(c);
  std::this_thread::sleep_for(100ms);
  send_str(a, std::string(1048576 - part.size(), ' '));
  std::string got_a = recv_until(a, "}", 3000);
  EXPECT_NE(got_a.find("HTTP/1.1 401 "), std::string::npos) << got_a;  // complete, unsigned: the route answers
  close(a);
  close(b);
  // A chunked body over max_body_bytes: 413 from the front.
  {
    int fd = connect_blocking(col.port);
    send_str(fd, "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::string chunk(256 * 1024, 'x');
    char sz[32];
    std::snprintf(sz, sizeof sz, "%zx\r\n", chunk.size());
    std::string got;
    for (int i = 0; i < 6 && got.empty(); ++i) {
      send_str(fd, sz + chunk + "\r\n");
      got = recv_until(fd, "}", 200);
    }
    EXPECT_NE(got.find("HTTP/1.1 413 "), std::string::npos) << got;
    close(fd);
  }
  EXPECT_GE(metric(col.port, "disco_collector_buffered_bytes"), 0);
  EXPECT_TRUE(col.proc.alive());
}

TEST(CollectorConnections, ChunkedExpectContinueAndPipelinedRequests) {
  Collector col;
  col.start("framing");
  // Expect: 100-continue: the front says 100 Continue once, then the answer.
  {
    std::string body = batch_body(g_seq++ * 1000);
    auto h = signed_headers(body);
    std::string head = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n";
    for (auto& [k, v] : h) head += k + ": " + v + "\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    int fd = connect_blocking(col.port);
    send_str(fd, head);
    std::string got = recv_until(fd, "\r\n\r\n", 2000);
    EXPECT_EQ(got, "HTTP/1.1 100 Continue\r\n\r\n");
    send_str(fd, body);
    got = recv_until(fd, "\"late\"", 3000);
    EXPECT_EQ(got.find("HTTP/1.1 200 "), 0u) << got;
    EXPECT_EQ(got.find("100 Continue"), std::string::npos) << got;
    close(fd);
  }
  // A chunked body, sent in pieces.
  {
    std::string body = batch_body(g_seq++ * 1000);
    auto h = signed_headers(body);
    std::string head = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n";
    for (auto& [k, v] : h) head += k + ": " + v + "\r\n";
    head += "\r\n";
    size_t half = body.size() / 2;
    char sz[32];
    int fd = connect_blocking(col.port);
    send_str(fd, head);
    std::snprintf(sz, sizeof sz, "%zx\r\n", half);
    send_str(fd, sz + body.substr(0, half) + "\r\n");
    std::this_thread::sleep_for(50ms);
    std::snprintf(sz, sizeof sz, "%zx;ext=1\r\n", body.size() - half);
    send_str(fd, sz + body.substr(half) + "\r\n0\r\n\r\n");
    std::string got = recv_until(fd, "\"late\"", 3000);
    EXPECT_EQ(got.find("HTTP/1.1 200 "), 0u) << got;
    close(fd);
  }
  // Two requests in one write, answered in order on the same connection.
  {
    int fd = connect_blocking(col.port);
    send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got = recv_until(fd, "HTTP/1.1 404 ", 3000);
    size_t a = got.find("HTTP/1.1 200 "), b = got.find("HTTP/1.1 404 ");
    EXPECT_NE(a, std::string::npos) << got;
    EXPECT_NE(b, std::string::npos) << got;
    EXPECT_LT(a, b);
    close(fd);
  }
  // Content-Length and Transfer-Encoding together: 400 (request smuggling).
  {
    int fd = connect_blocking(col.port);
    send_str(fd, "POST /v1/events HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    std::string got = recv_until(fd);
    EXPECT_NE(got.find("HTTP/1.1 400 "), std::string::npos) << got;
    close(fd);
  }
  EXPECT_TRUE(col.proc.alive());
}

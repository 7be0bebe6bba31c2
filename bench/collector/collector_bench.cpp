// Collector load generator (bounded, loopback). Starts the real disco-collector, preloads
// decisions, then sends signed batches of outcomes (default 100 per request, JSON) from C
// keep-alive connections for a fixed time; a request counts only when answered 200, i.e. after
// its rows are durable. Prints outcomes/s, p50/p99 latency and the collector's CPU per outcome
// (utime + stime of its process) for:
//   sqlite       group commit (the default configuration)
//   sqlite-1     one transaction per request (group commit off): the peer group commit beats
//   jetstream    3-node JetStream cluster on loopback, R3 stream (skipped without nats-server)
// The client is cheap on purpose (it shares the machine's cores with the collector): every
// request is built and signed before the timed phase as one buffer of header and body, sent
// with one write on a TCP_NODELAY socket, the answer read with a minimal HTTP/1.1 reader.
// `--client httplib` is the generator of before (cpp-httplib's client, Nagle on: its header and
// body writes wait for the server's delayed ACK, ~40 ms a request). `--baseline BIN` runs every
// case against another disco-collector binary too (e.g. one built from an earlier commit), in the
// same run, and prints new/baseline ratios; the figures recorded before this bench changed are
// printed too, labelled.
// Usage: collector_bench [--seconds 5] [--connections 16] [--batch 100] [--format json|fb]
//                        [--only sqlite|sqlite-1|jetstream] [--client raw|httplib] [--baseline BIN]
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "disco/formats/cli.h"
#include "disco/collector/auth.h"
#include "disco/collector/batch.h"
#include "collector_test_util.h"

using namespace disco::collector;
using namespace disco::collector::test_util;
using namespace std::chrono_literals;

namespace {

const std::string kKey = "bench-key", kSecret = "bench-secret-0123456789";

// Stopped with SIGTERM (SIGKILL after 5 s) when it goes out of scope.
struct Proc : Child {
  void stop() { terminate(); }
  ~Proc() { stop(); }
};

int start_collector(Proc& p, const std::string& bin, const std::string& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {bin, "serve", "--port", "0", "--data", dir, "--site",
                                   "shop:" + kKey + ":" + kSecret, "--http-threads", "64"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  p.start(argv, dir + ".log");
  for (int i = 0; i < 600; ++i) {
    if (const int port = listening_port(p.output())) return port;
    if (waitpid(p.pid, nullptr, WNOHANG) != 0) break;
    std::this_thread::sleep_for(50ms);
  }
  std::fprintf(stderr, "collector did not start:\n%s\n", p.output().c_str());
  std::exit(1);
}

DecisionId id_of(uint64_t n) { return {0xd15c0000ull + (n >> 20), n * 0x9e3779b97f4a7c15ull + 1}; }

struct Req {
  std::string body, ts, sig;
  std::string wire;  // the whole HTTP/1.1 request (raw client)
};

Req sign(std::string body, bool fb) {
  Req r;
  r.ts = std::to_string(now_ms());
  r.sig = hmac_sha256_hex(kSecret, r.ts + "." + body);
  r.wire = "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " +
           std::string(fb ? "application/x-flatbuffers" : "application/json") + "\r\nx-disco-key: " + kKey +
           "\r\nx-disco-timestamp: " + r.ts + "\r\nx-disco-signature: " + r.sig +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  r.body = std::move(body);
  return r;
}

// One keep-alive HTTP/1.1 connection with blocking I/O: send a prepared request in one write,
// read the answer (status line, headers up to the blank line, Content-Length body).
class RawConn {
 public:
  explicit RawConn(int port) : port_(port) {}
  ~RawConn() { close_fd(); }
  // The status code (0 when the connection failed); `body` gets the answer's body.
  int post(const std::string& wire, std::string& body) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !connect_fd()) return 0;
      if (!send_all(wire)) { close_fd(); continue; }  // the server closed an idle connection: once more
      int st = read_answer(body);
      if (st > 0) return st;
      close_fd();
      if (st < 0) return 0;  // failed after bytes of an answer arrived: do not resend
    }
    return 0;
  }

 private:
  bool connect_fd() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) { close_fd(); return false; }
    buf_.clear();
    return true;
  }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send_all(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool fill() {  // more bytes into buf_
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  // > 0: the status; 0: the connection was closed before any byte (resend); < 0: broken answer.
  int read_answer(std::string& body) {
    size_t hdr_end;
    while ((hdr_end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return buf_.empty() ? 0 : -1;
    int status = buf_.size() > 12 ? std::atoi(buf_.c_str() + 9) : 0;
    size_t len = 0;
    bool close_after = false;
    for (size_t p = buf_.find("\r\n") + 2; p < hdr_end;) {
      size_t e = buf_.find("\r\n", p);
      std::string line = buf_.substr(p, e - p);
      for (char& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (line.rfind("content-length:", 0) == 0) len = std::strtoull(line.c_str() + 15, nullptr, 10);
      if (line.rfind("connection:", 0) == 0 && line.find("close") != std::string::npos) close_after = true;
      p = e + 2;
    }
    while (buf_.size() < hdr_end + 4 + len)
      if (!fill()) return -1;
    body.assign(buf_, hdr_end + 4, len);
    buf_.erase(0, hdr_end + 4 + len);
    if (close_after) close_fd();
    return status > 0 ? status : -1;
  }
  int port_;
  int fd_ = -1;
  std::string buf_;
};

std::string encode(const Batch& b, bool fb) { return fb ? encode_flatbuffers(b) : encode_json(b); }

double process_cpu_s(pid_t pid) {  // utime + stime of a process (what getrusage reports for it), in seconds
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream f(s.substr(rp + 2));
  std::string x;
  double ut = 0, st = 0;
  for (int i = 3; i <= 15 && f >> x; ++i) {
    if (i == 14) ut = std::stod(x);
    if (i == 15) st = std::stod(x);
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds of a process's threads by name (/proc/PID/task/*/stat): the store's threads are
// named disco-writer, disco-sync and disco-ckpt; the rest (HTTP workers, main) are "http+other".
std::map<std::string, double> thread_cpu_s(pid_t pid) {
  std::map<std::string, double> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(e.path() / "stat");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto lp = s.find('('), rp = s.rfind(')');
    if (lp == std::string::npos || rp == std::string::npos) continue;
    std::string name = s.substr(lp + 1, rp - lp - 1);
    if (name.rfind("disco-", 0) != 0 || name == "disco-collector") name = "http+other";
    std::istringstream f(s.substr(rp + 2));
    std::string x;
    double ut = 0, st = 0;
    for (int i = 3; i <= 15 && f >> x; ++i) {
      if (i == 14) ut = std::stod(x);
      if (i == 15) st = std::stod(x);
    }
    out[name] += (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return out;
}

double self_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

struct Result {
  double seconds = 0;
  uint64_t ok = 0, failed = 0, rows = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  bool ran_out = false;
};

// Sends reqs from `conns` keep-alive connections until `seconds` pass or the requests run out.
Result drive(int port, const std::vector<Req>& reqs, int conns, double seconds, size_t rows_per_req, bool fb,
             bool raw) {
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> ok{0}, failed{0};
  std::vector<std::vector<double>> lat(conns);
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + std::chrono::duration<double>(seconds);
  std::vector<std::thread> ts;
  for (int c = 0; c < conns; ++c) {
    ts.emplace_back([&, c] {
      if (raw) {
        RawConn rc(port);
        std::string body;
        for (;;) {
          if (std::chrono::steady_clock::now() >= deadline) break;
          size_t i = next++;
          if (i >= reqs.size()) break;
          auto a = std::chrono::steady_clock::now();
          int st = rc.post(reqs[i].wire, body);
          auto b = std::chrono::steady_clock::now();
          if (st == 200) {
            ok++;
            lat[c].push_back(std::chrono::duration<double, std::milli>(b - a).count());
          } else if (failed++ < 5) {
            std::fprintf(stderr, "  request failed: %d %s\n", st, st ? body.c_str() : "(connection failed)");
          }
        }
        return;
      }
      httplib::Client cli("127.0.0.1", port);  // the client of before: Nagle on
      cli.set_keep_alive(true);
      cli.set_read_timeout(60, 0);
      for (;;) {
        if (std::chrono::steady_clock::now() >= deadline) break;
        size_t i = next++;
        if (i >= reqs.size()) break;
        const Req& r = reqs[i];
        httplib::Headers h{{"x-disco-key", kKey}, {"x-disco-timestamp", r.ts}, {"x-disco-signature", r.sig}};
        auto a = std::chrono::steady_clock::now();
        auto res = cli.Post("/v1/events", h, r.body, fb ? "application/x-flatbuffers" : "application/json");
        auto b = std::chrono::steady_clock::now();
        if (res && res->status == 200) {
          ok++;
          lat[c].push_back(std::chrono::duration<double, std::milli>(b - a).count());
        } else {
          failed++;
          if (failed < 5)
            std::fprintf(stderr, "  request failed: %s\n",
                         res ? (std::to_string(res->status) + " " + res->body).c_str() : httplib::to_string(res.error()).c_str());
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  Result r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.ok = ok;
  r.failed = failed;
  r.rows = ok * rows_per_req;
  r.ran_out = next >= reqs.size();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  if (!all.empty()) {
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
    r.max_ms = all.back();
  }
  return r;
}

double loadavg() {
  std::ifstream in("/proc/loadavg");
  double l = 0;
  in >> l;
  return l;
}

struct Opts {
  double seconds = 5;
  int conns = 16;
  size_t batch = 100;
  bool fb = false;
  bool raw = true;  // --client raw (default) or httplib (the generator of before)
  std::string only;
  std::string collector = DISCO_COLLECTOR_BIN;
  std::string baseline;       // another disco-collector binary, run on the same cases
  double max_rate = 150000;   // outcomes/s the request pool is sized for
};

struct CaseResult {
  Result r;
  double rate = 0, cpu_us = 0, client_cpu_us = 0, writer_cpu_us = 0;
  uint64_t commits = 0;
  bool ran = false;
};

// `peers`: other processes the case relies on (the nats-server nodes): their CPU is printed too.
CaseResult run_case(const std::string& name, const std::string& bin, const Opts& o,
                    const std::vector<std::string>& extra, const std::string& root,
                    const std::vector<pid_t>& peers = {}) {
  std::string dir = root + "/" + name;
  for (char& c : dir)
    if (c == ' ' || c == '[' || c == ']') c = '_';
  std::filesystem::create_directories(dir);
  Proc col;
  int port = start_collector(col, bin, dir + "/data", extra);
  // Preload the decisions the outcomes will join to (batches of 1000).
  size_t n_req = static_cast<size_t>(o.max_rate * o.seconds / o.batch) + 1;
  size_t n_dec = n_req * o.batch;
  int64_t ts = now_ms();
  std::vector<Req> pre;
  for (size_t k = 0; k < n_dec; k += 1000) {
    Batch b;
    b.sender_id = "bench-pre";
    b.seq = k;
    for (size_t i = k; i < std::min(n_dec, k + 1000); ++i) {
      Decision d;
      d.id = id_of(i);
      d.ts_ms = ts;
      d.user_key = i;
      d.item_id = "sku-" + std::to_string(i % 5000);
      d.arm = static_cast<uint16_t>(i % 4);
      d.discount = 0.05 * (i % 4);
      d.propensity = 0.25;
      d.shown = true;
      d.price = 20;
      d.cost = 12;
      d.context = {1.0f, static_cast<float>(i % 7) / 7.0f, static_cast<float>(i % 3), 0.5f};
      b.decisions.push_back(std::move(d));
    }
    pre.push_back(sign(encode(b, o.fb), o.fb));
  }
  Result preload = drive(port, pre, 4, 1e9, 1000, o.fb, true);
  std::printf("  %-20s preload: %zu decisions in %.2f s (%.0f decisions/s)%s\n", name.c_str(), n_dec, preload.seconds,
              n_dec / preload.seconds, preload.failed ? "  [FAILED REQUESTS]" : "");
  // The timed phase: outcome batches, pre-built and pre-signed so the generator spends its CPU on I/O.
  std::vector<Req> reqs;
  reqs.reserve(n_req);
  ts = now_ms();
  for (size_t r = 0; r < n_req; ++r) {
    Batch b;
    b.sender_id = "bench";
    b.seq = r;
    for (size_t i = r * o.batch; i < (r + 1) * o.batch; ++i)
      b.outcomes.push_back(Outcome{id_of(i), ts + 1000, i % 3 == 0, i % 3 == 0 ? 19.0 : 0.0, i % 3 == 0 ? 7.0 : 0.0});
    reqs.push_back(sign(encode(b, o.fb), o.fb));
  }
  double cpu0 = process_cpu_s(col.pid), self0 = self_cpu_s();
  auto threads0 = thread_cpu_s(col.pid);
  double peers0 = 0;
  for (pid_t p : peers) peers0 += process_cpu_s(p);
  auto drive_start = std::chrono::steady_clock::now();
  Result res = drive(port, reqs, o.conns, o.seconds, o.batch, o.fb, o.raw);
  double cpu_s = process_cpu_s(col.pid) - cpu0, client_s = self_cpu_s() - self0;
  auto threads1 = thread_cpu_s(col.pid);
  double peers_s = -peers0;
  for (pid_t p : peers) peers_s += process_cpu_s(p);
  // Scale path: how long until the joiner has applied every acknowledged batch to the joined log.
  char joiner_line[512] = "";
  if (name.rfind("jetstream", 0) == 0) {
    httplib::Client mc("127.0.0.1", port);
    const uint64_t want = pre.size() + res.ok;
    uint64_t joined = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < until) {
      auto m = mc.Get("/metrics");
      const std::string key = "\ndisco_collector_jetstream_joined_messages ";  // not the "# TYPE" line
      if (m) {
        auto k = m->body.find(key);
        if (k != std::string::npos) joined = static_cast<uint64_t>(std::strtod(m->body.c_str() + k + key.size(), nullptr));
      }
      if (joined >= want) break;
      std::this_thread::sleep_for(100ms);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - drive_start).count();
    std::snprintf(joiner_line, sizeof joiner_line,
                  "  %-20s joiner: %llu of %llu batches in the joined log %.2f s after the timed phase began "
                  "(%.0f joined outcomes/s end to end)\n",
                  name.c_str(), static_cast<unsigned long long>(joined), static_cast<unsigned long long>(want), secs,
                  res.rows / secs);
  }
  // Scrape the storage commit histogram count (transactions) for the group-commit ratio.
  httplib::Client cli("127.0.0.1", port);
  auto m = cli.Get("/metrics");
  CaseResult out;
  if (!m) std::fprintf(stderr, "  /metrics: %s\n", httplib::to_string(m.error()).c_str());
  if (m) {
    const std::string key = "disco_collector_storage_commit_seconds_count ";
    auto k = m->body.find(key);
    if (k != std::string::npos) out.commits = std::strtoull(m->body.c_str() + k + key.size(), nullptr, 10);
    else std::fprintf(stderr, "  /metrics has no commit count: %d %.200s\n", m->status, m->body.c_str());
    if (getenv("BENCH_DUMP_METRICS")) std::fputs(m->body.c_str(), stderr);
  }
  out.r = res;
  out.ran = true;
  out.rate = res.rows / res.seconds;
  out.cpu_us = cpu_s * 1e6 / std::max<double>(1, res.rows);
  out.client_cpu_us = client_s * 1e6 / std::max<double>(1, res.rows);
  std::printf("  %-20s %9.0f outcomes/s  %6.0f req/s  p50 %7.2f ms  p99 %7.2f ms  max %7.1f ms  ok %llu  failed %llu  "
              "commits %llu%s\n",
              name.c_str(), out.rate, res.ok / res.seconds, res.p50_ms, res.p99_ms, res.max_ms,
              static_cast<unsigned long long>(res.ok), static_cast<unsigned long long>(res.failed),
              static_cast<unsigned long long>(out.commits),
              res.ran_out ? "  (request pool exhausted: raise --max-rate)" : "");
  std::printf("  %-20s collector %.2f CPU-s for %llu outcomes: %.1f us/outcome; bench client %.1f us/outcome "
              "(machine load avg %.1f)\n",
              name.c_str(), cpu_s, static_cast<unsigned long long>(res.rows), out.cpu_us, out.client_cpu_us, loadavg());
  std::string per_thread;
  for (const auto& [n, v] : threads1) {
    double d = v - (threads0.count(n) ? threads0[n] : 0.0);
    char b[96];
    std::snprintf(b, sizeof b, "%s%s %.1f", per_thread.empty() ? "" : ", ", n.c_str(), d * 1e6 / std::max<double>(1, res.rows));
    per_thread += b;
    if (n == "disco-writer") out.writer_cpu_us = d * 1e6 / std::max<double>(1, res.rows);
  }
  if (!per_thread.empty()) {
    std::printf("  %-20s us/outcome by thread: %s", name.c_str(), per_thread.c_str());
    if (out.writer_cpu_us > 0)
      std::printf("  (the one writer thread bounds this store at %.0f outcomes/s with a core to itself)",
                  1e6 / out.writer_cpu_us);
    std::printf("\n");
  }
  if (!peers.empty())
    std::printf("  %-20s the %zu nats-server nodes used %.2f CPU-s: %.1f us/outcome (not in the collector's figure)\n",
                name.c_str(), peers.size(), peers_s, peers_s * 1e6 / std::max<double>(1, res.rows));
  std::fputs(joiner_line, stdout);
  std::fflush(stdout);
  col.stop();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Opts o;
  std::string format = "json", client = "raw";
  CLI::App app{"collector_bench: signed batches of outcomes against disco-collector, per storage case", "collector_bench"};
  app.add_option("--seconds", o.seconds, "seconds per case")->check(disco::cli::Real(0, 3600, true))->capture_default_str();
  app.add_option("--connections", o.conns)->check(disco::cli::Int(1, 4096))->capture_default_str();
  app.add_option("--batch", o.batch, "outcomes per request")->check(disco::cli::Int(1, 1000000))->capture_default_str();
  app.add_option("--format", format)->check(CLI::IsMember({"json", "fb"}))->capture_default_str();
  app.add_option("--only", o.only, "one case: sqlite, sqlite-1, jetstream");
  app.add_option("--client", client, "raw: one prepared write per request, TCP_NODELAY; httplib: the generator of before")
      ->check(CLI::IsMember({"raw", "httplib"}))
      ->capture_default_str();
  app.add_option("--collector", o.collector, "the disco-collector binary measured")->capture_default_str();
  app.add_option("--baseline", o.baseline, "another disco-collector binary run on the same cases in the same run");
  app.add_option("--max-rate", o.max_rate, "outcomes/s the request pool is sized for")
      ->check(disco::cli::Real(0, 1e9, true))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "collector_bench: %s\n", e.what());
    return 2;
  }
  o.fb = format == "fb";
  o.raw = client == "raw";
  for (const std::string* b : {&o.collector, &o.baseline})
    if (!b->empty() && !std::filesystem::exists(*b)) {
      std::fprintf(stderr, "collector_bench: %s does not exist (build it, or pass another --collector/--baseline)\n",
                   b->c_str());
      return 2;
    }
  std::string root = (std::filesystem::temp_directory_path() / ("disco-collector-bench-" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  std::printf("collector bench: %u hardware threads, %d connections, %zu outcomes per request (%s), %.0f s per case, "
              "%s client, answered 200 = durable\n",
              std::thread::hardware_concurrency(), o.conns, o.batch, o.fb ? "FlatBuffers" : "JSON", o.seconds,
              o.raw ? "raw" : "httplib");
  // Each case against the measured binary and, with --baseline, the baseline binary (first).
  std::vector<std::pair<std::string, std::string>> bins;
  if (!o.baseline.empty()) bins.push_back({"baseline", o.baseline});
  bins.push_back({"", o.collector});
  std::map<std::string, std::map<std::string, CaseResult>> res;  // case -> "" / "baseline" -> result
  auto label = [](const std::string& c, const std::string& which) { return which.empty() ? c : c + " [" + which + "]"; };
  for (const auto& [which, bin] : bins) {
    if (o.only.empty() || o.only == "sqlite") res["sqlite"][which] = run_case(label("sqlite", which), bin, o, {}, root);
    if (o.only.empty() || o.only == "sqlite-1")
      res["sqlite-1"][which] = run_case(label("sqlite-1", which), bin, o, {"--group-commit-max-jobs", "1"}, root);
  }
  std::string nats = DISCO_NATS_SERVER_BIN;
  if ((o.only.empty() || o.only == "jetstream") && !nats.empty() && std::filesystem::exists(nats)) {
    for (const auto& [which, bin] : bins) {
      int cp[3], rp[3];
      for (int i = 0; i < 3; ++i) {
        cp[i] = free_port();
        rp[i] = free_port();
      }
      std::string routes, urls;
      for (int i = 0; i < 3; ++i) {
        routes += (i ? "," : "") + std::string("nats://127.0.0.1:") + std::to_string(rp[i]);
        urls += (i ? "," : "") + std::string("nats://127.0.0.1:") + std::to_string(cp[i]);
      }
      std::vector<std::unique_ptr<Proc>> nodes;
      for (int i = 0; i < 3; ++i) {
        std::string sd = root + "/nats" + which + std::to_string(i);
        std::filesystem::create_directories(sd);
        nodes.push_back(std::make_unique<Proc>());
        nodes.back()->start({nats, "-js", "-sd", sd, "-a", "127.0.0.1", "-p", std::to_string(cp[i]), "-n",
                             "n" + std::to_string(i), "--cluster_name", "bench", "--cluster",
                             "nats://127.0.0.1:" + std::to_string(rp[i]), "--routes", routes},
                            sd + ".log");
      }
      std::this_thread::sleep_for(1500ms);
      std::vector<pid_t> node_pids;
      for (const auto& n : nodes) node_pids.push_back(n->pid);
      res["jetstream"][which] = run_case(label("jetstream", which), bin, o,
                                         {"--storage", "jetstream", "--nats-urls", urls, "--nats-replicas", "3"}, root,
                                         node_pids);
    }
  } else if (o.only.empty() || o.only == "jetstream") {
    std::printf("  jetstream  skipped: nats-server is not installed\n");
  }
  std::printf("summary: target >= 100000 outcomes/s durable, p99 <= 50 ms\n");
  std::printf("  %-24s %11s %9s %9s %14s %11s %10s   (us: CPU per outcome)\n", "case", "outcomes/s", "p50 ms", "p99 ms",
              "collector us", "writer us", "client us");
  for (const char* c : {"sqlite", "sqlite-1", "jetstream"}) {
    for (const auto& [which, bin] : bins) {
      auto it = res[c].find(which);
      if (it == res[c].end() || !it->second.ran) continue;
      const CaseResult& r = it->second;
      std::printf("  %-24s %11.0f %9.2f %9.2f %14.1f %11.1f %10.1f", label(c, which).c_str(), r.rate, r.r.p50_ms,
                  r.r.p99_ms, r.cpu_us, r.writer_cpu_us, r.client_cpu_us);
      if (which.empty() && res[c].count("baseline"))
        std::printf("   %.2fx baseline's outcomes/s, %.2fx its CPU per outcome", r.rate / std::max(1.0, res[c]["baseline"].rate),
                    r.cpu_us / std::max(1e-9, res[c]["baseline"].cpu_us));
      if (which.empty() && std::string(c) == "sqlite-1" && res["sqlite"].count(""))
        std::printf("   group commit = %.2fx this", res["sqlite"][""].rate / std::max(1.0, r.rate));
      std::printf("\n");
    }
  }
  // Recorded before this work (issue 17; bench/collector of commit 2b380e6, httplib client, 8 s cases):
  std::printf("  recorded before (2b380e6, httplib client): sqlite 28.8k outcomes/s p99 80 ms, sqlite-1 26.6k, "
              "jetstream R3 33.3k; collector 33 us/outcome\n");
  if (getenv("BENCH_KEEP")) std::printf("kept %s (collector logs, data)\n", root.c_str());
  else std::filesystem::remove_all(root);
  return 0;
}

// Collector load generator (bounded, loopback). Starts the real disco-collector, preloads
// decisions, then sends signed batches of outcomes (default 100 per request, JSON) from C
// keep-alive connections for a fixed time; a request counts only when answered 200, i.e. after
// its rows are durable. Prints outcomes/s and p50/p99 latency for:
//   sqlite       group commit (the default configuration)
//   sqlite-1     one transaction per request (group commit off): the peer group commit beats
//   jetstream    3-node JetStream cluster on loopback, R3 stream (skipped without nats-server)
// Usage: collector_bench [--seconds 8] [--connections 16] [--batch 100] [--format json|fb]
//                        [--only sqlite|sqlite-1|jetstream]
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

int start_collector(Proc& p, const std::string& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {DISCO_COLLECTOR_BIN, "serve", "--port", "0", "--data", dir, "--site",
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
};

Req sign(std::string body) {
  Req r;
  r.ts = std::to_string(now_ms());
  r.sig = hmac_sha256_hex(kSecret, r.ts + "." + body);
  r.body = std::move(body);
  return r;
}

std::string encode(const Batch& b, bool fb) { return fb ? encode_flatbuffers(b) : encode_json(b); }

struct Result {
  double seconds = 0;
  uint64_t ok = 0, failed = 0, rows = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  bool ran_out = false;
};

// Sends reqs from `conns` keep-alive connections until `seconds` pass or the requests run out.
Result drive(int port, const std::vector<Req>& reqs, int conns, double seconds, size_t rows_per_req, bool fb) {
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> ok{0}, failed{0};
  std::vector<std::vector<double>> lat(conns);
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + std::chrono::duration<double>(seconds);
  std::vector<std::thread> ts;
  for (int c = 0; c < conns; ++c) {
    ts.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", port);
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
  double seconds = 8;
  int conns = 16;
  size_t batch = 100;
  bool fb = false;
  std::string only;
  double max_rate = 60000;  // outcomes/s the request pool is sized for
};

Result run_case(const std::string& name, const Opts& o, const std::vector<std::string>& extra, const std::string& root) {
  std::string dir = root + "/" + name;
  std::filesystem::create_directories(dir);
  Proc col;
  int port = start_collector(col, dir + "/data", extra);
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
    pre.push_back(sign(encode(b, o.fb)));
  }
  Result preload = drive(port, pre, 4, 1e9, 1000, o.fb);
  std::printf("  %-10s preload: %zu decisions in %.2f s (%.0f decisions/s)%s\n", name.c_str(), n_dec, preload.seconds,
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
    reqs.push_back(sign(encode(b, o.fb)));
  }
  auto cpu_ticks = [](pid_t pid) -> double {  // utime + stime of a process, in seconds
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
  };
  double cpu0 = cpu_ticks(col.pid);
  auto drive_start = std::chrono::steady_clock::now();
  Result res = drive(port, reqs, o.conns, o.seconds, o.batch, o.fb);
  double cpu_s = cpu_ticks(col.pid) - cpu0;
  // Scale path: how long until the joiner has applied every acknowledged batch to the joined log.
  char joiner_line[512] = "";
  if (name == "jetstream") {
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
                "  %-10s joiner: %llu of %llu batches in the joined log %.2f s after the timed phase began "
                "(%.0f joined outcomes/s end to end)\n",
                name.c_str(), static_cast<unsigned long long>(joined), static_cast<unsigned long long>(want), secs,
                res.rows / secs);
  }
  // Scrape the storage commit histogram count (transactions) for the group-commit ratio.
  httplib::Client cli("127.0.0.1", port);
  auto m = cli.Get("/metrics");
  uint64_t commits = 0;
  if (!m) std::fprintf(stderr, "  /metrics: %s\n", httplib::to_string(m.error()).c_str());
  if (m) {
    const std::string key = "disco_collector_storage_commit_seconds_count ";
    auto k = m->body.find(key);
    if (k != std::string::npos) commits = std::strtoull(m->body.c_str() + k + key.size(), nullptr, 10);
    else std::fprintf(stderr, "  /metrics has no commit count: %d %.200s\n", m->status, m->body.c_str());
    if (getenv("BENCH_DUMP_METRICS")) std::fputs(m->body.c_str(), stderr);
  }
  double rate = res.rows / res.seconds;
  std::printf("  %-10s %9.0f outcomes/s  %6.0f req/s  p50 %7.2f ms  p99 %7.2f ms  max %7.1f ms  ok %llu  failed %llu  "
              "commits %llu%s\n",
              name.c_str(), rate, res.ok / res.seconds, res.p50_ms, res.p99_ms, res.max_ms,
              static_cast<unsigned long long>(res.ok), static_cast<unsigned long long>(res.failed),
              static_cast<unsigned long long>(commits), res.ran_out ? "  (request pool exhausted: raise --max-rate)" : "");
  std::printf("  %-10s collector used %.2f CPU-s for %llu outcomes: %.1f us/outcome, %.0f outcomes per CPU-second "
              "(machine load avg %.1f; contention lowers outcomes/s, not this)\n",
              name.c_str(), cpu_s, static_cast<unsigned long long>(res.rows), cpu_s * 1e6 / std::max<double>(1, res.rows),
              res.rows / std::max(1e-9, cpu_s), loadavg());
  std::fputs(joiner_line, stdout);
  std::fflush(stdout);
  col.stop();
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Opts o;
  std::string format = "json";
  CLI::App app{"collector_bench: signed batches of outcomes against disco-collector, per storage case", "collector_bench"};
  app.add_option("--seconds", o.seconds, "seconds per case")->check(disco::cli::Real(0, 3600, true))->capture_default_str();
  app.add_option("--connections", o.conns)->check(disco::cli::Int(1, 4096))->capture_default_str();
  app.add_option("--batch", o.batch, "outcomes per request")->check(disco::cli::Int(1, 1000000))->capture_default_str();
  app.add_option("--format", format)->check(CLI::IsMember({"json", "fb"}))->capture_default_str();
  app.add_option("--only", o.only, "one case: sqlite, sqlite-1, jetstream, ...");
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
  std::string root = (std::filesystem::temp_directory_path() / ("disco-collector-bench-" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  std::printf("collector bench: %u hardware threads, %d connections, %zu outcomes per request (%s), %.0f s per case, "
              "answered 200 = durable\n",
              std::thread::hardware_concurrency(), o.conns, o.batch, o.fb ? "FlatBuffers" : "JSON", o.seconds);
  double sqlite_rate = 0, single_rate = 0, js_rate = 0;
  if (o.only.empty() || o.only == "sqlite") {
    Result r = run_case("sqlite", o, {}, root);
    sqlite_rate = r.rows / r.seconds;
  }
  if (o.only.empty() || o.only == "sqlite-1") {
    Result r = run_case("sqlite-1", o, {"--group-commit-max-jobs", "1"}, root);
    single_rate = r.rows / r.seconds;
  }
  std::string nats = DISCO_NATS_SERVER_BIN;
  if ((o.only.empty() || o.only == "jetstream") && !nats.empty() && std::filesystem::exists(nats)) {
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
      std::string sd = root + "/nats" + std::to_string(i);
      std::filesystem::create_directories(sd);
      nodes.push_back(std::make_unique<Proc>());
      nodes.back()->start({nats, "-js", "-sd", sd, "-a", "127.0.0.1", "-p", std::to_string(cp[i]), "-n",
                           "n" + std::to_string(i), "--cluster_name", "bench", "--cluster",
                           "nats://127.0.0.1:" + std::to_string(rp[i]), "--routes", routes},
                          sd + ".log");
    }
    std::this_thread::sleep_for(1500ms);
    Result r = run_case("jetstream", o, {"--storage", "jetstream", "--nats-urls", urls, "--nats-replicas", "3"}, root);
    js_rate = r.rows / r.seconds;
  } else if (o.only.empty() || o.only == "jetstream") {
    std::printf("  jetstream  skipped: nats-server is not installed\n");
  }
  std::printf("summary: target >= 20000 outcomes/s durable\n");
  if (sqlite_rate > 0) std::printf("  sqlite (group commit)   %9.0f outcomes/s  %.2fx target\n", sqlite_rate, sqlite_rate / 20000);
  if (single_rate > 0)
    std::printf("  sqlite (commit per req) %9.0f outcomes/s  group commit = %.2fx this\n", single_rate,
                sqlite_rate > 0 ? sqlite_rate / single_rate : 0.0);
  if (js_rate > 0)
    std::printf("  jetstream R3            %9.0f outcomes/s  %.2fx target%s\n", js_rate, js_rate / 20000,
                sqlite_rate > 0 ? (", " + std::to_string(js_rate / sqlite_rate).substr(0, 4) + "x sqlite").c_str() : "");
  if (getenv("BENCH_KEEP")) std::printf("kept %s (collector logs, data)\n", root.c_str());
  else std::filesystem::remove_all(root);
  return 0;
}

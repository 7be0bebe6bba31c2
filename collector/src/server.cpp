#include "disco/collector/server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "disco/collector/auth.h"
#include "disco/collector/batch.h"
#include "disco/collector/checkout.h"
#include "disco/collector/jetstream.h"
#include "disco/collector/metrics.h"
#include "disco/collector/store.h"
#include "disco/disco.h"
#include "disco/fleet_stats.h"
#include "http_front.h"

namespace disco::collector {
namespace {

using json = nlohmann::json;

constexpr const char* kBanditStatsType = "application/x-disco-bandit-stats";

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void json_error(httplib::Response& res, int status, const std::string& error, const std::string& field = "") {
  json j{{"error", error}};
  if (!field.empty()) j["field"] = field;
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

json counts(const KindCounts& k) { return {{"accepted", k.accepted}, {"duplicate", k.duplicate}}; }

}  // namespace

// The JSON form of the statistics message (schemas/README.md). Each arm also repeats "dim" (as
// before the message had it at the top) for readers of the older form.
std::string fleet_stats_json(const disco::FleetStats& m, int64_t reward_window_ms, int64_t stream_seq) {
  json arms = json::array();
  for (const disco::FleetArmStats& a : m.arms)
    arms.push_back({{"arm", a.arm}, {"dim", m.dim}, {"n", a.stats.n}, {"reward_sum", a.stats.reward_sum},
                    {"A", a.stats.A}, {"b", a.stats.b}});
  json j{{"version", m.version}, {"site", m.site}, {"context_version", m.context_version}, {"dim", m.dim},
         {"arms", std::move(arms)}};
  if (reward_window_ms > 0) j["reward_window_ms"] = reward_window_ms;
  if (stream_seq >= 0) j["stream_seq"] = stream_seq;
  return j.dump();
}

namespace {

}  // namespace

struct Collector::Impl {
  Config cfg;
  Metrics metrics;
  std::unique_ptr<SqliteStore> store;     // sqlite mode: the store; jetstream mode: the joiner's log
  std::unique_ptr<JetStreamLog> js;
  ReplayCache replay;
  ParseLimits limits;
  HttpServer http;
  std::unique_ptr<HttpFront> front;  // owns the connections; runs `http`'s routes on complete requests
  int port = 0;

  std::mutex bundle_mu;
  struct {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    std::string etag;
    std::shared_ptr<const std::string> bytes;
    std::string dim_etag;  // the bundle whose bandit dim is `dim`
    int dim = -1;
  } bundle;

  explicit Impl(Config c)
      : cfg(std::move(c)), replay(2 * cfg.replay_window_ms, cfg.replay_cache_max) {
    limits.max_rows = cfg.max_rows;
    limits.max_context = cfg.max_context;
    std::filesystem::create_directories(cfg.data_dir);
    StoreOptions so;
    so.path = cfg.data_dir + "/collector.sqlite";
    so.reward_window_ms = cfg.reward_window_ms;
    so.synchronous_full = cfg.sqlite_synchronous == "full";
    so.group_commit_max_jobs = cfg.group_commit_max_jobs;
    so.max_pending_jobs = cfg.max_pending_jobs;
    so.sweep_interval_ms = cfg.sweep_interval_ms;
    so.context_version = cfg.context_version;
    so.stream_fed = cfg.storage == "jetstream";  // every collector derives its state from the stream
    store = std::make_unique<SqliteStore>(so, &metrics);
    store->start();
    if (cfg.storage == "jetstream") {
      js = std::make_unique<JetStreamLog>(cfg, &metrics);
      js->start_ticker();
      if (cfg.jetstream_joiner) js->start_joiner(store.get());
    }
    routes();
    front = std::make_unique<HttpFront>(
        front_options(cfg), [this](FrontRequest& r) { return http.serve_buffered(r); },
        FrontHooks{[this](const char* reason) {
                     metrics.add("disco_collector_rejects_total", std::string("reason=\"") + reason + "\"");
                   },
                   [this](size_t conns, size_t bytes) {
                     metrics.set_gauge("disco_collector_connections_open", static_cast<double>(conns));
                     metrics.set_gauge("disco_collector_buffered_bytes", static_cast<double>(bytes));
                   }});
  }

  static FrontOptions front_options(const Config& c) {
    FrontOptions o;
    o.max_connections = c.max_connections;
    o.workers = c.http_threads;
    o.idle_timeout_ms = c.idle_timeout_ms;
    o.header_timeout_ms = c.header_timeout_ms;
    o.read_timeout_ms = c.read_timeout_ms;
    o.body_timeout_ms = c.body_timeout_ms;
    o.write_timeout_ms = c.write_timeout_ms;
    o.max_header_bytes = c.max_header_bytes;
    o.max_body_bytes = c.max_body_bytes;
    o.max_buffered_bytes = c.max_buffered_bytes;
    o.keepalive_max = c.keepalive_max;
    return o;
  }

  void reject(httplib::Response& res, int status, const std::string& reason, const std::string& error,
              const std::string& field = "") {
    metrics.add("disco_collector_rejects_total", "reason=\"" + reason + "\"");
    json_error(res, status, error, field);
  }

  void post_events(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    // 1. The body, bounded in size and in time (slow senders are cut off).
    std::string body;
    bool too_big = false, too_slow = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg.body_timeout_ms);
    if (req.has_header("Content-Length")) {
      auto len = req.get_header_value<uint64_t>("Content-Length");
      if (len > cfg.max_body_bytes) too_big = true;
      else body.reserve(len);
    }
    bool read_ok = !too_big && reader([&](const char* data, size_t n) {
      if (std::chrono::steady_clock::now() > deadline) { too_slow = true; return false; }
      if (body.size() + n > cfg.max_body_bytes) { too_big = true; return false; }
      body.append(data, n);
      return true;
    });
    if (too_big || res.status == 413) {
      res.set_header("Connection", "close");  // the rest of the body is not read
      return reject(res, 413, "body_too_large", "request body larger than max_body_bytes = " + std::to_string(cfg.max_body_bytes));
    }
    if (too_slow) {
      res.set_header("Connection", "close");
      return reject(res, 408, "body_timeout", "request body not received within " + std::to_string(cfg.body_timeout_ms) + " ms");
    }
    if (!read_ok) {
      res.set_header("Connection", "close");
      return reject(res, 408, "body_read_failed", "request body incomplete (read timeout or connection closed)");
    }
    // 2. Content type.
    // text/plain: navigator.sendBeacon cannot send application/json without a CORS preflight.
    std::string ctype = req.get_header_value("Content-Type");
    bool is_fb = ctype.rfind("application/x-flatbuffers", 0) == 0;
    bool is_json = ctype.rfind("application/json", 0) == 0 || ctype.rfind("text/plain", 0) == 0;
    if (!is_fb && !is_json)
      return reject(res, 415, "content_type",
                    "Content-Type must be application/json, text/plain (beacons, JSON body) or application/x-flatbuffers");
    // 3. Authentication: headers, or (beacons, which cannot set headers) the query parameters
    //    disco_key, disco_ts, disco_sig.
    auto auth = [&](const char* header, const char* param) {
      return req.has_header(header) ? req.get_header_value(header) : req.get_param_value(param);
    };
    const Site* site = cfg.site_by_key(auth("x-disco-key", "disco_key"));
    if (!site) return reject(res, 401, "unknown_key", "missing or unknown x-disco-key", "x-disco-key");
    std::string ts_s = auth("x-disco-timestamp", "disco_ts");
    int64_t ts = 0;
    {
      const char* b = ts_s.data();
      auto [p, ec] = std::from_chars(b, b + ts_s.size(), ts);
      if (ts_s.empty() || ec != std::errc() || p != b + ts_s.size())
        return reject(res, 401, "bad_timestamp", "x-disco-timestamp must be Unix time in milliseconds", "x-disco-timestamp");
    }
    int64_t now = wall_ms();
    if (ts < now - cfg.replay_window_ms || ts > now + cfg.replay_window_ms)
      return reject(res, 401, "stale_timestamp",
                    "x-disco-timestamp is outside the replay window of +-" + std::to_string(cfg.replay_window_ms) +
                        " ms from the server clock (" + std::to_string(now) + ")",
                    "x-disco-timestamp");
    std::string sig = auth("x-disco-signature", "disco_sig");
    std::string msg;
    msg.reserve(ts_s.size() + 1 + body.size());
    msg.append(ts_s).append(".").append(body);
    if (!signature_matches(hmac_sha256_hex(site->secret, msg), sig))
      return reject(res, 401, "bad_signature",
                    "x-disco-signature is not hex HMAC-SHA256(site secret, timestamp + \".\" + body)", "x-disco-signature");
    // 128 bits of the signature identify a request well enough and keep the cache small.
    std::string sig_key = site->id + ":" + sig.substr(0, 32);
    for (char& c : sig_key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    switch (replay.check_and_insert(sig_key, now)) {
      case ReplayCache::Result::Replayed:
        return reject(res, 409, "replay", "replayed request: this signature was already received; sign each send with a fresh timestamp");
      case ReplayCache::Result::Full:
        res.set_header("Retry-After", "1");
        return reject(res, 503, "replay_cache_full", "too many requests in the replay window; retry later");
      case ReplayCache::Result::Fresh: break;
    }
    // 4. Parse and validate.
    auto batch = std::make_shared<Batch>();
    ParseError perr;
    bool ok = is_fb ? parse_flatbuffers_batch(body, *batch, perr, limits) : parse_json_batch(body, *batch, perr, limits);
    if (!ok) {
      replay.forget(sig_key);
      return reject(res, perr.too_large ? 413 : 400, perr.reason, perr.message, perr.field);
    }
    std::string hash = batch_id(site->id, *batch);  // the same for every resend (re-stamped sent_at_ms)
    metrics.add("disco_collector_batches_total", is_fb ? "format=\"flatbuffers\"" : "format=\"json\"");
    // 5. Durable storage, then the answer.
    if (js) return publish(res, *site, hash, *batch, is_fb ? body : encode_flatbuffers(*batch), sig_key);
    auto fut = store->submit(site->id, hash, batch);
    if (!fut.valid()) {
      replay.forget(sig_key);
      res.set_header("Retry-After", "1");
      return reject(res, 503, "queue_full", "storage queue is full; retry later");
    }
    if (fut.wait_for(std::chrono::milliseconds(cfg.storage_timeout_ms)) != std::future_status::ready) {
      replay.forget(sig_key);
      res.set_header("Retry-After", "1");
      return reject(res, 503, "storage_timeout", "storage did not commit in time; retry (resending is safe)");
    }
    ApplyOutcome out = fut.get();
    if (!out.ok) {
      replay.forget(sig_key);
      res.set_header("Retry-After", "1");
      return reject(res, 503, "storage_error", "storage failed: " + out.error);
    }
    const ApplyResult& r = out.result;
    for (auto [kind, k] : {std::pair{"event", r.events}, {"decision", r.decisions}, {"outcome", r.outcomes},
                           {"activation", r.activations}}) {
      if (k.accepted) metrics.add("disco_collector_rows_total", std::string("kind=\"") + kind + "\",result=\"accepted\"", k.accepted);
      if (k.duplicate) metrics.add("disco_collector_rows_total", std::string("kind=\"") + kind + "\",result=\"duplicate\"", k.duplicate);
    }
    if (r.orphans) metrics.add("disco_collector_orphans_total", "", r.orphans);
    if (r.joined) metrics.add("disco_collector_joins_total", "result=\"joined\"", r.joined);
    if (r.late) metrics.add("disco_collector_joins_total", "result=\"late\"", r.late);
    json j{{"batch", hash},
           {"accepted", r.events.accepted + r.decisions.accepted + r.outcomes.accepted + r.activations.accepted},
           {"duplicate", r.events.duplicate + r.decisions.duplicate + r.outcomes.duplicate + r.activations.duplicate},
           {"events", counts(r.events)},
           {"decisions", counts(r.decisions)},
           {"outcomes", counts(r.outcomes)},
           {"activations", counts(r.activations)},
           {"orphans", r.orphans},
           {"joined", r.joined},
           {"late", r.late}};
    res.status = 200;
    res.set_content(j.dump(), "application/json");
  }

  void publish(httplib::Response& res, const Site& site, const std::string& hash, const Batch& b,
               const std::string& payload, const std::string& sig_key) {
    auto t0 = std::chrono::steady_clock::now();
    PublishResult pr = js->publish(site.id, hash, payload, cfg.storage_timeout_ms);
    metrics.commit_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (!pr.ok) {
      replay.forget(sig_key);
      res.set_header("Retry-After", "1");
      return reject(res, 503, "storage_error", "JetStream publish failed: " + pr.error);
    }
    uint32_t rows = static_cast<uint32_t>(b.rows());
    metrics.add("disco_collector_rows_total", std::string("kind=\"all\",result=\"") + (pr.duplicate ? "duplicate" : "published") + "\"", rows);
    json j{{"batch", hash},
           {"accepted", pr.duplicate ? 0u : rows},
           {"duplicate", pr.duplicate ? rows : 0u},
           {"stream_seq", pr.stream_seq},
           {"note", "jetstream: per-row duplicates are resolved by the joiner"}};
    res.status = 200;
    res.set_content(j.dump(), "application/json");
  }

  // The served bundle's bandit context length (0 = the runtime's full context), or -1 when no
  // bundle is published or it does not load. Cached by the file's mtime and size.
  int bundle_bandit_dim() {
    std::shared_ptr<const std::string> bytes;
    std::string etag;
    if (!current_bundle(bytes, etag)) return -1;
    std::lock_guard<std::mutex> lk(bundle_mu);
    if (bundle.dim_etag == etag) return bundle.dim;
    disco_bundle* b = nullptr;
    int dim = -1;
    if (disco_bundle_load(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), 0, &b) == DISCO_OK) {
      disco_bundle_info info{};
      if (disco_bundle_get_info(b, &info) == DISCO_OK)
        dim = info.context_dim ? static_cast<int>(info.context_dim) : static_cast<int>(disco::kContextDim);
      disco_bundle_free(b);
    } else {
      metrics.add("disco_collector_bundle_unreadable_total", "");
    }
    bundle.dim_etag = etag;
    bundle.dim = dim;
    return dim;
  }

  // GET /v1/bandit-state (collector/PROTOCOL.md): the site's fleet statistics for one context
  // length (?dim=N, else the served bundle's, else the most observed one), as the FlatBuffers
  // message of schemas/bandit_stats.fbs when Accept asks for it, else its JSON form.
  void get_bandit(const httplib::Request& req, httplib::Response& res) {
    const Site* site = cfg.site_by_key(req.get_header_value("x-disco-key"));
    if (!site) return reject(res, 401, "unknown_key", "missing or unknown x-disco-key", "x-disco-key");
    int dim = -1;
    if (req.has_param("dim")) {
      const std::string v = req.get_param_value("dim");
      int d = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
      if (ec != std::errc() || p != v.data() + v.size() || d < 1 || d > static_cast<int>(disco::kMaxBanditDim))
        return reject(res, 400, "bad_dim", "dim must be an integer in 1.." + std::to_string(disco::kMaxBanditDim), "dim");
      dim = d;
    }
    if (js && !cfg.jetstream_joiner)
      return reject(res, 503, "no_stream_reader",
                    "this collector does not read the stream (jetstream_joiner = false): ask one that does");
    auto snap = store->bandit();
    if (js) res.set_header("X-Disco-Stream-Seq", std::to_string(snap->stream_seq));
    if (dim < 0) dim = bundle_bandit_dim();
    if (dim < 0) dim = most_observed_dim(*snap, site->id, cfg.context_version);
    if (dim <= 0) dim = static_cast<int>(disco::kContextDim);
    std::string etag = "\"v" + std::to_string(snap->version) + "\"";
    res.set_header("ETag", etag);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("Vary", "Accept");
    if (req.get_header_value("If-None-Match") == etag) {
      res.status = 304;
      return;
    }
    const disco::FleetStats m = fleet_stats_of(*snap, site->id, cfg.context_version, dim);
    if (req.get_header_value("Accept").find(kBanditStatsType) != std::string::npos) {
      const std::vector<uint8_t> fb = disco::write_fleet_stats(m);
      res.set_content(reinterpret_cast<const char*>(fb.data()), fb.size(), kBanditStatsType);
      return;
    }
    res.set_content(fleet_stats_json(m, cfg.reward_window_ms, js ? static_cast<int64_t>(snap->stream_seq) : -1),
                    "application/json");
  }

  // The published bundle's bytes and strong ETag (re-read when its mtime or size changes); false
  // when there is none. `error` is set when it exists but cannot be read.
  bool current_bundle(std::shared_ptr<const std::string>& bytes, std::string& etag, std::string* error = nullptr) {
    std::string path = cfg.bundle_file();
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return false;
    std::lock_guard<std::mutex> lk(bundle_mu);
    int64_t mt = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (mt != bundle.mtime_ns || st.st_size != bundle.size || !bundle.bytes) {
      std::ifstream in(path, std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        if (error) *error = "cannot read " + path;
        return false;
      }
      bundle.etag = "\"" + sha256_hex(data).substr(0, 32) + "\"";
      bundle.bytes = std::make_shared<const std::string>(std::move(data));
      bundle.mtime_ns = mt;
      bundle.size = st.st_size;
    }
    bytes = bundle.bytes;
    etag = bundle.etag;
    return true;
  }

  void get_bundle(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const std::string> bytes;
    std::string etag, error;
    if (!current_bundle(bytes, etag, &error)) {
      if (!error.empty()) return json_error(res, 500, error);
      return json_error(res, 404, "no bundle published yet (" + cfg.bundle_file() + ")");
    }
    res.set_header("ETag", etag);
    res.set_header("Cache-Control", "no-cache");
    std::string inm = req.get_header_value("If-None-Match");
    if (!inm.empty() && (inm == etag || inm == "*" || inm.find(etag) != std::string::npos)) {
      res.status = 304;
      return;
    }
    res.set_content(*bytes, "application/octet-stream");
  }

  void routes() {
    http.Post("/v1/events", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
      post_events(req, res, r);
    });
    // CORS: browsers post from the shop's origin. Auth is the HMAC, never cookies, so any origin may call.
    http.Options(R"(/v1/.*)", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.set_header("Access-Control-Allow-Headers",
                     "Content-Type, Accept, X-Disco-Key, X-Disco-Timestamp, X-Disco-Signature, If-None-Match");
      res.set_header("Access-Control-Max-Age", "86400");
      res.status = 204;
    });
    http.set_default_headers({{"Access-Control-Allow-Origin", "*"},
                              {"Access-Control-Expose-Headers", "ETag, Retry-After"}});
    http.Get("/v1/bandit-state", [this](const httplib::Request& req, httplib::Response& res) { get_bandit(req, res); });
    http.Get("/v1/bundle", [this](const httplib::Request& req, httplib::Response& res) { get_bundle(req, res); });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      metrics.set_gauge("disco_collector_pending_jobs", static_cast<double>(store->pending_jobs()));
      metrics.set_gauge("disco_collector_replay_cache_entries", static_cast<double>(replay.size()));
      metrics.set_gauge("disco_collector_bandit_version", static_cast<double>(store->bandit()->version));
      if (js) metrics.set_gauge("disco_collector_jetstream_joined_messages", static_cast<double>(js->joined_messages()));
      res.set_content(metrics.render(), "text/plain; version=0.0.4");
    });
    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      bool ok = !js || js->connected();
      json j{{"status", ok ? "ok" : "degraded"}, {"storage", cfg.storage}, {"pending_jobs", store->pending_jobs()}};
      if (js) j["nats_connected"] = js->connected();
      if (js) j["stream_seq"] = js->applied_seq();
      res.status = ok ? 200 : 503;
      res.set_content(j.dump(), "application/json");
    });
    register_checkout_routes(http, cfg);  // POST /v1/checkout (collector/src/checkout.cpp)
    if (!cfg.static_dir.empty()) {
      if (!http.set_mount_point(cfg.static_prefix, cfg.static_dir))
        throw std::runtime_error("static_dir '" + cfg.static_dir + "' is not a readable directory");
      http.set_file_extension_and_mimetype_mapping("wasm", "application/wasm");
      http.set_file_extension_and_mimetype_mapping("mjs", "text/javascript");
      http.set_file_extension_and_mimetype_mapping("disco", "application/octet-stream");
      http.set_file_request_handler([](const httplib::Request& req, httplib::Response& res) {
        bool html = req.path.empty() || req.path.back() == '/' || req.path.ends_with(".html");
        res.set_header("Cache-Control", html ? "no-cache" : "public, max-age=3600");
        res.set_header("X-Content-Type-Options", "nosniff");
      });
    }
    http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "internal error";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      reject(res, 500, "internal", what);
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      std::string path = req.path;
      if (path != "/v1/events" && path != "/v1/bandit-state" && path != "/v1/bundle" && path != "/metrics" &&
          path != "/healthz" && path != "/v1/checkout")
        path = "other";
      metrics.add("disco_collector_requests_total",
                  "path=\"" + path + "\",code=\"" + std::to_string(res.status) + "\"");
    });
    // Connections, timeouts and worker threads are the front's (http_front.h); these only shape
    // what cpp-httplib checks and writes (413 beyond the payload limit, the Keep-Alive header).
    http.set_payload_max_length(cfg.max_body_bytes);
    http.set_keep_alive_max_count(static_cast<size_t>(cfg.keepalive_max));
    http.set_keep_alive_timeout(static_cast<time_t>(std::max<int64_t>(1, cfg.idle_timeout_ms / 1000)));
  }
};

Collector::Collector(Config cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}

Collector::~Collector() {
  stop();
  if (impl_->js) impl_->js->stop();
  impl_->store->stop();
}

int Collector::bind() {
  auto& im = *impl_;
  if (im.cfg.port == 0) {
    im.port = im.http.bind_to_any_port(im.cfg.host);
    if (im.port < 0) throw std::runtime_error("cannot bind to " + im.cfg.host + ":0");
  } else {
    if (!im.http.bind_to_port(im.cfg.host, im.cfg.port))
      throw std::runtime_error("cannot bind to " + im.cfg.host + ":" + std::to_string(im.cfg.port) +
                               " (in use, or not a local address)");
    im.port = im.cfg.port;
  }
  im.http.widen_backlog(1024);
  return im.port;
}

void Collector::serve() { impl_->front->run(impl_->http.listen_socket()); }

void Collector::stop() { impl_->front->stop(); }

}  // namespace disco::collector

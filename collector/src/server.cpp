#include "disco/collector/server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "disco/collector/auth.h"
#include "disco/collector/batch.h"
#include "disco/collector/catalog.h"
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
  RateLimiter key_limits, client_limits;  // write keys (collector/PROTOCOL.md, "Who may send what")
  std::unique_ptr<Checkout> checkout;
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
    std::string catalog_etag;  // the bundle whose catalog is `catalog`
    std::shared_ptr<const Catalog> catalog;
  } bundle;

  std::thread retention;  // retention_days > 0: drops old rows every retention_interval_ms
  std::mutex retention_mu;
  std::condition_variable retention_cv;
  bool retention_stop = false;

  explicit Impl(Config c)
      : cfg(std::move(c)), replay(2 * cfg.replay_window_ms, cfg.replay_cache_max),
        key_limits(cfg.write_key_rate, cfg.write_key_burst, cfg.rate_limit_clients_max),
        client_limits(cfg.client_rate, cfg.client_burst, cfg.rate_limit_clients_max) {
    cfg.enable_key_reload();  // site_by_key & co. read the live key set (reload_keys)
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
    if (cfg.retention_days > 0) run_retention();  // at start, before anything is served
    store->start();
    checkout = std::make_unique<Checkout>(
        cfg, CheckoutDeps{[this] { return catalog(); },
                          [this](const std::string& site, const std::string& order, std::vector<Outcome> o) {
                            return record_outcomes(site, order, std::move(o));
                          },
                          &metrics});
    if (cfg.storage == "jetstream") {
      js = std::make_unique<JetStreamLog>(cfg, &metrics);
      js->start_ticker();
      if (cfg.jetstream_joiner) js->start_joiner(store.get());
    }
    routes();
    if (cfg.retention_days > 0)
      retention = std::thread([this] {
        std::unique_lock<std::mutex> lk(retention_mu);
        while (!retention_cv.wait_for(lk, std::chrono::milliseconds(cfg.retention_interval_ms), [&] { return retention_stop; })) {
          lk.unlock();
          try {
            run_retention();
          } catch (const std::exception& e) {
            metrics.add("disco_collector_retention_errors_total", "");
            std::fprintf(stderr, "disco-collector: retention: %s\n", e.what());
          }
          lk.lock();
        }
      });
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

  void stop_retention() {
    {
      std::lock_guard<std::mutex> lk(retention_mu);
      retention_stop = true;
    }
    retention_cv.notify_all();
    if (retention.joinable()) retention.join();
  }

  // Retention (collector/PROTOCOL.md): every row older than retention_days goes.
  void run_retention() {
    const SqliteStore::EraseCounts c = store->drop_older_than(wall_ms() - cfg.retention_days * 86400000);
    erased_metrics("disco_collector_retention_deleted_total", c);
  }
  void erased_metrics(const char* name, const SqliteStore::EraseCounts& c) {
    for (auto [table, n] : {std::pair{"events", c.events}, {"decisions", c.decisions}, {"outcomes", c.outcomes},
                            {"activations", c.activations}, {"reported_outcomes", c.reported_outcomes}, {"batches", c.batches}})
      if (n) metrics.add(name, std::string("table=\"") + table + "\"", n);
  }

  static std::string auth_value(const httplib::Request& req, const char* header, const char* param) {
    return req.has_header(header) ? req.get_header_value(header) : req.get_param_value(param);
  }

  // A signed request (store server, edge): x-disco-key, x-disco-timestamp in the replay window,
  // x-disco-signature = HMAC(one of the site's keys, timestamp + "." + signed_part), the key named
  // by X-Disco-Key-Id when sent; then the replay cache. False: `res` holds the refusal.
  bool check_signed(const httplib::Request& req, httplib::Response& res, std::string_view signed_part,
                    const Site*& site, std::string& sig_key) {
    const int64_t now = wall_ms();
    AuthCheck a = check_signed_headers(cfg, auth_value(req, "x-disco-key", "disco_key"),
                                       auth_value(req, "x-disco-timestamp", "disco_ts"),
                                       auth_value(req, "x-disco-signature", "disco_sig"),
                                       auth_value(req, "x-disco-key-id", "disco_kid"), signed_part, now);
    if (!a.ok) return reject(res, a.status, a.reason, a.error, a.field), false;
    site = a.site;
    sig_key = std::move(a.replay_key);
    switch (replay.check_and_insert(sig_key, now)) {
      case ReplayCache::Result::Replayed:
        return reject(res, 409, "replay", "replayed request: this signature was already received; sign each send with a fresh timestamp"), false;
      case ReplayCache::Result::Full:
        res.set_header("Retry-After", "1");
        return reject(res, 503, "replay_cache_full", "too many requests in the replay window; retry later"), false;
      case ReplayCache::Result::Fresh: break;
    }
    return true;
  }

  static bool is_signed(const httplib::Request& req) {
    return req.has_header("x-disco-signature") || req.has_param("disco_sig");
  }

  // A browser page with a public write key: its Origin must be allowed; token buckets per client
  // and per key (429 beyond). False: `res` holds the refusal.
  bool check_write_key(const httplib::Request& req, httplib::Response& res, const Site*& site, std::string* code = nullptr) {
    auto reject = [&](httplib::Response& r, int status, const std::string& reason, const std::string& error,
                      const std::string& field) {
      if (code) *code = reason;
      this->reject(r, status, reason, error, field);
    };
    std::string fwd;
    std::string_view fwd_view;
    const bool forwarded = !cfg.client_ip_header.empty() && req.has_header(cfg.client_ip_header.c_str());
    if (forwarded) fwd_view = fwd = req.get_header_value(cfg.client_ip_header.c_str());
    AuthCheck a = check_write_key_headers(cfg, auth_value(req, "x-disco-write-key", "disco_write_key"),
                                          req.get_header_value("Origin"), req.remote_addr, forwarded ? &fwd_view : nullptr);
    if (!a.ok) return reject(res, a.status, a.reason, a.error, a.field), false;
    const WriteKey* wk = a.write_key;
    const std::string& client = a.client;
    const int64_t now = wall_ms();
    int64_t wait_ms = 0;
    const char* which = !client_limits.take(wk->key + "|" + client, now, &wait_ms) ? "client"
                        : !key_limits.take(wk->key, now, &wait_ms)                ? "write_key"
                                                                                   : nullptr;
    if (which) {
      res.set_header("Retry-After", std::to_string(std::max<int64_t>(1, (wait_ms + 999) / 1000)));
      return reject(res, 429, std::string("rate_limited_") + which,
                    std::string("rate limited: too many requests for this ") + which + "; retry after Retry-After seconds",
                    which), false;
    }
    site = a.site;
    return true;
  }

  // The served bundle's catalog (cached by the bundle's ETag), or null.
  std::shared_ptr<const Catalog> catalog() {
    std::shared_ptr<const std::string> bytes;
    std::string etag;
    if (!current_bundle(bytes, etag)) return nullptr;
    std::lock_guard<std::mutex> lk(bundle_mu);
    if (bundle.catalog_etag != etag) {
      auto c = std::make_shared<Catalog>();
      if (!read_bundle_catalog(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), c->items, c->order, nullptr))
        c.reset();
      else
        read_bundle_arm_kinds(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), c->arm_kinds);
      bundle.catalog = std::move(c);
      bundle.catalog_etag = etag;
    }
    return bundle.catalog;
  }

  // The outcomes of a checkout's applied offers, into the joined log (rewards): "" or why not.
  std::string record_outcomes(const std::string& site, const std::string& order_id, std::vector<Outcome> outs) {
    auto b = std::make_shared<Batch>();
    b->sender_id = "checkout";
    std::string key = site + "\ncheckout\n" + order_id;
    for (const Outcome& o : outs) key.append("\n").append(o.id.hex());
    b->outcomes = std::move(outs);
    const std::string hash = sha256_hex(key);
    if (js) {
      PublishResult pr = js->publish(site, hash, encode_flatbuffers(*b), cfg.storage_timeout_ms);
      return pr.ok ? "" : "JetStream publish failed: " + pr.error;
    }
    auto fut = store->submit(site, hash, b);
    if (!fut.valid()) return "storage queue is full";
    if (fut.wait_for(std::chrono::milliseconds(cfg.storage_timeout_ms)) != std::future_status::ready)
      return "storage did not commit in time";
    ApplyOutcome out = fut.get();
    if (out.ok) metrics.add("disco_collector_checkout_outcomes_total", "", out.result.outcomes.accepted);
    return out.ok ? "" : out.error;
  }

  // DELETE /v1/shoppers/{user_key} (collector/PROTOCOL.md): signed over "DELETE /v1/shoppers/KEY".
  void delete_shopper(const httplib::Request& req, httplib::Response& res) {
    const std::string seg = req.matches[1];
    uint64_t user_key = 0;
    auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), user_key);
    if (seg.empty() || ec != std::errc() || p != seg.data() + seg.size())
      return reject(res, 400, "bad_user_key", "user_key must be the decimal uint64 of the records' user_key", "user_key");
    const Site* site = nullptr;
    std::string sig_key;
    if (!check_signed(req, res, "DELETE /v1/shoppers/" + seg, site, sig_key)) return;
    SqliteStore::EraseCounts c;
    try {
      c = store->erase_shopper(site->id, user_key);
    } catch (const std::exception& e) {
      replay.forget(sig_key);
      res.set_header("Retry-After", "1");
      return reject(res, 503, "storage_error", std::string("storage failed: ") + e.what());
    }
    metrics.add("disco_collector_shoppers_erased_total", "");
    erased_metrics("disco_collector_shopper_rows_deleted_total", c);
    json j{{"deleted", {{"events", c.events}, {"decisions", c.decisions}, {"outcomes", c.outcomes},
                        {"activations", c.activations}, {"reported_outcomes", c.reported_outcomes}}},
           {"bandit_contributions_kept", c.bandit_kept}};
    res.set_content(j.dump(), "application/json");
  }

  void post_checkout(const httplib::Request& req, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    // the checkout's error form: {"error": code, "message", "field"?}
    auto refuse = [&](int status, const std::string& code, const std::string& message, const std::string& field = "") {
      json j{{"error", code}, {"message", message}};
      if (!field.empty()) j["field"] = field;
      res.status = status;
      res.set_content(j.dump(), "application/json");
    };
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0)
      return refuse(415, "content_type", "Content-Type must be application/json");
    const Site* site = nullptr;
    std::string code;
    if (req.has_header("x-disco-write-key")) {
      if (!check_write_key(req, res, site, &code)) {
        json j = json::parse(res.body, nullptr, false);
        return refuse(res.status, code, j.value("error", ""), j.value("field", ""));
      }
    } else if (!(site = cfg.site_by_key(req.get_header_value("x-disco-key")))) {
      return refuse(401, "unknown_key", "missing or unknown x-disco-key (or X-Disco-Write-Key)", "x-disco-key");
    }
    CheckoutReply r = checkout->handle(*site, req.body, wall_ms());
    res.status = r.status;
    res.set_content(r.body, "application/json");
  }

  void post_events(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    // 0. A browser with a write key: origin and rate limits before the body is read.
    const Site* site = nullptr;
    const bool by_write_key = !is_signed(req) && (req.has_header("x-disco-write-key") || req.has_param("disco_write_key"));
    if (by_write_key && !check_write_key(req, res, site)) return;
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
    //    disco_key, disco_ts, disco_sig (disco_kid); or the write key checked above.
    std::string sig_key;
    if (!by_write_key && !check_signed(req, res, body, site, sig_key)) return;
    // 4. Parse and validate.
    auto batch = std::make_shared<Batch>();
    ParseError perr;
    bool ok = is_fb ? parse_flatbuffers_batch(body, *batch, perr, limits) : parse_json_batch(body, *batch, perr, limits);
    if (!ok) {
      replay.forget(sig_key);
      return reject(res, perr.too_large ? 413 : 400, perr.reason, perr.message, perr.field);
    }
    if (by_write_key) from_page(*batch);
    // the same for every resend (re-stamped sent_at_ms); a write-key batch never shares an id with a
    // signed one (its content cannot pre-empt a server's)
    std::string hash = batch_id(by_write_key ? site->id + "\nwrite-key" : site->id, *batch);
    metrics.add("disco_collector_batches_total", is_fb ? "format=\"flatbuffers\"" : "format=\"json\"");
    // 5. Durable storage, then the answer.
    if (js) {
      if (!by_write_key) return publish(res, *site, hash, *batch, is_fb ? body : encode_flatbuffers(*batch), sig_key, false);
      // A write-key batch goes to the stream with its reported outcomes in the outcomes field and
      // the Disco-Reported header (JetStreamLog::publish): every reader keeps them apart again.
      std::swap(batch->outcomes, batch->reported_outcomes);
      const std::string payload = encode_flatbuffers(*batch);
      std::swap(batch->outcomes, batch->reported_outcomes);
      return publish(res, *site, hash, *batch, payload, sig_key, true);
    }
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
    if (r.reported_outcomes) metrics.add("disco_collector_reported_outcomes_total", "stored=\"yes\"", r.reported_outcomes);
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
    if (by_write_key) j["reported_outcomes"] = r.reported_outcomes;
    res.status = 200;
    res.set_content(j.dump(), "application/json");
  }

  // What a write key may not do (collector/PROTOCOL.md): its outcomes are kept apart, and its
  // decisions are priced from the served bundle's catalog (price 0 for an item not in it), so the
  // reward's price divisor is never the page's.
  void from_page(Batch& b) {
    b.reported_outcomes = std::move(b.outcomes);
    b.outcomes.clear();
    if (js && !b.reported_outcomes.empty())  // stored by each stream reader (reported_outcomes table)
      metrics.add("disco_collector_reported_outcomes_total", "stored=\"stream\"", b.reported_outcomes.size());
    if (b.decisions.empty()) return;
    std::shared_ptr<const Catalog> cat = catalog();
    for (Decision& d : b.decisions) {
      const CatalogItem* it = cat ? cat->find(d.item_id) : nullptr;
      if (!it) metrics.add("disco_collector_write_key_unpriced_decisions_total", "");
      d.price = it ? it->price : 0.0;
      d.cost = it ? std::max(0.0, it->cost) : 0.0;
    }
  }

  void publish(httplib::Response& res, const Site& site, const std::string& hash, const Batch& b,
               const std::string& payload, const std::string& sig_key, bool reported) {
    auto t0 = std::chrono::steady_clock::now();
    PublishResult pr = js->publish(site.id, hash, payload, cfg.storage_timeout_ms, reported);
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
      res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
      res.set_header("Access-Control-Allow-Headers",
                     "Content-Type, Accept, X-Disco-Key, X-Disco-Timestamp, X-Disco-Signature, X-Disco-Key-Id, "
                     "X-Disco-Write-Key, If-None-Match");
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
    http.Post("/v1/checkout", [this](const httplib::Request& req, httplib::Response& res) { post_checkout(req, res); });
    http.Delete(R"(/v1/shoppers/([^/]*))", [this](const httplib::Request& req, httplib::Response& res) { delete_shopper(req, res); });
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
        path = path.rfind("/v1/shoppers/", 0) == 0 ? "/v1/shoppers" : "other";
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
  impl_->stop_retention();
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

std::string Collector::reload_keys(const std::vector<std::string>& serve_args) {
  auto& im = *impl_;
  Config fresh;
  try {
    fresh = parse_config_args(serve_args);
    check_config(fresh);
  } catch (const ConfigError&) {
    im.metrics.add("disco_collector_key_reloads_total", "result=\"error\"");
    throw;
  }
  const size_t n = im.cfg.replace_keys(fresh);
  im.metrics.add("disco_collector_key_reloads_total", "result=\"ok\"");
  size_t keys = 0;
  for (const Site& s : fresh.sites) s.for_each_key([&](std::string_view, std::string_view) { ++keys; });
  return "keys reloaded (set " + std::to_string(n) + "): " + std::to_string(fresh.sites.size()) + " sites, " +
         std::to_string(keys) + " site keys, " + std::to_string(fresh.write_keys.size()) + " write keys";
}

}  // namespace disco::collector

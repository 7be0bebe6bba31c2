// Collector configuration: a key = value file (see collector/README.md) overridden by flags
// (--key-name value sets key_name). Unknown keys, bad values and missing sites are errors that
// name the file and line.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "disco/context.h"

namespace disco::collector {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One HMAC key of a site: the id a signed request names in X-Disco-Key-Id (collector/PROTOCOL.md,
// "Site keys with ids, rotation").
struct SiteKey {
  std::string id, secret;
};

struct Site {
  std::string id, api_key, secret;  // secret: the site line's key, id "0" (may be empty when keys has some)
  std::vector<SiteKey> keys{};      // further keys (site_key = ID:KEY_ID:SECRET)
  // Calls f(key_id, secret) for every key of the site, the site line's first.
  template <class F>
  void for_each_key(F&& f) const {
    if (!secret.empty()) f(std::string_view("0"), std::string_view(secret));
    for (const SiteKey& k : keys) f(std::string_view(k.id), std::string_view(k.secret));
  }
};

// A public write key for browser pages (collector/PROTOCOL.md, "Who may send what"): the site it
// writes to and the page origins allowed to use it ("*": any).
struct WriteKey {
  std::string site, key;
  std::vector<std::string> origins;
  bool allows(const std::string& origin) const;
};

// The keys a running collector accepts: its sites (with their HMAC keys) and its write keys.
// `serve` re-reads them on SIGHUP (collector/README.md, "Key rotation without a restart").
struct KeySet {
  std::vector<Site> sites;
  std::vector<WriteKey> write_keys;
};
struct LiveKeys;  // the key set in force, shared by the copies of one Config (config.cpp)

struct Config {
  std::string host = "127.0.0.1";
  int port = 8080;                        // 0 = any free port (printed at start)
  std::string data_dir = "collector-data";
  std::vector<Site> sites;
  // POST /v1/checkout's shipping line (collector/README.md): a flat fee per order, waived by a
  // free-shipping item offer or cart coupon, or when the goods total after discounts reaches
  // free_shipping_over (0 = no threshold). shipping_fee 0: no shipping is charged (the default).
  double shipping_fee = 0;
  double free_shipping_over = 0;
  int64_t reward_window_ms = 3600 * 1000; // outcomes later than this after their decision are late
  int64_t sweep_interval_ms = 1000;       // how often windows are closed with the default reward
  int64_t replay_window_ms = 5 * 60 * 1000;
  size_t replay_cache_max = 500000;       // signatures remembered, ~200 B each (503 beyond: never forget early)
  size_t max_body_bytes = 4 << 20;        // larger bodies: 413
  size_t max_rows = 10000;                // rows per batch: 413 beyond
  size_t max_context = 256;
  std::string storage = "sqlite";         // sqlite | jetstream
  std::string sqlite_synchronous = "full";// full | normal (see README: durability)
  size_t group_commit_max_jobs = 512;     // requests folded into one transaction at most
  size_t max_pending_jobs = 4096;         // queued requests beyond this: 503 + Retry-After
  int64_t storage_timeout_ms = 30000;     // a request waits this long for its commit, then 503
  std::string nats_urls = "nats://127.0.0.1:4222";
  std::string nats_stream = "DISCO_EVENTS";
  int nats_replicas = 3;
  bool jetstream_joiner = true;           // this collector also consumes the stream into its joined log
  std::string static_dir;                 // served under static_prefix when set
  std::string static_prefix = "/";
  std::string bundle_path;                // default: <data_dir>/bundle.disco
  // Connections (collector/README.md "Connections"): one epoll thread reads every request whole
  // under these limits; only complete requests reach the http_threads workers.
  int http_threads = 32;                  // workers running the routes (not one per connection)
  size_t max_connections = 10000;         // open connections at most; beyond: 503 + close
  int64_t idle_timeout_ms = 5000;         // a connection with no request started is closed after this
  int64_t header_timeout_ms = 10000;      // the whole header block must arrive within this (408)
  int64_t read_timeout_ms = 5000;         // a started request with no byte for this long: 408
  int64_t body_timeout_ms = 10000;        // a whole request body must arrive within this (408)
  int64_t write_timeout_ms = 10000;       // one answer must be written within this, else closed
  size_t max_header_bytes = 16384;        // request line + headers; 431 beyond
  size_t max_buffered_bytes = size_t{256} << 20;  // all connections' request buffers; 503 beyond
  int keepalive_max = 1000;               // requests per keep-alive connection
  // Context feature set the edges compute (runtime/include/disco/context.h); the fleet statistics
  // are kept and served per value. Default: the one of the runtime this collector was built with.
  int context_version = static_cast<int>(disco::kContextVersion);
  // Browser senders (write keys) and their token-bucket rate limits (requests per second, burst).
  std::vector<WriteKey> write_keys;
  double write_key_rate = 200, write_key_burst = 400;  // per write key
  double client_rate = 2, client_burst = 20;           // per client address
  size_t rate_limit_clients_max = 100000;               // buckets kept (idle ones dropped first)
  std::string client_ip_header;                         // e.g. X-Forwarded-For behind a proxy; empty: the peer address
  // Retention: rows older than retention_days are dropped at start and every retention_interval_ms (0: keep).
  int64_t retention_days = 0;
  int64_t retention_interval_ms = 3600 * 1000;

  std::string bundle_file() const { return bundle_path.empty() ? data_dir + "/bundle.disco" : bundle_path; }
  // Look-ups in the key set in force: `sites` / `write_keys`, or, once enable_key_reload() was
  // called, the last set replace_keys() installed. A returned pointer stays valid for the life of
  // the Config (replaced sets are kept, so a request in flight never reads freed keys).
  const Site* site_by_key(const std::string& key) const;
  const Site* site_by_id(const std::string& id) const;
  const WriteKey* write_key(const std::string& key) const;
  // From now on the look-ups read a live key set (initially `sites` and `write_keys`), shared by
  // this Config's copies made after this call.
  void enable_key_reload();
  // Installs fresh.sites and fresh.write_keys (check_config(fresh) must have passed) as the live
  // key set, atomically for every reader: a removed key is refused from the next request on.
  // Returns how many key sets have been installed so far (the first, at enable: 1).
  size_t replace_keys(const Config& fresh);
  // The key set in force (a copy).
  KeySet keys() const;

  std::shared_ptr<LiveKeys> live;  // null until enable_key_reload()
};

// Sets one key (as in the file); `where` prefixes errors ("collector.conf:12").
void set_config_value(Config& c, const std::string& key, const std::string& value, const std::string& where);
void load_config_file(Config& c, const std::string& path);
// Parses flags (argv after the subcommand); --config FILE is read first, then the other flags.
Config parse_config_args(const std::vector<std::string>& args);
void check_config(const Config& c);  // throws ConfigError when unusable (no sites, bad storage ...)
std::string config_usage();

}  // namespace disco::collector

#include "disco/collector/config.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <charconv>
#include <cstdlib>
#include <map>
#include <fstream>

namespace disco::collector {
namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

template <class T>
T to_int(const std::string& v, const std::string& key, const std::string& where, T lo, T hi) {
  T x{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || x < lo || x > hi)
    throw ConfigError(where + ": " + key + " = '" + v + "': expected an integer in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]");
  return x;
}

// A token-bucket setting: a finite number in [lo, 1e7] (requests per second, or a burst).
double to_rate(const std::string& v, const std::string& key, const std::string& where, double lo) {
  char* end = nullptr;
  const double x = v.empty() ? 0 : std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !(x >= lo && x <= 1e7))
    throw ConfigError(where + ": " + key + " = '" + v + "': expected a number in [" + (lo < 1 ? "0.000001" : "1") + ", 1e7]");
  return x;
}

// A money amount: a finite number in [0, 1e7] (currency units).
double to_money(const std::string& v, const std::string& key, const std::string& where) {
  char* end = nullptr;
  const double x = v.empty() ? 0 : std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !(x >= 0 && x <= 1e7))
    throw ConfigError(where + ": " + key + " = '" + v + "': expected an amount in [0, 1e7] (currency units, e.g. 4.90)");
  return x;
}

bool to_bool(const std::string& v, const std::string& key, const std::string& where) {
  if (v == "true" || v == "1" || v == "on" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "off" || v == "no") return false;
  throw ConfigError(where + ": " + key + " = '" + v + "': expected true or false");
}

}  // namespace

// The live key set: readers load one pointer (no lock on the request path); a reload installs a
// new set and keeps the old ones, so a pointer a reader took stays valid (a reload is an
// operator's action: a few hundred bytes per site and reload).
struct LiveKeys {
  std::atomic<const KeySet*> current{nullptr};
  std::mutex mu;
  std::vector<std::unique_ptr<const KeySet>> all;
  size_t install(KeySet k) {
    std::lock_guard<std::mutex> lk(mu);
    all.push_back(std::make_unique<const KeySet>(std::move(k)));
    current.store(all.back().get(), std::memory_order_release);
    return all.size();
  }
};

namespace {
const std::vector<Site>& sites_in_force(const Config& c) {
  return c.live ? c.live->current.load(std::memory_order_acquire)->sites : c.sites;
}
const std::vector<WriteKey>& write_keys_in_force(const Config& c) {
  return c.live ? c.live->current.load(std::memory_order_acquire)->write_keys : c.write_keys;
}
}  // namespace

const Site* Config::site_by_key(const std::string& key) const {
  for (const Site& s : sites_in_force(*this))
    if (s.api_key == key) return &s;
  return nullptr;
}
const Site* Config::site_by_id(const std::string& id) const {
  for (const Site& s : sites_in_force(*this))
    if (s.id == id) return &s;
  return nullptr;
}

const WriteKey* Config::write_key(const std::string& key) const {
  for (const WriteKey& w : write_keys_in_force(*this))
    if (!key.empty() && w.key == key) return &w;
  return nullptr;
}

void Config::enable_key_reload() {
  if (live) return;
  live = std::make_shared<LiveKeys>();
  live->install(KeySet{sites, write_keys});
}

size_t Config::replace_keys(const Config& fresh) {
  if (!live) enable_key_reload();
  return live->install(KeySet{fresh.sites, fresh.write_keys});
}

KeySet Config::keys() const { return KeySet{sites_in_force(*this), write_keys_in_force(*this)}; }
bool WriteKey::allows(const std::string& origin) const {
  for (const std::string& o : origins)
    if (o == "*" || (!origin.empty() && o == origin)) return true;
  return false;
}

void set_config_value(Config& c, const std::string& key, const std::string& value, const std::string& where) {
  const std::string& v = value;
  constexpr int64_t kBig = int64_t{1} << 50;
  if (key == "listen") {
    size_t colon = v.rfind(':');
    if (colon == std::string::npos) throw ConfigError(where + ": listen = '" + v + "': expected HOST:PORT");
    c.host = v.substr(0, colon);
    c.port = to_int<int>(v.substr(colon + 1), key, where, 0, 65535);
  } else if (key == "host") c.host = v;
  else if (key == "port") c.port = to_int<int>(v, key, where, 0, 65535);
  else if (key == "data_dir" || key == "data") c.data_dir = v;
  else if (key == "site") {
    size_t a = v.find(':'), b = a == std::string::npos ? a : v.find(':', a + 1);
    if (a == std::string::npos) b = a = v.size();  // ID:API_KEY (keys from site_key lines)
    else if (b == std::string::npos) b = v.size();
    Site s{v.substr(0, a), v.substr(std::min(a + 1, v.size()), b - std::min(a + 1, v.size())),
           b < v.size() ? v.substr(b + 1) : "", {}};
    if (s.id.empty() || s.api_key.empty() || (b < v.size() && s.secret.size() < 16))
      throw ConfigError(where + ": site = '" + s.id + ":...': expected ID:API_KEY:SECRET (secret at least 16 characters) "
                        "or ID:API_KEY with its keys in site_key lines");
    for (const Site& o : c.sites)
      if (o.id == s.id || o.api_key == s.api_key)
        throw ConfigError(where + ": site '" + s.id + "': duplicate site id or api key");
    c.sites.push_back(std::move(s));
  }
  else if (key == "site_key" || key == "write_key") {
    // site_key = SITE_ID:KEY_ID:SECRET ; write_key = SITE_ID:WRITE_KEY:ORIGIN[,ORIGIN...]
    size_t a = v.find(':'), b = a == std::string::npos ? a : v.find(':', a + 1);
    const std::string form = key == "site_key" ? "SITE_ID:KEY_ID:SECRET" : "SITE_ID:WRITE_KEY:ORIGIN[,ORIGIN...]";
    if (b == std::string::npos || a == 0 || b == a + 1 || b + 1 == v.size())
      throw ConfigError(where + ": " + key + " = '" + v.substr(0, a) + ":...': expected " + form);
    const std::string site = v.substr(0, a), id = v.substr(a + 1, b - a - 1), rest = v.substr(b + 1);
    Site* s = nullptr;
    for (Site& o : c.sites)
      if (o.id == site) s = &o;
    if (!s) throw ConfigError(where + ": " + key + ": no site '" + site + "' (put its site = line first)");
    if (key == "site_key") {
      for (char ch : id)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-')
          throw ConfigError(where + ": site_key '" + id + "': a key id is 1..64 of A-Z a-z 0-9 . _ -");
      if (id.size() > 64 || rest.size() < 16)
        throw ConfigError(where + ": site_key '" + id + "': key id of at most 64 characters, secret of at least 16");
      bool dup = id == "0" && !s->secret.empty();
      for (const SiteKey& k : s->keys) dup = dup || k.id == id;
      if (dup) throw ConfigError(where + ": site_key '" + id + "': site '" + site + "' already has a key with this id");
      s->keys.push_back({id, rest});
    } else {
      WriteKey w{site, id, {}};
      for (size_t p = 0; p <= rest.size();) {
        size_t q = rest.find(',', p);
        if (q == std::string::npos) q = rest.size();
        std::string o = trim(rest.substr(p, q - p));
        if (o.empty() || (o != "*" && (o.find("://") == std::string::npos || o.back() == '/')))
          throw ConfigError(where + ": write_key origin '" + o + "': expected SCHEME://HOST[:PORT] (no path) or *");
        w.origins.push_back(o);
        p = q + 1;
      }
      for (const WriteKey& o : c.write_keys)
        if (o.key == id) throw ConfigError(where + ": write_key: duplicate write key");
      for (const Site& o : c.sites)
        if (o.api_key == id) throw ConfigError(where + ": write_key: the same as a site's api key");
      c.write_keys.push_back(std::move(w));
    }
  }
  else if (key == "write_key_rate") c.write_key_rate = to_rate(v, key, where, 1e-6);
  else if (key == "write_key_burst") c.write_key_burst = to_rate(v, key, where, 1);
  else if (key == "client_rate") c.client_rate = to_rate(v, key, where, 1e-6);
  else if (key == "client_burst") c.client_burst = to_rate(v, key, where, 1);
  else if (key == "rate_limit_clients_max") c.rate_limit_clients_max = to_int<size_t>(v, key, where, 16, size_t{1} << 26);
  else if (key == "client_ip_header") c.client_ip_header = v;
  else if (key == "retention_days") c.retention_days = to_int<int64_t>(v, key, where, 0, 100000);
  else if (key == "retention_interval_ms") c.retention_interval_ms = to_int<int64_t>(v, key, where, 1000, kBig);
  else if (key == "shipping_fee") c.shipping_fee = to_money(v, key, where);
  else if (key == "free_shipping_over") c.free_shipping_over = to_money(v, key, where);
  else if (key == "reward_window_ms") c.reward_window_ms = to_int<int64_t>(v, key, where, 1, kBig);
  else if (key == "sweep_interval_ms") c.sweep_interval_ms = to_int<int64_t>(v, key, where, 10, kBig);
  else if (key == "replay_window_ms") c.replay_window_ms = to_int<int64_t>(v, key, where, 1000, kBig);
  else if (key == "replay_cache_max") c.replay_cache_max = to_int<size_t>(v, key, where, 16, size_t{1} << 32);
  else if (key == "max_body_bytes") c.max_body_bytes = to_int<size_t>(v, key, where, 1024, size_t{1} << 32);
  else if (key == "max_rows") c.max_rows = to_int<size_t>(v, key, where, 1, size_t{1} << 24);
  else if (key == "max_context") c.max_context = to_int<size_t>(v, key, where, 0, 65536);
  else if (key == "storage") {
    if (v != "sqlite" && v != "jetstream") throw ConfigError(where + ": storage = '" + v + "': expected sqlite or jetstream");
    c.storage = v;
  } else if (key == "sqlite_synchronous") {
    if (v != "full" && v != "normal") throw ConfigError(where + ": sqlite_synchronous = '" + v + "': expected full or normal");
    c.sqlite_synchronous = v;
  }
  else if (key == "group_commit_max_jobs") c.group_commit_max_jobs = to_int<size_t>(v, key, where, 1, 1 << 20);
  else if (key == "max_pending_jobs") c.max_pending_jobs = to_int<size_t>(v, key, where, 1, 1 << 24);
  else if (key == "storage_timeout_ms") c.storage_timeout_ms = to_int<int64_t>(v, key, where, 10, kBig);
  else if (key == "nats_urls") c.nats_urls = v;
  else if (key == "nats_stream") c.nats_stream = v;
  else if (key == "nats_replicas") c.nats_replicas = to_int<int>(v, key, where, 1, 5);
  else if (key == "jetstream_joiner") c.jetstream_joiner = to_bool(v, key, where);
  else if (key == "static_dir") c.static_dir = v;
  else if (key == "static_prefix") c.static_prefix = v;
  else if (key == "bundle_path") c.bundle_path = v;
  else if (key == "http_threads") c.http_threads = to_int<int>(v, key, where, 2, 4096);
  else if (key == "read_timeout_ms") c.read_timeout_ms = to_int<int64_t>(v, key, where, 10, kBig);
  else if (key == "body_timeout_ms") c.body_timeout_ms = to_int<int64_t>(v, key, where, 10, kBig);
  else if (key == "max_connections") c.max_connections = to_int<size_t>(v, key, where, 1, size_t{1} << 20);
  else if (key == "idle_timeout_ms") c.idle_timeout_ms = to_int<int64_t>(v, key, where, 10, kBig);
  else if (key == "header_timeout_ms") c.header_timeout_ms = to_int<int64_t>(v, key, where, 10, kBig);
  else if (key == "write_timeout_ms") c.write_timeout_ms = to_int<int64_t>(v, key, where, 10, kBig);
  else if (key == "max_header_bytes") c.max_header_bytes = to_int<size_t>(v, key, where, 1024, size_t{1} << 24);
  else if (key == "max_buffered_bytes") c.max_buffered_bytes = to_int<size_t>(v, key, where, size_t{1} << 20, size_t{1} << 40);
  else if (key == "keepalive_max") c.keepalive_max = to_int<int>(v, key, where, 1, 1 << 30);
  else if (key == "context_version") c.context_version = to_int<int>(v, key, where, 1, 65535);
  else throw ConfigError(where + ": unknown key '" + key + "'");
}

void load_config_file(Config& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open the config file");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t eq = t.find('=');
    std::string where = path + ":" + std::to_string(n);
    if (eq == std::string::npos) throw ConfigError(where + ": expected key = value");
    set_config_value(c, trim(t.substr(0, eq)), trim(t.substr(eq + 1)), where);
  }
}

// Every key set_config_value knows; each is also a flag (--reward-window-ms and --reward_window_ms).
const char* const kConfigKeys[] = {
    "listen", "host", "port", "data_dir", "data", "site", "reward_window_ms", "sweep_interval_ms", "replay_window_ms",
    "replay_cache_max", "max_body_bytes", "max_rows", "max_context", "storage", "sqlite_synchronous",
    "group_commit_max_jobs", "max_pending_jobs", "storage_timeout_ms", "nats_urls", "nats_stream", "nats_replicas",
    "jetstream_joiner", "static_dir", "static_prefix", "bundle_path", "http_threads", "read_timeout_ms",
    "body_timeout_ms", "keepalive_max", "context_version", "max_connections", "idle_timeout_ms", "header_timeout_ms",
    "write_timeout_ms", "max_header_bytes", "max_buffered_bytes", "site_key", "write_key", "write_key_rate",
    "write_key_burst", "client_rate", "client_burst", "rate_limit_clients_max", "client_ip_header", "retention_days",
    "retention_interval_ms", "shipping_fee", "free_shipping_over"};

Config parse_config_args(const std::vector<std::string>& args) {
  CLI::App app{"disco-collector serve", "disco-collector serve"};
  app.set_help_flag();
  std::vector<std::string> configs;
  app.add_option("--config", configs)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::map<const CLI::Option*, std::string> key_of;
  for (const char* key : kConfigKeys) {
    std::string dashed = key;
    for (char& ch : dashed)
      if (ch == '_') ch = '-';
    std::string names = "--" + dashed;
    if (dashed != key) names += std::string(",--") + key;
    CLI::Option* o = app.add_option(names)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    key_of[o] = key;
  }
  try {
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));  // CLI11 takes them last first
  } catch (const CLI::ParseError& e) {
    throw ConfigError(e.what());
  }
  // The config files first, then the flags in command-line order (flags win).
  Config c;
  for (const std::string& f : configs) load_config_file(c, f);
  std::map<const CLI::Option*, size_t> next;
  for (const CLI::Option* o : app.parse_order()) {
    const auto it = key_of.find(o);
    if (it == key_of.end()) continue;
    const size_t i = next[o]++;
    set_config_value(c, it->second, o->results().at(i), "flag --" + it->second);
  }
  return c;
}

void check_config(const Config& c) {
  if (c.sites.empty())
    throw ConfigError("no sites configured: add 'site = ID:API_KEY:SECRET' to the config file or --site ID:KEY:SECRET");
  if (c.data_dir.empty()) throw ConfigError("data_dir is empty");
  for (const Site& s : c.sites)
    if (s.secret.empty() && s.keys.empty())
      throw ConfigError("site '" + s.id + "' has no key: give it one in its site line (ID:API_KEY:SECRET) or a site_key line");
  if (c.retention_days > 0 && c.retention_days * 86400000 <= c.reward_window_ms)
    throw ConfigError("retention_days = " + std::to_string(c.retention_days) + " is not longer than reward_window_ms = " +
                      std::to_string(c.reward_window_ms) + ": decisions would be dropped before their reward is known");
#ifndef DISCO_COLLECTOR_WITH_NATS
  if (c.storage == "jetstream") throw ConfigError("storage = jetstream: this build has no libnats (apt-get install libnats-dev)");
#endif
}

std::string config_usage() {
  return R"(disco-collector serve [--config FILE] [--key value ...]
disco-collector export --data DIR --canonical OUT_DIR [--site ID] [--bundle FILE] [--include-pending]
disco-collector export --data DIR --out FILE.csv [--include-pending]   (export --help: the files)

Every config-file key is also a flag (--reward-window-ms 60000 sets reward_window_ms):
  listen HOST:PORT | host, port      data_dir DIR             site ID:API_KEY:SECRET (repeatable)
  reward_window_ms, sweep_interval_ms, replay_window_ms, replay_cache_max
  max_body_bytes, max_rows, max_context
  storage sqlite|jetstream           sqlite_synchronous full|normal
  group_commit_max_jobs, max_pending_jobs, storage_timeout_ms
  nats_urls URL[,URL...]             nats_stream NAME    nats_replicas N    jetstream_joiner true|false
  static_dir DIR, static_prefix /    bundle_path FILE (default DATA/bundle.disco)
  connections (defaults; collector/README.md "Connections"):
    max_connections 10000 (503 beyond)   http_threads 32 (workers, not per connection)
    idle_timeout_ms 5000 (keep-alive idle: close)   header_timeout_ms 10000 (headers: 408)
    read_timeout_ms 5000 (no byte in a request: 408)   body_timeout_ms 10000 (body: 408)
    write_timeout_ms 10000 (one answer)   max_header_bytes 16384 (431)   keepalive_max 1000
    max_buffered_bytes 268435456 (all request buffers together: 503 beyond)
  context_version N (default: the linked runtime's context feature set)
  shipping_fee 0 (the checkout's flat shipping fee per order; 0 = no shipping line charged)
  free_shipping_over 0 (orders whose goods total after discounts reaches it ship free; 0 = never)
  site_key ID:KEY_ID:SECRET (repeatable: more keys of a site, named by X-Disco-Key-Id; rotation)
  write_key ID:WRITE_KEY:ORIGIN[,ORIGIN] (repeatable: browser pages; their outcomes are kept apart)
  write_key_rate 200, write_key_burst 400, client_rate 2, client_burst 20 (token buckets, requests/s; 429)
  rate_limit_clients_max 100000, client_ip_header NAME (e.g. X-Forwarded-For; default: the peer address)
  retention_days N (0 = keep; rows older are dropped at start and every retention_interval_ms = 3600000)
)";
}

}  // namespace disco::collector

// libFuzzer target for the collector's request authentication (collector/src/auth.cpp): the
// headers a signed sender or a browser page sends, checked against a key set with two sites (one
// with a second key id, one keyed only by site_key lines) and two write keys.
// Input: byte 0 picks the mode, the rest is split at '\n' into fields
//   api key, timestamp, signature, key id, origin, write key, forwarded-for, body (the rest).
//   byte 0 % 4 == 0: the fields as they are (signature and write key checks);
//   1: the signature is computed here with the key the key id names (or the site's first), so
//      mutations get past the HMAC and reach the timestamp, key id and replay key paths: a request
//      whose api key, timestamp and key id are valid must then be accepted;
//   2: as 1 with the timestamp set to now + a signed offset from the field (window edges);
//   3: the write-key path with the forwarded-for header present.
// Checked: every refusal has a status 401/403, a reason, a message and a field; an acceptance has
// its site (and write key), a replay key of the site's id + ':' + at most 32 lowercase characters.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "disco/collector/auth.h"
#include "disco/collector/config.h"

using namespace disco::collector;

namespace {
constexpr int64_t kNow = 1800000000000;

const Config& config() {
  static Config c = [] {
    Config c;
    c.replay_window_ms = 300000;
    c.sites.push_back(Site{"shop", "shop-key", "shop-secret-0123456789", {{"k2", "shop-second-secret-0123"}}});
    c.sites.push_back(Site{"other", "other-key", "", {{"a.b_c-1", "other-secret-0123456789"}}});
    c.write_keys.push_back(WriteKey{"shop", "wk-shop", {"https://shop.example", "http://localhost:8080"}});
    c.write_keys.push_back(WriteKey{"other", "wk-any", {"*"}});
    return c;
  }();
  return c;
}

[[noreturn]] void fail(const char* what, const AuthCheck& a) {
  std::fprintf(stderr, "fuzz_auth: %s (ok %d status %d reason '%s' error '%s' field '%s')\n", what, a.ok, a.status,
               a.reason.c_str(), a.error.c_str(), a.field.c_str());
  std::abort();
}

void check_refusal(const AuthCheck& a) {
  if (a.ok) return;
  if ((a.status != 401 && a.status != 403) || a.reason.empty() || a.error.empty() || a.field.empty())
    fail("a refusal without status, reason, message or field", a);
  if (a.site || a.write_key) fail("a refusal that names a site", a);
}

std::string secret_for(const Site& s, std::string_view kid) {
  std::string out;
  s.for_each_key([&](std::string_view id, std::string_view secret) {
    if (out.empty() && (kid.empty() || id == kid)) out = std::string(secret);
  });
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 4;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string_view> f;
  while (f.size() < 7) {
    const size_t nl = rest.find('\n');
    f.push_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  const std::string_view body = rest;
  const Config& cfg = config();

  std::string ts(f[1]), sig(f[2]);
  const Site* site = cfg.site_by_key(std::string(f[0]));
  if (mode == 2) {
    uint64_t h = 0;
    for (char c : f[1]) h = h * 31 + static_cast<unsigned char>(c);
    const int64_t off = static_cast<int64_t>(h % static_cast<uint64_t>(2 * cfg.replay_window_ms + 3));
    ts = std::to_string(kNow - cfg.replay_window_ms - 1 + off);
  }
  std::string secret;
  if ((mode == 1 || mode == 2) && site) {
    secret = secret_for(*site, f[3]);
    if (!secret.empty()) sig = hmac_sha256_hex(secret, ts + "." + std::string(body));
  }
  const AuthCheck a = check_signed_headers(cfg, f[0], ts, sig, f[3], body, kNow);
  check_refusal(a);
  if (a.ok) {
    if (!a.site || a.site != site) fail("accepted without the api key's site", a);
    const std::string prefix = a.site->id + ":";
    if (a.replay_key.compare(0, prefix.size(), prefix) != 0 || a.replay_key.size() > prefix.size() + 32)
      fail("replay key is not site:signature-prefix", a);
    for (char c : a.replay_key.substr(prefix.size()))
      if (c >= 'A' && c <= 'Z') fail("replay key not lowercase", a);
  }
  // The timestamp as the check must read it: a whole int64 in the replay window.
  int64_t t = 0;
  const auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), t);
  const bool in_window = !ts.empty() && ec == std::errc() && end == ts.data() + ts.size() &&
                         t >= kNow - cfg.replay_window_ms && t <= kNow + cfg.replay_window_ms;
  if (a.ok && !in_window) fail("accepted a timestamp that is not an int64 in the replay window", a);
  // A request signed with the key it names (or the site's first), inside the window, is accepted.
  if (!secret.empty() && in_window && !a.ok) fail("a request signed with the named key was refused", a);
  const std::string_view fwd = f[6];
  const AuthCheck w = check_write_key_headers(cfg, f[5], f[4], "10.0.0.1", mode == 3 ? &fwd : nullptr);
  check_refusal(w);
  if (w.ok) {
    if (!w.site || !w.write_key || w.write_key->key != f[5] || w.site->id != w.write_key->site)
      fail("write key accepted without its key and site", w);
    if (!w.write_key->allows(std::string(f[4]))) fail("origin accepted that the key does not allow", w);
    if (mode == 3 ? fwd.substr(0, fwd.find(',')) != w.client : w.client != "10.0.0.1") fail("wrong client", w);
  }
  return 0;
}

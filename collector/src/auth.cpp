#include "disco/collector/auth.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "disco/collector/config.h"
#include "disco/collector/batch.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace disco::collector {
namespace {
std::string to_hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = d[p[i] >> 4];
    s[2 * i + 1] = d[p[i] & 15];
  }
  return s;
}
}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), out, &len);
  return to_hex(out, len);
}

std::string sha256_hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return to_hex(out, len);
}

std::string batch_id(std::string_view site, const Batch& b) {
  const std::string content = encode_flatbuffers(b, /*zero_sent_at=*/true);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, site.data(), site.size());
  EVP_DigestUpdate(ctx, "\n", 1);
  EVP_DigestUpdate(ctx, content.data(), content.size());
  EVP_DigestFinal_ex(ctx, out, &len);
  EVP_MD_CTX_free(ctx);
  return to_hex(out, len);
}

bool signature_matches(const std::string& expected_hex, std::string_view received) {
  if (received.size() != expected_hex.size()) return false;
  std::string low(received);
  for (char& c : low)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return CRYPTO_memcmp(expected_hex.data(), low.data(), low.size()) == 0;
}

KeyCheck verify_site_signature(const Site& site, std::string_view key_id, std::string_view message,
                               std::string_view signature_hex) {
  bool known = false, ok = false;
  site.for_each_key([&](std::string_view id, std::string_view secret) {
    if (ok || (!key_id.empty() && id != key_id)) return;
    known = true;
    ok = signature_matches(hmac_sha256_hex(secret, message), signature_hex);
  });
  return ok ? KeyCheck::Ok : (known ? KeyCheck::BadSignature : KeyCheck::UnknownKeyId);
}

namespace {
AuthCheck refuse(int status, std::string reason, std::string error, std::string field) {
  AuthCheck a;
  a.status = status;
  a.reason = std::move(reason);
  a.error = std::move(error);
  a.field = std::move(field);
  return a;
}
}  // namespace

AuthCheck check_signed_headers(const Config& cfg, std::string_view api_key, std::string_view ts_s,
                               std::string_view sig, std::string_view kid, std::string_view signed_part, int64_t now) {
  const Site* site = cfg.site_by_key(std::string(api_key));
  if (!site) return refuse(401, "unknown_key", "missing or unknown x-disco-key", "x-disco-key");
  int64_t ts = 0;
  {
    const char* b = ts_s.data();
    auto [p, ec] = std::from_chars(b, b + ts_s.size(), ts);
    if (ts_s.empty() || ec != std::errc() || p != b + ts_s.size())
      return refuse(401, "bad_timestamp", "x-disco-timestamp must be Unix time in milliseconds", "x-disco-timestamp");
  }
  if (ts < now - cfg.replay_window_ms || ts > now + cfg.replay_window_ms)
    return refuse(401, "stale_timestamp",
                  "x-disco-timestamp is outside the replay window of +-" + std::to_string(cfg.replay_window_ms) +
                      " ms from the server clock (" + std::to_string(now) + ")",
                  "x-disco-timestamp");
  std::string msg;
  msg.reserve(ts_s.size() + 1 + signed_part.size());
  msg.append(ts_s).append(".").append(signed_part);
  switch (verify_site_signature(*site, kid, msg, sig)) {
    case KeyCheck::Ok: break;
    case KeyCheck::UnknownKeyId:
      return refuse(401, "unknown_key_id",
                    "X-Disco-Key-Id '" + std::string(kid) + "' is not a key of site '" + site->id + "'", "x-disco-key-id");
    case KeyCheck::BadSignature:
      return refuse(401, "bad_signature",
                    "x-disco-signature is not hex HMAC-SHA256(site secret, timestamp + \".\" + body)" +
                        std::string(kid.empty() ? " with any key of the site" : " with key " + std::string(kid)),
                    "x-disco-signature");
  }
  AuthCheck a;
  a.ok = true;
  a.status = 200;
  a.site = site;
  // 128 bits of the signature identify a request well enough and keep the replay cache small.
  a.replay_key = site->id + ":" + std::string(sig.substr(0, 32));
  for (char& c : a.replay_key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return a;
}

AuthCheck check_write_key_headers(const Config& cfg, std::string_view write_key, std::string_view origin,
                                  std::string_view remote_addr, const std::string_view* forwarded) {
  const WriteKey* wk = cfg.write_key(std::string(write_key));
  if (!wk) return refuse(401, "unknown_write_key", "missing or unknown X-Disco-Write-Key", "x-disco-write-key");
  const std::string o(origin);
  if (!wk->allows(o))
    return refuse(403, "origin_not_allowed", "Origin '" + o + "' may not use this write key (allowed: the write_key's origins)",
                  "origin");
  const Site* site = cfg.site_by_id(wk->site);
  if (!site) return refuse(401, "unknown_write_key", "the write key's site is not configured", "x-disco-write-key");
  AuthCheck a;
  a.ok = true;
  a.status = 200;
  a.site = site;
  a.write_key = wk;
  a.client = forwarded ? std::string(forwarded->substr(0, forwarded->find(','))) : std::string(remote_addr);
  return a;
}

bool RateLimiter::take(const std::string& name, int64_t now_ms, int64_t* retry_after_ms) {
  std::lock_guard<std::mutex> lk(mu_);
  auto refill = [&](Bucket& b) {
    b.tokens = std::min(burst_, b.tokens + double(std::max<int64_t>(0, now_ms - b.t_ms)) * rate_ / 1000.0);
    b.t_ms = std::max(b.t_ms, now_ms);
  };
  auto it = buckets_.find(name);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_) {
      for (auto j = buckets_.begin(); j != buckets_.end();) {
        refill(j->second);
        j = j->second.tokens >= burst_ ? buckets_.erase(j) : std::next(j);
      }
      if (buckets_.size() >= max_) buckets_.clear();
    }
    it = buckets_.emplace(name, Bucket{burst_, now_ms}).first;
  }
  refill(it->second);
  if (it->second.tokens >= 1.0) {
    it->second.tokens -= 1.0;
    return true;
  }
  if (retry_after_ms) *retry_after_ms = static_cast<int64_t>(std::ceil((1.0 - it->second.tokens) * 1000.0 / rate_));
  return false;
}

size_t RateLimiter::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return buckets_.size();
}

void ReplayCache::expire(int64_t now_ms) {
  while (!order_.empty() && order_.front().first <= now_ms) {
    auto it = seen_.find(order_.front().second);
    if (it != seen_.end() && it->second == order_.front().first) seen_.erase(it);
    order_.pop_front();
  }
}

ReplayCache::Result ReplayCache::check_and_insert(const std::string& signature, int64_t now_ms) {
  std::lock_guard<std::mutex> lk(mu_);
  expire(now_ms);
  if (seen_.count(signature)) return Result::Replayed;
  if (seen_.size() >= max_) return Result::Full;
  int64_t exp = now_ms + ttl_ms_;
  seen_[signature] = exp;
  order_.emplace_back(exp, signature);
  return Result::Fresh;
}

void ReplayCache::forget(const std::string& signature) {
  std::lock_guard<std::mutex> lk(mu_);
  seen_.erase(signature);  // its order_ entry expires harmlessly (expiry check above)
}

size_t ReplayCache::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return seen_.size();
}

}  // namespace disco::collector

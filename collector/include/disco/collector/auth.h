// Request authentication: per-site API key + HMAC-SHA256(secret, timestamp + "." + body), a
// timestamp window against replays, and a bounded cache of recently seen signatures.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <deque>

namespace disco::collector {

std::string hmac_sha256_hex(std::string_view key, std::string_view message);
std::string sha256_hex(std::string_view data);

struct Batch;
// A batch's id: hex SHA-256 of site + "\n" + its FlatBuffers encoding with sent_at_ms = 0. The SDK
// stamps sent_at_ms afresh at every (re)send of a batch and keeps everything else, so every resend
// of one batch, in either wire format, to any collector, has the same id: the key of the joined
// log's batches table (events are deduped by it) and the JetStream message id.
std::string batch_id(std::string_view site, const Batch& b);
// Constant-time comparison of the expected lowercase hex signature and the one received
// (case-insensitive hex accepted).
bool signature_matches(const std::string& expected_hex, std::string_view received);

struct Site;
// Which of a site's keys a signature verifies with (collector/PROTOCOL.md, "Site keys with ids").
enum class KeyCheck { Ok, UnknownKeyId, BadSignature };
// key_id empty: every key of the site is tried; else only that one. Constant time per key.
KeyCheck verify_site_signature(const Site& site, std::string_view key_id, std::string_view message,
                               std::string_view signature_hex);

struct Config;
struct WriteKey;
// What the request's auth headers (or their query-parameter forms) say, checked against the keys
// in force (collector/PROTOCOL.md): ok, or the refusal (status, reason for the rejects metric,
// error message, field). The route then applies the replay cache (signed) or the rate limits
// (write key). Pure functions of their arguments: fuzzed by collector/fuzz/fuzz_auth.cpp.
struct AuthCheck {
  bool ok = false;
  int status = 0;
  std::string reason, error, field;
  const Site* site = nullptr;
  const WriteKey* write_key = nullptr;
  std::string replay_key;  // signed: site id + ":" + the signature's first 32 characters, lowercase
  std::string client;      // write key: the client address its rate limit counts
};
// x-disco-key, x-disco-timestamp (Unix ms within +-cfg.replay_window_ms of now_ms),
// x-disco-signature = hex HMAC-SHA256(one of the site's keys, timestamp + "." + signed_part), the
// key named by X-Disco-Key-Id when not empty.
AuthCheck check_signed_headers(const Config& cfg, std::string_view api_key, std::string_view timestamp,
                               std::string_view signature, std::string_view key_id, std::string_view signed_part,
                               int64_t now_ms);
// X-Disco-Write-Key and Origin (one of the key's origins); the client is `forwarded` (the value of
// cfg.client_ip_header, up to its first comma) when given, else `remote_addr`.
AuthCheck check_write_key_headers(const Config& cfg, std::string_view write_key, std::string_view origin,
                                  std::string_view remote_addr, const std::string_view* forwarded);

// Token buckets by name (a write key, a client address): `rate` tokens per second up to `burst`;
// each request takes one. At most max_entries buckets: full (idle) ones are dropped first, then all.
class RateLimiter {
 public:
  RateLimiter(double rate_per_s, double burst, size_t max_entries) : rate_(rate_per_s), burst_(burst), max_(max_entries) {}
  // True when a token was taken; else false and *retry_after_ms = when the next token is due.
  bool take(const std::string& name, int64_t now_ms, int64_t* retry_after_ms = nullptr);
  size_t size() const;

 private:
  struct Bucket {
    double tokens;
    int64_t t_ms;
  };
  double rate_, burst_;
  size_t max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

class ReplayCache {
 public:
  enum class Result { Fresh, Replayed, Full };
  ReplayCache(int64_t ttl_ms, size_t max_entries) : ttl_ms_(ttl_ms), max_(max_entries) {}
  // Remembers `signature` until now + ttl; Replayed if it is already remembered.
  Result check_and_insert(const std::string& signature, int64_t now_ms);
  // Forgets a signature whose request failed before it was stored, so a retry is not a replay.
  void forget(const std::string& signature);
  size_t size() const;

 private:
  void expire(int64_t now_ms);
  int64_t ttl_ms_;
  size_t max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> seen_;
  std::deque<std::pair<int64_t, std::string>> order_;  // expiry order
};

}  // namespace disco::collector

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
// Constant-time comparison of the expected lowercase hex signature and the one received
// (case-insensitive hex accepted).
bool signature_matches(const std::string& expected_hex, std::string_view received);

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

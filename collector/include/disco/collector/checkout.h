// The demo checkout: POST /v1/checkout verifies the SDK's HMAC offer tokens (sdk-js/src/token.js)
// and records each order in <data_dir>/checkouts.jsonl. Owned by demo/ (the storefront demo); see demo/README.md.
//
//   token  = "v1." + B + "." + base64url(HMAC-SHA256(secret, "v1." + B))
//   B      = base64url(JSON {"d": decision id (32 hex), "i": item id, "x": discount fraction,
//                            "a": arm, "e": expiry, ms since the epoch})
// base64url without padding. Tokens are verified with the secret of the site named by x-disco-key.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "disco/collector/config.h"

namespace httplib {
class Server;
}

namespace disco::collector {

struct OfferClaims {
  std::string decision_id, item_id;
  double discount = 0;
  int64_t arm = -1;
  int64_t expires_at_ms = 0;
};

enum class TokenStatus { Ok, Malformed, BadSignature, Expired };
const char* token_status_name(TokenStatus s);  // "ok", "malformed", "bad_signature", "expired"

struct TokenCheck {
  TokenStatus status = TokenStatus::Malformed;
  std::string message;  // why it was refused (empty when ok)
  OfferClaims claims;   // filled when the signature verified
};

// Verifies signature (constant time), then claims and expiry (now_ms >= expiry: expired).
TokenCheck verify_offer_token(std::string_view token, std::string_view secret, int64_t now_ms);

// Unpadded base64url, as the SDK writes it. decode returns false on any non-alphabet character or
// an impossible length.
std::string base64url_encode(std::string_view bytes);
bool base64url_decode(std::string_view text, std::string& out);

struct CheckoutReply {
  int status = 200;
  std::string body;  // JSON
};

// Order handling without HTTP (tested directly). Thread-safe.
class Checkout {
 public:
  // Opens (creates) the order log and reloads the decision ids already redeemed from it.
  // log_path empty: <cfg.data_dir>/checkouts.jsonl. Throws std::runtime_error naming the file.
  explicit Checkout(const Config& cfg, std::string log_path = "");
  ~Checkout();
  // body: {"lines": [{"item_id": str, "quantity": int, "price": number, "token"?: str}], "order_id"?: str}
  CheckoutReply handle(const std::string& api_key, const std::string& body, int64_t now_ms);
  const std::string& log_path() const { return path_; }

 private:
  const Config& cfg_;
  std::string path_;
  std::mutex mu_;
  std::unordered_set<std::string> redeemed_;  // "site:decision_id"
  int fd_ = -1;
};

// Registers POST /v1/checkout on the collector's server (the Checkout lives as long as the server).
void register_checkout_routes(httplib::Server& http, const Config& cfg);

}  // namespace disco::collector

// The checkout: POST /v1/checkout verifies the SDK's HMAC offer tokens (sdk-js/src/token.js), prices
// every line from the served bundle's catalog (never from the page), stores each applied offer as an
// outcome of its decision (the rewards the bandit trains on: collector/PROTOCOL.md) and records each
// order in <data_dir>/checkouts.jsonl. Used by the storefront demo (demo/README.md).
//
//   token  = "v1." + B + "." + base64url(HMAC-SHA256(secret, "v1." + B))
//   B      = base64url(JSON {"d": decision id (32 hex), "i": item id, "x": discount fraction,
//                            "a": arm, "e": expiry, ms since the epoch})
//   a cart offer (the SDK's offerCart): B = base64url(JSON {"d", "s": "cart", "c": cart digest,
//     "x": amount / cart value, "v": amount off the order, "m": minimum spend, "k": arm kind, "a", "e"}),
//     c = cart_digest(the cart's lines), sent as the order's "cart_token".
// base64url without padding. Tokens are verified with the keys of the site (any of them: rotation).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "disco/collector/batch.h"
#include "disco/collector/catalog.h"
#include "disco/collector/config.h"

namespace disco::collector {

struct OfferClaims {
  std::string decision_id, item_id;
  double discount = 0;
  int64_t arm = -1;
  int64_t expires_at_ms = 0;
  // a cart offer's (scope "cart"; item_id empty): its cart's digest, amount off, minimum spend, arm kind
  std::string scope, cart_digest, kind;
  double amount = 0, min_spend = 0;
};

// The digest a cart token carries of its cart (sdk-js/src/token.js cartDigest): base64url(SHA-256 of
// the UTF-8 of JSON.stringify([[item id, quantity], ...])) with one pair per item id (quantities
// summed), sorted by item id in UTF-16 code unit order (JavaScript's). Ids must be valid UTF-8.
std::string cart_digest(const std::vector<std::pair<std::string, int64_t>>& lines);

enum class TokenStatus { Ok, Malformed, BadSignature, Expired };
const char* token_status_name(TokenStatus s);  // "ok", "malformed", "bad_signature", "expired"

struct TokenCheck {
  TokenStatus status = TokenStatus::Malformed;
  std::string message;  // why it was refused (empty when ok)
  OfferClaims claims;   // filled when the signature verified
};

// Verifies signature (constant time), then claims and expiry (now_ms >= expiry: expired).
TokenCheck verify_offer_token(std::string_view token, std::string_view secret, int64_t now_ms);
// The same against every key of the site: the first key whose signature verifies decides.
TokenCheck verify_offer_token(std::string_view token, const Site& site, int64_t now_ms);

// Unpadded base64url, as the SDK writes it. decode returns false on any non-alphabet character or
// an impossible length.
std::string base64url_encode(std::string_view bytes);
bool base64url_decode(std::string_view text, std::string& out);

struct CheckoutReply {
  int status = 200;
  std::string body;  // JSON
};

class Metrics;

// What the checkout needs from the collector.
struct CheckoutDeps {
  // The served bundle's catalog; null when none is served (then: list prices, no offers, no outcomes).
  std::function<std::shared_ptr<const Catalog>()> catalog;
  // Stores the outcomes of an order's applied offers durably: "" when stored, else why not (503).
  // Unset: outcomes are not stored (tests of the checkout alone).
  std::function<std::string(const std::string& site, const std::string& order_id, std::vector<Outcome> outcomes)> record;
  Metrics* metrics = nullptr;  // disco_collector_checkout_repriced_total
};

// Order handling without HTTP (tested directly). Thread-safe.
class Checkout {
 public:
  // Opens (creates) the order log and reloads the decision ids already redeemed from it.
  // log_path empty: <cfg.data_dir>/checkouts.jsonl. Throws std::runtime_error naming the file.
  Checkout(const Config& cfg, CheckoutDeps deps, std::string log_path = "");
  ~Checkout();
  // body: {"lines": [{"item_id": str, "quantity": int, "price"?: number, "token"?: str}], "order_id"?: str,
  //        "cart_token"?: str}
  // Each line is charged the catalog price (collector/PROTOCOL.md, "POST /v1/checkout"); a cart
  // offer applies to the order when its cart is the order's and the order reaches its minimum spend.
  CheckoutReply handle(const Site& site, const std::string& body, int64_t now_ms);
  CheckoutReply handle(const std::string& api_key, const std::string& body, int64_t now_ms);  // site by API key
  const std::string& log_path() const { return path_; }

 private:
  const Config& cfg_;
  CheckoutDeps deps_;
  std::string path_;
  std::mutex mu_;
  std::unordered_set<std::string> redeemed_;  // "site:decision_id"
  int fd_ = -1;
};

}  // namespace disco::collector

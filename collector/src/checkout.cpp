// POST /v1/checkout: verifies the SDK's offer tokens with OpenSSL, prices lines from the catalog,
// stores applied offers as outcomes and logs orders (see checkout.h).
#include "disco/collector/checkout.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "disco/collector/metrics.h"

namespace disco::collector {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxLines = 100;
constexpr size_t kMaxToken = 4096;
constexpr size_t kMaxBody = 256 * 1024;

const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = d[p[i] >> 4];
    s[2 * i + 1] = d[p[i] & 15];
  }
  return s;
}

bool is_hex32(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

CheckoutReply error_reply(int status, const std::string& code, const std::string& message) {
  return {status, json{{"error", code}, {"message", message}}.dump()};
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

// UTF-8 (valid) as UTF-16 code units: JavaScript's string order.
std::u16string utf16(const std::string& s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = uint8_t(s[i]);
    const int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = n == 1 ? c : c & (0x3F >> (n - 1));
    for (int k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3F);
    i += size_t(n);
    if (cp >= 0x10000) {
      out.push_back(char16_t(0xD800 + ((cp - 0x10000) >> 10)));
      out.push_back(char16_t(0xDC00 + ((cp - 0x10000) & 0x3FF)));
    } else {
      out.push_back(char16_t(cp));
    }
  }
  return out;
}

// A JSON string as JavaScript's JSON.stringify writes it (valid UTF-8 kept as is).
void js_string(std::string& out, const std::string& s) {
  static const char* d = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    const unsigned char c = uint8_t(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += d[c >> 4];
          out += d[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace

std::string cart_digest(const std::vector<std::pair<std::string, int64_t>>& lines) {
  std::map<std::u16string, std::pair<std::string, int64_t>> merged;  // ordered as JavaScript sorts
  for (const auto& [id, q] : lines) {
    auto& e = merged[utf16(id)];
    e.first = id;
    e.second += q;
  }
  std::string text = "[";
  for (const auto& [key, e] : merged) {
    if (text.size() > 1) text += ',';
    text += '[';
    js_string(text, e.first);
    text += ',' + std::to_string(e.second) + ']';
  }
  text += ']';
  unsigned char h[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), h);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(h), sizeof h));
}

const char* token_status_name(TokenStatus s) {
  switch (s) {
    case TokenStatus::Ok: return "ok";
    case TokenStatus::Malformed: return "malformed";
    case TokenStatus::BadSignature: return "bad_signature";
    case TokenStatus::Expired: return "expired";
  }
  return "?";
}

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(v >> (6 * k)) & 63]);
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = uint8_t(in[i]) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

bool base64url_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = b64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  return true;
}

TokenCheck verify_offer_token(std::string_view token, std::string_view secret, int64_t now_ms) {
  TokenCheck r;
  auto fail = [&](TokenStatus s, std::string m) {
    r.status = s;
    r.message = std::move(m);
    return r;
  };
  if (token.size() > kMaxToken) return fail(TokenStatus::Malformed, "token longer than 4096 characters");
  size_t a = token.find('.');
  size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
  if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos)
    return fail(TokenStatus::Malformed, "token is not three dot-separated parts");
  if (token.substr(0, a) != "v1") return fail(TokenStatus::Malformed, "token version is not v1");
  std::string mac;
  if (!base64url_decode(token.substr(b + 1), mac) || mac.size() != 32)
    return fail(TokenStatus::Malformed, "token signature is not 32 bytes of base64url");
  unsigned char expect[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::string_view signed_part = token.substr(0, b);
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), expect, &len) ||
      len != 32)
    return fail(TokenStatus::BadSignature, "HMAC-SHA256 failed");
  if (CRYPTO_memcmp(expect, mac.data(), 32) != 0)
    return fail(TokenStatus::BadSignature, "token signature does not verify (tampered, or signed with another secret)");
  std::string body;
  if (!base64url_decode(token.substr(a + 1, b - a - 1), body)) return fail(TokenStatus::Malformed, "token body is not base64url");
  json c = json::parse(body, nullptr, false);
  if (c.is_discarded() || !c.is_object()) return fail(TokenStatus::Malformed, "token body is not a JSON object");
  auto str = [&](const char* k) { return c.contains(k) && c[k].is_string(); };
  auto num = [&](const char* k) { return c.contains(k) && c[k].is_number(); };
  const bool cart = c.contains("s");
  if (cart) {
    if (!str("s") || c["s"].get<std::string>() != "cart") return fail(TokenStatus::Malformed, "claim s (scope) is not \"cart\"");
    if (!str("d") || !str("c") || !num("x") || !num("v") || !num("m") || !num("e"))
      return fail(TokenStatus::Malformed, "cart token claims are incomplete (need string d, c and numbers x, v, m, e)");
    r.claims.scope = "cart";
    r.claims.cart_digest = c["c"].get<std::string>();
    r.claims.amount = c["v"].get<double>();
    r.claims.min_spend = c["m"].get<double>();
    if (str("k")) r.claims.kind = c["k"].get<std::string>();
    if (!std::isfinite(r.claims.amount) || r.claims.amount < 0 || !std::isfinite(r.claims.min_spend) || r.claims.min_spend < 0)
      return fail(TokenStatus::Malformed, "claims v (amount) and m (minimum spend) must be finite numbers >= 0");
  } else {
    if (!str("d") || !str("i") || !num("x") || !num("e"))
      return fail(TokenStatus::Malformed, "token claims are incomplete (need string d, i and numbers x, e)");
    r.claims.item_id = c["i"].get<std::string>();
  }
  r.claims.decision_id = c["d"].get<std::string>();
  r.claims.discount = c["x"].get<double>();
  // Within a JS Date's range (+-8.64e15 ms), as the SDK's verifyOfferToken, checked before the cast
  // (a cast of a double outside int64 is undefined behaviour; found by fuzz_offer_token).
  const double e = c["e"].get<double>();
  if (!(std::fabs(e) <= 8.64e15)) return fail(TokenStatus::Malformed, "claim e (expiry) is out of range (beyond +-8.64e15 ms)");
  r.claims.expires_at_ms = static_cast<int64_t>(e);
  if (c.contains("a") && c["a"].is_number_integer()) r.claims.arm = c["a"].get<int64_t>();
  if (!is_hex32(r.claims.decision_id)) return fail(TokenStatus::Malformed, "claim d is not a 32-hex decision id");
  if (!std::isfinite(r.claims.discount) || r.claims.discount < 0 || r.claims.discount > 1)
    return fail(TokenStatus::Malformed, "claim x (discount) is not a fraction in [0, 1]");
  if (now_ms >= r.claims.expires_at_ms)
    return fail(TokenStatus::Expired, "offer " + r.claims.decision_id + " expired at " +
                                          std::to_string(r.claims.expires_at_ms) + " ms (now " + std::to_string(now_ms) + ")");
  r.status = TokenStatus::Ok;
  return r;
}

TokenCheck verify_offer_token(std::string_view token, const Site& site, int64_t now_ms) {
  TokenCheck r;
  r.status = TokenStatus::BadSignature;
  r.message = "site '" + site.id + "' has no key";
  bool done = false;
  site.for_each_key([&](std::string_view, std::string_view secret) {
    if (done) return;
    r = verify_offer_token(token, secret, now_ms);
    done = r.status != TokenStatus::BadSignature;  // verified (or malformed either way): this key decides
  });
  return r;
}

Checkout::Checkout(const Config& cfg, CheckoutDeps deps, std::string log_path)
    : cfg_(cfg), deps_(std::move(deps)), path_(std::move(log_path)) {
  if (path_.empty()) path_ = cfg.data_dir + "/checkouts.jsonl";
  {
    std::ifstream in(path_);
    std::string line;
    long n = 0;
    while (in && std::getline(in, line)) {
      ++n;
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        // a torn last line after a crash is expected; anything else is a damaged file
        if (in.peek() == EOF) break;
        throw std::runtime_error(path_ + ":" + std::to_string(n) + ": not a JSON object");
      }
      if (!j.contains("lines") || !j["lines"].is_array()) continue;
      for (const auto& l : j["lines"])
        if (l.value("offer", "") == "applied" && l.contains("decision_id"))
          redeemed_.insert(j.value("site", "") + ":" + l["decision_id"].get<std::string>());
      if (j.contains("cart_offer") && j["cart_offer"].is_object() && j["cart_offer"].value("offer", "") == "applied" &&
          j["cart_offer"].contains("decision_id"))
        redeemed_.insert(j.value("site", "") + ":" + j["cart_offer"]["decision_id"].get<std::string>());
    }
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(path_ + ": cannot open the checkout log: " + std::strerror(errno));
}

Checkout::~Checkout() {
  if (fd_ >= 0) ::close(fd_);
}

CheckoutReply Checkout::handle(const std::string& api_key, const std::string& body, int64_t now_ms) {
  const Site* site = cfg_.site_by_key(api_key);
  if (!site) return error_reply(401, "unknown_key", "missing or unknown x-disco-key");
  return handle(*site, body, now_ms);
}

CheckoutReply Checkout::handle(const Site& site_ref, const std::string& body, int64_t now_ms) {
  const Site* site = &site_ref;
  if (body.size() > kMaxBody) return error_reply(413, "body_too_large", "checkout body over 256 KiB");
  json req = json::parse(body, nullptr, false);
  if (req.is_discarded() || !req.is_object()) return error_reply(400, "bad_json", "body must be a JSON object");
  if (!req.contains("lines") || !req["lines"].is_array() || req["lines"].empty() || req["lines"].size() > kMaxLines)
    return error_reply(400, "bad_lines", "lines must be an array of 1.." + std::to_string(kMaxLines) + " order lines");
  std::string order_id;
  if (req.contains("order_id")) {
    if (!req["order_id"].is_string() || req["order_id"].get<std::string>().empty() || req["order_id"].get<std::string>().size() > 64)
      return error_reply(400, "bad_order_id", "order_id must be a string of 1..64 characters");
    order_id = req["order_id"].get<std::string>();
  } else {
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1) return error_reply(500, "internal", "RAND_bytes failed");
    order_id = hex(rnd, sizeof rnd);
  }
  // Validate every line before any token is redeemed.
  const auto& lines = req["lines"];
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& l = lines[i];
    std::string where = "lines[" + std::to_string(i) + "]";
    if (!l.is_object()) return error_reply(400, "bad_line", where + " must be an object");
    if (!l.contains("item_id") || !l["item_id"].is_string() || l["item_id"].get<std::string>().empty())
      return error_reply(400, "bad_line", where + ".item_id must be a non-empty string");
    if (!l.contains("quantity") || !l["quantity"].is_number_integer() || l["quantity"].get<int64_t>() < 1 ||
        l["quantity"].get<int64_t>() > 1000)
      return error_reply(400, "bad_line", where + ".quantity must be an integer in 1..1000");
    if (l.contains("price") && !l["price"].is_null() &&
        (!l["price"].is_number() || !std::isfinite(l["price"].get<double>()) || l["price"].get<double>() < 0 ||
         l["price"].get<double>() > 1e7))
      return error_reply(400, "bad_line", where + ".price must be a number in [0, 1e7] or absent");
    if (l.contains("token") && !l["token"].is_null() && !l["token"].is_string())
      return error_reply(400, "bad_line", where + ".token must be a string or absent");
  }
  const bool has_cart_token = req.contains("cart_token") && !req["cart_token"].is_null();
  if (has_cart_token && !req["cart_token"].is_string())
    return error_reply(400, "bad_cart_token", "cart_token must be a string (the token of an offerCart offer) or absent");
  // Every line is priced from the served bundle's catalog, never from the page. Without one (no
  // bundle, or one that does not load: the shop's disco is off) the shop keeps selling at its list
  // prices, but no offer applies and nothing becomes an outcome (collector/PROTOCOL.md).
  std::shared_ptr<const Catalog> catalog = deps_.catalog ? deps_.catalog() : nullptr;
  if (catalog && catalog->items.empty()) catalog.reset();
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = "lines[" + std::to_string(i) + "]";
    if (!catalog && !(lines[i].contains("price") && lines[i]["price"].is_number()))
      return error_reply(400, "bad_line", where + ".price is required: no bundle catalog is served to price it from");
    if (catalog && !catalog->find(lines[i]["item_id"].get<std::string>())) {
      json j = json::parse(error_reply(400, "unknown_item", where + ".item_id '" + lines[i]["item_id"].get<std::string>() +
                                                                "' is not in the served bundle's catalog: it cannot be priced").body);
      j["field"] = where + ".item_id";
      return {400, j.dump()};
    }
  }
  if (!catalog && deps_.metrics) deps_.metrics->add("disco_collector_checkout_without_catalog_total", "");
  std::lock_guard<std::mutex> lk(mu_);
  json out_lines = json::array();
  std::unordered_set<std::string> this_order;
  std::vector<Outcome> outcomes;
  double total = 0, saved = 0;
  std::string free_shipping;  // why the order ships free: item_offer, cart_offer, threshold; "" = it does not
  int64_t ship_outcome = -1;   // the outcome of the decision whose free-shipping offer waived the fee
  for (const auto& l : lines) {
    std::string item = l["item_id"].get<std::string>();
    int64_t qty = l["quantity"].get<int64_t>();
    const CatalogItem* ci = catalog ? catalog->find(item) : nullptr;
    const double price = ci ? ci->price : l["price"].get<double>();
    json o{{"item_id", item}, {"quantity", qty}, {"price", price}, {"discount", 0.0}, {"offer", "none"}};
    if (ci && l.contains("price") && l["price"].is_number() && std::fabs(l["price"].get<double>() - price) > 0.005) {
      o["page_price"] = l["price"].get<double>();
      o["repriced"] = true;
      if (deps_.metrics) deps_.metrics->add("disco_collector_checkout_repriced_total", "");
    }
    if (l.contains("token") && l["token"].is_string()) {
      TokenCheck t = verify_offer_token(l["token"].get<std::string>(), *site, now_ms);
      std::string key = site->id + ":" + t.claims.decision_id;
      if (t.status != TokenStatus::Ok) {
        o["offer"] = "rejected";
        o["reason"] = token_status_name(t.status);
        o["message"] = t.message;
      } else if (t.claims.scope == "cart") {
        o["offer"] = "rejected";
        o["reason"] = "wrong_scope";
        o["message"] = "offer " + t.claims.decision_id + " is a cart offer: send its token as the order's cart_token";
      } else if (!ci) {
        o["offer"] = "rejected";
        o["reason"] = "no_catalog";
        o["message"] = "no bundle catalog is served: offers cannot be priced, so none applies";
      } else if (t.claims.item_id != item) {
        o["offer"] = "rejected";
        o["reason"] = "wrong_item";
        o["message"] = "the offer is for item " + t.claims.item_id + ", not " + item;
      } else if (redeemed_.count(key) || this_order.count(key)) {
        o["offer"] = "rejected";
        o["reason"] = "already_redeemed";
        o["message"] = "offer " + t.claims.decision_id + " was already used in an earlier order";
      } else {
        o["offer"] = "applied";
        o["discount"] = t.claims.discount;
        o["arm"] = t.claims.arm;
        // a free-shipping item offer (the served bundle's arm kind): the order ships free
        if (t.claims.arm >= 0 && size_t(t.claims.arm) < catalog->arm_kinds.size() && catalog->arm_kinds[size_t(t.claims.arm)] == 2) {
          o["free_shipping"] = true;
          if (free_shipping.empty()) free_shipping = "item_offer";
        }
        this_order.insert(key);
      }
      if (!t.claims.decision_id.empty() && t.status != TokenStatus::Malformed) o["decision_id"] = t.claims.decision_id;
    }
    double gross = price * double(qty);
    double net = round2(gross * (1.0 - o["discount"].get<double>()));
    o["total"] = net;
    if (o["offer"] == "applied") {
      // the reward of the decision behind the offer (DESIGN.md: margin = price (1 - discount) - cost)
      auto id = parse_decision_id(o["decision_id"].get<std::string>());
      if (id) {
        if (o.contains("free_shipping") && ship_outcome < 0) ship_outcome = int64_t(outcomes.size());
        outcomes.push_back(Outcome{*id, now_ms, true, net, net - std::max(0.0, ci->cost) * double(qty)});
      }
    }
    total += net;
    saved += gross - net;
    out_lines.push_back(std::move(o));
  }
  // The cart offer: for exactly this order's lines (items and quantities, the digest its token signs),
  // when the order's total at catalog prices (after the lines' own offers) reaches its minimum spend.
  json cart_offer;
  if (has_cart_token) {
    TokenCheck t = verify_offer_token(req["cart_token"].get<std::string>(), *site, now_ms);
    const std::string key = site->id + ":" + t.claims.decision_id;
    auto refuse = [&](const char* reason, const std::string& message) {
      cart_offer = {{"offer", "rejected"}, {"reason", reason}, {"message", message}, {"discount", 0.0}};
    };
    if (t.status != TokenStatus::Ok) {
      refuse(token_status_name(t.status), t.message);
    } else if (t.claims.scope != "cart") {
      refuse("wrong_scope", "offer " + t.claims.decision_id + " is for item " + t.claims.item_id +
                                ": send its token with that item's line, not as the cart_token");
    } else if (!catalog) {
      refuse("no_catalog", "no bundle catalog is served: offers cannot be priced, so none applies");
    } else {
      std::vector<std::pair<std::string, int64_t>> cart;
      for (const auto& l : lines) cart.emplace_back(l["item_id"].get<std::string>(), l["quantity"].get<int64_t>());
      if (cart_digest(cart) != t.claims.cart_digest) {
        refuse("cart_mismatch", "offer " + t.claims.decision_id +
                                    " was made for another cart: this order's items or quantities differ (ask for a new cart offer)");
      } else if (round2(total) < t.claims.min_spend) {
        std::ostringstream m;
        m << "offer " << t.claims.decision_id << " needs an order of at least " << t.claims.min_spend
          << " at catalog prices; this order's total is " << round2(total);
        refuse("below_min_spend", m.str());
      } else if (redeemed_.count(key) || this_order.count(key)) {
        refuse("already_redeemed", "offer " + t.claims.decision_id + " was already used in an earlier order");
      } else {
        const double amount = round2(std::min(t.claims.amount, total));
        cart_offer = {{"offer", "applied"}, {"discount", amount}, {"arm", t.claims.arm}, {"min_spend", t.claims.min_spend}};
        if (!t.claims.kind.empty()) cart_offer["kind"] = t.claims.kind;
        if (t.claims.kind == "free_shipping") {
          cart_offer["free_shipping"] = true;
          free_shipping = "cart_offer";
        }
        total -= amount;
        saved += amount;
        this_order.insert(key);
        // the cart decision's reward: the order's margin after every discount
        double cost = 0;
        for (const auto& l : lines)
          cost += std::max(0.0, catalog->find(l["item_id"].get<std::string>())->cost) * double(l["quantity"].get<int64_t>());
        auto id = parse_decision_id(t.claims.decision_id);
        if (id) {
          if (t.claims.kind == "free_shipping") ship_outcome = int64_t(outcomes.size());
          outcomes.push_back(Outcome{*id, now_ms, true, round2(total), round2(total) - cost});
        }
      }
    }
    if (!t.claims.decision_id.empty() && t.status != TokenStatus::Malformed) cart_offer["decision_id"] = t.claims.decision_id;
  }
  // The shipping line: the site's flat fee, waived by a verified free-shipping offer (item or cart)
  // or when the goods' total after every discount reaches free_shipping_over. A refused offer
  // (expired, tampered, ...) waives nothing: the fee is charged.
  const double goods = round2(total);
  const double fee = round2(cfg_.shipping_fee);
  if (free_shipping.empty() && fee > 0 && cfg_.free_shipping_over > 0 && goods >= cfg_.free_shipping_over) free_shipping = "threshold";
  const double shipping = free_shipping.empty() ? fee : 0.0;
  // The fee a free-shipping offer waived is what that offer cost the merchant: it comes off the
  // margin of the decision behind it (the one free_shipping names; a threshold is nobody's decision).
  if (fee > 0 && free_shipping != "threshold" && !free_shipping.empty() && ship_outcome >= 0)
    outcomes[size_t(ship_outcome)].margin -= fee;
  total = goods + shipping;
  saved += fee - shipping;
  json record{{"ts_ms", now_ms}, {"order_id", order_id}, {"site", site->id}, {"lines", out_lines},
              {"subtotal", goods}, {"shipping_fee", fee}, {"shipping", shipping}, {"shipping_discount", round2(fee - shipping)},
              {"total", round2(total)}, {"saved", round2(saved)}};
  if (!free_shipping.empty()) record["free_shipping"] = free_shipping;
  if (cfg_.free_shipping_over > 0) record["free_shipping_over"] = cfg_.free_shipping_over;
  if (has_cart_token) record["cart_offer"] = cart_offer;
  if (!catalog) record["catalog"] = false;  // charged at the page's list prices, no offers
  // The outcomes first: a failure here redeems nothing (the shopper may retry the order).
  if (!outcomes.empty() && deps_.record) {
    std::string err = deps_.record(site->id, order_id, outcomes);
    if (!err.empty()) return error_reply(503, "storage_error", "the order's outcomes were not stored: " + err);
  }
  std::string line = record.dump() + "\n";
  // Durable before the answer: the order log is the record of which offers were redeemed.
  size_t off = 0;
  while (off < line.size()) {
    ssize_t w = ::write(fd_, line.data() + off, line.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return error_reply(503, "storage_error", path_ + ": write failed: " + std::strerror(errno));
    off += size_t(w);
  }
  if (::fdatasync(fd_) != 0) return error_reply(503, "storage_error", path_ + ": fdatasync failed: " + std::strerror(errno));
  for (const auto& k : this_order) redeemed_.insert(k);
  record.erase("site");
  return {200, record.dump()};
}

}  // namespace disco::collector

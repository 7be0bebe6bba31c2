// Offer tokens signed by the SDK (WebCrypto HMAC) verify in the collector's C++ checkout (OpenSSL);
// tampered, re-signed-with-another-secret, expired and malformed ones are refused; the checkout
// applies only verified offers, once each, and remembers redeemed offers across restarts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string>
#include <unistd.h>

#include "disco/collector/auth.h"
#include "disco/collector/checkout.h"
#include "disco/collector/config.h"

using namespace disco::collector;
using json = nlohmann::json;

namespace {

constexpr int64_t kNow = 1800000000000;  // 2027-01-15: before the fixtures' 2100 expiry, after 2023's

json fixtures() {
  std::ifstream in(std::string(DISCO_SOURCE_DIR) + "/tests/checkout/sdk_tokens.json");
  EXPECT_TRUE(in.good()) << "tests/checkout/sdk_tokens.json missing";
  return json::parse(in);
}

std::string token(int i) { return fixtures()["tokens"][i]["token"].get<std::string>(); }
std::string secret() { return fixtures()["secret"].get<std::string>(); }

// Replaces the claims part of a token (keeping its signature): what a shopper editing the discount does.
std::string with_claims(const std::string& tok, const std::string& claims_json) {
  size_t a = tok.find('.'), b = tok.rfind('.');
  return tok.substr(0, a + 1) + base64url_encode(claims_json) + tok.substr(b);
}

// A token for `claims_json` signed with the fixtures' secret (as the SDK's signOfferToken does).
std::string signed_token(const std::string& claims_json) {
  const std::string part = "v1." + base64url_encode(claims_json), key = secret();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(part.data()), part.size(), mac, &len);
  return part + "." + base64url_encode(std::string(reinterpret_cast<const char*>(mac), len));
}

struct TempDir {
  std::filesystem::path p;
  TempDir() {
    p = std::filesystem::temp_directory_path() /
        ("disco-checkout-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
  }
  ~TempDir() { std::filesystem::remove_all(p); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

// The served bundle's catalog the checkout prices from (in the service: catalog.h of the bundle).
std::shared_ptr<const Catalog> test_catalog() {
  auto c = std::make_shared<Catalog>();
  auto add = [&](const char* id, double price, double cost) {
    CatalogItem it;
    it.price = price;
    it.cost = cost;
    it.in_bundle = true;
    c->items[id] = it;
    c->order.push_back(id);
  };
  add("i42", 10.0, 6.0);
  add("i9", 5.5, 2.0);
  add("i7", 10.0, -1);  // no cost in the bundle: margin = the charged total
  add("i43", 10.0, 1.0);
  add("a", 1.0, 0.5);
  add("b", 1.0, 0.5);
  return c;
}

struct Recorded {
  std::vector<std::pair<std::string, Outcome>> outcomes;
  std::string fail;  // non-empty: the store refuses
};

CheckoutDeps deps(Recorded* rec = nullptr, std::shared_ptr<const Catalog> cat = test_catalog()) {
  CheckoutDeps d;
  d.catalog = [cat] { return cat; };
  if (rec)
    d.record = [rec](const std::string& site, const std::string&, std::vector<Outcome> o) {
      if (!rec->fail.empty()) return rec->fail;
      for (const Outcome& x : o) rec->outcomes.emplace_back(site, x);
      return std::string();
    };
  return d;
}

Config site_config(const std::string& dir) {
  Config c;
  c.data_dir = dir;
  c.sites.push_back(Site{"shop", "shop-key", secret()});
  c.sites.push_back(Site{"other", "other-key", "another-secret-0123456789"});
  return c;
}

}  // namespace

TEST(CheckoutToken, Base64urlMatchesTheSdk) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  std::string out;
  ASSERT_TRUE(base64url_decode("-_8", out));
  EXPECT_EQ(out, "\xfb\xff");
  EXPECT_FALSE(base64url_decode("Zm9v=", out));  // the SDK never pads
  EXPECT_FALSE(base64url_decode("Zm+v", out));   // '+' is not base64url
  EXPECT_FALSE(base64url_decode("Z", out));      // impossible length
}

TEST(CheckoutToken, SdkTokensVerify) {
  json f = fixtures();
  for (int i = 0; i < 2; ++i) {
    const json& o = f["tokens"][i]["offer"];
    TokenCheck t = verify_offer_token(token(i), secret(), kNow);
    ASSERT_EQ(t.status, TokenStatus::Ok) << i << ": " << t.message;
    EXPECT_EQ(t.claims.decision_id, o["decisionId"].get<std::string>());
    EXPECT_EQ(t.claims.item_id, o["itemId"].get<std::string>());
    EXPECT_DOUBLE_EQ(t.claims.discount, o["discount"].get<double>());
    EXPECT_EQ(t.claims.arm, o["arm"].get<int64_t>());
    EXPECT_EQ(t.claims.expires_at_ms, o["expiresAt"].get<int64_t>());
  }
}

TEST(CheckoutToken, ExpiredSdkTokenIsRefusedAfterItsSignatureVerifies) {
  TokenCheck t = verify_offer_token(token(2), secret(), kNow);
  EXPECT_EQ(t.status, TokenStatus::Expired) << t.message;
  EXPECT_EQ(t.claims.decision_id, "00000000000000000000000000000001");
  EXPECT_NE(t.message.find("expired"), std::string::npos);
  // one millisecond before its expiry it is fine; at the expiry it is not (as the SDK's verifier)
  EXPECT_EQ(verify_offer_token(token(2), secret(), 1700000000000 - 1).status, TokenStatus::Ok);
  EXPECT_EQ(verify_offer_token(token(2), secret(), 1700000000000).status, TokenStatus::Expired);
}

TEST(CheckoutToken, TamperedTokensAreRefused) {
  const std::string tok = token(0);
  // a larger discount in the claims, original signature
  std::string richer = with_claims(
      tok, R"({"d":"0123456789abcdef0123456789abcdef","i":"i42","x":0.9,"a":2,"e":4102444800000})");
  EXPECT_EQ(verify_offer_token(richer, secret(), kNow).status, TokenStatus::BadSignature);
  // another item, original signature
  std::string other = with_claims(
      tok, R"({"d":"0123456789abcdef0123456789abcdef","i":"i43","x":0.10000000149011612,"a":2,"e":4102444800000})");
  EXPECT_EQ(verify_offer_token(other, secret(), kNow).status, TokenStatus::BadSignature);
  // one character of the signature changed
  std::string sig = tok;
  sig[sig.size() - 3] = sig[sig.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify_offer_token(sig, secret(), kNow).status, TokenStatus::BadSignature);
  // every single-character change of the signed part is caught
  size_t b = tok.rfind('.');
  for (size_t i = 3; i < b; i += 7) {
    std::string t = tok;
    t[i] = t[i] == 'x' ? 'y' : 'x';
    TokenStatus s = verify_offer_token(t, secret(), kNow).status;
    EXPECT_TRUE(s == TokenStatus::BadSignature || s == TokenStatus::Malformed) << "position " << i;
    EXPECT_NE(s, TokenStatus::Ok) << "position " << i;
  }
  // the right token, another site's secret
  EXPECT_EQ(verify_offer_token(tok, "another-secret-0123456789", kNow).status, TokenStatus::BadSignature);
}

// fuzz_offer_token (tests/fuzz): a signed token whose expiry is a number outside int64 was cast to
// int64 (undefined behaviour); an expiry beyond a JS Date's range (+-8.64e15 ms) is refused as
// malformed, naming the claim, as the SDK's verifyOfferToken does.
TEST(CheckoutToken, ExpiryOutsideTheInt64RangeIsMalformed) {
  const std::string d = R"({"d":"fedcba9876543210fedcba9876543210","i":"it","x":0.2,"a":4,"e":)";
  for (const char* e : {"4102444800000000000000000000000000000000", "1e300", "-1e300", "9.3e18", "8.7e15", "-8.7e15"}) {
    TokenCheck r = verify_offer_token(signed_token(d + e + "}"), secret(), kNow);
    EXPECT_EQ(r.status, TokenStatus::Malformed) << e;
    EXPECT_NE(r.message.find("claim e"), std::string::npos) << r.message;
  }
  // the ends of the range still verify (far future) or are expired (far past)
  EXPECT_EQ(verify_offer_token(signed_token(d + "8.64e15}"), secret(), kNow).status, TokenStatus::Ok);
  EXPECT_EQ(verify_offer_token(signed_token(d + "-8.64e15}"), secret(), kNow).status, TokenStatus::Expired);
}

TEST(CheckoutToken, MalformedTokensNameTheReason) {
  const std::string tok = token(0);
  auto check = [](const std::string& t, const char* needle) {
    TokenCheck r = verify_offer_token(t, "checkout-test-secret-0123456789", kNow);
    EXPECT_EQ(r.status, TokenStatus::Malformed) << t;
    EXPECT_NE(r.message.find(needle), std::string::npos) << r.message;
  };
  check("", "three");
  check("v1.abc", "three");
  check(tok + ".x", "three");
  check("v2" + tok.substr(2), "v1");
  check(tok.substr(0, tok.rfind('.') + 1) + "short", "32 bytes");
  check(tok.substr(0, tok.rfind('.') + 1) + "++++", "32 bytes");
  check(std::string(5000, 'a'), "4096");
}

TEST(CheckoutToken, SignedButIncompleteClaimsAreMalformed) {
  // correctly signed (OpenSSL, as the collector signs batches) but not the claims the SDK writes
  auto sign = [](const std::string& claims) {
    std::string head = "v1." + base64url_encode(claims);
    std::string hex = hmac_sha256_hex(secret(), head), mac;
    for (size_t i = 0; i < hex.size(); i += 2) mac.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return head + "." + base64url_encode(mac);
  };
  const std::string ok = R"({"d":"0123456789abcdef0123456789abcdef","i":"i1","x":0.1,"a":1,"e":4102444800000})";
  EXPECT_EQ(verify_offer_token(sign(ok), secret(), kNow).status, TokenStatus::Ok);
  for (const char* bad : {R"({"i":"i1","x":0.1,"e":4102444800000})", R"({"d":"0123","i":"i1","x":0.1,"e":4102444800000})",
                          R"({"d":"0123456789abcdef0123456789abcdef","i":"i1","x":1.5,"e":4102444800000})",
                          R"({"d":"0123456789abcdef0123456789abcdef","i":1,"x":0.1,"e":4102444800000})",
                          R"([1,2,3])", "not json"}) {
    TokenCheck r = verify_offer_token(sign(bad), secret(), kNow);
    EXPECT_EQ(r.status, TokenStatus::Malformed) << bad;
    EXPECT_FALSE(r.message.empty());
  }
}

TEST(Checkout, AppliesVerifiedOffersOnceAndLogsTheOrder) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  json body{{"order_id", "o-1"},
            {"lines", json::array({{{"item_id", "i42"}, {"quantity", 2}, {"price", 10.0}, {"token", token(0)}},
                                   {{"item_id", "i9"}, {"quantity", 1}, {"price", 5.5}}})}};
  {
    Checkout co(cfg, deps());
    CheckoutReply r = co.handle("shop-key", body.dump(), kNow);
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j["order_id"], "o-1");
    EXPECT_EQ(j["lines"][0]["offer"], "applied");
    EXPECT_EQ(j["lines"][0]["decision_id"], "0123456789abcdef0123456789abcdef");
    EXPECT_NEAR(j["lines"][0]["total"].get<double>(), 18.0, 1e-9);
    EXPECT_EQ(j["lines"][1]["offer"], "none");
    EXPECT_NEAR(j["total"].get<double>(), 23.5, 1e-9);
    EXPECT_NEAR(j["saved"].get<double>(), 2.0, 1e-6);
    // the same offer again: full price, with the reason
    body["order_id"] = "o-2";
    r = co.handle("shop-key", body.dump(), kNow);
    ASSERT_EQ(r.status, 200) << r.body;
    j = json::parse(r.body);
    EXPECT_EQ(j["lines"][0]["offer"], "rejected");
    EXPECT_EQ(j["lines"][0]["reason"], "already_redeemed");
    EXPECT_NEAR(j["total"].get<double>(), 25.5, 1e-9);
  }
  // after a restart the log still knows the offer was redeemed
  Checkout again(cfg, deps());
  body["order_id"] = "o-3";
  json j = json::parse(again.handle("shop-key", body.dump(), kNow).body);
  EXPECT_EQ(j["lines"][0]["reason"], "already_redeemed");
  // the log holds the three orders, one JSON object per line
  std::ifstream log(again.log_path());
  std::string line;
  int n = 0;
  while (std::getline(log, line)) {
    json o = json::parse(line);
    EXPECT_EQ(o["site"], "shop");
    EXPECT_EQ(o["order_id"], "o-" + std::to_string(++n));
  }
  EXPECT_EQ(n, 3);
}

TEST(Checkout, TamperedExpiredAndWrongItemOffersFallBackToFullPrice) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  Checkout co(cfg, deps());
  std::string richer = with_claims(
      token(0), R"({"d":"0123456789abcdef0123456789abcdef","i":"i42","x":0.9,"a":2,"e":4102444800000})");
  json body{{"lines", json::array({{{"item_id", "i42"}, {"quantity", 1}, {"price", 10.0}, {"token", richer}},
                                   {{"item_id", "i7"}, {"quantity", 1}, {"price", 10.0}, {"token", token(2)}},
                                   {{"item_id", "i43"}, {"quantity", 1}, {"price", 10.0}, {"token", token(0)}}})}};
  CheckoutReply r = co.handle("shop-key", body.dump(), kNow);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["lines"][0]["reason"], "bad_signature");
  EXPECT_EQ(j["lines"][1]["reason"], "expired");
  EXPECT_EQ(j["lines"][2]["reason"], "wrong_item");
  for (const auto& l : j["lines"]) {
    EXPECT_EQ(l["offer"], "rejected");
    EXPECT_EQ(l["discount"].get<double>(), 0.0);
  }
  EXPECT_NEAR(j["total"].get<double>(), 30.0, 1e-9);
  EXPECT_EQ(j["order_id"].get<std::string>().size(), 16u);  // generated when absent
  // a token of this site presented with another site's key does not verify
  json one{{"lines", json::array({{{"item_id", "i42"}, {"quantity", 1}, {"price", 10.0}, {"token", token(0)}}})}};
  j = json::parse(co.handle("other-key", one.dump(), kNow).body);
  EXPECT_EQ(j["lines"][0]["reason"], "bad_signature");
}

TEST(Checkout, RejectsBadRequestsNamingTheField) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  Checkout co(cfg, deps());
  EXPECT_EQ(co.handle("nope", R"({"lines":[]})", kNow).status, 401);
  EXPECT_EQ(co.handle("shop-key", "not json", kNow).status, 400);
  EXPECT_EQ(co.handle("shop-key", R"({"lines":[]})", kNow).status, 400);
  auto msg = [&](const std::string& b) {
    CheckoutReply r = co.handle("shop-key", b, kNow);
    EXPECT_EQ(r.status, 400) << b;
    return json::parse(r.body)["message"].get<std::string>();
  };
  EXPECT_NE(msg(R"({"lines":[{"quantity":1,"price":1}]})").find("lines[0].item_id"), std::string::npos);
  EXPECT_NE(msg(R"({"lines":[{"item_id":"a","quantity":1,"price":1},{"item_id":"b","quantity":0,"price":1}]})")
                .find("lines[1].quantity"),
            std::string::npos);
  EXPECT_NE(msg(R"({"lines":[{"item_id":"a","quantity":1,"price":-1}]})").find("lines[0].price"), std::string::npos);
  EXPECT_NE(msg(R"({"lines":[{"item_id":"a","quantity":1,"price":1,"token":5}]})").find("lines[0].token"),
            std::string::npos);
  // nothing was logged for refused requests
  EXPECT_EQ(std::filesystem::file_size(co.log_path()), 0u);
}

// Every line is charged the catalog price, never the page's: a page price that disagrees is
// corrected (and said so), an item the catalog does not have refuses the order, no catalog = 503.
TEST(Checkout, PricesEveryLineFromTheCatalog) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  Checkout co(cfg, deps());
  json body{{"lines", json::array({{{"item_id", "i42"}, {"quantity", 2}, {"price", 0.01}},
                                   {{"item_id", "i9"}, {"quantity", 1}, {"price", 5.5}},
                                   {{"item_id", "i43"}, {"quantity", 1}}})}};
  CheckoutReply r = co.handle("shop-key", body.dump(), kNow);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["lines"][0]["price"].get<double>(), 10.0);
  EXPECT_EQ(j["lines"][0]["page_price"].get<double>(), 0.01);
  EXPECT_EQ(j["lines"][0]["repriced"], true);
  EXPECT_NEAR(j["lines"][0]["total"].get<double>(), 20.0, 1e-9);
  EXPECT_FALSE(j["lines"][1].contains("repriced"));  // the page's price agreed
  EXPECT_NEAR(j["lines"][2]["total"].get<double>(), 10.0, 1e-9);  // no page price: the catalog's
  EXPECT_NEAR(j["total"].get<double>(), 35.5, 1e-9);
  // an item not in the catalog: the whole order is refused, naming the line
  json unknown{{"lines", json::array({{{"item_id", "i9"}, {"quantity", 1}}, {{"item_id", "zz"}, {"quantity", 1}, {"price", 1}}})}};
  r = co.handle("shop-key", unknown.dump(), kNow);
  EXPECT_EQ(r.status, 400);
  j = json::parse(r.body);
  EXPECT_EQ(j["error"], "unknown_item");
  EXPECT_EQ(j["field"], "lines[1].item_id");
  // no catalog served (no bundle, or one that does not load): the shop keeps selling at the page's
  // list prices, but no offer applies and nothing is recorded as an outcome
  Recorded rec;
  Checkout none(cfg, deps(&rec, nullptr), (dir.p / "none.jsonl").string());
  r = none.handle("shop-key", body.dump(), kNow);
  EXPECT_EQ(r.status, 400) << "a line without a price cannot be priced";
  EXPECT_EQ(json::parse(r.body)["error"], "bad_line");
  json listed{{"lines", json::array({{{"item_id", "i42"}, {"quantity", 2}, {"price", 10.0}, {"token", token(0)}},
                                     {{"item_id", "zz"}, {"quantity", 1}, {"price", 3.0}}})}};
  r = none.handle("shop-key", listed.dump(), kNow);
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["catalog"], false);
  EXPECT_EQ(j["lines"][0]["offer"], "rejected");
  EXPECT_EQ(j["lines"][0]["reason"], "no_catalog");
  EXPECT_NEAR(j["total"].get<double>(), 23.0, 1e-9);
  EXPECT_TRUE(rec.outcomes.empty());
  // one order logged (the refused ones are not)
  std::ifstream log(co.log_path());
  std::string line;
  int n = 0;
  while (std::getline(log, line)) ++n;
  EXPECT_EQ(n, 1);
}

// An applied offer becomes the outcome of its decision (the reward the bandit trains on), with the
// catalog's price and cost: margin = charged total - cost x quantity. When the store refuses, the
// order is refused too and the offer is not redeemed (a retry applies it).
TEST(Checkout, AppliedOffersAreStoredAsOutcomesWithTheCatalogMargin) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  Recorded rec;
  rec.fail = "disk full";
  Checkout co(cfg, deps(&rec));
  json body{{"order_id", "o-9"},
            {"lines", json::array({{{"item_id", "i42"}, {"quantity", 2}, {"price", 99.0}, {"token", token(0)}},
                                   {{"item_id", "i9"}, {"quantity", 1}}})}};
  CheckoutReply r = co.handle("shop-key", body.dump(), kNow);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"], "storage_error");
  EXPECT_EQ(std::filesystem::file_size(co.log_path()), 0u);
  rec.fail.clear();
  r = co.handle("shop-key", body.dump(), kNow);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["lines"][0]["offer"], "applied");
  ASSERT_EQ(rec.outcomes.size(), 1u);  // only the line with an applied offer
  const auto& [site, o] = rec.outcomes[0];
  EXPECT_EQ(site, "shop");
  EXPECT_EQ(o.id.hex(), "0123456789abcdef0123456789abcdef");
  EXPECT_TRUE(o.converted);
  EXPECT_EQ(o.ts_ms, kNow);
  EXPECT_NEAR(o.revenue, 18.0, 1e-9);  // 2 x 10 (catalog, not the page's 99) x (1 - 0.1)
  EXPECT_NEAR(o.margin, 18.0 - 2 * 6.0, 1e-9);
}

// Site keys with ids: a token signed with any key of the site verifies; once the key is removed it
// does not (collector/PROTOCOL.md, "Site keys with ids, rotation").
TEST(CheckoutToken, TokensVerifyWithEveryKeyOfTheSite) {
  Site old_only{"shop", "shop-key", secret(), {}};
  Site rotated{"shop", "shop-key", "the-new-secret-0123456789", {SiteKey{"k2027", secret()}}};
  Site new_only{"shop", "shop-key", "", {SiteKey{"k2028", "the-new-secret-0123456789"}}};
  EXPECT_EQ(verify_offer_token(token(0), old_only, kNow).status, TokenStatus::Ok);
  EXPECT_EQ(verify_offer_token(token(0), rotated, kNow).status, TokenStatus::Ok);
  EXPECT_EQ(verify_offer_token(token(0), new_only, kNow).status, TokenStatus::BadSignature);
  EXPECT_EQ(verify_offer_token(token(2), rotated, kNow).status, TokenStatus::Expired);  // verified, then expired
}

// ---- cart offers (the SDK's offerCart; issue 14) ----------------------------------------------------

namespace {
std::vector<std::pair<std::string, int64_t>> fixture_cart(int i) {
  std::vector<std::pair<std::string, int64_t>> cart;
  const json f = fixtures();  // (kept: a range-for over a temporary's member would dangle)
  for (const auto& l : f["tokens"][i]["offer"]["cart"])
    cart.emplace_back(l["itemId"].get<std::string>(), l["quantity"].get<int64_t>());
  return cart;
}
json lines_of(const std::vector<std::pair<std::string, int64_t>>& cart) {
  json a = json::array();
  for (const auto& [id, q] : cart) a.push_back({{"item_id", id}, {"quantity", q}});
  return a;
}
json cart_order(const std::vector<std::pair<std::string, int64_t>>& cart, const std::string& tok, const char* order_id = nullptr) {
  json b{{"lines", lines_of(cart)}, {"cart_token", tok}};
  if (order_id) b["order_id"] = order_id;
  return b;
}
}  // namespace

// The SDK's cart tokens verify here with their terms, and the C++ digest of each cart is the SDK's
// (tricky ids: UTF-16 order, JSON.stringify's escapes, repeated ids merged).
TEST(CheckoutToken, SdkCartTokensVerifyAndTheirCartDigestsAgree) {
  const json f = fixtures();
  int carts = 0;
  for (size_t i = 0; i < f["tokens"].size(); ++i) {
    const json& o = f["tokens"][i]["offer"];
    if (o.value("scope", "") != "cart") continue;
    ++carts;
    EXPECT_EQ(cart_digest(fixture_cart(int(i))), f["tokens"][i]["digest"].get<std::string>()) << "token " << i;
    TokenCheck t = verify_offer_token(token(int(i)), secret(), kNow);
    const bool expired = o["expiresAt"].get<int64_t>() <= kNow;
    EXPECT_EQ(t.status, expired ? TokenStatus::Expired : TokenStatus::Ok) << t.message;
    EXPECT_EQ(t.claims.scope, "cart");
    EXPECT_EQ(t.claims.item_id, "");
    EXPECT_EQ(t.claims.cart_digest, f["tokens"][i]["digest"].get<std::string>());
    EXPECT_EQ(t.claims.decision_id, o["decisionId"].get<std::string>());
    EXPECT_EQ(t.claims.amount, o["amount"].get<double>());
    EXPECT_EQ(t.claims.min_spend, o["minSpend"].get<double>());
    EXPECT_EQ(t.claims.kind, o["kind"].get<std::string>());
    EXPECT_EQ(t.claims.arm, o["arm"].get<int64_t>());
  }
  EXPECT_EQ(carts, 3);
  // the canonical text, pinned: [["a",2],["b",4]] -> its SHA-256, base64url (as node:crypto gives)
  EXPECT_EQ(cart_digest({{"b", 1}, {"a", 2}, {"b", 3}}), cart_digest({{"a", 2}, {"b", 4}}));
  EXPECT_NE(cart_digest({{"a", 2}, {"b", 4}}), cart_digest({{"a", 2}, {"b", 5}}));
  unsigned char h[32];
  const std::string text = R"([["a",2],["b",4]])";
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), h, &len, EVP_sha256(), nullptr);
  EXPECT_EQ(cart_digest({{"a", 2}, {"b", 4}}), base64url_encode(std::string(reinterpret_cast<char*>(h), 32)));
}

TEST(CheckoutToken, MalformedCartClaimsNameTheReason) {
  const std::string d = R"("d":"c0ffee00c0ffee00c0ffee00c0ffee00")";
  auto check = [&](const std::string& claims, const char* want) {
    TokenCheck t = verify_offer_token(signed_token(claims), secret(), kNow);
    EXPECT_EQ(t.status, TokenStatus::Malformed) << claims;
    EXPECT_NE(t.message.find(want), std::string::npos) << t.message;
  };
  check("{" + d + R"(,"s":"item","i":"i42","x":0.1,"e":4102444800000})", "claim s (scope) is not \"cart\"");
  check("{" + d + R"(,"s":"cart","x":0.1,"v":1,"m":5,"e":4102444800000})", "cart token claims are incomplete");
  check("{" + d + R"(,"s":"cart","c":"x","x":0.1,"v":-1,"m":5,"e":4102444800000})", "must be finite numbers >= 0");
  check("{" + d + R"(,"s":"cart","c":"x","x":1.5,"v":1,"m":5,"e":4102444800000})", "claim x (discount)");
}

TEST(Checkout, ACartOfferAppliesToItsCartOnceAtOrAboveItsMinimumSpend) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  Recorded rec;
  const auto cart = fixture_cart(3);  // i42 x 2, i9, i43: 35.5 at the catalog's prices; the offer: 3.55 off over 30
  {
    Checkout co(cfg, deps(&rec));
    CheckoutReply r = co.handle("shop-key", cart_order(cart, token(3), "c-1").dump(), kNow);
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j["cart_offer"]["offer"], "applied") << j.dump();
    EXPECT_EQ(j["cart_offer"]["decision_id"], "c0ffee00c0ffee00c0ffee00c0ffee00");
    EXPECT_NEAR(j["cart_offer"]["discount"].get<double>(), 3.55, 1e-9);
    EXPECT_EQ(j["cart_offer"]["arm"], 5);
    EXPECT_EQ(j["cart_offer"]["min_spend"], 30);
    EXPECT_NEAR(j["total"].get<double>(), 31.95, 1e-9);
    EXPECT_NEAR(j["saved"].get<double>(), 3.55, 1e-9);
    // its outcome: the order's margin after the discount (costs 6 x 2 + 2 + 1)
    ASSERT_EQ(rec.outcomes.size(), 1u);
    EXPECT_EQ(rec.outcomes[0].second.id.hex(), "c0ffee00c0ffee00c0ffee00c0ffee00");
    EXPECT_NEAR(rec.outcomes[0].second.revenue, 31.95, 1e-9);
    EXPECT_NEAR(rec.outcomes[0].second.margin, 31.95 - 15.0, 1e-9);
    // used once
    j = json::parse(co.handle("shop-key", cart_order(cart, token(3), "c-2").dump(), kNow).body);
    EXPECT_EQ(j["cart_offer"]["reason"], "already_redeemed");
    EXPECT_NEAR(j["total"].get<double>(), 35.5, 1e-9);
  }
  Checkout again(cfg, deps());  // the order log remembers it across a restart
  json j = json::parse(again.handle("shop-key", cart_order(cart, token(3), "c-3").dump(), kNow).body);
  EXPECT_EQ(j["cart_offer"]["reason"], "already_redeemed");
  // the same lines in another order, one split in two: the same cart
  TempDir dir2;
  Config cfg2 = site_config(dir2.p.string());
  Checkout co2(cfg2, deps());
  j = json::parse(co2.handle("shop-key", cart_order({{"i43", 1}, {"i42", 1}, {"i9", 1}, {"i42", 1}}, token(3)).dump(), kNow).body);
  EXPECT_EQ(j["cart_offer"]["offer"], "applied") << j.dump();
}

TEST(Checkout, CartOffersAreRefusedNamingTheReasonAndTheOrderKeepsItsPrices) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  Checkout co(cfg, deps());
  auto reason = [&](const json& body, const char* want, const char* says = "") {
    CheckoutReply r = co.handle("shop-key", body.dump(), kNow);
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j["cart_offer"]["offer"], "rejected") << body.dump();
    EXPECT_EQ(j["cart_offer"]["reason"], want) << j.dump();
    EXPECT_NE(j["cart_offer"]["message"].get<std::string>().find(says), std::string::npos) << j["cart_offer"]["message"];
    EXPECT_EQ(j["saved"].get<double>(), 0.0);
    return j;
  };
  auto cart = fixture_cart(3);
  // another cart: a line more, a quantity changed
  auto more = cart;
  more.emplace_back("a", 1);
  reason(cart_order(more, token(3)), "cart_mismatch", "was made for another cart");
  auto fewer = cart;
  fewer[0].second = 1;
  reason(cart_order(fewer, token(3)), "cart_mismatch");
  // below the minimum spend: a 50-over offer for i42 x 2 (20 at the catalog's prices, whatever the page says)
  const std::string dgst = cart_digest({{"i42", 2}});
  const std::string over50 = signed_token(R"({"d":"c0ffee00c0ffee00c0ffee00c0ffee09","s":"cart","c":")" + dgst +
                                          R"(","x":0.25,"v":5,"m":50,"k":"fixed","a":6,"e":4102444800000})");
  json page{{"lines", json::array({{{"item_id", "i42"}, {"quantity", 2}, {"price", 99.0}}})}, {"cart_token", over50}};
  json j = reason(page, "below_min_spend", "needs an order of at least 50 at catalog prices; this order's total is 20");
  EXPECT_NEAR(j["total"].get<double>(), 20.0, 1e-9);
  // expired (after its signature verifies), tampered, signed with another site's secret
  reason(cart_order(fixture_cart(4), token(4)), "expired");
  const std::string richer = with_claims(token(3), R"({"d":"c0ffee00c0ffee00c0ffee00c0ffee00","s":"cart","c":")" +
                                                       cart_digest(cart) + R"(","x":0.9,"v":30,"m":0,"k":"percent","a":5,"e":4102444800000})");
  reason(cart_order(cart, richer), "bad_signature");
  j = json::parse(co.handle("other-key", cart_order(cart, token(3)).dump(), kNow).body);
  EXPECT_EQ(j["cart_offer"]["reason"], "bad_signature");
  // scope: an item token as the cart token, a cart token on a line
  reason(cart_order({{"i42", 1}}, token(0)), "wrong_scope", "is for item i42");
  json line_token{{"lines", json::array({{{"item_id", "i42"}, {"quantity", 2}, {"token", token(3)}}})}};
  j = json::parse(co.handle("shop-key", line_token.dump(), kNow).body);
  EXPECT_EQ(j["lines"][0]["reason"], "wrong_scope");
  EXPECT_NE(j["lines"][0]["message"].get<std::string>().find("send its token as the order's cart_token"), std::string::npos);
  // a cart_token that is not a string: the order is refused by field
  json bad = cart_order(cart, "x");
  bad["cart_token"] = 7;
  CheckoutReply r = co.handle("shop-key", bad.dump(), kNow);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"], "bad_cart_token");
  // no catalog served: list prices, no cart offer
  CheckoutDeps none;
  none.catalog = [] { return std::shared_ptr<const Catalog>(); };
  TempDir dir3;
  Config cfg3 = site_config(dir3.p.string());
  Checkout list(cfg3, none);
  json priced{{"lines", json::array({{{"item_id", "i42"}, {"quantity", 2}, {"price", 10.0}}, {{"item_id", "i9"}, {"quantity", 1}, {"price", 5.5}},
                                      {{"item_id", "i43"}, {"quantity", 1}, {"price", 10.0}}})},
              {"cart_token", token(3)}};
  j = json::parse(list.handle("shop-key", priced.dump(), kNow).body);
  EXPECT_EQ(j["cart_offer"]["reason"], "no_catalog");
}

// The shipping line (Config shipping_fee, free_shipping_over): a flat fee per order, waived by a
// verified free-shipping item offer (its arm's kind in the served bundle) or cart coupon (its
// token's kind), or when the goods' total after discounts reaches the threshold; a refused offer
// (expired, tampered) waives nothing.
namespace {
std::shared_ptr<const Catalog> shipping_catalog() {
  auto c = std::make_shared<Catalog>(*test_catalog());
  c->arm_kinds = {0, 0, 0, 0, 2};  // arm 4 is a free-shipping arm (as the synthetic bundle's)
  return c;
}
const char* kFree = "feed0000feed0000feed0000feed0000";
std::string free_item_token(int64_t expires) {
  return signed_token(std::string(R"({"d":")") + kFree + R"(","i":"i42","x":0,"a":4,"e":)" + std::to_string(expires) + "}");
}
json one_line(const std::string& item, int qty, const std::string& tok = "") {
  json l{{"item_id", item}, {"quantity", qty}};
  if (!tok.empty()) l["token"] = tok;
  return json{{"lines", json::array({l})}};
}
}  // namespace

TEST(CheckoutShipping, AFlatFeeIsChargedBelowTheThresholdAndWaivedAtIt) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  cfg.shipping_fee = 4.9;
  cfg.free_shipping_over = 30;
  Checkout co(cfg, deps(nullptr, shipping_catalog()));
  json j = json::parse(co.handle("shop-key", one_line("i42", 2).dump(), kNow).body);  // 20 of goods
  EXPECT_NEAR(j["subtotal"].get<double>(), 20.0, 1e-9);
  EXPECT_NEAR(j["shipping_fee"].get<double>(), 4.9, 1e-9);
  EXPECT_NEAR(j["shipping"].get<double>(), 4.9, 1e-9);
  EXPECT_NEAR(j["shipping_discount"].get<double>(), 0.0, 1e-9);
  EXPECT_NEAR(j["total"].get<double>(), 24.9, 1e-9);
  EXPECT_NEAR(j["saved"].get<double>(), 0.0, 1e-9);
  EXPECT_FALSE(j.contains("free_shipping")) << j.dump();
  EXPECT_EQ(j["free_shipping_over"], 30);
  j = json::parse(co.handle("shop-key", one_line("i42", 3).dump(), kNow).body);  // 30: at the threshold
  EXPECT_NEAR(j["shipping"].get<double>(), 0.0, 1e-9);
  EXPECT_NEAR(j["shipping_discount"].get<double>(), 4.9, 1e-9);
  EXPECT_EQ(j["free_shipping"], "threshold");
  EXPECT_NEAR(j["total"].get<double>(), 30.0, 1e-9);
  // the threshold is on the goods after the line offers: 10 % off 3 x 10 is 27, under 30
  const std::string ten = signed_token(R"({"d":"feed0000feed0000feed0000feed0001","i":"i42","x":0.1,"a":2,"e":4102444800000})");
  j = json::parse(co.handle("shop-key", one_line("i42", 3, ten).dump(), kNow).body);
  EXPECT_EQ(j["lines"][0]["offer"], "applied");
  EXPECT_NEAR(j["subtotal"].get<double>(), 27.0, 1e-9);
  EXPECT_NEAR(j["shipping"].get<double>(), 4.9, 1e-9);
  EXPECT_NEAR(j["total"].get<double>(), 31.9, 1e-9);
  // the order log has the same shipping line as the answer
  std::ifstream log(co.log_path());
  std::string line, last;
  while (std::getline(log, line)) last = line;
  json rec = json::parse(last);
  EXPECT_NEAR(rec["shipping"].get<double>(), 4.9, 1e-9);
  EXPECT_NEAR(rec["total"].get<double>(), 31.9, 1e-9);
}

TEST(CheckoutShipping, NoFeeByDefault) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  EXPECT_EQ(cfg.shipping_fee, 0.0);
  EXPECT_EQ(cfg.free_shipping_over, 0.0);
  Checkout co(cfg, deps());
  json j = json::parse(co.handle("shop-key", one_line("i42", 1).dump(), kNow).body);
  EXPECT_EQ(j["shipping"], 0.0);
  EXPECT_EQ(j["shipping_fee"], 0.0);
  EXPECT_NEAR(j["total"].get<double>(), 10.0, 1e-9);
  EXPECT_FALSE(j.contains("free_shipping"));
  EXPECT_FALSE(j.contains("free_shipping_over"));
}

TEST(CheckoutShipping, AFreeShippingItemOfferWaivesTheFeeAndSaysSo) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  cfg.shipping_fee = 4.9;
  cfg.free_shipping_over = 100;
  Checkout co(cfg, deps(nullptr, shipping_catalog()));
  json j = json::parse(co.handle("shop-key", one_line("i42", 1, free_item_token(4102444800000)).dump(), kNow).body);
  EXPECT_EQ(j["lines"][0]["offer"], "applied") << j.dump();
  EXPECT_EQ(j["lines"][0]["free_shipping"], true);
  EXPECT_NEAR(j["lines"][0]["total"].get<double>(), 10.0, 1e-9);  // the item at its price
  EXPECT_EQ(j["free_shipping"], "item_offer");
  EXPECT_NEAR(j["shipping"].get<double>(), 0.0, 1e-9);
  EXPECT_NEAR(j["shipping_discount"].get<double>(), 4.9, 1e-9);
  EXPECT_NEAR(j["total"].get<double>(), 10.0, 1e-9);
  EXPECT_NEAR(j["saved"].get<double>(), 4.9, 1e-9);
  // the same arm index in a bundle where it is not free shipping: no waiver
  TempDir dir2;
  Config cfg2 = site_config(dir2.p.string());
  cfg2.shipping_fee = 4.9;
  Checkout plain(cfg2, deps());
  j = json::parse(plain.handle("shop-key", one_line("i42", 1, free_item_token(4102444800000)).dump(), kNow).body);
  EXPECT_EQ(j["lines"][0]["offer"], "applied");
  EXPECT_FALSE(j["lines"][0].contains("free_shipping"));
  EXPECT_NEAR(j["shipping"].get<double>(), 4.9, 1e-9);
}

TEST(CheckoutShipping, AFreeShippingCartCouponWaivesTheFee) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  cfg.shipping_fee = 4.9;
  Checkout co(cfg, deps(nullptr, shipping_catalog()));
  const std::string dg = cart_digest({{"i42", 3}});
  const std::string ship = signed_token(R"({"d":"feed0000feed0000feed0000feed0002","s":"cart","c":")" + dg +
                                        R"(","x":0,"v":0,"m":20,"k":"free_shipping","a":7,"e":4102444800000})");
  json order = one_line("i42", 3);
  order["cart_token"] = ship;
  json j = json::parse(co.handle("shop-key", order.dump(), kNow).body);
  EXPECT_EQ(j["cart_offer"]["offer"], "applied") << j.dump();
  EXPECT_EQ(j["cart_offer"]["free_shipping"], true);
  EXPECT_EQ(j["free_shipping"], "cart_offer");
  EXPECT_NEAR(j["shipping"].get<double>(), 0.0, 1e-9);
  EXPECT_NEAR(j["total"].get<double>(), 30.0, 1e-9);
  EXPECT_NEAR(j["saved"].get<double>(), 4.9, 1e-9);
  // a percent coupon applies to the goods and the fee is still charged
  const std::string pct = signed_token(R"({"d":"feed0000feed0000feed0000feed0003","s":"cart","c":")" + dg +
                                       R"(","x":0.1,"v":3,"m":20,"k":"percent","a":5,"e":4102444800000})");
  order["cart_token"] = pct;
  j = json::parse(co.handle("shop-key", order.dump(), kNow).body);
  EXPECT_EQ(j["cart_offer"]["offer"], "applied");
  EXPECT_NEAR(j["subtotal"].get<double>(), 27.0, 1e-9);
  EXPECT_NEAR(j["shipping"].get<double>(), 4.9, 1e-9);
  EXPECT_NEAR(j["total"].get<double>(), 31.9, 1e-9);
  EXPECT_NEAR(j["saved"].get<double>(), 3.0, 1e-9);
}

// The fee a free-shipping offer waives is its cost to the merchant: the reward of the decision
// behind it (the outcome the checkout records) is its margin less the fee; a percent coupon's or a
// threshold's order keeps the goods' margin (the shopper pays the fee, or nobody's decision waived it).
TEST(CheckoutShipping, AWaivedFeeComesOffTheMarginOfTheDecisionThatWaivedIt) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  cfg.shipping_fee = 4.9;
  cfg.free_shipping_over = 100;
  Recorded rec;
  Checkout co(cfg, deps(&rec, shipping_catalog()));
  json j = json::parse(co.handle("shop-key", one_line("i42", 1, free_item_token(4102444800000)).dump(), kNow).body);
  ASSERT_EQ(j["free_shipping"], "item_offer") << j.dump();
  ASSERT_EQ(rec.outcomes.size(), 1u);
  EXPECT_NEAR(rec.outcomes[0].second.revenue, 10.0, 1e-9);
  EXPECT_NEAR(rec.outcomes[0].second.margin, 10.0 - 6.0 - 4.9, 1e-9);
  // a free-shipping cart coupon: the cart decision's margin carries the fee
  const std::string dg = cart_digest({{"i42", 3}});
  json order = one_line("i42", 3);
  order["cart_token"] = signed_token(R"({"d":"feed0000feed0000feed0000feed0012","s":"cart","c":")" + dg +
                                     R"(","x":0,"v":0,"m":20,"k":"free_shipping","a":7,"e":4102444800000})");
  j = json::parse(co.handle("shop-key", order.dump(), kNow).body);
  ASSERT_EQ(j["free_shipping"], "cart_offer") << j.dump();
  ASSERT_EQ(rec.outcomes.size(), 2u);
  EXPECT_NEAR(rec.outcomes[1].second.margin, 30.0 - 18.0 - 4.9, 1e-9);
  // a percent coupon: the shopper pays the fee, the margin is the goods'
  order["cart_token"] = signed_token(R"({"d":"feed0000feed0000feed0000feed0013","s":"cart","c":")" + dg +
                                     R"(","x":0.1,"v":3,"m":20,"k":"percent","a":5,"e":4102444800000})");
  j = json::parse(co.handle("shop-key", order.dump(), kNow).body);
  ASSERT_NEAR(j["shipping"].get<double>(), 4.9, 1e-9);
  ASSERT_EQ(rec.outcomes.size(), 3u);
  EXPECT_NEAR(rec.outcomes[2].second.margin, 27.0 - 18.0, 1e-9);
  // the threshold waives it for an order with a 0 % item offer: nobody's decision, margin unchanged
  const std::string zero = signed_token(R"({"d":"feed0000feed0000feed0000feed0014","i":"i42","x":0,"a":0,"e":4102444800000})");
  j = json::parse(co.handle("shop-key", one_line("i42", 10, zero).dump(), kNow).body);
  ASSERT_EQ(j["free_shipping"], "threshold") << j.dump();
  ASSERT_EQ(rec.outcomes.size(), 4u);
  EXPECT_NEAR(rec.outcomes[3].second.margin, 100.0 - 60.0, 1e-9);
}

TEST(CheckoutShipping, AnExpiredOrTamperedOfferStillPaysShipping) {
  TempDir dir;
  Config cfg = site_config(dir.p.string());
  cfg.shipping_fee = 4.9;
  Checkout co(cfg, deps(nullptr, shipping_catalog()));
  // an expired free-shipping item offer
  json j = json::parse(co.handle("shop-key", one_line("i42", 1, free_item_token(kNow - 1)).dump(), kNow).body);
  EXPECT_EQ(j["lines"][0]["reason"], "expired") << j.dump();
  EXPECT_NEAR(j["shipping"].get<double>(), 4.9, 1e-9);
  EXPECT_NEAR(j["total"].get<double>(), 14.9, 1e-9);
  EXPECT_FALSE(j.contains("free_shipping"));
  // a 10 % item offer edited into the free-shipping arm (signature kept)
  const std::string tampered = with_claims(free_item_token(4102444800000),
                                           std::string(R"({"d":")") + kFree + R"(","i":"i42","x":0,"a":4,"e":4102444800001})");
  j = json::parse(co.handle("shop-key", one_line("i42", 1, tampered).dump(), kNow).body);
  EXPECT_EQ(j["lines"][0]["reason"], "bad_signature");
  EXPECT_NEAR(j["shipping"].get<double>(), 4.9, 1e-9);
  // an expired and a tampered free-shipping cart coupon
  const std::string dg = cart_digest({{"i42", 3}});
  const std::string claims = R"({"d":"feed0000feed0000feed0000feed0004","s":"cart","c":")" + dg +
                             R"(","x":0,"v":0,"m":20,"k":"free_shipping","a":7,"e":)";
  json order = one_line("i42", 3);
  order["cart_token"] = signed_token(claims + std::to_string(kNow) + "}");
  j = json::parse(co.handle("shop-key", order.dump(), kNow).body);
  EXPECT_EQ(j["cart_offer"]["reason"], "expired") << j.dump();
  EXPECT_NEAR(j["shipping"].get<double>(), 4.9, 1e-9);
  EXPECT_NEAR(j["total"].get<double>(), 34.9, 1e-9);
  const std::string pct = signed_token(R"({"d":"feed0000feed0000feed0000feed0005","s":"cart","c":")" + dg +
                                       R"(","x":0.1,"v":3,"m":20,"k":"percent","a":5,"e":4102444800000})");
  order["cart_token"] = with_claims(pct, claims + "4102444800000}");
  j = json::parse(co.handle("shop-key", order.dump(), kNow).body);
  EXPECT_EQ(j["cart_offer"]["reason"], "bad_signature");
  EXPECT_NEAR(j["shipping"].get<double>(), 4.9, 1e-9);
  EXPECT_NEAR(j["saved"].get<double>(), 0.0, 1e-9);
}

TEST(CheckoutShipping, TheSettingsParseAndRefuseBadAmounts) {
  Config c = parse_config_args({"--shipping-fee", "4.90", "--free-shipping-over", "50"});
  EXPECT_NEAR(c.shipping_fee, 4.9, 1e-12);
  EXPECT_NEAR(c.free_shipping_over, 50.0, 1e-12);
  try {
    parse_config_args({"--shipping-fee", "-1"});
    FAIL() << "a negative fee was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("shipping_fee = '-1': expected an amount in [0, 1e7]"), std::string::npos) << e.what();
  }
}

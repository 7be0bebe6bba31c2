// libFuzzer target for the demo checkout's untrusted inputs (collector/src/checkout.cpp): offer
// tokens and POST /v1/checkout bodies. The first byte picks what the rest is:
//   0: a token, verified with the site secret (signature, then claims): refused with a status and
//      a message, or Ok;
//   1: the token's claims JSON, signed here with the secret first so that mutations get past the
//      HMAC and reach the claims checks (must never come back BadSignature);
//   2: a checkout body for the site's key (tokens inside it: as in 0).
// Secret and key are the ones of tests/checkout/sdk_tokens.json, so its tokens are the seeds.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <memory>
#include <string>
#include <string_view>

#include "disco/collector/checkout.h"
#include "disco/collector/config.h"

using namespace disco::collector;

namespace {
const std::string kSecret = "checkout-test-secret-0123456789";
constexpr int64_t kNow = 1800000000000;

void check(const TokenCheck& t) {
  if ((t.status == TokenStatus::Ok) != t.message.empty()) {
    std::fprintf(stderr, "token status %s with message '%s'\n", token_status_name(t.status), t.message.c_str());
    std::abort();
  }
}

std::string sign(std::string_view claims) {
  const std::string signed_part = "v1." + base64url_encode(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), kSecret.data(), int(kSecret.size()), reinterpret_cast<const unsigned char*>(signed_part.data()),
            signed_part.size(), mac, &len))
    std::abort();
  return signed_part + "." + base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

Checkout& checkout() {
  static Config cfg = [] {
    Config c;
    c.data_dir = "/tmp";
    c.sites.push_back(Site{"shop", "shop-key", kSecret});
    return c;
  }();
  static const std::string log = "/tmp/disco-fuzz-checkout-" + std::to_string(::getpid()) + ".jsonl";
  static std::unique_ptr<Checkout> co = [] {
    ::unlink(log.c_str());
    // The served catalog the checkout prices every line from (the corpus's item ids), and a store
    // that takes the applied offers' outcomes (each checked for finite values).
    auto cat = std::make_shared<Catalog>();
    for (const char* id : {"i42", "i43", "i84", "x", "plain", "a", "b"}) {
      CatalogItem it;
      it.price = 10.0;
      it.cost = id[0] == 'x' ? -1.0 : 4.0;
      it.in_bundle = true;
      cat->items[id] = it;
      cat->order.push_back(id);
    }
    CheckoutDeps deps;
    deps.catalog = [cat] { return std::shared_ptr<const Catalog>(cat); };
    deps.record = [](const std::string&, const std::string&, std::vector<Outcome> outs) {
      for (const Outcome& o : outs)
        if (!std::isfinite(o.revenue) || !std::isfinite(o.margin)) std::abort();  // a reward must be a number
      return std::string();
    };
    auto c = std::make_unique<Checkout>(cfg, std::move(deps), log);
    std::atexit([] { ::unlink(log.c_str()); });
    return c;
  }();
  if (::truncate(log.c_str(), 0) != 0) std::abort();  // the order log stays small (O_APPEND writes)
  return *co;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      check(verify_offer_token(rest, kSecret, kNow));
      break;
    case 1: {
      const TokenCheck t = verify_offer_token(sign(rest), kSecret, kNow);
      check(t);
      if (t.status == TokenStatus::BadSignature && rest.size() <= 3000) std::abort();  // signed right here
      break;
    }
    default: {
      const CheckoutReply r = checkout().handle("shop-key", rest, kNow);
      if (r.body.empty() || r.status < 200 || r.status > 599) std::abort();
      break;
    }
  }
  return 0;
}

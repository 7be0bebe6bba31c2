// Prints a digest of a fixed decision workload on the kept fixture bundle: every observe,
// recommendation (items + score bits), propensity and offer (all fields) feeds an XXH64. Built
// natively (CMake target runtime_decisions_digest) and with em++ (plain and -msimd128) by
// decisions_digest_check.sh, which requires the three outputs to be identical: the same inputs
// give the same decisions natively and in WASM. The cart digest: a second runtime's cart decisions
// (disco_offer_cart, every field and the cart's terms), shown / updated / expired, and its state.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "disco/disco.h"
#include "disco/xxh64.h"

namespace {
struct Digest {
  std::vector<uint8_t> bytes;
  template <class T>
  void add(const T& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof v);
  }
};
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: decisions_digest BUNDLE\n");
    return 1;
  }
  std::ifstream f(argv[1], std::ios::binary);
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  disco_bundle* b = nullptr;
  if (disco_bundle_load(bytes.data(), bytes.size(), 0, &b) != DISCO_OK) {
    std::fprintf(stderr, "load: %s\n", disco_last_error());
    return 2;
  }
  disco_bundle_info info{};
  disco_bundle_get_info(b, &info);
  disco_runtime_options opt;
  disco_runtime_default_options(&opt);
  opt.seed = 12345;
  opt.max_pending_decisions = 64;
  disco_runtime* rt = nullptr;
  if (disco_runtime_create(b, &opt, &rt) != DISCO_OK) return 3;
  disco_session* s[3] = {};
  for (int u = 0; u < 3; ++u) disco_session_create(rt, 1000 + uint64_t(u), &s[u]);
  Digest d;
  uint64_t x = 88172645463325252ull;
  auto rnd = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int offers = 0, capped = 0, discounted = 0;
  Digest rank;  // disco_rank of 50 candidates per step (its own digest: the decisions digest is unchanged)
  uint64_t y = 0x9e3779b97f4a7c15ull;
  for (int step = 0; step < 300; ++step) {
    disco_session* ss = s[step % 3];
    disco_event ev{1700000000000 + step * 4321, uint32_t(rnd() % info.n_items), uint32_t(rnd() % 5),
                   (rnd() % 4) ? 0.0f : float(rnd() % 10000) / 100.0f, int32_t(1 + rnd() % 3)};
    d.add(disco_observe(ss, &ev));
    float p = 0;
    disco_purchase_probability(ss, &p);
    d.add(p);
    uint32_t items[10] = {};
    float scores[10] = {};
    uint32_t n = 0;
    disco_filter filter;
    disco_filter_default_options(&filter);
    filter.exclude_seen = uint32_t(step % 2); filter.include_out_of_stock = uint32_t(step % 5 == 0); filter.exclude = nullptr; filter.n_exclude = 0; filter.category = step % 7 == 0 ? 3 : -1;
    d.add(disco_recommend(ss, 10, &filter, items, scores, &n));
    d.add(n);
    for (uint32_t i = 0; i < n; ++i) {
      d.add(items[i]);
      d.add(scores[i]);
    }
    uint32_t cand[50], ranked[50], rn = 0;
    float rscores[50];
    for (uint32_t& c : cand) c = uint32_t((y = y * 6364136223846793005ull + 1442695040888963407ull) >> 33) % info.n_items;
    rank.add(disco_rank(ss, cand, 50, &filter, ranked, rscores, &rn));
    rank.add(rn);
    for (uint32_t i = 0; i < rn; ++i) {
      rank.add(ranked[i]);
      rank.add(rscores[i]);
    }
    if (step % 2 == 0) {
      disco_offer o{};
      d.add(disco_offer_make(ss, n ? items[0] : 0, ev.ts_ms, 0, 0, &o));
      d.add(o);
      ++offers;
      capped += (o.guardrails & DISCO_GUARD_BUDGET) != 0;
      discounted += o.arm != 0;
      if (rnd() % 3) {
        disco_offer_shown(rt, o.decision_hi, o.decision_lo);
        disco_outcome out{o.decision_hi, o.decision_lo, ev.ts_ms + 1000, uint32_t(rnd() % 2), 20.0f,
                          float(int(rnd() % 30) - 10) / 3.0f};
        d.add(disco_update(rt, &out));
      }
    }
  }
  std::vector<uint8_t> state(1 << 20);
  size_t len = 0;
  disco_runtime_save(rt, state.data(), state.size(), &len);
  const uint64_t state_digest = disco::xxh64(state.data(), len);

  // Cart decisions on a runtime of their own (the decisions digest above stays the item workload's).
  Digest cart;
  int cart_offers = 0, cart_discounted = 0;
  {
    disco_runtime* rc = nullptr;
    if (disco_runtime_create(b, &opt, &rc) != DISCO_OK) return 4;
    disco_session* cs[3] = {};
    for (int u = 0; u < 3; ++u) disco_session_create(rc, 2000 + uint64_t(u), &cs[u]);
    for (int step = 0; step < 300; ++step) {
      disco_session* ss = cs[step % 3];
      const int64_t ts = 1700000000000 + step * 4321;
      disco_event ev{ts, uint32_t(rnd() % info.n_items), uint32_t(rnd() % 5), 0.0f, int32_t(1 + rnd() % 3)};
      cart.add(disco_observe(ss, &ev));
      uint32_t items[6], qty[6];
      const uint32_t n = 1 + uint32_t(rnd() % 6);
      for (uint32_t i = 0; i < n; ++i) items[i] = uint32_t(rnd() % info.n_items), qty[i] = 1 + uint32_t(rnd() % 3);
      disco_offer o{};
      disco_cart_terms terms{};
      cart.add(disco_offer_cart(ss, items, qty, n, ts + 1, 0, 0, &o, &terms));
      cart.add(o);
      cart.add(terms);
      ++cart_offers;
      cart_discounted += o.arm != 0;
      const uint64_t r = rnd() % 6;
      if (r < 3) {
        cart.add(disco_offer_shown(rc, o.decision_hi, o.decision_lo));
        disco_outcome out{o.decision_hi, o.decision_lo, ts + 1000, uint32_t(r % 2), float(terms.value),
                          float(terms.value * 0.3 - terms.amount) * float(r % 2)};
        cart.add(disco_update(rc, &out));
      } else if (r == 3) {
        cart.add(disco_offer_expired(rc, o.decision_hi, o.decision_lo));
      }
    }
    size_t clen = 0;
    disco_runtime_save(rc, state.data(), state.size(), &clen);
    cart.add(disco::xxh64(state.data(), clen));
    for (auto* p : cs) disco_session_free(p);
    disco_runtime_free(rc);
  }
  std::printf("decisions digest %016llx over %zu bytes (%d offers, %d discounted, %d budget-capped); runtime state "
              "%016llx (%zu bytes); rank digest %016llx; cart digest %016llx (%d cart offers, %d discounted)\n",
              (unsigned long long)disco::xxh64(d.bytes.data(), d.bytes.size()), d.bytes.size(), offers, discounted, capped,
              (unsigned long long)state_digest, len, (unsigned long long)disco::xxh64(rank.bytes.data(), rank.bytes.size()),
              (unsigned long long)disco::xxh64(cart.bytes.data(), cart.bytes.size()), cart_offers, cart_discounted);
  for (auto* p : s) disco_session_free(p);
  disco_runtime_free(rt);
  disco_bundle_free(b);
  return 0;
}

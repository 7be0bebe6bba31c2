// Runtime benchmark (the runtime's speed figures, runtime/README.md): one decision = observe + top-10 of 10,000 items + offer, p50/p99;
// the item scan's effective bandwidth against a plain read of the same bytes (ratio); kernel sets
// side by side; bytes per session and per bundle.
//   runtime_bench [--items N] [--iters N] [--dim D] [--hidden H]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "disco/bundle_writer.h"
#include "disco/formats/cli.h"
#include "disco/context.h"
#include "disco/disco.h"
#include "disco/kernels.h"

namespace {
using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

struct Pct {
  double p50, p99;
};
Pct percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[v.size() * 99 / 100]};
}

// The best of `reps` timings of f() in microseconds.
template <class F>
double best_of(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, us_since(t0));
  }
  return best;
}

volatile uint64_t g_sink;
}  // namespace

int main(int argc, char** argv) {
  uint32_t n_items = 10000, iters = 20000;
  uint16_t d = 32, h = 64;
  using disco::cli::Int;
  CLI::App app{"runtime_bench: one decision's latency on a synthetic bundle", "runtime_bench"};
  app.add_option("--items", n_items)->check(Int(1, 10000000))->capture_default_str();
  app.add_option("--iters", iters)->check(Int(1, 1000000000))->capture_default_str();
  app.add_option("--dim", d)->check(Int(1, 1024))->capture_default_str();
  app.add_option("--hidden", h)->check(Int(1, 4096))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  disco::SyntheticOptions so;
  so.n_items = n_items;
  so.emb_dim = d;
  so.hidden = h;
  auto built = disco::build_bundle(disco::make_synthetic_spec(so));
  if (!built.ok()) {
    std::fprintf(stderr, "%s\n", built.error.c_str());
    return 1;
  }
  disco_bundle* b = nullptr;
  const auto tl = Clock::now();
  if (disco_bundle_load(built.bytes.data(), built.bytes.size(), 0, &b) != DISCO_OK) return 1;
  const double load_us = us_since(tl);
  disco_runtime_options opt;
  disco_runtime_default_options(&opt);
  opt.seed = 1;
  opt.max_pending_decisions = 4096;
  disco_runtime* rt = nullptr;
  disco_runtime_create(b, &opt, &rt);

  std::printf("disco runtime bench: %u items, d=%u, h=%u, int8; best kernels: %s\n", n_items, d, h,
              disco::kernels::best_kernels().name);
  std::printf("bundle load (verify + checksum + index %u ids): %.1f us\n", n_items, load_us);

  // --- one decision ---------------------------------------------------------------------------
  std::vector<double> t_dec(iters), t_obs(iters), t_rec(iters), t_off(iters);
  disco_session* s = nullptr;
  disco_session_create(rt, 1, &s);
  uint32_t top[10];
  float sc[10];
  uint32_t got = 0;
  // rank (disco_rank) of a page's 50 / 500 candidates, timed after each decision (not part of it).
  std::vector<double> t_rank50(iters), t_rank500(iters);
  std::vector<uint32_t> cand(500), rank_items(500);
  std::vector<float> rank_scores(500);
  for (uint32_t j = 0; j < 500; ++j) cand[j] = uint32_t((uint64_t(j) * 40503u + 7) % n_items);
  for (int64_t i = -2000; i < int64_t(iters); ++i) {
    const uint32_t item = uint32_t((uint64_t(i + 2000) * 2654435761u) % n_items);
    disco_event ev{(i + 2000) * 1000, item, uint32_t((i + 2000) % 3), 0.0f, 1};
    disco_offer o{};
    const auto t0 = Clock::now();
    disco_observe(s, &ev);
    const auto t1 = Clock::now();
    disco_recommend(s, 10, nullptr, top, sc, &got);
    const auto t2 = Clock::now();
    disco_offer_make(s, top[0], ev.ts_ms, 0, 0, &o);
    const auto t3 = Clock::now();
    g_sink = g_sink + o.arm + got;
    const auto t4 = Clock::now();
    disco_rank(s, cand.data(), 50, nullptr, rank_items.data(), rank_scores.data(), &got);
    const auto t5 = Clock::now();
    disco_rank(s, cand.data(), 500, nullptr, rank_items.data(), rank_scores.data(), &got);
    const auto t6 = Clock::now();
    g_sink = g_sink + got;
    if (i >= 0) {
      auto us = [](auto a, auto c) { return std::chrono::duration<double, std::micro>(c - a).count(); };
      t_obs[size_t(i)] = us(t0, t1);
      t_rec[size_t(i)] = us(t1, t2);
      t_off[size_t(i)] = us(t2, t3);
      t_dec[size_t(i)] = us(t0, t3);
      t_rank50[size_t(i)] = us(t4, t5);
      t_rank500[size_t(i)] = us(t5, t6);
    }
    if ((i + 2000) % 50 == 49) {  // a new shopper every 50 events (sessions stay short, seen sets small)
      disco_session_free(s);
      disco_session_create(rt, uint64_t(i + 5000), &s);
    }
  }
  const Pct pd = percentiles(t_dec), po = percentiles(t_obs), pr = percentiles(t_rec), pf = percentiles(t_off);
  std::printf("one decision: p50 %.2f us, p99 %.2f us (target p50 <= 25 us natively)\n", pd.p50, pd.p99);
  std::printf("  observe p50 %.2f / p99 %.2f us; recommend top-10 p50 %.2f / p99 %.2f us; offer p50 %.2f / p99 %.2f us\n",
              po.p50, po.p99, pr.p50, pr.p99, pf.p50, pf.p99);
  const Pct pr50 = percentiles(t_rank50), pr500 = percentiles(t_rank500);
  std::printf("  rank 50 candidates p50 %.2f / p99 %.2f us; rank 500 candidates p50 %.2f / p99 %.2f us "
              "(recommend top-10 p50 %.2f / p99 %.2f us)\n", pr50.p50, pr50.p99, pr500.p50, pr500.p99, pr.p50, pr.p99);

  // --- scan bandwidth vs a plain read of the same bytes -----------------------------------------
  const size_t table_bytes = size_t(n_items) * d;
  std::vector<int8_t> table(table_bytes), q(d);
  for (size_t i = 0; i < table_bytes; ++i) table[i] = int8_t((i * 2654435761u) >> 24);
  for (size_t i = 0; i < d; ++i) q[i] = int8_t(i * 7 - 100);
  std::vector<int32_t> out(n_items);
  std::vector<int8_t> copy(table_bytes);
  const int reps = 300;
  const double t_read = best_of(reps, [&] {  // memcpy-style read of the same bytes (a copy; cache-resident)
    std::memcpy(copy.data(), table.data(), table_bytes);
    g_sink = g_sink + uint64_t(copy[table_bytes / 2]);
  });
  const double t_sum = best_of(reps, [&] {  // read-only pass: 64-bit loads summed
    uint64_t acc = 0;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(table.data());
    for (size_t i = 0; i + 8 <= table_bytes; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      acc += w;
    }
    g_sink = g_sink + acc;
  });
  std::printf("item table %zu bytes: memcpy %.2f us (%.2f GB/s), read-sum %.2f us (%.2f GB/s)\n", table_bytes, t_read,
              table_bytes / t_read / 1e3, t_sum, table_bytes / t_sum / 1e3);
  const disco::kernels::KernelSet* sets[4];
  const size_t ns = disco::kernels::available_kernels(sets, 4);
  for (size_t k = 0; k < ns; ++k) {
    const double t = best_of(reps, [&] {
      sets[k]->scan_i8(table.data(), n_items, d, q.data(), d, out.data());
      g_sink = g_sink + uint64_t(out[n_items / 2]);
    });
    std::printf("  scan_i8 %-8s %.2f us  %.2f GB/s  = %.2fx memcpy bandwidth, %.2fx read-sum\n", sets[k]->name, t,
                table_bytes / t / 1e3, t_read / t, t_sum / t);
  }
  // The whole recommend path (scan + scores + filters + heap) for the same table size.
  const double t_recommend = best_of(reps, [&] { disco_recommend(s, 10, nullptr, top, sc, &got); });
  std::printf("  recommend (scan + scale + filter + top-10 heap): %.2f us = %.2fx memcpy bandwidth\n", t_recommend,
              t_read / t_recommend);

  // --- memory ---------------------------------------------------------------------------------
  std::printf("memory: bundle file %zu bytes (caller-owned, zero copy); loaded-bundle overhead + runtime %zu bytes "
              "(4096 pending decisions); session %zu bytes\n",
              built.bytes.size(), disco_runtime_memory_bytes(rt), disco_session_memory_bytes(s));
  disco_runtime_options big = opt;
  big.max_pending_decisions = 0;
  disco_runtime* rt2 = nullptr;
  disco_runtime_create(b, &big, &rt2);
  std::printf("        runtime with the default 65536 pending decisions: %zu bytes\n", disco_runtime_memory_bytes(rt2));
  disco_runtime_free(rt2);

  // Offer p50/p99 of a runtime on `other`, interleaved with the plain runtime `rt` on the same events.
  auto interleaved = [&](const disco::BundleSpec& other, Pct* plain, Pct* with) {
    auto vb = disco::build_bundle(other);
    disco_bundle* b2 = nullptr;
    disco_runtime* rv = nullptr;
    if (!vb.ok() || disco_bundle_load(vb.bytes.data(), vb.bytes.size(), 0, &b2) != DISCO_OK ||
        disco_runtime_create(b2, &opt, &rv) != DISCO_OK) {
      std::fprintf(stderr, "bundle: %s\n", vb.ok() ? disco_last_error() : vb.error.c_str());
      return false;
    }
    // Interleaved rounds: the plain and the other runtime alternate, same sessions' events.
    disco_session *sp = nullptr, *sv = nullptr;
    disco_session_create(rt, 77, &sp);
    disco_session_create(rv, 77, &sv);
    std::vector<double> tp, tv;
    for (int64_t i = 0; i < int64_t(iters); ++i) {
      const uint32_t item = uint32_t((uint64_t(i) * 2654435761u) % n_items);
      disco_event ev{(i + 9000) * 1000, item, uint32_t(i % 3), 0.0f, 1};
      disco_observe(sp, &ev);
      disco_observe(sv, &ev);
      disco_offer o{};
      auto t0 = Clock::now();
      disco_offer_make(sp, item, ev.ts_ms, 0, 0, &o);
      auto t1 = Clock::now();
      disco_offer_make(sv, item, ev.ts_ms, 0, 0, &o);
      auto t2 = Clock::now();
      g_sink = g_sink + o.arm;
      tp.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      tv.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
      if (i % 50 == 49) {
        disco_session_free(sp);
        disco_session_free(sv);
        disco_session_create(rt, uint64_t(i + 100), &sp);
        disco_session_create(rv, uint64_t(i + 100), &sv);
      }
    }
    *plain = percentiles(tp);
    *with = percentiles(tv);
    disco_session_free(sp);
    disco_session_free(sv);
    disco_runtime_free(rv);
    disco_bundle_free(b2);
    return true;
  };

  // --- the long-term value model's cost per offer (same catalog, 120 features: all products) ----
  {
    disco::BundleSpec vs = disco::make_synthetic_spec(so);
    disco::ValueModelSpec& v = vs.value_model;
    v.context_dim = uint16_t(disco::kContextDim);
    for (uint16_t i = 1; i < disco::kContextDim; ++i)
      for (uint16_t j = i; j < disco::kContextDim; ++j) v.pairs.push_back(i), v.pairs.push_back(j);
    const size_t nf = v.context_dim + v.pairs.size() / 2;
    for (size_t k = 0; k < vs.arms.size() * nf; ++k) v.weights.push_back(float(int(k % 7) - 3) * 0.01f);
    Pct a{}, c{};
    if (!interleaved(vs, &a, &c)) return 1;
    std::printf("offer with the long-term value model (%zu features, %zu arms), interleaved with the plain bundle: "
                "p50 %.2f vs %.2f us (+%.2f us; target <= +5 us), p99 %.2f vs %.2f us\n",
                nf, vs.arms.size(), c.p50, a.p50, c.p50 - a.p50, c.p99, a.p99);
  }
  // --- a binding budget priced by the dual price (guardrails.h, Dual): one offer a second -----
  {
    disco::BundleSpec bs = disco::make_synthetic_spec(so);
    bs.guardrails.budget_per_period = 5000.0f;  // per hour: about a third of what the offers ask; the price works
    bs.guardrails.budget_period_s = 3600;
    bs.guardrails.budget_mode = 1;
    Pct a{}, c{};
    if (!interleaved(bs, &a, &c)) return 1;
    std::printf("offer with a binding budget and its dual price, interleaved with the plain bundle: "
                "p50 %.2f vs %.2f us (%+.2f us; where the cap removes the discount arms the choice is cheaper), "
                "p99 %.2f vs %.2f us\n", c.p50, a.p50, c.p50 - a.p50, c.p99, a.p99);
  }
  // --- arms: one decision (observe + top-10 + offer) with 6 plain arms vs 16 arms that all carry
  // offer-policy rules (window, lifetime, category / brand eligibility, exclusions), interleaved ---
  {
    disco::BundleSpec a6 = disco::make_synthetic_spec(so), a16 = a6;
    a6.arms.push_back({"20%", disco::ArmKindSpec::Percent, 0.20f, 0.0f});  // today's six
    a16.arms.resize(1);
    for (int k = 1; k < 16; ++k) {
      disco::BundleArm arm{"arm" + std::to_string(k), k % 5 == 4 ? disco::ArmKindSpec::FixedAmount : disco::ArmKindSpec::Percent,
                           k % 5 == 4 ? float(k) : 0.01f * float(k), 0.0f};
      arm.lifetime_s = 600 + 60 * uint32_t(k);
      arm.window_start_ms = 1000;
      arm.window_end_ms = int64_t(1) << 50;
      for (uint32_t c = 0; c < 10; ++c) arm.categories.push_back(c);
      for (uint32_t br = 0; br < 37; ++br) arm.brands.push_back(br);
      arm.excluded_items = {0, n_items / 2, n_items - 1};
      a16.arms.push_back(std::move(arm));
    }
    disco::BundleSpec p16 = a16;  // the same 16 arms without rules: the bandit's share of the cost
    for (auto& arm : p16.arms) arm = disco::BundleArm{arm.name, arm.kind, arm.value, arm.merchant_cost};
    // Decision (observe + top-10 + offer) and offer-alone percentiles of bundles x and y, interleaved.
    auto pair = [&](const disco::BundleSpec& x, const disco::BundleSpec& y, Pct out[4]) {
      disco_bundle *bx = nullptr, *by = nullptr;
      disco_runtime *rx = nullptr, *ry = nullptr;
      auto wx = disco::build_bundle(x), wy = disco::build_bundle(y);
      if (!wx.ok() || !wy.ok() || disco_bundle_load(wx.bytes.data(), wx.bytes.size(), 0, &bx) != DISCO_OK ||
          disco_bundle_load(wy.bytes.data(), wy.bytes.size(), 0, &by) != DISCO_OK ||
          disco_runtime_create(bx, &opt, &rx) != DISCO_OK || disco_runtime_create(by, &opt, &ry) != DISCO_OK) {
        std::fprintf(stderr, "arms bundles: %s %s %s\n", wx.error.c_str(), wy.error.c_str(), disco_last_error());
        return false;
      }
      disco_session *sx = nullptr, *sy = nullptr;
      disco_session_create(rx, 5, &sx);
      disco_session_create(ry, 5, &sy);
      std::vector<double> tx, ty, ox, oy;
      auto decide = [&](disco_session* ss, const disco_event& ev, double* dec, double* off) {
        disco_offer o{};
        const auto t0 = Clock::now();
        disco_observe(ss, &ev);
        disco_recommend(ss, 10, nullptr, top, sc, &got);
        const auto t1 = Clock::now();
        disco_offer_make(ss, top[0], ev.ts_ms, 0, 0, &o);
        const auto t2 = Clock::now();
        g_sink = g_sink + o.arm + got;
        *dec = std::chrono::duration<double, std::micro>(t2 - t0).count();
        *off = std::chrono::duration<double, std::micro>(t2 - t1).count();
      };
      for (int64_t i = -1000; i < int64_t(iters); ++i) {
        const uint32_t item = uint32_t((uint64_t(i + 1000) * 2654435761u) % n_items);
        disco_event ev{(i + 3000) * 1000, item, uint32_t((i + 1000) % 3), 0.0f, 1};
        double dx, dy, fx, fy;
        if (i % 2) decide(sx, ev, &dx, &fx), decide(sy, ev, &dy, &fy);  // alternate who goes first
        else decide(sy, ev, &dy, &fy), decide(sx, ev, &dx, &fx);
        if (i >= 0) tx.push_back(dx), ty.push_back(dy), ox.push_back(fx), oy.push_back(fy);
        if ((i + 1000) % 50 == 49) {
          disco_session_free(sx);
          disco_session_free(sy);
          disco_session_create(rx, uint64_t(i + 7000), &sx);
          disco_session_create(ry, uint64_t(i + 7000), &sy);
        }
      }
      out[0] = percentiles(tx), out[1] = percentiles(ty), out[2] = percentiles(ox), out[3] = percentiles(oy);
      disco_session_free(sx);
      disco_session_free(sy);
      disco_runtime_free(rx);
      disco_runtime_free(ry);
      disco_bundle_free(bx);
      disco_bundle_free(by);
      return true;
    };
    Pct q[4], r[4];
    if (!pair(a16, a6, q) || !pair(a16, p16, r)) return 1;
    std::printf("one decision with 16 policy arms (window, lifetime, eligibility on each) vs the 6 default arms, "
                "interleaved: p50 %.2f vs %.2f us = %.3fx (target <= 1.20x), p99 %.2f vs %.2f us; "
                "the offer alone p50 %.2f vs %.2f us\n",
                q[0].p50, q[1].p50, q[0].p50 / q[1].p50, q[0].p99, q[1].p99, q[2].p50, q[3].p50);
    std::printf("  the rules' share: 16 arms with vs without rules, interleaved: decision p50 %.2f vs %.2f us = %.3fx, "
                "offer p50 %.2f vs %.2f us (%+.2f us)\n",
                r[0].p50, r[1].p50, r[0].p50 / r[1].p50, r[2].p50, r[3].p50, r[2].p50 - r[3].p50);
  }
  // --- a cart decision (disco_offer_cart) beside an item decision (disco_offer_make): the default
  // arms plus 3 cart arms (a coupon over 50, 10 % off 4 categories over 40, free shipping over 25),
  // carts of 3 and of 10 lines, the three offers interleaved on one runtime (a session each) ---
  {
    disco::BundleSpec cs = disco::make_synthetic_spec(so);
    auto cart_arm = [&](const char* name, disco::ArmKindSpec kind, float v, float ship, float min_spend) {
      cs.arms.push_back({name, kind, v, ship});
      cs.arms.back().scope = 2;
      cs.arms.back().min_spend = min_spend;
    };
    cart_arm("coupon-10-over-50", disco::ArmKindSpec::FixedAmount, 10.0f, 0.0f, 50.0f);
    cart_arm("10%-cats-over-40", disco::ArmKindSpec::Percent, 0.10f, 0.0f, 40.0f);
    cs.arms.back().categories = {1, 2, 3, 4};
    cart_arm("ship-over-25", disco::ArmKindSpec::FreeShipping, 0.0f, 5.0f, 25.0f);
    auto wc = disco::build_bundle(cs);
    disco_bundle* bc = nullptr;
    disco_runtime* rc = nullptr;
    if (!wc.ok() || disco_bundle_load(wc.bytes.data(), wc.bytes.size(), 0, &bc) != DISCO_OK ||
        disco_runtime_create(bc, &opt, &rc) != DISCO_OK) {
      std::fprintf(stderr, "cart bundle: %s %s\n", wc.error.c_str(), disco_last_error());
      return 1;
    }
    disco_session* ses[3] = {};
    for (int k = 0; k < 3; ++k) disco_session_create(rc, 11 + uint64_t(k), &ses[k]);
    std::vector<double> t[3];
    int cart_discounted = 0;
    uint32_t items[10], qty[10];
    for (int64_t i = -1000; i < int64_t(iters); ++i) {
      const uint32_t item = uint32_t((uint64_t(i + 1000) * 2654435761u) % n_items);
      for (uint32_t l = 0; l < 10; ++l)
        items[l] = uint32_t((uint64_t(i + 1000) * 40503u + l * 7919u) % n_items), qty[l] = 1 + (l % 3);
      double us3[3];
      for (int k = 0; k < 3; ++k) {
        const int w = int((k + (i & 1) + (i & 2) / 2) % 3);  // rotate who goes first
        disco_event ev{(i + 3000) * 1000, item, uint32_t((i + 1000) % 3), 0.0f, 1};
        disco_observe(ses[w], &ev);
        disco_offer o{};
        disco_cart_terms terms{};
        const auto t0 = Clock::now();
        if (w == 0) disco_offer_make(ses[w], item, ev.ts_ms, 0, 0, &o);
        else disco_offer_cart(ses[w], items, qty, w == 1 ? 3 : 10, ev.ts_ms, 0, 0, &o, &terms);
        us3[w] = us_since(t0);
        g_sink = g_sink + o.arm;
        if (w && o.arm) ++cart_discounted;
      }
      if (i >= 0)
        for (int k = 0; k < 3; ++k) t[k].push_back(us3[k]);
      if ((i + 1000) % 50 == 49)
        for (int k = 0; k < 3; ++k) {
          disco_session_free(ses[k]);
          disco_session_create(rc, uint64_t(i + 9000 + k), &ses[k]);
        }
    }
    const Pct pi = percentiles(t[0]), p3 = percentiles(t[1]), p10 = percentiles(t[2]);
    std::printf("cart offer (disco_offer_cart) beside the item offer, 5 item + 3 cart arms, interleaved: item p50 %.2f / "
                "p99 %.2f us; cart of 3 lines p50 %.2f / p99 %.2f us; cart of 10 lines p50 %.2f / p99 %.2f us "
                "(%d of %lld cart offers discounted)\n",
                pi.p50, pi.p99, p3.p50, p3.p99, p10.p50, p10.p99, cart_discounted, 2LL * (int64_t(iters) + 1000));
    for (auto* x : ses) disco_session_free(x);
    disco_runtime_free(rc);
    disco_bundle_free(bc);
  }
  disco_session_free(s);
  disco_runtime_free(rt);
  disco_bundle_free(b);
  return 0;
}

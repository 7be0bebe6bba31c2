// disco-loop-lab: the closed loop's world with disco's runtime in the same process (no Node, no
// collector): a fast instrument for comparing discount policies (bundles) on the loop's simulated
// store. One native runtime serves every shopper (an idealized fleet whose statistics are merged
// instantly), sessions persist across visits, the history days are observed before launch with
// no offers, every loop offer point is decided by disco_offer_make, shown, and its outcome reported
// at checkout time (disco_update with the realized margin), habituation applied in time order with
// common random numbers, exactly as disco-loop-sim does for the Node fleet. Baselines (no discount,
// each fixed arm, the oracle) come from the same world (world.h). Several --bundle arguments are
// each run on the same world. No retraining: the bundles are what is compared.
//
// A bundle with cart-scope arms (offer-policy scope "cart") also gets a cart decision per visit
// (lab_cart.h: disco_offer_cart at the cart page, the simulator's cart ground truth), the fixed
// cart-arm baselines and its cart figures per loop week (loop/README.md, "A cart-level arm").
//
// usage: disco-loop-lab --bundle B [--bundle B2 ...] [--seed 42] [--shoppers 6000] [--items 3000]
//                       [--days 21] [--history-days 7] [--runtime-seed 1] [--json FILE]
//                       [--references] [--segments] [--honor-expiry] [--cart-coupons-shown-only]
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unordered_map>
#include <map>
#include <queue>
#include <string>
#include <vector>

#include "disco/formats/cli.h"
#include "disco/disco.h"
#include "lab_cart.h"
#include "world.h"

using namespace disco::loop;
using namespace disco::loop::lab;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "disco-loop-lab: %s\n", msg.c_str());
  std::exit(1);
}







RunResult run_disco(Environment& env, const Browsing& browsing, const std::vector<uint8_t>& bytes, int64_t start,
                    int64_t loop_start, uint32_t total_days, uint64_t runtime_seed, FILE* dump) {
  LabRuntime lr(env, bytes, runtime_seed);
  disco_runtime* const rt = lr.rt;
  const std::vector<int64_t>& item_index = lr.item_index;
  auto session = [&](uint32_t s) { return lr.session(s); };
  auto observe = [&](uint32_t s, uint32_t item, uint32_t type, int64_t ts, float price, int32_t qty) {
    lr.observe(s, item, type, ts, price, qty);
  };

  env.reset_state();
  RunResult r;
  r.stats.days.resize(total_days);
  std::priority_queue<Completion, std::vector<Completion>, std::greater<Completion>> pending;
  uint64_t seq = 0;
  const auto& E = browsing.events;
  const auto& O = browsing.offers;
  size_t ne = 0, no = 0;
  auto flush_until = [&](int64_t t, bool inclusive) {
    while (!pending.empty() && (inclusive ? pending.top().ts <= t : pending.top().ts < t)) {
      const Completion c = pending.top();
      pending.pop();
      if (c.o.purchased && !c.cart) observe(c.shopper, c.item, DISCO_EVENT_PURCHASE, c.ts, float(c.o.unit_price), c.o.quantity);
      if (c.hi || c.lo) {
        disco_outcome out{c.hi, c.lo, c.ts, uint32_t(c.o.purchased), float(c.o.revenue), float(c.o.margin)};
        const disco_status st = disco_update(rt, &out);
        if (st != DISCO_OK && st != DISCO_ERR_DUPLICATE) die(std::string("update: ") + disco_last_error());
      }
    }
  };
  while (ne < E.size() || no < O.size()) {
    const bool ev = ne < E.size() && (no >= O.size() || E[ne].ts_ms <= O[no].ts_ms);
    const int64_t t = ev ? E[ne].ts_ms : O[no].ts_ms;
    flush_until(t, false);
    if (ev) {
      const SimEvent& e = E[ne++];
      observe(e.shopper, e.item, e.kind, e.ts_ms, float(e.price), e.quantity);
      continue;
    }
    const OfferPoint& p = O[no++];
    if (p.ts_ms < loop_start) {  // pre-launch: no discount, no decision
      const Outcome o = env.draw(p.shopper, p.item, kNoDiscountArm, p.key, p.ts_ms);
      env.apply_offer(p.shopper, kNoDiscountArm, p.ts_ms);
      pending.push({p.checkout_ts_ms, seq++, p.shopper, p.item, 0, 0, o});
      continue;
    }
    int arm = 0;
    disco_offer off{};
    if (item_index[p.item] >= 0) {
      if (disco_offer_make(session(p.shopper), uint32_t(item_index[p.item]), p.ts_ms, 0, 0, &off) != DISCO_OK)
        die(std::string("offer: ") + disco_last_error());
      arm = int(off.arm);
      disco_offer_shown(rt, off.decision_hi, off.decision_lo);
    }
    if (arm >= kNumArms) die("the bundle's arm " + std::to_string(arm) + " is not one of the simulator's arms");
    const double expected = env.expected_margin(p.shopper, p.item, arm, p.ts_ms);
    {
      const auto em = env.expected_margins(p.shopper, p.item, p.ts_ms);
      const int seg = int(env.segment(p.shopper));
      r.seg_offers[seg]++;
      r.seg_discounted[seg] += arm != 0;
      r.seg_gain[seg] += em[size_t(arm)] - em[0];
      r.seg_best_gain[seg] += *std::max_element(em.begin(), em.end()) - em[0];
      r.seg_margin[seg] += em[size_t(arm)];
      if (dump) {
        std::fprintf(dump, "%u,%d,%.2f,%.2f,%d,%.6f", p.shopper, seg, env.item(p.item).price, env.item(p.item).cost, arm,
                     double(off.propensity));
        for (double v : em) std::fprintf(dump, ",%.5f", v);
        for (uint32_t k = 0; k < off.context_dim; ++k) std::fprintf(dump, ",%.6g", double(off.context[k]));
        std::fputc('\n', dump);
      }
    }
    const Outcome o = env.draw(p.shopper, p.item, arm, p.key, p.ts_ms);
    env.apply_offer(p.shopper, arm, p.ts_ms);
    r.stats.add(int((p.ts_ms - start) / kDayMs), o, expected);
    ++r.offers;
    r.discounted += arm != 0;
    if (arm) r.reserved += kArms[size_t(arm)].value * env.item(p.item).price + kArms[size_t(arm)].merchant_cost;
    pending.push({p.checkout_ts_ms, seq++, p.shopper, p.item, off.decision_hi, off.decision_lo, o});
  }
  flush_until(INT64_MAX, true);
  return r;
}


// Reference policies that read the ground truth or a hand rule (analysis only, --references):
//   segment: persuadables get their best discount arm now (by true expected margin), others none;
//   history: 15% to shoppers with >= 1 full-price cart not bought and no full-price purchase in
//            their earlier offers (the history days included), else none.
class ReferencePolicy final : public OfferPolicy {
 public:
  enum Kind { SegmentOracle, HistoryRule, Bayes } kind;
  ReferencePolicy(Kind k, int64_t loop_start, int64_t start, uint32_t days, uint32_t shoppers, int arm = 3)
      : kind(k), loop_start_(loop_start), start_(start), buys_(shoppers, 0), abandons_(shoppers, 0),
        dbuys_(shoppers, 0), dabandons_(shoppers, 0), arm_(arm) {
    stats.days.resize(days);
  }
  uint64_t discounted = 0;
  Choice choose(const Environment& env, const OfferPoint& p) override {
    last_arm_ = 0;
    if (p.ts_ms >= loop_start_) {
      if (kind == SegmentOracle) {
        if (env.segment(p.shopper) == Segment::Persuadable) {
          const auto em = env.expected_margins(p.shopper, p.item, p.ts_ms);
          int best = 1;
          for (int a = 1; a < kNumArms; ++a)
            if (em[size_t(a)] > em[size_t(best)]) best = a;
          if (em[size_t(best)] > em[0]) last_arm_ = best;
        }
      } else if (kind == HistoryRule) {
        if (abandons_[p.shopper] >= 1 && buys_[p.shopper] == 0) last_arm_ = arm_;
      } else {
        // Posterior over the segments from the shopper's outcomes so far, with rough per-segment
        // purchase probabilities at full price and under a discount (persuadable, sure thing,
        // lost cause, sleeping dog); discount when the expected gain is positive.
        const double prior[4] = {0.36, 0.38, 0.13, 0.13};
        const double fp[4] = {0.13, 0.75, 0.0, 0.35}, dp[4] = {0.6, 0.75, 0.0, 0.1};
        double post[4];
        double z = 0;
        const uint32_t s = p.shopper;
        for (int g = 0; g < 4; ++g) {
          post[g] = prior[g] * std::pow(fp[g], buys_[s]) * std::pow(1 - fp[g], abandons_[s]) * std::pow(dp[g], dbuys_[s]) *
                    std::pow(1 - dp[g], dabandons_[s]);
          z += post[g];
        }
        for (double& v : post) v /= z;
        const double gain = post[0] * 0.07 - post[1] * 0.11 - post[3] * 0.10;
        if (gain > 0) last_arm_ = arm_;
      }
    }
    expected_ = env.expected_margin(p.shopper, p.item, last_arm_, p.ts_ms);
    return {last_arm_, 1.0};
  }
  void observe(const Environment&, const OfferPoint& p, const Choice& c, const Outcome& o) override {
    if (c.arm == 0) (o.purchased ? buys_ : abandons_)[p.shopper]++;
    else (o.purchased ? dbuys_ : dabandons_)[p.shopper]++;
    discounted += c.arm != 0 && p.ts_ms >= loop_start_;
    if (p.ts_ms >= loop_start_) stats.add(int((p.ts_ms - start_) / kDayMs), o, expected_);
  }
  Stats stats;

 private:
  int64_t loop_start_, start_;
  std::vector<uint32_t> buys_, abandons_, dbuys_, dabandons_;
  int arm_;
  int last_arm_ = 0;
  double expected_ = 0;
};

double sum_margin(const Stats& s, size_t from, size_t to) {
  double m = 0;
  for (size_t d = from; d < to && d < s.days.size(); ++d) m += s.days[d].margin;
  return m;
}
// Totals of a policy over the loop days, with weekly margins, as JSON members.
std::string totals_json(const Stats& s, size_t from, size_t to) {
  double m = 0, rev = 0, spend = 0;
  uint64_t dec = 0, conv = 0;
  std::string weeks;
  for (size_t d = from; d < to && d < s.days.size(); ++d) {
    m += s.days[d].margin, rev += s.days[d].revenue, spend += s.days[d].spend;
    dec += s.days[d].decisions, conv += s.days[d].conversions;
  }
  for (size_t w = from; w < to; w += 7) {
    double mw = 0;
    for (size_t d = w; d < std::min(to, w + 7) && d < s.days.size(); ++d) mw += s.days[d].margin;
    weeks += (weeks.empty() ? "" : ",") + std::to_string(mw);
  }
  return "\"margin\":" + std::to_string(m) + ",\"revenue\":" + std::to_string(rev) + ",\"spend\":" +
         std::to_string(spend) + ",\"decisions\":" + std::to_string(dec) + ",\"conversions\":" + std::to_string(conv) +
         ",\"weeks\":[" + weeks + "]";
}

double sum_spend(const Stats& s, size_t from, size_t to) {
  double m = 0;
  for (size_t d = from; d < to && d < s.days.size(); ++d) m += s.days[d].spend;
  return m;
}

// A cart arm wherever it is eligible on the loop days (no coupon before), item arm 0 everywhere.
// persuadables_only: a reference that reads the hidden segment (--references): persuadables only.
class LoopCartPolicy final : public CartOfferPolicy {
 public:
  LoopCartPolicy(int arm, int64_t loop_start, bool persuadables_only = false)
      : arm_(arm), loop_start_(loop_start), persuadables_only_(persuadables_only) {}
  int choose(const Environment& env, const CartPoint& p, std::span<const int> eligible) override {
    if (p.ts_ms < loop_start_) return -1;
    if (persuadables_only_ && env.segment(p.shopper) != Segment::Persuadable) return -1;
    for (int a : eligible)
      if (a == arm_) return a;
    return -1;
  }

 private:
  int arm_;
  int64_t loop_start_;
  bool persuadables_only_;
};

struct CartBaseline {
  Stats stats;
  uint64_t carts = 0, discounted = 0;
};
CartBaseline run_cart_baseline(Environment& env, const Browsing& browsing, const std::vector<CartArm>& cart, int arm,
                               int64_t loop_start, int64_t start, uint32_t total_days, bool persuadables_only = false) {
  LoopPolicy p(0, loop_start, start, total_days);
  ExpectedWrapper w(p);
  LoopCartPolicy c(arm, loop_start, persuadables_only);
  const SimLog log = run_policy(env, browsing, w, cart, c);
  CartBaseline r;
  r.stats = p.stats;
  for (const SimCartDecision& d : log.cart_decisions) {
    if (d.ts_ms < loop_start) continue;
    ++r.carts;
    r.discounted += d.arm >= 0;
    const int day = int((d.ts_ms - start) / kDayMs);
    if (day < 0 || day >= int(r.stats.days.size())) continue;
    r.stats.days[size_t(day)].margin -= d.outcome.discount;
    r.stats.days[size_t(day)].spend += d.outcome.discount;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  cfg.num_shoppers = 6000;
  cfg.num_items = 3000;
  cfg.num_days = 21;
  uint32_t history_days = 7;
  uint64_t runtime_seed = 1;
  std::vector<std::string> bundles;
  std::string json_out;
  bool verbose = false, references = false;
  std::string dump_prefix;
  using disco::cli::Int;
  CLI::App app{"disco-loop-lab --bundle B [--bundle B2 ...] [options]: the loop's world with disco's runtime in the same "
               "process, one run per bundle (see the source header)",
               "disco-loop-lab"};
  app.add_option("--bundle", bundles, "a bundle to run (repeatable)");
  app.add_option("--seed", cfg.seed)->check(disco::cli::Uint64())->capture_default_str();
  app.add_option("--shoppers", cfg.num_shoppers)->check(Int(1, 100000000))->capture_default_str();
  app.add_option("--items", cfg.num_items)->check(Int(1, 100000000))->capture_default_str();
  app.add_option("--days", cfg.num_days, "loop days")->check(Int(1, 3650))->capture_default_str();
  app.add_option("--history-days", history_days)->check(Int(0, 3650))->capture_default_str();
  app.add_option("--world", cfg.world_version)->check(Int(1, 2))->capture_default_str();
  app.add_option("--runtime-seed", runtime_seed)->check(disco::cli::Uint64())->capture_default_str();
  app.add_option("--json", json_out, "write the totals as JSON");
  app.add_flag("--segments", verbose, "also print the figures per hidden segment");
  app.add_flag("--references", references, "also run the reference policies");
  app.add_option("--dump", dump_prefix, "write the decisions as CSV files PREFIX*");
  bool honor_expiry = false, cart_coupons_shown_only = false;
  app.add_flag("--cart-coupons-shown-only", cart_coupons_shown_only,
               "bundles with cart arms: the cart page shows (disco_offer_shown) only cart decisions with a coupon, so "
               "those without never train the bandit (default: every cart decision is shown)");
  app.add_flag("--honor-expiry", honor_expiry,
               "bundles with cart arms: an item offer that expired (the runtime's expires_at) before checkout does not "
               "apply (cart coupons always honor their expiry)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    die(std::string(e.what()) + " (see --help)");
  }
  if (bundles.empty()) die("give at least one --bundle");
  const uint32_t loop_days = cfg.num_days;
  cfg.num_days = history_days + loop_days;
  Environment env(cfg);
  const Browsing browsing = generate_browsing(env);
  const int64_t start = cfg.start_ms, loop_start = start + int64_t(history_days) * kDayMs;
  const uint32_t total_days = cfg.num_days;
  const Baselines base = run_baselines(env, browsing, loop_start, start, total_days);
  const size_t d0 = history_days, d1 = total_days;
  const double none = sum_margin(base.fixed[0], d0, d1), oracle = sum_margin(base.oracle, d0, d1);
  double best_fixed = -1e300;
  int best_arm = 1;
  for (int a = 1; a < kNumArms; ++a)
    if (sum_margin(base.fixed[size_t(a)], d0, d1) > best_fixed) best_fixed = sum_margin(base.fixed[size_t(a)], d0, d1), best_arm = a;
  std::printf("world %d: seed %" PRIu64 ", %u shoppers, %u items, %u + %u days\n", cfg.world_version, cfg.seed, cfg.num_shoppers,
              cfg.num_items, history_days, loop_days);
  std::printf("no discount %.0f, best fixed (%s) %.0f, oracle %.0f\n", none, kArms[size_t(best_arm)].name, best_fixed, oracle);
  if (references) {
    const std::pair<ReferencePolicy::Kind, int> refs[] = {{ReferencePolicy::SegmentOracle, 0}, {ReferencePolicy::HistoryRule, 3},
                                                          {ReferencePolicy::HistoryRule, 4}, {ReferencePolicy::Bayes, 3},
                                                          {ReferencePolicy::Bayes, 4}};
    for (auto [kind, arm] : refs) {
      ReferencePolicy rp(kind, loop_start, start, total_days, cfg.num_shoppers, arm);
      run_policy(env, browsing, rp);
      const double m = sum_margin(rp.stats, d0, d1);
      const std::string name = kind == ReferencePolicy::SegmentOracle ? "segment oracle"
                               : kind == ReferencePolicy::HistoryRule ? std::string("history rule ") + kArms[size_t(arm)].name
                                                                       : std::string("bayes rule ") + kArms[size_t(arm)].name;
      std::printf("reference %-30s margin %.0f (%+.2f%% vs none, room closed %.1f%%), spend %.0f, discounted %llu\n",
                  name.c_str(), m, 100.0 * (m / none - 1.0), 100.0 * (m - none) / (oracle - none),
                  sum_spend(rp.stats, d0, d1), (unsigned long long)rp.discounted);
    }
  }
  std::string json = "{\"seed\":" + std::to_string(cfg.seed) + ",\"world\":" + std::to_string(cfg.world_version) +
                     ",\"loop_days\":" + std::to_string(loop_days) + ",\"none\":{" + totals_json(base.fixed[0], d0, d1) +
                     "},\"best_fixed\":{\"arm\":\"" + kArms[size_t(best_arm)].name + "\"," +
                     totals_json(base.fixed[size_t(best_arm)], d0, d1) + "},\"oracle\":{" + totals_json(base.oracle, d0, d1) +
                     "},\"policies\":[";
  for (size_t k = 0; k < bundles.size(); ++k) {
    std::ifstream f(bundles[k], std::ios::binary);
    if (!f) die(bundles[k] + ": cannot open");
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    BundleArms arms;
    try {
      arms = bundle_arms(bytes, bundles[k]);
    } catch (const std::exception& e) {
      die(e.what());
    }
    const bool cart_mode = !arms.cart.empty();
    if (cart_mode && !dump_prefix.empty()) die("--dump is not supported with a bundle that has cart arms");
    if (cart_mode) {
      for (int only : {0, 1}) {
        if (only && !references) break;
        for (size_t c = 0; c < arms.cart.size(); ++c) {
          const CartBaseline cb = run_cart_baseline(env, browsing, arms.cart, int(c), loop_start, start, total_days, only);
          const double m = sum_margin(cb.stats, d0, d1);
          std::printf("%s %-25s margin %.0f (%+.2f%% vs none), carts discounted %.1f%%, spend %.0f\n",
                      only ? "reference: persuadables get" : "fixed cart arm", arms.cart[c].name.c_str(), m,
                      100.0 * (m / none - 1.0), 100.0 * double(cb.discounted) / double(std::max<uint64_t>(1, cb.carts)),
                      sum_spend(cb.stats, d0, d1));
        }
      }
    }
    FILE* df = dump_prefix.empty() ? nullptr : std::fopen((dump_prefix + std::to_string(k) + ".csv").c_str(), "wb");
    RunResult r;
    try {
      r = cart_mode ? run_disco_cart(env, browsing, bytes, arms, start, loop_start, total_days, runtime_seed, honor_expiry,
                                   cart_coupons_shown_only)
                    : run_disco(env, browsing, bytes, start, loop_start, total_days, runtime_seed, df);
    } catch (const std::exception& e) {
      die(e.what());
    }
    if (df) std::fclose(df);
    const double m = sum_margin(r.stats, d0, d1);
    std::printf("%-40s margin %.0f (%+.2f%% vs none, room closed %.1f%%, %.1f%% of oracle), discounted %.1f%%, spend %.0f "
                "(reserved %.0f); weeks:",
                bundles[k].c_str(), m, 100.0 * (m / none - 1.0), 100.0 * (m - none) / (oracle - none), 100.0 * m / oracle,
                100.0 * double(r.discounted) / double(std::max<uint64_t>(1, r.offers)), sum_spend(r.stats, d0, d1), r.reserved);
    for (size_t w = d0; w < d1; w += 7) {
      const double mw = sum_margin(r.stats, w, std::min(d1, w + 7)), nw = sum_margin(base.fixed[0], w, std::min(d1, w + 7));
      std::printf(" %+.1f%%", 100.0 * (mw / nw - 1.0));
    }
    std::printf("\n");
    std::string cart_json;
    if (cart_mode) {
      std::printf("    cart decisions %llu (with an eligible coupon %llu): coupon offered %.1f%% of carts (%.1f%% of eligible), "
                  "applied %llu, expired %llu, coupon spend %.0f; by loop week:",
                  (unsigned long long)r.carts, (unsigned long long)r.carts_eligible,
                  100.0 * double(r.carts_discounted) / double(std::max<uint64_t>(1, r.carts)),
                  100.0 * double(r.carts_discounted) / double(std::max<uint64_t>(1, r.carts_eligible)),
                  (unsigned long long)r.carts_applied, (unsigned long long)r.carts_expired, r.cart_spend);
      cart_json = ",\"carts\":" + std::to_string(r.carts) + ",\"carts_eligible\":" + std::to_string(r.carts_eligible) +
                  ",\"carts_discounted\":" + std::to_string(r.carts_discounted) + ",\"carts_applied\":" +
                  std::to_string(r.carts_applied) + ",\"carts_expired\":" + std::to_string(r.carts_expired) +
                  ",\"cart_spend\":" + std::to_string(r.cart_spend) + ",\"cart_arm_weeks\":{";
      bool first = true;
      for (const auto& [name, weeks] : r.cart_arm_weeks) {
        std::printf(" %s", name.c_str());
        if (!first) cart_json += ',';
        cart_json += "\"" + name + "\":[";
        for (size_t w = 0; w < weeks.size(); ++w) {
          std::printf("%s%llu", w ? "/" : " ", (unsigned long long)weeks[w]);
          if (w) cart_json += ',';
          cart_json += std::to_string(weeks[w]);
        }
        cart_json += "]";
        first = false;
      }
      cart_json += "}";
      std::printf("\n");
    }
    if (verbose)
      for (int g = 0; g < kNumSegments; ++g)
        std::printf("    %-13s offers %5llu, discounted %5llu, expected margin %8.0f, gain at offer %+7.0f (best %+7.0f)\n",
                    to_string(Segment(g)), (unsigned long long)r.seg_offers[g], (unsigned long long)r.seg_discounted[g],
                    r.seg_margin[g], r.seg_gain[g], r.seg_best_gain[g]);
    json += std::string(k ? "," : "") + "{\"bundle\":\"" + bundles[k] + "\"," + totals_json(r.stats, d0, d1) +
            ",\"discounted\":" + std::to_string(r.discounted) + ",\"offers\":" + std::to_string(r.offers) +
            ",\"reserved\":" + std::to_string(r.reserved) + cart_json + "}";
  }
  json += "]}\n";
  if (!json_out.empty()) {
    std::ofstream o(json_out);
    o << json;
  }
  return 0;
}

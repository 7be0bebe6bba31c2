// disco-sim: writes a simulated store's logs in the canonical CSV format and prints a summary.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "disco/formats/cli.h"
#include "disco/sim/environment.h"
#include "disco/sim/random.h"
#include "disco/sim/simulate.h"

namespace {

const char* kUsage =
    "usage: disco-sim --out DIR [options]\n"
    "       disco-sim calibrate [options]   (the simulator against real experiments; calibrate --help)\n"
    "\n"
    "Simulates a store (catalog, shoppers, sessions, discount offers) and writes the canonical CSV\n"
    "files DIR/items.csv, events.csv, decisions.csv, outcomes.csv (trainer/data/README.md).\n"
    "The same seed and options give byte-identical files.\n"
    "\n"
    "options:\n"
    "  --seed N              random seed (default 42)\n"
    "  --out DIR             output folder (created if missing; required)\n"
    "  --shoppers N          number of shoppers (default 20000)\n"
    "  --items N             catalog size (default 10000)\n"
    "  --days N              simulated days (default 30)\n"
    "  --categories N        number of categories (default 40)\n"
    "  --world N             ground truth version (default 2): 2 = calibrated against real randomized\n"
    "                        experiments (trainer/sim/README.md, calibration), 1 = the original world\n"
    "  --logging-policy P    policy that chose the logged arms (default uniform):\n"
    "                          uniform            every arm with probability 1/6\n"
    "                          fixed:ARM          always ARM\n"
    "                          epsilon:EPS:ARM    ARM with 1-EPS+EPS/6, each other arm EPS/6\n"
    "                        ARM: 0%, 5%, 10%, 15%, 20%, free-shipping, or an index 0-5\n"
    "  --dirty-rate R        fraction of rows corrupted on purpose, in [0, 1) (default 0.002):\n"
    "                          items.csv:  duplicate_row, missing_field (category or price),\n"
    "                                      unparsable_number (price), nonpositive_price\n"
    "                          events.csv: duplicate_row, missing_field (ts, item_id or price),\n"
    "                                      unparsable_number (ts or price), nonpositive_price,\n"
    "                                      absurd_quantity (>= 10000), out_of_order_ts (up to 10 min\n"
    "                                      before the same user's previous row)\n"
    "                          decisions.csv, outcomes.csv: duplicate_row\n"
    "                        the counts per file and reason are printed (unless --quiet)\n"
    "  --cart-arm SPEC       a cart-level coupon, repeatable (off by default: without it the output is\n"
    "                        the same as before cart arms existed). One decision per visit with a cart,\n"
    "                        at the cart page (after browsing), the shopper deciding at checkout\n"
    "                        (trainer/sim/include/disco/sim/cart.h: the ground truth). SPEC:\n"
    "                          percent:P:MIN        P% off orders whose list value >= MIN\n"
    "                          fixed:A:MIN          A off orders >= MIN\n"
    "                          free-shipping:MIN    free shipping (merchant pays 4.50) on orders >= MIN\n"
    "                        then optionally :LIFETIME_S (the offer expires; 0 = not within the visit;\n"
    "                        expired at checkout = not applied) and :START_H:END_H (campaign window in\n"
    "                        hours after the start: outside it the arm is not offered). A coupon applies\n"
    "                        when what is bought reaches MIN; the order's margin is net of it.\n"
    "                        e.g. --cart-arm percent:10:50 --cart-arm free-shipping:40:600:24:72\n"
    "  --cart-policy P       who gets a cart coupon (default uniform): uniform (no coupon or one of the\n"
    "                        eligible arms, equally likely), none, fixed:K (cart arm K, 0-based, when eligible)\n"
    "                        cart decisions are written to DIR/cart_decisions.csv (not in the canonical files)\n"
    "  --item-lifetime-s S   item offers expire S seconds after the cart add (default 0: never within the\n"
    "                        visit); one expired at checkout does not apply (bought at list price)\n"
    "  --quiet               print nothing but errors\n"
    "  -h, --help            this text\n"
    "\n"
    "exit status: 0 ok, 1 I/O error, 2 bad arguments\n";

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "disco-sim: %s\n(see disco-sim --help)\n", msg.c_str());
  std::exit(2);
}

}  // namespace

int calibrate_main(int argc, char** argv);  // calibrate_main.cpp

namespace {

// No coupon or one of the eligible arms, equally likely, keyed by (seed, shopper, session).
class UniformCartPolicy final : public disco::sim::CartOfferPolicy {
 public:
  int choose(const disco::sim::Environment& env, const disco::sim::CartPoint& p, std::span<const int> eligible) override {
    using namespace disco::sim;
    const double u = to_unit(hash_key(env.seed(), kStreamCartPolicy, p.shopper, p.session));
    const size_t k = std::min(eligible.size(), size_t(u * double(eligible.size() + 1)));
    return k == 0 ? -1 : eligible[k - 1];
  }
  std::string version() const override { return "uniform-cart"; }
};

void write_cart_csv(const disco::sim::Environment& env, const disco::sim::SimLog& log,
                    const std::vector<disco::sim::CartArm>& arms, const std::string& dir) {
  const std::string path = dir + "/cart_decisions.csv";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw disco::sim::SimError(path + ": cannot write");
  std::fputs("ts,user_id,session,arm,eligible,cart_value,lines,expired,applied,bought_value,discount,margin\n", f);
  for (const auto& d : log.cart_decisions) {
    std::string el;
    for (size_t k = 0; k < arms.size(); ++k)
      if (d.eligible_mask >> k & 1) el += (el.empty() ? "" : "|") + arms[k].name;
    std::fprintf(f, "%lld,%s,%u,%s,%s,%.2f,%u,%d,%d,%.2f,%.2f,%.2f\n", (long long)d.ts_ms,
                 disco::sim::Environment::user_id(d.shopper).c_str(), d.session,
                 d.arm < 0 ? "none" : arms[size_t(d.arm)].name.c_str(), el.c_str(), d.cart_value, d.lines,
                 int(d.outcome.expired), int(d.outcome.applied), d.outcome.bought_value, d.outcome.discount,
                 d.outcome.margin);
  }
  if (std::fclose(f) != 0) throw disco::sim::SimError(path + ": write failed");
  (void)env;
}

std::string cart_summary_text(const disco::sim::SimLog& log, const std::vector<disco::sim::CartArm>& arms) {
  std::vector<uint64_t> n(arms.size()), applied(arms.size()), expired(arms.size()), elig(arms.size());
  std::vector<double> spend(arms.size());
  uint64_t none = 0;
  double margin = 0;
  for (const auto& d : log.cart_decisions) {
    margin += d.outcome.margin;
    for (size_t k = 0; k < arms.size(); ++k) elig[k] += d.eligible_mask >> k & 1;
    if (d.arm < 0) {
      ++none;
      continue;
    }
    const size_t k = size_t(d.arm);
    ++n[k];
    applied[k] += d.outcome.applied;
    expired[k] += d.outcome.expired;
    spend[k] += d.outcome.discount;
  }
  std::string s = "cart decisions " + std::to_string(log.cart_decisions.size()) + " (no coupon " +
                  std::to_string(none) + "), orders' margin " + std::to_string(int64_t(std::llround(margin))) + "\n";
  for (size_t k = 0; k < arms.size(); ++k) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  cart arm %zu %s: eligible %llu, offered %llu, expired %llu, applied %llu, spend %.2f\n", k,
                  arms[k].name.c_str(), (unsigned long long)elig[k], (unsigned long long)n[k],
                  (unsigned long long)expired[k], (unsigned long long)applied[k], spend[k]);
    s += buf;
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace disco::sim;
  if (argc >= 2 && std::string_view(argv[1]) == "calibrate") return calibrate_main(argc - 1, argv + 1);
  Config cfg;
  std::string out;
  std::string policy_spec = "uniform";
  double dirty_rate = 0.002;
  bool quiet = false;
  using disco::cli::Int;
  CLI::App app{"disco-sim", "disco-sim"};
  app.set_help_flag();  // kUsage is the help
  bool help = false;
  app.add_flag("-h,--help", help);
  app.add_option("--seed", cfg.seed)->check(disco::cli::Uint64());
  app.add_option("--out", out);
  app.add_option("--shoppers", cfg.num_shoppers)->check(Int(1, UINT32_MAX));
  app.add_option("--items", cfg.num_items)->check(Int(1, UINT32_MAX));
  app.add_option("--days", cfg.num_days)->check(Int(1, 3650));
  app.add_option("--categories", cfg.num_categories)->check(Int(1, UINT32_MAX));
  app.add_option("--logging-policy", policy_spec);
  app.add_option("--world", cfg.world_version)->check(Int(1, 2));
  app.add_option("--dirty-rate", dirty_rate)->check(disco::cli::Real(0, 1, false, true));
  app.add_flag("--quiet", quiet);
  std::vector<std::string> cart_specs;
  std::string cart_policy_spec = "uniform";
  double item_lifetime_s = 0;
  app.add_option("--cart-arm", cart_specs);
  app.add_option("--cart-policy", cart_policy_spec);
  app.add_option("--item-lifetime-s", item_lifetime_s)->check(disco::cli::Real(0, 1e9));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    usage_error(e.what());
  }
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (out.empty()) usage_error("--out DIR is required");
  if (cfg.num_days > 3650) usage_error("--days: at most 3650");
  LoggingPolicy policy;
  try {
    policy = LoggingPolicy::parse(policy_spec);
  } catch (const SimError& e) {
    usage_error(std::string("--logging-policy: ") + e.what());
  }

  cfg.item_offer_lifetime_ms = int64_t(std::llround(item_lifetime_s * 1000.0));
  std::vector<CartArm> cart_arms;
  for (const std::string& c : cart_specs) {
    try {
      cart_arms.push_back(parse_cart_arm(c, cfg.start_ms));
    } catch (const std::invalid_argument& e) {
      usage_error(std::string("--cart-arm: ") + e.what());
    }
  }
  if (cart_arms.size() > 32) usage_error("--cart-arm: at most 32");
  int cart_fixed = -2;  // -2 uniform, -1 none, k fixed
  if (cart_policy_spec == "none") cart_fixed = -1;
  else if (cart_policy_spec.starts_with("fixed:")) {
    try {
      size_t pos = 0;
      cart_fixed = std::stoi(cart_policy_spec.substr(6), &pos);
      if (pos != cart_policy_spec.size() - 6 || cart_fixed < 0 || cart_fixed >= int(cart_arms.size())) throw 0;
    } catch (...) {
      usage_error("--cart-policy: fixed:K needs K in 0.." + std::to_string(int(cart_arms.size()) - 1) + ", got '" +
                  cart_policy_spec + "'");
    }
  } else if (cart_policy_spec != "uniform") {
    usage_error("--cart-policy: none, uniform or fixed:K, got '" + cart_policy_spec + "'");
  }

  try {
    const auto t0 = std::chrono::steady_clock::now();
    Environment env(cfg);
    const auto t1 = std::chrono::steady_clock::now();
    const Browsing browsing = generate_browsing(env);
    LoggingOfferPolicy logging(policy);
    UniformCartPolicy uniform_cart;
    FixedCartPolicy fixed_cart(cart_fixed);
    CartOfferPolicy& cart_policy = cart_fixed == -2 ? static_cast<CartOfferPolicy&>(uniform_cart) : fixed_cart;
    SimLog log = cart_arms.empty() ? run_policy(env, browsing, logging)
                                   : run_policy(env, browsing, logging, cart_arms, cart_policy);
    const auto t2 = std::chrono::steady_clock::now();
    WriteStats ws = write_csv(env, log, out, policy, dirty_rate);
    if (!cart_arms.empty()) write_cart_csv(env, log, cart_arms, out);
    const auto t3 = std::chrono::steady_clock::now();
    if (!quiet) {
      auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
      Summary s = summarize(env, log);
      std::printf("disco-sim seed %llu, world %d, %u days, logging policy %s -> %s\n",
                  (unsigned long long)cfg.seed, cfg.world_version, cfg.num_days, policy.to_string().c_str(), out.c_str());
      std::fputs(summary_text(s).c_str(), stdout);
      std::printf("wrote items.csv %llu rows, events.csv %llu, decisions.csv %llu, outcomes.csv %llu (%.1f MB)\n",
                  (unsigned long long)ws.item_rows, (unsigned long long)ws.event_rows,
                  (unsigned long long)ws.decision_rows, (unsigned long long)ws.outcome_rows, ws.bytes / 1e6);
      if (dirty_rate > 0) {
        std::printf("dirty rows injected (rate %g): %llu", dirty_rate, (unsigned long long)ws.dirty.total());
        const char* sep = " (";
        for (auto& [k, v] : ws.dirty.by_reason) {
          std::printf("%s%s %llu", sep, k.c_str(), (unsigned long long)v);
          sep = ", ";
        }
        std::printf("%s\n", ws.dirty.by_reason.empty() ? "" : ")");
      }
      if (!cart_arms.empty()) std::fputs(cart_summary_text(log, cart_arms).c_str(), stdout);
      // The oracle as an online policy on the same offer points (its own habituation path, the
      // same draws): what a perfect discount policy would have made.
      OracleOfferPolicy oracle;
      const SimLog olog = run_policy(env, browsing, oracle);
      const Summary os = summarize(env, olog);
      std::printf("oracle policy on the same offer points: revenue %.2f, discount spend %.2f, realized margin %.2f, expected margin %.2f\n",
                  os.revenue, os.discount_spend, os.realized_margin, os.logging_expected_margin);
      const double total = secs(t0, t3);
      std::printf("time %.2f s (catalog+shoppers %.2f, sessions %.2f, csv %.2f): %.0f events/s\n", total,
                  secs(t0, t1), secs(t1, t2), secs(t2, t3), total > 0 ? double(s.events) / total : 0.0);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "disco-sim: %s\n", e.what());
    return 1;
  }
  return 0;
}

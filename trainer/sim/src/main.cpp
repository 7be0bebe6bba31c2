// disco-sim: writes a simulated store's logs in the canonical CSV format and prints a summary.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include "disco/formats/cli.h"
#include "disco/sim/environment.h"
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

  try {
    const auto t0 = std::chrono::steady_clock::now();
    Environment env(cfg);
    const auto t1 = std::chrono::steady_clock::now();
    const Browsing browsing = generate_browsing(env);
    LoggingOfferPolicy logging(policy);
    SimLog log = run_policy(env, browsing, logging);
    const auto t2 = std::chrono::steady_clock::now();
    WriteStats ws = write_csv(env, log, out, policy, dirty_rate);
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

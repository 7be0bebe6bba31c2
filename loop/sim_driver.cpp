// disco-loop-sim: the simulator's side of `disco loop` (loop/README.md). It owns the ground truth
// (disco::sim::Environment) and talks to the Node edge fleet (loop/loop.mjs) over stdin/stdout.
//
// At start it generates the browsing (outcome-independent, so every policy faces the same offer
// points and the same uniform draws: common random numbers), writes the pre-launch history
// (days [0, history_days) under no discount) as canonical CSV for the first bundle, and runs the
// baselines on the loop days: no discount, every fixed arm, the oracle. Then it serves commands,
// one per line:
//   STEP T        -> browsing events and offer points with loop_start <= ts < T not sent yet, in time
//                    order: "E ts shopper session item type price" / "O k ts shopper session item
//                    checkout_ts", then "."
//   ARMS k a ...  -> the arms disco chose for every offer point of the last STEP; the environment
//                    draws each outcome (habituation applied in time order): "R k purchased quantity
//                    unit_price revenue margin discount_spend checkout_ts" per offer, then "."
//   EVENTS A B F  -> writes disco's realized event log with A <= ts < B to the canonical CSV F, "ok N"
//   FINISH F      -> writes per-day metrics of every policy (disco included) to the JSON file F, exits
// Errors go to stderr and exit with status 1 (the Node side reports them).
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "disco/formats/cli.h"
#include "disco/sim/arms.h"
#include "disco/sim/environment.h"
#include "disco/sim/simulate.h"
#include "world.h"

using namespace disco::sim;
using namespace disco::loop;
namespace fs = std::filesystem;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "disco-loop-sim: %s\n", msg.c_str());
  std::exit(1);
}


}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  cfg.num_shoppers = 6000;
  cfg.num_items = 3000;
  cfg.num_days = 21;
  uint32_t history_days = 7;
  std::string out;
  using disco::cli::Int;
  CLI::App app{"disco-loop-sim --out DIR [options]: the simulator's side of `disco loop`; then reads STEP/ARMS/EVENTS/FINISH "
               "commands on stdin (see the source header)",
               "disco-loop-sim"};
  app.add_option("--seed", cfg.seed)->check(disco::cli::Uint64())->capture_default_str();
  app.add_option("--shoppers", cfg.num_shoppers)->check(Int(1, 100000000))->capture_default_str();
  app.add_option("--items", cfg.num_items)->check(Int(10, 100000000))->capture_default_str();
  app.add_option("--days", cfg.num_days, "loop days")->check(Int(1, 3650))->capture_default_str();
  app.add_option("--history-days", history_days)->check(Int(0, 3650))->capture_default_str();
  app.add_option("--world", cfg.world_version)->check(Int(1, 2))->capture_default_str();
  app.add_option("--out", out, "output folder");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    die(std::string(e.what()) + " (see --help)");
  }
  if (out.empty()) die("--out DIR is required");
  if (cfg.num_shoppers == 0 || cfg.num_items < 10 || cfg.num_days == 0) die("need --shoppers > 0, --items >= 10, --days > 0");
  const uint32_t loop_days = cfg.num_days;
  cfg.num_days = history_days + loop_days;
  std::ios::sync_with_stdio(false);

  Environment env(cfg);
  // Ground truth of every disco decision, for analysis only (nothing on the policy's side reads it):
  // offer, loop day, shopper, true segment, item, price, arm, waiting level, expected margin per arm.
  fs::create_directories(out);
  FILE* truth = std::fopen((fs::path(out) / "truth.csv").string().c_str(), "wb");
  if (!truth) die(out + "/truth.csv: cannot open for writing: " + std::strerror(errno));
  std::fputs("offer,day,shopper,segment,item,price,arm,wait_level,em0,em1,em2,em3,em4,em5\n", truth);
  const Browsing browsing = generate_browsing(env);
  const int64_t start = cfg.start_ms;
  const int64_t loop_start = start + int64_t(history_days) * kDayMs;
  const uint32_t total_days = cfg.num_days;
  for (const OfferPoint& p : browsing.offers)
    if (!p.is_decision) die("every cart add must be an offer point (Config::offer_rate = 1)");

  // Pre-launch history (no discount) -> canonical CSV for the first bundle; items.csv for retrains.
  try {
    LoopPolicy none(kNoDiscountArm, loop_start, start, total_days);
    SimLog log = run_policy(env, browsing, none);
    SimLog hist;
    hist.sessions = log.sessions;
    for (const SimEvent& e : log.events)
      if (e.ts_ms < loop_start) hist.events.push_back(e);
    for (const SimDecision& d : log.decisions)
      if (d.ts_ms < loop_start) hist.decisions.push_back(d);
    std::vector<std::pair<uint64_t, uint64_t>> ids;
    for (const SimDecision& d : hist.decisions) ids.push_back({d.id_hi, d.id_lo});
    std::sort(ids.begin(), ids.end());
    for (const SimOutcome& o : log.outcomes)
      if (std::binary_search(ids.begin(), ids.end(), std::pair{o.id_hi, o.id_lo})) hist.outcomes.push_back(o);
    write_csv(env, hist, (fs::path(out) / "history").string(), LoggingPolicy::parse("fixed:0%"), 0.0);
  } catch (const std::exception& e) {
    die(std::string("writing the history: ") + e.what());
  }

  // Baselines on the loop days, same browsing, same draws.
  const Baselines base = run_baselines(env, browsing, loop_start, start, total_days);
  const std::vector<Stats>& fixed = base.fixed;
  const Stats& oracle = base.oracle;

  auto results_json = [&](const Stats* disco) {
    std::string j = "{\"start_ms\":" + std::to_string(start) + ",\"loop_start_ms\":" + std::to_string(loop_start) +
                    ",\"history_days\":" + std::to_string(history_days) + ",\"arms\":[";
    for (int a = 0; a < kNumArms; ++a) j += std::string(a ? "," : "") + "\"" + kArms[size_t(a)].name + "\"";
    j += "]";
    if (disco) j += ",\"disco\":" + json_days(*disco);
    j += ",\"oracle\":" + json_days(oracle) + ",\"fixed\":[";
    for (int a = 0; a < kNumArms; ++a) j += (a ? "," : "") + json_days(fixed[size_t(a)]);
    j += "]}\n";
    return j;
  };
  auto write_file = [&](const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) die(path + ": cannot open for writing: " + std::strerror(errno));
    std::fputs(text.c_str(), f);
    if (std::fclose(f) != 0) die(path + ": write failed: " + std::strerror(errno));
  };
  write_file((fs::path(out) / "baselines.json").string(), results_json(nullptr));

  // disco's own run: the environment starts clean; pre-launch offers get no discount (that only
  // decays habituation, which is zero at the start).
  env.reset_state();
  Stats disco;
  disco.days.resize(total_days);
  std::vector<SimEvent> realized;  // purchases: pre-launch (no discount), then under disco
  size_t next_event = 0, next_offer = 0;
  while (next_event < browsing.events.size() && browsing.events[next_event].ts_ms < loop_start) ++next_event;
  while (next_offer < browsing.offers.size() && browsing.offers[next_offer].ts_ms < loop_start) {
    const OfferPoint& p = browsing.offers[next_offer++];
    const Outcome o = env.draw(p.shopper, p.item, kNoDiscountArm, p.key, p.ts_ms);
    env.apply_offer(p.shopper, kNoDiscountArm, p.ts_ms);
    if (o.purchased)
      realized.push_back({p.checkout_ts_ms, o.unit_price, p.shopper, p.session, p.item, kPurchase, uint8_t(o.quantity)});
  }
  size_t step_begin = next_offer, step_end = next_offer;

  {
    uint64_t n_offers = browsing.offers.size() - next_offer, n_events = browsing.events.size() - next_event;
    std::printf("{\"ready\":true,\"start_ms\":%" PRId64 ",\"loop_start_ms\":%" PRId64 ",\"day_ms\":%" PRId64
                ",\"history_days\":%u,\"loop_days\":%u,\"shoppers\":%u,\"items\":%u,\"loop_offers\":%" PRIu64
                ",\"loop_events\":%" PRIu64 ",\"history\":\"%s\"}\n",
                start, loop_start, kDayMs, history_days, loop_days, cfg.num_shoppers, cfg.num_items, n_offers, n_events,
                (fs::path(out) / "history").string().c_str());
    std::fflush(stdout);
  }

  std::string line;
  std::string buf;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    buf.clear();
    if (cmd == "STEP") {
      int64_t t_end = 0;
      if (!(in >> t_end)) die("STEP needs a time (ms)");
      step_begin = next_offer;
      char row[160];
      const auto& E = browsing.events;
      const auto& O = browsing.offers;
      while (true) {
        const bool ev = next_event < E.size() && E[next_event].ts_ms < t_end;
        const bool of = next_offer < O.size() && O[next_offer].ts_ms < t_end;
        if (!ev && !of) break;
        // At equal ts the cart event comes before its offer point.
        if (ev && (!of || E[next_event].ts_ms <= O[next_offer].ts_ms)) {
          const SimEvent& e = E[next_event++];
          std::snprintf(row, sizeof row, "E %" PRId64 " %u %u %u %u %.2f\n", e.ts_ms, e.shopper, e.session, e.item,
                        unsigned(e.kind), e.price);
        } else {
          const OfferPoint& p = O[next_offer];
          std::snprintf(row, sizeof row, "O %zu %" PRId64 " %u %u %u %" PRId64 "\n", next_offer, p.ts_ms, p.shopper,
                        p.session, p.item, p.checkout_ts_ms);
          ++next_offer;
        }
        buf += row;
      }
      step_end = next_offer;
      buf += ".\n";
    } else if (cmd == "ARMS") {
      std::vector<int> arms(step_end - step_begin, -1);
      size_t k = 0;
      int a = 0;
      while (in >> k >> a) {
        if (k < step_begin || k >= step_end) die("ARMS: offer " + std::to_string(k) + " is not in the last STEP");
        if (a < 0 || a >= kNumArms) die("ARMS: arm " + std::to_string(a) + " out of range for offer " + std::to_string(k));
        arms[k - step_begin] = a;
      }
      char row[200];
      for (size_t j = 0; j < arms.size(); ++j) {
        if (arms[j] < 0) die("ARMS: no arm for offer " + std::to_string(step_begin + j));
        const OfferPoint& p = browsing.offers[step_begin + j];
        const double expected = env.expected_margin(p.shopper, p.item, arms[j], p.ts_ms);
        const Outcome o = env.draw(p.shopper, p.item, arms[j], p.key, p.ts_ms);
        if (truth) {
          const auto em = env.expected_margins(p.shopper, p.item, p.ts_ms);
          std::fprintf(truth, "%zu,%d,%u,%s,%u,%.2f,%d,%.4f", step_begin + j, int((p.ts_ms - start) / kDayMs), p.shopper,
                       to_string(env.segment(p.shopper)), p.item, env.item(p.item).price, arms[j],
                       env.wait_level(p.shopper, p.ts_ms));
          for (double m : em) std::fprintf(truth, ",%.4f", m);
          std::fputc('\n', truth);
        }
        env.apply_offer(p.shopper, arms[j], p.ts_ms);
        disco.add(int((p.ts_ms - start) / kDayMs), o, expected);
        if (o.purchased)
          realized.push_back({p.checkout_ts_ms, o.unit_price, p.shopper, p.session, p.item, kPurchase, uint8_t(o.quantity)});
        std::snprintf(row, sizeof row, "R %zu %d %d %.4f %.4f %.4f %.4f %" PRId64 "\n", step_begin + j, int(o.purchased),
                      o.quantity, o.unit_price, o.revenue, o.margin, o.discount_spend, p.checkout_ts_ms);
        buf += row;
      }
      step_begin = step_end;
      buf += ".\n";
    } else if (cmd == "EVENTS") {
      int64_t from = 0, to = 0;
      std::string path;
      if (!(in >> from >> to >> path)) die("EVENTS needs FROM_MS TO_MS PATH");
      FILE* f = std::fopen(path.c_str(), "wb");
      if (!f) die(path + ": cannot open for writing: " + std::strerror(errno));
      std::fputs("user_id,session_id,ts,type,item_id,price,quantity\n", f);
      std::vector<SimEvent> rows;
      for (const SimEvent& e : browsing.events)
        if (e.ts_ms >= from && e.ts_ms < to) rows.push_back(e);
      for (const SimEvent& e : realized)
        if (e.ts_ms >= from && e.ts_ms < to) rows.push_back(e);
      std::stable_sort(rows.begin(), rows.end(), [](const SimEvent& x, const SimEvent& y) { return x.ts_ms < y.ts_ms; });
      for (const SimEvent& e : rows)
        std::fprintf(f, "u%u,s%u,%" PRId64 ",%s,i%u,%.2f,%u\n", e.shopper, e.session, e.ts_ms, event_kind_name(e.kind),
                     e.item, e.price, unsigned(e.quantity));
      if (std::fclose(f) != 0) die(path + ": write failed: " + std::strerror(errno));
      buf = "ok " + std::to_string(rows.size()) + "\n";
    } else if (cmd == "FINISH") {
      std::string path;
      if (!(in >> path)) die("FINISH needs a PATH");
      write_file(path, results_json(&disco));
      if (std::fclose(truth) != 0) die(out + "/truth.csv: write failed");
      std::puts("ok");
      std::fflush(stdout);
      return 0;
    } else if (!cmd.empty()) {
      die("unknown command '" + cmd + "'");
    }
    std::fwrite(buf.data(), 1, buf.size(), stdout);
    std::fflush(stdout);
  }
  return 0;
}

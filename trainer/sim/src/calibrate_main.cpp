// disco-sim calibrate: the simulator's discount response and habituation against real randomized
// experiments (trainer/sim/README.md, "Calibration").
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>

#include "disco/data/ingest.h"
#include "disco/formats/cli.h"
#include "disco/sim/arms.h"
#include "disco/sim/calibration.h"
#include "disco/sim/environment.h"
#include "disco/sim/simulate.h"

namespace {

const char* kCalibrateUsage =
    "usage: disco-sim calibrate [options]\n"
    "\n"
    "Runs the analogues of two real randomized experiments in the simulator and prints the real\n"
    "statistics beside the simulator's:\n"
    "  - repeated time-limited offers in 6 waves over 30 days (starbucks-offers): completion by offer,\n"
    "    by the customer's k-th offer, per earlier reward offer (habituation), by earlier completions\n"
    "    (persistence), and the net effect of a reward offer on the campaign's purchases;\n"
    "  - a one-shot randomized promotion over 2 weeks after 4 weeks of history (hillstrom): conversion,\n"
    "    visit and spend, treated vs control, overall and by recency, history and newbie.\n"
    "\n"
    "options:\n"
    "  --seed N              the simulated store (default 42)\n"
    "  --world N             the simulator's ground truth (default 2; 1 = the original world)\n"
    "  --shoppers N          shoppers in the campaign world (default 60000; Starbucks: 17,000)\n"
    "  --uplift-shoppers N   shoppers in the promotion world (default 100000; ~1 in 5 buys in the 4 weeks of\n"
    "                        history and enters the test; Hillstrom: 64,000 customers)\n"
    "  --items N             catalog size (default 10000)\n"
    "  --campaign-visits X   mean visits per shopper-day in the campaign world, or auto (default): the\n"
    "                        frequency that gives the real customers' mean purchases in 30 days\n"
    "                        (Starbucks: 8.2 transactions), found from one first run at 1.5; the\n"
    "                        store's own default is 0.1 visits/day\n"
    "  --uplift-arm ARM      the promotion's arm (default 10%; every arm is also summarized)\n"
    "  --data DIR            real data root (default $DISCO_DATA, else ../shared/data); a missing\n"
    "                        dataset is reported and its columns left empty\n"
    "  -h, --help            this text\n"
    "\n"
    "exit status: 0 ok, 1 bad data, 2 bad arguments\n";

[[noreturn]] void cal_usage_error(const std::string& msg) {
  std::fprintf(stderr, "disco-sim calibrate: %s\n(see disco-sim calibrate --help)\n", msg.c_str());
  std::exit(2);
}

}  // namespace

int calibrate_main(int argc, char** argv) {
  using namespace disco::sim;
  namespace calib = disco::sim::calib;
  Config base;
  uint32_t campaign_shoppers = 60000, uplift_shoppers = 100000;
  double campaign_visits = 0;  // auto
  int uplift_arm = 2;
  std::string data_dir;
  using disco::cli::Int;
  std::string arm_text, visits_text = "auto";
  CLI::App app{"disco-sim calibrate", "disco-sim calibrate"};
  app.set_help_flag();  // kCalibrateUsage is the help
  bool help = false;
  app.add_flag("-h,--help", help);
  app.add_option("--seed", base.seed)->check(disco::cli::Uint64());
  app.add_option("--world", base.world_version)->check(Int(1, 2));
  app.add_option("--shoppers", campaign_shoppers)->check(Int(100, UINT32_MAX));
  app.add_option("--uplift-shoppers", uplift_shoppers)->check(Int(100, UINT32_MAX));
  app.add_option("--items", base.num_items)->check(Int(10, UINT32_MAX));
  app.add_option("--uplift-arm", arm_text)->check([](const std::string& v) {
    return parse_arm(v) > 0 ? std::string() : "expected a discount arm (5%, 10%, 15%, 20%, free-shipping), got '" + v + "'";
  });
  app.add_option("--data", data_dir);
  app.add_option("--campaign-visits", visits_text)->check([](const std::string& v) {
    char* end = nullptr;
    const double x = v == "auto" ? 1 : std::strtod(v.c_str(), &end);
    return v == "auto" || (!v.empty() && !*end && x > 0 && x <= 10)
               ? std::string()
               : "expected auto or a number in (0, 10], got '" + v + "'";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    cal_usage_error(e.what());
  }
  if (help) {
    std::fputs(kCalibrateUsage, stdout);
    return 0;
  }
  if (!arm_text.empty()) uplift_arm = parse_arm(arm_text);
  if (visits_text != "auto") campaign_visits = std::strtod(visits_text.c_str(), nullptr);
  if (data_dir.empty()) data_dir = disco::data::data_root();
  namespace fs = std::filesystem;
  char sim_name[96];
  std::snprintf(sim_name, sizeof(sim_name), "sim world %d seed %llu", base.world_version, (unsigned long long)base.seed);

  try {
    const fs::path sb = fs::path(data_dir) / "starbucks-offers";
    calib::CampaignStats real_c;
    bool have_sb = false;
    if (fs::exists(sb / "train_v3_starbucks.csv.gz") || fs::exists(sb / "train_v3_starbucks.csv")) {
      calib::StarbucksTotalsReport rep;
      real_c = calib::campaign_stats(calib::starbucks_campaign(sb.string(), &rep));
      have_sb = true;
      if (rep.bad_rows || rep.inconsistent_rows || rep.customers_without_totals)
        std::printf("starbucks-offers totals: %llu rows, %llu unreadable, %llu inconsistent, %llu customers without totals\n",
                    (unsigned long long)rep.rows, (unsigned long long)rep.bad_rows,
                    (unsigned long long)rep.inconsistent_rows, (unsigned long long)rep.customers_without_totals);
    } else {
      std::printf("starbucks-offers: %s missing, real columns left empty\n\n", sb.string().c_str());
    }
    // The campaign world: the store with the visit frequency matched to the real customers' purchases
    // (Starbucks: 8.2 transactions in 30 days), so completion rates are comparable; "auto" scales a
    // first run's visits by real / simulated mean purchases once.
    const double target_tx = have_sb ? real_c.mean_transactions : 8.18;
    Config cc = base;
    cc.num_shoppers = campaign_shoppers;
    cc.num_days = 30;
    auto run_campaign = [&](double visits) {
      cc.mean_visits_per_day = visits;
      Environment cenv(cc);
      return calib::campaign_stats(calib::simulate_campaign(cenv, calib::CampaignDesign{}));
    };
    calib::CampaignStats cs;
    if (campaign_visits > 0) {
      cs = run_campaign(campaign_visits);
    } else {
      cs = run_campaign(1.5);
      campaign_visits = 1.5 * target_tx / std::max(0.1, cs.mean_transactions);
      cs = run_campaign(campaign_visits);
    }
    char cname[160];
    std::snprintf(cname, sizeof(cname), "%s, %.2f visits/day", sim_name, campaign_visits);
    std::fputs(calib::campaign_report(have_sb ? &real_c : nullptr, "starbucks", cs, cname).c_str(), stdout);
    std::printf("\n");

    // One-shot promotion.
    const fs::path hs = fs::path(data_dir) / "hillstrom";
    calib::UpliftStats real_u;
    bool have_real = false;
    if (fs::exists(hs / "hillstrom.csv")) {
      real_u = calib::uplift_stats(calib::hillstrom_uplift(hs.string()));
      have_real = true;
    } else {
      std::printf("hillstrom: %s missing, real columns left empty\n", (hs / "hillstrom.csv").string().c_str());
    }
    Config uc = base;
    uc.num_shoppers = uplift_shoppers;
    uc.num_days = 42;
    Environment uenv(uc);
    const Browsing ub = generate_browsing(uenv);
    calib::UpliftDesign ud;
    ud.arm = uplift_arm;
    const calib::UpliftStats us = calib::uplift_stats(calib::simulate_uplift(uenv, ub, ud));
    std::string un = std::string(sim_name) + ", " + kArms[uplift_arm].name + " for 2 weeks";
    std::fputs(calib::uplift_report(have_real ? &real_u : nullptr, "hillstrom (either e-mail)", us, un).c_str(), stdout);
    std::printf("  every arm (simulator, whole population): conversion control -> treated (ratio)\n");
    for (int a = 1; a < kNumArms; ++a) {
      calib::UpliftDesign d = ud;
      d.arm = a;
      const calib::UpliftStats s = calib::uplift_stats(calib::simulate_uplift(uenv, ub, d));
      const auto& c = s.cells.front();
      std::printf("    %-14s %.4f -> %.4f (x%.2f, %+.4f +- %.4f), spend per converter x%.2f; groups x%.2f .. x%.2f, %d of %d negative\n",
                  kArms[a].name, c.conv_c, c.conv_t, c.conv_ratio(), c.conv_lift(), c.conv_diff_se,
                  c.conv_c > 0 && c.conv_t > 0 && c.spend_c > 0 ? (c.spend_t / c.conv_t) / (c.spend_c / c.conv_c) : 0.0,
                  s.min_ratio, s.max_ratio, s.negative_groups, s.groups);
    }
    // What the ground truth means for discount policies: the store of the closed loop (loop/README.md:
    // 6,000 shoppers, 3,000 items, 28 days), every fixed arm and the oracle run online (run_policy:
    // habituation follows each policy's own discounts), realized margin over all days.
    Config lc = base;
    lc.num_shoppers = 6000;
    lc.num_items = 3000;
    lc.num_days = 28;
    Environment lenv(lc);
    const Browsing lb = generate_browsing(lenv);
    std::printf("\npolicies on the loop's store (%s, 6,000 shoppers, 3,000 items, 28 days; realized margin, online):\n",
                sim_name);
    double none = 0;
    for (int a = 0; a < kNumArms; ++a) {
      LoggingOfferPolicy fixed(LoggingPolicy::parse(std::string("fixed:") + kArms[a].name));
      const Summary s = summarize(lenv, run_policy(lenv, lb, fixed));
      if (a == 0) none = s.realized_margin;
      std::printf("  fixed %-14s margin %10.0f (%+6.1f%% vs no discount), conversion %.1f%%, discount spend %8.0f\n",
                  kArms[a].name, s.realized_margin, none > 0 ? 100 * (s.realized_margin / none - 1) : 0.0,
                  100 * s.offer_conversion_rate, s.discount_spend);
    }
    OracleOfferPolicy oracle;
    const Summary os = summarize(lenv, run_policy(lenv, lb, oracle));
    std::printf("  oracle               margin %10.0f (%+6.1f%% vs no discount), conversion %.1f%%, discount spend %8.0f\n",
                os.realized_margin, none > 0 ? 100 * (os.realized_margin / none - 1) : 0.0, 100 * os.offer_conversion_rate,
                os.discount_spend);
  } catch (const disco::data::IngestError& e) {
    std::fprintf(stderr, "disco-sim calibrate: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "disco-sim calibrate: %s\n", e.what());
    return 1;
  }
  return 0;
}

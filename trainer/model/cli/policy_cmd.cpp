// `disco-train policy`: fit the discount policy (bandit warm start, noise scale, delayed cost,
// long-term value model) from a canonical log, for `disco-train export --policy-fit FILE`.
// The work is disco::policy's (trainer/policy); this file is only the command line.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "disco/data/ingest.h"
#include "disco/disco.h"
#include "disco/model/export.h"
#include "disco/policy/fit.h"
#include "disco/policy/replay.h"

namespace {

const char* kDescription = R"(disco-train policy: fit the discount policy from a log of randomized offers

Reads a canonical log (events.csv, decisions.csv with logged arms and propensities, outcomes.csv;
items.csv optional: the collector's `export --canonical DIR`, a pilot from disco-sim, or your own),
replays every shopper's events and decisions through the runtime of --bundle (so each decision gets
the runtime's own context vector), then fits:
  - the bandit's warm start: per-arm ridge statistics, inverse-propensity weighted;
  - the bandit's noise scale (the spread of the logged scaled rewards);
  - the pooled delayed cost of a discount (later full-price margin lost; a diagnostic unless
    --delayed-cost charges it);
  - the long-term value model: fitted-Q iteration over offer points (immediate margin + the
    discounted value of the shopper's next offer point), conservative where the log is thin.
Writes them to --out as JSON; `disco-train export --model M --data D --policy-fit FILE` puts them in
the bundle. Refuses, with the reason, a log without randomized decisions, with too few rows, with an
arm the bundle does not have or one that was never logged, or with propensities outside (0, 1].

The path a store follows: collect (SDK -> collector) -> disco-collector export --canonical LOG ->
disco-train train --data LOG (model) -> disco-train policy --log LOG --bundle B -> disco-train export
--policy-fit FIT -> disco-eval gate -> publish as the collector's bundle -> edges sync.)";

}  // namespace

int run_policy_command(int argc, char** argv) {
  CLI::App app{kDescription, "disco-train policy"};
  app.get_formatter()->column_width(34);
  std::string log_dir, bundle_path, out_path = "policy_fit.json", exclude_file, delayed = "auto";
  disco::policy::FitOptions fo;
  disco::policy::ReplayOptions ro;
  bool no_value = false, quiet = false;
  app.add_option("--log", log_dir, "canonical log folder (events.csv, decisions.csv, outcomes.csv)")->required();
  app.add_option("--bundle", bundle_path, "the bundle whose runtime builds the contexts (the one the fit ships in)")
      ->required();
  app.add_option("--out", out_path, "output JSON")->capture_default_str();
  std::string write_log;
  app.add_option("--write-log", write_log,
                 "also write the replayed decisions with their runtime contexts, price and cost as a canonical log "
                 "folder (for disco-eval ope / gate with a bundle candidate)");
  app.add_option("--exclude-users", exclude_file, "file of user ids (one per line) whose rows are not used");
  app.add_option("--delayed-cost", delayed,
                 "charge C x price per discounted decision into the warm start's rewards: auto (the pooled estimate, "
                 "floored at 0), a number, or 0 = none")
      ->capture_default_str();
  std::string delayed_by = "none";
  app.add_option("--delayed-cost-by", delayed_by,
                 "with --delayed-cost auto: exposure (one estimate per bin of the shopper's discount exposure, each "
                 "shrunk towards the pooled one by its standard error) or none (the pooled estimate for every decision)")
      ->check(CLI::IsMember({"exposure", "none"}))
      ->capture_default_str();
  app.add_option("--delayed-horizon-days", fo.delayed_horizon_days, "horizon of the delayed-cost estimate")
      ->capture_default_str();
  app.add_option("--prior-weight", fo.prior_weight, "scales the warm start's weights (0 = no warm start)")
      ->capture_default_str();
  app.add_option("--noise-floor", fo.noise_floor, "lower bound of the noise scale")->capture_default_str();
  app.add_option("--choice-pessimism", fo.choice_pessimism,
                 "the runtime scores each discount K posterior standard deviations of its gain over no discount lower "
                 "(a lower confidence bound: a discount where its gain is likely; fades as data accrue); 0 = plain Thompson sampling")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  app.add_option("--uplift", fo.uplift_learner,
                 "the warm start's per-arm effects from an uplift learner (x/xgb, s/xgb, t/linear, ...; trainer/eval "
                 "uplift), distilled to the linear bandit, instead of the per-arm ridge means");
  app.add_flag("--no-value-model", no_value, "fit only the myopic bandit's warm start");
  app.add_option("--gamma", fo.gamma_per_day, "value model: discount per day of elapsed time")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--pessimism", fo.pessimism, "value model: lower-confidence-bound multiplier in the backup")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--backup", fo.backup,
                 "value model: logged (evaluate the logging policy's continuation; stable) or greedy (fitted-Q "
                 "iteration with a max over arms and a lower confidence bound)")
      ->capture_default_str();
  app.add_option("--iterations", fo.iterations, "value model: fitted-Q iterations at most")->capture_default_str();
  app.add_option("--pairs", fo.pairs, "value model: product features: all | none | i:j,...")->capture_default_str();
  app.add_option("--value-ridge", fo.value_ridge, "value model: ridge on the shared continuation")->capture_default_str();
  app.add_option("--delta-ridge", fo.delta_ridge,
                 "value model: ridge on each arm's deviation from it (< 0 = auto: 0.3 x the training rows)")
      ->capture_default_str();
  bool no_residual = false;
  app.add_flag("--no-immediate-residual", no_residual,
               "value model: only the long-term continuation (not the immediate reward the linear bandit misses)");
  app.add_option("--censor-days", fo.censor_days,
                 "value model: decisions this close to the log's end are next states only")
      ->capture_default_str();
  app.add_option("--min-rows", fo.min_rows, "refuse a log with fewer usable decisions")->capture_default_str();
  app.add_flag("--quiet", quiet, "print only the output path");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  fo.value_model = !no_value;
  fo.delayed_by_exposure = delayed_by == "exposure";
  fo.immediate_residual = !no_residual;
  try {
    if (delayed == "auto") {
      fo.delayed_cost_auto = true;
    } else {
      fo.delayed_cost_auto = false;
      char* end = nullptr;
      fo.delayed_cost = std::strtod(delayed.c_str(), &end);
      if (delayed.empty() || *end || !(fo.delayed_cost >= 0))
        throw disco::policy::PolicyError("--delayed-cost: expected auto or a number >= 0, got '" + delayed + "'");
    }
    if (!exclude_file.empty()) ro.exclude_users = disco::policy::read_id_list(exclude_file);
    const auto t0 = std::chrono::steady_clock::now();
    disco::data::Dataset ds = disco::data::read_canonical(log_dir);
    const std::vector<uint8_t> bytes = disco::model::read_file(bundle_path);
    disco_bundle* b = nullptr;
    if (disco_bundle_load(bytes.data(), bytes.size(), 0, &b) != DISCO_OK)
      throw disco::policy::PolicyError(bundle_path + ": " + disco_last_error());
    disco::policy::Replay rep;
    try {
      rep = disco::policy::replay_log(ds, b, ro);
    } catch (...) {
      disco_bundle_free(b);
      throw;
    }
    disco_bundle_free(b);
    if (!write_log.empty()) disco::policy::write_replayed_log(rep, ds, write_log);
    const auto t1 = std::chrono::steady_clock::now();
    const disco::policy::PolicyFit fit = disco::policy::fit_policy(rep, fo);
    const auto t2 = std::chrono::steady_clock::now();
    {
      const std::string tmp = out_path + ".tmp";
      std::ofstream f(tmp, std::ios::binary);
      if (!f) throw disco::policy::PolicyError(out_path + ": cannot write");
      f << disco::policy::to_json(fit) << "\n";
      f.close();
      if (!f || std::rename(tmp.c_str(), out_path.c_str()) != 0)
        throw disco::policy::PolicyError(out_path + ": cannot write");
    }
    if (quiet) {
      std::printf("%s\n", out_path.c_str());
      return 0;
    }
    const double replay_s = std::chrono::duration<double>(t1 - t0).count();
    const double fit_s = std::chrono::duration<double>(t2 - t1).count();
    std::printf("replay (%.1f s): %s\n", replay_s, rep.stats.to_text().c_str());
    std::printf("decisions per arm:");
    for (uint32_t a = 0; a < fit.n_arms; ++a) std::printf(" %llu", (unsigned long long)fit.rows_per_arm[a]);
    std::printf(" (randomized %llu, min propensity %.4g)\n", (unsigned long long)fit.randomized_rows, fit.min_propensity);
    std::printf("warm start, IPS-weighted mean scaled reward per arm:");
    for (const auto& a : fit.prior) std::printf(" %.4f", a.mean_reward);
    std::printf("\nnoise scale %.4f, choice pessimism %.2f\n", fit.noise_scale, fit.choice_pessimism);
    std::printf("delayed cost of a discount (%.0f days): %.4f x price +- %.4f (%llu / %llu decisions, %llu shoppers)%s\n",
                fit.delayed.horizon_days, fit.delayed.estimate, fit.delayed.se,
                (unsigned long long)fit.delayed.control, (unsigned long long)fit.delayed.discounted,
                (unsigned long long)fit.delayed.clusters,
                fit.delayed.applied > 0 && !fit.delayed.by_exposure
                    ? (", charged " + std::to_string(fit.delayed.applied)).c_str() : "");
    if (fo.delayed_by_exposure && fo.delayed_cost_auto && !fit.delayed.by_exposure)
      std::printf("  by discount exposure: not estimated (the log has no decisions of both kinds %g days before its end): "
                  "the pooled estimate is charged\n", fit.delayed.horizon_days);
    if (fit.delayed.by_exposure) {
      std::printf("  by discount exposure (between-bin variance %.3g):\n", fit.delayed.between_var);
      for (const auto& b : fit.delayed.bins)
        std::printf("    exposure >= %.2f%s: %.4f +- %.4f (%llu / %llu decisions), shrunk %.4f, charged %.4f\n",
                    b.exposure_lo, b.exposure_hi > 1 ? "" : (" and < " + std::to_string(b.exposure_hi).substr(0, 4)).c_str(),
                    b.estimate, b.se, (unsigned long long)b.control, (unsigned long long)b.discounted, b.shrunk, b.applied);
    }
    if (!fit.uplift.learner.empty()) {
      std::printf("warm start effects from %s (linear distillation R^2 per arm:", fit.uplift.learner.c_str());
      for (double v : fit.uplift.r2) std::printf(" %.2f", v);
      std::printf("; mean effect vs arm 0:");
      for (double v : fit.uplift.mean_effect) std::printf(" %+.4f", v);
      std::printf(")\n");
    }
    if (fit.value.fitted) {
      std::printf("value model (%.1f s): %s\n", fit_s, fit.value.provenance.c_str());
      std::printf("  mean continuation per arm (currency):");
      for (double v : fit.value.mean_continuation) std::printf(" %.3f", v);
      std::printf("\n  mean offset vs arm 0 (margin / price):");
      for (double v : fit.value.mean_offset) std::printf(" %+.4f", v);
      std::printf("\n  best arm changed by the value model on %.1f%% of the decisions\n", 100.0 * fit.value.share_changed);
    }
    std::printf("wrote %s\n", out_path.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "disco-train policy: error: %s\n", e.what());
    return 2;
  }
}

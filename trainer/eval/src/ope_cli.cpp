// disco-eval ope | ab | gate | obp-check (CLI11). Exit status: 0 ok (gate: promote), 1 bad input or
// a refusal (one line "disco-eval CMD: error: ..."), 2 usage error, 3 gate: hold.
#include "ope_cli.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "disco/data/ingest.h"
#include "disco/eval/ab.h"
#include "disco/eval/gate.h"
#include "disco/eval/ope.h"
#include "disco/eval/ope_data.h"
#include "disco/eval/ope_report.h"
#include "disco/eval/ope_stats.h"

namespace disco::eval::cli {

namespace {

namespace fs = std::filesystem;
using namespace disco::eval::ope;

constexpr int kOk = 0, kError = 1, kUsage = 2, kHold = 3;

std::string fmt(double v, const char* f = "%.6g") {
  if (!std::isfinite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// Parses; returns -1 to continue, else the exit status (help: 0, usage error: 2).
int parse(CLI::App& app, int argc, char** argv, const std::string& cmd) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kOk;
  } catch (const CLI::ParseError& e) {
    std::cerr << "disco-eval " << cmd << ": " << e.what() << "\n(disco-eval " << cmd << " --help lists the options)\n";
    return kUsage;
  }
  return -1;
}

// The log, the dataset it came from (kept for bundle replays) and the kind.
struct Log {
  std::unique_ptr<data::Dataset> ds;
  LoadedLog loaded;
};

Log load(const std::string& dir, const LogOptions& opt, uint32_t folds) {
  Log L;
  L.ds = std::make_unique<data::Dataset>();
  L.loaded = load_bandit_log(dir, opt, L.ds.get());
  if (L.loaded.log.size() < folds)
    throw OpeError(dir + ": " + std::to_string(L.loaded.log.size()) + " decisions, fewer than --folds " + std::to_string(folds));
  return L;
}

ActionDist candidate_of(const std::string& spec, Log& L) {
  if (spec == "uniform") return candidate_distribution(uniform_candidate(), L.loaded.log);
  if (spec.rfind("fixed:", 0) == 0) {
    // The built-in "always arm N" (e.g. fixed:0, the store without discounts: the gate's usual
    // current policy before disco goes live).
    char* end = nullptr;
    const long arm = std::strtol(spec.c_str() + 6, &end, 10);
    if (spec.size() == 6 || *end || arm < 0 || arm > 65535)
      throw OpeError(spec + ": expected fixed:N with N an arm index (fixed:0 = no discount)");
    CandidateFile c;
    c.kind = CandidateFile::Kind::PerPosition;
    c.path = spec;
    c.n_positions = 1;
    const uint32_t n = std::max<uint32_t>(L.loaded.log.n_arms, uint32_t(arm) + 1);
    for (uint32_t a = 0; a < n; ++a) {
      c.arms.push_back(a);
      c.by_arm[a] = {a == uint32_t(arm) ? 1.0 : 0.0};
    }
    return candidate_distribution(c, L.loaded.log);
  }
  std::error_code ec;
  if (!fs::exists(spec, ec))
    throw OpeError(spec + ": no such candidate file (an action-distribution CSV, a .disco bundle, 'uniform' or 'fixed:N')");
  if (looks_like_bundle(spec)) return bundle_distribution(spec, *L.ds, L.loaded.log, L.loaded.decision_of_row);
  return candidate_distribution(read_candidate_csv(spec), L.loaded.log);
}

void pad(ActionDist& d, uint32_t n_arms) {
  if (d.n_arms == n_arms) return;
  std::vector<double> p(d.p.size() / d.n_arms * n_arms, 0.0);
  const size_t n = d.p.size() / d.n_arms;
  for (size_t i = 0; i < n; ++i)
    for (uint32_t a = 0; a < d.n_arms; ++a) p[i * n_arms + a] = d.p[i * d.n_arms + a];
  d.p = std::move(p);
  d.n_arms = n_arms;
}

RewardModelSpec model_of(const std::string& name, const Log& L) {
  if (name != "auto") return reward_model_preset(name);
  if (L.loaded.kind == "open-bandit") return reward_model_preset("onehot");
  return reward_model_preset(L.loaded.log.context_dim ? "per-arm" : "onehot");
}

struct CommonOpts {
  std::string log, reward = "margin", behavior, model = "auto", json, html;
  uint32_t folds = 3, bootstrap = 1000, seed = 1;
  double alpha = 0.05;
};

void add_common(CLI::App& app, CommonOpts& o) {
  app.add_option("--log", o.log, "log folder: the collector's canonical export (or an open-bandit folder)")->required();
  app.add_option("--reward", o.reward, "reward: margin (default) | conversion | revenue")
      ->check(CLI::IsMember({"margin", "conversion", "revenue"}));
  app.add_option("--behavior", o.behavior, "keep only decisions of this policy_version (open-bandit: random | bts)");
  app.add_option("--reward-model", o.model, "DM/DR reward model: auto | obp | onehot | per-arm (default auto)")
      ->check(CLI::IsMember({"auto", "obp", "onehot", "per-arm"}));
  app.add_option("--folds", o.folds, "cross-fitting folds of the reward model (default 3)")->check(CLI::Range(2u, 100u));
  app.add_option("--bootstrap", o.bootstrap, "bootstrap resamples of shoppers for the intervals (default 1000)")
      ->check(CLI::Range(0u, 1000000u));
  app.add_option("--seed", o.seed, "seed of the folds and the bootstrap (default 1)");
  app.add_option("--alpha", o.alpha, "intervals are 1 - alpha (default 0.05)")->check(CLI::Range(1e-6, 0.5));
  app.add_option("--json", o.json, "write every figure as JSON to FILE");
  app.add_option("--html", o.html, "write a self-contained HTML report to FILE");
}

LogOptions log_options(const CommonOpts& o, const CLI::App& app) {
  LogOptions lo;
  parse_reward_kind(o.reward, lo.reward);
  lo.reward_given = app.count("--reward") > 0;
  lo.behavior = o.behavior;
  return lo;
}

void print_result(std::ostream& out, const OpeResult& r) {
  const int pct = static_cast<int>(std::lround(100 * (1 - r.alpha)));
  char b[256];
  std::snprintf(b, sizeof b, "%-10s %12s %12s %12s  %s\n", "estimator", "estimate", (std::to_string(pct) + "% low").c_str(),
                (std::to_string(pct) + "% high").c_str(), "lambda");
  out << b;
  for (const auto& e : r.estimates) {
    std::snprintf(b, sizeof b, "%-10s %12s %12s %12s  %s\n", to_string(e.estimator), fmt(e.value).c_str(), fmt(e.lo).c_str(),
                  fmt(e.hi).c_str(), std::isnan(e.lambda) ? "" : fmt(e.lambda).c_str());
    out << b;
  }
  const auto& d = r.diag;
  out << "diagnostics: " << d.rows << " rows in " << d.clusters << " clusters (shoppers); logged value " << fmt(d.logged_value) << "; ESS "
      << fmt(d.ess, "%.1f") << " (" << fmt(100 * d.ess_share, "%.2f") << "%); min propensity " << fmt(d.min_propensity)
      << "; importance weight max " << fmt(d.max_weight) << " mean " << fmt(d.mean_weight) << "; zero candidate probability "
      << fmt(100 * d.zero_prob_share, "%.2f") << "% of rows; candidate mass on never-logged arms " << fmt(100 * d.unlogged_mass, "%.2f")
      << "%\n";
  if (r.has_reward_model)
    out << "reward model: " << r.model.description << "; out-of-fold skill " << fmt(r.model.skill, "%.4f") << ", calibration "
        << fmt(r.model.calibration, "%.3f") << "\n";
}

report::Meta meta_for(const std::string& title, const CommonOpts& o, const Log& L) {
  report::Meta m;
  m.title = title;
  m.items.emplace_back("log", o.log + " (" + L.loaded.kind + ", " + std::to_string(L.loaded.log.size()) + " decisions)");
  m.items.emplace_back("reward", to_string(L.loaded.reward));
  if (!o.behavior.empty()) m.items.emplace_back("behavior policy_version", o.behavior);
  m.items.emplace_back("bootstrap", std::to_string(o.bootstrap) + " resamples of shoppers, seed " + std::to_string(o.seed));
  m.notes = L.loaded.notes;
  return m;
}

void write_outputs(const std::string& json_path, const nlohmann::json& j, const std::string& html_path, const std::string& html) {
  if (!json_path.empty()) report::write_file(json_path, j.dump(2) + "\n");
  if (!html_path.empty()) report::write_file(html_path, html);
}

std::vector<Estimator> parse_estimators(const std::string& list) {
  std::vector<Estimator> out;
  std::stringstream ss(list);
  std::string x;
  while (std::getline(ss, x, ',')) {
    if (x.empty()) continue;
    Estimator e;
    if (!parse_estimator(x, e)) throw CLI::ValidationError("--estimators", "unknown estimator '" + x + "'");
    out.push_back(e);
  }
  return out;
}

// ---- ope ----------------------------------------------------------------------------------------
int cmd_ope(int argc, char** argv) {
  CLI::App app{"disco-eval ope: a candidate policy's value from a logged canonical log (DM, IPS, SNIPS, DR, SNDR, Switch-DR, "
               "DR-OS with bootstrap intervals and diagnostics)",
               "disco-eval ope"};
  CommonOpts o;
  std::string candidate, estimators = "dm,ips,snips,dr,sndr,switch-dr,dr-os";
  add_common(app, o);
  app.add_option("--candidate", candidate, "action-distribution CSV, a .disco bundle, or 'uniform'")->required();
  app.add_option("--estimators", estimators, "comma-separated subset (default all)");
  if (int rc = parse(app, argc, argv, "ope"); rc >= 0) return rc;
  OpeOptions opt;
  try {
    opt.estimators = parse_estimators(estimators);
  } catch (const CLI::ValidationError& e) {
    std::cerr << "disco-eval ope: " << e.what() << "\n";
    return kUsage;
  }
  opt.bootstrap = o.bootstrap;
  opt.seed = o.seed;
  opt.alpha = o.alpha;
  Log L = load(o.log, log_options(o, app), o.folds);
  ActionDist pi = candidate_of(candidate, L);
  pad(pi, L.loaded.log.n_arms);
  L.loaded.log.validate();
  bool need_model = false;
  for (Estimator e : opt.estimators) need_model = need_model || needs_reward_model(e);
  RewardPredictions q;
  if (need_model) {
    const auto folds = stats::kfold_assignment(L.loaded.log.size(), o.folds, o.seed);
    q = cross_fit(L.loaded.log, model_of(o.model, L), folds, o.folds);
  }
  const OpeResult r = evaluate(L.loaded.log, pi, need_model ? &q : nullptr, opt);
  std::cout << "candidate: " << pi.source << "\nlog: " << L.loaded.log.source << " (" << L.loaded.kind << "), reward "
            << to_string(L.loaded.reward) << "\n";
  for (const auto& n : L.loaded.notes) std::cout << "note: " << n << "\n";
  print_result(std::cout, r);
  report::Meta m = meta_for("disco-eval ope: " + candidate, o, L);
  m.items.insert(m.items.begin() + 1, {"candidate", pi.source});
  nlohmann::json j = {{"meta", report::meta_json(m)}, {"result", report::to_json(r)}};
  write_outputs(o.json, j, o.html, o.html.empty() ? "" : report::ope_html(m, r));
  return kOk;
}

// ---- gate ---------------------------------------------------------------------------------------
int cmd_gate(int argc, char** argv) {
  CLI::App app{"disco-eval gate: promote the candidate only when its lower 95% bound (DR, or SNIPS when the reward model is "
               "poor) is above the current policy's estimate on the log. Exit 0 promote, 3 hold, 1 error, 2 usage.",
               "disco-eval gate"};
  CommonOpts o;
  std::string candidate, current, publish;
  double poor_skill = 0.0, min_ess = 100;
  add_common(app, o);
  app.add_option("--candidate", candidate, "the new policy: .disco bundle, action-distribution CSV, 'uniform' or 'fixed:N'")->required();
  app.add_option("--current", current,
                 "the policy in production: .disco bundle, action-distribution CSV, 'uniform' or 'fixed:N' (fixed:0 = no "
                 "discount: what apprentice mode and a holdout serve)")
      ->required();
  app.add_option("--publish", publish,
                 "on promote only, copy the candidate bundle atomically to FILE (the collector's bundle_path: edges with "
                 "sync pick it up at their next pull); on hold FILE is left as it is");
  app.add_option("--poor-skill", poor_skill, "the reward model is poor (SNIPS decides) when its out-of-fold skill <= this (default 0)");
  app.add_option("--min-ess", min_ess, "hold when the candidate's effective sample size is below this (default 100)");
  if (int rc = parse(app, argc, argv, "gate"); rc >= 0) return rc;
  if (!publish.empty() && !(candidate.size() > 6 && candidate.compare(candidate.size() - 6, 6, ".disco") == 0))
    throw OpeError("--publish needs a .disco bundle as --candidate (got '" + candidate + "'): only a bundle can be served to the edges");
  Log L = load(o.log, log_options(o, app), o.folds);
  ActionDist c = candidate_of(candidate, L);
  ActionDist k = candidate_of(current, L);
  pad(c, L.loaded.log.n_arms);
  pad(k, L.loaded.log.n_arms);
  L.loaded.log.validate();
  const auto folds = stats::kfold_assignment(L.loaded.log.size(), o.folds, o.seed);
  const RewardPredictions q = cross_fit(L.loaded.log, model_of(o.model, L), folds, o.folds);
  gate::GateOptions g;
  g.ope.bootstrap = o.bootstrap;
  g.ope.seed = o.seed;
  g.ope.alpha = o.alpha;
  g.poor_skill = poor_skill;
  g.min_ess = min_ess;
  const gate::GateResult res = gate::decide(L.loaded.log, c, k, q, g);
  std::cout << res.line << "\n";
  report::Meta m = meta_for("disco-eval gate: " + candidate + " vs " + current, o, L);
  m.items.insert(m.items.begin() + 1, {"candidate", c.source});
  m.items.insert(m.items.begin() + 2, {"current", k.source});
  nlohmann::json j = {{"meta", report::meta_json(m)}, {"gate", report::to_json(res)}};
  write_outputs(o.json, j, o.html, o.html.empty() ? "" : report::gate_html(m, res));
  if (res.verdict != gate::Verdict::Promote) return kHold;
  if (!publish.empty()) {
    // Same directory + rename: the collector never serves a half-written file.
    const fs::path dst(publish), tmp = dst.string() + ".tmp-gate";
    std::error_code ec;
    if (dst.has_parent_path()) fs::create_directories(dst.parent_path(), ec);
    fs::copy_file(candidate, tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(tmp, dst, ec);
    if (ec) throw OpeError("--publish " + publish + ": could not write the promoted bundle (" + ec.message() + ")");
    std::cout << "published " << candidate << " -> " << publish << "\n";
  }
  return kOk;
}

// ---- ab -----------------------------------------------------------------------------------------
int cmd_ab(int argc, char** argv) {
  CLI::App app{"disco-eval ab: lift of disco over the A/B holdout (margin, revenue and discount spend per shopper, conversion "
               "per decision) with intervals clustered by shopper, the lift day by day, and the days a lift needs",
               "disco-eval ab"};
  std::string log, json, html, lifts = "0.01,0.02,0.05";
  double alpha = 0.05, power = 0.8;
  app.add_option("--log", log, "the collector's canonical export (decisions.csv with the holdout column, outcomes.csv)")->required();
  app.add_option("--lift", lifts, "relative lifts to size, comma-separated (default 0.01,0.02,0.05)");
  app.add_option("--alpha", alpha, "two-sided level (default 0.05)")->check(CLI::Range(1e-6, 0.5));
  app.add_option("--power", power, "power of the days-to-detect table (default 0.8)")->check(CLI::Range(0.05, 0.999));
  app.add_option("--json", json, "write every figure as JSON to FILE");
  app.add_option("--html", html, "write a self-contained HTML report to FILE");
  if (int rc = parse(app, argc, argv, "ab"); rc >= 0) return rc;
  ab::AbOptions opt;
  opt.alpha = alpha;
  opt.power = power;
  opt.lifts.clear();
  {
    std::stringstream ss(lifts);
    std::string x;
    while (std::getline(ss, x, ',')) {
      if (x.empty()) continue;
      try {
        size_t pos = 0;
        const double v = std::stod(x, &pos);
        if (pos != x.size() || !(v != 0) || !std::isfinite(v)) throw std::invalid_argument(x);
        opt.lifts.push_back(v);
      } catch (const std::exception&) {
        std::cerr << "disco-eval ab: --lift: '" << x << "' is not a non-zero number\n";
        return kUsage;
      }
    }
  }
  std::error_code ec;
  if (!fs::is_directory(log, ec)) throw ab::AbError(log + ": not a directory (--log expects the collector's canonical export)");
  const data::Dataset ds = data::read_canonical(log);
  if (!fs::exists(fs::path(log) / "outcomes.csv", ec)) throw ab::AbError(log + ": no outcomes.csv: the lift needs the outcomes");
  const ab::AbResult r = ab::analyze(ab::rows_from_dataset(ds, log), opt);
  std::cout << r.shoppers_disco << " disco shoppers, " << r.shoppers_holdout << " holdout shoppers (share "
            << fmt(100 * r.holdout_share, "%.1f") << "%), " << r.decisions << " decisions over " << fmt(r.days, "%.0f") << " days\n";
  for (const auto& n : r.notes) std::cout << "note: " << n << "\n";
  char b[320];
  for (const auto& m : r.metrics) {
    std::snprintf(b, sizeof b, "%-28s disco %-10s holdout %-10s lift %-10s [%s, %s]  %s [%s, %s]  p %s\n", m.metric.c_str(),
                  fmt(m.disco).c_str(), fmt(m.holdout).c_str(), fmt(m.lift).c_str(), fmt(m.lo).c_str(), fmt(m.hi).c_str(),
                  (fmt(100 * m.rel_lift, "%+.2f") + "%").c_str(), (fmt(100 * m.rel_lo, "%+.2f") + "%").c_str(),
                  (fmt(100 * m.rel_hi, "%+.2f") + "%").c_str(), fmt(m.p_value, "%.3g").c_str());
    std::cout << b;
  }
  for (const auto& p : r.power_table) {
    std::snprintf(b, sizeof b, "days to detect %-26s %-16s: %s shoppers, %s days (%s more)\n", p.metric.c_str(),
                  (p.label == "observed" ? "observed " + fmt(100 * p.rel_lift, "%+.2f") + "%" : p.label).c_str(),
                  fmt(p.shoppers_needed, "%.0f").c_str(), fmt(p.days_needed, "%.1f").c_str(), fmt(p.more_days, "%.0f").c_str());
    std::cout << b;
  }
  report::Meta m;
  m.title = "disco-eval ab: " + log;
  m.items.emplace_back("log", log);
  m.notes = r.notes;
  nlohmann::json j = {{"meta", report::meta_json(m)}, {"ab", report::to_json(r)}};
  write_outputs(json, j, html, html.empty() ? "" : report::ab_html(m, r));
  return kOk;
}

// ---- obp-check ----------------------------------------------------------------------------------
int cmd_obp(int argc, char** argv) {
  CLI::App app{"disco-eval obp-check: the Open Bandit Pipeline cross-check on open-bandit-men (exact IPW/SNIPW, and the 30-bootstrap "
               "relative errors of every estimator with the library's reward model and disco's)",
               "disco-eval obp-check"};
  std::string dir = data::data_root() + "/open-bandit-men", json, models = "obp,onehot";
  uint32_t runs = 30, folds = 3;
  app.add_option("--data", dir, "the open-bandit-men folder (default $DISCO_DATA/open-bandit-men)");
  app.add_option("--runs", runs, "bootstrap replicates (default 30)")->check(CLI::Range(1u, 10000u));
  app.add_option("--folds", folds, "cross-fitting folds (default 3)")->check(CLI::Range(2u, 100u));
  app.add_option("--models", models, "reward models, comma-separated (default obp,onehot)");
  app.add_option("--json", json, "write the tables as JSON to FILE");
  if (int rc = parse(app, argc, argv, "obp-check"); rc >= 0) return rc;
  ObpCheckOptions opt;
  opt.runs = runs;
  opt.folds = folds;
  {
    std::stringstream ss(models);
    std::string x;
    while (std::getline(ss, x, ','))
      if (!x.empty()) opt.models.push_back(reward_model_preset(x));
  }
  const data::Dataset ds = data::read_open_bandit(dir);
  const CandidateFile bts = read_candidate_csv(dir + "/bts_action_dist.csv");
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [beh, ev] : {std::pair<std::string, std::string>{"random", "bts"}, {"bts", "random"}}) {
    const ObpCheckResult r = obp_check(ds, beh, ev, ev == "bts" ? bts : uniform_candidate(), opt);
    std::cout << ev << " <- " << beh << " log: ground truth " << fmt(r.ground_truth) << "; full log IPW "
              << fmt(r.ipw_full, "%.11g") << ", SNIPW " << fmt(r.snipw_full, "%.11g") << "\n";
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : r.rows) {
      std::printf("  %-8s %-10s mean relative error %.3f (sd %.3f)\n", row.model.c_str(), to_string(row.estimator),
                  row.mean_rel_error, row.std_rel_error);
      rows.push_back({{"model", row.model}, {"estimator", to_string(row.estimator)}, {"mean_rel_error", row.mean_rel_error},
                      {"std_rel_error", row.std_rel_error}, {"rel_errors", row.rel_errors}});
    }
    std::fflush(stdout);
    j.push_back({{"behavior", beh}, {"evaluation", ev}, {"ground_truth", r.ground_truth}, {"ipw_full", r.ipw_full},
                 {"snipw_full", r.snipw_full}, {"runs", runs}, {"folds", folds}, {"rows", rows}});
  }
  if (!json.empty()) report::write_file(json, j.dump(2) + "\n");
  return kOk;
}

}  // namespace

bool is_subcommand(const char* name) {
  return name && (!std::strcmp(name, "ope") || !std::strcmp(name, "ab") || !std::strcmp(name, "gate") ||
                  !std::strcmp(name, "obp-check"));
}

int run_subcommand(int argc, char** argv) {
  const std::string cmd = argv[0];
  try {
    if (cmd == "ope") return cmd_ope(argc, argv);
    if (cmd == "ab") return cmd_ab(argc, argv);
    if (cmd == "gate") return cmd_gate(argc, argv);
    if (cmd == "obp-check") return cmd_obp(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "disco-eval " << cmd << ": error: " << e.what() << "\n";
    return kError;
  }
  std::cerr << "disco-eval: unknown subcommand " << cmd << "\n";
  return kUsage;
}

}  // namespace disco::eval::cli

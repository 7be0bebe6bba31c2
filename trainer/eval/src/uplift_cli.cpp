// `disco-eval uplift`: discount-response (uplift) models on hillstrom, starbucks-offers, the
// simulator or a canonical log; 50/50 splits with fixed seeds; text table, --json and --html.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "disco/data/dataset.h"
#include "disco/data/ingest.h"
#include "disco/eval/uplift.h"
#include "disco/formats/cli.h"

namespace disco::eval {

namespace {

namespace up = disco::eval::uplift;

const char* kUsage =
    "usage: disco-eval uplift --dataset KIND[,KIND..] [options]\n"
    "\n"
    "Discount-response (uplift) models: each treated arm against control, learners fitted on one\n"
    "half of a randomized log and scored on the other (Qini coefficient and uplift@30% as\n"
    "scikit-uplift defines them; PEHE against the truth in the simulator), over random 50/50 splits.\n"
    "\n"
    "  --dataset KIND      hillstrom | starbucks | sim | canonical (comma-separated: one report)\n"
    "  --data DIR[,..]     folder per dataset (default: $DISCO_DATA/hillstrom, $DISCO_DATA/starbucks-offers;\n"
    "                      required for canonical; sim has none)\n"
    "  --targets LIST      hillstrom: visit,conversion (also spend); starbucks: completion,next_completion;\n"
    "                      sim: conversion,margin; canonical: conversion,margin (also revenue)\n"
    "  --learners LIST     t,s,x,dr,ct (default: all)\n"
    "  --bases LIST        xgb,linear (default: both)\n"
    "  --splits N          random 50/50 splits (default 5)\n"
    "  --seed N            seed of the splits and the models (default 1)\n"
    "  --control-arm A     canonical: the no-discount arm (default 0)\n"
    "  --sim-seed N        simulator seed (default 42)\n"
    "  --sim-shoppers N    simulator shoppers (default 20000)\n"
    "  --sim-world N       simulator world (default 2, the calibrated one; 1 = the original)\n"
    "  --sim-days N        simulator days (default 30)\n"
    "  --sim-segment       diagnostic: also give the learners the shopper's hidden segment\n"
    "  --max-rounds N      boosting rounds at most (default 500; early stopping picks fewer)\n"
    "  --threads N         fit N models at once (default 1; results do not depend on it)\n"
    "  --json FILE         write every figure as JSON\n"
    "  --html FILE         write a self-contained HTML report with the Qini curves\n"
    "  --md FILE           write the tables as Markdown\n"
    "  --help              this text\n";

[[noreturn]] void usage_error(const std::string& m) {
  std::cerr << "disco-eval uplift: " << m << "\n\n" << kUsage;
  std::exit(2);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ','))
    if (!x.empty()) out.push_back(x);
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error("cannot open " + path + " for writing");
  f << text;
  f.close();
  if (!f) throw std::runtime_error("error writing " + path);
}

}  // namespace

int uplift_main(int argc, char** argv) {
  std::vector<std::string> kinds, dirs, targets;
  std::string json_path, html_path, md_path, learners_s = "t,s,x,dr,ct", bases_s = "xgb,linear";
  up::ExperimentOptions opt;
  up::SimOptions sopt;
  int control = 0;
  bool targets_given = false;
  using disco::cli::Int;
  std::string kinds_s, dirs_s, targets_s;
  CLI::App app{"disco-eval uplift", "disco-eval uplift"};
  app.set_help_flag();  // kUsage is the help
  bool help = false;
  app.add_flag("-h,--help", help);
  app.add_flag("--sim-segment", sopt.hidden_segment);
  app.add_option("--dataset", kinds_s);
  app.add_option("--data", dirs_s);
  app.add_option("--targets", targets_s);
  app.add_option("--learners", learners_s);
  app.add_option("--bases", bases_s);
  app.add_option("--splits", opt.splits)->check(Int(1, 100));
  app.add_option("--seed", opt.seed)->check(Int(0, 1LL << 40));
  app.add_option("--control-arm", control)->check(Int(0, 65535));
  app.add_option("--sim-seed", sopt.seed)->check(Int(0, 1LL << 40));
  app.add_option("--sim-shoppers", sopt.shoppers)->check(Int(100, 10000000));
  app.add_option("--sim-world", sopt.world)->check(Int(1, 2));
  app.add_option("--sim-days", sopt.days)->check(Int(1, 3650));
  app.add_option("--max-rounds", opt.xgb.max_rounds)->check(Int(1, 100000));
  app.add_option("--threads", opt.threads)->check(Int(1, 256));
  app.add_option("--json", json_path);
  app.add_option("--html", html_path);
  app.add_option("--md", md_path);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    usage_error(e.what());
  }
  if (help) {
    std::cout << kUsage;
    return 0;
  }
  kinds = split_list(kinds_s);
  dirs = split_list(dirs_s);
  targets_given = app.count("--targets") > 0;
  targets = split_list(targets_s);
  if (kinds.empty()) usage_error("--dataset is required");
  if (!dirs.empty() && dirs.size() != kinds.size())
    usage_error("--data names " + std::to_string(dirs.size()) + " folders for " + std::to_string(kinds.size()) + " datasets");
  std::vector<up::LearnerKind> ls;
  for (const auto& s : split_list(learners_s)) {
    up::LearnerKind k;
    if (!up::parse_learner(s, k)) usage_error("--learners: unknown learner '" + s + "' (expected t, s, x, dr, ct)");
    ls.push_back(k);
  }
  std::vector<up::BaseKind> bs;
  for (const auto& s : split_list(bases_s)) {
    up::BaseKind k;
    if (!up::parse_base(s, k)) usage_error("--bases: unknown base '" + s + "' (expected xgb or linear)");
    bs.push_back(k);
  }
  if (ls.empty() || bs.empty()) usage_error("--learners and --bases must name at least one");
  for (auto b : bs)
    for (auto l : ls) opt.learners.push_back({l, b});
  if (targets_given && kinds.size() > 1) usage_error("--targets applies to one dataset at a time");
  try {
    std::vector<up::Comparison> cs;
    up::ReportInfo info;
    info.title = "disco-eval uplift: ";
    for (size_t k = 0; k < kinds.size(); ++k) {
      const std::string& kind = kinds[k];
      info.title += (k ? ", " : "") + kind;
      std::string dir = k < dirs.size() ? dirs[k] : "";
      std::vector<std::string> t = targets;
      std::vector<up::Comparison> part;
      if (kind == "hillstrom") {
        if (dir.empty()) dir = data::data_root() + "/hillstrom";
        if (!targets_given) t = {"visit", "conversion"};
        part = up::hillstrom_comparisons(dir, t);
      } else if (kind == "starbucks" || kind == "starbucks-offers") {
        if (dir.empty()) dir = data::data_root() + "/starbucks-offers";
        if (!targets_given) t = {"completion", "next_completion"};
        part = up::starbucks_comparisons(dir, t);
      } else if (kind == "sim") {
        if (!targets_given) t = {"conversion", "margin"};
        part = up::sim_comparisons(sopt, t);
        dir = "(simulated world " + std::to_string(sopt.world) + ": seed " + std::to_string(sopt.seed) + ", " + std::to_string(sopt.shoppers) + " shoppers, " +
              std::to_string(sopt.days) + " days, uniform logging)";
      } else if (kind == "canonical") {
        if (dir.empty()) usage_error("--data DIR is required for --dataset canonical");
        if (!targets_given) t = {"conversion", "margin"};
        const data::Dataset ds = data::read_canonical(dir);
        part = up::log_comparisons(ds, t, control);
      } else {
        usage_error("--dataset: unknown kind '" + kind + "' (expected hillstrom, starbucks, sim or canonical)");
      }
      info.meta.emplace_back(kind + " data", dir);
      for (auto& c : part) cs.push_back(std::move(c));
    }
    info.meta.emplace_back("splits", std::to_string(opt.splits) + " random 50/50 splits (seeds " +
                                         std::to_string(opt.seed * 1000) + ".." +
                                         std::to_string(opt.seed * 1000 + static_cast<uint64_t>(opt.splits) - 1) +
                                         "), stratified by (arm, outcome > 0), or by whole shopper/customer");
    info.meta.emplace_back("metrics", "scikit-uplift qini_auc_score (negative_effect=True) and uplift_at_k (k=0.3, "
                                      "strategy overall) on the held-out half; PEHE = sqrt(mean (effect - true effect)^2)");
    char eta[32];
    std::snprintf(eta, sizeof eta, "%g", opt.xgb.eta);
    info.meta.emplace_back("xgb", std::string("XGBoost hist, eta ") + eta + ", depth " +
                                      std::to_string(opt.xgb.max_depth) + ", subsample/colsample 0.8, <= " +
                                      std::to_string(opt.xgb.max_rounds) + " rounds with early stopping (30) on 20% "
                                      "of the training half");
    info.meta.emplace_back("linear", "logistic / ridge regression, standardized features, l2 = 1; S-learner with "
                                     "treatment interactions");
    std::cerr << "disco-eval uplift: " << cs.size() << " comparisons x " << opt.learners.size() << " learners x "
              << opt.splits << " splits\n";
    const auto rs = up::run_comparisons(cs, opt);
    std::cout << up::results_text(rs);
    if (!json_path.empty()) {
      write_file(json_path, up::results_json(rs, info));
      std::cout << "wrote " << json_path << "\n";
    }
    if (!md_path.empty()) {
      write_file(md_path, up::results_markdown(rs));
      std::cout << "wrote " << md_path << "\n";
    }
    if (!html_path.empty()) {
      write_file(html_path, up::results_html(rs, info));
      std::cout << "wrote " << html_path << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "disco-eval uplift: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace disco::eval

// disco-eval: fits the baselines on a dataset's training split, evaluates next-item prediction with
// full-catalog ranking on its test split, prints the metrics table and writes report.json/html.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "disco/data/ingest.h"
#include "disco/formats/cli.h"
#include "disco/eval/baselines.h"
#include "disco/eval/protocol.h"
#include "disco/eval/report.h"
#include "ope_cli.h"
#include "timing_cli.h"

namespace {

const char* kUsage =
    "usage: disco-eval --dataset KIND [--data DIR] [options]\n"
    "       disco-eval ope|ab|gate|obp-check ...   (off-policy evaluation, A/B holdout, go-live gate: --help)\n"
    "       disco-eval uplift|timing ...           (discount-response models, purchase timing: --help)\n"
    "\n"
    "Fits baselines on the training split and evaluates next-item prediction (every test event\n"
    "after the first of its session, predicted from the prefix; full ranking over all training\n"
    "items) with HR/MRR/NDCG at 10 and 20. Prints a table and writes report.json + report.html.\n"
    "\n"
    "  --dataset KIND[,..]  yoochoose | completejourney | canonical | cdnow (any disco-ingest\n"
    "                       reader); several, comma-separated, go into one report\n"
    "  --data DIR[,..]      dataset folder(s), one per dataset (default: $DISCO_DATA/yoochoose-100k\n"
    "                       or $DISCO_DATA/completejourney-v2 for those kinds)\n"
    "  --models LIST        comma-separated: pop,iknn,sknn,vsknn,bpr (default: all)\n"
    "  --out DIR            write report.json and report.html there (default: out/eval-KIND)\n"
    "  --max-test N         evaluate only the first N test sessions (default: all)\n"
    "  --ties P             expected | optimistic | pessimistic (default: expected = the mean over a\n"
    "                       random order of tied items, what session-rec's unstable sort gives and\n"
    "                       what reproduces its published figures; optimistic: rank = 1 + number\n"
    "                       of items scored strictly higher); all three are in the notes\n"
    "  --unknown U          drop | miss: test events whose item is not in training are removed\n"
    "                       (session-rec, default) or kept and count as misses\n"
    "  --protocol P         sessions | timeline (default: timeline for completejourney, else\n"
    "                       sessions). sessions: each test session is predicted from its own\n"
    "                       prefix. timeline: each user's events form one sequence; events before\n"
    "                       the cutoff (last --test-frac of events) train, every later event is\n"
    "                       predicted from all of the user's earlier events\n"
    "  --test-frac F        time split: last F of time is test (default 0.1; datasets that ship\n"
    "                       their own split, like yoochoose-100k, use it)\n"
    "  --session-gap-min M  sessionize at inactivity gaps > M minutes (default 30; yoochoose keeps\n"
    "                       its own session ids)\n"
    "  --threads N          score test sessions on N threads (default 1)\n"
    "  --help               this text\n"
    "\n"
    "disco-eval uplift --help: discount-response (uplift) models per arm against no discount.\n"
    "disco-eval timing --help: purchase timing (BG/NBD, Pareto/NBD) on a calibration/holdout split.\n";

std::vector<std::string> split_list(const std::string& s);

struct Args {
  std::string dataset, data, out, models = "pop,iknn,sknn,vsknn,bpr";
  std::vector<std::string> kinds, dirs;  // parsed --dataset / --data lists
  size_t max_test = 0;
  disco::eval::TiePolicy ties = disco::eval::TiePolicy::Expected;
  disco::eval::UnknownItems unknown = disco::eval::UnknownItems::Drop;
  std::string protocol;
  double test_frac = 0.1;
  double gap_min = 30;
  int threads = 1;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "disco-eval: " << msg << "\n(disco-eval --help lists the options)\n";
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  std::string ties = "expected", unknown = "drop";
  CLI::App app{"disco-eval", "disco-eval"};
  app.set_help_flag();  // kUsage is the help
  bool help = false;
  app.add_flag("-h,--help", help);
  app.add_option("--dataset", a.dataset);
  app.add_option("--data", a.data);
  app.add_option("--models", a.models);
  app.add_option("--out", a.out);
  app.add_option("--max-test", a.max_test)->check(disco::cli::Int(0, int64_t{1} << 62));
  app.add_option("--ties", ties)->check([&a](const std::string& v) {
    return disco::eval::parse_tie_policy(v, a.ties) ? std::string() : "expected optimistic, pessimistic or expected, got '" + v + "'";
  });
  app.add_option("--unknown", unknown)->check(CLI::IsMember({"drop", "miss"}));
  app.add_option("--protocol", a.protocol)->check(CLI::IsMember({"sessions", "timeline"}));
  app.add_option("--test-frac", a.test_frac)->check(disco::cli::Real(0, 1, true, true));
  app.add_option("--session-gap-min", a.gap_min)->check(disco::cli::Real(0, 1e9, true));
  app.add_option("--threads", a.threads)->check(disco::cli::Int(1, 256));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    usage_error(e.what());
  }
  if (help) {
    std::cout << kUsage;
    std::exit(0);
  }
  a.unknown = unknown == "miss" ? disco::eval::UnknownItems::Miss : disco::eval::UnknownItems::Drop;
  if (a.dataset.empty()) usage_error("--dataset is required");
  a.kinds = split_list(a.dataset);
  a.dirs = split_list(a.data);
  if (a.kinds.empty()) usage_error("--dataset is empty");
  if (!a.dirs.empty() && a.dirs.size() != a.kinds.size())
    usage_error("--data names " + std::to_string(a.dirs.size()) + " folders for " + std::to_string(a.kinds.size()) +
                " datasets");
  if (a.dirs.empty()) {
    for (const auto& k : a.kinds) {
      if (k == "yoochoose") a.dirs.push_back(disco::data::data_root() + "/yoochoose-100k");
      else if (k == "completejourney") a.dirs.push_back(disco::data::data_root() + "/completejourney-v2");
      else usage_error("--data is required for --dataset " + k);
    }
  }
  if (a.out.empty()) a.out = "out/eval-" + (a.kinds.size() == 1 ? a.kinds[0] : std::string("all"));
  return a;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ','))
    if (!x.empty()) out.push_back(x);
  return out;
}

std::string fmt4(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

}  // namespace

namespace {

using namespace disco;

void run_dataset(const Args& args, const std::string& kind, const std::string& dir, eval::Report& report) {
  std::vector<std::unique_ptr<eval::Recommender>> models;
  for (const auto& m : split_list(args.models)) models.push_back(eval::make_baseline(m));
  if (models.empty()) usage_error("--models is empty");
  const std::string protocol = !args.protocol.empty() ? args.protocol
                               : kind == "completejourney" ? "timeline"
                                                           : "sessions";

  const auto t0 = std::chrono::steady_clock::now();
  data::Dataset ds = data::read_dataset(kind, dir);
  // yoochoose: the shipped session ids are the sessions (session-rec's protocol) -> no gap split.
  const int64_t gap_ms = kind == "yoochoose" ? std::numeric_limits<int64_t>::max() / 4
                                             : static_cast<int64_t>(args.gap_min * 60000.0);
  data::sessionize(ds, gap_ms);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ds.events.empty()) throw std::runtime_error("dataset " + dir + " has no events after cleaning");
  std::cerr << data::summary_text(ds) << "\n";

  data::Split split;
  std::string split_desc;
  std::vector<uint32_t> first_target;
  if (protocol == "timeline") {
    eval::TimelineSplit tl = eval::timeline_split(ds, args.test_frac);
    ds = std::move(tl.ds);
    split.train = std::move(tl.train);
    split.test = std::move(tl.test);
    first_target = std::move(tl.first_target);
    split_desc = "timeline: events before the " + fmt4(1 - args.test_frac) +
                 " time quantile train; each later event predicted from the user's whole history";
  } else if (ds.has_predefined_split) {
    split = ds.predefined_split;
    split_desc = "predefined (the dataset's own train/test files)";
  } else {
    split = data::time_split(ds, 0.0, args.test_frac, false);
    split_desc = "time split by session start: last " + fmt4(args.test_frac) + " of time = test";
  }
  std::vector<uint32_t> train = split.train;
  train.insert(train.end(), split.valid.begin(), split.valid.end());  // baselines need no validation
  if (train.empty()) throw std::runtime_error(kind + ": the training split is empty");
  if (split.test.empty()) throw std::runtime_error(kind + ": the test split is empty");

  eval::TaskOptions topt;
  topt.unknown_items = args.unknown;
  topt.max_test_sessions = args.max_test;
  topt.first_target = first_target;
  const eval::NextItemTask task = eval::build_next_item_task(ds, train, split.test, topt);
  if (task.n_targets == 0) throw std::runtime_error(kind + ": no test predictions to make (test sessions too short?)");

  const std::string p = args.kinds.size() > 1 ? kind + ": " : "";
  report.add_meta(p + "data", dir);
  report.add_meta(p + "protocol", protocol);
  report.add_meta(p + "events / sessions / items", std::to_string(ds.events.size()) + " / " +
                                                       std::to_string(ds.sessions.size()) + " / " +
                                                       std::to_string(ds.items.size()));
  report.add_meta(p + "split", split_desc);
  report.add_meta(p + "train sessions / test sessions used",
                  std::to_string(train.size()) + " / " + std::to_string(task.sequences.size()));
  report.add_meta(p + "candidates (items seen in training)", std::to_string(task.n_candidates));
  report.add_meta(p + "predictions", std::to_string(task.n_targets));
  report.add_meta(p + "test events with unknown items",
                  std::string(eval::to_string(task.unknown_items)) + ": " + std::to_string(task.dropped_unknown_events) +
                      " dropped, " + std::to_string(task.unknown_targets) + " counted as misses");
  report.add_meta(p + "test sessions skipped (< 2 events)", std::to_string(task.skipped_short_sessions));
  report.add_meta(p + "load seconds", fmt4(load_s));
  std::cerr << "eval: " << task.sequences.size() << " test sessions, " << task.n_targets << " predictions, "
            << task.n_candidates << " candidate items\n";

  eval::EvalOptions eopt;
  eopt.threads = args.threads;
  for (auto& m : models) {
    std::cerr << "fit " << m->name() << " ..." << std::flush;
    const auto f0 = std::chrono::steady_clock::now();
    m->fit(ds, train);
    const double fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();
    std::cerr << " " << fmt4(fit_s) << " s; eval ..." << std::flush;
    const eval::NextItemResult r = eval::evaluate_next_item(*m, task, eopt);
    std::cerr << " " << fmt4(r.seconds) << " s\n";
    eval::MetricRow row;
    row.dataset = kind;
    row.model = m->name();
    row.kind = "baseline";
    eval::add_ranking_metrics(row, r.metrics(args.ties));
    row.fit_seconds = fit_s;
    row.eval_seconds = r.seconds;
    std::string note;
    for (auto tp : {eval::TiePolicy::Optimistic, eval::TiePolicy::Expected, eval::TiePolicy::Pessimistic}) {
      const auto mm = r.metrics(tp);
      const auto* at = mm.find(20) ? mm.find(20) : &mm.at.back();
      note += std::string(note.empty() ? "" : "; ") + eval::to_string(tp) + " ties: HR@" + std::to_string(at->k) +
              " " + fmt4(at->hr) + " MRR@" + std::to_string(at->k) + " " + fmt4(at->mrr);
    }
    if (protocol == "sessions" && m->has_propensity()) {
      const eval::PropensityResult pr = eval::evaluate_propensity(*m, ds, split.test, args.max_test);
      if (pr.cases > 0 && pr.positives > 0 && pr.positives < pr.cases) {
        row.set("AUC", pr.auc);
        row.set("logloss", pr.log_loss);
        note += "; propensity: " + std::to_string(pr.cases) + " prefixes, " + std::to_string(pr.positives) +
                " followed by a purchase";
      }
    }
    row.note = note;
    report.add_row(row);
    if (auto* bpr = dynamic_cast<eval::BprMf*>(m.get())) report.add_curve({kind, m->name(), "train_loss", bpr->epoch_loss()});
  }
}

}  // namespace

namespace disco::eval {
int uplift_main(int argc, char** argv);  // uplift_cli.cpp
}

int main(int argc, char** argv) {
  if (argc > 1 && disco::eval::cli::is_subcommand(argv[1])) return disco::eval::cli::run_subcommand(argc - 1, argv + 1);
  if (argc > 1 && std::string(argv[1]) == "uplift") return disco::eval::uplift_main(argc - 1, argv + 1);
  if (argc > 1 && std::string(argv[1]) == "timing") return disco::eval::timing::timing_main(argc - 1, argv + 1);
  const Args args = parse(argc, argv);
  try {
    eval::Report report;
    report.title = "disco-eval: " + args.dataset;
    report.add_meta("ties", std::string(eval::to_string(args.ties)) +
                                (args.ties == eval::TiePolicy::Pessimistic ? " (rank = 1 + #higher + #tied)"
                                 : args.ties == eval::TiePolicy::Expected
                                     ? " (metrics averaged over a uniformly random order of the tied items)"
                                     : " (rank = 1 + #higher)"));
    for (size_t i = 0; i < args.kinds.size(); ++i) run_dataset(args, args.kinds[i], args.dirs[i], report);
    std::cout << report.to_text();
    for (const auto& r : report.rows) std::cout << "  " << r.dataset << " " << r.model << ": " << r.note << "\n";
    report.write(args.out);
    std::cout << "wrote " << args.out << "/report.json and " << args.out << "/report.html\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "disco-eval: error: " << e.what() << "\n";
    return 1;
  }
}

#include "disco/model/pipeline.h"
#include "disco/model/policy_fit.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include "disco/context.h"
#include "disco/data/ingest.h"
#include "disco/disco.h"
#include "disco/eval/baselines.h"
#include "disco/eval/protocol.h"
#include "disco/eval/report.h"
#include "disco/model/export.h"
#include "disco/model/recommenders.h"
#include "disco/model/trainer.h"
#include "disco/sim/arms.h"

namespace disco::model {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int hw_threads(int requested) {
  return requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
}

data::Dataset load_data(const JobOptions& o) {
  if (o.data_dir.empty()) throw TrainError("no data: pass --data DIR (and --kind KIND unless it is canonical CSV)");
  if (!fs::exists(o.data_dir)) throw TrainError(o.data_dir + ": no such file or directory");
  data::IngestOptions io;
  io.max_rows = o.max_rows;
  io.sep = o.sep;
  io.min_item_support = o.min_item_support;
  io.min_session_length = o.min_session_length;
  data::Dataset ds;
  try {
    ds = data::read_dataset(o.data_kind, o.data_dir, io);
  } catch (const data::IngestError& e) {
    throw TrainError(e.what());
  } catch (const std::invalid_argument& e) {
    throw TrainError(e.what());
  }
  if (ds.events.empty())
    throw TrainError(o.data_dir + ": empty dataset: no events left after cleaning (" +
                     std::to_string(ds.quality.rows_read) + " rows read, " +
                     std::to_string(ds.quality.total_dropped()) + " dropped)");
  if (ds.items.size() < 2)
    throw TrainError(o.data_dir + ": the catalog has " + std::to_string(ds.items.size()) +
                     " item; next-item ranking needs at least 2 items");
  return ds;
}

struct Prepared {
  data::Split split;
  std::vector<uint32_t> fit_sessions;  // train + valid: what the baselines and the task's candidates see
  FeatureSpec fs;
  Sequences train, valid;
  ModelDims dims;
};

Prepared prepare(const data::Dataset& ds, const JobOptions& o) {
  Prepared p;
  try {
    p.split = o.test_days > 0 && !ds.has_predefined_split ? data::time_split_days(ds, o.valid_days, o.test_days)
                                                           : data::time_split(ds, o.valid_frac, o.test_frac, true);
  } catch (const data::IngestError& e) {
    throw TrainError(e.what());
  }
  if (p.split.train.empty()) throw TrainError("the time split left no training sessions (dataset too small?)");
  if (p.split.test.empty()) throw TrainError("the time split left no test sessions (dataset too small?)");
  p.fit_sessions = p.split.train;
  p.fit_sessions.insert(p.fit_sessions.end(), p.split.valid.begin(), p.split.valid.end());
  std::sort(p.fit_sessions.begin(), p.fit_sessions.end());
  const TrainConfig& c = o.train;
  p.fs = {c.price_buckets, c.gap_buckets};
  p.train = build_sequences(ds, p.split.train, p.fs, c.max_len);
  p.valid = build_sequences(ds, p.split.valid, p.fs, c.max_len);
  if (p.train.size() == 0)
    throw TrainError("no training sequences: none of the " + std::to_string(p.split.train.size()) +
                     " training sessions has 2 or more events");
  p.dims.n_items = int(ds.items.size());
  p.dims.emb_dim = c.emb_dim;
  p.dims.hidden = c.hidden;
  p.dims.layers = c.layers;
  p.dims.num_types = data::kNumEventTypes;
  p.dims.price_buckets = c.price_buckets;
  p.dims.gap_buckets = c.gap_buckets;
  return p;
}

std::string model_version(const data::Dataset& ds, const JobOptions& o) {
  if (!o.model_version.empty()) return o.model_version;
  return "disco-lstm-" + (ds.name.empty() ? o.data_kind : ds.name) + "-d" + std::to_string(o.train.emb_dim) + "-h" +
         std::to_string(o.train.hidden) + "-s" + std::to_string(o.train.seed);
}

std::vector<float> catalog_prices(const data::Dataset& ds) {
  std::vector<float> p;
  for (const auto& it : ds.items) p.push_back(it.price);
  return p;
}

// Items that never occur in the training sequences (true cold start).
std::vector<uint8_t> untrained_items(const Prepared& p) {
  std::vector<uint8_t> cold(size_t(p.dims.n_items), 1);
  for (int32_t i : p.train.item) cold[size_t(i)] = 0;
  return cold;
}

struct EvalOutputs {
  eval::Report report;
  double max_abs_err = NAN, mean_abs_err = NAN, max_abs_score = NAN, float_ref_err = NAN;
  size_t ref_positions = 0;
  // positions where some untrained item scores at or above some trained item: float / runtime
  size_t cold_above_float = 0, cold_above_runtime = 0, cold_positions = 0;
  // runtime vs LibTorch at positions after an untrained item as input (not in max/mean_abs_err)
  size_t after_cold_positions = 0;
  double after_cold_max_err = 0;
};

// The float model vs the LibTorch forward pass and vs the runtime's int8 pass, on the first
// sessions of the test split: max |score difference| over every item and position.
void reference_check(const ModelWeights& w, const data::Dataset& ds, const Prepared& p, const JobOptions& o,
                     const RuntimeRecommender* rt, EvalOutputs& out) {
  std::vector<uint32_t> ids(p.split.test.begin(),
                            p.split.test.begin() + long(std::min(p.split.test.size(), o.reference_sessions)));
  const Sequences seqs = build_sequences(ds, ids, p.fs, 1 << 30);
  // over trained items: untrained ones score far below them by design (demote_untrained)
  const std::vector<uint8_t> cold = untrained_items(p);
  auto cold_outranks = [&](const float* sc) -> size_t {
    float max_cold = -INFINITY, min_trained = INFINITY;
    for (size_t j = 0; j < cold.size(); ++j)
      (cold[j] ? max_cold = std::max(max_cold, sc[j]) : min_trained = std::min(min_trained, sc[j]));
    return max_cold >= min_trained ? 1 : 0;
  };
  std::vector<float> ref, prop;
  torch_reference_scores(w, seqs, seqs.size(), ref, prop);
  const size_t n = size_t(w.dims.n_items);
  double fmax = 0, imax = 0, isum = 0, smax = 0;
  size_t cnt = 0;
  std::vector<float> f(n), q(n);
  for (size_t s = 0; s < seqs.size(); ++s) {
    const int64_t o0 = seqs.offsets[s];
    const int64_t L = seqs.length(s);
    std::vector<uint32_t> items;
    std::vector<uint8_t> types;
    for (int64_t t = 0; t < L; ++t) items.push_back(uint32_t(seqs.item[size_t(o0 + t)])), types.push_back(seqs.type[size_t(o0 + t)]);
    FloatSession fsess(w);
    for (int64_t t = 0; t < L; ++t) {
      fsess.observe(int(items[size_t(t)]), types[size_t(t)], seqs.pbucket[size_t(o0 + t)], seqs.gbucket[size_t(o0 + t)]);
      fsess.score_all(f.data());
      const float* r = ref.data() + size_t(o0 + t) * n;
      out.cold_above_float += cold_outranks(f.data());
      ++out.cold_positions;
      for (size_t j = 0; j < n; ++j) {
        if (cold[j]) continue;
        fmax = std::max(fmax, double(std::fabs(f[j] - r[j])));
        smax = std::max(smax, double(std::fabs(r[j])));
      }
    }
    if (rt) {
      // runtime: prefixes 1..L (scores after observing events 0..t)
      std::vector<uint32_t> it2 = items;
      std::vector<uint8_t> ty2 = types;
      it2.push_back(items.back());
      ty2.push_back(types.back());
      // first position whose prefix holds an untrained item: from there on the runtime's int8
      // input rounds the type embedding to 0 next to the bias (demote_untrained), the float
      // model keeps it; those positions are measured apart
      size_t first_cold = items.size();
      for (size_t t = 0; t < items.size(); ++t)
        if (cold[items[t]]) {
          first_cold = t;
          break;
        }
      rt->score_prefixes(it2, ty2, 1, q, [&](size_t t, std::span<const float> sc) {
        const float* r = ref.data() + size_t(o0 + int64_t(t) - 1) * n;
        out.cold_above_runtime += cold_outranks(sc.data());
        const bool after_cold = t - 1 >= first_cold;
        out.after_cold_positions += after_cold;
        for (size_t j = 0; j < n; ++j) {
          if (cold[j]) continue;
          const double e = std::fabs(double(sc[j]) - double(r[j]));
          if (after_cold) {
            out.after_cold_max_err = std::max(out.after_cold_max_err, e);
            continue;
          }
          imax = std::max(imax, e);
          isum += e;
          ++cnt;
        }
      });
    }
  }
  out.float_ref_err = fmax;
  out.max_abs_score = smax;
  out.ref_positions = size_t(seqs.positions());
  if (rt && cnt) {
    out.max_abs_err = imax;
    out.mean_abs_err = isum / double(cnt);
  }
}

eval::MetricRow ranking_row(const std::string& dataset, const std::string& model, const std::string& kind,
                            const eval::NextItemResult& r, double fit_s) {
  eval::MetricRow row;
  row.dataset = dataset;
  row.model = model;
  row.kind = kind;
  eval::add_ranking_metrics(row, r.metrics(eval::TiePolicy::Expected));
  row.cases = r.acc.cases();
  row.fit_seconds = fit_s;
  row.eval_seconds = r.seconds;
  return row;
}

// Next-item metrics restricted to test targets that are held-back items (same metric code).
eval::RankingMetrics held_back_metrics(const eval::Recommender& m, const eval::NextItemTask& task,
                                       const std::vector<uint8_t>& held) {
  eval::RankingAccumulator acc({10, 20});
  std::vector<float> scratch(task.candidate.size());
  for (const auto& s : task.sequences) {
    bool any = false;
    for (size_t t = 1; t < s.items.size(); ++t) any |= held[s.items[t]] != 0;
    if (!any) continue;
    m.score_prefixes(s.items, s.types, 1, scratch, [&](size_t t, std::span<const float> sc) {
      if (held[s.items[t]] && task.candidate[s.items[t]]) acc.add(eval::rank_of(sc, s.items[t], task.candidate));
    });
  }
  return acc.result(eval::TiePolicy::Expected);
}

void print_line(const std::string& s) {
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
}

// Evaluates everything on the test split and writes OUT/report.{json,html}. Returns the metric
// list stored in the bundle.
std::vector<std::pair<std::string, double>> evaluate_all(const data::Dataset& ds, const Prepared& p, const JobOptions& o,
                                                         const ModelWeights& w, const std::vector<uint8_t>& cold,
                                                         const std::vector<uint8_t>& bundle8,
                                                         const std::vector<uint8_t>& bundle4, const TrainResult* tr) {
  const std::string dsname = ds.name.empty() ? o.data_kind : ds.name;
  eval::Report rep;
  rep.title = "disco-train: " + dsname;
  rep.add_meta("data", o.data_kind + " " + o.data_dir);
  rep.add_meta("dataset", data::summary_text(ds));
  rep.add_meta("split", std::to_string(p.split.train.size()) + " train / " + std::to_string(p.split.valid.size()) +
                            " valid / " + std::to_string(p.split.test.size()) +
                            " test sessions (time-based" + (ds.has_predefined_split ? ", the dataset's own train/test" : "") + ")");
  rep.add_meta("protocol",
               "every test event after the first of its session is predicted from its prefix; full ranking over "
               "all items seen in train+valid; test events of unseen items dropped (session-rec); ties: expected "
               "rank. Baselines fit on train+valid; the LSTM trains on train and early-stops on valid.");
  char cfgline[256];
  std::snprintf(cfgline, sizeof cfgline, "d=%d h=%d layers=%d batch=%d lr=%g epochs=%d seed=%llu", o.train.emb_dim,
                o.train.hidden, o.train.layers, o.train.batch_size, o.train.lr, o.train.epochs,
                (unsigned long long)o.train.seed);
  rep.add_meta("model", cfgline);

  eval::TaskOptions to;
  to.max_test_sessions = size_t(o.max_test_sessions);
  const eval::NextItemTask task = eval::build_next_item_task(ds, p.fit_sessions, p.split.test, to);
  rep.add_meta("test cases", std::to_string(task.n_targets) + " predictions over " +
                                 std::to_string(task.sequences.size()) + " sessions, " +
                                 std::to_string(task.n_candidates) + " candidate items");
  eval::EvalOptions eo;
  eo.threads = hw_threads(o.eval_threads > 0 ? o.eval_threads : o.train.threads);
  std::vector<std::pair<std::string, double>> metrics;

  auto run_model = [&](const eval::Recommender& m, const std::string& kind, double fit_s) -> eval::MetricRow& {
    print_line("  evaluating " + m.name() + " ...");
    const auto r = eval::evaluate_next_item(m, task, eo);
    auto& row = rep.add_row(ranking_row(dsname, m.name(), kind, r, fit_s));
    if (m.has_propensity()) {
      const auto pr = eval::evaluate_propensity(m, ds, p.split.test, size_t(o.max_test_sessions));
      if (pr.positives > 0 && pr.positives < pr.cases) {
        row.set("AUC", pr.auc);
        row.set("LogLoss", pr.log_loss);
      } else {
        row.note = "propensity: no purchase labels in the test split";
      }
    }
    return row;
  };

  // baselines
  for (const auto& name : o.baselines) {
    auto b = eval::make_baseline(name);
    const auto t0 = Clock::now();
    print_line("  fitting " + name + " ...");
    b->fit(ds, p.fit_sessions);
    run_model(*b, "baseline", since(t0));
  }
  // LSTM float
  auto wf = std::make_shared<const ModelWeights>(w);
  const LstmRecommender lf("lstm", wf, catalog_prices(ds));
  auto& frow = run_model(lf, "model", tr ? tr->train_seconds : 0.0);
  if (tr) frow.note = "best epoch " + std::to_string(tr->best_epoch) + " of " + std::to_string(tr->history.size()) +
                      (tr->early_stopped ? " (early stop)" : "");
  // int8 weights, float activations (weight-quantization cost alone)
  auto w8 = std::make_shared<const ModelWeights>(dequantized_copy(w, false));
  run_model(LstmRecommender("lstm-int8w", w8, catalog_prices(ds)), "model", 0.0).note =
      "int8 weights dequantized, float activations";
  if (o.int4) {
    auto w4 = std::make_shared<const ModelWeights>(dequantized_copy(w, true));
    run_model(LstmRecommender("lstm-int4w", w4, catalog_prices(ds)), "model", 0.0).note =
        "item_emb int4 + int8 matrices dequantized, float activations";
  }
  // the real int8 inference: the exported bundle through the runtime
  EvalOutputs ref;
  std::unique_ptr<RuntimeRecommender> rt8, rt4;
  if (o.runtime_int8) {
    try {
      rt8 = std::make_unique<RuntimeRecommender>("lstm-int8", bundle8, 32);
      auto& r8 = run_model(*rt8, "model", 0.0);
      r8.note = "bundle.disco through the runtime (int8 activations + weights); ranks from disco_recommend top-32";
      if (o.int4 && !bundle4.empty()) {
        rt4 = std::make_unique<RuntimeRecommender>("lstm-int4", bundle4, 32);
        run_model(*rt4, "model", 0.0).note = "bundle-int4.disco through the runtime";
      }
    } catch (const TrainError& e) {
      print_line(std::string("  runtime int8 evaluation skipped: ") + e.what());
      rep.add_meta("runtime int8", std::string("not evaluated: ") + e.what());
      rt8.reset();
      rt4.reset();
    }
  }
  std::unique_ptr<RuntimeRecommender> rt_full;
  if (rt8) rt_full = std::make_unique<RuntimeRecommender>("lstm-int8-full", bundle8, 0);
  reference_check(w, ds, p, o, rt_full.get(), ref);
  auto add_pair = [&](const std::string& qm, const std::string& what) {
    eval::QuantPair q;
    q.dataset = dsname;
    q.float_model = "lstm";
    q.quant_model = qm;
    q.extra["float_vs_libtorch_max_abs_score_error"] = ref.float_ref_err;
    if (qm == "lstm-int8" && std::isfinite(ref.max_abs_err)) {
      q.extra["max_abs_score_error_vs_libtorch"] = ref.max_abs_err;
      q.extra["mean_abs_score_error_vs_libtorch"] = ref.mean_abs_err;
      q.extra["max_abs_libtorch_score"] = ref.max_abs_score;
      q.extra["reference_positions"] = double(ref.ref_positions);
    }
    if (what == "8") q.extra["bundle_bytes"] = double(bundle8.size());
    if (what == "4") q.extra["bundle_bytes"] = double(bundle4.size());
    rep.add_quant_pair(q);
  };
  if (!bundle8.empty()) add_pair("lstm-int8w", "8");
  if (o.int4) add_pair("lstm-int4w", "4");
  if (rt8) add_pair("lstm-int8", "8");
  if (rt4) add_pair("lstm-int4", "4");

  // cold start: held-back trained items ranked with their cold-start embedding
  if (o.cold_holdout > 0) {
    std::vector<uint32_t> trained;
    for (int i = 0; i < w.dims.n_items; ++i)
      if (!cold[size_t(i)]) trained.push_back(uint32_t(i));
    std::mt19937_64 rng(o.train.seed + 77);
    std::vector<uint8_t> held(size_t(w.dims.n_items), 0);
    const size_t k = size_t(std::llround(double(trained.size()) * o.cold_holdout));
    for (size_t i = 0; i < k && !trained.empty(); ++i) {
      const size_t j = i + size_t(rng() % (trained.size() - i));
      std::swap(trained[i], trained[j]);
      held[trained[i]] = 1;
    }
    std::vector<uint8_t> cold2 = cold;
    for (size_t i = 0; i < held.size(); ++i) cold2[i] |= held[i];
    ModelWeights wc = w;
    apply_cold_start(wc, ds, cold2);
    for (int i = 0; i < w.dims.n_items; ++i)  // untrained items keep their demoted rows (demote_untrained)
      if (cold[size_t(i)]) std::copy(w.item_emb.row(i), w.item_emb.row(i) + w.dims.emb_dim, wc.item_emb.row(i));
    auto wcp = std::make_shared<const ModelWeights>(std::move(wc));
    const LstmRecommender lc("lstm-coldstart", wcp, catalog_prices(ds));
    const std::string cds = dsname + " (held-back items)";
    struct M { const eval::Recommender* m; const char* name; const char* note; };
    const M ms[] = {{&lf, "lstm", "trained embeddings (upper bound)"},
                    {&lc, "lstm-coldstart", "held-back items get category/brand-mean embeddings"}};
    for (const auto& x : ms) {
      const auto t0 = Clock::now();
      const auto rm = held_back_metrics(*x.m, task, held);
      eval::MetricRow row;
      row.dataset = cds;
      row.model = x.name;
      row.kind = "model";
      eval::add_ranking_metrics(row, rm);
      row.cases = rm.cases;
      row.eval_seconds = since(t0);
      char rnd[96];
      std::snprintf(rnd, sizeof rnd, "; random ranking would give HR@20 %.4f", 20.0 / double(std::max<uint64_t>(1, task.n_candidates)));
      row.note = std::string(x.note) + "; " + std::to_string(k) + " of the trained items held back" + rnd;
      rep.add_row(row);
    }
  }
  // training curves
  if (tr) {
    eval::Curve tl{dsname, "lstm", "train_loss", {}}, vl{dsname, "lstm", "valid_loss", {}},
        vh{dsname, "lstm", "valid_HR@20", {}}, vm{dsname, "lstm", "valid_MRR@20", {}};
    for (const auto& e : tr->history) {
      tl.y.push_back(e.train_loss);
      vl.y.push_back(e.val_loss);
      vh.y.push_back(e.val_hr20);
      vm.y.push_back(e.val_mrr20);
    }
    rep.add_curve(tl);
    if (p.valid.size()) {
      rep.add_curve(vl);
      rep.add_curve(vh);
      rep.add_curve(vm);
    }
    char b[200];
    std::snprintf(b, sizeof b, "%s, %lld steps, %.0f events/s, %.1f s, best epoch %d%s", tr->device.c_str(),
                  (long long)tr->steps, tr->events_per_s, tr->train_seconds, tr->best_epoch,
                  tr->resumed ? " (resumed from a checkpoint)" : "");
    rep.add_meta("training", b);
  }
  if (!bundle8.empty()) {
    // model tensors vs catalog + metadata
    const uint64_t n = uint64_t(w.dims.n_items), d = uint64_t(w.dims.emb_dim), h = uint64_t(w.dims.hidden);
    const uint64_t mats = 4 * h * d + 4 * h * h + d * h + (4 * h + 4 * h + d) * 4;  // int8 + scales
    const uint64_t small = (uint64_t(w.dims.num_types + w.dims.price_buckets + w.dims.gap_buckets) * d + 4 * h + d + h + 1) * 4;
    const uint64_t e8 = n * d + 4 * n, e4 = n * ((d + 1) / 2) + 4 * n;
    char b[300];
    std::snprintf(b, sizeof b,
                  "item_emb %llu bytes int8 (%llu int4), LSTM + heads %llu bytes; the rest of bundle.disco (%llu bytes) "
                  "is the catalog (ids, category, brand, price, cost, stock, cold-start flags) and metadata",
                  (unsigned long long)e8, (unsigned long long)e4, (unsigned long long)(mats + small),
                  (unsigned long long)(bundle8.size() > e8 + mats + small ? bundle8.size() - e8 - mats - small : 0));
    rep.add_meta("bundle breakdown", b);
  }
  if (!bundle8.empty()) rep.add_meta("bundle", "bundle.disco " + std::to_string(bundle8.size()) + " bytes (int8)" +
                             (bundle4.empty() ? "" : ", bundle-int4.disco " + std::to_string(bundle4.size()) + " bytes"));
  {
    uint64_t n_cold = 0;
    for (uint8_t c : cold) n_cold += c;
    char b[300];
    std::snprintf(b, sizeof b,
                  "%llu untrained catalog items; positions where one scores at or above a trained item: %zu of %zu "
                  "(float), %zu (runtime int8)",
                  (unsigned long long)n_cold, ref.cold_above_float, ref.cold_positions, ref.cold_above_runtime);
    rep.add_meta("untrained items", b);
    print_line(std::string("untrained items: ") + b);
  }
  if (std::isfinite(ref.max_abs_err)) {
    char b[400];
    std::snprintf(b, sizeof b, "runtime int8 vs LibTorch float: max |score error| %.4g, mean %.4g (scores up to %.3g) over %zu positions "
                  "(trained items; %zu positions after an untrained item as input apart: max %.4g); C++ float vs LibTorch: %.3g",
                  ref.max_abs_err, ref.mean_abs_err, ref.max_abs_score, ref.ref_positions - ref.after_cold_positions,
                  ref.after_cold_positions, ref.after_cold_max_err, ref.float_ref_err);
    rep.add_meta("int8 reference check", b);
  }
  // NDCG@10 relative cost of quantization
  const double* f10 = nullptr;
  for (const auto& r : rep.rows)
    if (r.dataset == dsname && r.model == "lstm") f10 = r.get("NDCG@10");
  for (const char* qm : {"lstm-int8w", "lstm-int4w", "lstm-int8", "lstm-int4"}) {
    for (const auto& r : rep.rows) {
      if (r.dataset != dsname || r.model != qm || !f10) continue;
      const double* q10 = r.get("NDCG@10");
      if (!q10 || *f10 <= 0) continue;
      char b[160];
      std::snprintf(b, sizeof b, "NDCG@10 %.4f vs float %.4f: %+.2f%% relative", *q10, *f10, 100.0 * (*q10 - *f10) / *f10);
      rep.add_meta(std::string("quantization cost ") + qm, b);
    }
  }
  // bundle metrics: the float and int8 rows
  for (const auto& r : rep.rows) {
    if (r.dataset != dsname) continue;
    if (r.model != "lstm" && r.model != "lstm-int8" && r.model != "lstm-int8w") continue;
    for (const char* mname : {"HR@20", "MRR@20", "NDCG@10", "AUC", "LogLoss"})
      if (const double* v = r.get(mname)) metrics.emplace_back(r.model + "/" + mname, *v);
  }
  if (std::isfinite(ref.max_abs_err)) metrics.emplace_back("int8_max_abs_score_error", ref.max_abs_err);

  rep.write(o.out_dir);
  std::printf("\n%s", rep.to_text().c_str());
  for (const auto& v : rep.verdicts()) print_line(v);
  return metrics;
}

// The check before export: the model against popularity and random ranking on the validation
// split (the targets and full ranking of the training loop's validation), and the training loss
// against ln(#items), the loss of a uniform guess.
struct Gate {
  bool pass = true;
  bool checked = false;
  std::string line;  // "verdict: ..."
};

Gate validation_gate(const Prepared& p, const TrainResult& tr, const JobOptions& o) {
  Gate g;
  const int n = p.dims.n_items;
  const double uniform = std::log(double(n));
  const EpochStats* best = nullptr;
  for (const auto& e : tr.history)
    if (e.epoch == tr.best_epoch) best = &e;
  const EpochStats* last = tr.history.empty() ? nullptr : &tr.history.back();
  std::vector<std::string> why;
  char b[400];
  // a loss stuck at the uniform guess: the model did not learn (full softmax only: the sampled
  // loss is not over all items)
  if (last && !tr.sampled_softmax && std::isfinite(last->train_next_loss) && last->train_next_loss >= 0.98 * uniform) {
    std::snprintf(b, sizeof b, "the training loss %.4f stayed at ln(%d items) = %.4f (a uniform guess): the model did not learn",
                  last->train_next_loss, n, uniform);
    why.push_back(b);
  }
  std::string figures;
  if (best && p.valid.size() > 0 && std::isfinite(best->val_hr20)) {
    // popularity on the same validation targets: train counts, expected rank on ties
    std::vector<uint64_t> cnt(size_t(n), 0);
    for (int32_t i : p.train.item) ++cnt[size_t(i)];
    std::vector<uint64_t> sorted = cnt;
    std::sort(sorted.begin(), sorted.end());
    double hr = 0, mrr = 0;
    uint64_t cases = 0;
    for (size_t s = 0; s < p.valid.size(); ++s) {
      const int64_t o0 = p.valid.offsets[s], L = p.valid.length(s);
      for (int64_t t = 1; t < L; ++t) {
        const uint64_t c = cnt[size_t(p.valid.item[size_t(o0 + t)])];
        const auto lo = std::lower_bound(sorted.begin(), sorted.end(), c), hi = std::upper_bound(sorted.begin(), sorted.end(), c);
        const double greater = double(sorted.end() - hi), ties = double(hi - lo) - 1;
        const double rank = greater + 1 + ties / 2;
        if (rank <= 20) hr += 1, mrr += 1 / rank;
        ++cases;
      }
    }
    const double pop_hr = cases ? hr / double(cases) : 0, pop_mrr = cases ? mrr / double(cases) : 0;
    const double rnd = std::min(1.0, 20.0 / double(n));
    g.checked = true;
    std::snprintf(b, sizeof b, "lstm (best epoch %d) valid HR@20 %.4f MRR@20 %.4f vs popularity %.4f / %.4f, random HR@20 %.4f",
                  tr.best_epoch, best->val_hr20, best->val_mrr20, pop_hr, pop_mrr, rnd);
    figures = b;
    if (best->val_hr20 <= rnd) why.push_back("HR@20 not above random ranking");
    else if (best->val_hr20 < pop_hr) why.push_back("HR@20 below popularity");
  } else {
    figures = tr.history.empty() ? "no epoch finished: the model was not compared with popularity"
                                 : "no validation split: the model was not compared with popularity";
  }
  g.pass = why.empty();
  std::string reasons;
  for (size_t i = 0; i < why.size(); ++i) reasons += (i ? "; " : "") + why[i];
  // a run cut short by --max-steps (benchmarks, the loop's bounded retrain, which its own gate
  // judges) is reported, not refused
  const bool bounded = o.train.max_steps >= 0 && tr.steps >= o.train.max_steps;
  if (!g.pass && bounded) {
    g.pass = true;
    g.line = "verdict (not enforced: the run was bounded by --max-steps " + std::to_string(o.train.max_steps) + "): " +
             reasons + " (" + figures + ")";
    return g;
  }
  if (g.pass)
    g.line = "verdict: " + figures + (g.checked ? ": beats popularity and random" : "");
  else if (o.force)
    g.line = "verdict: EXPORTED ANYWAY (--force): " + reasons + " (" + figures + ")";
  else
    g.line = "verdict: NOT EXPORTED: " + reasons + " (" + figures +
             "). No bundle written; try more epochs or another --lr, or pass --force to export it anyway";
  return g;
}

void print_training_summary(const TrainResult& r) {
  std::printf("trained on %s: %lld steps, %.0f events/s, %.1f s; best epoch %d%s%s\n", r.device.c_str(),
              (long long)r.steps, r.events_per_s, r.train_seconds, r.best_epoch, r.early_stopped ? " (early stop)" : "",
              r.resumed ? " (resumed from a checkpoint)" : "");
}

// --bandit-prior / --noise-scale, checked before any data is read or any model trained.
void load_bandit_options(const JobOptions& o, ExportOptions& eo) {
  if (!o.policy.empty()) {
    eo.offer_policy = load_offer_policy(o.policy);
    if (eo.offer_policy.has_budget && o.budget != 0)
      throw TrainError("--budget and " + o.policy + " ($.guardrails.budget) both set the discount budget; keep one");
  }
  if (o.noise_scale != 0 && !(o.noise_scale > 0 && std::isfinite(o.noise_scale)))
    throw TrainError("--noise-scale must be a finite number > 0, got " + std::to_string(o.noise_scale));
  eo.noise_scale = o.noise_scale;
  if (!o.bandit_prior.empty() && !o.policy_fit.empty())
    throw TrainError("--bandit-prior and --policy-fit both give the bandit's warm start: pass one");
  // the bundle's arms: the policy file's, else the default six
  const uint32_t n_arms = uint32_t(eo.offer_policy.arms.empty() ? sim::kArms.size() : eo.offer_policy.arms.size());
  if (!o.bandit_prior.empty()) eo.bandit_prior = read_bandit_prior(o.bandit_prior, n_arms, kContextDim);
  if (!o.policy_fit.empty()) {
    PolicyFitFile pf = read_policy_fit(o.policy_fit, n_arms, kContextDim);
    eo.bandit_prior = std::move(pf.prior);
    if (eo.noise_scale == 0) eo.noise_scale = pf.noise_scale;  // an explicit --noise-scale wins
    eo.choice_pessimism = pf.choice_pessimism;
    eo.value_model = std::move(pf.value_model);
  }
}

ExportOptions export_options(const data::Dataset& ds, const JobOptions& o, const std::vector<uint8_t>& cold) {
  ExportOptions eo;
  load_bandit_options(o, eo);
  eo.model_version = model_version(ds, o);
  eo.private_key_pem_path = o.key;
  eo.source = o.data_kind + ":" + (ds.name.empty() ? o.data_dir : ds.name);
  eo.cold_start = cold;
  eo.budget_per_period = float(o.budget);
  eo.budget_mode = uint8_t(o.budget_mode);
  eo.budget_dual_rate = float(o.budget_dual_rate);
  return eo;
}

int guarded(const char* what, const std::function<int()>& f) {
  try {
    return f();
  } catch (const TrainError& e) {
    std::fprintf(stderr, "disco-train %s: error: %s\n", what, e.what());
  } catch (const data::IngestError& e) {
    std::fprintf(stderr, "disco-train %s: error: %s\n", what, e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "disco-train %s: error: %s\n", what, e.what());
  }
  return 1;
}

}  // namespace

int run_train_job(const JobOptions& o) {
  return guarded("train", [&] {
    const auto t0 = Clock::now();
    std::error_code ec;
    fs::create_directories(o.out_dir, ec);
    if (ec) throw TrainError(o.out_dir + ": cannot create output folder: " + ec.message());
    if (!o.key.empty() && !fs::exists(o.key))
      throw TrainError(o.key + ": private key not found (create one with: disco-train keygen --out DIR)");
    {
      ExportOptions check;
      load_bandit_options(o, check);  // a bad prior or policy file fails now, not after training
    }
    print_line("== data: " + o.data_kind + " " + o.data_dir);
    const data::Dataset ds = load_data(o);
    print_line(data::summary_text(ds));
    if (ds.quality.total_dropped() > 0 || !ds.quality.warnings.empty()) print_line(ds.quality.to_text());
    const Prepared p = prepare(ds, o);
    std::printf("sequences: %zu train (%lld events), %zu valid; catalog %d items\n", p.train.size(),
                (long long)p.train.positions(), p.valid.size(), p.dims.n_items);
    print_line("== train (checkpoints in " + (fs::path(o.out_dir) / "checkpoints").string() + ")");
    TrainInputs in;
    in.train = &p.train;
    in.valid = &p.valid;
    in.dims = p.dims;
    in.checkpoint_dir = (fs::path(o.out_dir) / "checkpoints").string();
    const TrainResult tr = train(in, o.train);
    if (const DistSettings dset = resolve_dist(o.train); dset.rank != 0) {
      // data parallel: rank 0 evaluates and writes model.bin, the report and the bundle
      std::printf("rank %d of %d: training done (%lld steps); rank 0 writes the model, report and bundle\n", dset.rank,
                  dset.world_size, (long long)tr.steps);
      return 0;
    }
    print_training_summary(tr);
    const Gate gate = validation_gate(p, tr, o);
    print_line(gate.line);
    ModelWeights w = tr.weights;
    const std::vector<uint8_t> cold = untrained_items(p);
    const ColdStartStats cs = apply_cold_start(w, ds, cold);
    std::printf("cold start: %llu untrained catalog items got an embedding (%llu by category, %llu by brand, %llu global mean)\n",
                (unsigned long long)cs.items, (unsigned long long)cs.by_category, (unsigned long long)cs.by_brand,
                (unsigned long long)cs.by_global);
    const DemoteStats dm = o.demote_untrained ? demote_untrained(w, cold) : DemoteStats{};
    if (dm.items)
      std::printf("untrained items ranked below every trained one: %llu items, bias dimension (d = %d): c = %.4g, "
                  "bias %.4g, |trained score| <= %.4g\n",
                  (unsigned long long)dm.items, w.dims.emb_dim, dm.c, dm.bias, dm.bound);
    w.save((fs::path(o.out_dir) / "model.bin").string());
    if (!gate.pass && !o.force) {
      // evaluate (report.json says how far off it is), write no bundle, exit 3
      print_line("== evaluate (test split); no bundle: the model did not pass the validation check");
      JobOptions o1 = o;
      o1.runtime_int8 = false;
      o1.int4 = false;
      evaluate_all(ds, p, o1, w, cold, {}, {}, &tr);
      std::printf("report: %s/report.json, %s/report.html (no bundle written)\n", o.out_dir.c_str(), o.out_dir.c_str());
      print_line(gate.line);
      return 3;
    }
    if (w.dims.layers != 1) {
      // The bundle format and the runtime run 1 layer: evaluate the float model, write no bundle.
      print_line("== evaluate (test split); no bundle: export supports 1 LSTM layer, this model has " +
                 std::to_string(w.dims.layers));
      JobOptions o1 = o;
      o1.runtime_int8 = false;
      o1.int4 = false;
      evaluate_all(ds, p, o1, w, cold, {}, {}, &tr);
      std::printf("report: %s/report.json, %s/report.html (no bundle written)\n", o.out_dir.c_str(), o.out_dir.c_str());
      return 0;
    }
    print_line("== export");
    ExportOptions eo = export_options(ds, o, cold);
    eo.created_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    std::vector<uint8_t> b8 = export_bundle(w, ds, eo), b4;
    if (o.int4) {
      ExportOptions e4 = eo;
      e4.item_int4 = true;
      e4.model_version += "-int4";
      b4 = export_bundle(w, ds, e4);
    }
    print_line("== evaluate (test split)");
    const auto metrics = evaluate_all(ds, p, o, w, cold, b8, b4, &tr);
    // final bundles carry the metrics
    eo.metrics = metrics;
    b8 = export_bundle(w, ds, eo);
    const std::string path8 = (fs::path(o.out_dir) / "bundle.disco").string();
    write_file(path8, b8);
    std::string path4;
    if (o.int4) {
      ExportOptions e4 = eo;
      e4.item_int4 = true;
      e4.model_version += "-int4";
      b4 = export_bundle(w, ds, e4);
      path4 = (fs::path(o.out_dir) / "bundle-int4.disco").string();
      write_file(path4, b4);
    }
    std::printf("\nbundle: %s (%zu bytes, int8%s)%s\n", path8.c_str(), b8.size(), o.key.empty() ? ", UNSIGNED" : ", signed",
                path4.empty() ? "" : ("\n        " + path4 + " (" + std::to_string(b4.size()) + " bytes, item_emb int4)").c_str());
    std::printf("report: %s/report.json, %s/report.html\n", o.out_dir.c_str(), o.out_dir.c_str());
    std::printf("total %.1f s\n", since(t0));
    print_line(gate.line);
    return 0;
  });
}

int run_eval_job(const JobOptions& o) {
  return guarded("eval", [&] {
    const std::string mf = o.model_file.empty() ? (fs::path(o.out_dir) / "model.bin").string() : o.model_file;
    const ModelWeights w = ModelWeights::load(mf);
    const data::Dataset ds = load_data(o);
    const Prepared p = prepare(ds, o);
    if (w.dims.n_items != p.dims.n_items)
      throw TrainError(mf + ": the model has " + std::to_string(w.dims.n_items) + " items, the data " +
                       std::to_string(p.dims.n_items) + " (trained on other data?)");
    JobOptions o2 = o;
    o2.train.price_buckets = w.dims.price_buckets;
    o2.train.gap_buckets = w.dims.gap_buckets;
    const std::vector<uint8_t> cold = untrained_items(p);
    ExportOptions eo = export_options(ds, o2, cold);
    std::vector<uint8_t> b8, b4;
    if (w.dims.layers == 1) {
      b8 = export_bundle(w, ds, eo);
      if (o.int4) {
        eo.item_int4 = true;
        b4 = export_bundle(w, ds, eo);
      }
    } else {
      o2.runtime_int8 = false;
    }
    evaluate_all(ds, p, o2, w, cold, b8, b4, nullptr);
    return 0;
  });
}

int run_export_job(const JobOptions& o) {
  return guarded("export", [&] {
    const std::string mf = o.model_file.empty() ? (fs::path(o.out_dir) / "model.bin").string() : o.model_file;
    {
      ExportOptions check;
      load_bandit_options(o, check);  // a bad prior or policy file fails before the data is read
    }
    const ModelWeights w = ModelWeights::load(mf);
    const data::Dataset ds = load_data(o);
    const Prepared p = prepare(ds, o);
    ExportOptions eo = export_options(ds, o, untrained_items(p));
    eo.item_int4 = o.int4;
    const auto bytes = export_bundle(w, ds, eo);
    const std::string out = o.bundle_out.empty() ? (fs::path(o.out_dir) / (o.int4 ? "bundle-int4.disco" : "bundle.disco")).string()
                                                 : o.bundle_out;
    write_file(out, bytes);
    std::string bandit;
    if (!eo.bandit_prior.arms.empty()) bandit += ", bandit prior from " + o.bandit_prior;
    if (eo.noise_scale > 0) bandit += ", noise scale " + std::to_string(eo.noise_scale);
    if (eo.choice_pessimism > 0) bandit += ", choice pessimism " + std::to_string(eo.choice_pessimism);
    if (!eo.value_model.weights.empty()) bandit += ", value model from " + o.policy_fit;
    if (!o.policy.empty()) bandit += ", " + std::to_string(eo.offer_policy.arms.size()) + " arms and guardrails from " + o.policy;
    std::printf("%s: %zu bytes (%s, %s%s)\n", out.c_str(), bytes.size(), o.int4 ? "item_emb int4" : "int8",
                o.key.empty() ? "unsigned" : "signed", bandit.c_str());
    return 0;
  });
}

int run_bench_job(const JobOptions& o, int steps, int warmup, const std::string& dump) {
  return guarded("bench", [&] {
    const data::Dataset ds = load_data(o);
    const Prepared p = prepare(ds, o);
    const auto plan = epoch_plan(p.train, o.train.batch_size, o.train.seed, 0);
    std::vector<Batch> batches;
    for (size_t i = 0; i < plan.size() && int(i) < std::max(steps, 1); ++i) batches.push_back(make_batch(p.train, plan[i]));
    if (!dump.empty()) {
      std::ofstream f(dump, std::ios::binary | std::ios::trunc);
      if (!f) throw TrainError(dump + ": cannot write");
      auto put = [&](int64_t v) { f.write(reinterpret_cast<const char*>(&v), 8); };
      auto putv = [&](const std::vector<int64_t>& v) { f.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 8)); };
      f.write("DSCBATCH", 8);
      put(int64_t(batches.size()));
      put(p.dims.n_items);
      put(p.dims.emb_dim);
      put(p.dims.hidden);
      put(p.dims.num_types);
      for (const auto& b : batches) {
        put(b.B), put(b.T), put(int64_t(b.next_pos.size())), put(int64_t(b.valid_pos.size())), put(b.events);
        putv(b.item), putv(b.type), putv(b.next_pos), putv(b.next_target), putv(b.valid_pos);
        f.write(reinterpret_cast<const char*>(b.prop_label.data()), std::streamsize(b.prop_label.size() * 4));
      }
      if (!f.flush()) throw TrainError(dump + ": write failed");
    }
    const double eps = bench_train_steps(p.dims, o.train, batches, steps, warmup);
    std::printf("disco-train bench: %d steps (+%d warmup), batch %d, %zu distinct batches, n=%d d=%d h=%d, %d threads: %.0f events/s\n",
                steps, warmup, o.train.batch_size, batches.size(), p.dims.n_items, p.dims.emb_dim, p.dims.hidden,
                hw_threads(o.train.threads), eps);
    return 0;
  });
}

}  // namespace disco::model

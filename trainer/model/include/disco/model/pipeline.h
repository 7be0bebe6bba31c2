// The disco-train jobs: train (ingest -> split -> train -> cold start -> export -> evaluate the
// float and int8 LSTM beside the baselines -> report), eval, export and bench. No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "disco/model/config.h"

namespace disco::model {

struct JobOptions {
  std::string data_kind = "canonical";  // disco::data::read_dataset kinds
  std::string data_dir;
  std::string out_dir = "out/model";
  TrainConfig train;
  std::string key;                      // private key PEM for signing; empty = unsigned bundle
  bool int4 = true;                     // also export + evaluate bundle-int4.disco (item_emb int4)
  std::vector<std::string> baselines{"pop", "iknn", "sknn", "vsknn", "bpr"};
  uint64_t max_test_sessions = 0;       // 0 = all
  int eval_threads = 0;                 // 0 = train.threads / all cores
  double valid_frac = 0.1, test_frac = 0.1;
  double test_days = 0, valid_days = 1;  // test_days > 0: session-rec's day window instead of the fractions
  double cold_holdout = 0.05;           // fraction of trained items evaluated with cold-start embeddings
  uint64_t max_rows = 0;                // ingest: rows per file (0 = all)
  std::string model_version;            // default: disco-lstm-<data>-d<d>-h<h>-s<seed>
  bool runtime_int8 = true;             // evaluate the exported bundle through the runtime
  size_t reference_sessions = 100;      // test sessions for the LibTorch vs runtime score check
  std::string bundle_out;               // export: output path
  std::string model_file;               // eval/export: trained float weights (default OUT/model.bin)
  std::string bandit_prior;             // train/export: bandit warm start JSON (disco/model/bandit_prior.h)
  double noise_scale = 0;               // train/export: the bandit's noise scale (> 0); 0 = bundle default
  std::string policy_fit;               // train/export: disco-train policy's output (prior, noise scale, value model)
  std::string policy;                   // train/export: the store's offer-policy file (schemas/offer-policy.schema.json)
  double budget = 0;                    // train/export: discount budget per day (guardrails); 0 = unlimited
  int budget_mode = 1;                  // 0 = fcfs, 1 = dual (schemas/bundle.fbs BudgetMode)
  double budget_dual_rate = 100.0;      // the dual price's integral gain per period (dual: > 0)
  // train: write the bundle even when the model does not beat popularity or random ranking on
  // validation, or its loss stayed at ln(#items) (without it: no bundle, exit 3)
  bool force = false;
  // export: untrained catalog items rank below every trained one through one extra embedding
  // dimension (demote_untrained). Off by default: at d = 32 the extra column takes the int8 scan
  // off its d = 32 fast path (runtime_bench --dim 33: recommend p50 13.6 -> 46 us natively).
  bool demote_untrained = false;
  // ingest (disco::data::IngestOptions)
  char sep = ',';
  uint32_t min_item_support = 0, min_session_length = 0;
};

// Each returns the process exit code; errors print one clear line to stderr (never a bundle from
// a diverged model).
int run_train_job(const JobOptions& o);
int run_eval_job(const JobOptions& o);
int run_export_job(const JobOptions& o);
// Trains `steps` steps on batches built from the data (or writes them to `dump` for the PyTorch
// peer), printing events/s.
int run_bench_job(const JobOptions& o, int steps, int warmup, const std::string& dump);

}  // namespace disco::model

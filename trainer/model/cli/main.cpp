// disco-train: train, evaluate and export the disco sequence model (see trainer/model/README.md).
#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <map>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "disco/data/ingest.h"
#include "disco/model/config.h"
#include "disco/model/export.h"
#include "disco/model/pipeline.h"

using namespace disco::model;

int run_policy_command(int argc, char** argv);  // cli/policy_cmd.cpp

namespace {

const char* kUsage = R"(disco-train: train, evaluate and export the disco next-item + purchase-propensity model

usage: disco-train <command> [options]      (disco-train <command> --help for the same text)

commands:
  train    ingest DATA, train the LSTM (checkpoints; resumes after a crash), evaluate the float and int8
           model beside the baselines, write OUT/report.{json,html}, OUT/model.bin and OUT/bundle.disco
  eval     evaluate a trained OUT/model.bin (or --model FILE) on DATA's test split; writes the report
  export   write a bundle from a trained model (--model FILE, the catalog from --data): --bundle FILE,
           --int4 for int4 item embeddings, --policy-fit FILE (disco-train policy's output: warm start,
           noise scale, value model) or --bandit-prior FILE / --noise-scale V for the bandit
  policy   fit the discount policy from a log of randomized offers (disco-train policy --help)
  keygen   --out DIR: new ECDSA P-256 signing key: DIR/private.pem (keep it secret, never in a
           bundle), DIR/public.der + public.pem (give to the runtime / SDK), DIR/key_id.txt
  bench    train --steps N steps on batches from DATA and print events/s (--dump FILE writes the
           batches for bench/train_cpu/torch_peer.py)

data and output:
  --data DIR            input folder (canonical CSV from disco-sim or your logs, or a real dataset)
  --kind KIND           canonical (default) | yoochoose | completejourney | cdnow | hillstrom | open-bandit
  --out DIR             output folder (default out/model); checkpoints in OUT/checkpoints
  --key FILE            sign bundles with this private key PEM (disco-train keygen); default unsigned
  --config FILE         key = value lines with any option below (command-line flags win)
  --model FILE          eval/export: trained weights (default OUT/model.bin)
  --bundle FILE         export: output path (default OUT/bundle.disco)
  --int4 / --no-int4    export: int4 item embeddings; train/eval: also build + evaluate an int4 bundle (default on)
  --bandit-prior FILE   train/export: warm-start the discount bandit with per-arm statistics, JSON
                        {"arms":[{"arm":0,"dim":12,"A":[dim*dim],"b":[dim],"n":N},...]} (the shape of the
                        collector's GET /v1/bandit-state); one entry per arm, dim = the runtime's context length
  --noise-scale V       train/export: the bandit's noise scale v > 0 (theta ~ N(mu, v^2 A^-1); default 1)
  --policy-fit FILE     train/export: disco-train policy's JSON (the bandit's warm start, its noise scale unless
                        --noise-scale is given, and the long-term value model)
  --policy FILE         train/export: the store's offer policy (JSON, schemas/offer-policy.schema.json; example
                        schemas/examples/offer-policy.example.json): arms (percent, fixed amount, free shipping;
                        item, category or cart scope; lifetime; campaign window; eligibility) and guardrails.
                        Without it: the six default arms (schemas/examples/offer-policy.default.json)
  --budget X            train/export: discount budget per day in currency units (guardrails; default 0 = unlimited)
  --budget-mode M       dual (default): a dual price on spend picks who gets the discount when the budget binds;
                        fcfs: the paced cap alone (first come, first served)
  --budget-dual-rate R  the dual price's integral gain per day (> 0; default 100)

training (defaults in brackets):
  --emb-dim [32] --hidden [64] --layers [1] (export supports 1) --price-buckets [0] --gap-buckets [0]
  --epochs [10] --batch-size [64] --max-len [50] --lr [0.003] --lr-decay [0.85 per epoch]
  --plateau-factor [0.5] --patience [2] (early stopping: epochs without validation gain; 0 = off)
  --select-by [mrr] mrr|hr|loss  validation gain = MRR@20 / HR@20 rises, or the loss falls
  --min-epoch-steps [200]  an epoch repeats a small log until it has this many steps (0 = one pass)
  --force               train: write the bundle even when the model does not beat popularity / random
  --demote-untrained    train/export: untrained catalog items rank below every trained one (one extra
                        embedding dimension; off by default: d = 33 takes the int8 scan off its fast path)
                        on validation or its loss stayed at ln(#items) (otherwise: no bundle, exit 3)
  --softmax [auto] full|sampled|auto (sampled above 50k items) --num-sampled [2048]
  --prop-weight [0.2] weight of the purchase-propensity loss   --dropout [0] --weight-decay [0]
  --clip-grad [5] --seed [42] --threads [0 = all cores] --device [auto] auto|cpu|cuda
  --checkpoint-every-steps [0 = per epoch] --fresh (ignore an existing checkpoint)
  --max-steps N --crash-after-steps N (testing: SIGKILL itself after N steps; rerun to resume)
  --inject-nan-at-step N (testing: poison the weights, to check that divergence stops the job)
  --progress [auto] auto|bar|lines|off

evaluation:
  --baselines [pop,iknn,sknn,vsknn,bpr] (comma list; "none" for none)  --max-test-sessions [0 = all]
  --eval-threads [0 = --threads]  --valid-frac [0.1] --test-frac [0.1] (datasets without their own split)
  --cold-holdout [0.05] fraction of trained items re-scored with cold-start embeddings
  --no-runtime-int8     skip the runtime (int8) evaluation   --reference-sessions [200]
  --max-rows N          ingest at most N rows per file   --model-version STR
  --sep C               canonical CSV field separator (, ; | or \\t)
  --test-days N [--valid-days 1]  session-rec's day window: sessions ending in the last N days are
                        test, the --valid-days before them valid (instead of --test-frac/--valid-frac)
  --min-item-support N --min-session-length N   session-rec filters at ingest (trainer/data/README.md)

examples:
  disco-sim --seed 42 --out out/default
  disco-train train --data out/default --out out/default/model --epochs 6
  disco-train train --kind yoochoose --data ../shared/data/yoochoose-100k --out out/yoochoose
  disco-train keygen --out keys && disco-train export --data out/default --out out/default/model --key keys/private.pem
  disco-train export --data out/default --model out/default/model/model.bin --bundle out/b.disco --no-int4 \
      --bandit-prior bandit_prior.json --noise-scale 0.25
)";

// The job options beside TrainConfig::keys(); --a-b and --a_b are the same option, as is `a_b = ...` in --config.
const char* kJobKeys[] = {"data", "kind", "out", "key", "baselines", "max_test_sessions", "eval_threads", "valid_frac",
                          "test_frac", "cold_holdout", "max_rows", "model_version", "runtime_int8", "reference_sessions",
                          "bundle", "model", "steps", "warmup", "dump", "bandit_prior", "noise_scale", "policy_fit", "policy",
                          "budget", "budget_mode", "budget_dual_rate", "sep", "min_item_support", "test_days", "valid_days",
                          "min_session_length"};
const char* kFlags[] = {"int4", "no_int4", "no_runtime_int8", "force", "demote_untrained"};  // (and TrainConfig::is_flag)

bool is_job_key(const std::string& k) {
  for (const char* x : kJobKeys)
    if (k == x) return true;
  return k == "int4";
}

struct Cli {
  JobOptions job;
  int steps = 50, warmup = 5;
  std::string dump;
};

double num(const std::string& k, const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end) throw TrainError("option " + k + ": expected a number, got '" + v + "'");
  return x;
}

int64_t integer(const std::string& k, const std::string& v, int64_t lo, int64_t hi) {
  int64_t x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || x < lo || x > hi)
    throw TrainError("option " + k + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "], got '" + v + "'");
  return x;
}

void apply(Cli& c, const std::string& key_in, const std::string& v) {
  std::string k = key_in;
  for (char& ch : k)
    if (ch == '-') ch = '_';
  JobOptions& j = c.job;
  if (!is_job_key(k) && k != "no_int4" && k != "no_runtime_int8" && k != "force" && k != "demote_untrained") {
    j.train.set(k, v);
    return;
  }
  if (k == "data") j.data_dir = v;
  else if (k == "kind") j.data_kind = v;
  else if (k == "out") j.out_dir = v;
  else if (k == "key") j.key = v;
  else if (k == "int4") j.int4 = v.empty() || v == "1" || v == "true" || v == "on" || v == "yes";
  else if (k == "no_int4") j.int4 = false;
  else if (k == "runtime_int8") j.runtime_int8 = v.empty() || v == "1" || v == "true" || v == "on" || v == "yes";
  else if (k == "no_runtime_int8") j.runtime_int8 = false;
  else if (k == "force") j.force = v.empty() || v == "1" || v == "true" || v == "on" || v == "yes";
  else if (k == "demote_untrained") j.demote_untrained = v.empty() || v == "1" || v == "true" || v == "on" || v == "yes";
  else if (k == "sep") {
    if (!disco::data::parse_separator(v, j.sep)) throw TrainError("option sep: expected one character (, ; | or \\t), got '" + v + "'");
  } else if (k == "min_item_support") j.min_item_support = uint32_t(integer(k, v, 0, 1 << 30));
  else if (k == "min_session_length") j.min_session_length = uint32_t(integer(k, v, 0, 1 << 30));
  else if (k == "baselines") {
    j.baselines.clear();
    if (v != "none") {
      size_t s = 0;
      while (s <= v.size()) {
        const size_t e = v.find(',', s);
        const std::string b = v.substr(s, e == std::string::npos ? std::string::npos : e - s);
        if (!b.empty()) j.baselines.push_back(b);
        if (e == std::string::npos) break;
        s = e + 1;
      }
    }
  } else if (k == "max_test_sessions") j.max_test_sessions = uint64_t(integer(k, v, 0, INT64_MAX));
  else if (k == "eval_threads") j.eval_threads = int(integer(k, v, 0, 1024));
  else if (k == "valid_frac") j.valid_frac = num(k, v);
  else if (k == "test_frac") j.test_frac = num(k, v);
  else if (k == "test_days") {
    j.test_days = num(k, v);
    if (!(j.test_days > 0) || !(j.test_days < 1e6)) throw TrainError("option test_days: expected a number of days > 0, got '" + v + "'");
  } else if (k == "valid_days") {
    j.valid_days = num(k, v);
    if (!(j.valid_days >= 0) || !(j.valid_days < 1e6)) throw TrainError("option valid_days: expected a number of days >= 0, got '" + v + "'");
  }
  else if (k == "cold_holdout") j.cold_holdout = num(k, v);
  else if (k == "max_rows") j.max_rows = uint64_t(integer(k, v, 0, INT64_MAX));
  else if (k == "model_version") j.model_version = v;
  else if (k == "reference_sessions") j.reference_sessions = size_t(integer(k, v, 0, INT64_MAX));
  else if (k == "bundle") j.bundle_out = v;
  else if (k == "model") j.model_file = v;
  else if (k == "bandit_prior") j.bandit_prior = v;
  else if (k == "policy_fit") j.policy_fit = v;
  else if (k == "policy") j.policy = v;
  else if (k == "noise_scale") {
    j.noise_scale = num(k, v);
    if (!(j.noise_scale > 0) || !std::isfinite(j.noise_scale))
      throw TrainError("option noise_scale: expected a finite number > 0, got '" + v + "'");
  }
  else if (k == "budget") {
    j.budget = num(k, v);
    if (!(j.budget >= 0) || !std::isfinite(float(j.budget)))
      throw TrainError("option budget: expected a finite number >= 0 (0 = unlimited), got '" + v + "'");
  } else if (k == "budget_mode") {
    if (v != "fcfs" && v != "dual") throw TrainError("option budget_mode: expected fcfs or dual, got '" + v + "'");
    j.budget_mode = v == "dual" ? 1 : 0;
  } else if (k == "budget_dual_rate") {
    j.budget_dual_rate = num(k, v);
    if (!(j.budget_dual_rate > 0) || !(j.budget_dual_rate <= 1e6))
      throw TrainError("option budget_dual_rate: expected a number in (0, 1e6], got '" + v + "'");
  }
  else if (k == "steps") c.steps = int(integer(k, v, 1, INT32_MAX));
  else if (k == "warmup") c.warmup = int(integer(k, v, 0, INT32_MAX));
  else if (k == "dump") c.dump = v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, stdout);
    return argc < 2 ? 2 : 0;
  }
 const std::string cmd = argv[1];
  if (cmd == "policy") return run_policy_command(argc - 1, argv + 1);
  if (cmd != "train" && cmd != "eval" && cmd != "export" && cmd != "keygen" && cmd != "bench") {
    std::fprintf(stderr, "disco-train: unknown command '%s' (train, eval, export, policy, keygen, bench; see --help)\n", cmd.c_str());
    return 2;
  }
  Cli c;
  CLI::App app{"disco-train " + cmd, "disco-train " + cmd};
  app.set_help_flag();  // kUsage is the help
  app.add_flag("-h,--help");
  std::string config;
  app.add_option("--config", config);
  std::map<const CLI::Option*, std::string> key_of;
  auto add = [&](const char* key, bool flag) {
    std::string dashed = key;
    for (char& ch : dashed)
      if (ch == '_') ch = '-';
    std::string names = "--" + dashed;
    if (dashed != key) names += std::string(",--") + key;
    CLI::Option* o = flag ? app.add_flag(names) : app.add_option(names);
    o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    key_of[o] = key;
  };
  for (const std::string& k : TrainConfig::keys()) add(k.c_str(), TrainConfig::is_flag(k));
  for (const char* k : kJobKeys) add(k, false);
  for (const char* k : kFlags) add(k, true);
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "disco-train %s: error: %s (see --help)\n", cmd.c_str(), e.what());
    return 2;
  }
  if (app.count("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  try {
    // --config first, then the flags in command-line order (flags win)
    if (!config.empty())
      for (const auto& [ck, cv] : read_config_file(config)) apply(c, ck, cv);
    std::map<const CLI::Option*, size_t> next;
    for (const CLI::Option* o : app.parse_order()) {
      const auto it = key_of.find(o);
      if (it == key_of.end()) continue;
      const size_t i = next[o]++;
      apply(c, it->second, i < o->results().size() ? o->results()[i] : std::string());
    }
  } catch (const TrainError& e) {
    std::fprintf(stderr, "disco-train %s: error: %s\n", cmd.c_str(), e.what());
    return 2;
  }
  if (cmd == "keygen") {
    try {
      if (c.job.out_dir.empty() || c.job.out_dir == "out/model") throw TrainError("keygen needs --out DIR");
      const std::string id = keygen(c.job.out_dir);
      std::printf("key %s: %s/private.pem (secret, mode 0600), %s/public.der, %s/public.pem\n", id.c_str(),
                  c.job.out_dir.c_str(), c.job.out_dir.c_str(), c.job.out_dir.c_str());
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "disco-train keygen: error: %s\n", e.what());
      return 1;
    }
  }
  if (cmd == "train") return run_train_job(c.job);
  if (cmd == "eval") return run_eval_job(c.job);
  if (cmd == "export") return run_export_job(c.job);
  return run_bench_job(c.job, c.steps, c.warmup, c.dump);
}

// Trainer configuration: model dimensions, optimisation, checkpoints. Plain C++ (no LibTorch), so
// the CLI, tests and export code can include it cheaply. Every field can be set from a
// `key = value` config file or a `--key value` / `--key=value` command-line flag (same names).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace disco::model {

// Any user-facing trainer error (bad option, bad data, diverged model). The CLI prints what()
// and exits non-zero.
class TrainError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ModelDims {
  int n_items = 0;
  int emb_dim = 32;        // d
  int hidden = 64;         // h
  int layers = 1;          // LSTM layers (export supports 1)
  int num_types = 5;       // view, click, cart, remove, purchase
  int price_buckets = 0;   // 0 = no price embedding
  int gap_buckets = 0;     // 0 = no gap embedding
};

struct TrainConfig {
  // model
  int emb_dim = 32;
  int hidden = 64;
  int layers = 1;
  int price_buckets = 0;   // >0: price-bucket embedding (catalog price when the event has none)
  int gap_buckets = 0;     // >0: time-gap embedding (see README: evaluation passes no timestamps)
  double dropout = 0.0;    // on the LSTM input and output
  // loss
  std::string softmax = "auto";  // full | sampled | auto (sampled above 50k items)
  int num_sampled = 2048;        // shared negatives per batch for sampled softmax
  double prop_weight = 0.2;      // weight of the purchase-propensity BCE in the joint loss
  // optimisation
  int epochs = 10;
  int batch_size = 64;
  int max_len = 50;              // longer sessions are cut into overlapping windows
  double lr = 3e-3;
  double lr_decay = 0.85;        // per-epoch exponential decay
  double plateau_factor = 0.5;   // extra LR factor after an epoch without validation gain
  int patience = 2;              // early stopping: epochs without validation gain
  // What "validation gain" means (model selection, plateau, early stopping): mrr = validation
  // MRR@20 rises (default), hr = HR@20 rises, loss = the joint validation loss falls. A loss that
  // rises while the ranking improves (a small log, many rare items) no longer stops training.
  std::string select_by = "mrr";
  // An epoch is at least this many optimiser steps: a small log is passed over several times per
  // epoch, so the per-epoch LR decay, plateau and patience do not stop it after a few dozen steps
  // (0 = one pass per epoch, as before).
  int min_epoch_steps = 200;
  double weight_decay = 0.0;
  double clip_grad = 5.0;        // global grad-norm clip (0 = off)
  uint64_t seed = 42;
  int threads = 0;               // 0 = all cores
  std::string device = "auto";   // auto | cpu | cuda
  // checkpoints / runtime control
  int checkpoint_every_steps = 0;  // 0 = only at the end of each epoch
  int64_t crash_after_steps = -1;  // testing: SIGKILL this process after N optimiser steps
  int64_t max_steps = -1;          // stop after N steps in total (benchmarks)
  int64_t inject_nan_at_step = -1; // testing: poison the weights before step N (divergence handling)
  bool fresh = false;              // ignore an existing checkpoint instead of resuming
  std::string progress = "auto";   // auto | bar | lines | off
  // data-parallel training (trainer/README.md "Training on several processes"): a flag beats the
  // torchrun-style variable (WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT); unset = 1 process.
  // batch_size is per process: the global batch is world_size x batch_size.
  int world_size = 0;              // 0 = $WORLD_SIZE, else 1
  int rank = -1;                   // -1 = $RANK, else 0
  std::string master_addr;         // "" = $MASTER_ADDR, else 127.0.0.1 (rank 0 listens there)
  int master_port = 0;             // 0 = $MASTER_PORT, else 29500
  double dist_timeout = 300;       // seconds: rendezvous and every collective
  std::string dist_backend = "auto";  // auto | gloo | nccl (nccl: CUDA builds with NCCL only)

  // Applies one key=value pair; throws TrainError on an unknown key or a bad value.
  void set(const std::string& key, const std::string& value);
  // Every key set() takes (underscore form), and which of them are flags (a value is optional:
  // --fresh alone is true); the command lines register each as --a-b and --a_b.
  static const std::vector<std::string>& keys();
  static bool is_flag(const std::string& key) { return key == "fresh"; }
  // The fields that determine the training result (used to refuse resuming a checkpoint made
  // with different settings).
  std::string fingerprint() const;
  std::string to_text() const;  // key = value lines
};

// The process group a TrainConfig asks for, flags first, then the torchrun-style environment
// (WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT). Throws TrainError on a rank outside
// [0, world_size) or an unparsable variable (naming it).
struct DistSettings {
  int world_size = 1, rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double timeout_s = 300;
  std::string backend = "auto";
  bool enabled() const { return world_size > 1; }
};
DistSettings resolve_dist(const TrainConfig& cfg);

// Reads `key = value` lines ('#' comments, blank lines ignored) from a file. Errors name the
// file and line: "train.conf:3: expected key = value".
std::vector<std::pair<std::string, std::string>> read_config_file(const std::string& path);

}  // namespace disco::model

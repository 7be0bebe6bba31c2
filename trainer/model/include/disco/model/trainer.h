// Training with LibTorch. This header does not include LibTorch: the implementation lives in one
// translation unit (src/torch_model.cpp) so that only it pays LibTorch's compile time.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "disco/model/config.h"
#include "disco/model/sequences.h"
#include "disco/model/weights.h"

namespace disco::model {

struct EpochStats {
  int epoch = 0;                 // 1-based
  double train_loss = 0;         // joint loss, mean over steps
  double train_next_loss = 0;    // next-item cross-entropy
  double train_prop_loss = 0;    // propensity BCE
  double val_loss = NAN;         // joint loss on validation (NaN when no validation data)
  double val_next_loss = NAN;
  double val_hr20 = NAN, val_mrr20 = NAN;  // full-ranking next-item on validation
  double lr = 0;
  double seconds = 0;
  double events_per_s = 0;
  bool improved = false;
};

struct TrainResult {
  ModelWeights weights;          // the best epoch's weights (early stopping restores them)
  std::vector<EpochStats> history;
  int best_epoch = 0;
  bool early_stopped = false;
  bool resumed = false;          // continued from a checkpoint
  int64_t steps = 0;
  double events_per_s = 0;       // over all training steps of this process
  double train_seconds = 0;
  std::string device;            // "cpu" or "cuda"
  bool sampled_softmax = false;
  int passes_per_epoch = 1;      // passes over the training data per epoch (TrainConfig::min_epoch_steps)
};

struct TrainInputs {
  const Sequences* train = nullptr;
  const Sequences* valid = nullptr;   // may be empty (no early stopping then)
  ModelDims dims;
  std::string checkpoint_dir;         // empty = no checkpoints
};

// Trains (or resumes from checkpoint_dir). Throws TrainError on bad input, a NaN/inf loss
// (diverged) or a checkpoint made with another configuration.
TrainResult train(const TrainInputs& in, const TrainConfig& cfg);

// The device train() would use for this config ("cuda" only when torch::cuda::is_available()).
std::string resolve_device(const std::string& requested);

// LibTorch forward pass of given weights over the first `max_seqs` sequences (one sequence from
// state 0): next-item scores [positions, n_items] row-major and propensities [positions].
// The reference the float C++ pass and the int8 runtime are compared against.
void torch_reference_scores(const ModelWeights& w, const Sequences& seqs, size_t max_seqs,
                            std::vector<float>& scores, std::vector<float>& propensity);

// Benchmark: `steps` optimiser steps over the given batches (cycled), full softmax, same loss
// as train(). Returns events/s (real events per second of wall time, after `warmup` steps).
double bench_train_steps(const ModelDims& dims, const TrainConfig& cfg, const std::vector<Batch>& batches,
                         int steps, int warmup);

}  // namespace disco::model

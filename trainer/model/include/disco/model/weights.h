// The trained model as plain float arrays (model-spec.md), and a float reference forward pass in
// plain C++ (no LibTorch) that steps one event at a time exactly like the runtime does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "disco/model/config.h"

namespace disco::model {

struct Matrix {
  int rows = 0, cols = 0;
  std::vector<float> data;  // row-major
  Matrix() = default;
  Matrix(int r, int c) : rows(r), cols(c), data(size_t(r) * size_t(c), 0.0f) {}
  float* row(int r) { return data.data() + size_t(r) * size_t(cols); }
  const float* row(int r) const { return data.data() + size_t(r) * size_t(cols); }
};

struct ModelWeights {
  ModelDims dims;
  Matrix item_emb;               // [n, d]
  Matrix type_emb;               // [num_types, d]
  Matrix price_emb, gap_emb;     // [nb, d], [ng, d] (empty when 0 buckets)
  std::vector<Matrix> w_ih;      // per layer [4h, d or h] (gate order i, f, g, o)
  std::vector<Matrix> w_hh;      // per layer [4h, h]
  std::vector<std::vector<float>> b;  // per layer [4h] = b_ih + b_hh
  Matrix out_proj;               // [d, h]
  std::vector<float> out_bias;   // [d]
  std::vector<float> prop_w;     // [h]
  float prop_b = 0.f;

  // Throws TrainError if any value is NaN/inf or a shape disagrees with dims.
  void validate() const;
  // Binary save/load (float weights + dims), used by `disco-train export`/`eval` on a trained model.
  void save(const std::string& path) const;
  static ModelWeights load(const std::string& path);
};

// One session's float LSTM state; observe() advances one event (no replay of history).
class FloatSession {
 public:
  explicit FloatSession(const ModelWeights& w);
  void reset();
  void observe(int item, int type, int pbucket, int gbucket);
  const std::vector<float>& hidden() const { return h_.back(); }
  // u = out_proj h + out_bias  (R^d)
  void user_vector(float* u) const;
  // scores[j] = item_emb[j] . u for all items (scores has n entries)
  void score_all(float* scores) const;
  float propensity() const;
  int steps() const { return steps_; }

 private:
  const ModelWeights& w_;
  std::vector<std::vector<float>> h_, c_;
  std::vector<float> x_, z_;
  int steps_ = 0;
};

// Stable logistic function.
float sigmoidf(float x);

}  // namespace disco::model

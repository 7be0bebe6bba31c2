// Base models of the uplift learners (internal): gradient-boosted trees through XGBoost's C API and
// a regularized logistic / ridge regression with Eigen. Not installed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "disco/eval/uplift.h"

namespace disco::eval::uplift::detail {

// A row-major float matrix (NaN = missing).
struct Matrix {
  std::vector<float> v;
  size_t rows = 0, cols = 0;
  const float* row(size_t i) const { return v.data() + i * cols; }
};

class BaseModel {
 public:
  virtual ~BaseModel() = default;
  // logistic: y in {0, 1}, predictions are probabilities; else squared error. w may be empty.
  virtual void fit(const Matrix& x, std::span<const double> y, std::span<const double> w, bool logistic,
                   uint64_t seed) = 0;
  virtual void predict(const float* x, size_t n, size_t cols, double* out) const = 0;
  std::vector<double> predict(const Matrix& x) const {
    std::vector<double> out(x.rows);
    if (x.rows) predict(x.v.data(), x.rows, x.cols, out.data());
    return out;
  }
};

std::unique_ptr<BaseModel> make_base(const LearnerConfig& cfg);

// splitmix64 and a Fisher-Yates shuffle with it (the same order on every platform).
uint64_t splitmix(uint64_t& state);
void shuffle(std::vector<size_t>& v, uint64_t seed);

}  // namespace disco::eval::uplift::detail

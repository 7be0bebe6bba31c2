// Base models: XGBoost (C API) with early stopping on an inner validation split, and a
// regularized logistic / ridge regression (Newton's method with Eigen).
#include "uplift_base.h"

#include <xgboost/c_api.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>
#include <string>

namespace disco::eval::uplift::detail {

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void shuffle(std::vector<size_t>& v, uint64_t seed) {
  uint64_t s = seed;
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(splitmix(s) % i);
    std::swap(v[i - 1], v[j]);
  }
}

namespace {

double weighted_mean(std::span<const double> y, std::span<const double> w) {
  double s = 0, sw = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double wi = w.empty() ? 1.0 : w[i];
    s += wi * y[i];
    sw += wi;
  }
  return sw > 0 ? s / sw : 0.0;
}

// ---------------------------------------------------------------------------------------------
// XGBoost
void xgb_check(int rc, const char* what) {
  if (rc != 0) throw UpliftError(std::string("xgboost ") + what + ": " + XGBGetLastError());
}

void xgb_quiet() {
  static std::once_flag once;
  std::call_once(once, [] { XGBSetGlobalConfig("{\"verbosity\": 0}"); });
}

struct DMatrix {
  DMatrixHandle h = nullptr;
  DMatrix(const float* x, size_t n, size_t cols) {
    xgb_check(XGDMatrixCreateFromMat(x, n, cols, std::numeric_limits<float>::quiet_NaN(), &h), "DMatrix");
  }
  ~DMatrix() {
    if (h) XGDMatrixFree(h);
  }
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  void set(const char* field, std::span<const double> v) {
    std::vector<float> f(v.begin(), v.end());
    xgb_check(XGDMatrixSetFloatInfo(h, field, f.data(), f.size()), field);
  }
};

class XgbModel final : public BaseModel {
 public:
  explicit XgbModel(const XgbParams& p) : p_(p) {}
  ~XgbModel() override {
    if (booster_) XGBoosterFree(booster_);
  }

  void fit(const Matrix& x, std::span<const double> y, std::span<const double> w, bool logistic,
           uint64_t seed) override {
    xgb_quiet();
    if (x.rows == 0) throw UpliftError("xgboost: no training rows");
    cols_ = x.cols;
    // inner validation rows for early stopping
    std::vector<size_t> idx(x.rows);
    std::iota(idx.begin(), idx.end(), size_t{0});
    size_t n_valid = 0;
    if (p_.valid_frac > 0 && x.rows >= 100) {
      shuffle(idx, seed ^ 0x5eedULL);
      n_valid = static_cast<size_t>(static_cast<double>(x.rows) * p_.valid_frac);
    }
    auto take = [&](size_t b, size_t e, Matrix& m, std::vector<double>& yy, std::vector<double>& ww) {
      std::vector<size_t> part(idx.begin() + static_cast<std::ptrdiff_t>(b), idx.begin() + static_cast<std::ptrdiff_t>(e));
      std::sort(part.begin(), part.end());
      m.rows = part.size();
      m.cols = x.cols;
      m.v.resize(m.rows * m.cols);
      yy.resize(m.rows);
      ww.resize(m.rows);
      for (size_t k = 0; k < part.size(); ++k) {
        std::copy(x.row(part[k]), x.row(part[k]) + x.cols, m.v.begin() + static_cast<std::ptrdiff_t>(k * x.cols));
        yy[k] = y[part[k]];
        ww[k] = w.empty() ? 1.0 : w[part[k]];
      }
    };
    Matrix xt, xv;
    std::vector<double> yt, wt, yv, wv;
    take(n_valid, x.rows, xt, yt, wt);
    if (n_valid) take(0, n_valid, xv, yv, wv);
    DMatrix dt(xt.v.data(), xt.rows, xt.cols);
    dt.set("label", yt);
    dt.set("weight", wt);
    std::unique_ptr<DMatrix> dv;
    if (n_valid) {
      dv = std::make_unique<DMatrix>(xv.v.data(), xv.rows, xv.cols);
      dv->set("label", yv);
      dv->set("weight", wv);
    }
    DMatrixHandle cache[2] = {dt.h, dv ? dv->h : nullptr};
    xgb_check(XGBoosterCreate(cache, dv ? 2 : 1, &booster_), "create");
    double base = weighted_mean(yt, wt);
    if (logistic) base = std::clamp(base, 1e-4, 1 - 1e-4);
    char b[64];
    auto set = [&](const char* k, const std::string& v) { xgb_check(XGBoosterSetParam(booster_, k, v.c_str()), k); };
    auto num = [&](double v) {
      std::snprintf(b, sizeof b, "%.17g", v);
      return std::string(b);
    };
    set("objective", logistic ? "binary:logistic" : "reg:squarederror");
    set("eval_metric", logistic ? "logloss" : "rmse");
    set("base_score", num(base));
    set("tree_method", "hist");
    set("eta", num(p_.eta));
    set("max_depth", std::to_string(p_.max_depth));
    set("min_child_weight", num(p_.min_child_weight));
    set("subsample", num(p_.subsample));
    set("colsample_bytree", num(p_.colsample));
    set("lambda", num(p_.lambda));
    set("nthread", std::to_string(std::max(1, p_.threads)));
    set("seed", std::to_string(seed % 2147483647ULL));
    set("verbosity", "0");
    int best = 0;
    double best_loss = std::numeric_limits<double>::infinity();
    rounds_ = 0;
    for (int it = 0; it < p_.max_rounds; ++it) {
      xgb_check(XGBoosterUpdateOneIter(booster_, it, dt.h), "update");
      ++rounds_;
      if (!dv) continue;
      const char* names[1] = {"valid"};
      DMatrixHandle ev[1] = {dv->h};
      const char* out = nullptr;
      xgb_check(XGBoosterEvalOneIter(booster_, it, ev, names, 1, &out), "eval");
      const char* colon = out ? std::strrchr(out, ':') : nullptr;
      const double loss = colon ? std::strtod(colon + 1, nullptr) : NAN;
      if (loss < best_loss - 1e-12) {
        best_loss = loss;
        best = it;
      } else if (it - best >= p_.early_stopping) {
        break;
      }
    }
    rounds_ = dv ? best + 1 : rounds_;
  }

  void predict(const float* x, size_t n, size_t cols, double* out) const override {
    if (!booster_) throw UpliftError("xgboost: predict before fit");
    if (cols != cols_) throw UpliftError("xgboost: " + std::to_string(cols) + " features, fitted with " + std::to_string(cols_));
    if (n == 0) return;
    DMatrix d(x, n, cols);
    const std::string cfg = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": " +
                            std::to_string(rounds_) + ", \"strict_shape\": false}";
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* res = nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    xgb_check(XGBoosterPredictFromDMatrix(booster_, d.h, cfg.c_str(), &shape, &dim, &res), "predict");
    for (size_t i = 0; i < n; ++i) out[i] = res[i];
  }

 private:
  XgbParams p_;
  BoosterHandle booster_ = nullptr;
  size_t cols_ = 0;
  int rounds_ = 0;
  mutable std::mutex mu_;  // the prediction buffer belongs to the booster
};

// ---------------------------------------------------------------------------------------------
// Logistic / ridge regression on standardized features.
class LinearModel final : public BaseModel {
 public:
  explicit LinearModel(const LinearParams& p) : p_(p) {}

  void fit(const Matrix& x, std::span<const double> y, std::span<const double> w, bool logistic,
           uint64_t /*seed*/) override {
    const size_t n = x.rows, d = x.cols;
    if (n == 0) throw UpliftError("linear model: no training rows");
    logistic_ = logistic;
    mean_.assign(d, 0.0);
    scale_.assign(d, 0.0);
    for (size_t j = 0; j < d; ++j) {
      double s = 0, ss = 0, c = 0;
      for (size_t i = 0; i < n; ++i) {
        const float v = x.row(i)[j];
        if (std::isnan(v)) continue;
        s += v;
        ss += static_cast<double>(v) * v;
        c += 1;
      }
      mean_[j] = c > 0 ? s / c : 0.0;
      const double var = c > 0 ? ss / c - mean_[j] * mean_[j] : 0.0;
      scale_[j] = var > 1e-12 ? 1.0 / std::sqrt(var) : 0.0;  // a constant column contributes nothing
    }
    Eigen::MatrixXd z(n, d + 1);
    for (size_t i = 0; i < n; ++i) {
      z(static_cast<Eigen::Index>(i), 0) = 1.0;
      for (size_t j = 0; j < d; ++j) z(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j + 1)) = std_value(x.row(i)[j], j);
    }
    Eigen::VectorXd yy(n), ww(n);
    double wsum = 0;
    for (size_t i = 0; i < n; ++i) {
      yy(static_cast<Eigen::Index>(i)) = y[i];
      ww(static_cast<Eigen::Index>(i)) = w.empty() ? 1.0 : w[i];
      wsum += ww(static_cast<Eigen::Index>(i));
    }
    ww *= static_cast<double>(n) / wsum;  // weights normalized to mean 1
    Eigen::VectorXd pen = Eigen::VectorXd::Constant(static_cast<Eigen::Index>(d + 1), p_.l2);
    pen(0) = 0;
    const auto D = static_cast<Eigen::Index>(d + 1);
    beta_ = Eigen::VectorXd::Zero(D);
    if (!logistic) {
      Eigen::MatrixXd a = z.transpose() * ww.asDiagonal() * z;
      a.diagonal() += pen;
      a(0, 0) += 1e-9;
      beta_ = a.ldlt().solve(z.transpose() * (ww.array() * yy.array()).matrix());
      return;
    }
    const double m = std::clamp(weighted_mean(y, w), 1e-6, 1 - 1e-6);
    beta_(0) = std::log(m / (1 - m));
    auto loss = [&](const Eigen::VectorXd& b) {
      const Eigen::VectorXd eta = z * b;
      double l = 0;
      for (Eigen::Index i = 0; i < eta.size(); ++i) {
        const double e = eta(i);
        const double lp = e > 0 ? -std::log1p(std::exp(-e)) : e - std::log1p(std::exp(e));  // log sigmoid(e)
        const double lq = lp - e;                                                           // log(1 - sigmoid(e))
        l -= ww(i) * (yy(i) * lp + (1 - yy(i)) * lq);
      }
      return l + 0.5 * (pen.array() * b.array().square()).sum();
    };
    double cur = loss(beta_);
    for (int it = 0; it < p_.max_iter; ++it) {
      const Eigen::VectorXd eta = z * beta_;
      Eigen::VectorXd p(eta.size()), hw(eta.size());
      for (Eigen::Index i = 0; i < eta.size(); ++i) {
        p(i) = 1.0 / (1.0 + std::exp(-eta(i)));
        hw(i) = ww(i) * std::max(p(i) * (1 - p(i)), 1e-12);
      }
      const Eigen::VectorXd g = z.transpose() * (ww.array() * (p - yy).array()).matrix() + (pen.array() * beta_.array()).matrix();
      Eigen::MatrixXd h = z.transpose() * hw.asDiagonal() * z;
      h.diagonal() += pen;
      h.diagonal().array() += 1e-9;
      const Eigen::VectorXd step = h.ldlt().solve(g);
      double t = 1.0, next = cur;
      Eigen::VectorXd cand = beta_;
      for (int k = 0; k < 30; ++k, t *= 0.5) {
        cand = beta_ - t * step;
        next = loss(cand);
        if (next <= cur + 1e-12) break;
      }
      if (!(next <= cur + 1e-12)) break;
      const double change = (cand - beta_).cwiseAbs().maxCoeff();
      beta_ = cand;
      cur = next;
      if (change < 1e-8) break;
    }
  }

  void predict(const float* x, size_t n, size_t cols, double* out) const override {
    if (cols != mean_.size())
      throw UpliftError("linear model: " + std::to_string(cols) + " features, fitted with " + std::to_string(mean_.size()));
    for (size_t i = 0; i < n; ++i) {
      double e = beta_(0);
      for (size_t j = 0; j < cols; ++j) e += beta_(static_cast<Eigen::Index>(j + 1)) * std_value(x[i * cols + j], j);
      out[i] = logistic_ ? 1.0 / (1.0 + std::exp(-e)) : e;
    }
  }

 private:
  double std_value(float v, size_t j) const { return std::isnan(v) ? 0.0 : (v - mean_[j]) * scale_[j]; }
  LinearParams p_;
  bool logistic_ = false;
  std::vector<double> mean_, scale_;
  Eigen::VectorXd beta_;
};

}  // namespace

std::unique_ptr<BaseModel> make_base(const LearnerConfig& cfg) {
  if (cfg.base == BaseKind::Xgb) return std::make_unique<XgbModel>(cfg.xgb);
  return std::make_unique<LinearModel>(cfg.linear);
}

}  // namespace disco::eval::uplift::detail

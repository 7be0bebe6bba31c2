// The reward model of DM and the DR family: an L2-penalized GLM (logistic by Newton's method with
// a backtracking line search, or ridge in closed form) on [context ; arm features ; one-hot arm ;
// one-hot position], fitted per group and cross-fitted over K folds.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <sstream>

#include "disco/eval/ope.h"

namespace disco::eval::ope {

std::string RewardModelSpec::describe() const {
  std::ostringstream o;
  o << name << ": ";
  o << (group == Group::None ? "one pooled " : group == Group::Position ? "one per position, " : "one per arm, ");
  o << (link == Link::Logistic ? "logistic regression" : link == Link::Identity ? "ridge regression"
                                                                                : "logistic (0/1 reward) or ridge regression");
  o << " on [";
  std::vector<std::string> parts;
  if (use_context) parts.push_back("context");
  if (use_arm_features && group != Group::Arm) parts.push_back("arm features");
  if (arm_onehot && group != Group::Arm) parts.push_back("one-hot arm");
  if (position_onehot && group != Group::Position) parts.push_back("one-hot position");
  for (size_t i = 0; i < parts.size(); ++i) o << (i ? " ; " : "") << parts[i];
  o << "] with an intercept, L2 " << l2 << " (C = " << (l2 > 0 ? 1.0 / l2 : INFINITY) << ") on all but the intercept";
  return o.str();
}

RewardModelSpec reward_model_preset(const std::string& name) {
  RewardModelSpec s;
  s.name = name;
  if (name == "obp") {
    s.use_context = true;
    s.use_arm_features = true;
    s.arm_onehot = false;
    s.position_onehot = false;
    s.group = RewardModelSpec::Group::Position;
    s.link = RewardModelSpec::Link::Logistic;
    s.l2 = 0.01;
  } else if (name == "onehot") {
    s.use_context = true;
    s.use_arm_features = false;
    s.arm_onehot = true;
    s.position_onehot = true;
    s.group = RewardModelSpec::Group::None;
    s.l2 = 1.0;
  } else if (name == "per-arm") {
    s.use_context = true;
    s.use_arm_features = false;
    s.arm_onehot = false;
    s.position_onehot = true;
    s.group = RewardModelSpec::Group::Arm;
    s.l2 = 1.0;
  } else {
    throw OpeError("unknown reward model '" + name + "' (expected obp, onehot or per-arm)");
  }
  return s;
}

namespace {

struct Layout {  // column offsets of the feature blocks (column 0 is the intercept)
  int ctx = -1, armf = -1, arm1 = -1, pos1 = -1, dim = 1;
};

Layout layout_of(const BanditLog& log, const RewardModelSpec& s) {
  Layout L;
  if (s.use_context && log.context_dim) L.ctx = L.dim, L.dim += static_cast<int>(log.context_dim);
  if (s.use_arm_features && log.arm_feature_dim && s.group != RewardModelSpec::Group::Arm)
    L.armf = L.dim, L.dim += static_cast<int>(log.arm_feature_dim);
  if (s.arm_onehot && s.group != RewardModelSpec::Group::Arm && log.n_arms > 1)
    L.arm1 = L.dim, L.dim += static_cast<int>(log.n_arms);
  if (s.position_onehot && s.group != RewardModelSpec::Group::Position && log.n_positions > 1)
    L.pos1 = L.dim, L.dim += static_cast<int>(log.n_positions);
  return L;
}

void fill_row(const BanditLog& log, const Layout& L, size_t i, uint32_t a, uint32_t p, double* out) {
  std::fill(out, out + L.dim, 0.0);
  out[0] = 1.0;
  if (L.ctx >= 0)
    for (uint32_t k = 0; k < log.context_dim; ++k) out[L.ctx + k] = log.context[i * log.context_dim + k];
  if (L.armf >= 0)
    for (uint32_t k = 0; k < log.arm_feature_dim; ++k) out[L.armf + k] = log.arm_features[a * log.arm_feature_dim + k];
  if (L.arm1 >= 0) out[L.arm1 + a] = 1.0;
  if (L.pos1 >= 0) out[L.pos1 + p] = 1.0;
}

double log1pexp(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// Penalized logistic regression by Newton's method; column 0 (intercept) is not penalized.
Eigen::VectorXd fit_logistic(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, double l2) {
  const Eigen::Index m = X.rows(), d = X.cols();
  Eigen::VectorXd pen = Eigen::VectorXd::Constant(d, l2);
  pen[0] = 0;
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(d);
  const double ybar = std::clamp(y.mean(), 1e-6, 1 - 1e-6);
  beta[0] = std::log(ybar / (1 - ybar));
  auto objective = [&](const Eigen::VectorXd& b) {
    const Eigen::VectorXd eta = X * b;
    double f = 0;
    for (Eigen::Index i = 0; i < m; ++i) f += log1pexp(eta[i]) - y[i] * eta[i];
    return f + 0.5 * (pen.array() * b.array().square()).sum();
  };
  double f = objective(beta);
  for (int it = 0; it < 200; ++it) {
    const Eigen::VectorXd eta = X * beta;
    Eigen::VectorXd mu(m), wdiag(m);
    for (Eigen::Index i = 0; i < m; ++i) {
      mu[i] = sigmoid(eta[i]);
      wdiag[i] = std::max(mu[i] * (1 - mu[i]), 1e-12);
    }
    const Eigen::VectorXd grad = X.transpose() * (mu - y) + pen.cwiseProduct(beta);
    Eigen::MatrixXd H = X.transpose() * wdiag.asDiagonal() * X;
    H.diagonal() += pen;
    H.diagonal().array() += 1e-10;  // keeps the factorization defined for an all-zero column
    const Eigen::VectorXd step = H.ldlt().solve(grad);
    const double dec = grad.dot(step);
    if (!std::isfinite(dec)) break;
    double t = 1.0, fn = f;
    Eigen::VectorXd nb;
    for (int ls = 0; ls < 60; ++ls) {
      nb = beta - t * step;
      fn = objective(nb);
      if (fn <= f - 1e-4 * t * dec) break;
      t *= 0.5;
    }
    if (!(fn <= f)) break;  // no progress possible: at the optimum to machine precision
    beta = nb;
    const double df = f - fn;
    f = fn;
    if (step.lpNorm<Eigen::Infinity>() * t < 1e-10 || df < 1e-14 * std::max(1.0, std::abs(f))) break;
  }
  return beta;
}

Eigen::VectorXd fit_ridge(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, double l2) {
  Eigen::MatrixXd A = X.transpose() * X;
  for (Eigen::Index j = 1; j < A.cols(); ++j) A(j, j) += l2;
  A.diagonal().array() += 1e-10;
  return A.ldlt().solve(X.transpose() * y);
}

}  // namespace

RewardPredictions cross_fit(const BanditLog& log, const RewardModelSpec& spec, const std::vector<uint32_t>& fold,
                            uint32_t folds) {
  const size_t n = log.size();
  if (fold.size() != n) throw OpeError("cross_fit: one fold per row expected");
  if (folds < 2) throw OpeError("cross-fitting needs at least 2 folds (--folds)");
  if (n < folds) throw OpeError("cross-fitting: fewer rows (" + std::to_string(n) + ") than folds");
  const bool logistic = spec.link == RewardModelSpec::Link::Logistic ||
                        (spec.link == RewardModelSpec::Link::Auto && log.binary_reward());
  if (logistic && !log.binary_reward())
    throw OpeError("reward model '" + spec.name + "' is logistic but the rewards are not all 0 or 1");
  const Layout L = layout_of(log, spec);
  const uint32_t A = log.n_arms;
  RewardPredictions out;
  out.n_arms = A;
  out.q.assign(n * A, 0.0);
  out.folds = folds;
  out.logistic = logistic;
  RewardModelSpec shown = spec;
  shown.link = logistic ? RewardModelSpec::Link::Logistic : RewardModelSpec::Link::Identity;
  out.description = shown.describe() + ", " + std::to_string(folds) + "-fold cross-fitted";
  std::vector<double> const_pred(n, 0.0);
  const uint32_t n_groups = spec.group == RewardModelSpec::Group::None       ? 1
                            : spec.group == RewardModelSpec::Group::Position ? log.n_positions
                                                                             : A;
  auto group_of_row = [&](size_t i) -> uint32_t {
    return spec.group == RewardModelSpec::Group::None ? 0 : spec.group == RewardModelSpec::Group::Position ? log.position[i] : log.arm[i];
  };
  std::vector<double> feat(static_cast<size_t>(L.dim));
  for (uint32_t k = 0; k < folds; ++k) {
    std::vector<size_t> train, test;
    for (size_t i = 0; i < n; ++i) (fold[i] == k ? test : train).push_back(i);
    if (test.empty()) continue;
    double train_mean = 0;
    for (size_t i : train) train_mean += log.reward[i];
    train_mean = train.empty() ? 0.0 : train_mean / static_cast<double>(train.size());
    for (size_t i : test) const_pred[i] = train_mean;
    for (uint32_t g = 0; g < n_groups; ++g) {
      std::vector<size_t> rows;
      for (size_t i : train)
        if (group_of_row(i) == g) rows.push_back(i);
      Eigen::VectorXd beta;
      bool constant = rows.empty();
      double cval = train_mean;
      if (!rows.empty()) {
        Eigen::VectorXd y(static_cast<Eigen::Index>(rows.size()));
        for (size_t j = 0; j < rows.size(); ++j) y[static_cast<Eigen::Index>(j)] = log.reward[rows[j]];
        if (logistic && (y.minCoeff() == y.maxCoeff())) {
          constant = true;  // a single class: the MLE is at infinity; predict the group's rate
          cval = y.mean();
        } else {
          Eigen::MatrixXd X(static_cast<Eigen::Index>(rows.size()), L.dim);
          for (size_t j = 0; j < rows.size(); ++j) {
            const size_t i = rows[j];
            fill_row(log, L, i, log.arm[i], log.position[i], feat.data());
            for (int c = 0; c < L.dim; ++c) X(static_cast<Eigen::Index>(j), c) = feat[static_cast<size_t>(c)];
          }
          beta = logistic ? fit_logistic(X, y, spec.l2) : fit_ridge(X, y, spec.l2);
        }
      }
      if (constant) ++out.constant_groups;
      // Predict this group's cells of the test rows.
      for (size_t i : test) {
        for (uint32_t a = 0; a < A; ++a) {
          const uint32_t p = log.position[i];
          const bool mine = spec.group == RewardModelSpec::Group::None       ? true
                            : spec.group == RewardModelSpec::Group::Position ? p == g
                                                                             : a == g;
          if (!mine) continue;
          double v;
          if (constant) {
            v = cval;
          } else {
            fill_row(log, L, i, a, p, feat.data());
            double eta = 0;
            for (int c = 0; c < L.dim; ++c) eta += beta[c] * feat[static_cast<size_t>(c)];
            v = logistic ? sigmoid(eta) : eta;
          }
          out.q[i * A + a] = v;
        }
      }
    }
  }
  double se = 0, sc = 0, sq = 0, sr = 0;
  for (size_t i = 0; i < n; ++i) {
    const double r = log.reward[i], qh = out.q[i * A + log.arm[i]];
    se += (r - qh) * (r - qh);
    sc += (r - const_pred[i]) * (r - const_pred[i]);
    sq += qh;
    sr += r;
  }
  out.mse = se / static_cast<double>(n);
  out.mse_constant = sc / static_cast<double>(n);
  out.skill = out.mse_constant > 0 ? 1.0 - out.mse / out.mse_constant : NAN;
  out.calibration = sr != 0 ? sq / sr : NAN;
  return out;
}

}  // namespace disco::eval::ope

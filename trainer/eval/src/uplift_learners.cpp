// The S-, T-, X-, DR- and class-transformation learners for one treated arm against control, the
// per-arm UpliftModel, and the table of a canonical log.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <unordered_map>

#include "disco/data/dataset.h"
#include "disco/eval/uplift.h"
#include "uplift_base.h"

namespace disco::eval::uplift {

using detail::BaseModel;
using detail::Matrix;

const char* to_string(LearnerKind k) {
  switch (k) {
    case LearnerKind::S: return "s";
    case LearnerKind::T: return "t";
    case LearnerKind::X: return "x";
    case LearnerKind::DR: return "dr";
    case LearnerKind::CT: return "ct";
  }
  return "?";
}

const char* to_string(BaseKind k) { return k == BaseKind::Xgb ? "xgb" : "linear"; }

bool parse_learner(std::string_view s, LearnerKind& out) {
  for (LearnerKind k : {LearnerKind::S, LearnerKind::T, LearnerKind::X, LearnerKind::DR, LearnerKind::CT})
    if (s == to_string(k)) {
      out = k;
      return true;
    }
  return false;
}

bool parse_base(std::string_view s, BaseKind& out) {
  if (s == "xgb" || s == "xgboost" || s == "trees") out = BaseKind::Xgb;
  else if (s == "linear" || s == "logistic") out = BaseKind::Linear;
  else return false;
  return true;
}

std::string LearnerConfig::name() const { return std::string(to_string(learner)) + "/" + to_string(base); }

const char* to_string(LogTarget t) {
  switch (t) {
    case LogTarget::Conversion: return "conversion";
    case LogTarget::Margin: return "margin";
    case LogTarget::Revenue: return "revenue";
  }
  return "?";
}

bool parse_log_target(std::string_view s, LogTarget& out) {
  if (s == "conversion" || s == "converted") out = LogTarget::Conversion;
  else if (s == "margin") out = LogTarget::Margin;
  else if (s == "revenue" || s == "spend") out = LogTarget::Revenue;
  else return false;
  return true;
}

void UpliftData::validate() const {
  const size_t n = y.size(), d = feature_names.size();
  if (x.size() != n * d)
    throw UpliftError("uplift data: " + std::to_string(x.size()) + " feature values for " + std::to_string(n) +
                      " rows x " + std::to_string(d) + " features");
  if (arm.size() != n) throw UpliftError("uplift data: " + std::to_string(arm.size()) + " arms for " + std::to_string(n) + " rows");
  if (!weight.empty() && weight.size() != n)
    throw UpliftError("uplift data: " + std::to_string(weight.size()) + " weights for " + std::to_string(n) + " rows");
  if (!group.empty() && group.size() != n)
    throw UpliftError("uplift data: " + std::to_string(group.size()) + " groups for " + std::to_string(n) + " rows");
  for (size_t i = 0; i < n; ++i) {
    if (arm[i] < 0) throw UpliftError("uplift data: row " + std::to_string(i) + " has arm " + std::to_string(arm[i]));
    if (!std::isfinite(y[i])) throw UpliftError("uplift data: row " + std::to_string(i) + ": outcome is not finite");
    if (!weight.empty() && !(weight[i] > 0 && std::isfinite(weight[i])))
      throw UpliftError("uplift data: row " + std::to_string(i) + ": weight " + std::to_string(weight[i]) +
                        " (expected a finite value > 0)");
  }
}

UpliftData UpliftData::subset(const std::vector<size_t>& rows) const {
  UpliftData o;
  o.feature_names = feature_names;
  o.notes = notes;
  const size_t d = n_features();
  o.x.reserve(rows.size() * d);
  for (size_t i : rows) {
    o.x.insert(o.x.end(), x.begin() + static_cast<std::ptrdiff_t>(i * d), x.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
    o.arm.push_back(arm[i]);
    o.y.push_back(y[i]);
    if (!weight.empty()) o.weight.push_back(weight[i]);
    if (!group.empty()) o.group.push_back(group[i]);
  }
  return o;
}

namespace {

// Rows `idx` of x (columns `cols`), with optional extra columns appended by `extra(i, out)`.
Matrix gather(const float* x, size_t d, const std::vector<size_t>& idx, const std::vector<size_t>& cols) {
  Matrix m;
  m.rows = idx.size();
  m.cols = cols.size();
  m.v.resize(m.rows * m.cols);
  for (size_t k = 0; k < idx.size(); ++k)
    for (size_t j = 0; j < cols.size(); ++j) m.v[k * m.cols + j] = x[idx[k] * d + cols[j]];
  return m;
}

std::vector<double> pick(std::span<const double> v, const std::vector<size_t>& idx) {
  std::vector<double> o;
  if (v.empty()) return o;
  o.reserve(idx.size());
  for (size_t i : idx) o.push_back(v[i]);
  return o;
}

// The S-learner's design: [x, t] for trees; [x, t, t*x] for the linear model (else its effect
// would be one constant in log-odds).
Matrix s_design(const Matrix& x, const std::vector<double>& t, bool interactions) {
  Matrix m;
  m.rows = x.rows;
  m.cols = x.cols + 1 + (interactions ? x.cols : 0);
  m.v.resize(m.rows * m.cols);
  for (size_t i = 0; i < x.rows; ++i) {
    float* o = m.v.data() + i * m.cols;
    std::copy(x.row(i), x.row(i) + x.cols, o);
    o[x.cols] = static_cast<float>(t[i]);
    if (interactions)
      for (size_t j = 0; j < x.cols; ++j) {
        const float v = x.row(i)[j];
        o[x.cols + 1 + j] = std::isnan(v) ? v : v * static_cast<float>(t[i]);
      }
  }
  return m;
}

class PairModel final : public PairEffect {
 public:
  PairModel(const LearnerConfig& cfg, bool binary, size_t d, std::vector<size_t> cols)
      : cfg_(cfg), binary_(binary), d_(d), cols_(std::move(cols)) {}

  void fit(const float* x, size_t n, std::span<const double> y, std::span<const uint8_t> t, std::span<const double> w) {
    std::vector<size_t> all(n);
    std::iota(all.begin(), all.end(), size_t{0});
    const Matrix xa = gather(x, d_, all, cols_);
    double sw = 0, swt = 0;
    for (size_t i = 0; i < n; ++i) {
      const double wi = w.empty() ? 1.0 : w[i];
      sw += wi;
      swt += wi * t[i];
    }
    e_ = swt / sw;
    std::vector<size_t> tr, co;
    for (size_t i = 0; i < n; ++i) (t[i] ? tr : co).push_back(i);
    uint64_t role = 0;
    auto seed = [&] { return cfg_.seed * 0x9e3779b97f4a7c15ULL + (++role) * 0x632be59bd9b4e019ULL; };
    auto fit_on = [&](const std::vector<size_t>& rows, const std::vector<double>& target, bool logistic) {
      std::unique_ptr<BaseModel> m = detail::make_base(cfg_);
      const Matrix xm = gather(x, d_, rows, cols_);
      const std::vector<double> wm = pick(w, rows);
      m->fit(xm, target, wm, logistic, seed());
      return m;
    };
    const std::vector<double> yv(y.begin(), y.end());
    switch (cfg_.learner) {
      case LearnerKind::S: {
        std::vector<double> tv(t.begin(), t.end());
        const Matrix xs = s_design(xa, tv, cfg_.base == BaseKind::Linear);
        auto m = detail::make_base(cfg_);
        m->fit(xs, yv, w, binary_, seed());
        models_.push_back(std::move(m));
        break;
      }
      case LearnerKind::T:
      case LearnerKind::X: {
        models_.push_back(fit_on(co, pick(yv, co), binary_));  // mu0
        models_.push_back(fit_on(tr, pick(yv, tr), binary_));  // mu1
        if (cfg_.learner == LearnerKind::T) break;
        const Matrix xt = gather(x, d_, tr, cols_), xc = gather(x, d_, co, cols_);
        const std::vector<double> m0t = models_[0]->predict(xt), m1c = models_[1]->predict(xc);
        std::vector<double> d1(tr.size()), d0(co.size());
        for (size_t k = 0; k < tr.size(); ++k) d1[k] = y[tr[k]] - m0t[k];
        for (size_t k = 0; k < co.size(); ++k) d0[k] = m1c[k] - y[co[k]];
        models_.push_back(fit_on(tr, d1, false));  // tau1
        models_.push_back(fit_on(co, d0, false));  // tau0
        break;
      }
      case LearnerKind::DR: {
        const int k_folds = std::max(2, cfg_.dr_folds);
        std::vector<size_t> perm = all;
        detail::shuffle(perm, seed());
        std::vector<int> fold(n);
        for (size_t k = 0; k < n; ++k) fold[perm[k]] = static_cast<int>(k % static_cast<size_t>(k_folds));
        std::vector<double> phi(n);
        for (int f = 0; f < k_folds; ++f) {
          std::vector<size_t> in, tr_o, co_o;
          for (size_t i = 0; i < n; ++i) {
            if (fold[i] == f) in.push_back(i);
            else (t[i] ? tr_o : co_o).push_back(i);
          }
          if (tr_o.empty() || co_o.empty())
            throw UpliftError("dr-learner: a cross-fitting fold leaves no treated or no control rows");
          const auto m0 = fit_on(co_o, pick(yv, co_o), binary_);
          const auto m1 = fit_on(tr_o, pick(yv, tr_o), binary_);
          const Matrix xi = gather(x, d_, in, cols_);
          const std::vector<double> p0 = m0->predict(xi), p1 = m1->predict(xi);
          for (size_t k = 0; k < in.size(); ++k) {
            const size_t i = in[k];
            phi[i] = p1[k] - p0[k] + (t[i] ? (y[i] - p1[k]) / e_ : -(y[i] - p0[k]) / (1 - e_));
          }
        }
        auto m = detail::make_base(cfg_);
        m->fit(xa, phi, w, false, seed());
        models_.push_back(std::move(m));
        break;
      }
      case LearnerKind::CT: {
        std::vector<double> z(n), wz(n);
        for (size_t i = 0; i < n; ++i) {
          const double wi = w.empty() ? 1.0 : w[i];
          if (binary_) {
            z[i] = t[i] ? y[i] : 1.0 - y[i];
            wz[i] = wi * (t[i] ? 0.5 / e_ : 0.5 / (1 - e_));  // treated and control weigh the same
          } else {
            z[i] = y[i] * (t[i] - e_) / (e_ * (1 - e_));
            wz[i] = wi;
          }
        }
        auto m = detail::make_base(cfg_);
        m->fit(xa, z, wz, binary_, seed());
        models_.push_back(std::move(m));
        break;
      }
    }
  }

  void predict(const float* x, size_t n, double* tau) const override {
    if (n == 0) return;
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), size_t{0});
    const Matrix xa = gather(x, d_, idx, cols_);
    switch (cfg_.learner) {
      case LearnerKind::S: {
        const bool inter = cfg_.base == BaseKind::Linear;
        const std::vector<double> p1 = models_[0]->predict(s_design(xa, std::vector<double>(n, 1.0), inter));
        const std::vector<double> p0 = models_[0]->predict(s_design(xa, std::vector<double>(n, 0.0), inter));
        for (size_t i = 0; i < n; ++i) tau[i] = p1[i] - p0[i];
        break;
      }
      case LearnerKind::T: {
        const auto p0 = models_[0]->predict(xa), p1 = models_[1]->predict(xa);
        for (size_t i = 0; i < n; ++i) tau[i] = p1[i] - p0[i];
        break;
      }
      case LearnerKind::X: {
        const auto t1 = models_[2]->predict(xa), t0 = models_[3]->predict(xa);
        for (size_t i = 0; i < n; ++i) tau[i] = e_ * t0[i] + (1 - e_) * t1[i];
        break;
      }
      case LearnerKind::DR: {
        const auto p = models_[0]->predict(xa);
        std::copy(p.begin(), p.end(), tau);
        break;
      }
      case LearnerKind::CT: {
        const auto p = models_[0]->predict(xa);
        for (size_t i = 0; i < n; ++i) tau[i] = binary_ ? 2 * p[i] - 1 : p[i];
        break;
      }
    }
  }

 private:
  LearnerConfig cfg_;
  bool binary_;
  size_t d_;
  std::vector<size_t> cols_;
  double e_ = 0.5;
  std::vector<std::unique_ptr<BaseModel>> models_;
};

}  // namespace

std::unique_ptr<PairEffect> fit_pair(const float* x, size_t n, size_t d, std::span<const double> y,
                                     std::span<const uint8_t> t, std::span<const double> w, bool binary,
                                     const LearnerConfig& cfg) {
  if (y.size() != n || t.size() != n || (!w.empty() && w.size() != n))
    throw UpliftError("fit_pair: " + std::to_string(n) + " rows but " + std::to_string(y.size()) + " outcomes, " +
                      std::to_string(t.size()) + " treatments, " + std::to_string(w.size()) + " weights");
  size_t n1 = 0;
  for (size_t i = 0; i < n; ++i) {
    if (t[i] > 1) throw UpliftError("fit_pair: treatment[" + std::to_string(i) + "] is not 0/1");
    if (binary && y[i] != 0.0 && y[i] != 1.0)
      throw UpliftError("fit_pair: binary target but y[" + std::to_string(i) + "] = " + std::to_string(y[i]));
    n1 += t[i];
  }
  if (n1 < 2 || n - n1 < 2)
    throw UpliftError("fit_pair: needs at least 2 treated and 2 control rows (treated " + std::to_string(n1) +
                      ", control " + std::to_string(n - n1) + ")");
  // columns constant within each group reveal t and carry no heterogeneity: ignored
  std::vector<size_t> cols;
  for (size_t j = 0; j < d; ++j) {
    bool varies = false;
    float first[2] = {0, 0};
    bool seen[2] = {false, false};
    for (size_t i = 0; i < n && !varies; ++i) {
      const float v = x[i * d + j];
      const int g = t[i];
      if (!seen[g]) {
        seen[g] = true;
        first[g] = v;
      } else if (!(v == first[g] || (std::isnan(v) && std::isnan(first[g])))) {
        varies = true;
      }
    }
    if (varies) cols.push_back(j);
  }
  // weights normalized to mean 1 (XGBoost's min_child_weight and the l2 penalty keep their scale)
  std::vector<double> wn;
  if (!w.empty()) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!(w[i] > 0 && std::isfinite(w[i]))) throw UpliftError("fit_pair: weight[" + std::to_string(i) + "] is not > 0");
      s += w[i];
    }
    wn.resize(n);
    for (size_t i = 0; i < n; ++i) wn[i] = w[i] * static_cast<double>(n) / s;
  }
  auto m = std::make_unique<PairModel>(cfg, binary, d, std::move(cols));
  m->fit(x, n, y, t, wn);
  return m;
}

// ---------------------------------------------------------------------------------------------
UpliftModel::UpliftModel(UpliftModel&&) noexcept = default;
UpliftModel& UpliftModel::operator=(UpliftModel&&) noexcept = default;
UpliftModel::~UpliftModel() = default;

UpliftModel UpliftModel::fit(const UpliftData& data, const UpliftConfig& cfg) {
  data.validate();
  UpliftModel m;
  m.cfg_ = cfg;
  m.control_ = cfg.control_arm;
  m.feature_names_ = data.feature_names;
  bool all01 = true;
  for (double v : data.y) all01 = all01 && (v == 0.0 || v == 1.0);
  if (cfg.binary == 1 && !all01) throw UpliftError("uplift model: binary target requested but the outcomes are not all 0/1");
  m.binary_ = cfg.binary == -1 ? all01 : cfg.binary == 1;
  std::vector<size_t> count;
  for (int a : data.arm) {
    if (static_cast<size_t>(a) >= count.size()) count.resize(static_cast<size_t>(a) + 1, 0);
    ++count[static_cast<size_t>(a)];
  }
  auto rows_of = [&](int a) { return a >= 0 && static_cast<size_t>(a) < count.size() ? count[static_cast<size_t>(a)] : 0; };
  if (rows_of(cfg.control_arm) < cfg.min_rows)
    throw UpliftError("uplift model: control arm " + std::to_string(cfg.control_arm) + " has " +
                      std::to_string(rows_of(cfg.control_arm)) + " rows (need >= " + std::to_string(cfg.min_rows) +
                      "): effects are measured against it");
  std::vector<int> arms = cfg.arms;
  if (arms.empty()) {
    for (size_t a = 0; a < count.size(); ++a) {
      if (static_cast<int>(a) == cfg.control_arm || count[a] == 0) continue;
      if (count[a] < cfg.min_rows) {
        m.skipped_.push_back("arm " + std::to_string(a) + ": " + std::to_string(count[a]) + " rows (< " +
                             std::to_string(cfg.min_rows) + ")");
        continue;
      }
      arms.push_back(static_cast<int>(a));
    }
    if (arms.empty())
      throw UpliftError("uplift model: no arm besides control " + std::to_string(cfg.control_arm) + " has >= " +
                        std::to_string(cfg.min_rows) + " rows");
  } else {
    std::sort(arms.begin(), arms.end());
    arms.erase(std::unique(arms.begin(), arms.end()), arms.end());
    for (int a : arms) {
      if (a == cfg.control_arm) throw UpliftError("uplift model: arm " + std::to_string(a) + " is the control arm");
      if (rows_of(a) < cfg.min_rows)
        throw UpliftError("uplift model: arm " + std::to_string(a) + " has " + std::to_string(rows_of(a)) +
                          " rows (need >= " + std::to_string(cfg.min_rows) + ")");
    }
  }
  const size_t d = data.n_features();
  for (int a : arms) {
    std::vector<size_t> rows;
    for (size_t i = 0; i < data.rows(); ++i)
      if (data.arm[i] == a || data.arm[i] == cfg.control_arm) rows.push_back(i);
    const UpliftData p = data.subset(rows);
    std::vector<uint8_t> t(p.rows());
    for (size_t i = 0; i < p.rows(); ++i) t[i] = p.arm[i] == a ? 1 : 0;
    LearnerConfig lc = cfg.learner;
    lc.seed = cfg.learner.seed * 1000003ULL + static_cast<uint64_t>(a);
    m.models_.push_back(fit_pair(p.x.data(), p.rows(), d, p.y, t, p.weight, m.binary_, lc));
    m.arms_.push_back(a);
  }
  return m;
}

std::vector<double> UpliftModel::effects(std::span<const float> context) const {
  if (context.size() != n_features())
    throw UpliftError("uplift model: context has " + std::to_string(context.size()) + " values, the model " +
                      std::to_string(n_features()));
  const int top = std::max(control_, arms_.empty() ? 0 : arms_.back());
  std::vector<double> out(static_cast<size_t>(top) + 1, NAN);
  out[static_cast<size_t>(control_)] = 0.0;
  for (size_t k = 0; k < arms_.size(); ++k) models_[k]->predict(context.data(), 1, &out[static_cast<size_t>(arms_[k])]);
  return out;
}

void UpliftModel::predict(int arm, const float* x, size_t n, double* out) const {
  for (size_t k = 0; k < arms_.size(); ++k)
    if (arms_[k] == arm) {
      models_[k]->predict(x, n, out);
      return;
    }
  throw UpliftError("uplift model: arm " + std::to_string(arm) + " was not fitted");
}

std::vector<LinearEffect> distill_linear(const UpliftModel& m, const float* x, size_t n) {
  const size_t d = m.n_features();
  if (n < 2) throw UpliftError("distill_linear: needs at least 2 contexts");
  std::vector<double> mean(d, 0.0), scale(d, 0.0);
  for (size_t j = 0; j < d; ++j) {
    double s = 0, ss = 0, c = 0;
    for (size_t i = 0; i < n; ++i) {
      const float v = x[i * d + j];
      if (std::isnan(v)) continue;
      s += v, ss += static_cast<double>(v) * v, c += 1;
    }
    mean[j] = c > 0 ? s / c : 0.0;
    const double var = c > 0 ? ss / c - mean[j] * mean[j] : 0.0;
    scale[j] = var > 1e-12 ? 1.0 / std::sqrt(var) : 0.0;
  }
  const auto N = static_cast<Eigen::Index>(n), D = static_cast<Eigen::Index>(d + 1);
  Eigen::MatrixXd z(N, D);
  for (size_t i = 0; i < n; ++i) {
    z(static_cast<Eigen::Index>(i), 0) = 1.0;
    for (size_t j = 0; j < d; ++j) {
      const float v = x[i * d + j];
      z(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j + 1)) = std::isnan(v) ? 0.0 : (v - mean[j]) * scale[j];
    }
  }
  Eigen::MatrixXd a = z.transpose() * z;
  a.diagonal().array() += 1e-9 * static_cast<double>(n);
  const auto solver = a.ldlt();
  std::vector<LinearEffect> out;
  std::vector<double> tau(n);
  for (int arm : m.arms()) {
    m.predict(arm, x, n, tau.data());
    Eigen::VectorXd t(N);
    for (size_t i = 0; i < n; ++i) t(static_cast<Eigen::Index>(i)) = tau[i];
    const Eigen::VectorXd w = solver.solve(z.transpose() * t);
    LinearEffect e;
    e.arm = arm;
    e.coef.resize(d);
    e.intercept = w(0);
    for (size_t j = 0; j < d; ++j) {
      e.coef[j] = w(static_cast<Eigen::Index>(j + 1)) * scale[j];
      e.intercept -= e.coef[j] * mean[j];
    }
    const Eigen::VectorXd r = t - z * w;
    const double sst = (t.array() - t.mean()).square().sum();
    e.r2 = sst > 0 ? 1.0 - r.squaredNorm() / sst : 1.0;
    out.push_back(std::move(e));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
namespace {
std::string decision_name(const data::Decision& d, size_t i) {
  char b[64];
  std::snprintf(b, sizeof b, "%016llx%016llx", static_cast<unsigned long long>(d.id_hi),
                static_cast<unsigned long long>(d.id_lo));
  return "decision " + std::string(b) + " (row " + std::to_string(i + 1) + ")";
}
}  // namespace

UpliftData uplift_data_from_log(const data::Dataset& ds, const LogTableOptions& opt) {
  if (ds.decisions.empty()) throw UpliftError("log " + ds.name + ": no decisions");
  const size_t dim = ds.decisions[0].context.size();
  const size_t nuf = ds.user_feature_names.size();
  const bool use_uf = opt.user_features && nuf > 0 && ds.user_features.size() == ds.user_ids.size() * nuf;
  if (dim == 0 && !use_uf)
    throw UpliftError("log " + ds.name + ": " + decision_name(ds.decisions[0], 0) +
                      " carries no context vector (decisions.csv needs the 'context' column, trainer/data/README.md) and "
                      "the log has no user features: nothing to learn per-context effects from");
  UpliftData t;
  if (use_uf) t.feature_names = ds.user_feature_names;
  for (size_t k = 0; k < dim; ++k)
    t.feature_names.push_back(ds.context_names.size() == dim ? ds.context_names[k] : "context[" + std::to_string(k) + "]");
  struct IdHash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& p) const { return std::hash<uint64_t>()(p.first * 31 + p.second); }
  };
  std::unordered_map<std::pair<uint64_t, uint64_t>, size_t, IdHash> outcome;
  outcome.reserve(ds.outcomes.size());
  for (size_t i = 0; i < ds.outcomes.size(); ++i) outcome.emplace(std::make_pair(ds.outcomes[i].id_hi, ds.outcomes[i].id_lo), i);
  const size_t n = ds.decisions.size();
  t.x.reserve(n * t.feature_names.size());
  size_t no_outcome = 0, certain = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& d = ds.decisions[i];
    if (d.context.size() != dim)
      throw UpliftError("log " + ds.name + ": " + decision_name(d, i) + " has " + std::to_string(d.context.size()) +
                        " context values, the first decision has " + std::to_string(dim));
    for (size_t k = 0; k < dim; ++k)
      if (!std::isfinite(d.context[k]))
        throw UpliftError("log " + ds.name + ": " + decision_name(d, i) + ": context value " + std::to_string(k) +
                          " is not finite");
    if (!(d.propensity > 0 && d.propensity <= 1))
      throw UpliftError("log " + ds.name + ": " + decision_name(d, i) + ": propensity " +
                        std::to_string(d.propensity) + " outside (0, 1]");
    if (d.propensity == 1.f) ++certain;
    if (use_uf) {
      if (d.user >= ds.user_ids.size())
        throw UpliftError("log " + ds.name + ": " + decision_name(d, i) + ": user index out of range");
      const float* u = ds.user_features.data() + static_cast<size_t>(d.user) * nuf;
      t.x.insert(t.x.end(), u, u + nuf);
    }
    t.x.insert(t.x.end(), d.context.begin(), d.context.end());
    t.arm.push_back(d.arm);
    double y = 0;
    const auto it = outcome.find({d.id_hi, d.id_lo});
    if (it == outcome.end()) {
      ++no_outcome;
    } else {
      const auto& o = ds.outcomes[it->second];
      y = opt.target == LogTarget::Conversion ? (o.converted ? 1.0 : 0.0)
          : opt.target == LogTarget::Margin   ? static_cast<double>(o.margin)
                                              : static_cast<double>(o.revenue);
    }
    t.y.push_back(y);
    t.weight.push_back(opt.weight_by_propensity ? 1.0 / d.propensity : 1.0);
    t.group.push_back(d.user);
  }
  if (certain == n)
    throw UpliftError("log " + ds.name + ": every logged propensity is 1: the log has no randomization (one policy "
                      "chose every arm for certain), so arm effects cannot be learned from it; log with exploration "
                      "(e.g. disco-sim --logging-policy uniform, or an epsilon policy)");
  if (no_outcome)
    t.notes.push_back(std::to_string(no_outcome) + " of " + std::to_string(n) +
                      " decisions have no outcome: counted as not converted, margin and revenue 0");
  if (certain)
    t.notes.push_back(std::to_string(certain) + " decisions were logged with propensity 1 (no exploration there)");
  return t;
}

}  // namespace disco::eval::uplift

// Discount bandit (bandit.h): per-arm Bayesian linear regression (configuration, statistics,
// posterior), mergeable sufficient statistics, and choose() / probabilities(), which prepare the
// eligible arms' posteriors and hand them to the policy (bandit/policy.h: one file per policy in
// bandit/, the exploration floor as a wrapper, the normal tables and quadrature in bandit/normal.cpp).
//
// Determinism: the linear algebra is a plain scalar Cholesky (d <= kMaxBanditDim) compiled with
// -ffp-contract=off, so it runs the same operations in the same order on x86-64 and WASM; sqrt is
// IEEE-exact and every transcendental comes from portable_math.h, so a decision is bit-identical
// on every platform. (Eigen's LLT did the same job at ~10 KB of wasm; the bandit's d <= 16
// matrices never needed its blocked kernels.)
#include "disco/bandit.h"

#include <algorithm>
#include <cmath>

#include "bandit/policy.h"
#include "text_internal.h"

namespace disco {
using bandit_detail::Dist;
using bandit_detail::Floored;
using bandit_detail::policy_of;
using bandit_detail::Prepared;
using detail::concat;
namespace {

bool finite(double v) { return v == v && v - v == 0.0; }

// In-place Cholesky A = L L^T of a row-major d x d matrix (only the lower triangle is read and
// written); false when A is not positive definite (or holds a non-finite value).
bool cholesky(double* a, uint32_t d) {
  for (uint32_t j = 0; j < d; ++j) {
    double s = a[j * d + j];
    for (uint32_t k = 0; k < j; ++k) s -= a[j * d + k] * a[j * d + k];
    if (!(s > 0.0) || !finite(s)) return false;
    const double ljj = std::sqrt(s);
    a[j * d + j] = ljj;
    for (uint32_t i = j + 1; i < d; ++i) {
      double t = a[i * d + j];
      for (uint32_t k = 0; k < j; ++k) t -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = t / ljj;
    }
  }
  return true;
}

// mu = (L L^T)^-1 b: forward then backward substitution.
void cholesky_solve(const double* l, uint32_t d, const double* b, double* mu) {
  for (uint32_t i = 0; i < d; ++i) {
    double t = b[i];
    for (uint32_t k = 0; k < i; ++k) t -= l[i * d + k] * mu[k];
    mu[i] = t / l[i * d + i];
  }
  for (uint32_t i = d; i-- > 0;) {
    double t = mu[i];
    for (uint32_t k = i + 1; k < d; ++k) t -= l[k * d + i] * mu[k];
    mu[i] = t / l[i * d + i];
  }
}

// Bound on |reward| and |x_i| accepted by update(): far beyond any scaled reward (|r| <= 4) or
// context feature (in [-1, 2]), small enough that sums of 1e9 updates stay finite.
constexpr double kMaxInput = 1e6;

std::string check_config(const BanditConfig& c) {
  if (c.n_arms < 1 || c.n_arms > kMaxArms)
    return concat("bandit: number of arms must be 1..", kMaxArms, ", got ", c.n_arms);
  if (c.dim < 1 || c.dim > kMaxBanditDim)
    return concat("bandit.context_dim must be 1..", kMaxBanditDim, ", got ", c.dim);
  if (static_cast<uint8_t>(c.algorithm) > 2) return "bandit.algorithm: unknown value";
  if (!finite(c.prior_precision) || !(c.prior_precision > 0.0))
    return concat("bandit.prior_precision must be > 0, got ", c.prior_precision);
  if (!finite(c.noise_scale) || !(c.noise_scale > 0.0))
    return concat("bandit.noise_scale must be > 0, got ", c.noise_scale);
  if (!finite(c.ucb_alpha) || c.ucb_alpha < 0.0) return concat("bandit.ucb_alpha must be >= 0, got ", c.ucb_alpha);
  if (!finite(c.epsilon) || c.epsilon < 0.0 || c.epsilon > 1.0)
    return concat("bandit.epsilon must be in [0, 1], got ", c.epsilon);
  if (!finite(c.exploration_floor) || c.exploration_floor < 0.0 || c.exploration_floor > 1.0)
    return concat("bandit.exploration_floor must be in [0, 1], got ", c.exploration_floor);
  return "";
}

BanditStats zero_stats(uint32_t n_arms, uint32_t dim) {
  BanditStats s;
  s.dim = dim;
  s.arms.resize(n_arms);
  for (ArmStats& a : s.arms) {
    a.A.assign(static_cast<size_t>(dim) * dim, 0.0);
    a.b.assign(dim, 0.0);
  }
  return s;
}

std::string check_stats(const BanditStats& s, uint32_t n_arms, uint32_t dim, const char* what) {
  const std::string w(what);
  if (s.dim != dim) return concat(w, ": context dim ", s.dim, " != ", dim);
  if (s.arms.size() != n_arms) return concat(w, ": ", s.arms.size(), " arms, expected ", n_arms);
  for (size_t a = 0; a < s.arms.size(); ++a) {
    const ArmStats& x = s.arms[a];
    const std::string where = concat(w, " arm ", a);
    if (x.A.size() != static_cast<size_t>(dim) * dim || x.b.size() != dim)
      return concat(where, ": matrix/vector sizes do not match dim ", dim);
    for (double v : x.A)
      if (!finite(v)) return concat(where, ": A has a non-finite entry");
    for (double v : x.b)
      if (!finite(v)) return concat(where, ": b has a non-finite entry");
    if (!finite(x.n) || x.n < 0.0 || !finite(x.reward_sum)) return concat(where, ": bad count or reward sum");
    for (uint32_t i = 0; i < dim; ++i) {
      if (x.A[i * dim + i] < 0.0) return concat(where, ": A has a negative diagonal");
      for (uint32_t j = 0; j < i; ++j)
        if (x.A[i * dim + j] != x.A[j * dim + i]) return concat(where, ": A is not symmetric");
    }
  }
  return "";
}

}  // namespace

double scaled_reward(double margin, double price) {
  if (!finite(margin) || !finite(price) || !(price > 0.0)) return 0.0;
  const double r = margin / price;
  return r < -kRewardClamp ? -kRewardClamp : (r > kRewardClamp ? kRewardClamp : r);
}

bool BanditStats::add(const BanditStats& o) {
  if (o.dim != dim || o.arms.size() != arms.size()) return false;
  for (size_t a = 0; a < arms.size(); ++a) {
    if (o.arms[a].A.size() != arms[a].A.size() || o.arms[a].b.size() != arms[a].b.size()) return false;
  }
  for (size_t a = 0; a < arms.size(); ++a) {
    ArmStats& x = arms[a];
    const ArmStats& y = o.arms[a];
    for (size_t i = 0; i < x.A.size(); ++i) x.A[i] += y.A[i];
    for (size_t i = 0; i < x.b.size(); ++i) x.b[i] += y.b[i];
    x.n += y.n;
    x.reward_sum += y.reward_sum;
  }
  return true;
}

std::string Bandit::configure(const BanditConfig& config, const std::vector<double>& prior_A,
                              const std::vector<double>& prior_b, const std::vector<double>& prior_n) {
  std::string err = check_config(config);
  if (!err.empty()) return err;
  const uint32_t n = config.n_arms, d = config.dim;
  BanditStats prior = zero_stats(n, d);
  if (!prior_A.empty()) {
    if (prior_A.size() != static_cast<size_t>(n) * d * d)
      return concat("bandit.prior_a has ", prior_A.size(),
                    " values, expected n_arms*dim*dim = ", static_cast<size_t>(n) * d * d);
    for (uint32_t a = 0; a < n; ++a)
      std::copy(prior_A.begin() + static_cast<ptrdiff_t>(a) * d * d,
                prior_A.begin() + static_cast<ptrdiff_t>(a + 1) * d * d, prior.arms[a].A.begin());
  }
  if (!prior_b.empty()) {
    if (prior_b.size() != static_cast<size_t>(n) * d)
      return concat("bandit.prior_b has ", prior_b.size(),
                    " values, expected n_arms*dim = ", static_cast<size_t>(n) * d);
    for (uint32_t a = 0; a < n; ++a)
      std::copy(prior_b.begin() + static_cast<ptrdiff_t>(a) * d,
                prior_b.begin() + static_cast<ptrdiff_t>(a + 1) * d, prior.arms[a].b.begin());
  }
  if (!prior_n.empty()) {
    if (prior_n.size() != n) return concat("bandit.prior_n has ", prior_n.size(), " values, expected n_arms = ", n);
    for (uint32_t a = 0; a < n; ++a) prior.arms[a].n = prior_n[a];
  }
  err = check_stats(prior, n, d, "bandit prior");
  if (!err.empty()) return err;
  // The warm start must keep every arm's A positive definite.
  for (uint32_t a = 0; a < n; ++a) {
    double A[kMaxBanditDim * kMaxBanditDim];
    for (uint32_t i = 0; i < d; ++i)
      for (uint32_t j = 0; j < d; ++j)
        A[i * d + j] = (i == j ? config.prior_precision : 0.0) + prior.arms[a].A[i * d + j];
    if (!cholesky(A, d)) return concat("bandit.prior_a for arm ", a, " is not positive semi-definite");
  }
  config_ = config;
  prior_ = std::move(prior);
  data_ = zero_stats(n, d);
  delta_ = zero_stats(n, d);
  load_error_.clear();
  rebuild_all();
  return "";
}

void Bandit::rebuild_all() {
  const uint32_t n = config_.n_arms, d = config_.dim;
  chol_.assign(static_cast<size_t>(n) * d * d, 0.0);
  mu_.assign(static_cast<size_t>(n) * d, 0.0);
  for (uint32_t a = 0; a < n; ++a) rebuild(a);
}

void Bandit::rebuild(uint32_t arm) {
  const uint32_t d = config_.dim;
  const ArmStats& p = prior_.arms[arm];
  const ArmStats& x = data_.arms[arm];
  double L[kMaxBanditDim * kMaxBanditDim];
  double b[kMaxBanditDim], mu[kMaxBanditDim];
  for (uint32_t i = 0; i < d; ++i) {
    for (uint32_t j = 0; j < d; ++j)
      L[i * d + j] = ((i == j ? config_.prior_precision : 0.0) + p.A[i * d + j]) + x.A[i * d + j];
    b[i] = p.b[i] + x.b[i];
  }
  bool ok = cholesky(L, d);
  if (ok) cholesky_solve(L, d, b, mu);
  for (uint32_t i = 0; ok && i < d; ++i) {
    ok = finite(mu[i]) && L[i * d + i] > 0.0;
    for (uint32_t j = 0; ok && j <= i; ++j) ok = finite(L[i * d + j]);
  }
  // A = lambda I + PSD terms is positive definite; this can only fail when merged statistics
  // overflow. Fall back to the prior alone so decisions stay defined (never NaN).
  if (!ok) {
    const double r = std::sqrt(config_.prior_precision);
    for (uint32_t i = 0; i < d; ++i) {
      for (uint32_t j = 0; j < d; ++j) L[i * d + j] = i == j ? r : 0.0;
      mu[i] = 0.0;
    }
  }
  double* l = &chol_[static_cast<size_t>(arm) * d * d];
  for (uint32_t i = 0; i < d; ++i)
    for (uint32_t j = 0; j < d; ++j) l[i * d + j] = j < i ? L[i * d + j] : (j == i ? 1.0 / L[i * d + i] : 0.0);
  for (uint32_t i = 0; i < d; ++i) mu_[static_cast<size_t>(arm) * d + i] = mu[i];
}

namespace {
// x as doubles, non-finite -> 0.
void to_double(const float* x, uint32_t d, double* out) {
  for (uint32_t i = 0; i < d; ++i) {
    const double v = x ? static_cast<double>(x[i]) : 0.0;
    out[i] = finite(v) ? v : 0.0;
  }
}
}  // namespace

// Posterior of x.theta_a: mean x.mu_a and stddev v * ||L_a^-1 x|| (forward substitution;
// `chol` is L with 1 / L_ii on its diagonal, so the substitution needs no division).
static inline void posterior(const double* chol, const double* mu, uint32_t d, double v,
                             const double* x, double* mean, double* sd) {
  double m = 0.0;
  for (uint32_t i = 0; i < d; ++i) m += x[i] * mu[i];
  double y[kMaxBanditDim];
  double q = 0.0;
  for (uint32_t i = 0; i < d; ++i) {
    double acc = x[i];
    for (uint32_t k = 0; k < i; ++k) acc -= chol[i * d + k] * y[k];
    y[i] = acc * chol[i * d + i];  // the cache stores 1 / L_ii on the diagonal
    q += y[i] * y[i];
  }
  *mean = m;
  *sd = v * std::sqrt(q);
}

void Bandit::posterior_of(uint32_t arm, const float* x, double* mean, double* sd) const {
  const uint32_t d = config_.dim;
  double xd[kMaxBanditDim];
  to_double(x, d, xd);
  posterior(&chol_[static_cast<size_t>(arm) * d * d], &mu_[static_cast<size_t>(arm) * d], d,
            config_.noise_scale, xd, mean, sd);
}

double Bandit::mean(uint32_t arm, const float* x) const {
  if (!configured() || arm >= config_.n_arms) return 0.0;
  double m, s;
  posterior_of(arm, x, &m, &s);
  return m;
}

double Bandit::stddev(uint32_t arm, const float* x) const {
  if (!configured() || arm >= config_.n_arms) return 0.0;
  double m, s;
  posterior_of(arm, x, &m, &s);
  return s;
}

// Shared by choose() and probabilities(): the eligible set and each eligible arm's posterior.
static void prepare(const BanditConfig& c, const std::vector<double>& chol,
                    const std::vector<double>& mu, const float* x, uint32_t mask, const double* offsets,
                    Prepared* p) {
  const uint32_t d = c.dim;
  double xd[kMaxBanditDim];
  to_double(x, d, xd);
  if (c.n_arms < 32) mask &= (1u << c.n_arms) - 1u;
  if (mask == 0) mask = 1u;  // nothing allowed: arm 0 (no discount)
  p->n = 0;
  double max_abs_mean = 0.0;
  for (uint32_t a = 0; a < kMaxArms; ++a) p->slot[a] = -1;
  for (uint32_t a = 0; a < c.n_arms; ++a) {
    if (!(mask >> a & 1u)) continue;
    double m, s;
    posterior(&chol[static_cast<size_t>(a) * d * d], &mu[static_cast<size_t>(a) * d], d,
              c.noise_scale, xd, &m, &s);
    if (offsets) m += offsets[a];  // the value model's continuation (value_model.h)
    p->slot[a] = static_cast<int>(p->n);
    p->arms[p->n] = a;
    p->dist[p->n] = Dist{m, s};
    max_abs_mean = std::max(max_abs_mean, m < 0 ? -m : m);
    ++p->n;
  }
  // A zero context gives zero spread: floor it so ties are broken by the draws, consistently
  // with the quadrature (equal means -> equal probabilities).
  const double floor_sd = 1e-9 * (1.0 + max_abs_mean);
  for (uint32_t k = 0; k < p->n; ++k)
    if (!(p->dist[k].s > floor_sd)) p->dist[k].s = floor_sd;
}

void Bandit::probabilities(const float* x, uint32_t eligible_mask, double out[kMaxArms],
                           const double* offsets) const {
  for (uint32_t a = 0; a < kMaxArms; ++a) out[a] = 0.0;
  if (!configured()) {
    out[0] = 1.0;
    return;
  }
  Prepared p;
  prepare(config_, chol_, mu_, x, eligible_mask, offsets, &p);
  const Floored policy{policy_of(config_.algorithm), config_.exploration_floor};
  double pr[kMaxArms];
  policy.probabilities(config_, p, pr);
  for (uint32_t k = 0; k < p.n; ++k) out[p.arms[k]] = pr[k];
}

Choice Bandit::choose(const float* x, uint32_t eligible_mask, Rng& rng, bool all_probabilities,
                      const double* offsets) const {
  Choice ch;
  if (!configured()) return ch;  // arm 0, propensity 1
  Prepared p;
  prepare(config_, chol_, mu_, x, eligible_mask, offsets, &p);
  ch.n_eligible = p.n;
  const Floored policy{policy_of(config_.algorithm), config_.exploration_floor};
  const int pick = policy.draw(config_, p, rng, &ch.score, &ch.explored);
  ch.arm = p.arms[pick];
  if (all_probabilities) {
    double pr[kMaxArms];
    policy.probabilities(config_, p, pr);
    for (uint32_t k = 0; k < p.n; ++k) ch.probabilities[p.arms[k]] = pr[k];
    ch.propensity = ch.probabilities[ch.arm];
  } else {
    ch.propensity = policy.probability(config_, p, pick);
    ch.probabilities[ch.arm] = ch.propensity;
  }
  return ch;
}

bool Bandit::update(uint32_t arm, const float* x, double reward) {
  if (!configured() || arm >= config_.n_arms || x == nullptr || !finite(reward)) return false;
  const uint32_t d = config_.dim;
  if (!add_observation(data_.arms[arm], d, x, reward)) return false;
  add_observation(delta_.arms[arm], d, x, reward);  // same inputs, same sizes: cannot fail
  rebuild(arm);
  return true;
}

bool add_observation(ArmStats& s, uint32_t dim, const float* x, double reward) {
  if (dim == 0 || x == nullptr) return false;
  if (!(reward >= -kMaxInput && reward <= kMaxInput)) return false;  // also NaN / inf
  const size_t dd = static_cast<size_t>(dim) * dim;
  if (s.A.empty() && s.b.empty()) {
    s.A.assign(dd, 0.0);
    s.b.assign(dim, 0.0);
  }
  if (s.A.size() != dd || s.b.size() != dim) return false;
  for (uint32_t i = 0; i < dim; ++i) {
    const double v = static_cast<double>(x[i]);
    if (!(v >= -kMaxInput && v <= kMaxInput)) return false;
  }
  for (uint32_t i = 0; i < dim; ++i) {
    const double xi = static_cast<double>(x[i]);
    for (uint32_t j = 0; j < dim; ++j) s.A[i * dim + j] += xi * static_cast<double>(x[j]);
    s.b[i] += reward * xi;
  }
  s.n += 1.0;
  s.reward_sum += reward;
  return true;
}

BanditStats Bandit::export_stats(bool delta_only) {
  if (!delta_only) return data_;
  BanditStats out = delta_;
  delta_ = zero_stats(config_.n_arms, config_.dim);
  return out;
}

std::string Bandit::merge(const BanditStats& stats) {
  if (!configured()) return "bandit merge: bandit not configured";
  const std::string err = check_stats(stats, config_.n_arms, config_.dim, "bandit merge");
  if (!err.empty()) return err;
  data_.add(stats);
  rebuild_all();
  return "";
}

std::string Bandit::replace(const BanditStats& stats) {
  if (!configured()) return "bandit replace: bandit not configured";
  const std::string err = check_stats(stats, config_.n_arms, config_.dim, "bandit replace");
  if (!err.empty()) return err;
  data_ = stats;
  rebuild_all();
  return "";
}

std::string Bandit::adopt_policy(const Bandit& fresh) {
  if (!configured() || !fresh.configured()) return "bandit adopt_policy: bandit not configured";
  if (fresh.config_.n_arms != config_.n_arms || fresh.config_.dim != config_.dim)
    return concat("bandit adopt_policy: the new policy has ", fresh.config_.n_arms, " arms x ", fresh.config_.dim,
                  " features; this bandit ", config_.n_arms, " x ", config_.dim);
  config_ = fresh.config_;
  prior_ = fresh.prior_;
  rebuild_all();
  return "";
}

std::string Bandit::validate() const {
  if (!load_error_.empty()) return load_error_;
  return validate_state();
}

std::string Bandit::validate_state() const {
  std::string err = check_config(config_);
  if (!err.empty()) return err;
  for (auto [s, w] : {std::pair{&prior_, "bandit prior"}, std::pair{&data_, "bandit statistics"},
                      std::pair{&delta_, "bandit delta"}}) {
    err = check_stats(*s, config_.n_arms, config_.dim, w);
    if (!err.empty()) return err;
  }
  return "";
}

void Bandit::after_load() {
  load_error_ = validate_state();
  if (!load_error_.empty()) {
    const std::string keep = load_error_;
    *this = Bandit();
    load_error_ = keep;
    return;
  }
  rebuild_all();
}

}  // namespace disco

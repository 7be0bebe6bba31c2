#include "disco/policy/fit.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <unordered_map>

#include "disco/bandit.h"
#include "disco/eval/uplift.h"
#include "disco/value_model.h"

namespace disco::policy {

namespace {

constexpr double kDayMs = 86400000.0;

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

double scaled(double margin, double price) { return disco::scaled_reward(margin, price); }

// The immediate model per arm from the warm start's statistics: theta = (lambda I + A)^-1 b and the
// inverse for prediction variances.
struct Immediate {
  std::vector<Vec> theta;
  std::vector<Mat> inv;
  double v = 1;
};

Immediate immediate_model(const PolicyFit& f, double lambda) {
  Immediate m;
  m.v = f.noise_scale;
  const int d = int(f.dim);
  for (const ArmFit& a : f.prior) {
    Mat A = Eigen::Map<const Mat>(a.A.data(), d, d).transpose();
    A += lambda * Mat::Identity(d, d);
    Eigen::LDLT<Mat> ldlt(A);
    Vec b = Eigen::Map<const Vec>(a.b.data(), d);
    m.theta.push_back(ldlt.solve(b));
    m.inv.push_back(ldlt.solve(Mat::Identity(d, d)));
  }
  return m;
}

// FitOptions::uplift_learner: the discount arms' prior means from an uplift learner's effects.
void apply_uplift(PolicyFit& f, const Replay& r, const FitOptions& o) {
  namespace up = disco::eval::uplift;
  const size_t slash = o.uplift_learner.find('/');
  up::UpliftConfig cfg;
  if (slash == std::string::npos || !up::parse_learner(o.uplift_learner.substr(0, slash), cfg.learner.learner) ||
      !up::parse_base(o.uplift_learner.substr(slash + 1), cfg.learner.base))
    throw PolicyError("--uplift: expected LEARNER/BASE such as x/xgb, s/linear (learners t, s, x, dr, ct; bases xgb, "
                      "linear), got '" + o.uplift_learner + "'");
  const uint32_t K = f.n_arms, d = f.dim;
  up::UpliftData data;
  for (uint32_t i = 0; i < d; ++i) data.feature_names.push_back("x" + std::to_string(i));
  for (const Step& s : r.steps) {
    if (!(s.price > 0)) continue;
    data.x.insert(data.x.end(), s.x.begin(), s.x.begin() + d);
    data.arm.push_back(int(s.arm));
    data.y.push_back(scaled(s.margin, s.price));
    data.weight.push_back(1.0 / (double(K) * s.propensity));
    data.group.push_back(s.user);
  }
  cfg.binary = 0;
  cfg.learner.seed = 1;
  up::UpliftModel m = [&] {
    try {
      return up::UpliftModel::fit(data, cfg);
    } catch (const std::exception& e) {
      throw PolicyError(std::string("--uplift: ") + e.what());
    }
  }();
  // Distil on (at most 50,000 evenly spaced) logged contexts.
  std::vector<float> sample;
  const size_t n = data.rows(), stride = std::max<size_t>(1, n / 50000);
  for (size_t i = 0; i < n; i += stride) sample.insert(sample.end(), data.row(i), data.row(i) + d);
  const auto lin = up::distill_linear(m, sample.data(), sample.size() / d);
  const Immediate imm = immediate_model(f, o.ridge);
  f.uplift.learner = m.learner_name();
  f.uplift.r2.assign(K, 0.0);
  f.uplift.mean_effect.assign(K, 0.0);
  for (const up::LinearEffect& e : lin) {
    if (e.arm <= 0 || uint32_t(e.arm) >= K) continue;
    Vec mu = imm.theta[0];
    mu[0] += e.intercept;  // feature 0 is the bias (context.h)
    for (uint32_t i = 1; i < d && i < e.coef.size(); ++i) mu[i] += e.coef[i];
    ArmFit& a = f.prior[size_t(e.arm)];
    Mat A = Eigen::Map<const Mat>(a.A.data(), d, d).transpose();
    A += o.ridge * Mat::Identity(d, d);
    const Vec b = A * mu;
    for (uint32_t i = 0; i < d; ++i) a.b[i] = b[i];
    f.uplift.r2[size_t(e.arm)] = e.r2;
    double me = 0;
    for (size_t k = 0; k < sample.size() / d; ++k) {
      double v = e.intercept;
      for (uint32_t i = 1; i < d && i < e.coef.size(); ++i) v += e.coef[i] * sample[k * d + i];
      me += v;
    }
    f.uplift.mean_effect[size_t(e.arm)] = me / double(std::max<size_t>(1, sample.size() / d));
  }
}

}  // namespace

std::vector<uint16_t> parse_pairs(const std::string& spec, uint32_t dim) {
  std::vector<uint16_t> p;
  if (spec == "none" || spec.empty()) return p;
  if (spec == "all") {
    for (uint32_t i = 1; i < dim; ++i)
      for (uint32_t j = i; j < dim; ++j) p.push_back(uint16_t(i)), p.push_back(uint16_t(j));
    return p;
  }
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    const size_t colon = item.find(':');
    char* e1 = nullptr;
    char* e2 = nullptr;
    const long i = colon == std::string::npos ? -1 : std::strtol(item.c_str(), &e1, 10);
    const long j = colon == std::string::npos ? -1 : std::strtol(item.c_str() + colon + 1, &e2, 10);
    if (colon == std::string::npos || e1 != item.c_str() + colon || *e2 != '\0' || i < 0 || j < 0 ||
        i >= long(dim) || j >= long(dim))
      throw PolicyError("--pairs: '" + item + "' is not i:j with 0 <= i, j < " + std::to_string(dim) +
                        " (use all, none or a list like 1:7,5:7)");
    p.push_back(uint16_t(i));
    p.push_back(uint16_t(j));
    pos = end + 1;
  }
  return p;
}

double DelayedCostFit::charge_for(double exposure) const {
  if (!by_exposure) return applied;
  for (const DelayedCostBin& b : bins)
    if (exposure >= b.exposure_lo && exposure < b.exposure_hi) return b.applied;
  return applied;
}

PolicyFit fit_policy(const Replay& r, const FitOptions& o) {
  PolicyFit f;
  f.n_arms = r.n_arms;
  f.dim = r.context_dim;
  f.context_version = uint16_t(kContextVersion);
  f.replay_summary = r.stats.to_text();
  if (!(o.choice_pessimism >= 0.0 && o.choice_pessimism <= 100.0))
    throw PolicyError("--choice-pessimism must be a number in [0, 100], got " + std::to_string(o.choice_pessimism));
  f.choice_pessimism = o.choice_pessimism;
  const uint32_t K = f.n_arms, d = f.dim;
  const auto& S = r.steps;
  f.rows = S.size();
  if (f.rows < o.min_rows)
    throw PolicyError("the log has " + std::to_string(f.rows) + " usable decisions; at least " +
                      std::to_string(o.min_rows) + " are needed to fit a policy (" + r.stats.to_text() + ")");
  f.rows_per_arm.assign(K, 0);
  for (const Step& s : S) {
    ++f.rows_per_arm[s.arm];
    if (s.propensity < 1.0 - 1e-9) ++f.randomized_rows;
    f.min_propensity = std::min(f.min_propensity, s.propensity);
  }
  if (f.randomized_rows == 0)
    throw PolicyError("the log has no randomized decision (every logged propensity is 1): nothing tells what the "
                      "other arms would have earned; run a randomized pilot first (e.g. disco-sim --logging-policy "
                      "epsilon:0.2:0%, or the SDK in online mode with the bundle's exploration floor)");
  for (uint32_t a = 0; a < K; ++a)
    if (f.rows_per_arm[a] < o.min_rows_per_arm)
      throw PolicyError("arm " + std::to_string(a) + " was logged " + std::to_string(f.rows_per_arm[a]) +
                        " times; at least " + std::to_string(o.min_rows_per_arm) +
                        " are needed per arm (the log must randomize over every arm the bundle offers)");

  // ---- pooled delayed cost (diagnostic; optionally charged) ---------------------------------
  {
    const double H = o.delayed_horizon_days * kDayMs;
    std::vector<double> y(S.size(), 0.0);
    std::vector<uint8_t> usable(S.size(), 0);
    for (size_t i = 0; i < S.size(); ++i) {
      if (double(S[i].ts_ms) > double(r.last_ts_ms) - H) continue;  // horizon not observed
      usable[i] = 1;
      double acc = 0;
      for (int64_t j = S[i].next; j >= 0; j = S[size_t(j)].next) {
        const Step& e = S[size_t(j)];
        if (double(e.ts_ms - S[i].ts_ms) > H) break;
        if (e.arm == 0) acc += scaled(e.margin, e.price) / e.propensity;
      }
      y[i] = acc;
    }
    // Difference of the later no-discount margin after a no-discount and after a discounted
    // decision among the usable steps `in` selects, with a standard error clustered by shopper.
    struct Diff {
      double estimate = 0, se = 0;
      uint64_t n0 = 0, n1 = 0, clusters = 0;
    };
    auto diff = [&](auto&& in) {
      Diff r;
      double s0 = 0, s1 = 0;
      for (size_t i = 0; i < S.size(); ++i) {
        if (!usable[i] || !in(S[i])) continue;
        if (S[i].arm == 0) s0 += y[i], ++r.n0;
        else s1 += y[i], ++r.n1;
      }
      if (r.n0 == 0 || r.n1 == 0) return r;
      const double m0 = s0 / double(r.n0), m1 = s1 / double(r.n1);
      r.estimate = m0 - m1;
      std::unordered_map<uint32_t, std::pair<double, double>> cl;
      for (size_t i = 0; i < S.size(); ++i) {
        if (!usable[i] || !in(S[i])) continue;
        auto& c = cl[S[i].user];
        if (S[i].arm == 0) c.first += (y[i] - m0) / double(r.n0);
        else c.second += (y[i] - m1) / double(r.n1);
      }
      double var = 0;
      for (auto& [u, c] : cl) var += (c.first - c.second) * (c.first - c.second);
      r.se = std::sqrt(var);
      r.clusters = cl.size();
      return r;
    };
    DelayedCostFit& dc = f.delayed;
    dc.horizon_days = o.delayed_horizon_days;
    const Diff pooled = diff([](const Step&) { return true; });
    dc.control = pooled.n0;
    dc.discounted = pooled.n1;
    dc.estimate = pooled.estimate;
    dc.se = pooled.se;
    dc.clusters = pooled.clusters;
    if (o.delayed_by_exposure && o.delayed_cost_auto && pooled.n0 > 0 && pooled.n1 > 0) {
      // Bins of the decision's exposure feature e/(1+e) (e = discounts received, half-life 7 days):
      // < 0.1 none in about three weeks (one discount decays below it after 22 days); < 0.45 one earlier
      // discount (1 to 22 days ago); else one within about a day, or several.
      const double edges[] = {0.0, 0.1, 0.45, 1e9};
      for (int b = 0; b < 3; ++b) {
        const double lo = edges[b], hi = edges[b + 1];
        const Diff d = diff([&](const Step& s) {
          const double e = s.x[kFeatExposure];
          return e >= lo && e < hi;
        });
        DelayedCostBin bin;
        bin.exposure_lo = lo;
        bin.exposure_hi = hi;
        bin.estimate = d.estimate;
        bin.se = d.se;
        bin.control = d.n0;
        bin.discounted = d.n1;
        dc.bins.push_back(bin);
      }
      // tau^2: the spread of the bins' estimates around the pooled one beyond their sampling noise.
      double ss = 0, noise = 0;
      int used = 0;
      for (const DelayedCostBin& b : dc.bins) {
        if (b.control < 20 || b.discounted < 20) continue;
        ss += (b.estimate - pooled.estimate) * (b.estimate - pooled.estimate);
        noise += b.se * b.se;
        ++used;
      }
      dc.between_var = used >= 2 ? std::max(0.0, ss / double(used - 1) - noise / double(used)) : 0.0;
      for (DelayedCostBin& b : dc.bins) {
        const bool thin = b.control < 20 || b.discounted < 20;
        const double w = thin || dc.between_var <= 0 ? 0.0 : dc.between_var / (dc.between_var + b.se * b.se);
        b.shrunk = pooled.estimate + w * (b.estimate - pooled.estimate);
        b.applied = std::max(0.0, b.shrunk);
      }
      dc.by_exposure = true;
    }
    dc.applied = o.delayed_cost_auto ? std::max(0.0, dc.estimate) : o.delayed_cost;
  }

  // ---- warm start per arm (IPS-weighted ridge statistics) and the noise scale ----------------
  f.prior.assign(K, ArmFit{});
  for (ArmFit& a : f.prior) {
    a.A.assign(size_t(d) * d, 0.0);
    a.b.assign(d, 0.0);
  }
  double rs = 0, rs2 = 0;
  for (const Step& s : S) {
    const double charge = s.arm != 0 ? f.delayed.charge_for(s.x[kFeatExposure]) * s.price : 0.0;
    const double rew = scaled(s.margin - charge, s.price);
    rs += rew;
    rs2 += rew * rew;
    const double w = o.prior_weight / (double(K) * s.propensity);
    ArmFit& a = f.prior[s.arm];
    for (uint32_t i = 0; i < d; ++i) {
      const double xi = s.x[i];
      a.b[i] += w * rew * xi;
      for (uint32_t j = 0; j < d; ++j) a.A[size_t(i) * d + j] += w * xi * double(s.x[j]);
    }
    a.n += w;
    a.reward_sum += w * rew;
    ++a.rows;
  }
  for (ArmFit& a : f.prior) a.mean_reward = a.n > 0 ? a.reward_sum / a.n : 0.0;
  {
    const double n = double(S.size());
    const double var = std::max(0.0, rs2 / n - (rs / n) * (rs / n));
    f.noise_scale = std::max(o.noise_floor, std::sqrt(var));
  }

  if (!o.uplift_learner.empty() && K >= 2) apply_uplift(f, r, o);
  if (!o.value_model || K < 2) return f;

  // ---- fitted-Q iteration --------------------------------------------------------------------
  ValueFit& vf = f.value;
  vf.dim = d;
  vf.pairs = parse_pairs(o.pairs, d);
  vf.gamma_per_day = o.gamma_per_day;
  vf.pessimism = o.pessimism;
  const uint32_t F = d + uint32_t(vf.pairs.size() / 2);
  if (F > kMaxValueFeatures) throw PolicyError("value model: " + std::to_string(F) + " features is too many");
  disco::ValueModel phi_map;
  {
    std::string err = phi_map.configure(K, d, kContextDim, vf.pairs, std::vector<double>(size_t(K) * F, 0.0), 1, 4, 0);
    if (!err.empty()) throw PolicyError(err);
  }
  const double censor_ms = double(r.last_ts_ms) - o.censor_days * kDayMs;
  std::vector<size_t> train;
  for (size_t i = 0; i < S.size(); ++i) {
    if (double(S[i].ts_ms) <= censor_ms) train.push_back(i);
    else ++vf.next_only;
  }
  if (train.size() < o.min_rows)
    throw PolicyError("value model: " + std::to_string(train.size()) + " decisions are older than the censoring "
                      "horizon (" + std::to_string(o.censor_days) + " days before the log's end); at least " +
                      std::to_string(o.min_rows) + " are needed (a longer log, or --censor-days)");
  vf.rows = train.size();
  // Features of every step (train rows and their next states).
  const size_t N = S.size();
  Mat Phi(N, F);
  {
    std::vector<double> buf(F);
    for (size_t i = 0; i < N; ++i) {
      phi_map.features(S[i].x.data(), buf.data());
      for (uint32_t k = 0; k < F; ++k) Phi(Eigen::Index(i), k) = buf[k];
    }
  }
  // Joint design: block 0 = shared, block a (1..K-1) = arm a's deviation. With G_a = the Gram
  // matrix of arm a's rows: M_00 = sum_a G_a, M_0a = M_a0 = M_aa = G_a (+ the ridge on the diagonal).
  const Eigen::Index P = Eigen::Index(F) * K;
  std::vector<std::vector<Eigen::Index>> rows_of(K);
  for (size_t t = 0; t < train.size(); ++t) rows_of[S[train[t]].arm].push_back(Eigen::Index(train[t]));
  Mat M = Mat::Zero(P, P);
  for (uint32_t a = 0; a < K; ++a) {
    if (rows_of[a].empty()) continue;
    Mat Pa(Eigen::Index(rows_of[a].size()), F);
    for (size_t k = 0; k < rows_of[a].size(); ++k) Pa.row(Eigen::Index(k)) = Phi.row(rows_of[a][k]);
    Mat G = Mat::Zero(F, F);
    G.selfadjointView<Eigen::Lower>().rankUpdate(Pa.transpose());
    G = G.selfadjointView<Eigen::Lower>();
    M.block(0, 0, F, F) += G;
    if (a > 0) {
      const Eigen::Index o2 = Eigen::Index(F) * a;
      M.block(o2, o2, F, F) += G;
      M.block(0, o2, F, F) += G;
      M.block(o2, 0, F, F) += G;
    }
  }
  // The deviations' ridge is a prior worth a share of the training rows (auto: 0.3 x rows), so
  // the shrinkage towards the shared continuation does not fade as logs grow.
  const double delta_ridge = o.delta_ridge >= 0 ? o.delta_ridge : 0.3 * double(train.size());
  vf.delta_ridge = delta_ridge;
  for (Eigen::Index k = 0; k < P; ++k) M(k, k) += k < Eigen::Index(F) ? o.value_ridge : delta_ridge;
  Eigen::LDLT<Mat> ldlt(M);
  if (ldlt.info() != Eigen::Success) throw PolicyError("value model: the normal equations could not be factored");

  const Immediate imm = immediate_model(f, o.ridge);
  // Next states used by the backup, with their immediate predictions (constant over iterations).
  std::vector<int64_t> next_of(train.size());
  std::vector<double> disc(train.size());
  std::vector<size_t> states;  // distinct next-state step indices
  std::unordered_map<size_t, size_t> state_slot;
  for (size_t t = 0; t < train.size(); ++t) {
    const Step& s = S[train[t]];
    next_of[t] = s.next;
    if (s.next < 0) {
      ++vf.terminal;
      continue;
    }
    ++vf.transitions;
    const double dt = double(S[size_t(s.next)].ts_ms - s.ts_ms) / kDayMs;
    disc[t] = std::pow(o.gamma_per_day, std::max(0.0, dt));
    if (state_slot.emplace(size_t(s.next), states.size()).second) states.push_back(size_t(s.next));
  }
  const size_t NS = states.size();
  std::vector<size_t> slot_of(train.size(), 0);
  for (size_t t = 0; t < train.size(); ++t)
    if (next_of[t] >= 0) slot_of[t] = state_slot[size_t(next_of[t])];
  Mat q_imm(NS, K), var_imm(NS, K), var_c = Mat::Zero(Eigen::Index(NS), K);
  Mat Phi_s(Eigen::Index(NS), F), X_s(Eigen::Index(NS), d);
  for (size_t j = 0; j < NS; ++j) {
    Phi_s.row(Eigen::Index(j)) = Phi.row(Eigen::Index(states[j]));
    for (uint32_t i = 0; i < d; ++i) X_s(Eigen::Index(j), i) = S[states[j]].x[i];
  }
  for (uint32_t a = 0; a < K; ++a) {
    const Vec q = X_s * imm.theta[a];
    const Vec vq = ((X_s * imm.inv[a]).array() * X_s.array()).rowwise().sum();
    for (size_t j = 0; j < NS; ++j) {
      const double p = S[states[j]].price;
      q_imm(Eigen::Index(j), a) = p * q[Eigen::Index(j)];
      var_imm(Eigen::Index(j), a) = p * p * imm.v * imm.v * vq[Eigen::Index(j)];
    }
  }
  if (o.pessimism > 0) {
    // Prediction variance of the continuation, phi' G_a phi, with G_a from M^-1's blocks.
    const Mat Minv = ldlt.solve(Mat::Identity(P, P));
    for (uint32_t a = 0; a < K; ++a) {
      Mat g = Minv.block(0, 0, F, F);
      if (a > 0) {
        const Eigen::Index o2 = Eigen::Index(F) * a;
        g += Minv.block(o2, o2, F, F) + Minv.block(0, o2, F, F) + Minv.block(o2, 0, F, F);
      }
      var_c.col(a) = ((Phi_s * g).array() * Phi_s.array()).rowwise().sum();
    }
  }
  Vec w = Vec::Zero(P);
  auto continuation_at = [&](const Vec& wv, Eigen::Index step, uint32_t a) {
    double c = Phi.row(step).dot(wv.segment(0, F));
    if (a > 0) c += Phi.row(step).dot(wv.segment(Eigen::Index(F) * a, F));
    return c;
  };
  Mat cont_states = Mat::Zero(Eigen::Index(NS), K);  // c_a at the next states under the current weights
  double s2 = 0;                                     // residual variance of the targets (greedy)
  Vec y = Vec::Zero(Eigen::Index(train.size()));
  double mean_abs_v = 0;
  const bool greedy = o.backup == "greedy", lspi = o.backup == "lspi", none = o.backup == "none";
  if (!greedy && !lspi && !none && o.backup != "logged")
    throw PolicyError("--backup: expected logged, lspi, greedy or none, got '" + o.backup + "'");
  // LSTD: the fixed point of c(x_t, a_t) = g_t (r_next + c(x_next, a_next)) in least squares with
  // the ridge R, for a given next arm and reward per transition:
  //   (Z'Z + R - sum_t g_t z_t z_next^T) w = sum_t g_t z_t r_next,
  // z = [phi, phi in the arm's deviation block].
  auto lstd = [&](const std::vector<uint32_t>& next_arm, const std::vector<double>& next_reward) {
    Mat A = M;  // Z'Z + R
    Vec rhs = Vec::Zero(P);
    std::vector<std::vector<std::pair<Eigen::Index, Eigen::Index>>> pairs_of(size_t(K) * K);
    for (size_t t = 0; t < train.size(); ++t) {
      if (next_of[t] < 0) continue;
      pairs_of[size_t(S[train[t]].arm) * K + next_arm[t]].push_back({Eigen::Index(t), next_of[t]});
      const double gr = disc[t] * next_reward[t];
      const auto row = Phi.row(Eigen::Index(train[t]));
      rhs.segment(0, F) += gr * row.transpose();
      const uint32_t a = S[train[t]].arm;
      if (a > 0) rhs.segment(Eigen::Index(F) * a, F) += gr * row.transpose();
    }
    for (uint32_t a = 0; a < K; ++a)
      for (uint32_t an = 0; an < K; ++an) {
        const auto& pr = pairs_of[size_t(a) * K + an];
        if (pr.empty()) continue;
        Mat L(Eigen::Index(pr.size()), F), R(Eigen::Index(pr.size()), F);
        for (size_t k = 0; k < pr.size(); ++k) {
          L.row(Eigen::Index(k)) = disc[size_t(pr[k].first)] * Phi.row(Eigen::Index(train[size_t(pr[k].first)]));
          R.row(Eigen::Index(k)) = Phi.row(pr[k].second);
        }
        const Mat C = L.transpose() * R;  // sum g phi_t phi_next^T
        const Eigen::Index oa = Eigen::Index(F) * a, on = Eigen::Index(F) * an;
        A.block(0, 0, F, F) -= C;
        if (an > 0) A.block(0, on, F, F) -= C;
        if (a > 0) A.block(oa, 0, F, F) -= C;
        if (a > 0 && an > 0) A.block(oa, on, F, F) -= C;
      }
    Eigen::PartialPivLU<Mat> lu(A);
    Vec sol = lu.solve(rhs);
    if (!sol.allFinite()) throw PolicyError("value model: the evaluation's linear system has no finite solution");
    return sol;
  };
  if (!greedy && !none) {
    // "logged": evaluation of the logging policy's continuation (one-step method: the next arm is
    // the logged one, its reward the realized margin; on-policy, so the projected Bellman equation
    // has a unique, stable solution). "lspi": least-squares policy iteration from there: the next
    // arm is the current policy's (immediate model + continuation, lower confidence bound), its
    // reward the realized margin when it is the logged arm, else the immediate model's prediction.
    std::vector<uint32_t> next_arm(train.size(), 0);
    std::vector<double> next_reward(train.size(), 0.0);
    for (size_t t = 0; t < train.size(); ++t)
      if (next_of[t] >= 0) {
        next_arm[t] = S[size_t(next_of[t])].arm;
        next_reward[t] = S[size_t(next_of[t])].margin;
      }
    w = lstd(next_arm, next_reward);
    const uint32_t rounds = lspi ? std::max<uint32_t>(1, o.iterations) : 0;
    for (uint32_t it = 0; it < rounds; ++it) {
      const Vec shared = Phi_s * w.segment(0, F);
      for (uint32_t a = 0; a < K; ++a) {
        Vec c = shared;
        if (a > 0) c += Phi_s * w.segment(Eigen::Index(F) * a, F);
        cont_states.col(a) = c;
      }
      uint64_t switched = 0;
      for (size_t t = 0; t < train.size(); ++t) {
        if (next_of[t] < 0) continue;
        const size_t j = slot_of[t];
        const Step& nx = S[states[j]];
        double best = -1e300;
        uint32_t ba = 0;
        for (uint32_t a = 0; a < K; ++a) {
          if (a < 32 && !(nx.eligible >> a & 1u)) continue;
          const double sd = std::sqrt(std::max(0.0, var_imm(Eigen::Index(j), a)));
          const double q = q_imm(Eigen::Index(j), a) + cont_states(Eigen::Index(j), a) - o.pessimism * sd;
          if (q > best) best = q, ba = a;
        }
        switched += ba != next_arm[t];
        next_arm[t] = ba;
        next_reward[t] = ba == nx.arm ? nx.margin : q_imm(Eigen::Index(j), ba);
      }
      w = lstd(next_arm, next_reward);
      vf.iterations = it + 1;
      vf.trace_change.push_back(double(switched) / double(std::max<uint64_t>(1, vf.transitions)));
    }
    // Report the fixed point's self-consistency like an iteration would.
    double mean_v = 0, change = 0;
    for (size_t t = 0; t < train.size(); ++t) {
      if (next_of[t] < 0) continue;
      const Step& nx = S[size_t(next_of[t])];
      const double target = disc[t] * (next_reward[t] + continuation_at(w, next_of[t], next_arm[t]));
      const double fit_now = continuation_at(w, Eigen::Index(train[t]), S[train[t]].arm);
      mean_v += std::fabs(nx.margin + continuation_at(w, next_of[t], nx.arm));
      change += target - fit_now;
    }
    mean_v /= double(std::max<uint64_t>(1, vf.transitions));
    vf.last_change = mean_v > 0 ? std::fabs(change / double(std::max<uint64_t>(1, vf.transitions))) / mean_v : 0.0;
    vf.trace_mean_v.push_back(mean_v);
  }
  for (uint32_t it = 0; greedy && it < o.iterations; ++it) {
    mean_abs_v = 0;
    Vec V = Vec::Zero(Eigen::Index(NS));
    for (size_t j = 0; j < NS; ++j) {
      if (!greedy) {
        // Evaluation of the logging policy (one-step method): the next offer point's realized
        // margin under its logged arm plus that arm's continuation.
        const Step& nx = S[states[j]];
        const double v = nx.margin + cont_states(Eigen::Index(j), nx.arm);
        V[Eigen::Index(j)] = v;
        mean_abs_v += std::fabs(v);
        continue;
      }
      const uint32_t elig = S[states[j]].eligible;
      double best = -1e300;
      for (uint32_t a = 0; a < K; ++a) {
        if (a < 32 && !(elig >> a & 1u)) continue;
        const double sd = std::sqrt(std::max(0.0, var_imm(Eigen::Index(j), a) + s2 * var_c(Eigen::Index(j), a)));
        best = std::max(best, q_imm(Eigen::Index(j), a) + cont_states(Eigen::Index(j), a) - o.pessimism * sd);
      }
      V[Eigen::Index(j)] = best;
      mean_abs_v += std::fabs(best);
    }
    mean_abs_v /= std::max<size_t>(1, NS);
    Vec rhs = Vec::Zero(P);
    for (size_t t = 0; t < train.size(); ++t)
      y[Eigen::Index(t)] = next_of[t] < 0 ? 0.0 : disc[t] * V[Eigen::Index(slot_of[t])];
    for (size_t t = 0; t < train.size(); ++t) {
      const double yt = y[Eigen::Index(t)];
      if (yt == 0.0) continue;
      const auto row = Phi.row(Eigen::Index(train[t]));
      rhs.segment(0, F) += yt * row.transpose();
      const uint32_t a = S[train[t]].arm;
      if (a > 0) rhs.segment(Eigen::Index(F) * a, F) += yt * row.transpose();
    }
    const Vec w_new = ldlt.solve(rhs);
    // Residual variance of the regression (the continuation's noise scale for the LCB).
    double rss = 0;
    for (size_t t = 0; t < train.size(); ++t) {
      const double e = y[Eigen::Index(t)] - continuation_at(w_new, Eigen::Index(train[t]), S[train[t]].arm);
      rss += e * e;
    }
    s2 = rss / double(std::max<size_t>(1, train.size()));
    double change = 0;
    const Vec shared = Phi_s * w_new.segment(0, F);
    for (uint32_t a = 0; a < K; ++a) {
      Vec c = shared;
      if (a > 0) c += Phi_s * w_new.segment(Eigen::Index(F) * a, F);
      change = std::max(change, (c - cont_states.col(a)).cwiseAbs().maxCoeff());
      cont_states.col(a) = c;
    }
    w = w_new;
    vf.iterations = it + 1;
    vf.last_change = mean_abs_v > 0 ? change / mean_abs_v : change;
    vf.trace_mean_v.push_back(mean_abs_v);
    vf.trace_change.push_back(vf.last_change);
    if (vf.last_change < o.tolerance) break;
  }
  if (o.immediate_residual) {
    // The immediate reward beyond the bandit's linear model: per-arm regression (shared + deviations,
    // the same ridge) of m - price * theta_a . x on phi(x), every row weighted by 1 / price^2 (the
    // scale the runtime compares arms on). Added to the continuation's weights: the value model then
    // carries what the linear bandit cannot express (products of the shopper's history features)
    // besides the long-term value, while the online bandit keeps learning its linear part.
    std::vector<std::vector<size_t>> all_of(K);
    for (size_t i = 0; i < N; ++i)
      if (S[i].price > 0) all_of[S[i].arm].push_back(i);
    Mat MR = Mat::Zero(P, P);
    Vec rr = Vec::Zero(P);
    for (uint32_t a = 0; a < K; ++a) {
      if (all_of[a].empty()) continue;
      Mat Pa(Eigen::Index(all_of[a].size()), F);
      Vec ya(Eigen::Index(all_of[a].size()));
      for (size_t k = 0; k < all_of[a].size(); ++k) {
        const Step& st = S[all_of[a][k]];
        const double wt = 1.0 / st.price;  // sqrt of the 1 / price^2 weight
        Vec x(d);
        for (uint32_t i = 0; i < d; ++i) x[i] = st.x[i];
        Pa.row(Eigen::Index(k)) = wt * Phi.row(Eigen::Index(all_of[a][k]));
        ya[Eigen::Index(k)] = wt * (st.margin - st.price * imm.theta[a].dot(x));
      }
      Mat G = Mat::Zero(F, F);
      G.selfadjointView<Eigen::Lower>().rankUpdate(Pa.transpose());
      G = G.selfadjointView<Eigen::Lower>();
      const Vec g = Pa.transpose() * ya;
      MR.block(0, 0, F, F) += G;
      rr.segment(0, F) += g;
      if (a > 0) {
        const Eigen::Index o2 = Eigen::Index(F) * a;
        MR.block(o2, o2, F, F) += G;
        MR.block(0, o2, F, F) += G;
        MR.block(o2, 0, F, F) += G;
        rr.segment(o2, F) += g;
      }
    }
    for (Eigen::Index k = 0; k < P; ++k) MR(k, k) += o.value_ridge;
    const Vec wr = MR.ldlt().solve(rr);
    if (!wr.allFinite()) throw PolicyError("value model: the immediate residual has no finite solution");
    w += wr;
    vf.immediate_residual = true;
  }
  // Per-arm weights: shared + the arm's deviation.
  vf.weights.assign(size_t(K) * F, 0.0);
  for (uint32_t a = 0; a < K; ++a)
    for (uint32_t k = 0; k < F; ++k)
      vf.weights[size_t(a) * F + k] = w[k] + (a > 0 ? w[Eigen::Index(F) * a + k] : 0.0);
  // Diagnostics over the training rows.
  vf.mean_continuation.assign(K, 0.0);
  vf.mean_offset.assign(K, 0.0);
  uint64_t changed = 0;
  for (size_t i : train) {
    const Step& s = S[i];
    Vec x(d);
    for (uint32_t k = 0; k < d; ++k) x[k] = s.x[k];
    double c0 = 0;
    int best_imm = 0, best_all = 0;
    double bi = -1e300, ba = -1e300;
    for (uint32_t a = 0; a < K; ++a) {
      double c = 0;
      for (uint32_t k = 0; k < F; ++k) c += vf.weights[size_t(a) * F + k] * Phi(Eigen::Index(i), k);
      if (a == 0) c0 = c;
      vf.mean_continuation[a] += c;
      if (s.price > 0) vf.mean_offset[a] += (c - c0) / s.price;
      if (a < 32 && !(s.eligible >> a & 1u)) continue;
      const double q = imm.theta[a].dot(x);
      if (q > bi) bi = q, best_imm = int(a);
      const double qa = q + (s.price > 0 ? c / s.price : 0.0);
      if (qa > ba) ba = qa, best_all = int(a);
    }
    changed += best_imm != best_all;
  }
  for (uint32_t a = 0; a < K; ++a) {
    vf.mean_continuation[a] /= double(train.size());
    vf.mean_offset[a] /= double(train.size());
  }
  vf.share_changed = double(changed) / double(train.size());
  vf.fitted = true;
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "fitted-Q iteration: %llu decisions (%llu transitions, %llu terminal), %u features (%zu products), "
                "backup %s, gamma %.4g/day, %u iterations (last change %.2g), pessimism %.3g, ridge %.3g / %.3g, "
                "censor %.3g days%s",
                (unsigned long long)vf.rows, (unsigned long long)vf.transitions, (unsigned long long)vf.terminal, F,
                vf.pairs.size() / 2, o.backup.c_str(), o.gamma_per_day, vf.iterations, vf.last_change, o.pessimism, o.value_ridge,
                delta_ridge, o.censor_days, vf.immediate_residual ? ", with the immediate residual" : "");
  vf.provenance = buf;
  return f;
}

std::string to_json(const PolicyFit& f) {
  using nlohmann::json;
  json arms = json::array();
  for (uint32_t a = 0; a < f.prior.size(); ++a) {
    const ArmFit& p = f.prior[a];
    arms.push_back({{"arm", a}, {"dim", f.dim}, {"A", p.A}, {"b", p.b}, {"n", p.n}, {"reward_sum", p.reward_sum},
                    {"rows", p.rows}, {"mean_reward", p.mean_reward}});
  }
  json j;
  j["format"] = "disco-policy-fit/1";
  j["context_version"] = f.context_version;
  j["arms"] = arms;
  j["noise_scale"] = f.noise_scale;
  j["choice_pessimism"] = f.choice_pessimism;
  j["delayed_cost"] = {{"estimate", f.delayed.estimate}, {"se", f.delayed.se}, {"control", f.delayed.control},
                       {"discounted", f.delayed.discounted}, {"clusters", f.delayed.clusters},
                       {"horizon_days", f.delayed.horizon_days}, {"applied", f.delayed.applied}};
  if (f.delayed.by_exposure) {
    json bins = json::array();
    for (const DelayedCostBin& b : f.delayed.bins)
      bins.push_back({{"exposure_lo", b.exposure_lo}, {"exposure_hi", b.exposure_hi}, {"estimate", b.estimate},
                      {"se", b.se}, {"shrunk", b.shrunk}, {"applied", b.applied}, {"control", b.control},
                      {"discounted", b.discounted}});
    j["delayed_cost"]["by_exposure"] = bins;
    j["delayed_cost"]["between_var"] = f.delayed.between_var;
  }
  if (f.value.fitted) {
    const ValueFit& v = f.value;
    j["value_model"] = {{"context_dim", v.dim},
                        {"context_version", f.context_version},
                        {"pairs", v.pairs},
                        {"weights", v.weights},
                        {"gamma_per_day", v.gamma_per_day},
                        {"iterations", v.iterations},
                        {"last_change", v.last_change},
                        {"pessimism", v.pessimism},
                        {"delta_ridge", v.delta_ridge},
                        {"rows", v.rows},
                        {"transitions", v.transitions},
                        {"terminal", v.terminal},
                        {"next_only", v.next_only},
                        {"mean_continuation", v.mean_continuation},
                        {"mean_offset", v.mean_offset},
                        {"share_best_arm_changed", v.share_changed},
                        {"trace_mean_v", v.trace_mean_v},
                        {"trace_change", v.trace_change},
                        {"fitted", v.provenance}};
  } else {
    j["value_model"] = nullptr;
  }
  if (!f.uplift.learner.empty())
    j["uplift"] = {{"learner", f.uplift.learner}, {"r2", f.uplift.r2}, {"mean_effect", f.uplift.mean_effect}};
  j["diagnostics"] = {{"rows", f.rows},
                      {"randomized_rows", f.randomized_rows},
                      {"rows_per_arm", f.rows_per_arm},
                      {"min_propensity", f.min_propensity},
                      {"replay", f.replay_summary}};
  return j.dump(1);
}

}  // namespace disco::policy

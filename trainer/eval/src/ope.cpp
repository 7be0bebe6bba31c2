// OPE: estimates, clustered bootstrap intervals and diagnostics of a candidate on a log.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "disco/eval/ope.h"
#include "disco/eval/ope_stats.h"

namespace disco::eval::ope {

const EstimateResult* OpeResult::find(Estimator e) const {
  for (const auto& r : estimates)
    if (r.estimator == e) return &r;
  return nullptr;
}

const EstimateResult& OpeResult::get(Estimator e) const {
  const auto* r = find(e);
  if (!r) throw OpeError(std::string("estimator ") + to_string(e) + " was not computed");
  return *r;
}

Diagnostics diagnose(const BanditLog& log, const ActionDist& pi, uint32_t bins) {
  Diagnostics d;
  const size_t n = log.size();
  d.rows = n;
  {
    std::vector<uint64_t> c = log.cluster;
    std::sort(c.begin(), c.end());
    d.clusters = static_cast<size_t>(std::unique(c.begin(), c.end()) - c.begin());
  }
  if (n == 0) return d;
  std::vector<char> logged(log.n_arms, 0);
  for (uint32_t a : log.arm) logged[a] = 1;
  double sw = 0, sw2 = 0, sr = 0, maxw = 0, minp = 1, zero = 0, unlogged = 0;
  std::vector<double> mass(log.n_arms, 0.0);
  std::vector<double> w(n);
  for (size_t i = 0; i < n; ++i) {
    w[i] = pi.prob(i, log.arm[i]) / log.propensity[i];
    sw += w[i];
    sw2 += w[i] * w[i];
    sr += log.reward[i];
    maxw = std::max(maxw, w[i]);
    minp = std::min(minp, log.propensity[i]);
    if (pi.prob(i, log.arm[i]) == 0) ++zero;
    for (uint32_t a = 0; a < log.n_arms; ++a) {
      mass[a] += pi.prob(i, a);
      if (!logged[a]) unlogged += pi.prob(i, a);
    }
  }
  const double dn = static_cast<double>(n);
  d.logged_value = sr / dn;
  d.ess = sw2 > 0 ? sw * sw / sw2 : 0.0;
  d.ess_share = d.ess / dn;
  d.min_propensity = minp;
  d.max_weight = maxw;
  d.mean_weight = sw / dn;
  d.zero_prob_share = zero / dn;
  d.unlogged_mass = unlogged / dn;
  for (uint32_t a = 0; a < log.n_arms; ++a)
    if (!logged[a] && mass[a] > 0) d.unlogged_arms.push_back(a);
  bins = std::max<uint32_t>(bins, 1);
  d.weight_bins.assign(bins, 0);
  d.bin_width = maxw > 0 ? maxw / bins : 1.0;
  for (double x : w) {
    if (x == 0) {
      ++d.zero_weights;
      continue;
    }
    const size_t b = std::min<size_t>(bins - 1, static_cast<size_t>(std::ceil(x / d.bin_width)) - 1);
    ++d.weight_bins[b];
  }
  return d;
}

namespace {

// Sums per cluster of the terms every estimator is a function of.
struct Sums {
  double n = 0, q_pi = 0, w = 0, wr = 0, wres = 0, sw = 0, dros = 0;
  void add(const Sums& o) {
    n += o.n, q_pi += o.q_pi, w += o.w, wr += o.wr, wres += o.wres, sw += o.sw, dros += o.dros;
  }
};

double from_sums(Estimator e, const Sums& s) {
  if (s.n == 0) return NAN;
  switch (e) {
    case Estimator::DM: return s.q_pi / s.n;
    case Estimator::IPS: return s.wr / s.n;
    case Estimator::SNIPS: return s.w > 0 ? s.wr / s.w : NAN;
    case Estimator::DR: return (s.q_pi + s.wres) / s.n;
    case Estimator::SNDR: return s.w > 0 ? s.q_pi / s.n + s.wres / s.w : NAN;
    case Estimator::SwitchDR: return (s.q_pi + s.sw) / s.n;
    case Estimator::DROS: return (s.q_pi + s.dros) / s.n;
  }
  return NAN;
}

}  // namespace

OpeResult evaluate(const BanditLog& log, const ActionDist& pi, const RewardPredictions* q, const OpeOptions& opt) {
  log.validate();
  for (Estimator e : opt.estimators)
    if (needs_reward_model(e) && !q) throw OpeError(std::string(to_string(e)) + " needs a reward model");
  if (!(opt.alpha > 0 && opt.alpha < 1)) throw OpeError("alpha must be in (0, 1)");
  const RowTerms t = row_terms(log, pi, q);
  OpeResult res;
  res.diag = diagnose(log, pi, opt.histogram_bins);
  res.bootstrap = opt.bootstrap;
  res.seed = opt.seed;
  res.alpha = opt.alpha;
  if (q) {
    res.has_reward_model = true;
    res.model = *q;
    res.model.q.clear();
  }
  double lam_switch = kInf, lam_dros = kInf;
  for (Estimator e : opt.estimators) {
    if (e == Estimator::SwitchDR) lam_switch = slope_lambda(e, t, opt.lambdas, opt.slope_delta);
    if (e == Estimator::DROS) lam_dros = slope_lambda(e, t, opt.lambdas, opt.slope_delta);
  }
  // Cluster sums (clusters in order of first appearance).
  std::unordered_map<uint64_t, size_t> cidx;
  std::vector<Sums> cs;
  for (size_t i = 0; i < log.size(); ++i) {
    auto [it, fresh] = cidx.emplace(log.cluster[i], cs.size());
    if (fresh) cs.emplace_back();
    Sums& s = cs[it->second];
    const double w = t.w[i], res_i = t.r[i] - t.q_fact[i];
    s.n += 1;
    s.q_pi += t.q_pi[i];
    s.w += w;
    s.wr += w * t.r[i];
    s.wres += w * res_i;
    s.sw += w <= lam_switch ? w * res_i : 0.0;
    s.dros += (std::isinf(lam_dros) ? w : lam_dros * w / (w * w + lam_dros)) * res_i;
  }
  Sums total;
  for (const auto& s : cs) total.add(s);
  std::vector<std::vector<double>> boot(opt.estimators.size());
  if (opt.bootstrap > 0) {
    stats::NumpyRandomState rs(opt.seed);
    for (uint32_t b = 0; b < opt.bootstrap; ++b) {
      Sums s;
      for (size_t c : rs.choice(cs.size(), cs.size())) s.add(cs[c]);
      for (size_t k = 0; k < opt.estimators.size(); ++k) boot[k].push_back(from_sums(opt.estimators[k], s));
    }
  }
  for (size_t k = 0; k < opt.estimators.size(); ++k) {
    EstimateResult r;
    r.estimator = opt.estimators[k];
    r.value = from_sums(r.estimator, total);
    if (r.estimator == Estimator::SwitchDR) r.lambda = lam_switch;
    if (r.estimator == Estimator::DROS) r.lambda = lam_dros;
    if (opt.bootstrap > 0) {
      std::vector<double> v;
      for (double x : boot[k])
        if (std::isfinite(x)) v.push_back(x);
      r.lo = stats::percentile(v, 100.0 * opt.alpha / 2);
      r.hi = stats::percentile(v, 100.0 * (1 - opt.alpha / 2));
    }
    res.estimates.push_back(r);
  }
  return res;
}

}  // namespace disco::eval::ope

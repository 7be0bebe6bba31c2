// The OPE estimators (definitions in trainer/eval/README.md, after the Open Bandit Pipeline's
// obp/ope/estimators.py and estimators_tuning.py) and the checks of a logged bandit feedback.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <sstream>

#include "disco/eval/ope.h"
#include "disco/eval/ope_stats.h"

namespace disco::eval::ope {

namespace {
std::string where(const BanditLog& log, size_t i) {
  std::string s = log.source.empty() ? "log" : log.source;
  if (i < log.id.size() && !log.id[i].empty()) return s + ": decision " + log.id[i];
  return s + ": row " + std::to_string(i + 1);
}
}  // namespace

bool BanditLog::binary_reward() const {
  for (double r : reward)
    if (r != 0.0 && r != 1.0) return false;
  return true;
}

void BanditLog::validate() const {
  const std::string src = source.empty() ? "log" : source;
  const size_t n = size();
  if (n == 0) throw OpeError(src + ": no logged decisions to evaluate on");
  if (position.size() != n || propensity.size() != n || reward.size() != n || cluster.size() != n)
    throw OpeError(src + ": arm/position/propensity/reward/cluster columns have different lengths");
  if (!ts_ms.empty() && ts_ms.size() != n) throw OpeError(src + ": ts column has a different length");
  if (!id.empty() && id.size() != n) throw OpeError(src + ": id column has a different length");
  if (context.size() != n * context_dim) throw OpeError(src + ": context matrix is not rows x context_dim");
  if (arm_features.size() != static_cast<size_t>(n_arms) * arm_feature_dim)
    throw OpeError(src + ": arm feature matrix is not n_arms x arm_feature_dim");
  if (n_positions == 0) throw OpeError(src + ": n_positions must be >= 1");
  bool randomized = false;
  for (size_t i = 0; i < n; ++i) {
    if (arm[i] >= n_arms) throw OpeError(where(*this, i) + ": arm " + std::to_string(arm[i]) + " >= n_arms " + std::to_string(n_arms));
    if (position[i] >= n_positions)
      throw OpeError(where(*this, i) + ": position " + std::to_string(position[i]) + " >= n_positions");
    const double p = propensity[i];
    if (!(p > 0 && p <= 1)) {
      std::ostringstream m;
      m << where(*this, i) << ": propensity " << p << " is outside (0, 1]: OPE needs the logging probability of every decision";
      throw OpeError(m.str());
    }
    if (p < 1) randomized = true;
    if (!std::isfinite(reward[i])) throw OpeError(where(*this, i) + ": reward is not finite");
  }
  for (float v : context)
    if (!std::isfinite(v)) throw OpeError(src + ": a context value is not finite");
  if (!randomized)
    throw OpeError(src + ": every logged propensity is 1 (no randomization): the log says nothing about other arms, "
                         "so no off-policy estimate is possible (an apprentice-mode log is such a log); log with exploration first: "
                         "disco online for a share of shoppers (the SDK's holdout: { share: 0.9 } keeps the rest on the "
                         "baseline arm) or an epsilon pilot");
}

const char* to_string(Estimator e) {
  switch (e) {
    case Estimator::DM: return "DM";
    case Estimator::IPS: return "IPS";
    case Estimator::SNIPS: return "SNIPS";
    case Estimator::DR: return "DR";
    case Estimator::SNDR: return "SNDR";
    case Estimator::SwitchDR: return "Switch-DR";
    case Estimator::DROS: return "DR-OS";
  }
  return "?";
}

bool parse_estimator(const std::string& s, Estimator& out) {
  std::string l;
  for (char c : s)
    if (c != '-' && c != '_') l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "dm") out = Estimator::DM;
  else if (l == "ips" || l == "ipw") out = Estimator::IPS;
  else if (l == "snips" || l == "snipw") out = Estimator::SNIPS;
  else if (l == "dr") out = Estimator::DR;
  else if (l == "sndr") out = Estimator::SNDR;
  else if (l == "switchdr" || l == "switch") out = Estimator::SwitchDR;
  else if (l == "dros") out = Estimator::DROS;
  else return false;
  return true;
}

bool needs_reward_model(Estimator e) { return e != Estimator::IPS && e != Estimator::SNIPS; }

RowTerms row_terms(const BanditLog& log, const ActionDist& pi, const RewardPredictions* q) {
  const size_t n = log.size();
  if (pi.n_arms != log.n_arms || pi.p.size() != n * pi.n_arms)
    throw OpeError("candidate distribution is not rows x n_arms of the log (" + std::to_string(pi.n_arms) + " arms vs " +
                   std::to_string(log.n_arms) + ")");
  if (q && (q->n_arms != log.n_arms || q->q.size() != n * log.n_arms))
    throw OpeError("reward predictions are not rows x n_arms of the log");
  RowTerms t;
  t.w.resize(n);
  t.q_pi.assign(n, 0.0);
  t.q_fact.assign(n, 0.0);
  t.r = log.reward;
  for (size_t i = 0; i < n; ++i) {
    t.w[i] = pi.prob(i, log.arm[i]) / log.propensity[i];
    if (q) {
      double s = 0;
      for (uint32_t a = 0; a < log.n_arms; ++a) s += pi.prob(i, a) * q->at(i, a);
      t.q_pi[i] = s;
      t.q_fact[i] = q->at(i, log.arm[i]);
    }
  }
  return t;
}

namespace {
double shrunk_weight(double w, double lambda) {
  if (std::isinf(lambda)) return w;
  return lambda * w / (w * w + lambda);  // lambda = 0: 0 (DM)
}
}  // namespace

std::vector<double> round_values(Estimator e, const RowTerms& t, double lambda) {
  const size_t n = t.w.size();
  std::vector<double> v(n);
  const double mean_w = n ? std::accumulate(t.w.begin(), t.w.end(), 0.0) / static_cast<double>(n) : 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double w = t.w[i], r = t.r[i], res = r - t.q_fact[i];
    switch (e) {
      case Estimator::DM: v[i] = t.q_pi[i]; break;
      case Estimator::IPS: v[i] = w * r; break;
      case Estimator::SNIPS: v[i] = mean_w > 0 ? w * r / mean_w : NAN; break;
      case Estimator::DR: v[i] = t.q_pi[i] + w * res; break;
      case Estimator::SNDR: v[i] = t.q_pi[i] + (mean_w > 0 ? w * res / mean_w : NAN); break;
      case Estimator::SwitchDR: v[i] = t.q_pi[i] + (w <= lambda ? w * res : 0.0); break;
      case Estimator::DROS: v[i] = t.q_pi[i] + shrunk_weight(w, lambda) * res; break;
    }
  }
  return v;
}

double estimate(Estimator e, const RowTerms& t, double lambda) {
  if (t.w.empty()) return NAN;
  if (e == Estimator::SNIPS) {  // sum w r / sum w (the same as the mean of the round values)
    double sw = 0, swr = 0;
    for (size_t i = 0; i < t.w.size(); ++i) sw += t.w[i], swr += t.w[i] * t.r[i];
    return sw > 0 ? swr / sw : NAN;
  }
  return stats::mean(round_values(e, t, lambda));
}

double slope_lambda(Estimator e, const RowTerms& t, std::vector<double> lambdas, double delta) {
  if (e != Estimator::SwitchDR && e != Estimator::DROS)
    throw OpeError(std::string("SLOPE tunes Switch-DR and DR-OS only, not ") + to_string(e));
  if (lambdas.empty()) throw OpeError("SLOPE needs at least one candidate lambda");
  for (double l : lambdas)
    if (!(l >= 0)) throw OpeError("SLOPE: a candidate lambda must be >= 0");
  const size_t n = t.w.size();
  if (n < 2) return lambdas.back();
  if (e == Estimator::SwitchDR) std::sort(lambdas.begin(), lambdas.end(), std::greater<double>());
  else std::sort(lambdas.begin(), lambdas.end());
  const double tq = stats::student_t_quantile(1.0 - delta, static_cast<double>(n - 1));
  std::vector<double> theta, cnf;
  for (double l : lambdas) {
    const auto x = round_values(e, t, l);
    theta.push_back(stats::mean(x));
    cnf.push_back(std::sqrt(stats::variance_pop(x) / static_cast<double>(n - 1)) * tq);
  }
  // numpy's argsort (stable for so few items) of cnf, reversed: widest first, ties in reverse order.
  std::vector<size_t> order(lambdas.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cnf[a] < cnf[b]; });
  std::reverse(order.begin(), order.end());
  const double C = std::sqrt(6.0) - 1.0;
  std::vector<size_t> kept;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    bool ok = true;
    for (size_t j : kept)
      if (!(std::abs(theta[j] - theta[i]) <= cnf[i] + C * cnf[j])) ok = false;
    if (!ok) return lambdas[order[k - 1]];
    kept.push_back(i);
  }
  return lambdas[order.back()];
}

}  // namespace disco::eval::ope

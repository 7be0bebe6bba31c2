#include "disco/value_model.h"

#include <cmath>

#include "disco/bandit.h"
#include "text_internal.h"

namespace disco {
using detail::concat;

namespace {
bool finite(double v) { return v == v && v - v == 0.0; }
}  // namespace

std::string ValueModel::configure(uint32_t arms, uint32_t d, uint32_t context_dim, std::vector<uint16_t> pr,
                                  std::vector<double> weights, double wgt, double mabs, double gamma) {
  *this = ValueModel{};
  if (weights.empty()) return "";  // no value model: inactive
  if (arms == 0 || arms > kMaxArms) return concat("value model: arm count ", arms, " out of range");
  if (d == 0 || d > context_dim)
    return concat("value model: context_dim ", d, " must be 1..", context_dim, " (the runtime's context length)");
  if (pr.size() % 2 != 0)
    return concat("value model: pairs must hold 2 indices per product feature (odd length ", pr.size(), ")");
  for (size_t k = 0; k < pr.size(); ++k)
    if (pr[k] >= d) return concat("value model: pairs[", k, "] = ", pr[k], " is not below context_dim ", d);
  const size_t nf = d + pr.size() / 2;
  if (nf > kMaxValueFeatures) return concat("value model: ", nf, " features; at most ", kMaxValueFeatures);
  if (weights.size() != size_t(arms) * nf)
    return concat("value model: weights has ", weights.size(), " entries, expected n_arms x features = ", arms, " x ",
                  nf);
  for (size_t k = 0; k < weights.size(); ++k)
    if (!finite(weights[k]) || std::fabs(weights[k]) > 1e6)
      return concat("value model: weights[", k, "] is not a finite number below 1e6");
  if (!finite(wgt) || wgt < 0.0 || wgt > 100.0) return "value model: weight must be in [0, 100]";
  if (!finite(mabs) || !(mabs > 0.0)) return "value model: max_abs must be a finite number > 0";
  n_arms = arms;
  dim = d;
  pairs = std::move(pr);
  w = std::move(weights);
  weight = wgt;
  max_abs = mabs;
  gamma_per_day = finite(gamma) ? gamma : 0.0;
  return "";
}

void ValueModel::features(const float* x, double* out) const {
  for (uint32_t i = 0; i < dim; ++i) {
    const double v = double(x[i]);
    out[i] = finite(v) ? v : 0.0;
  }
  const size_t np = pairs.size() / 2;
  for (size_t k = 0; k < np; ++k) out[dim + k] = out[pairs[2 * k]] * out[pairs[2 * k + 1]];
}

void ValueModel::continuation(const float* x, double* out) const {
  double phi[kMaxValueFeatures];
  features(x, phi);
  const uint32_t nf = n_features();
  for (uint32_t a = 0; a < n_arms; ++a) {
    const double* wa = &w[size_t(a) * nf];
    double s = 0.0;
    for (uint32_t k = 0; k < nf; ++k) s += wa[k] * phi[k];
    out[a] = s;
  }
}

void ValueModel::offsets(const float* x, double price, double* out) const {
  for (uint32_t a = 0; a < n_arms; ++a) out[a] = 0.0;
  if (!active() || !(price > 0.0) || !finite(price)) return;
  continuation(x, out);
  for (uint32_t a = 0; a < n_arms; ++a) {
    double v = out[a] / price;
    if (!finite(v)) v = 0.0;
    if (v > max_abs) v = max_abs;
    if (v < -max_abs) v = -max_abs;
    out[a] = weight * v;
  }
}

}  // namespace disco

// The exploration floor: a wrapper around any policy (policy.h).
#include "policy.h"

namespace disco::bandit_detail {
namespace {
inline double mix(double f, int n, double p) { return (1.0 - f) * p + f / n; }
}  // namespace

void Floored::probabilities(const BanditConfig& c, const Prepared& p, double* out) const {
  const int n = static_cast<int>(p.n);
  policy.probabilities(c, p, out);
  for (int k = 0; k < n; ++k) out[k] = mix(f, n, out[k]);
}

double Floored::probability(const BanditConfig& c, const Prepared& p, int k) const {
  if (policy.probability) return mix(f, static_cast<int>(p.n), policy.probability(c, p, k));
  double all[kMaxArms];
  policy.probabilities(c, p, all);
  return mix(f, static_cast<int>(p.n), all[k]);
}

int Floored::draw(const BanditConfig& c, const Prepared& p, Rng& rng, double* score, bool* explored) const {
  const double u = rng.uniform();
  int pick = policy.draw(c, p, rng, score);
  *explored = false;
  if (u < f) {
    pick = static_cast<int>(rng.below(p.n));
    *explored = true;
  }
  return pick;
}

}  // namespace disco::bandit_detail

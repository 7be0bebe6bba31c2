// Linear Thompson sampling (policy.h): one normal draw per arm, s_a = m_a + s_a z_a, argmax; its
// probability P(arm a has the largest s) by quadrature (normal.h).
#include "policy.h"

namespace disco::bandit_detail {
namespace {

void probabilities(const BanditConfig&, const Prepared& p, double* out) {
  const int n = static_cast<int>(p.n);
  for (int k = 0; k < n; ++k) out[k] = prob_is_max(p.dist, n, k);
}

double probability(const BanditConfig&, const Prepared& p, int k) {
  return prob_is_max(p.dist, static_cast<int>(p.n), k);
}

int draw(const BanditConfig& c, const Prepared& p, Rng& rng, double* score) {
  int pick = 0;
  double best = 0.0;
  bool have = false;
  for (uint32_t a = 0; a < c.n_arms; ++a) {
    const double z = rng.normal();  // one draw per arm, eligible or not: fixed stream layout
    const int k = p.slot[a];
    if (k < 0) continue;
    const double s = p.dist[k].m + p.dist[k].s * z;
    if (!have || s > best) {  // ties -> the lower arm
      best = s;
      pick = k;
      have = true;
    }
  }
  *score = best;
  return pick;
}

}  // namespace

constinit const Policy kLinTSPolicy = {probabilities, probability, draw};

}  // namespace disco::bandit_detail

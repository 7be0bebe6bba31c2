// LinUCB (policy.h): argmax m_a + alpha s_a (ties -> the lowest arm), deterministic; no draws.
#include "policy.h"

namespace disco::bandit_detail {
namespace {

int best_ucb(const BanditConfig& c, const Prepared& p) {
  int best = 0;
  for (int k = 1; k < static_cast<int>(p.n); ++k)
    if (p.dist[k].m + c.ucb_alpha * p.dist[k].s > p.dist[best].m + c.ucb_alpha * p.dist[best].s) best = k;
  return best;
}

void probabilities(const BanditConfig& c, const Prepared& p, double* out) {
  const int best = best_ucb(c, p);
  for (int k = 0; k < static_cast<int>(p.n); ++k) out[k] = k == best ? 1.0 : 0.0;
}

int draw(const BanditConfig& c, const Prepared& p, Rng&, double* score) {
  const int pick = best_ucb(c, p);
  *score = p.dist[pick].m + c.ucb_alpha * p.dist[pick].s;
  return pick;
}

}  // namespace

constinit const Policy kLinUCBPolicy = {probabilities, nullptr, draw};

}  // namespace disco::bandit_detail

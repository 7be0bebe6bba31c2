// epsilon-greedy (policy.h): with probability epsilon uniform over the eligible arms, else argmax
// of the mean (ties -> the lowest arm).
#include "policy.h"

namespace disco::bandit_detail {
namespace {

int best_mean(const Prepared& p) {
  int best = 0;
  for (int k = 1; k < static_cast<int>(p.n); ++k)
    if (p.dist[k].m > p.dist[best].m) best = k;
  return best;
}

void probabilities(const BanditConfig& c, const Prepared& p, double* out) {
  const int n = static_cast<int>(p.n), best = best_mean(p);
  for (int k = 0; k < n; ++k) out[k] = (k == best ? 1.0 - c.epsilon : 0.0) + c.epsilon / n;
}

// Draws: the epsilon coin, then the uniform arm (drawn whether used or not: fixed stream layout).
int draw(const BanditConfig& c, const Prepared& p, Rng& rng, double* score) {
  const double coin = rng.uniform();
  const uint32_t r = rng.below(p.n);
  int pick = best_mean(p);
  if (coin < c.epsilon) pick = static_cast<int>(r);
  *score = p.dist[pick].m;
  return pick;
}

}  // namespace

constinit const Policy kEpsGreedyPolicy = {probabilities, nullptr, draw};

}  // namespace disco::bandit_detail

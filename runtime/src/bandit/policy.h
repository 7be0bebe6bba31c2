// The bandit's exploration policies behind one small interface (internal to the runtime).
//
// bandit.cpp prepares one decision (the eligible arms and each one's posterior score N(m, s^2),
// offsets included); a Policy then gives, over those eligible slots,
//   1. its probabilities (all of them, or one slot's where that is cheaper), and
//   2. its draw: the slot it picks, consuming its part of the decision's Rng stream.
// One policy per file: lints.cpp (Thompson sampling), linucb.cpp, eps_greedy.cpp. The exploration
// floor (floor.cpp) wraps any policy: its probabilities become (1 - f) p + f / n and its draw is
// preceded by the floor's coin and may be replaced by a uniform pick.
// Dispatch is a table of plain function pointers chosen once per decision by the algorithm enum
// (no virtual classes, nothing allocated). The draw order inside one decision is bandit.h's.
#pragma once
#include <cstdint>

#include "disco/bandit.h"
#include "disco/rng.h"
#include "normal.h"

namespace disco::bandit_detail {

// One decision's eligible arms and their posterior scores.
struct Prepared {
  uint32_t n = 0;           // eligible count (>= 1)
  uint32_t arms[kMaxArms];  // eligible arm ids, ascending
  int slot[kMaxArms];       // arm -> index in arms[] or -1
  Dist dist[kMaxArms];      // per eligible slot: score mean (offset included) and stddev
};

struct Policy {
  // P(slot k) before the floor, for every eligible slot: out[0..p.n).
  void (*probabilities)(const BanditConfig& c, const Prepared& p, double* out);
  // P(slot k) before the floor, one slot; only where it is cheaper than all of them (LinTS: one
  // quadrature instead of p.n), else nullptr and probabilities() answers.
  double (*probability)(const BanditConfig& c, const Prepared& p, int k);
  // The policy's pick (a slot), drawing from rng in bandit.h's order; *score = the pick's score
  // (LinTS sample, UCB, or mean).
  int (*draw)(const BanditConfig& c, const Prepared& p, Rng& rng, double* score);
};

extern const Policy kLinTSPolicy;      // lints.cpp
extern const Policy kLinUCBPolicy;     // linucb.cpp
extern const Policy kEpsGreedyPolicy;  // eps_greedy.cpp

// The policy of a validated config (check_config() refuses unknown algorithms).
inline const Policy& policy_of(BanditAlgorithm a) {
  switch (a) {
    case BanditAlgorithm::LinUCB: return kLinUCBPolicy;
    case BanditAlgorithm::EpsGreedy: return kEpsGreedyPolicy;
    case BanditAlgorithm::LinTS: break;
  }
  return kLinTSPolicy;
}

// ---- the exploration floor around a policy (floor.cpp) --------------------------------------
// With probability f the arm is uniform over the n eligible arms: every eligible arm has
// probability >= f / n and the probability is exactly (1 - f) p_policy + f / n.
struct Floored {
  const Policy& policy;
  double f;  // exploration_floor, in [0, 1]

  // Full-policy probability of every eligible slot: out[0..p.n).
  void probabilities(const BanditConfig& c, const Prepared& p, double* out) const;
  double probability(const BanditConfig& c, const Prepared& p, int k) const;
  // The floor's coin u, then the policy's draw, then (when u < f) the floor's below(n), which
  // replaces the policy's pick and sets *explored.
  int draw(const BanditConfig& c, const Prepared& p, Rng& rng, double* score, bool* explored) const;
};

}  // namespace disco::bandit_detail

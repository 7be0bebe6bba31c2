// The discount bandit: one Bayesian linear model per arm over the context (context.h).
//
// Model per arm a: reward r = x . theta_a + noise; posterior theta_a ~ N(mu_a, v^2 A_a^-1) with
//   A_a = lambda I + A0_a + sum x x^T,  b_a = b0_a + sum r x,  mu_a = A_a^-1 b_a
// (lambda = prior_precision, v = noise_scale, A0/b0 the bundle's optional warm start).
// Reward: the outcome's reported margin, converted or not, divided by the item's price
// (scaled_reward()), clamped to [-kRewardClamp, kRewardClamp]; a non-purchase with margin 0 has
// reward 0, one charged a cost (negative margin) a negative reward. Dividing by price puts
// a 10-unit and a 1000-unit item on one scale, so arms learn "margin rate" not "big items".
//
// choose():
//   LinTS     - one normal draw per eligible arm: s_a = x.mu_a + v sqrt(x^T A_a^-1 x) z_a, argmax.
//               Its probability P(arm a has the largest s) = int phi_a(s) prod_{b!=a} Phi_b(s) ds
//               is computed by deterministic quadrature in arm a's standardized variable (see
//               bandit/normal.cpp: 4-point Gauss-Legendre on a fixed grid refined at every narrower
//               arm's step; tabulated Phi with cubic Hermite interpolation); |error| < 1e-7.
//   LinUCB    - argmax x.mu_a + alpha v sqrt(x^T A_a^-1 x); ties -> lowest arm index.
//   EpsGreedy - with probability epsilon uniform over eligible arms, else argmax x.mu_a.
// Exploration floor f: with probability f the arm is uniform over the eligible arms, so every
// eligible arm has propensity >= f / n_eligible; the returned propensity is the exact mixture
// (1 - f) p_policy(a) + f / n_eligible.
// Randomness: Rng(seed, decision id, kStreamBandit); the draw order is fixed: u (floor coin),
// then the policy's draws (LinTS: one normal per arm in index order over ALL arms, eligible or
// not; EpsGreedy: one uniform coin then one below(n)), then the floor's below(n_eligible).
// Determinism: the linear algebra is a scalar Cholesky compiled with -ffp-contract=off, on
// fixed-max-size (<= 16) matrices, so sums run in the same order on x86 and WASM.
// No heap allocation in choose() or update().
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/vector.hpp>

#include "disco/rng.h"

namespace disco {

inline constexpr uint32_t kMaxArms = 32;     // eligible masks are uint32_t
inline constexpr uint32_t kMaxBanditDim = 16;
inline constexpr double kRewardClamp = 4.0;

enum class BanditAlgorithm : uint8_t { LinTS = 0, LinUCB = 1, EpsGreedy = 2 };

struct BanditConfig {
  BanditAlgorithm algorithm = BanditAlgorithm::LinTS;
  uint32_t n_arms = 0;  // 1..kMaxArms; arm 0 is "no discount"
  uint32_t dim = 0;     // 1..kMaxBanditDim (normally kContextDim)
  double prior_precision = 1.0;    // lambda > 0
  double noise_scale = 1.0;        // v > 0
  double ucb_alpha = 1.0;          // >= 0
  double epsilon = 0.05;           // [0, 1]
  double exploration_floor = 0.02; // [0, 1]
  // Unused (LinTS propensities are computed by quadrature, not draws) and no longer read from the
  // bundle (its field is deprecated); kept, always 256, because the saved runtime state carries it.
  uint32_t propensity_draws = 256;

  template <class Archive>
  void serialize(Archive& ar) {
    uint8_t alg = static_cast<uint8_t>(algorithm);
    ar(alg, n_arms, dim, prior_precision, noise_scale, ucb_alpha, epsilon, exploration_floor,
       propensity_draws);
    algorithm = static_cast<BanditAlgorithm>(alg);
  }
};

// Margin -> reward on the common scale: clamp(margin / price, -kRewardClamp, kRewardClamp);
// 0 when price <= 0 or either value is not finite.
double scaled_reward(double margin, double price);

// Sufficient statistics of observed data for one arm (the prior is NOT included, so statistics
// from several edges add up and the prior is counted once).
struct ArmStats {
  std::vector<double> A;  // dim * dim, row-major, sum x x^T
  std::vector<double> b;  // dim, sum r x
  double n = 0.0;         // number of updates
  double reward_sum = 0.0;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(A, b, n, reward_sum);
  }
};

// The one accumulation rule of per-arm statistics, shared by Bandit::update() and the collector's
// fleet statistics (collector/src/store_bandit.cpp links it): A += x x^T, b += r x, n += 1,
// reward_sum += r, with x the first `dim` context floats as doubles and r already scaled
// (scaled_reward()). s.A / s.b are sized dim*dim / dim when empty. Returns false and changes
// nothing when s has other sizes, dim is 0, or any x_i or r is not finite or exceeds 1e6 in
// magnitude (the same inputs update() refuses).
bool add_observation(ArmStats& s, uint32_t dim, const float* x, double reward);

struct BanditStats {
  uint32_t dim = 0;
  std::vector<ArmStats> arms;

  // this += other; false (and no change) when dim or arm count differ.
  bool add(const BanditStats& other);
  template <class Archive>
  void serialize(Archive& ar) {
    ar(dim, arms);
  }
};

struct Choice {
  uint32_t arm = 0;
  double propensity = 1.0;     // probability of `arm` under the full policy (floor included)
  uint32_t n_eligible = 1;
  bool explored = false;       // the floor's uniform draw picked the arm
  double score = 0.0;          // LinTS sample / UCB / mean of the chosen arm
  double probabilities[kMaxArms] = {};  // see choose(); 0 for ineligible arms
};

class Bandit {
 public:
  Bandit() = default;

  // Validates and installs the config and an optional warm start (prior_A: n_arms*dim*dim,
  // prior_b: n_arms*dim, prior_n: n_arms; any may be null/empty). Resets all statistics.
  // Returns "" on success, else a message naming the bad field.
  std::string configure(const BanditConfig& config, const std::vector<double>& prior_A = {},
                        const std::vector<double>& prior_b = {},
                        const std::vector<double>& prior_n = {});
  bool configured() const { return config_.n_arms > 0; }
  const BanditConfig& config() const { return config_; }

  // Picks an arm among eligible_mask (bit a = arm a allowed; arms >= n_arms ignored). If the mask
  // is empty after that, arm 0 is returned with propensity 1. x has config().dim finite floats;
  // a non-finite entry is treated as 0. `rng` should be Rng(seed, decision id, kStreamBandit).
  // Choice.probabilities holds every arm's probability when all_probabilities, else only the
  // chosen arm's (LinTS: one quadrature instead of one per eligible arm).
  // offsets (optional, config().n_arms entries): added to each arm's posterior mean before the
  // choice and in its probability (the value model's continuation, value_model.h; a budget price).
  Choice choose(const float* x, uint32_t eligible_mask, Rng& rng,
                bool all_probabilities = false, const double* offsets = nullptr) const;

  // P(arm a | x, eligible) for every arm under the full policy, without drawing (LinTS by the
  // same quadrature as choose()). out has kMaxArms entries.
  void probabilities(const float* x, uint32_t eligible_mask, double out[kMaxArms],
                     const double* offsets = nullptr) const;

  // Rank-1 update of `arm` with context x and reward (already scaled, see scaled_reward()).
  // Returns false and changes nothing on arm >= n_arms, or any x_i / reward that is not finite
  // or exceeds 1e6 in magnitude.
  bool update(uint32_t arm, const float* x, double reward);

  // Posterior mean and standard deviation of x . theta_a (v included).
  double mean(uint32_t arm, const float* x) const;
  double stddev(uint32_t arm, const float* x) const;

  // Statistics of all observed data, or only of updates since the last export_stats(true)
  // (delta_only also resets the delta). Merged statistics never enter the delta, so a fleet
  // aggregator that sums deltas counts every outcome once.
  BanditStats export_stats(bool delta_only);
  // Adds (merge) or replaces the observed-data statistics; "" on success, else why not.
  std::string merge(const BanditStats& stats);
  std::string replace(const BanditStats& stats);
  const BanditStats& stats() const { return data_; }
  // Takes `fresh`'s config and prior (a bundle swap), keeping this bandit's observed statistics
  // and delta; "" on success, else why not (arm count or dimension differ, or not configured).
  std::string adopt_policy(const Bandit& fresh);

  // cereal (any archive; the caller versions the enclosing state): config, prior, data, delta.
  // The posterior cache is rebuilt on load; call validate() after loading untrusted bytes.
  template <class Archive>
  void save(Archive& ar) const {
    ar(config_, prior_, data_, delta_);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(config_, prior_, data_, delta_);
    after_load();
  }
  // "" when the state is consistent. A load() of inconsistent bytes never crashes: it leaves an
  // unconfigured bandit (choose() -> arm 0) and validate() names what was wrong.
  std::string validate() const;

 private:
  void rebuild_all();
  // Posterior mean and standard deviation of x . theta_arm (arm valid, bandit configured).
  void posterior_of(uint32_t arm, const float* x, double* mean, double* sd) const;
  void rebuild(uint32_t arm);
  void after_load();
  std::string validate_state() const;
  std::string load_error_;
  BanditConfig config_{};
  BanditStats prior_;  // warm start (A0, b0, n0)
  BanditStats data_;   // observed
  BanditStats delta_;  // observed since last delta export
  // Posterior cache per arm: lower Cholesky factor L of A with 1/L_ii on the diagonal
  // (dim*dim, row-major) and mu (dim).
  std::vector<double> chol_;
  std::vector<double> mu_;
};

}  // namespace disco

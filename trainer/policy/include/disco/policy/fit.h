// Policy fitting from a replayed log (replay.h): everything the discount policy learns offline, in
// one place, for `disco-train policy` (and through it the loop and any store):
//   - the bandit's warm start: per-arm ridge statistics A = sum w x x^T, b = sum w r x, n = sum w,
//     w = prior_weight / (n_arms * logged propensity) (inverse-propensity weights: each arm counts
//     as if the log had been uniform), r = scaled_reward(margin [- delayed cost], price);
//   - the bandit's noise scale: the standard deviation of the logged scaled rewards (floored);
//   - the pooled delayed cost of a discount (a diagnostic, optionally charged into the prior's
//     rewards): the difference in the same shopper's later no-discount margin within H days after a
//     no-discount and after a discounted decision (arms randomized independently of the shopper),
//     with a standard error clustered by shopper;
//   - the long-term value model (disco/value_model.h): fitted-Q iteration over offer points.
//
// Fitted-Q iteration (value model). A step is an offer point: context x, arm a, margin m, and the
// same shopper's next offer point x' after dt days (none: terminal). With the immediate model
// r_a(x) = price * x . theta_a (theta_a = the warm start's posterior mean, margin / price scale) and
// the continuation c_a(x) = w_a . phi(x) (currency units):
//   Q_a(x)   = r_a(x) + c_a(x)
//   V(x')    = max over the arms the guardrails allow at x' of  Q_a(x') - pessimism * sd_a(x')
//   c_a(x)  <- ridge regression of gamma_per_day^dt * V(x') on phi(x), per arm
// repeated until the continuation stops moving. Conservative where the log is thin, in two ways:
//   (1) the per-arm continuations are one shared regression plus per-arm deviations with a much
//       stronger ridge penalty (delta_ridge), so an arm the log covers poorly is pulled towards the
//       value of the arms it does cover (behaviour regularization) instead of extrapolating;
//   (2) the backup takes a lower confidence bound (pessimism x the standard deviation of both
//       models' predictions), so the max over arms does not chase estimation noise (as in
//       pessimistic value iteration): an over-estimate would compound through every backup.
// Steps later than censor_days before the log's end are used only as next states: whether such a
// shopper comes back is not yet known. The fitted model ships in the bundle; the runtime adds
// c_a(x) / price to arm a's score, on top of the online bandit's immediate reward.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "disco/policy/replay.h"

namespace disco::policy {

struct FitOptions {
  double prior_weight = 1.0;        // scales the warm start's weights (0 = no prior)
  double delayed_cost = 0.0;        // charged per discounted decision, x price, into the prior's rewards
  bool delayed_cost_auto = true;    // charge the pooled estimate instead (the default: the average
                                    // long-term cost of a discount; the value model adds how it varies)
  double delayed_horizon_days = 21;
  // The delayed cost per bin of the shopper's discount exposure at the decision (context feature 7:
  // none in ~3 weeks / one earlier discount / one within a day or several), each bin's estimate shrunk towards
  // the pooled one by its standard error (empirical Bayes: bins that do not differ beyond their noise
  // are charged the pooled cost). A reference-price effect is concave in the discounts already seen,
  // so the first discount to a shopper can cost more later margin than the next (fit.cpp). Off by
  // default: on 10 simulated stores the pilot's bins differed beyond their noise on 3, and the
  // mean lift moved +0.02 points (loop/README.md, "Delayed cost by discount exposure").
  bool delayed_by_exposure = false;
  double noise_floor = 0.05;
  // The runtime's lower-confidence choice of a discount (schemas/bundle.fbs BanditPrior.pessimism):
  // each discount arm scores K posterior standard deviations of its gain over arm 0 less. 0 = plain
  // Thompson sampling. Chosen on simulated stores 1-5, checked on 6-10 and 42 (loop/README.md).
  double choice_pessimism = 3.0;
  double ridge = 1.0;               // the immediate model's prior precision (the bundle's lambda)

  bool value_model = true;
  double gamma_per_day = 0.97;
  uint32_t iterations = 20;
  double tolerance = 1e-3;          // stop when the continuation moves less than this x mean |V|
  double pessimism = 1.0;           // greedy backup only
  // "logged": evaluate the logging policy's continuation (fitted-Q evaluation with the next offer
  // point's logged arm and realized margin; converges: on-policy), the runtime then improves on it
  // one step; "greedy": fitted-Q iteration with the max over arms (can diverge with many features).
  std::string backup = "logged";
  double value_ridge = 1.0;         // shared continuation
  double delta_ridge = -1;          // per-arm deviations from it; < 0 = auto: 0.3 x the training rows
  double censor_days = 14;
  std::string pairs = "all";        // product features: "all" (i <= j among features 1..d-1), "none", "i:j,..."
  bool immediate_residual = true;   // also fit the immediate reward the linear bandit misses (see fit.cpp)

  // The warm start's per-arm effects from an uplift learner (trainer/eval uplift.h) instead of the
  // per-arm ridge means: "x/xgb", "s/linear", ... ("" = none). Each discount arm's prior mean
  // becomes theta_0 + the learner's effect against arm 0, distilled to a linear function of the
  // context (distill_linear); the prior's precision (A) is kept.
  std::string uplift_learner;

  uint64_t min_rows = 200;          // fewer replayed decisions: refused
  uint64_t min_rows_per_arm = 20;   // an arm logged fewer times: refused (named)
};

struct ArmFit {
  std::vector<double> A, b;  // dim*dim (row-major), dim
  double n = 0, reward_sum = 0;
  uint64_t rows = 0;
  double mean_reward = 0;    // IPS-weighted mean scaled reward
};

struct DelayedCostBin {
  double exposure_lo = 0, exposure_hi = 0;  // context feature 7 in [lo, hi)
  double estimate = 0, se = 0;              // this bin's own difference of means (x price)
  double shrunk = 0;                        // towards the pooled estimate by se (empirical Bayes)
  double applied = 0;                       // charged to a discounted decision in this bin
  uint64_t control = 0, discounted = 0;
};

struct DelayedCostFit {
  double estimate = 0, se = 0;  // x price
  uint64_t control = 0, discounted = 0, clusters = 0;
  double horizon_days = 0;
  double applied = 0;           // what was charged into the prior's rewards (pooled; the bins' when by_exposure)
  bool by_exposure = false;
  double between_var = 0;       // the bins' variance beyond their noise (tau^2 of the shrinkage)
  std::vector<DelayedCostBin> bins;
  // The charge for a discounted decision with this context exposure (x price).
  double charge_for(double exposure) const;
};

struct ValueFit {
  bool fitted = false;
  uint32_t dim = 0;
  std::vector<uint16_t> pairs;
  std::vector<double> weights;  // n_arms * (dim + pairs/2)
  double gamma_per_day = 0;
  uint32_t iterations = 0;
  double last_change = 0;
  double pessimism = 0;
  double delta_ridge = 0;
  uint64_t rows = 0, transitions = 0, terminal = 0, next_only = 0;
  std::vector<double> mean_continuation;  // per arm, currency, over the training rows
  std::vector<double> mean_offset;        // per arm: mean of (c_a - c_0) / price over the training rows
  bool immediate_residual = false;
  double share_changed = 0;               // training rows whose best arm (immediate model) the value model changes
  std::vector<double> trace_mean_v, trace_change;  // per iteration: mean V over next states, relative change
  std::string provenance;
};

struct UpliftFit {
  std::string learner;               // "" = not used
  std::vector<double> r2;            // per arm: R^2 of the linear distillation (arm 0: 0)
  std::vector<double> mean_effect;   // per arm: mean effect over the rows (scaled reward)
};

struct PolicyFit {
  uint32_t n_arms = 0, dim = 0;
  uint16_t context_version = 0;
  std::vector<ArmFit> prior;
  double noise_scale = 1.0;
  double choice_pessimism = 0.0;  // FitOptions::choice_pessimism, shipped in the bundle
  DelayedCostFit delayed;
  ValueFit value;
  UpliftFit uplift;
  uint64_t rows = 0, randomized_rows = 0;
  std::vector<uint64_t> rows_per_arm;
  double min_propensity = 1;
  std::string replay_summary;
};

// Throws PolicyError on a log the policy cannot be fitted from: too few rows, no randomized
// decision (every propensity 1), an arm logged fewer than min_rows_per_arm times.
PolicyFit fit_policy(const Replay& replay, const FitOptions& options = {});

// Parses FitOptions::pairs for `dim` context features; throws PolicyError naming the bad entry.
std::vector<uint16_t> parse_pairs(const std::string& spec, uint32_t dim);

// JSON: {"arms": [{"arm","dim","A","b","n","rows","mean_reward"}...] (the shape of the collector's
// /v1/bandit-state and of disco-train export --bandit-prior), "noise_scale", "choice_pessimism", "context_version",
// "delayed_cost": {...}, "value_model": {"context_dim","context_version","pairs","weights",
// "gamma_per_day", ...} or null, "diagnostics": {...}}.
std::string to_json(const PolicyFit& fit);

}  // namespace disco::policy

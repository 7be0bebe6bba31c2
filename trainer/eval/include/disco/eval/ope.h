// Off-policy evaluation (OPE): the value of a candidate policy estimated from decisions another
// policy logged with known propensities. Estimators as the Open Bandit Pipeline defines them (DM,
// IPS, SNIPS, DR, SNDR, Switch-DR, DR-OS with lambda chosen by SLOPE), a cross-fitted reward model
// for DM and the DR family, bootstrap intervals and the diagnostics that say whether to trust them.
// No dependency on disco::data (adapters from a Dataset are in ope_data.h). Definitions and
// formulas: trainer/eval/README.md "Off-policy evaluation".
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace disco::eval::ope {

// Every refusal (bad log, bad candidate, bad option) is an OpeError with one line a user can act on.
class OpeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- logged bandit feedback ------------------------------------------------------------------

// One row per logged decision. Arms are 0..n_arms-1, positions (slots) 0..n_positions-1.
struct BanditLog {
  std::string source;                 // where it came from (for messages and reports)
  uint32_t n_arms = 0;
  uint32_t n_positions = 1;
  std::vector<uint32_t> arm;
  std::vector<uint32_t> position;     // 0 when the log has one slot
  std::vector<double> propensity;     // logging policy's probability of the logged arm, in (0, 1]
  std::vector<double> reward;
  std::vector<uint64_t> cluster;      // resampling unit (the shopper); the row index when rows are independent
  std::vector<int64_t> ts_ms;         // may be empty
  std::vector<std::string> id;        // decision ids (per-row candidates key on them); may be empty
  // Reward-model inputs: a context vector per row (user features, the runtime's context) and,
  // optionally, a feature vector per arm (open-bandit's item features).
  uint32_t context_dim = 0;
  std::vector<float> context;         // row-major size() x context_dim
  uint32_t arm_feature_dim = 0;
  std::vector<float> arm_features;    // row-major n_arms x arm_feature_dim
  std::vector<std::string> context_names, arm_feature_names;  // optional, for reports

  size_t size() const { return arm.size(); }
  bool binary_reward() const;         // every reward is 0 or 1
  // Throws OpeError naming the first problem: sizes disagree, an arm >= n_arms, a propensity
  // outside (0, 1], a non-finite reward, no rows, or no randomization (every propensity is 1).
  void validate() const;
};

// The candidate policy's distribution over arms at each logged row (at the row's position):
// p[i * n_arms + a] = pi_e(a | x_i, position_i). Each row sums to 1.
struct ActionDist {
  uint32_t n_arms = 0;
  std::vector<double> p;
  std::string source;
  double prob(size_t row, uint32_t a) const { return p[row * n_arms + a]; }
};

// ---- reward model -----------------------------------------------------------------------------

// A generalized linear model of E[r | x, a, position] on the features
//   [context x_i] [arm features z_a] [one-hot arm] [one-hot position],
// fitted separately per group (none, position or arm), logistic for 0/1 rewards, least squares
// (ridge) otherwise; L2 penalty `l2` on every coefficient but the intercept:
//   minimize sum_i loss(r_i, eta_i) + l2/2 |w|^2   (sklearn's C = 1 / l2).
struct RewardModelSpec {
  enum class Group { None, Position, Arm };
  enum class Link { Auto, Logistic, Identity };  // Auto: logistic when every reward is 0/1
  std::string name = "onehot";
  bool use_context = true;
  bool use_arm_features = false;
  bool arm_onehot = true;
  bool position_onehot = true;
  Group group = Group::None;
  Link link = Link::Auto;
  double l2 = 1.0;
  std::string describe() const;
};

// Presets:
//  "obp":     the Open Bandit Pipeline's benchmark model: one logistic regression per position on
//             [context ; arm features], C = 100 (l2 = 0.01).
//  "onehot":  one pooled model on [context ; one-hot arm ; one-hot position], l2 = 1 (C = 1).
//  "per-arm": one model per arm on the context vector, l2 = 1 (ridge or logistic).
RewardModelSpec reward_model_preset(const std::string& name);

// Cross-fitted predictions: q[i * n_arms + a] = q_hat(x_i, a, position_i) from the model fitted
// on the other folds. Quality is measured out of fold on the logged (factual) rewards.
struct RewardPredictions {
  uint32_t n_arms = 0;
  std::vector<double> q;
  std::string description;
  uint32_t folds = 0;
  bool logistic = false;
  double mse = NAN;              // mean (r_i - q_hat(x_i, a_i))^2 over rows, out of fold
  double mse_constant = NAN;     // the same for the training folds' mean reward
  double skill = NAN;            // 1 - mse / mse_constant (<= 0: no better than a constant)
  double calibration = NAN;      // sum q_hat(x_i, a_i) / sum r_i
  uint64_t constant_groups = 0;  // (fold, group) fits that fell back to the training mean (single class / no rows)
  double at(size_t row, uint32_t a) const { return q[row * n_arms + a]; }
};

// Fits on rows with fold != k and predicts rows with fold == k, for every k in 0..folds-1.
RewardPredictions cross_fit(const BanditLog& log, const RewardModelSpec& spec, const std::vector<uint32_t>& fold,
                            uint32_t folds);

// ---- estimators -------------------------------------------------------------------------------

enum class Estimator { DM, IPS, SNIPS, DR, SNDR, SwitchDR, DROS };
inline constexpr Estimator kAllEstimators[] = {Estimator::DM,   Estimator::IPS,      Estimator::SNIPS, Estimator::DR,
                                               Estimator::SNDR, Estimator::SwitchDR, Estimator::DROS};
const char* to_string(Estimator e);      // "DM", "IPS", "SNIPS", "DR", "SNDR", "Switch-DR", "DR-OS"
bool parse_estimator(const std::string& s, Estimator& out);  // also "IPW", "SNIPW", "switch", "dros"
bool needs_reward_model(Estimator e);    // every one but IPS and SNIPS

inline constexpr double kInf = std::numeric_limits<double>::infinity();
// The candidate hyperparameters SLOPE chooses from (Switch-DR: weight threshold; DR-OS: shrinkage).
inline const std::vector<double> kDefaultLambdas = {10, 50, 100, 500, 1000, 5000, 10000, kInf};

// Per-row quantities every estimator is built from.
struct RowTerms {
  std::vector<double> w;        // importance weight pi_e(a_i|x_i) / pi_b(a_i|x_i)
  std::vector<double> q_pi;     // sum_a pi_e(a|x_i) q_hat(x_i, a)   (0 without a reward model)
  std::vector<double> q_fact;   // q_hat(x_i, a_i)                    (0 without a reward model)
  std::vector<double> r;
};
RowTerms row_terms(const BanditLog& log, const ActionDist& pi, const RewardPredictions* q);

// Per-row values whose mean is the estimate (OBP's "round rewards"); the self-normalized
// estimators divide by the mean weight of these rows. lambda: Switch-DR / DR-OS only.
std::vector<double> round_values(Estimator e, const RowTerms& t, double lambda = kInf);
double estimate(Estimator e, const RowTerms& t, double lambda = kInf);

// SLOPE (Su et al. 2020, in Tucker & Lee's 2021 form, as OBP implements it): each candidate's
// width cnf = sqrt(var(x)/(n-1)) * t_{n-1}(1 - delta) of its round values x; candidates are taken
// from the widest to the narrowest and the last one whose estimate stays within
// cnf_i + (sqrt(6) - 1) cnf_j of every earlier one is kept. Switch-DR tries the lambdas in
// decreasing order, DR-OS in increasing order (this only breaks ties).
double slope_lambda(Estimator e, const RowTerms& t, std::vector<double> lambdas, double delta = 0.1);

// ---- evaluation ---------------------------------------------------------------------------------

struct OpeOptions {
  std::vector<Estimator> estimators{std::begin(kAllEstimators), std::end(kAllEstimators)};
  uint32_t bootstrap = 1000;           // resamples of the clusters for the intervals (0: none)
  uint32_t seed = 1;                   // bootstrap draws
  double alpha = 0.05;                 // intervals are [alpha/2, 1 - alpha/2] percentiles
  std::vector<double> lambdas = kDefaultLambdas;
  double slope_delta = 0.1;
  uint32_t histogram_bins = 24;
};

struct EstimateResult {
  Estimator estimator = Estimator::DM;
  double value = NAN, lo = NAN, hi = NAN;  // estimate and bootstrap percentile interval
  double lambda = NAN;                     // Switch-DR / DR-OS: the lambda SLOPE chose
};

struct Diagnostics {
  size_t rows = 0, clusters = 0;
  double logged_value = NAN;               // mean logged reward (the logging policy's on-policy value)
  double ess = NAN;                        // (sum w)^2 / sum w^2
  double ess_share = NAN;                  // ess / rows
  double min_propensity = NAN;
  double max_weight = NAN, mean_weight = NAN;
  double zero_prob_share = NAN;            // share of rows where the candidate never takes the logged arm
  double unlogged_mass = NAN;              // mean candidate mass on arms the log never shows
  std::vector<uint32_t> unlogged_arms;     // arms with candidate mass that the log never shows
  // Importance-weight histogram: counts of w == 0 and of w in equal bins over (0, max_weight].
  uint64_t zero_weights = 0;
  double bin_width = 0;
  std::vector<uint64_t> weight_bins;
};

struct OpeResult {
  std::vector<EstimateResult> estimates;
  Diagnostics diag;
  bool has_reward_model = false;
  RewardPredictions model;                 // q is dropped (kept small); figures only
  uint32_t bootstrap = 0;
  uint32_t seed = 0;
  double alpha = 0.05;
  const EstimateResult* find(Estimator e) const;
  const EstimateResult& get(Estimator e) const;  // throws OpeError if not estimated
};

// Estimates, intervals and diagnostics of `pi` on `log`. `q` may be null when only IPS / SNIPS
// are asked for. The bootstrap resamples clusters (shoppers) with replacement, holding the
// cross-fitted reward model and SLOPE's lambda fixed.
OpeResult evaluate(const BanditLog& log, const ActionDist& pi, const RewardPredictions* q, const OpeOptions& opt);

Diagnostics diagnose(const BanditLog& log, const ActionDist& pi, uint32_t bins = 24);

}  // namespace disco::eval::ope

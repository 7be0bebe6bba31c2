// Discount-response (uplift) models: per-arm effects against the no-discount (control) arm, learned
// from randomized logs, and the metrics that score them.
//
// - Metrics, as scikit-uplift defines them (sklift.metrics): qini_curve, perfect_qini_curve,
//   qini_auc_score (normalized; the perfect curve allows negative effects by default) and
//   uplift_at_k (strategy "overall"). Written from the definitions; hand-computed cases in
//   tests/eval/uplift_metrics_test.cpp. They accept a continuous target as well (margin, spend):
//   the same formulas with y summed instead of counted (scikit-uplift itself checks y is binary).
// - Learners for one treated arm against control: S (one model on [x, t]), T (two models), X
//   (Kuenzel et al. 2019), DR (Kennedy 2020: cross-fitted outcome models, doubly robust pseudo-
//   outcome regressed on x) and CT (class transformation, Jaskowski & Jaroszewicz 2012; on a
//   continuous target the transformed outcome y (t - e) / (e (1 - e))). Base models: gradient-
//   boosted trees (XGBoost's C API, libxgboost) or a regularized logistic / ridge regression
//   (Eigen). Deterministic for a fixed seed.
// - UpliftModel: one learner per arm against control on a table of (context, arm, outcome), e.g.
//   a canonical log whose decisions carry the logged context vector (uplift_data_from_log); it
//   predicts every arm's effect for a context. The live policy's entry point (README.md).
// - Experiments: 50/50 splits with fixed seeds, each learner scored on the held-out half (Qini,
//   uplift@30%, and PEHE where the true effects are known), reported as text, JSON and HTML.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace disco::data {
struct Dataset;
}

namespace disco::eval::uplift {

class UpliftError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ------------------------------------------------------------------------------------------
// Metrics (scikit-uplift). y: outcome per row; uplift: predicted effect per row; treatment: 1
// treated, 0 control. Rows are ordered by uplift, highest first; ties keep scikit-uplift's order
// (numpy's stable argsort reversed: among equal scores the later row comes first).

struct Curve {
  std::vector<double> x, y;  // x = rows targeted, y = curve value; starts at (0, 0)
};

// Qini curve at each distinct score: Y_T(k) - Y_C(k) * N_T(k) / N_C(k) (0 where N_C(k) = 0).
Curve qini_curve(std::span<const double> y, std::span<const double> uplift, std::span<const uint8_t> treatment);
// The best ordering's curve. negative_effect: score y*t - y*(1-t) (treated responders first,
// control responders last); else the three-point curve (0,0), (Q, Q), (n, Q), Q = the total.
Curve perfect_qini_curve(std::span<const double> y, std::span<const uint8_t> treatment, bool negative_effect = true);
// Trapezoidal area (sklearn.metrics.auc).
double area(const Curve& c);
// (area(actual) - area(baseline)) / (area(perfect) - area(baseline)), baseline = the straight
// line from (0, 0) to the perfect curve's end. NaN when the perfect curve has no area above it.
double qini_auc_score(std::span<const double> y, std::span<const double> uplift, std::span<const uint8_t> treatment,
                      bool negative_effect = true);
// Strategy "overall": among the first floor(n * k) rows, mean y of the treated minus mean y of
// the control rows (NaN when one group is absent there). k in (0, 1).
double uplift_at_k(std::span<const double> y, std::span<const double> uplift, std::span<const uint8_t> treatment,
                   double k = 0.3);
// At most max_points points of c (first and last kept, evenly spaced in x) for charts.
Curve thin(const Curve& c, size_t max_points);
// sqrt(mean((estimate - truth)^2)): precision in estimating heterogeneous effects.
double pehe(std::span<const double> estimate, std::span<const double> truth);

// ------------------------------------------------------------------------------------------
// Data: one row per unit (a decision): features, the arm it got, its outcome.
struct UpliftData {
  std::vector<std::string> feature_names;
  std::vector<float> x;          // rows x n_features, row-major; NaN = missing
  std::vector<int> arm;          // arm per row (>= 0)
  std::vector<double> y;         // outcome per row (finite)
  std::vector<double> weight;    // optional (empty = 1): e.g. 1 / propensity of a non-uniform log
  std::vector<uint32_t> group;   // optional: rows of one group (a shopper) stay on one side of a split
  std::vector<std::string> notes;  // how the table was built (rows skipped and why)

  size_t rows() const { return y.size(); }
  size_t n_features() const { return feature_names.size(); }
  const float* row(size_t i) const { return x.data() + i * n_features(); }
  // Throws UpliftError naming the first problem (sizes, negative arm, non-finite y or weight <= 0).
  void validate() const;
  // The given rows (indices into this table), in that order.
  UpliftData subset(const std::vector<size_t>& rows) const;
};

// Which outcome of a canonical log to learn.
enum class LogTarget { Conversion, Margin, Revenue };
const char* to_string(LogTarget t);
bool parse_log_target(std::string_view s, LogTarget& out);

struct LogTableOptions {
  LogTarget target = LogTarget::Conversion;
  bool user_features = true;  // prepend Dataset::user_features of the decision's user when present
  // Weight rows by 1 / logged propensity (so a log from a non-uniform randomized policy compares
  // arms as if every arm had been given to everyone); a uniform log gets equal weights.
  bool weight_by_propensity = true;
};

// A canonical log (data::read_canonical, read_starbucks, ...) as a table: features = the user's
// features (if any) then Decision::context; y = the outcome joined by decision id (a decision
// without an outcome counts as not converted, margin 0, and is counted in notes); group = user.
// Refuses, naming the decision: no decisions; no context and no user features; context vectors of
// different lengths or with non-finite values; propensity outside (0, 1]; a log without
// randomization (every propensity 1).
UpliftData uplift_data_from_log(const data::Dataset& ds, const LogTableOptions& opt = {});

// ------------------------------------------------------------------------------------------
// Learners.
enum class LearnerKind { S, T, X, DR, CT };
enum class BaseKind { Xgb, Linear };
const char* to_string(LearnerKind k);  // "s", "t", "x", "dr", "ct"
const char* to_string(BaseKind k);     // "xgb", "linear"
bool parse_learner(std::string_view s, LearnerKind& out);
bool parse_base(std::string_view s, BaseKind& out);

// Gradient-boosted trees (XGBoost, tree_method hist). The number of rounds is chosen by early
// stopping on a random valid_frac of the training rows (logloss / rmse), at most max_rounds.
struct XgbParams {
  int max_rounds = 500;
  int early_stopping = 30;
  double valid_frac = 0.2;
  double eta = 0.1;
  int max_depth = 4;
  double min_child_weight = 1.0;
  double subsample = 0.8;
  double colsample = 0.8;
  double lambda = 1.0;
  int threads = 1;  // per model (results are identical for a given value)
};

// Logistic (binary) or ridge (continuous) regression on standardized features (missing -> the
// mean), intercept unpenalized; l2 on the sum of losses with weights normalized to mean 1
// (l2 = 1 is scikit-learn's LogisticRegression default C = 1).
struct LinearParams {
  double l2 = 1.0;
  int max_iter = 100;
};

struct LearnerConfig {
  LearnerKind learner = LearnerKind::DR;
  BaseKind base = BaseKind::Xgb;
  XgbParams xgb;
  LinearParams linear;
  int dr_folds = 3;    // DR-learner cross-fitting folds
  uint64_t seed = 1;
  std::string name() const;  // "dr/xgb"
};

// The effect of treatment (t = 1) against control (t = 0) learned on one pair of arms.
class PairEffect {
 public:
  virtual ~PairEffect() = default;
  // tau[i] for the n rows of x (row-major, the n_features the model was fitted with).
  virtual void predict(const float* x, size_t n, double* tau) const = 0;
};

// Fits one learner on rows (x[i], t[i], y[i], w[i]); w may be empty (= 1). binary: y in {0, 1}
// (classifiers for the outcome models). The treated share e (constant: a randomized design) is
// the weighted share of t = 1. Features that take one value per group (constant among the treated
// and among the control rows) are ignored: they carry no heterogeneity and would reveal t.
std::unique_ptr<PairEffect> fit_pair(const float* x, size_t n, size_t d, std::span<const double> y,
                                     std::span<const uint8_t> t, std::span<const double> w, bool binary,
                                     const LearnerConfig& cfg);

// ------------------------------------------------------------------------------------------
// Per-arm uplift model (the C++ API for the live policy).
struct UpliftConfig {
  LearnerConfig learner;
  int control_arm = 0;
  std::vector<int> arms;  // arms to fit (empty: every arm with >= min_rows rows, control excluded)
  size_t min_rows = 30;   // per arm, and for the control arm
  int binary = -1;        // -1: y in {0, 1} decides; 0: continuous; 1: binary (y must be 0/1)
};

class UpliftModel {
 public:
  // Fits one learner per arm against control. Throws UpliftError: invalid data, control arm
  // absent or below min_rows, a requested arm below min_rows, no arm to fit, binary=1 with y
  // outside {0, 1}.
  static UpliftModel fit(const UpliftData& data, const UpliftConfig& cfg = {});

  int control_arm() const { return control_; }
  const std::vector<int>& arms() const { return arms_; }                // fitted arms, ascending
  const std::vector<std::string>& skipped() const { return skipped_; }  // "arm 4: 12 rows (< 30)"
  size_t n_features() const { return feature_names_.size(); }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  bool binary() const { return binary_; }
  std::string learner_name() const { return cfg_.learner.name(); }

  // Effect of each arm against control for one context (n_features values), indexed by arm:
  // size = largest fitted arm + 1, control 0, arms not fitted NaN. Throws on a wrong length.
  std::vector<double> effects(std::span<const float> context) const;
  // Effects of one fitted arm for n contexts (row-major). Throws for an arm that is not fitted.
  void predict(int arm, const float* x, size_t n, double* out) const;

  UpliftModel(UpliftModel&&) noexcept;
  UpliftModel& operator=(UpliftModel&&) noexcept;
  ~UpliftModel();

 private:
  UpliftModel() = default;
  UpliftConfig cfg_;
  int control_ = 0;
  bool binary_ = true;
  std::vector<int> arms_;
  std::vector<std::string> skipped_, feature_names_;
  std::vector<std::unique_ptr<PairEffect>> models_;  // parallel to arms_
};

// A linear summary of a fitted model's effects over a sample of contexts (e.g. the training
// contexts), per fitted arm: the least-squares fit effect(x) ~ intercept + coef . x in the
// context's own units (missing values at the column mean; constant columns get 0), and R^2 of
// that fit. A form a linear per-arm policy (the bandit's prior) can take.
struct LinearEffect {
  int arm = 0;
  double intercept = 0;
  std::vector<double> coef;  // n_features
  double r2 = 0;
};
std::vector<LinearEffect> distill_linear(const UpliftModel& m, const float* x, size_t n);

// ------------------------------------------------------------------------------------------
// Experiments: comparisons of one treated arm against control, scored on held-out halves.
struct Comparison {
  std::string dataset;  // "hillstrom"
  std::string name;     // "Womens E-Mail vs No E-Mail"
  std::string target;   // "visit"
  UpliftData data;      // arm 1 = treated, 0 = control
  std::vector<double> truth;  // optional: the true effect of each row (the simulator)
  bool binary = true;
};

struct LearnerSpec {
  LearnerKind learner;
  BaseKind base;
  std::string name() const;
};

struct ExperimentOptions {
  std::vector<LearnerSpec> learners;  // empty: every learner on every base
  int splits = 5;
  uint64_t seed = 1;
  XgbParams xgb;
  LinearParams linear;
  int threads = 1;        // (comparison, split, learner) tasks in parallel
  size_t curve_points = 200;  // Qini curve points kept for the charts (split 0)
};

struct SplitScore {
  double qini = 0, uplift30 = 0, pehe = 0;  // pehe NaN without truth
  double seconds = 0;
};

struct LearnerResult {
  std::string name;  // "dr/xgb"
  LearnerKind learner;
  BaseKind base;
  std::vector<SplitScore> splits;
  Curve qini_curve;  // split 0, thinned
  double mean(double SplitScore::*m) const;
  double sd(double SplitScore::*m) const;  // sample sd (n - 1)
};

struct ComparisonResult {
  std::string dataset, name, target;
  bool binary = true, has_truth = false;
  size_t rows = 0, treated = 0, control = 0, features = 0;
  double treated_mean = 0, control_mean = 0;  // outcome means (all rows)
  double true_ate = 0;                        // mean truth (has_truth)
  std::vector<std::string> notes;
  std::vector<LearnerResult> learners;
  Curve perfect_curve;  // split 0, thinned
  std::vector<SplitScore> constant;  // the constant (training ATE) predictor: PEHE floor
};

// 50/50 split of a table: stratified by (arm, y > 0) or, with groups, whole groups at random.
// Returns the training rows (sorted); the rest are the test rows.
std::vector<size_t> half_split(const UpliftData& d, uint64_t seed);

std::vector<ComparisonResult> run_comparisons(const std::vector<Comparison>& cs, const ExperimentOptions& opt);

// Comparison builders for the shared datasets (dir = the dataset's folder).
// hillstrom: Womens E-Mail and Mens E-Mail vs No E-Mail; targets "visit", "conversion", "spend".
std::vector<Comparison> hillstrom_comparisons(const std::string& dir, const std::vector<std::string>& targets);
// starbucks-offers: each bogo/discount offer vs the two informational offers (placebo); targets
// "completion" (the offer's completion; an informational offer can never be completed, its 0 is
// structural) and "next_completion" (completion of the customer's next bogo/discount offer,
// defined under both arms); group = customer.
std::vector<Comparison> starbucks_comparisons(const std::string& dir, const std::vector<std::string>& targets);
// A canonical log: each arm vs control_arm, targets "conversion", "margin", "revenue".
std::vector<Comparison> log_comparisons(const data::Dataset& ds, const std::vector<std::string>& targets,
                                        int control_arm = 0);

// The simulator: a uniform randomized log of the seeded store (Config defaults but shoppers /
// days), features computed from what the store could see at each offer point, and the true effect
// of every arm from Environment::purchase_probability / expected_margin at decision time.
struct SimOptions {
  uint64_t seed = 42;
  uint32_t shoppers = 20000;
  uint32_t days = 30;
  int world = 2;  // the simulator's world (disco::sim::Config::world_version; 1 = the original)
  // Diagnostic only: add the shopper's hidden segment (one-hot) to the features, to show how much
  // of the effect heterogeneity a store could capture if it knew it (the dataset is named "sim+segment").
  bool hidden_segment = false;
};
std::vector<Comparison> sim_comparisons(const SimOptions& opt, const std::vector<std::string>& targets);
// The simulator features (names), in the order sim_comparisons uses.
std::vector<std::string> sim_feature_names();

// Reports.
struct ReportInfo {
  std::string title = "disco-eval uplift";
  std::vector<std::pair<std::string, std::string>> meta;
};
std::string results_text(const std::vector<ComparisonResult>& rs);
std::string results_json(const std::vector<ComparisonResult>& rs, const ReportInfo& info);
std::string results_html(const std::vector<ComparisonResult>& rs, const ReportInfo& info);
// Markdown: one table per comparison (learner rows, mean ± sd), for READMEs.
std::string results_markdown(const std::vector<ComparisonResult>& rs);

}  // namespace disco::eval::uplift

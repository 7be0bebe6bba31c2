// From disco::data to OPE: logged bandit feedback out of a Dataset (the collector's canonical
// export or the open-bandit adapter), candidate policies from action-distribution CSV files or
// bundles, and the Open Bandit Pipeline cross-check. Formats: trainer/eval/README.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "disco/data/dataset.h"
#include "disco/eval/ope.h"

namespace disco::eval::ope {

enum class RewardKind { Margin, Conversion, Revenue };
const char* to_string(RewardKind k);  // "margin", "conversion", "revenue"
bool parse_reward_kind(const std::string& s, RewardKind& out);

struct LogOptions {
  RewardKind reward = RewardKind::Margin;
  bool reward_given = false;  // the user chose the reward (else open-bandit falls back to its clicks)
  std::string behavior;       // keep only decisions of this policy_version ("" = all; open-bandit: random | bts)
};

struct LoadedLog {
  BanditLog log;
  std::string kind;                  // "canonical" | "open-bandit"
  RewardKind reward = RewardKind::Margin;
  uint64_t without_outcome = 0;      // decisions with no outcome row (reward 0, not converted)
  std::vector<size_t> decision_of_row;  // index into Dataset::decisions of each row
  std::vector<std::string> notes;    // one line each, for the report
};

// Canonical logs: one row per decision (filtered by policy_version), reward from the joined
// outcome (none: 0), cluster = the shopper, context = the decision's logged context vector
// (decisions.csv `context`, trainer/data/README.md "Canonical CSV"), n_arms = largest arm + 1. Refuses, in one
// line: no decisions, no outcomes.csv, decisions the reader dropped for a propensity outside (0, 1].
LoadedLog bandit_log_from_dataset(const data::Dataset& ds, const std::string& dir, const LogOptions& opt);
// open-bandit (read_open_bandit): the rows of one policy's log ("random" or "bts") in time order,
// with the Open Bandit Pipeline's features: context = one-hot user_feature_0..3 (the first category
// of each, in sorted order, dropped), arm features = [item_id, item_feature_1..3 label-encoded
// (rank among the log's distinct values), item_feature_0]; reward = click; cluster = row.
LoadedLog open_bandit_log(const data::Dataset& ds, const std::string& policy);
// Reads DIR with disco::data: an open-bandit folder (random/ or bts/ with men.csv; --behavior picks
// the log when both are there) or a canonical one. `dataset`, when given, receives the Dataset the
// rows point into (LoadedLog::decision_of_row), e.g. to replay contexts through a bundle.
LoadedLog load_bandit_log(const std::string& dir, const LogOptions& opt, data::Dataset* dataset = nullptr);
bool is_open_bandit_dir(const std::string& dir);

// Decision id as the canonical files spell it (32 lowercase hex digits).
std::string decision_id_hex(uint64_t hi, uint64_t lo);

// ---- candidates ---------------------------------------------------------------------------------

// An action-distribution file (README "Candidate files"):
//   per context: header `arm,<position columns>` (or `item_id,...`: OBP's bts_action_dist.csv), one
//                row per arm, one probability column per position (a single column serves every
//                position); each column sums to 1;
//   per row:     header `decision_id,arm,probability`, the candidate's probability of each arm for
//                each logged decision (arms left out: 0); each decision's probabilities sum to 1.
// or the built-in "uniform" (every arm of the log equally likely).
struct CandidateFile {
  enum class Kind { Uniform, PerPosition, PerRow };
  Kind kind = Kind::Uniform;
  std::string path;                  // "uniform" for the built-in
  std::vector<uint32_t> arms;        // arms it gives a probability to (sorted)
  uint32_t n_positions = 1;          // PerPosition: probability columns
  std::map<uint32_t, std::vector<double>> by_arm;  // PerPosition: arm -> probability per position
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, double>>> by_id;  // PerRow
  std::string describe() const;
};

CandidateFile uniform_candidate();
// Throws OpeError "path:line: reason" on a malformed file (header, numbers, sums, duplicates).
CandidateFile read_candidate_csv(const std::string& path);
// The candidate's distribution at each row of `log`. Refuses (OpeError, one line) a logged arm the
// candidate does not know, a decision a per-row file leaves out, a position it has no column for.
// May widen log.n_arms to arms only the candidate names (not when the log has arm features).
ActionDist candidate_distribution(const CandidateFile& c, BanditLog& log);

// A bundle (.disco) as the candidate: every logged decision's context replayed through the
// runtime's policy with disco_policy_probabilities (runtime/include/disco/disco.h). Needs the
// log's context vectors.
bool looks_like_bundle(const std::string& path);  // ".disco" suffix or the bundle's file identifier
ActionDist bundle_distribution(const std::string& bundle_path, const data::Dataset& ds, BanditLog& log,
                               const std::vector<size_t>& decision_of_row);

// ---- the Open Bandit Pipeline cross-check -------------------------------------------------------

// OBP's examples/obd evaluate_off_policy_estimators protocol: `runs` bootstrap replicates of the
// behavior log (numpy RandomState(b).choice, b = 0..runs-1, the library's draws), reward model
// cross-fitted over `folds` folds (sklearn KFold(shuffle, fold_seed)), relative error
// |V_hat - V| / V against the evaluation policy's own logged CTR.
struct ObpCheckOptions {
  uint32_t runs = 30;
  uint32_t folds = 3;
  uint32_t fold_seed = 12345;
  std::vector<RewardModelSpec> models;  // default: {obp, onehot}
  std::vector<double> lambdas = kDefaultLambdas;
};

struct ObpCheckResult {
  std::string behavior, evaluation;  // e.g. "random" -> "bts"
  double ground_truth = NAN;
  double ipw_full = NAN, snipw_full = NAN;  // on the full behavior log
  struct Row {
    std::string model;                 // reward model name
    Estimator estimator;
    double mean_rel_error = NAN, std_rel_error = NAN;
    std::vector<double> rel_errors;    // one per run
  };
  std::vector<Row> rows;
  const Row* find(const std::string& model, Estimator e) const;
};

// evaluation_dist: the evaluation policy as a candidate file (bts_action_dist.csv for "bts", the
// uniform candidate for "random").
ObpCheckResult obp_check(const data::Dataset& obd, const std::string& behavior, const std::string& evaluation,
                         const CandidateFile& evaluation_dist, const ObpCheckOptions& opt);

}  // namespace disco::eval::ope

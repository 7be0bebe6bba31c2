// The Open Bandit Pipeline cross-check (examples/obd/evaluate_off_policy_estimators.py's protocol):
// bootstrap the behavior log with the library's own draws, cross-fit the reward model, and
// measure each estimator's relative error against the evaluation policy's logged CTR.
#include <cmath>

#include "disco/eval/ope_data.h"
#include "disco/eval/ope_stats.h"

namespace disco::eval::ope {

const ObpCheckResult::Row* ObpCheckResult::find(const std::string& model, Estimator e) const {
  for (const auto& r : rows)
    if (r.model == model && r.estimator == e) return &r;
  return nullptr;
}

namespace {
BanditLog resample(const BanditLog& log, const std::vector<size_t>& idx) {
  BanditLog o;
  o.source = log.source + " (bootstrap)";
  o.n_arms = log.n_arms;
  o.n_positions = log.n_positions;
  o.context_dim = log.context_dim;
  o.arm_feature_dim = log.arm_feature_dim;
  o.arm_features = log.arm_features;
  o.context.reserve(idx.size() * log.context_dim);
  for (size_t j = 0; j < idx.size(); ++j) {
    const size_t i = idx[j];
    o.arm.push_back(log.arm[i]);
    o.position.push_back(log.position[i]);
    o.propensity.push_back(log.propensity[i]);
    o.reward.push_back(log.reward[i]);
    o.cluster.push_back(j);
    o.context.insert(o.context.end(), log.context.begin() + static_cast<std::ptrdiff_t>(i * log.context_dim),
                     log.context.begin() + static_cast<std::ptrdiff_t>((i + 1) * log.context_dim));
  }
  return o;
}
}  // namespace

ObpCheckResult obp_check(const data::Dataset& obd, const std::string& behavior, const std::string& evaluation,
                         const CandidateFile& evaluation_dist, const ObpCheckOptions& opt) {
  ObpCheckResult res;
  res.behavior = behavior;
  res.evaluation = evaluation;
  LoadedLog L = open_bandit_log(obd, behavior);
  {
    const LoadedLog E = open_bandit_log(obd, evaluation);
    res.ground_truth = stats::mean(E.log.reward);
  }
  if (!(res.ground_truth > 0)) throw OpeError("open-bandit: the " + evaluation + " log has no clicks (no ground truth)");
  BanditLog& full = L.log;
  {
    const ActionDist pi = candidate_distribution(evaluation_dist, full);
    const RowTerms t = row_terms(full, pi, nullptr);
    res.ipw_full = estimate(Estimator::IPS, t);
    res.snipw_full = estimate(Estimator::SNIPS, t);
  }
  std::vector<RewardModelSpec> models = opt.models;
  if (models.empty()) models = {reward_model_preset("obp"), reward_model_preset("onehot")};
  for (const auto& m : models)
    for (Estimator e : kAllEstimators) {
      ObpCheckResult::Row r;
      r.model = m.name;
      r.estimator = e;
      res.rows.push_back(r);
    }
  const size_t n = full.size();
  const std::vector<uint32_t> folds = stats::kfold_assignment(n, opt.folds, opt.fold_seed);
  for (uint32_t b = 0; b < opt.runs; ++b) {
    stats::NumpyRandomState rs(b);
    BanditLog boot = resample(full, rs.choice(n, n));
    const ActionDist pi = candidate_distribution(evaluation_dist, boot);
    size_t row = 0;
    for (const auto& m : models) {
      const RewardPredictions q = cross_fit(boot, m, folds, opt.folds);
      const RowTerms t = row_terms(boot, pi, &q);
      for (Estimator e : kAllEstimators) {
        double lambda = kInf;
        if (e == Estimator::SwitchDR || e == Estimator::DROS) lambda = slope_lambda(e, t, opt.lambdas);
        const double v = estimate(e, t, lambda);
        res.rows[row++].rel_errors.push_back(std::abs(v - res.ground_truth) / res.ground_truth);
      }
    }
  }
  for (auto& r : res.rows) {
    r.mean_rel_error = stats::mean(r.rel_errors);
    // pandas describe()'s std (ddof = 1), as OBP's table reports it
    const double v = stats::variance_pop(r.rel_errors) * static_cast<double>(r.rel_errors.size());
    r.std_rel_error = r.rel_errors.size() > 1 ? std::sqrt(v / static_cast<double>(r.rel_errors.size() - 1)) : NAN;
  }
  return res;
}

}  // namespace disco::eval::ope

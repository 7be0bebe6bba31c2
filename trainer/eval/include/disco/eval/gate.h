// The go-live gate (disco-eval gate): promote a candidate policy only when its off-policy lower
// 95% bound beats the current policy's estimate on the same log, with the same reward model.
// Rule and exit codes: trainer/eval/README.md "Go-live gate".
#pragma once

#include <string>

#include "disco/eval/ope.h"

namespace disco::eval::gate {

struct GateOptions {
  ope::OpeOptions ope;        // bootstrap, seed, alpha, lambdas
  double poor_skill = 0.0;    // the reward model is poor when its out-of-fold skill <= this: SNIPS decides
  double min_ess = 100;       // hold when the candidate's effective sample size is below this
};

enum class Verdict { Promote, Hold };

struct GateResult {
  Verdict verdict = Verdict::Hold;
  std::string line;             // one line saying why
  ope::Estimator estimator = ope::Estimator::DR;
  bool model_poor = false;
  double candidate_lo = NAN, candidate_value = NAN, candidate_hi = NAN, current_value = NAN;
  ope::OpeResult candidate, current;
};

// Evaluates both policies (DR and SNIPS with intervals, same bootstrap draws) and decides.
GateResult decide(const ope::BanditLog& log, const ope::ActionDist& candidate, const ope::ActionDist& current,
                  const ope::RewardPredictions& q, const GateOptions& opt);

}  // namespace disco::eval::gate

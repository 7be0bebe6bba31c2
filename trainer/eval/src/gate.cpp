// The go-live gate: DR (or SNIPS when the reward model is poor) lower bound of the candidate
// against the current policy's estimate with the same estimator.
#include "disco/eval/gate.h"

#include <cmath>
#include <cstdio>

namespace disco::eval::gate {

namespace {
std::string num(double v) {
  char b[48];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}
}  // namespace

GateResult decide(const ope::BanditLog& log, const ope::ActionDist& candidate, const ope::ActionDist& current,
                  const ope::RewardPredictions& q, const GateOptions& opt) {
  GateResult g;
  ope::OpeOptions o = opt.ope;
  o.estimators = {ope::Estimator::DR, ope::Estimator::SNIPS, ope::Estimator::IPS, ope::Estimator::DM};
  if (o.bootstrap == 0) throw ope::OpeError("the gate needs bootstrap intervals (--bootstrap > 0)");
  g.candidate = ope::evaluate(log, candidate, &q, o);
  g.current = ope::evaluate(log, current, &q, o);
  g.model_poor = !(q.skill > opt.poor_skill);
  g.estimator = g.model_poor ? ope::Estimator::SNIPS : ope::Estimator::DR;
  const auto& c = g.candidate.get(g.estimator);
  const auto& k = g.current.get(g.estimator);
  g.candidate_lo = c.lo;
  g.candidate_value = c.value;
  g.candidate_hi = c.hi;
  g.current_value = k.value;
  const std::string est = ope::to_string(g.estimator);
  const std::string why_est = g.model_poor ? " (reward model poor: out-of-fold skill " + num(q.skill) + " <= " + num(opt.poor_skill) + ", so SNIPS)"
                                           : " (reward model skill " + num(q.skill) + ")";
  const int pct = static_cast<int>(std::lround(100 * (1 - o.alpha)));
  const double ess = g.candidate.diag.ess;
  if (!(ess >= opt.min_ess)) {
    g.verdict = Verdict::Hold;
    g.line = "hold: the candidate's effective sample size is " + num(ess) + " < " + num(opt.min_ess) +
             " (the log has too few decisions the candidate would make to judge it)";
    return g;
  }
  if (!std::isfinite(c.lo) || !std::isfinite(k.value)) {
    g.verdict = Verdict::Hold;
    g.line = "hold: " + est + " is undefined on this log (the candidate never takes a logged arm?)";
    return g;
  }
  const bool promote = c.lo > k.value;
  g.verdict = promote ? Verdict::Promote : Verdict::Hold;
  g.line = std::string(promote ? "promote" : "hold") + ": candidate " + est + " lower " + std::to_string(pct) + "% bound " +
           num(c.lo) + (promote ? " > " : " <= ") + "current policy's " + est + " estimate " + num(k.value) +
           " (candidate " + num(c.value) + " [" + num(c.lo) + ", " + num(c.hi) + "], " + std::to_string(log.size()) +
           " decisions, ESS " + num(ess) + ")" + why_est;
  return g;
}

}  // namespace disco::eval::gate

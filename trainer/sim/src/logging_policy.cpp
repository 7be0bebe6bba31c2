// The logging policies (simulate.h): LoggingPolicy's spec (uniform, fixed:ARM, epsilon:EPS:ARM),
// its propensities and draw, and the two OfferPolicy adapters (LoggingOfferPolicy, OracleOfferPolicy).
#include "disco/sim/simulate.h"

#include <charconv>

namespace disco::sim {

LoggingPolicy LoggingPolicy::parse(std::string_view spec) {
  auto bad_arm = [&](std::string_view a) {
    return SimError("logging policy '" + std::string(spec) + "': unknown arm '" + std::string(a) +
                    "' (arms: 0%, 5%, 10%, 15%, 20%, free-shipping, or an index 0-5)");
  };
  LoggingPolicy p;
  if (spec == "uniform") return p;
  if (spec.starts_with("fixed:")) {
    std::string_view a = spec.substr(6);
    p.kind = Kind::Fixed;
    p.arm = parse_arm(a);
    if (p.arm < 0) throw bad_arm(a);
    p.epsilon = 0.0;
    return p;
  }
  if (spec.starts_with("epsilon:")) {
    std::string_view rest = spec.substr(8);
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos)
      throw SimError("logging policy '" + std::string(spec) + "': expected epsilon:EPS:ARM");
    std::string eps_s(rest.substr(0, colon));
    std::string_view a = rest.substr(colon + 1);
    double eps = -1;
    auto r = std::from_chars(eps_s.data(), eps_s.data() + eps_s.size(), eps);
    if (r.ec != std::errc() || r.ptr != eps_s.data() + eps_s.size() || !(eps >= 0.0 && eps <= 1.0))
      throw SimError("logging policy '" + std::string(spec) + "': EPS must be a number in [0, 1], got '" +
                     eps_s + "'");
    p.kind = Kind::Epsilon;
    p.epsilon = eps;
    p.arm = parse_arm(a);
    if (p.arm < 0) throw bad_arm(a);
    return p;
  }
  throw SimError("unknown logging policy '" + std::string(spec) +
                 "' (expected uniform, fixed:ARM or epsilon:EPS:ARM)");
}

std::string LoggingPolicy::to_string() const {
  switch (kind) {
    case Kind::Uniform: return "uniform";
    case Kind::Fixed: return std::string("fixed:") + kArms[arm].name;
    case Kind::Epsilon: {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof(buf), epsilon);
      return "epsilon:" + std::string(buf, r.ptr) + ":" + kArms[arm].name;
    }
  }
  return "?";
}

double LoggingPolicy::propensity(int a) const {
  switch (kind) {
    case Kind::Uniform: return 1.0 / kNumArms;
    case Kind::Fixed: return a == arm ? 1.0 : 0.0;
    case Kind::Epsilon: return (a == arm ? 1.0 - epsilon : 0.0) + epsilon / kNumArms;
  }
  return 0.0;
}

int LoggingPolicy::choose(double u) const {
  double acc = 0;
  int last = 0;
  for (int a = 0; a < kNumArms; ++a) {
    const double p = propensity(a);
    if (p <= 0) continue;
    last = a;
    acc += p;
    if (u < acc) return a;
  }
  return last;
}

OfferPolicy::Choice LoggingOfferPolicy::choose(const Environment& env, const OfferPoint& p) {
  Choice c;
  c.arm = p_.choose(to_unit(hash_key(env.seed(), kStreamPolicy, p.shopper, p.key)));
  c.propensity = p_.propensity(c.arm);
  return c;
}

OfferPolicy::Choice OracleOfferPolicy::choose(const Environment& env, const OfferPoint& p) {
  return {env.oracle_arm(p.shopper, p.item, p.ts_ms), 1.0};
}

}  // namespace disco::sim

// Bookkeeping shared by the loop's simulator drivers (sim_driver.cpp for the Node fleet, lab.cpp
// for the native one): per-day figures of a policy, the baselines (no discount, each fixed arm, the
// oracle) run on the loop days with no discount before, and their JSON.
#pragma once
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "disco/sim/arms.h"
#include "disco/sim/environment.h"
#include "disco/sim/simulate.h"

namespace disco::loop {

using namespace disco::sim;

inline constexpr int64_t kDayMs = 86400000LL;


struct Day {
  uint64_t decisions = 0, conversions = 0;
  double revenue = 0, margin = 0, spend = 0, expected_margin = 0;
};

struct Stats {
  std::vector<Day> days;
  void add(int day, const Outcome& o, double expected) {
    if (day < 0 || day >= int(days.size())) return;
    Day& d = days[size_t(day)];
    d.decisions++;
    d.conversions += o.purchased;
    d.revenue += o.revenue;
    d.margin += o.margin;
    d.spend += o.discount_spend;
    d.expected_margin += expected;
  }
  double total_margin() const {
    double m = 0;
    for (const Day& d : days) m += d.margin;
    return m;
  }
};

// A baseline: `inner` on the loop days, no discount before (the pre-launch history).
class LoopPolicy final : public OfferPolicy {
 public:
  LoopPolicy(int fixed_arm, int64_t loop_start, int64_t start, uint32_t days)
      : fixed_(fixed_arm), loop_start_(loop_start), start_(start) { stats.days.resize(days); }
  Choice choose(const Environment& env, const OfferPoint& p) override {
    if (p.ts_ms < loop_start_) return {kNoDiscountArm, 1.0};
    if (fixed_ >= 0) return {fixed_, 1.0};
    return {env.oracle_arm(p.shopper, p.item, p.ts_ms), 1.0};
  }
  void observe(const Environment& env, const OfferPoint& p, const Choice& c, const Outcome& o) override {
    if (p.ts_ms < loop_start_) return;
    // expected margin in the state the choice was made in (before this offer's habituation)
    (void)env;
    stats.add(int((p.ts_ms - start_) / kDayMs), o, last_expected_);
    (void)c;
  }
  Stats stats;
  double last_expected_ = 0;

 private:
  int fixed_;
  int64_t loop_start_, start_;
};

// run_policy with the expected margin of the chosen arm recorded (evaluated before the draw).
class ExpectedWrapper final : public OfferPolicy {
 public:
  explicit ExpectedWrapper(LoopPolicy& p) : p_(p) {}
  Choice choose(const Environment& env, const OfferPoint& pt) override {
    Choice c = p_.choose(env, pt);
    p_.last_expected_ = env.expected_margin(pt.shopper, pt.item, c.arm, pt.ts_ms);
    return c;
  }
  void observe(const Environment& env, const OfferPoint& pt, const Choice& c, const Outcome& o) override {
    p_.observe(env, pt, c, o);
  }

 private:
  LoopPolicy& p_;
};

inline std::string json_days(const Stats& s) {
  std::ostringstream o;
  auto arr = [&](const char* name, auto get) {
    o << "\"" << name << "\":[";
    for (size_t i = 0; i < s.days.size(); ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%.4f", i ? "," : "", double(get(s.days[i])));
      o << buf;
    }
    o << "]";
  };
  o << "{";
  arr("decisions", [](const Day& d) { return d.decisions; });
  o << ",";
  arr("conversions", [](const Day& d) { return d.conversions; });
  o << ",";
  arr("revenue", [](const Day& d) { return d.revenue; });
  o << ",";
  arr("margin", [](const Day& d) { return d.margin; });
  o << ",";
  arr("discount_spend", [](const Day& d) { return d.spend; });
  o << ",";
  arr("expected_margin", [](const Day& d) { return d.expected_margin; });
  o << "}";
  return o.str();
}


// The baselines on the loop days (no discount before loop_start), same browsing, same draws.
struct Baselines {
  std::vector<Stats> fixed;  // per arm
  Stats oracle;
};
inline Baselines run_baselines(Environment& env, const Browsing& browsing, int64_t loop_start, int64_t start,
                               uint32_t total_days) {
  Baselines b;
  b.fixed.resize(kNumArms);
  for (int a = 0; a < kNumArms; ++a) {
    LoopPolicy p(a, loop_start, start, total_days);
    ExpectedWrapper w(p);
    run_policy(env, browsing, w);
    b.fixed[size_t(a)] = p.stats;
  }
  LoopPolicy p(-1, loop_start, start, total_days);
  ExpectedWrapper w(p);
  run_policy(env, browsing, w);
  b.oracle = p.stats;
  return b;
}

}  // namespace disco::loop

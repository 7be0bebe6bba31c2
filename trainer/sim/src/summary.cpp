// The run's summary (simulate.h): counts, conversion, margins of the logging policy, the oracle
// and every fixed arm at the same offer points, and its text.
#include "disco/sim/simulate.h"

#include <cstdio>
#include <sstream>

namespace disco::sim {

Summary summarize(const Environment& env, const SimLog& log) {
  Summary s;
  s.shoppers = env.num_shoppers();
  s.items = env.num_items();
  s.sessions = log.sessions;
  for (const SimEvent& e : log.events) ++s.events_by_kind[e.kind];
  s.events = log.events.size();
  s.decisions = log.decisions.size();
  s.outcomes = log.outcomes.size();
  for (const SimOutcome& o : log.outcomes) {
    s.conversions += o.converted;
    s.realized_margin += o.margin;
    s.revenue += o.revenue;
    s.discount_spend += o.discount_spend;
  }
  for (const SimDecision& d : log.decisions) {
    s.logging_expected_margin += d.expected_margin;
    s.oracle_expected_margin += d.oracle_expected_margin;
    for (int a = 0; a < kNumArms; ++a) s.fixed_expected_margin[a] += d.fixed_expected_margin[a];
  }
  s.session_conversion_rate = s.sessions ? double(log.sessions_with_purchase) / double(s.sessions) : 0.0;
  s.offer_conversion_rate = s.decisions ? double(s.conversions) / double(s.decisions) : 0.0;
  for (const Shopper& p : env.shoppers()) ++s.shoppers_by_segment[int(p.segment)];
  return s;
}

std::string summary_text(const Summary& s) {
  std::ostringstream o;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "shoppers %llu (persuadable %llu, sure-thing %llu, lost-cause %llu, sleeping-dog %llu)\n",
                (unsigned long long)s.shoppers, (unsigned long long)s.shoppers_by_segment[0],
                (unsigned long long)s.shoppers_by_segment[1], (unsigned long long)s.shoppers_by_segment[2],
                (unsigned long long)s.shoppers_by_segment[3]);
  o << buf;
  std::snprintf(buf, sizeof(buf), "items %llu, sessions %llu, events %llu\n", (unsigned long long)s.items,
                (unsigned long long)s.sessions, (unsigned long long)s.events);
  o << buf << "events by type:";
  for (int k = 0; k < kNumEventKinds; ++k) o << ' ' << event_kind_name(k) << ' ' << s.events_by_kind[k];
  o << '\n';
  std::snprintf(buf, sizeof(buf),
                "conversion: %.2f%% of sessions, %.2f%% of offers (%llu of %llu decisions; %llu outcomes)\n",
                100 * s.session_conversion_rate, 100 * s.offer_conversion_rate,
                (unsigned long long)s.conversions, (unsigned long long)s.decisions,
                (unsigned long long)s.outcomes);
  o << buf;
  std::snprintf(buf, sizeof(buf), "logging policy: revenue %.2f, discount spend %.2f, realized margin %.2f, expected margin %.2f\n",
                s.revenue, s.discount_spend, s.realized_margin, s.logging_expected_margin);
  o << buf;
  int best = 0;
  for (int a = 1; a < kNumArms; ++a)
    if (s.fixed_expected_margin[a] > s.fixed_expected_margin[best]) best = a;
  std::snprintf(buf, sizeof(buf), "expected margin at the same offer points: oracle %.2f, best fixed arm (%s) %.2f, no discount %.2f\n",
                s.oracle_expected_margin, kArms[best].name, s.fixed_expected_margin[best],
                s.fixed_expected_margin[kNoDiscountArm]);
  o << buf;
  return o.str();
}

}  // namespace disco::sim

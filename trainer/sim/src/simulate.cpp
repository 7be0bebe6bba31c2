// The online loop (simulate.h): run_policy decides at the offer points in time order, draws
// outcomes, applies habituation and adds the checkout events; simulate() with a logging policy.
// The parts: logging_policy.cpp (policies), browsing.cpp (visits), summary.cpp, csv_writer.cpp
// (the canonical CSV files) with csv_file.h (buffered writer) and dirty_rows.{h,cpp}.
#include "disco/sim/simulate.h"

#include <algorithm>

namespace disco::sim {

const char* event_kind_name(int k) {
  static const char* const names[] = {"view", "click", "cart", "remove", "purchase"};
  return k >= 0 && k < kNumEventKinds ? names[k] : "?";
}

SimLog run_policy(Environment& env, const Browsing& browsing, OfferPolicy& policy) {
  const uint64_t seed = env.seed();
  env.reset_state();
  SimLog log;
  log.sessions = browsing.sessions;
  std::vector<SimEvent> checkout_events;
  std::vector<uint32_t> purchase_sessions;
  for (const OfferPoint& p : browsing.offers) {
    Outcome out;
    if (p.is_decision) {
      const auto m = env.expected_margins(p.shopper, p.item, p.ts_ms);
      const OfferPolicy::Choice c = policy.choose(env, p);
      if (c.arm < 0 || c.arm >= kNumArms)
        throw SimError("policy " + policy.version() + " chose arm " + std::to_string(c.arm) + " (valid: 0.." +
                       std::to_string(kNumArms - 1) + ")");
      out = env.draw(p.shopper, p.item, c.arm, p.key, p.ts_ms);
      env.apply_offer(p.shopper, c.arm, p.ts_ms);
      SimDecision d{};
      d.id_hi = hash_key(seed, kStreamDecisionId, p.shopper, p.key, 0);
      d.id_lo = hash_key(seed, kStreamDecisionId, p.shopper, p.key, 1);
      d.ts_ms = p.ts_ms;
      d.shopper = p.shopper;
      d.item = p.item;
      d.session = p.session;
      d.arm = uint8_t(c.arm);
      d.propensity = c.propensity;
      d.key = p.key;
      const int oracle = int(std::max_element(m.begin(), m.end()) - m.begin());
      d.expected_margin = m[c.arm];
      d.oracle_expected_margin = m[oracle];
      d.oracle_arm = uint8_t(oracle);
      for (int a = 0; a < kNumArms; ++a) d.fixed_expected_margin[a] = m[a];
      log.decisions.push_back(d);
      log.outcomes.push_back({d.id_hi, d.id_lo, p.checkout_ts_ms, out.purchased, out.revenue, out.margin,
                              out.discount_spend});
      policy.observe(env, p, c, out);
    } else {
      out = env.draw(p.shopper, p.item, kNoDiscountArm, p.key, p.ts_ms);
    }
    if (out.purchased) {
      checkout_events.push_back({p.checkout_ts_ms, out.unit_price, p.shopper, p.session, p.item, kPurchase,
                                 uint8_t(out.quantity)});
      purchase_sessions.push_back(p.session);
    } else {
      // Abandoned carts are sometimes removed between the end of browsing and checkout.
      const uint64_t h = hash_key(seed, kStreamRemove, p.shopper, p.key);
      if (to_unit(h) < 0.4) {
        const int64_t span = std::max<int64_t>(1, p.checkout_ts_ms - p.browse_end_ts_ms - 1);
        const int64_t ts = p.browse_end_ts_ms + 1 + int64_t(mix64(h) % uint64_t(span));
        checkout_events.push_back({ts, env.item(p.item).price, p.shopper, p.session, p.item, kRemove, 1});
      }
    }
  }
  std::sort(purchase_sessions.begin(), purchase_sessions.end());
  log.sessions_with_purchase =
      uint64_t(std::unique(purchase_sessions.begin(), purchase_sessions.end()) - purchase_sessions.begin());
  auto by_ts = [](const auto& x, const auto& y) { return x.ts_ms < y.ts_ms; };
  // Offer points are in ts order; checkout events of one session share or follow their carts.
  std::stable_sort(checkout_events.begin(), checkout_events.end(), by_ts);
  log.events.resize(browsing.events.size() + checkout_events.size());
  std::merge(browsing.events.begin(), browsing.events.end(), checkout_events.begin(), checkout_events.end(),
             log.events.begin(), by_ts);
  std::stable_sort(log.outcomes.begin(), log.outcomes.end(), by_ts);
  return log;
}

SimLog simulate(Environment& env, const LoggingPolicy& policy) {
  LoggingOfferPolicy p(policy);
  return run_policy(env, generate_browsing(env), p);
}

}  // namespace disco::sim

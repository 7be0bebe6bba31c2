// The online loop (simulate.h): run_policy decides at the offer points in time order, draws
// outcomes, applies habituation and adds the checkout events; simulate() with a logging policy.
// The parts: logging_policy.cpp (policies), browsing.cpp (visits), summary.cpp, csv_writer.cpp
// (the canonical CSV files) with csv_file.h (buffered writer) and dirty_rows.{h,cpp}.
#include "disco/sim/simulate.h"

#include <algorithm>
#include <queue>
#include <unordered_map>

namespace disco::sim {

const char* event_kind_name(int k) {
  static const char* const names[] = {"view", "click", "cart", "remove", "purchase"};
  return k >= 0 && k < kNumEventKinds ? names[k] : "?";
}

namespace {
// Config::item_offer_lifetime_ms: the item offer made at the cart add has expired at checkout.
bool item_offer_expired(const Environment& env, const OfferPoint& p) {
  const int64_t life = env.config().item_offer_lifetime_ms;
  return life > 0 && p.checkout_ts_ms >= p.ts_ms + life;
}

// The policy's decision at an item offer point (its arm checked) and the decision's log record with
// the ground truth of every arm; draw_arm is the arm the outcome is drawn with (no discount once the
// offer has expired at checkout). The caller draws and applies habituation (env.apply_offer) in its
// own order: nothing here changes the environment's state.
struct ItemDecision {
  OfferPolicy::Choice choice;
  SimDecision decision;
  int draw_arm;
};
ItemDecision decide_item(Environment& env, OfferPolicy& policy, const OfferPoint& p, uint64_t seed) {
  const auto m = env.expected_margins(p.shopper, p.item, p.ts_ms);
  const OfferPolicy::Choice c = policy.choose(env, p);
  if (c.arm < 0 || c.arm >= kNumArms)
    throw SimError("policy " + policy.version() + " chose arm " + std::to_string(c.arm) + " (valid: 0.." +
                   std::to_string(kNumArms - 1) + ")");
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
  return {c, d, item_offer_expired(env, p) ? kNoDiscountArm : c.arm};
}
}  // namespace

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
      const ItemDecision id = decide_item(env, policy, p, seed);
      const OfferPolicy::Choice& c = id.choice;
      const SimDecision& d = id.decision;
      out = env.draw(p.shopper, p.item, id.draw_arm, p.key, p.ts_ms);
      env.apply_offer(p.shopper, c.arm, p.ts_ms);
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

SimLog run_policy(Environment& env, const Browsing& browsing, OfferPolicy& policy, std::span<const CartArm> cart_arms,
                  CartOfferPolicy& cart_policy) {
  if (cart_arms.empty()) return run_policy(env, browsing, policy);
  if (cart_arms.size() > 32) throw SimError("at most 32 cart arms, got " + std::to_string(cart_arms.size()));
  const uint64_t seed = env.seed();
  env.reset_state();
  SimLog log;
  log.sessions = browsing.sessions;
  std::vector<SimEvent> checkout_events;
  std::vector<uint32_t> purchase_sessions;
  struct Pending {
    std::vector<CartLine> lines;
    std::vector<OfferPoint> points;
    std::vector<int64_t> decision;  // index into log.decisions, -1 for a cart add with no offer
    std::vector<OfferPolicy::Choice> choices;
  };
  std::unordered_map<uint32_t, Pending> pending;  // by session
  using Due = std::pair<int64_t, uint32_t>;       // (decision ts, session)
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due;
  std::vector<int> eligible;

  auto finish = [&](uint32_t session) {
    auto node = pending.extract(session);
    Pending& P = node.mapped();
    const OfferPoint& first = P.points.front();
    CartPoint cp{first.browse_end_ts_ms, first.checkout_ts_ms, first.shopper, session, env.cart_value(P.lines),
                 P.lines, P.points};
    eligible.clear();
    uint32_t mask = 0;
    for (size_t k = 0; k < cart_arms.size(); ++k)
      if (Environment::cart_arm_eligible(cart_arms[k], cp.value, cp.ts_ms)) eligible.push_back(int(k)), mask |= 1u << k;
    const int arm = cart_policy.choose(env, cp, eligible);
    if (arm != -1 && std::find(eligible.begin(), eligible.end(), arm) == eligible.end())
      throw SimError("cart policy " + cart_policy.version() + " chose cart arm " + std::to_string(arm) +
                     ", which is not eligible for this cart");
    const CartArm* coupon = arm >= 0 ? &cart_arms[size_t(arm)] : nullptr;
    CartOutcome out = env.draw_cart(cp.shopper, P.lines, coupon, cp.ts_ms, cp.checkout_ts_ms);
    if (coupon) env.apply_discount(cp.shopper, cp.ts_ms);
    bool bought = false;
    for (size_t l = 0; l < P.lines.size(); ++l) {
      const OfferPoint& p = P.points[l];
      const Outcome& o = out.lines[l];
      if (P.decision[l] >= 0) {
        const SimDecision& d = log.decisions[size_t(P.decision[l])];
        log.outcomes[size_t(P.decision[l])] = {d.id_hi, d.id_lo, p.checkout_ts_ms, o.purchased, o.revenue, o.margin,
                                               o.discount_spend};
        policy.observe(env, p, P.choices[l], o);
      }
      if (o.purchased) {
        bought = true;
        checkout_events.push_back({p.checkout_ts_ms, o.unit_price, p.shopper, p.session, p.item, kPurchase,
                                   uint8_t(o.quantity)});
      } else {
        const uint64_t h = hash_key(seed, kStreamRemove, p.shopper, p.key);
        if (to_unit(h) < 0.4) {
          const int64_t span = std::max<int64_t>(1, p.checkout_ts_ms - p.browse_end_ts_ms - 1);
          const int64_t ts = p.browse_end_ts_ms + 1 + int64_t(mix64(h) % uint64_t(span));
          checkout_events.push_back({ts, env.item(p.item).price, p.shopper, p.session, p.item, kRemove, 1});
        }
      }
    }
    if (bought) purchase_sessions.push_back(session);
    cart_policy.observe(env, cp, arm, out);
    SimCartDecision cd{cp.ts_ms, cp.checkout_ts_ms, cp.shopper, session, arm, uint32_t(P.lines.size()), mask,
                       cp.value, std::move(out)};
    cd.outcome.lines.clear();
    log.cart_decisions.push_back(std::move(cd));
  };

  for (const OfferPoint& p : browsing.offers) {
    while (!due.empty() && due.top().first < p.ts_ms) {
      const uint32_t sess = due.top().second;
      due.pop();
      finish(sess);
    }
    auto [it, fresh] = pending.try_emplace(p.session);
    if (fresh) due.push({p.browse_end_ts_ms, p.session});
    Pending& P = it->second;
    const double wait = env.wait_level(p.shopper, p.ts_ms);
    int draw_arm = kNoDiscountArm;
    OfferPolicy::Choice c{};
    int64_t di = -1;
    if (p.is_decision) {
      const ItemDecision id = decide_item(env, policy, p, seed);
      c = id.choice;
      draw_arm = id.draw_arm;
      env.apply_offer(p.shopper, c.arm, p.ts_ms);
      const SimDecision& d = id.decision;
      di = int64_t(log.decisions.size());
      log.decisions.push_back(d);
      log.outcomes.push_back({d.id_hi, d.id_lo, p.checkout_ts_ms, false, 0, 0, 0});
    }
    P.lines.push_back({p.item, draw_arm, p.key, wait});
    P.points.push_back(p);
    P.decision.push_back(di);
    P.choices.push_back(c);
  }
  while (!due.empty()) {
    const uint32_t sess = due.top().second;
    due.pop();
    finish(sess);
  }
  std::sort(purchase_sessions.begin(), purchase_sessions.end());
  log.sessions_with_purchase =
      uint64_t(std::unique(purchase_sessions.begin(), purchase_sessions.end()) - purchase_sessions.begin());
  auto by_ts = [](const auto& x, const auto& y) { return x.ts_ms < y.ts_ms; };
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

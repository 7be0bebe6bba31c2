// disco-loop-lab's cart-level run (a cart decision per visit, disco_offer_cart against the
// simulator's cart ground truth, trainer/sim/include/disco/sim/cart.h), shared by lab.cpp and the
// loop's tests (tests/loop/lab_cart_test.cpp). Harness only: the runtime decides, the simulator
// says what the shoppers do. Errors throw std::runtime_error.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <queue>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "disco/disco.h"
#include "disco/schemas/bundle_generated.h"
#include "world.h"

namespace disco::loop::lab {

[[noreturn]] inline void fail(const std::string& msg) { throw std::runtime_error(msg); }

inline uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// One native runtime over a bundle for the lab's world (run_disco, run_disco_cart): the simulator's
// items mapped to the bundle's indices (-1: not in its catalog), one session per shopper made on
// first use, observe() of a browsing event; everything freed with it. Errors throw (fail).
struct LabRuntime {
  disco_bundle* b = nullptr;
  disco_runtime* rt = nullptr;
  std::vector<int64_t> item_index;
  std::vector<disco_session*> sessions;

  LabRuntime(const Environment& env, const std::vector<uint8_t>& bytes, uint64_t runtime_seed) {
    if (disco_bundle_load(bytes.data(), bytes.size(), 0, &b) != DISCO_OK) fail(std::string("bundle: ") + disco_last_error());
    disco_runtime_options ro;
    disco_runtime_default_options(&ro);
    ro.seed = runtime_seed;
    ro.mode = DISCO_MODE_ONLINE;
    if (disco_runtime_create(b, &ro, &rt) != DISCO_OK) {
      disco_bundle_free(b);
      fail(std::string("runtime: ") + disco_last_error());
    }
    item_index.assign(env.num_items(), -1);
    for (uint32_t i = 0; i < env.num_items(); ++i) {
      const std::string id = Environment::item_id(i);
      uint32_t idx = 0;
      if (disco_bundle_item_index(b, id.data(), id.size(), &idx) == DISCO_OK) item_index[i] = idx;
    }
    sessions.assign(env.num_shoppers(), nullptr);
  }
  ~LabRuntime() {
    for (disco_session* s : sessions) disco_session_free(s);
    disco_runtime_free(rt);
    disco_bundle_free(b);
  }
  LabRuntime(const LabRuntime&) = delete;
  LabRuntime& operator=(const LabRuntime&) = delete;

  disco_session* session(uint32_t s) {
    if (!sessions[s] && disco_session_create(rt, fnv1a64(Environment::user_id(s)), &sessions[s]) != DISCO_OK)
      fail(std::string("session: ") + disco_last_error());
    return sessions[s];
  }
  void observe(uint32_t s, uint32_t item, uint32_t type, int64_t ts, float price, int32_t qty) {
    if (item_index[item] < 0) return;
    disco_event e{ts, uint32_t(item_index[item]), type, price, qty};
    if (disco_observe(session(s), &e) != DISCO_OK) fail(std::string("observe: ") + disco_last_error());
  }
};

struct Completion {
  int64_t ts;
  uint64_t seq;
  uint32_t shopper, item;
  uint64_t hi, lo;  // 0,0 = a pre-launch purchase (no decision)
  Outcome o;
  bool cart = false;  // a cart decision's outcome (the order's margin; its lines report their purchases)
  bool operator>(const Completion& x) const { return ts != x.ts ? ts > x.ts : seq > x.seq; }
};

struct RunResult {
  Stats stats;
  uint64_t offers = 0, discounted = 0;
  double reserved = 0;  // what the runtime's budget meter counts: every discounted offer's spend (guardrails.h)
  // Ground truth per segment (analysis only): offers, discounted offers, the expected margin gained
  // over arm 0 at the moment of the offer (in the shopper's current state), and what the best arm
  // would have gained there.
  uint64_t seg_offers[kNumSegments] = {}, seg_discounted[kNumSegments] = {};
  double seg_gain[kNumSegments] = {}, seg_best_gain[kNumSegments] = {}, seg_margin[kNumSegments] = {};
  // Cart decisions (bundles with cart-scope arms): one per visit with a cart in the loop days.
  uint64_t carts = 0, carts_eligible = 0, carts_discounted = 0, carts_applied = 0, carts_expired = 0;
  double cart_spend = 0;
  std::map<std::string, std::vector<uint64_t>> cart_arm_weeks;  // arm name -> offers per loop week
};

// The bundle's arms as the world knows them: item arms must be the simulator's (arms.h, by kind
// and value); cart-scope arms become the world's cart arms (cart.h), whole-cart coupons only.
struct BundleArms {
  std::vector<int> item_arm;       // bundle arm -> simulator arm (-1 for a cart arm)
  std::vector<int> cart_arm;       // bundle arm -> index into cart (-1 for an item arm)
  std::vector<CartArm> cart;
};
inline BundleArms bundle_arms(const std::vector<uint8_t>& bytes, const std::string& path) {
  const disco::fb::Bundle* outer = disco::fb::GetBundle(bytes.data());
  const disco::fb::Model* m = outer ? outer->payload_nested_root() : nullptr;
  if (!m || !m->arms()) fail(path + ": no arms in the bundle");
  BundleArms r;
  for (uint32_t a = 0; a < m->arms()->size(); ++a) {
    const disco::fb::Arm* arm = m->arms()->Get(a);
    const ArmKind kind = ArmKind(uint8_t(arm->kind()));
    if (arm->scope() == disco::fb::ArmScope::Cart) {
      if ((arm->categories() && arm->categories()->size()) || (arm->brands() && arm->brands()->size()) ||
          (arm->items() && arm->items()->size()) || (arm->excluded_items() && arm->excluded_items()->size()))
        fail(path + ": cart arm '" + arm->name()->str() + "' has an eligibility list; the lab's world knows whole-cart coupons only");
      CartArm c;
      c.name = arm->name()->str();
      c.kind = kind;
      c.value = arm->value();
      c.merchant_cost = arm->merchant_cost();
      c.min_spend = arm->min_spend();
      // The runtime's lifetime (the arm's, else the guardrails' offer_ttl_s): what the fixed
      // baselines honor; run_disco_cart takes each offer's own expires_at from the runtime.
      const uint32_t ttl = arm->lifetime_s() ? arm->lifetime_s() : (m->guardrails() ? m->guardrails()->offer_ttl_s() : 900u);
      c.lifetime_ms = int64_t(ttl) * 1000;
      c.window_start_ms = arm->window_start_ms();
      c.window_end_ms = arm->window_end_ms();
      r.item_arm.push_back(-1);
      r.cart_arm.push_back(int(r.cart.size()));
      r.cart.push_back(c);
      continue;
    }
    int sim = -1;
    for (int k = 0; k < kNumArms; ++k)
      if (kArms[size_t(k)].kind == kind && std::fabs(kArms[size_t(k)].value - double(arm->value())) < 1e-6) sim = k;
    if (sim < 0 || arm->scope() != disco::fb::ArmScope::Item || arm->window_start_ms() || arm->window_end_ms())
      fail(path + ": item arm '" + arm->name()->str() + "' is not one of the simulator's (arms.h: 0%, 5%, 10%, 15%, 20%, "
          "free shipping, item scope, no window)");
    r.item_arm.push_back(sim);
    r.cart_arm.push_back(-1);
  }
  return r;
}

// The loop days with a cart decision per visit (the bundle has cart-scope arms): item offers at each
// cart add as in run_disco, the lines' outcomes drawn at the visit's cart page
// (OfferPoint::browse_end_ts_ms) where disco_offer_cart decides the coupon (Environment::draw_cart:
// the coupon's ground truth); the runtime's expiry is the coupon's lifetime. Each item decision's
// reward is its line's margin, the cart decision's the order's margin after the coupon (every cart
// decision is shown, unless show_coupons_only: then only those with a coupon).
inline RunResult run_disco_cart(Environment& env, const Browsing& browsing, const std::vector<uint8_t>& bytes,
                         const BundleArms& arms, int64_t start, int64_t loop_start, uint32_t total_days,
                         uint64_t runtime_seed, bool honor_expiry, bool show_coupons_only = false) {
  LabRuntime lr(env, bytes, runtime_seed);
  disco_runtime* const rt = lr.rt;
  const std::vector<int64_t>& item_index = lr.item_index;
  auto session = [&](uint32_t s) { return lr.session(s); };
  auto observe = [&](uint32_t s, uint32_t item, uint32_t type, int64_t ts, float price, int32_t qty) {
    lr.observe(s, item, type, ts, price, qty);
  };

  env.reset_state();
  RunResult r;
  r.stats.days.resize(total_days);
  const size_t loop_weeks = size_t((int64_t(total_days) * kDayMs - (loop_start - start) + 7 * kDayMs - 1) / (7 * kDayMs));
  for (const CartArm& c : arms.cart) r.cart_arm_weeks[c.name].assign(loop_weeks, 0);
  r.cart_arm_weeks["none"].assign(loop_weeks, 0);
  std::priority_queue<Completion, std::vector<Completion>, std::greater<Completion>> pending;
  uint64_t seq = 0;
  struct Line {
    OfferPoint p;
    int arm;          // the simulator's item arm offered
    double expected;  // its expected margin at the cart add
    uint64_t hi, lo;
  };
  struct Visit {
    std::vector<Line> lines;
    std::vector<CartLine> cart;
  };
  std::unordered_map<uint32_t, Visit> visits;
  using Due = std::pair<int64_t, uint32_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due;
  std::vector<uint32_t> cart_items;

  auto decide_cart = [&](uint32_t sess) {
    auto node = visits.extract(sess);
    Visit& v = node.mapped();
    const OfferPoint& p0 = v.lines.front().p;
    const uint32_t s = p0.shopper;
    const int64_t t = p0.browse_end_ts_ms;
    cart_items.clear();
    for (const Line& l : v.lines)
      if (item_index[l.p.item] >= 0) cart_items.push_back(uint32_t(item_index[l.p.item]));
    disco_offer off{};
    const CartArm* coupon = nullptr;
    CartArm offered;
    bool decided = false;
    if (!cart_items.empty()) {
      disco_cart_terms terms{};
      if (disco_offer_cart(session(s), cart_items.data(), nullptr, uint32_t(cart_items.size()), t, 0, 0, &off, &terms) != DISCO_OK)
        fail(std::string("offer cart: ") + disco_last_error());
      // The cart page shows the decision (deferred activation: only shown decisions train the
      // bandit); show_coupons_only: a page that shows nothing when there is no coupon, so cart
      // decisions without one never train it.
      decided = !show_coupons_only || off.arm != 0;
      if (decided) disco_offer_shown(rt, off.decision_hi, off.decision_lo);
      if (off.arm >= arms.cart_arm.size() || (off.arm != 0 && arms.cart_arm[off.arm] < 0))
        fail("disco_offer_cart offered arm " + std::to_string(off.arm) + ", not a cart arm of the bundle");
      if (off.arm != 0) {
        offered = arms.cart[size_t(arms.cart_arm[off.arm])];
        offered.window_start_ms = offered.window_end_ms = 0;  // the runtime checked the window; its expiry ends the offer
        offered.lifetime_ms = std::max<int64_t>(1, off.expires_at_ms - t);
        coupon = &offered;
      }
    }
    const CartOutcome out = env.draw_cart(s, v.cart, coupon, t, p0.checkout_ts_ms);
    if (coupon) env.apply_discount(s, t);
    for (size_t k = 0; k < v.lines.size(); ++k) {
      const Line& l = v.lines[k];
      r.stats.add(int((l.p.ts_ms - start) / kDayMs), out.lines[k], l.expected);
      pending.push({l.p.checkout_ts_ms, seq++, s, l.p.item, l.hi, l.lo, out.lines[k]});
    }
    const int day = int((t - start) / kDayMs);
    if (day >= 0 && day < int(r.stats.days.size())) {
      Day& d = r.stats.days[size_t(day)];
      d.margin -= out.discount;
      d.spend += out.discount;
      d.revenue -= [&] { double x = 0; for (const Outcome& o : out.lines) x += o.revenue; return x; }() - out.revenue;
    }
    ++r.carts;
    bool any_eligible = false;
    for (const CartArm& c : arms.cart) any_eligible |= Environment::cart_arm_eligible(c, env.cart_value(v.cart), t);
    r.carts_eligible += any_eligible;
    r.carts_discounted += coupon != nullptr;
    r.carts_applied += out.applied;
    r.carts_expired += out.expired;
    r.cart_spend += out.discount;
    const size_t week = size_t(std::max<int64_t>(0, t - loop_start) / (7 * kDayMs));
    auto& w = r.cart_arm_weeks[coupon ? coupon->name : std::string("none")];
    if (week < w.size()) w[week]++;
    if (decided) {
      Outcome o;
      o.purchased = out.bought_value > 0;
      o.revenue = out.revenue;
      o.margin = out.margin;
      Completion c{p0.checkout_ts_ms, seq++, s, p0.item, off.decision_hi, off.decision_lo, o};
      c.cart = true;
      pending.push(c);
    }
  };

  const auto& E = browsing.events;
  const auto& O = browsing.offers;
  size_t ne = 0, no = 0;
  // Everything due before t, in time order: cart decisions and completions (completions first on ties).
  auto advance = [&](int64_t t, bool inclusive) {
    for (;;) {
      const bool has_c = !pending.empty() && (inclusive ? pending.top().ts <= t : pending.top().ts < t);
      const bool has_d = !due.empty() && (inclusive ? due.top().first <= t : due.top().first < t);
      if (!has_c && !has_d) return;
      if (has_c && (!has_d || pending.top().ts <= due.top().first)) {
        const Completion c = pending.top();
        pending.pop();
        if (c.o.purchased && !c.cart) observe(c.shopper, c.item, DISCO_EVENT_PURCHASE, c.ts, float(c.o.unit_price), c.o.quantity);
        if (c.hi || c.lo) {
          disco_outcome out{c.hi, c.lo, c.ts, uint32_t(c.o.purchased), float(c.o.revenue), float(c.o.margin)};
          const disco_status st = disco_update(rt, &out);
          if (st != DISCO_OK && st != DISCO_ERR_DUPLICATE) fail(std::string("update: ") + disco_last_error());
        }
      } else {
        const uint32_t sess = due.top().second;
        due.pop();
        decide_cart(sess);
      }
    }
  };
  while (ne < E.size() || no < O.size()) {
    const bool ev = ne < E.size() && (no >= O.size() || E[ne].ts_ms <= O[no].ts_ms);
    const int64_t t = ev ? E[ne].ts_ms : O[no].ts_ms;
    advance(t, false);
    if (ev) {
      const SimEvent& e = E[ne++];
      observe(e.shopper, e.item, e.kind, e.ts_ms, float(e.price), e.quantity);
      continue;
    }
    const OfferPoint& p = O[no++];
    if (p.ts_ms < loop_start) {  // pre-launch: no discount, no decision
      const Outcome o = env.draw(p.shopper, p.item, kNoDiscountArm, p.key, p.ts_ms);
      env.apply_offer(p.shopper, kNoDiscountArm, p.ts_ms);
      pending.push({p.checkout_ts_ms, seq++, p.shopper, p.item, 0, 0, o});
      continue;
    }
    int arm = 0;
    disco_offer off{};
    if (item_index[p.item] >= 0) {
      if (disco_offer_make(session(p.shopper), uint32_t(item_index[p.item]), p.ts_ms, 0, 0, &off) != DISCO_OK)
        fail(std::string("offer: ") + disco_last_error());
      if (off.arm >= arms.item_arm.size() || arms.item_arm[off.arm] < 0)
        fail("disco_offer_make offered arm " + std::to_string(off.arm) + ", not an item arm of the bundle");
      arm = arms.item_arm[off.arm];
      disco_offer_shown(rt, off.decision_hi, off.decision_lo);
    }
    ++r.offers;
    r.discounted += arm != 0;
    if (arm) r.reserved += kArms[size_t(arm)].value * env.item(p.item).price + kArms[size_t(arm)].merchant_cost;
    const double expected = env.expected_margin(p.shopper, p.item, arm, p.ts_ms);
    const double wait = env.wait_level(p.shopper, p.ts_ms);
    const bool expired = honor_expiry && arm != 0 && off.expires_at_ms <= p.checkout_ts_ms;
    env.apply_offer(p.shopper, arm, p.ts_ms);
    auto [it, fresh] = visits.try_emplace(p.session);
    if (fresh) due.push({p.browse_end_ts_ms, p.session});
    it->second.lines.push_back({p, arm, expected, off.decision_hi, off.decision_lo});
    it->second.cart.push_back({p.item, expired ? kNoDiscountArm : arm, p.key, wait});
  }
  advance(INT64_MAX, true);
  return r;
}

}  // namespace disco::loop::lab

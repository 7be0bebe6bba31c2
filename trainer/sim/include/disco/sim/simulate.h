// Simulates shopping sessions over days against an Environment, logs decisions made at offer
// points under a logging policy (with exact propensities), and writes the canonical CSV files
// (trainer/data/README.md): items.csv, events.csv, decisions.csv, outcomes.csv.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "disco/sim/arms.h"
#include "disco/sim/cart.h"
#include "disco/sim/environment.h"

namespace disco::sim {

class SimError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The policy that chose the logged arms: "uniform" (each arm 1/6), "fixed:ARM" (always ARM),
// "epsilon:EPS:ARM" (ARM with probability 1-EPS+EPS/6, every other arm EPS/6). ARM is a name
// ("10%", "free-shipping") or an index 0..5.
struct LoggingPolicy {
  enum class Kind : uint8_t { Uniform, Fixed, Epsilon } kind = Kind::Uniform;
  int arm = 0;
  double epsilon = 1.0;

  // Throws SimError with a message naming the problem.
  static LoggingPolicy parse(std::string_view spec);
  std::string to_string() const;   // canonical spelling, written as policy_version
  double propensity(int a) const;  // probability of choosing arm a
  int choose(double u) const;      // inverse CDF of the arm distribution, u in [0,1)
};

enum EventKind : uint8_t { kView = 0, kClick = 1, kCart = 2, kRemove = 3, kPurchase = 4 };
inline constexpr int kNumEventKinds = 5;
const char* event_kind_name(int k);

struct SimEvent {
  int64_t ts_ms;
  double price;       // list price (view/click/cart/remove) or unit price paid (purchase)
  uint32_t shopper;
  uint32_t session;   // global session index
  uint32_t item;
  uint8_t kind;       // EventKind
  uint8_t quantity;
};

struct SimDecision {
  uint64_t id_hi, id_lo;
  int64_t ts_ms;
  uint32_t shopper;
  uint32_t item;
  uint32_t session;
  uint8_t arm;
  double propensity;
  uint64_t key;                  // the draw key passed to Environment::draw
  // Ground-truth bookkeeping (not written to CSV): expected margins at decision time.
  double expected_margin;        // of the logged arm
  double oracle_expected_margin; // of the oracle arm in the same state
  double fixed_expected_margin[kNumArms];
  uint8_t oracle_arm;
};

struct SimOutcome {
  uint64_t id_hi, id_lo;
  int64_t ts_ms;
  bool converted;
  double revenue;
  double margin;
  double discount_spend;
};

// A cart add: the point where an offer (a decision) can be made. Browsing never depends on
// outcomes, so every policy run on the same Browsing faces the same offer points in the same
// order, and Environment::draw(shopper, item, arm, key) gives them the same uniform draw.
struct OfferPoint {
  int64_t ts_ms;            // time of the cart event
  int64_t checkout_ts_ms;   // when the session checks out (purchase events and outcome time)
  int64_t browse_end_ts_ms; // last browsing event of the session (removes fall in between)
  uint64_t key;             // draw key, unique per shopper
  uint32_t shopper;
  uint32_t item;
  uint32_t session;
  bool is_decision;         // false for the (1 - Config::offer_rate) carts that get no offer
};

// Outcome-independent part of a simulation: view, click and cart events of every session, sorted
// by ts (ties in generation order), and the offer points, sorted by ts.
struct Browsing {
  std::vector<SimEvent> events;
  std::vector<OfferPoint> offers;
  uint64_t sessions = 0;
};
// Deterministic given the environment's seed and config; does not touch the environment's state.
// with_events = false leaves Browsing::events empty (the offer points and sessions are the same):
// for experiments that only need the offer points.
Browsing generate_browsing(const Environment& env, bool with_events = true);

// A policy that decides at offer points, in time order (online: it may learn from observe()).
// To build its view of the shopper, a policy can replay Browsing::events with ts < the offer's ts,
// plus the purchases it has been told about through observe().
class OfferPolicy {
 public:
  struct Choice {
    int arm = 0;
    double propensity = 1.0;   // probability of `arm` under the policy (logged)
  };
  virtual ~OfferPolicy() = default;
  virtual Choice choose(const Environment& env, const OfferPoint& point) = 0;
  // The drawn outcome of the choice (the purchase, if any, happens at point.checkout_ts_ms).
  virtual void observe(const Environment&, const OfferPoint&, const Choice&, const Outcome&) {}
  virtual std::string version() const { return "custom"; }
};

// The logging policy as an OfferPolicy; its arm choice uses counter-based randomness keyed by
// (seed, shopper, offer key), independent of the outcome draw.
class LoggingOfferPolicy final : public OfferPolicy {
 public:
  explicit LoggingOfferPolicy(LoggingPolicy p) : p_(p) {}
  Choice choose(const Environment& env, const OfferPoint& point) override;
  std::string version() const override { return p_.to_string(); }

 private:
  LoggingPolicy p_;
};

// Always the arm with the highest expected margin in the shopper's current state.
class OracleOfferPolicy final : public OfferPolicy {
 public:
  Choice choose(const Environment& env, const OfferPoint& point) override;
  std::string version() const override { return "oracle"; }
};

// A cart decision (cart.h): one per session with at least one cart add, at the cart page.
struct CartPoint {
  int64_t ts_ms;            // the decision: the session's last browsing event (browse_end_ts_ms)
  int64_t checkout_ts_ms;   // when the shopper decides on the lines
  uint32_t shopper;
  uint32_t session;
  double value;             // list value of the lines (Environment::cart_value)
  std::span<const CartLine> lines;
  std::span<const OfferPoint> points;  // the lines' offer points, in the same order
};

// A policy for the cart decision. `eligible` lists the indices (into the run's cart arms) that the
// cart may get (window, min spend); choose returns one of them or -1 (no coupon).
class CartOfferPolicy {
 public:
  virtual ~CartOfferPolicy() = default;
  virtual int choose(const Environment& env, const CartPoint& point, std::span<const int> eligible) = 0;
  virtual void observe(const Environment&, const CartPoint&, int /*coupon*/, const CartOutcome&) {}
  virtual std::string version() const { return "custom"; }
};

// Cart arm `arm` wherever eligible (-1: never a coupon).
class FixedCartPolicy final : public CartOfferPolicy {
 public:
  explicit FixedCartPolicy(int arm) : arm_(arm) {}
  int choose(const Environment&, const CartPoint&, std::span<const int> eligible) override {
    for (int a : eligible)
      if (a == arm_) return a;
    return -1;
  }
  std::string version() const override { return "fixed-cart:" + std::to_string(arm_); }

 private:
  int arm_;
};

struct SimCartDecision {
  int64_t ts_ms, checkout_ts_ms;
  uint32_t shopper, session;
  int arm;                  // index into the cart arms, -1 = none
  uint32_t lines;
  uint32_t eligible_mask;   // bit k: cart arm k was eligible (arms 0..31)
  double cart_value;
  CartOutcome outcome;      // lines' outcomes left empty (they are in SimLog::outcomes / events)
};

struct SimLog {
  std::vector<SimEvent> events;         // all events incl. remove/purchase, sorted by ts
  std::vector<SimDecision> decisions;   // sorted by ts
  std::vector<SimOutcome> outcomes;     // one per decision, sorted by ts
  std::vector<SimCartDecision> cart_decisions;  // with cart arms only (run_policy's cart overload), by ts
  uint64_t sessions = 0;
  uint64_t sessions_with_purchase = 0;
};

// Runs `policy` over the offer points in time order: it chooses, the environment draws the
// outcome, habituation is applied, and remove/purchase events are added. Starts by resetting the
// environment's habituation state (Environment::reset_state) and leaves it as the policy left it.
SimLog run_policy(Environment& env, const Browsing& browsing, OfferPolicy& policy);
// The same with a cart decision per session (cart.h). Each item decision is made at its cart add
// as above (habituation applied then), the lines' outcomes are drawn at the session's cart decision
// (Environment::draw_cart), where observe() is then called for each; outcomes (SimOutcome) are the
// lines' own, the coupon's cost is in cart_decisions. With no cart arms it is run_policy above.
// With cart arms and a policy that never gives a coupon, every line's outcome is the one
// run_policy above draws (same probabilities, draws and habituation).
SimLog run_policy(Environment& env, const Browsing& browsing, OfferPolicy& policy, std::span<const CartArm> cart_arms,
                  CartOfferPolicy& cart_policy);

// generate_browsing + run_policy with the logging policy. Deterministic given the seed.
SimLog simulate(Environment& env, const LoggingPolicy& policy);

// Dirty-data injection applied while writing (each row is affected with probability `rate`):
struct DirtyCounts {
  // reason -> rows affected; reasons: duplicate_row, missing_field, unparsable_number,
  // nonpositive_price, absurd_quantity, out_of_order_ts
  std::map<std::string, uint64_t> by_reason;
  uint64_t total() const;
};

struct WriteStats {
  uint64_t item_rows = 0, event_rows = 0, decision_rows = 0, outcome_rows = 0;  // data rows written
  uint64_t bytes = 0;
  DirtyCounts dirty;
};

// Writes DIR/items.csv, events.csv, decisions.csv, outcomes.csv (creates DIR). dirty_rate in [0,1).
// Throws SimError naming the file on I/O failure.
WriteStats write_csv(const Environment& env, const SimLog& log, const std::string& dir,
                     const LoggingPolicy& policy, double dirty_rate = 0.0);

// Formats a 128-bit decision id as 32 lowercase hex characters.
std::string decision_id_hex(uint64_t hi, uint64_t lo);

struct Summary {
  uint64_t shoppers = 0, items = 0, sessions = 0;
  std::array<uint64_t, kNumEventKinds> events_by_kind{};
  uint64_t events = 0, decisions = 0, outcomes = 0, conversions = 0;
  double session_conversion_rate = 0;   // sessions with a purchase / sessions
  double offer_conversion_rate = 0;     // converted decisions / decisions
  double realized_margin = 0;           // sum of logged outcomes' margins
  double logging_expected_margin = 0;   // sum of the logged arms' expected margins
  double oracle_expected_margin = 0;    // sum of the oracle arms' expected margins, same states
  std::array<double, kNumArms> fixed_expected_margin{};  // each arm everywhere, same states
  double revenue = 0, discount_spend = 0;
  std::array<uint64_t, kNumSegments> shoppers_by_segment{};
};
Summary summarize(const Environment& env, const SimLog& log);
std::string summary_text(const Summary& s);

}  // namespace disco::sim

// Guardrails: business rules no offer may break, whatever the bandit learned.
//
// Order in offer(): eligible_arms() BEFORE the bandit chooses (the bandit picks only among allowed
// arms, so the logged propensity is the true probability of the arm shown); check() AFTER as
// defence in depth (if it ever fails the runtime shows arm 0 and sets the returned flags);
// commit() when the offer is issued (reserves its worst-case spend in the budget).
// Arm 0 is "no discount" and is always allowed.
//
// Cost of an arm for an item of price p and cost c (arm_cost()):
//   Percent v       -> customer discount fraction v,   merchant spend v * p
//   FixedAmount v   -> fraction min(v, p) / p,         merchant spend min(v, p)
//   FreeShipping m  -> fraction 0 (price unchanged),   merchant spend m (merchant_cost)
// A cart decision (disco_offer_cart) passes the cart's value as p and its cost as c, and each arm's
// eligible value (OfferRequest::base) as what the arm's cost is computed on: the rules below then
// judge the whole cart's margin, and the per-item lists (excluded_items, eligible_categories) have
// already removed their lines from every arm's eligible value.
// Rules for an arm a != 0 (bits from disco.h):
//   DISCO_GUARD_INELIGIBLE   item in excluded_items, or eligible_categories non-empty and the
//                            item's category not in it, or price/cost not finite, price <= 0
//   DISCO_GUARD_MAX_DISCOUNT spend / p > max_discount (free shipping counts by its cost too)
//   DISCO_GUARD_MARGIN_FLOOR p - c - spend < margin_floor * p  (free shipping's cost included)
//   DISCO_GUARD_COOLDOWN     shopper got a discounted offer less than cooldown_s ago
//   DISCO_GUARD_BUDGET       budget_per_period > 0 and spent + spend > allowed(now), where
//                            allowed(now) = budget * min(1, elapsed_fraction + pacing_burst);
//                            periods are [k P, (k+1) P) in epoch ms (P = budget_period_s), spend
//                            resets at each period start. So the budget is never exceeded within
//                            a period and is spread over it (pacing); pacing_burst lets the first
//                            moments of a period spend something.
// Spend is reserved at commit() (every issued discounted offer is assumed to be redeemed); a
// caller that learns an offer expired unused may release() it within the same period.
// Budget mode (GuardrailPolicy.budget_mode; schemas/bundle.fbs Guardrails.budget_mode):
//   Fcfs  the cap above alone: discounts go to whoever asks first until the paced budget is used.
//   Dual  the cap stays (the budget is still never exceeded), and a price mu >= 0 on spend (the
//         Lagrange multiplier of the budget constraint) is charged to every arm's score:
//           offset_a = -mu * spend_a / price   (budget_offsets(); the bandit's margin / price scale)
//         so a discount goes where its gain per unit of spend beats mu. spend_a is what the budget
//         meter reserves for the arm (commit()): the constraint's own cost. mu is a PI controller
//         on the pacing error e(t) = spent / budget - elapsed fraction of the period:
//           lambda += eta * e(t) * dt / P   at every decision (pace(); dt since the previous one),
//           clamped at 0: dual descent, carried across periods (the price level);
//           mu = max(0, lambda + 2 sqrt(eta) * e(t))   (price(): the proportional term damps the
//           swing of an integral on an integrated error; 2 sqrt(eta) is critical damping when a
//           unit of price moves the spend rate by the target rate).
//         The integral is what sees a binding cap: spend held at the cap runs ahead of the
//         target by up to pacing_burst, so lambda keeps rising until the priced policy spends at
//         the target rate by itself. eta = budget_dual_rate (per period).
// Time: the guardrails' clock never goes backwards: a request older than the latest seen time is
// judged at the latest seen time (late requests cannot reopen a closed period's budget).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/vector.hpp>

#include "disco/disco.h"

namespace disco {

enum class ArmKind : uint8_t { Percent = 0, FixedAmount = 1, FreeShipping = 2 };

struct ArmSpec {
  ArmKind kind = ArmKind::Percent;
  double value = 0.0;          // Percent: fraction 0..1; FixedAmount: currency units
  double merchant_cost = 0.0;  // FreeShipping: shipping cost per order

  template <class Archive>
  void serialize(Archive& ar) {
    uint8_t k = static_cast<uint8_t>(kind);
    ar(k, value, merchant_cost);
    kind = static_cast<ArmKind>(k);
  }
};

struct ArmCost {
  double discount_fraction = 0.0;  // what the shopper sees off the price (disco_offer.discount)
  double spend = 0.0;              // what the merchant gives up if it converts, currency units
};
// Cost of `arm` on an item of price `price` (> 0).
ArmCost arm_cost(const ArmSpec& arm, double price);

enum class BudgetMode : uint8_t { Fcfs = 0, Dual = 1 };

struct GuardrailPolicy {
  double max_discount = 0.3;      // fraction of price
  double margin_floor = 0.0;      // fraction of price kept as margin after the discount
  double budget_per_period = 0.0; // currency units; 0 = unlimited
  uint32_t budget_period_s = 86400;
  uint32_t cooldown_s = 0;
  uint32_t offer_ttl_s = 900;
  double pacing_burst = 0.05;     // fraction of the budget available at the start of a period
  std::vector<uint32_t> eligible_categories;  // empty = all (sorted by configure())
  std::vector<uint32_t> excluded_items;       // dense item indices (sorted by configure())
  BudgetMode budget_mode = BudgetMode::Dual;  // the bundle's default (schemas/bundle.fbs)
  double budget_dual_rate = 100.0;  // eta (Dual: > 0), the dual price's integral gain per period

  // The saved runtime state's layout of formats 1 and 2; budget_mode and budget_dual_rate travel
  // with the dual price (Guardrails::serialize_dual, format 3).
  template <class Archive>
  void serialize(Archive& ar) {
    ar(max_discount, margin_floor, budget_per_period, budget_period_s, cooldown_s, offer_ttl_s,
       pacing_burst, eligible_categories, excluded_items);
  }
};

struct OfferRequest {
  uint32_t item = 0;
  uint32_t category = 0;
  double price = 0.0;
  double cost = 0.0;
  int64_t now_ms = 0;
  int64_t last_discount_offer_ms = INT64_MIN;  // ShopperStats::last_discount_offer_ms
  // A cart decision: per arm, the value its cost is computed on (the arm's eligible lines); the
  // item lists are then not judged here (the caller left their lines out). null = `price`.
  const double* base = nullptr;
  double base_of(uint32_t arm) const { return base ? base[arm] : price; }
};

class Guardrails {
 public:
  // Validates the policy (finite, non-negative, period > 0) and the arms (arm 0 must be a
  // zero-cost Percent arm, at most 32 arms); resets spend. "" on success, else the reason.
  std::string configure(const GuardrailPolicy& policy, const std::vector<ArmSpec>& arms);
  const GuardrailPolicy& policy() const { return policy_; }
  const std::vector<ArmSpec>& arms() const { return arms_; }

  // Mask of allowed arms (bit 0 always set). *flags (optional) gets the OR of the reasons arms
  // were removed; per_arm (optional, arms().size() entries) gets each arm's reasons.
  uint32_t eligible_arms(const OfferRequest& req, uint32_t* flags = nullptr,
                         uint32_t* per_arm = nullptr) const;
  // Arms allowed by the rules that depend only on the item's price and cost (max discount, margin
  // floor; bit 0 always set): the eligibility an off-policy evaluation can reconstruct from a log.
  uint32_t price_eligible_arms(const OfferRequest& req) const;
  // true when `arm` is allowed now; *flags gets the reasons when not.
  bool check(const OfferRequest& req, uint32_t arm, uint32_t* flags = nullptr) const;
  // The item passes the per-item lists (excluded_items, eligible_categories).
  bool item_listed(uint32_t item, uint32_t category) const;
  // Records an issued offer of `arm` (reserves its spend in the current period; arm 0 or a
  // non-positive spend records nothing). Returns the spend reserved. Call only after check().
  double commit(const OfferRequest& req, uint32_t arm);
  // Gives back `spend` reserved at time offer_ms if that period is still the current one.
  void release(int64_t offer_ms, double spend);

  int64_t expires_at(int64_t now_ms) const {
    return now_ms + static_cast<int64_t>(policy_.offer_ttl_s) * 1000;
  }
  // Budget state as of `now_ms` (no mutation): spend allowed so far and spent in the period.
  double allowed_spend(int64_t now_ms) const;
  double spent(int64_t now_ms) const;

  // Dual mode with a budget: true when the dual price is in use. pace() integrates the pacing error
  // over the time since the last decision (call once per decision, before price()).
  bool dual() const { return policy_.budget_mode == BudgetMode::Dual && policy_.budget_per_period > 0.0; }
  void pace(int64_t now_ms);
  // The price charged now: max(0, lambda + 2 sqrt(eta) * pacing error at the last pace()); 0 unless dual().
  double price() const;
  // out[a] -= price * spend_a / item_price for every arm a > 0 (nothing when item_price is unusable);
  // spend_a on base[a] when base is given (a cart decision, OfferRequest::base).
  void budget_offsets(double item_price, double price, double* out, const double* base = nullptr) const;
  double lambda() const { return lambda_; }
  // The dual price's state (runtime state format 3): mode, rate, lambda, its clock.
  template <class Archive>
  void serialize_dual(Archive& ar) {
    uint8_t m = static_cast<uint8_t>(policy_.budget_mode);
    ar(m, policy_.budget_dual_rate, lambda_, lambda_ms_);
    policy_.budget_mode = static_cast<BudgetMode>(m);
  }
  // A state of format 1 or 2 (no dual price saved): the bundle's mode and rate, lambda 0.
  void restore_dual(BudgetMode mode, double rate) {
    policy_.budget_mode = mode;
    policy_.budget_dual_rate = rate;
    lambda_ = 0.0;
    lambda_ms_ = INT64_MIN;
  }

  template <class Archive>
  void serialize(Archive& ar) {
    ar(policy_, arms_, period_, spent_, clock_ms_);
  }
  // Checks invariants after a load from untrusted bytes: "" when consistent.
  std::string validate() const;

 private:
  int64_t period_of(int64_t ms) const;
  double elapsed_fraction(int64_t now_ms) const;  // of the current period, [0, 1)
  double pacing_error(int64_t now_ms) const;      // spent / budget - elapsed fraction
  int64_t effective_now(int64_t now_ms) const { return now_ms > clock_ms_ ? now_ms : clock_ms_; }
  uint32_t arm_flags(const OfferRequest& req, uint32_t arm, int64_t now, uint32_t item_flags) const;
  uint32_t item_flags(const OfferRequest& req) const;

  GuardrailPolicy policy_{};
  std::vector<ArmSpec> arms_;
  int64_t period_ = INT64_MIN;  // index of the period `spent_` belongs to
  double spent_ = 0.0;
  int64_t clock_ms_ = INT64_MIN;  // latest time seen by commit()
  double lambda_ = 0.0;           // dual price on spend (Dual mode), margin per unit of spend
  int64_t lambda_ms_ = INT64_MIN; // time of the last pace()
};

}  // namespace disco

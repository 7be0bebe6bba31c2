// Guardrails (guardrails.h): eligibility before the bandit, check after, spend bookkeeping.
#include "disco/guardrails.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "text_internal.h"

namespace disco {
using detail::concat;
namespace {

bool finite(double v) { return v == v && v - v == 0.0; }

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool contains_sorted(const std::vector<uint32_t>& v, uint32_t x) {
  return std::binary_search(v.begin(), v.end(), x);
}

}  // namespace

ArmCost arm_cost(const ArmSpec& arm, double price) {
  ArmCost c;
  if (!(price > 0.0) || !finite(price)) return c;
  switch (arm.kind) {
    case ArmKind::Percent:
      c.discount_fraction = arm.value;
      c.spend = arm.value * price;
      break;
    case ArmKind::FixedAmount: {
      const double amount = arm.value < price ? arm.value : price;
      c.discount_fraction = amount / price;
      c.spend = amount;
      break;
    }
    case ArmKind::FreeShipping:
      c.discount_fraction = 0.0;
      c.spend = arm.merchant_cost;
      break;
  }
  return c;
}

std::string Guardrails::configure(const GuardrailPolicy& policy, const std::vector<ArmSpec>& arms) {
  const GuardrailPolicy& p = policy;
  if (!finite(p.max_discount) || p.max_discount < 0.0 || p.max_discount > 1.0)
    return concat("guardrails.max_discount must be a fraction in [0, 1], got ", p.max_discount);
  if (!finite(p.margin_floor) || p.margin_floor < -1.0 || p.margin_floor > 1.0)
    return concat("guardrails.margin_floor must be a fraction in [-1, 1], got ", p.margin_floor);
  if (!finite(p.budget_per_period) || p.budget_per_period < 0.0)
    return concat("guardrails.budget_per_period must be >= 0 (0 = unlimited), got ", p.budget_per_period);
  if (p.budget_period_s == 0) return "guardrails.budget_period_s must be > 0";
  if (!finite(p.pacing_burst) || p.pacing_burst < 0.0 || p.pacing_burst > 1.0)
    return concat("guardrails.pacing_burst must be in [0, 1], got ", p.pacing_burst);
  if (p.budget_mode != BudgetMode::Fcfs && p.budget_mode != BudgetMode::Dual)
    return concat("guardrails.budget_mode must be fcfs (0) or dual (1), got ", int(p.budget_mode));
  if (!finite(p.budget_dual_rate) || p.budget_dual_rate < 0.0 || p.budget_dual_rate > 1e6 ||
      (p.budget_mode == BudgetMode::Dual && !(p.budget_dual_rate > 0.0)))
    return concat("guardrails.budget_dual_rate must be in (0, 1e6] (dual mode) or [0, 1e6], got ", p.budget_dual_rate);
  if (arms.empty() || arms.size() > 32) return concat("bundle must define 1..32 arms, got ", arms.size());
  if (arms[0].kind != ArmKind::Percent || arms[0].value != 0.0 || arms[0].merchant_cost != 0.0)
    return "arm 0 must be the no-discount arm (Percent, value 0, merchant_cost 0)";
  for (size_t i = 0; i < arms.size(); ++i) {
    const ArmSpec& a = arms[i];
    const std::string where = concat("arm ", i);
    if (static_cast<uint8_t>(a.kind) > 2) return concat(where, ": unknown kind");
    if (!finite(a.value) || a.value < 0.0) return concat(where, ": value must be finite and >= 0");
    if (a.kind == ArmKind::Percent && a.value > 1.0) return concat(where, ": percent value must be <= 1");
    if (!finite(a.merchant_cost) || a.merchant_cost < 0.0)
      return concat(where, ": merchant_cost must be finite and >= 0");
  }
  policy_ = policy;
  // heap sort = std::sort for integers, in less wasm code (std::sort's introsort: 1.4 KB per type)
  std::make_heap(policy_.eligible_categories.begin(), policy_.eligible_categories.end());
  std::sort_heap(policy_.eligible_categories.begin(), policy_.eligible_categories.end());
  std::make_heap(policy_.excluded_items.begin(), policy_.excluded_items.end());
  std::sort_heap(policy_.excluded_items.begin(), policy_.excluded_items.end());
  arms_ = arms;
  period_ = INT64_MIN;
  spent_ = 0.0;
  clock_ms_ = INT64_MIN;
  lambda_ = 0.0;
  lambda_ms_ = INT64_MIN;
  return "";
}

std::string Guardrails::validate() const {
  GuardrailPolicy p = policy_;
  Guardrails probe;
  std::string err = probe.configure(p, arms_);
  if (!err.empty()) return err;
  if (!std::is_sorted(policy_.eligible_categories.begin(), policy_.eligible_categories.end()) ||
      !std::is_sorted(policy_.excluded_items.begin(), policy_.excluded_items.end()))
    return "guardrails state: eligibility lists not sorted";
  if (!finite(spent_) || spent_ < 0.0) return "guardrails state: spend is not a finite value >= 0";
  if (!finite(lambda_) || lambda_ < 0.0) return "guardrails state: dual price not finite >= 0";
  return "";
}

int64_t Guardrails::period_of(int64_t ms) const {
  return floor_div(ms, static_cast<int64_t>(policy_.budget_period_s) * 1000);
}

double Guardrails::elapsed_fraction(int64_t now_ms) const {
  const int64_t t = effective_now(now_ms);
  const int64_t len = static_cast<int64_t>(policy_.budget_period_s) * 1000;
  int64_t rem = t % len;  // time since the period start, without overflow at extreme t
  if (rem < 0) rem += len;
  return static_cast<double>(rem) / static_cast<double>(len);
}

double Guardrails::allowed_spend(int64_t now_ms) const {
  if (!(policy_.budget_per_period > 0.0)) return policy_.budget_per_period == 0.0 ? 1e300 : 0.0;
  double f = elapsed_fraction(now_ms) + policy_.pacing_burst;
  if (f > 1.0) f = 1.0;
  return policy_.budget_per_period * f;
}

double Guardrails::spent(int64_t now_ms) const {
  return period_of(effective_now(now_ms)) == period_ ? spent_ : 0.0;
}

uint32_t Guardrails::item_flags(const OfferRequest& req) const {
  if (!finite(req.price) || !(req.price > 0.0) || !finite(req.cost)) return DISCO_GUARD_INELIGIBLE;
  return req.base || item_listed(req.item, req.category) ? 0 : DISCO_GUARD_INELIGIBLE;
}

bool Guardrails::item_listed(uint32_t item, uint32_t category) const {
  return !contains_sorted(policy_.excluded_items, item) &&
         (policy_.eligible_categories.empty() || contains_sorted(policy_.eligible_categories, category));
}

uint32_t Guardrails::arm_flags(const OfferRequest& req, uint32_t arm, int64_t now,
                               uint32_t item_flags) const {
  if (arm == 0) return 0;
  if (arm >= arms_.size()) return DISCO_GUARD_INELIGIBLE;
  uint32_t f = item_flags;
  if (f) return f;  // price/cost unusable or item not eligible: nothing else can be judged
  const double p = req.price;
  const ArmCost c = arm_cost(arms_[arm], req.base_of(arm));
  if (!finite(c.spend) || c.spend > policy_.max_discount * p) f |= DISCO_GUARD_MAX_DISCOUNT;
  if (!(p - req.cost - c.spend >= policy_.margin_floor * p)) f |= DISCO_GUARD_MARGIN_FLOOR;
  if (policy_.cooldown_s > 0 && req.last_discount_offer_ms != INT64_MIN) {
    const int64_t cd = static_cast<int64_t>(policy_.cooldown_s) * 1000;
    // now - last < cd, written without signed overflow
    if (req.now_ms < req.last_discount_offer_ms ||
        static_cast<uint64_t>(req.now_ms) - static_cast<uint64_t>(req.last_discount_offer_ms) <
            static_cast<uint64_t>(cd))
      f |= DISCO_GUARD_COOLDOWN;
  }
  if (policy_.budget_per_period > 0.0 && c.spend > 0.0) {
    if (!(spent(now) + c.spend <= allowed_spend(now))) f |= DISCO_GUARD_BUDGET;
  }
  return f;
}

uint32_t Guardrails::eligible_arms(const OfferRequest& req, uint32_t* flags, uint32_t* per_arm) const {
  const int64_t now = effective_now(req.now_ms);
  const uint32_t itf = item_flags(req);
  uint32_t mask = 1u, all = 0;
  if (per_arm && !arms_.empty()) per_arm[0] = 0;
  for (uint32_t a = 1; a < arms_.size(); ++a) {
    const uint32_t f = arm_flags(req, a, now, itf);
    if (per_arm) per_arm[a] = f;
    all |= f;
    if (!f) mask |= 1u << a;
  }
  if (flags) *flags = all;
  return mask;
}

uint32_t Guardrails::price_eligible_arms(const OfferRequest& req) const {
  if (!finite(req.price) || !(req.price > 0.0) || !finite(req.cost)) return 1u;
  uint32_t mask = 1u;
  for (uint32_t a = 1; a < arms_.size(); ++a) {
    const ArmCost c = arm_cost(arms_[a], req.price);
    const bool ok = finite(c.spend) && c.spend <= policy_.max_discount * req.price &&
                    req.price - req.cost - c.spend >= policy_.margin_floor * req.price;
    if (ok) mask |= 1u << a;
  }
  return mask;
}

bool Guardrails::check(const OfferRequest& req, uint32_t arm, uint32_t* flags) const {
  const uint32_t f = arm == 0 ? 0 : arm_flags(req, arm, effective_now(req.now_ms), item_flags(req));
  if (flags) *flags = f;
  return f == 0;
}

double Guardrails::commit(const OfferRequest& req, uint32_t arm) {
  const int64_t now = effective_now(req.now_ms);
  clock_ms_ = now;
  const int64_t k = period_of(now);
  if (k != period_) {
    period_ = k;
    spent_ = 0.0;
  }
  if (arm == 0 || arm >= arms_.size()) return 0.0;
  const ArmCost c = arm_cost(arms_[arm], req.base_of(arm));
  if (!(c.spend > 0.0) || !finite(c.spend)) return 0.0;
  spent_ += c.spend;
  return c.spend;
}

void Guardrails::release(int64_t offer_ms, double spend) {
  if (!(spend > 0.0) || !finite(spend) || period_of(offer_ms) != period_) return;
  spent_ = spent_ > spend ? spent_ - spend : 0.0;
}

double Guardrails::pacing_error(int64_t now_ms) const {
  return spent(now_ms) / policy_.budget_per_period - elapsed_fraction(now_ms);
}

void Guardrails::pace(int64_t now_ms) {
  if (!dual()) return;
  if (lambda_ms_ != INT64_MIN && now_ms > lambda_ms_) {
    const uint64_t dt = uint64_t(now_ms) - uint64_t(lambda_ms_);  // > 0, without signed overflow
    lambda_ += policy_.budget_dual_rate * pacing_error(now_ms) * (double(dt) / (double(policy_.budget_period_s) * 1000.0));
    if (lambda_ < 0.0) lambda_ = 0.0;
  }
  if (now_ms > lambda_ms_) lambda_ms_ = now_ms;
}

double Guardrails::price() const {
  if (!dual() || lambda_ms_ == INT64_MIN) return 0.0;
  const double p = lambda_ + 2.0 * std::sqrt(policy_.budget_dual_rate) * pacing_error(lambda_ms_);
  return p > 0.0 ? p : 0.0;
}

void Guardrails::budget_offsets(double item_price, double price, double* out, const double* base) const {
  if (!(item_price > 0.0) || !finite(item_price)) return;
  for (uint32_t a = 1; a < arms_.size(); ++a)
    out[a] -= price * arm_cost(arms_[a], base ? base[a] : item_price).spend / item_price;
}

}  // namespace disco

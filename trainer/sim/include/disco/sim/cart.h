// Cart-level offers in the simulator (off unless a cart arm is given: the default world is unchanged).
//
// A cart arm is a coupon on the whole cart ("10% off orders over 50", free shipping over 40): the
// offer-policy file's cart scope (schemas/offer-policy.schema.json). It is decided once per visit
// that put something in the cart, at the cart page: the session's last browsing event
// (OfferPoint::browse_end_ts_ms); the shopper decides on each line at checkout
// (OfferPoint::checkout_ts_ms).
//
// Ground truth (Environment::draw_cart):
// - Eligible: the arm exists at the decision time (campaign window [window_start_ms, window_end_ms),
//   0 = unbounded) and the cart's list value (sum of the lines' list prices, one unit each, as
//   carted) is >= min_spend. Arm "none" (no coupon) is always eligible.
// - Response: each line is decided as an item offer (environment.h) whose value to the shopper is
//   the line's item arm plus the coupon: percent p adds p x (1 - the line's item discount); fixed
//   amount A adds A / cart value; free shipping adds shipping_value / cart value (<= 0.5; 0 on a line
//   whose item arm is already free shipping). The habituation term uses the total value and the
//   shopper's waiting level as of the line's cart add (CartLine::wait), so with no coupon a line's
//   purchase is exactly Environment::draw of its item arm (same probability, same uniform draw).
//   Shoppers do not add items to reach a threshold (browsing never depends on offers).
// - Expiry: an offer expires at decision + lifetime_ms (0 = never within the visit) and at the
//   window's end at the latest; expired before checkout, it does not apply: no response, no
//   discount, but the shopper saw it (habituation).
// - Applies: not expired and the bought lines' list value (quantity x list price) >= min_spend; a
//   coupon that does not apply costs nothing.
// - Margin of the order = sum of the lines' margins (environment.h: after their item discounts and
//   item free-shipping costs) - the coupon's cost: percent x the bought lines' paid value, min(A,
//   paid value), or the merchant's shipping cost once per order.
// - Habituation: a shown coupon (any arm but none) is a discount received at the decision time
//   (Environment::apply_discount), as an item discount.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "disco/sim/arms.h"

namespace disco::sim {

struct CartArm {
  std::string name;               // "10%-over-50"
  ArmKind kind = ArmKind::Percent;
  double value = 0;               // Percent: fraction 0..1; FixedAmount: currency units; FreeShipping: unused
  double merchant_cost = 0;       // FreeShipping: the merchant's cost per order
  double min_spend = 0;           // list value of the cart the coupon needs
  int64_t lifetime_ms = 0;        // 0 = does not expire within the visit
  int64_t window_start_ms = 0, window_end_ms = 0;  // [start, end); 0 = unbounded
  // The arm exists at ts (its campaign window).
  bool in_window(int64_t ts) const {
    return (window_start_ms == 0 || ts >= window_start_ms) && (window_end_ms == 0 || ts < window_end_ms);
  }
  // When an offer of the arm made at decision_ts expires (INT64_MAX: never).
  int64_t expires_at(int64_t decision_ts) const;
};

// Parses a cart arm for disco-sim --cart-arm:
//   percent:P:MIN[:LIFE_S[:START_H:END_H]]   P percent off (10 = 10%), orders whose value >= MIN
//   fixed:A:MIN[:LIFE_S[:START_H:END_H]]     A currency units off
//   free-shipping:MIN[:LIFE_S[:START_H:END_H]]  the merchant pays kShippingMerchantCost
// LIFE_S = 0: no lifetime; START_H, END_H: the campaign window in hours after start_ms (END_H > START_H).
// Throws std::invalid_argument naming the bad part.
CartArm parse_cart_arm(std::string_view spec, int64_t start_ms);

// One line of a cart: an offer point's item, its item arm, draw key and the shopper's waiting level
// as of the cart add (Environment::wait_level(shopper, ts) before that offer's own habituation).
struct CartLine {
  uint32_t item = 0;
  int arm = 0;
  uint64_t key = 0;
  double wait = 0;
};


}  // namespace disco::sim

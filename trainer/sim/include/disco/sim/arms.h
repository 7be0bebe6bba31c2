// The discount arms every part of disco agrees on: the simulator's ground truth uses them, the
// trainer exports them into the bundle (schemas/bundle.fbs, table Arm), and the bandit chooses among
// them. Index = arm id in decisions.csv.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace disco::sim {

// Mirrors schemas/bundle.fbs `enum ArmKind`.
enum class ArmKind : uint8_t { Percent = 0, FixedAmount = 1, FreeShipping = 2 };

struct Arm {
  const char* name;     // "0%", "5%", ..., "free-shipping" (the bundle's Arm.name)
  ArmKind kind;
  double value;         // Percent: fraction of the price (0..1); FreeShipping: 0 (unused)
  double merchant_cost; // FreeShipping: what shipping costs the merchant per order; else 0
};

inline constexpr double kShippingMerchantCost = 4.5;  // currency units per order
// Mean value a shopper perceives in free shipping (currency units). Shoppers dislike paying for
// shipping more than it costs the merchant, and the perceived value varies per shopper.
inline constexpr double kShippingPerceivedValue = 6.0;

inline constexpr int kNumArms = 6;
inline constexpr int kNoDiscountArm = 0;
inline constexpr std::array<Arm, kNumArms> kArms = {{
    {"0%", ArmKind::Percent, 0.00, 0.0},
    {"5%", ArmKind::Percent, 0.05, 0.0},
    {"10%", ArmKind::Percent, 0.10, 0.0},
    {"15%", ArmKind::Percent, 0.15, 0.0},
    {"20%", ArmKind::Percent, 0.20, 0.0},
    {"free-shipping", ArmKind::FreeShipping, 0.0, kShippingMerchantCost},
}};

// The fraction of the list price the shopper does not pay (0 for free shipping).
inline constexpr double arm_discount(int arm) {
  return kArms[arm].kind == ArmKind::Percent ? kArms[arm].value : 0.0;
}
inline constexpr bool arm_is_discount(int arm) { return arm != kNoDiscountArm; }

// Arm index by name ("10%", "free-shipping"; also "10", "fs", "free_shipping") or by number
// ("#3" or "3" where the number is < kNumArms and not a percent name). -1 if unknown.
int parse_arm(std::string_view s);

}  // namespace disco::sim

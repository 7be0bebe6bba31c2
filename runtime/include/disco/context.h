// The bandit's context vector: what offer() knows about the shopper and the item, scaled to O(1).
//
// The runtime keeps one ShopperStats per session (saved/restored with it), feeds every observed
// event to on_event() and every issued offer to on_offer(), and calls build_context() in offer().
// All features use portable math (portable_math.h), so the vector is bit-identical everywhere.
#pragma once
#include <cstdint>

#include "disco/disco.h"

namespace disco {

inline constexpr uint32_t kContextDim = 15;
static_assert(kContextDim <= DISCO_MAX_CONTEXT, "context must fit disco_offer.context");

// Context feature set version. v2 replaced frequency, monetary, session depth and item interest
// (v1) with the shopper's buys and abandoned carts in earlier visits with and without a discount:
// the v1 purchase counts mean "sure thing" under a no-discount policy and "persuadable" under a
// discount-heavy one, so a prior fitted on one policy's data misled the bandit under another
// (loop/README.md). v3 appends three item-shape features (12-14): the per-arm reward is linear in
// the features, but a free-shipping cost is a fixed amount per order (~1/price of the scaled
// reward) and a percent discount eats into the margin rate. A bundle's bandit may use only the
// first BanditPrior.context_dim features (12 = v1/v2 bundles); BanditPrior.context_version names
// the set a prior was fitted on.
inline constexpr uint32_t kContextVersion = 3;

// Feature index -> meaning (typical range [0, ~1.5] or [-1, 1]; every feature is clamped to [-1, 2]):
enum ContextFeature : uint32_t {
  kFeatBias = 0,                // 1
  kFeatPropensity = 1,          // model's purchase propensity in [0, 1]
  kFeatLogPrice = 2,            // log(1 + price) / 7           (price 1096 -> 1)
  kFeatMarginRate = 3,          // (price - cost) / price, clamped to [-1, 1]
  kFeatRecency = 4,             // 1 / (1 + days since last purchase / 7); 0 if never purchased
  kFeatFullPriceBuys = 5,       // log(1 + purchases in closed visits without a discount offer) / 2
  kFeatFullPriceAbandons = 6,   // log(1 + cart adds not bought in those visits) / 2
  kFeatExposure = 7,            // e / (1 + e), e = discounted offers received, decayed (half-life 7 d)
  kFeatOfferRecency = 8,        // 1 / (1 + hours since last discounted offer / 24); 0 if never
  kFeatDiscountBuys = 9,        // log(1 + purchases in closed visits with a discounted offer) / 2
  kFeatCart = 10,               // min(units in cart, 10) / 10
  kFeatDiscountAbandons = 11,   // log(1 + cart adds not bought in those visits) / 2
  kFeatInversePrice = 12,       // 10 / price (price 10 -> 1; clamped to 2 below 5)
  kFeatMarginRateSquared = 13,  // margin rate^2
  kFeatPriceTimesMargin = 14,   // log price feature x margin rate
};

// A visit ends after this long without an event or offer (as sessionize in trainer/data).
inline constexpr int64_t kVisitGapMs = 30LL * 60 * 1000;

inline constexpr int64_t kNever = INT64_MIN;

// Per-shopper counters the runtime keeps (per session) and saves with the session.
struct ShopperStats {
  uint32_t events = 0;          // events observed in this session
  uint32_t purchases = 0;       // purchase events (one per purchase event, any quantity)
  double spend = 0.0;           // sum of price * quantity over purchase events
  int64_t last_purchase_ms = kNever;
  int32_t cart_units = 0;       // cart adds minus removes minus purchased units, >= 0
  double exposure = 0.0;        // decayed count of discounted offers, valid at exposure_ms
  int64_t exposure_ms = kNever;
  int64_t last_discount_offer_ms = kNever;  // for the guardrails' cooldown
  uint32_t discount_offers = 0;             // total discounted offers received

  // Visits (session state format 2; zero when restored from format 1). A visit closes at the
  // first event or offer more than kVisitGapMs after the previous one; its cart adds and
  // purchases then count as "full price" or, when any discounted offer was made in it, "discounted".
  int64_t last_activity_ms = kNever;
  uint32_t visit_carts = 0, visit_purchases = 0;
  uint32_t visit_discounted = 0;
  uint32_t full_price_carts = 0, full_price_purchases = 0;
  uint32_t discounted_carts = 0, discounted_purchases = 0;

  // Format 1 fields; the visit fields are written after them by the session state (state.cpp).
  template <class Archive>
  void serialize(Archive& ar) {
    ar(events, purchases, spend, last_purchase_ms, cart_units, exposure, exposure_ms,
       last_discount_offer_ms, discount_offers);
  }
  template <class Archive>
  void serialize_visits(Archive& ar) {
    ar(last_activity_ms, visit_carts, visit_purchases, visit_discounted, full_price_carts,
       full_price_purchases, discounted_carts, discounted_purchases);
  }
};

// Record one observed event (type = disco_event_type; price <= 0 -> use the catalog price the
// caller passes). A non-finite or non-positive price counts as 0; quantity < 1 counts as 1.
void on_event(ShopperStats& s, uint32_t type, double price, int32_t quantity, int64_t ts_ms);

// Record an issued offer; `discounted` = arm != 0 (any discount, including free shipping). Also
// used for offers decided outside disco (disco_session_note_offer).
void on_offer(ShopperStats& s, bool discounted, int64_t ts_ms);

// Decayed discount exposure at time now (half-life 7 days); exposure never increases by decay.
double exposure_at(const ShopperStats& s, int64_t now_ms);

struct ContextInputs {
  const ShopperStats* stats = nullptr;  // required
  double purchase_propensity = 0.0;     // from the model's head, [0, 1]
  double price = 0.0;                   // shown price of the item
  double cost = 0.0;                    // merchant cost of the item
  int64_t now_ms = 0;
  int32_t cart_units = -1;              // >= 0: the units of the cart decided on (kFeatCart); -1 = the shopper's tracked cart
};

// Writes kContextDim floats. Non-finite inputs become 0 in their feature; never NaN out.
void build_context(const ContextInputs& in, float out[kContextDim]);

}  // namespace disco

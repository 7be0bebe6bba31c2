// Context features for the discount bandit (context.h). Portable math only.
#include "disco/context.h"

#include "disco/portable_math.h"

namespace disco {
namespace {

constexpr double kMsPerHour = 3600.0 * 1000.0;
constexpr double kMsPerDay = 24.0 * kMsPerHour;
constexpr double kExposureHalfLifeDays = 7.0;

bool finite(double v) { return v == v && v - v == 0.0; }

double clamp(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Non-negative elapsed ms as double (0 when `from` is kNever or in the future).
double elapsed_ms(int64_t from, int64_t now) {
  if (from == kNever || now <= from) return 0.0;
  // Difference in unsigned arithmetic avoids signed overflow on extreme inputs.
  return static_cast<double>(static_cast<uint64_t>(now) - static_cast<uint64_t>(from));
}

// True when `to` lies more than kVisitGapMs after `from` (unsigned difference: no overflow).
bool gap_over(int64_t from, int64_t to) {
  return from != kNever && to > from &&
         static_cast<uint64_t>(to) - static_cast<uint64_t>(from) > static_cast<uint64_t>(kVisitGapMs);
}

// Closes the open visit when `ts_ms` lies more than kVisitGapMs after the last activity.
void close_visit_if_over(ShopperStats& s, int64_t ts_ms) {
  if (!gap_over(s.last_activity_ms, ts_ms)) return;
  if (s.visit_discounted) {
    s.discounted_carts += s.visit_carts;
    s.discounted_purchases += s.visit_purchases;
  } else {
    s.full_price_carts += s.visit_carts;
    s.full_price_purchases += s.visit_purchases;
  }
  s.visit_carts = s.visit_purchases = s.visit_discounted = 0;
}

void touch_visit(ShopperStats& s, int64_t ts_ms) {
  close_visit_if_over(s, ts_ms);
  if (s.last_activity_ms == kNever || ts_ms > s.last_activity_ms) s.last_activity_ms = ts_ms;
}

}  // namespace

void on_event(ShopperStats& s, uint32_t type, double price, int32_t quantity, int64_t ts_ms) {
  const int32_t q = quantity >= 1 ? quantity : 1;
  const double p = finite(price) && price > 0.0 ? price : 0.0;
  s.events += 1;
  touch_visit(s, ts_ms);
  switch (type) {
    case DISCO_EVENT_CART:
      s.visit_carts += 1;
      s.cart_units = s.cart_units > INT32_MAX - q ? INT32_MAX : s.cart_units + q;
      break;
    case DISCO_EVENT_REMOVE:
      s.cart_units = s.cart_units > q ? s.cart_units - q : 0;
      break;
    case DISCO_EVENT_PURCHASE:
      s.purchases += 1;
      s.visit_purchases += 1;
      s.spend += p * static_cast<double>(q);
      if (s.last_purchase_ms == kNever || ts_ms > s.last_purchase_ms) s.last_purchase_ms = ts_ms;
      s.cart_units = s.cart_units > q ? s.cart_units - q : 0;
      break;
    default:
      break;
  }
}

double exposure_at(const ShopperStats& s, int64_t now_ms) {
  if (s.exposure_ms == kNever || !(s.exposure > 0.0)) return 0.0;
  const double days = elapsed_ms(s.exposure_ms, now_ms) / kMsPerDay;
  // 2^(-days / half-life)
  return s.exposure * pmath::exp(-days * (0.69314718055994530942 / kExposureHalfLifeDays));
}

void on_offer(ShopperStats& s, bool discounted, int64_t ts_ms) {
  touch_visit(s, ts_ms);
  if (!discounted) return;
  s.visit_discounted = 1;
  const int64_t t = s.exposure_ms == kNever || ts_ms > s.exposure_ms ? ts_ms : s.exposure_ms;
  s.exposure = exposure_at(s, t) + 1.0;
  s.exposure_ms = t;
  if (s.last_discount_offer_ms == kNever || ts_ms > s.last_discount_offer_ms) {
    s.last_discount_offer_ms = ts_ms;
  }
  s.discount_offers += 1;
}

void build_context(const ContextInputs& in, float out[kContextDim]) {
  static const ShopperStats kEmpty{};
  const ShopperStats& s = in.stats ? *in.stats : kEmpty;
  const int64_t now = in.now_ms;
  double f[kContextDim] = {};
  f[kFeatBias] = 1.0;
  f[kFeatPropensity] = finite(in.purchase_propensity) ? clamp(in.purchase_propensity, 0.0, 1.0) : 0.0;
  const double price = finite(in.price) && in.price > 0.0 ? in.price : 0.0;
  f[kFeatLogPrice] = pmath::log1p(price) / 7.0;
  if (price > 0.0 && finite(in.cost)) f[kFeatMarginRate] = clamp((price - in.cost) / price, -1.0, 1.0);
  if (s.last_purchase_ms != kNever) {
    f[kFeatRecency] = 1.0 / (1.0 + elapsed_ms(s.last_purchase_ms, now) / kMsPerDay / 7.0);
  }
  // Visit history, with the open visit counted as closed once the gap has passed (no mutation).
  uint32_t fp_carts = s.full_price_carts, fp_buys = s.full_price_purchases;
  uint32_t dc_carts = s.discounted_carts, dc_buys = s.discounted_purchases;
  if (gap_over(s.last_activity_ms, now)) {
    (s.visit_discounted ? dc_carts : fp_carts) += s.visit_carts;
    (s.visit_discounted ? dc_buys : fp_buys) += s.visit_purchases;
  }
  f[kFeatFullPriceBuys] = pmath::log1p(static_cast<double>(fp_buys)) / 2.0;
  f[kFeatFullPriceAbandons] = pmath::log1p(static_cast<double>(fp_carts > fp_buys ? fp_carts - fp_buys : 0)) / 2.0;
  f[kFeatDiscountBuys] = pmath::log1p(static_cast<double>(dc_buys)) / 2.0;
  f[kFeatDiscountAbandons] = pmath::log1p(static_cast<double>(dc_carts > dc_buys ? dc_carts - dc_buys : 0)) / 2.0;
  const double e = exposure_at(s, now);
  f[kFeatExposure] = finite(e) ? e / (1.0 + e) : 0.0;
  if (s.last_discount_offer_ms != kNever) {
    f[kFeatOfferRecency] = 1.0 / (1.0 + elapsed_ms(s.last_discount_offer_ms, now) / kMsPerHour / 24.0);
  }
  if (price > 0.0) f[kFeatInversePrice] = 10.0 / price;  // clamped to 2 below
  f[kFeatMarginRateSquared] = f[kFeatMarginRate] * f[kFeatMarginRate];
  f[kFeatPriceTimesMargin] = f[kFeatLogPrice] * f[kFeatMarginRate];
  const int32_t units = in.cart_units >= 0 ? in.cart_units : s.cart_units;
  const int32_t cart = units < 0 ? 0 : (units > 10 ? 10 : units);
  f[kFeatCart] = static_cast<double>(cart) / 10.0;
  // Every feature ends in [-1, 2] (extreme prices / histories saturate instead of dominating).
  for (uint32_t i = 0; i < kContextDim; ++i) out[i] = static_cast<float>(finite(f[i]) ? clamp(f[i], -1.0, 2.0) : 0.0);
}

}  // namespace disco

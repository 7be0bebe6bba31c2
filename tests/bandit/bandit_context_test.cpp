// Context features: bookkeeping of shopper stats, ranges, robustness to bad inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "disco/context.h"
#include "disco/rng.h"

using namespace disco;

TEST(BanditContext, StatsBookkeeping) {
  ShopperStats s;
  on_event(s, DISCO_EVENT_VIEW, 10, 1, 1000);
  on_event(s, DISCO_EVENT_CART, 10, 3, 2000);
  on_event(s, DISCO_EVENT_REMOVE, 10, 1, 3000);
  EXPECT_EQ(s.cart_units, 2);
  on_event(s, DISCO_EVENT_PURCHASE, 10, 2, 4000);
  EXPECT_EQ(s.cart_units, 0);
  EXPECT_EQ(s.purchases, 1u);
  EXPECT_DOUBLE_EQ(s.spend, 20.0);
  EXPECT_EQ(s.last_purchase_ms, 4000);
  on_event(s, DISCO_EVENT_PURCHASE, NAN, -4, 3500);  // bad price counts 0, old ts keeps the latest
  EXPECT_EQ(s.purchases, 2u);
  EXPECT_DOUBLE_EQ(s.spend, 20.0);
  EXPECT_EQ(s.last_purchase_ms, 4000);
  EXPECT_EQ(s.events, 5u);
  on_event(s, DISCO_EVENT_REMOVE, 10, 5, 5000);
  EXPECT_EQ(s.cart_units, 0);
}

TEST(BanditContext, ExposureDecaysWithHalfLifeOfSevenDays) {
  ShopperStats s;
  on_offer(s, false, 0);
  EXPECT_EQ(s.discount_offers, 0u);
  on_offer(s, true, 0);
  on_offer(s, true, 0);
  EXPECT_DOUBLE_EQ(exposure_at(s, 0), 2.0);
  const int64_t week = 7LL * 24 * 3600 * 1000;
  EXPECT_NEAR(exposure_at(s, week), 1.0, 1e-12);
  EXPECT_NEAR(exposure_at(s, 2 * week), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(exposure_at(s, -5), 2.0);  // no growth backwards in time
  on_offer(s, true, week);
  EXPECT_NEAR(exposure_at(s, week), 2.0, 1e-12);
  EXPECT_EQ(s.last_discount_offer_ms, week);
}

TEST(BanditContext, FeaturesAreBoundedAndFinite) {
  Rng r(1, 2, 3);
  for (int t = 0; t < 20000; ++t) {
    ShopperStats s;
    const int n = static_cast<int>(r.below(50));
    int64_t ts = static_cast<int64_t>(r.below(1000000)) * 1000;
    for (int i = 0; i < n; ++i) {
      ts += r.below(3600000);
      on_event(s, r.below(5), r.uniform() < 0.05 ? NAN : 1000 * r.uniform(), static_cast<int32_t>(r.below(5)) - 1, ts);
      if (r.uniform() < 0.2) on_offer(s, r.uniform() < 0.5, ts);
    }
    ContextInputs in;
    in.stats = &s;
    const double odd[] = {NAN, INFINITY, -1.0, 0.0, 1e30};
    in.purchase_propensity = r.uniform() < 0.05 ? odd[r.below(5)] : r.uniform();
    in.price = r.uniform() < 0.05 ? odd[r.below(5)] : 5000 * r.uniform();
    in.cost = r.uniform() < 0.05 ? odd[r.below(5)] : in.price * 1.2 * r.uniform();
    in.now_ms = ts + static_cast<int64_t>(r.below(1000000000)) - 100000000;
    float x[kContextDim];
    build_context(in, x);
    EXPECT_EQ(x[kFeatBias], 1.0f);
    for (uint32_t i = 0; i < kContextDim; ++i) {
      ASSERT_TRUE(std::isfinite(x[i])) << i;
      ASSERT_GE(x[i], -1.0f) << i;
      ASSERT_LE(x[i], 2.0f) << i;
    }
  }
}

TEST(BanditContext, FeatureValues) {
  ShopperStats s;
  const int64_t day = 24LL * 3600 * 1000;
  on_event(s, DISCO_EVENT_CART, 100, 1, 0);
  on_event(s, DISCO_EVENT_PURCHASE, 100, 1, 0);
  on_offer(s, true, 0);
  ContextInputs in;
  in.stats = &s;
  in.purchase_propensity = 0.3;
  in.price = 50;
  in.cost = 30;
  in.now_ms = 7 * day;
  float x[kContextDim];
  build_context(in, x);
  EXPECT_FLOAT_EQ(x[kFeatPropensity], 0.3f);
  EXPECT_FLOAT_EQ(x[kFeatLogPrice], static_cast<float>(std::log(51.0) / 7));
  EXPECT_FLOAT_EQ(x[kFeatMarginRate], 0.4f);
  EXPECT_FLOAT_EQ(x[kFeatRecency], 0.5f);
  // The visit (cart + purchase + a discounted offer) is closed 7 days later: discounted history.
  EXPECT_FLOAT_EQ(x[kFeatFullPriceBuys], 0.0f);
  EXPECT_FLOAT_EQ(x[kFeatFullPriceAbandons], 0.0f);
  EXPECT_FLOAT_EQ(x[kFeatDiscountBuys], static_cast<float>(std::log(2.0) / 2));
  EXPECT_FLOAT_EQ(x[kFeatDiscountAbandons], 0.0f);
  EXPECT_FLOAT_EQ(x[kFeatExposure], static_cast<float>(0.5 / 1.5));
  EXPECT_FLOAT_EQ(x[kFeatOfferRecency], static_cast<float>(1.0 / 8.0));
  EXPECT_FLOAT_EQ(x[kFeatCart], 0.0f);
}

// Visits split at gaps > 30 min; a visit counts as discounted when any discounted offer was made
// in it; the open visit counts only once the gap has passed.
TEST(BanditContext, VisitHistorySplitsFullPriceAndDiscounted) {
  ShopperStats s;
  const int64_t min = 60LL * 1000;
  // Visit 1 (full price): two carts, one purchase.
  on_event(s, DISCO_EVENT_VIEW, 10, 1, 0);
  on_event(s, DISCO_EVENT_CART, 10, 1, 1 * min);
  on_offer(s, false, 1 * min);
  on_event(s, DISCO_EVENT_CART, 20, 1, 5 * min);
  on_offer(s, false, 5 * min);
  on_event(s, DISCO_EVENT_PURCHASE, 20, 1, 10 * min);
  ContextInputs in;
  in.stats = &s;
  in.price = 10;
  float x[kContextDim];
  in.now_ms = 20 * min;  // still inside visit 1: nothing closed yet
  build_context(in, x);
  EXPECT_FLOAT_EQ(x[kFeatFullPriceBuys], 0.0f);
  EXPECT_FLOAT_EQ(x[kFeatFullPriceAbandons], 0.0f);
  in.now_ms = 41 * min;  // 31 min after the last activity: visit 1 counts (1 bought, 1 abandoned)
  build_context(in, x);
  EXPECT_FLOAT_EQ(x[kFeatFullPriceBuys], static_cast<float>(std::log(2.0) / 2));
  EXPECT_FLOAT_EQ(x[kFeatFullPriceAbandons], static_cast<float>(std::log(2.0) / 2));
  EXPECT_EQ(s.full_price_carts, 0u);  // build_context does not mutate
  // Visit 2 (discounted): one cart with a discount offer, no purchase. Its first event closes visit 1.
  on_event(s, DISCO_EVENT_CART, 10, 1, 100 * min);
  EXPECT_EQ(s.full_price_carts, 2u);
  EXPECT_EQ(s.full_price_purchases, 1u);
  on_offer(s, true, 100 * min);
  in.now_ms = 200 * min;
  build_context(in, x);
  EXPECT_FLOAT_EQ(x[kFeatFullPriceBuys], static_cast<float>(std::log(2.0) / 2));
  EXPECT_FLOAT_EQ(x[kFeatDiscountAbandons], static_cast<float>(std::log(2.0) / 2));
  EXPECT_FLOAT_EQ(x[kFeatDiscountBuys], 0.0f);
  // An offer long after the last event closes the visit too (the offer opens a new one).
  on_offer(s, false, 300 * min);
  EXPECT_EQ(s.discounted_carts, 1u);
  EXPECT_EQ(s.discounted_purchases, 0u);
  EXPECT_EQ(s.visit_carts, 0u);
  // Extreme timestamps never overflow (unsigned gap arithmetic).
  on_event(s, DISCO_EVENT_VIEW, 10, 1, INT64_MIN + 1);
  on_event(s, DISCO_EVENT_VIEW, 10, 1, INT64_MAX);
  in.now_ms = INT64_MAX;
  build_context(in, x);
  for (uint32_t i = 0; i < kContextDim; ++i) ASSERT_TRUE(std::isfinite(x[i]));
}

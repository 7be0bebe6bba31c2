// The long-term value model in the runtime (disco/value_model.h, schemas/bundle.fbs ValueModel):
// validation, the offsets' arithmetic, the bundle round trip, offers that follow the continuation,
// exact logged propensities (disco_policy_probabilities), hot swap and refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>

#include "disco/context.h"
#include "disco/value_model.h"
#include "test_util.h"

using rt_test::BundleHolder;

namespace {

constexpr uint32_t kArms = 5;  // the synthetic spec's arms

// A value model that strongly favours `arm` through a bias-feature weight, in currency units.
disco::ValueModelSpec favour(uint32_t arm, float amount, uint16_t dim = disco::kContextDim) {
  disco::ValueModelSpec v;
  v.context_dim = dim;
  v.pairs = {0, 3};  // bias x margin rate
  const uint32_t nf = dim + 1;
  v.weights.assign(size_t(kArms) * nf, 0.0f);
  v.weights[size_t(arm) * nf + disco::kFeatBias] = amount;
  v.gamma_per_day = 0.98f;
  v.max_abs = 1000.0f;
  v.fitted = "test";
  return v;
}

disco::BundleSpec spec_with(const disco::ValueModelSpec& v) {
  disco::BundleSpec s = disco::make_synthetic_spec(rt_test::small_options());
  s.value_model = v;
  return s;
}

}  // namespace

TEST(RuntimeValueModel, ConfigureRefusesBadShapesWithMessages) {
  disco::ValueModel v;
  EXPECT_EQ(v.configure(5, 15, 15, {}, {}, 1, 4, 0), "");
  EXPECT_FALSE(v.active());
  EXPECT_NE(v.configure(5, 15, 15, {0}, std::vector<double>(5 * 15, 0), 1, 4, 0).find("2 indices"), std::string::npos);
  EXPECT_NE(v.configure(5, 15, 15, {0, 15}, std::vector<double>(5 * 16, 0), 1, 4, 0).find("pairs[1] = 15"),
            std::string::npos);
  EXPECT_NE(v.configure(5, 15, 15, {0, 1}, std::vector<double>(5 * 15, 0), 1, 4, 0).find("expected n_arms x features"),
            std::string::npos);
  EXPECT_NE(v.configure(5, 16, 15, {}, std::vector<double>(5 * 16, 0), 1, 4, 0).find("context_dim 16"),
            std::string::npos);
  std::vector<double> w(5 * 15, 0.0);
  w[7] = NAN;
  EXPECT_NE(v.configure(5, 15, 15, {}, w, 1, 4, 0).find("weights[7]"), std::string::npos);
  EXPECT_NE(v.configure(5, 15, 15, {}, std::vector<double>(5 * 15, 0), -1, 4, 0).find("weight must"), std::string::npos);
  EXPECT_FALSE(v.active());
}

TEST(RuntimeValueModel, OffsetsAreContinuationOverPriceClampedAndWeighted) {
  disco::ValueModel v;
  // 2 arms, 3 features + one product (x0 * x2).
  std::vector<double> w = {1.0, 2.0, 0.0, 10.0,    // arm 0
                           -4.0, 0.0, 1.0, 0.0};   // arm 1
  ASSERT_EQ(v.configure(2, 3, 15, {0, 2}, w, 0.5, 4.0, 0.98), "");
  const float x[15] = {1.0f, 0.5f, 2.0f};
  double phi[4];
  v.features(x, phi);
  EXPECT_DOUBLE_EQ(phi[3], 2.0);
  double c[2];
  v.continuation(x, c);
  EXPECT_DOUBLE_EQ(c[0], 1.0 + 1.0 + 20.0);  // 22
  EXPECT_DOUBLE_EQ(c[1], -4.0 + 2.0);        // -2
  double off[2];
  v.offsets(x, 10.0, off);
  EXPECT_DOUBLE_EQ(off[0], 0.5 * 2.2);
  EXPECT_DOUBLE_EQ(off[1], 0.5 * -0.2);
  v.offsets(x, 1.0, off);  // 22 / 1 clamps to 4
  EXPECT_DOUBLE_EQ(off[0], 0.5 * 4.0);
  v.offsets(x, 0.0, off);
  EXPECT_EQ(off[0], 0.0);
  EXPECT_EQ(off[1], 0.0);
}

TEST(RuntimeValueModel, BundleRoundTripAndOffersFollowTheContinuation) {
  // Without a value model the untrained bandit spreads offers over the arms; with a large
  // continuation for arm 3 nearly every offer is arm 3 (the floor keeps the others > 0).
  BundleHolder plain(disco::make_synthetic_spec(rt_test::small_options()));
  BundleHolder valued(spec_with(favour(3, 5000.0f)));
  auto count_arm3 = [](const disco_bundle* b) {
    disco_runtime* rt = rt_test::make_runtime(b, 7);
    int hits = 0;
    for (int u = 0; u < 200; ++u) {
      disco_session* s = nullptr;
      EXPECT_EQ(disco_session_create(rt, 100 + u, &s), DISCO_OK);
      rt_test::observe(s, rt_test::ev(1700000000000 + u, uint32_t(u % 50), DISCO_EVENT_VIEW));
      disco_offer o{};
      EXPECT_EQ(disco_offer_make(s, uint32_t(u % 50), 1700000000000 + u, 0, 0, &o), DISCO_OK) << disco_last_error();
      hits += o.arm == 3;
      disco_session_free(s);
    }
    disco_runtime_free(rt);
    return hits;
  };
  EXPECT_LT(count_arm3(plain.bundle), 120);
  EXPECT_GT(count_arm3(valued.bundle), 190);
}

TEST(RuntimeValueModel, PolicyProbabilitiesMatchLoggedPropensityAndSumToOne) {
  BundleHolder valued(spec_with(favour(2, 30.0f)));
  disco_runtime* rt = rt_test::make_runtime(valued.bundle, 11);
  for (int u = 0; u < 50; ++u) {
    disco_session* s = nullptr;
    ASSERT_EQ(disco_session_create(rt, 500 + u, &s), DISCO_OK);
    const uint32_t item = uint32_t(7 * u % 300);
    rt_test::observe(s, rt_test::ev(1700000000000 + 1000 * u, item, DISCO_EVENT_CART));
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(s, item, 1700000000000 + 1000 * u, 0, 0, &o), DISCO_OK) << disco_last_error();
    // price/cost of the item as the runtime reads it from the catalog (synthetic spec: cost = 0.6 price)
    const float price = 5.0f + float((item * 7919u) % 9500u) / 100.0f;
    double p[kArms];
    ASSERT_EQ(disco_policy_probabilities(rt, o.context, o.context_dim, 0, price, price * 0.6f, p), DISCO_OK)
        << disco_last_error();
    double sum = 0;
    for (double v : p) {
      EXPECT_GE(v, 0.0);
      sum += v;
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);  // the quadrature's accuracy (bandit.h)
    EXPECT_NEAR(p[o.arm], double(o.propensity), 1e-6) << "arm " << o.arm;
    // A mask that excludes the chosen discount arm moves its probability to the others.
    if (o.arm != 0) {
      double q[kArms];
      const uint32_t mask = 0x1Fu & ~(1u << o.arm);
      ASSERT_EQ(disco_policy_probabilities(rt, o.context, o.context_dim, mask, price, price * 0.6f, q), DISCO_OK);
      EXPECT_EQ(q[o.arm], 0.0);
    }
    disco_session_free(s);
  }
  double p[kArms];
  const float zero[disco::kContextDim] = {};
  EXPECT_EQ(disco_policy_probabilities(rt, zero, 3, 0, 10.0, 5.0, p), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(disco_last_error()).find("the bundle's policy reads"), std::string::npos);
  EXPECT_EQ(disco_policy_probabilities(rt, zero, disco::kContextDim, 0, -1.0, 5.0, p), DISCO_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(disco_policy_probabilities(rt, nullptr, disco::kContextDim, 0, 10.0, 5.0, p), DISCO_ERR_INVALID_ARGUMENT);
  disco_runtime_free(rt);
}

TEST(RuntimeValueModel, RefusesAnotherFeatureSetAndBadWeightsByName) {
  disco::ValueModelSpec v = favour(1, 1.0f);
  v.context_version = disco::kContextVersion + 1;
  BundleHolder other(spec_with(v));  // the loader accepts it; the runtime refuses the policy
  disco_runtime_options o;
  disco_runtime_default_options(&o);
  disco_runtime* rt = nullptr;
  EXPECT_EQ(disco_runtime_create(other.bundle, &o, &rt), DISCO_ERR_BUNDLE_FORMAT);
  EXPECT_NE(std::string(disco_last_error()).find("value model was fitted on context features v"), std::string::npos);

  disco::ValueModelSpec bad = favour(1, 1.0f);
  bad.weights.pop_back();
  BundleHolder short_w(spec_with(bad));
  EXPECT_EQ(disco_runtime_create(short_w.bundle, &o, &rt), DISCO_ERR_BUNDLE_FORMAT);
  EXPECT_NE(std::string(disco_last_error()).find("expected n_arms x features"), std::string::npos);
}

TEST(RuntimeValueModel, HotSwapInstallsAndRemovesTheValueModel) {
  BundleHolder plain(disco::make_synthetic_spec(rt_test::small_options()));
  BundleHolder valued(spec_with(favour(3, 5000.0f)));
  disco_runtime* rt = rt_test::make_runtime(plain.bundle, 3);
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(rt, 42, &s), DISCO_OK);
  auto arm3_share = [&](int base) {
    int hits = 0;
    for (int k = 0; k < 100; ++k) {
      disco_offer o{};
      EXPECT_EQ(disco_offer_make(s, uint32_t(k % 40), 1700000000000 + base + k, 0, 0, &o), DISCO_OK);
      hits += o.arm == 3;
    }
    return hits;
  };
  const int before = arm3_share(0);
  ASSERT_EQ(disco_runtime_swap_bundle(rt, valued.bundle), DISCO_OK) << disco_last_error();
  const int with = arm3_share(1000);
  ASSERT_EQ(disco_runtime_swap_bundle(rt, plain.bundle), DISCO_OK) << disco_last_error();
  const int after = arm3_share(2000);
  EXPECT_GT(with, 95);
  EXPECT_LT(before, 70);
  EXPECT_LT(after, 70);
  disco_session_free(s);
  disco_runtime_free(rt);
}

// BanditPrior.pessimism (disco-train policy --choice-pessimism): discounts are scored by a lower
// confidence bound of their gain over arm 0. Read from the bundle (round trip); 0 = the same
// decisions as a bundle without the field; K > 0 lowers every discount arm's probability where the
// posterior is wide, the logged propensity stays exact, and the effect fades as data shrink the
// posterior; a bad value in the bundle is refused by name.
TEST(RuntimeChoicePessimism, LowersUncertainDiscountsKeepsPropensitiesExactAndFadesWithData) {
  auto spec_k = [](float k) {
    disco::BundleSpec s = disco::make_synthetic_spec(rt_test::small_options());
    s.bandit.pessimism = k;
    return s;
  };
  BundleHolder plain(spec_k(0.0f)), k2(spec_k(2.0f));
  disco_runtime* r0 = rt_test::make_runtime(plain.bundle, 11);
  disco_runtime* r2 = rt_test::make_runtime(k2.bundle, 11);
  const float price = 40.0f, cost = 24.0f;
  float x[disco::kContextDim] = {};
  x[disco::kFeatBias] = 1.0f;
  x[2] = 0.5f;
  auto discount_share = [&](disco_runtime* rt) {
    double p[kArms];
    EXPECT_EQ(disco_policy_probabilities(rt, x, disco::kContextDim, 0, price, cost, p), DISCO_OK) << disco_last_error();
    return 1.0 - p[0];
  };
  const double before0 = discount_share(r0), before2 = discount_share(r2);
  EXPECT_GT(before0, 0.5) << "five arms with the same wide prior: most of the mass on the four discounts";
  EXPECT_LT(before2, before0 * 0.6) << "K = 2 moves mass from uncertain discounts to arm 0";
  // Offers: the logged propensity is the policy's probability of the arm offered.
  disco_session* s = nullptr;
  ASSERT_EQ(disco_session_create(r2, 7, &s), DISCO_OK);
  for (int i = 0; i < 20; ++i) {
    const uint32_t item = uint32_t(11 * i % 300);
    rt_test::observe(s, rt_test::ev(1700000000000 + 1000 * i, item, DISCO_EVENT_CART));
    disco_offer o{};
    ASSERT_EQ(disco_offer_make(s, item, 1700000000000 + 1000 * i, 0, 0, &o), DISCO_OK);
    const float ip = 5.0f + float((item * 7919u) % 9500u) / 100.0f;
    double p[kArms];
    ASSERT_EQ(disco_policy_probabilities(r2, o.context, o.context_dim, 0, ip, ip * 0.6f, p), DISCO_OK);
    EXPECT_NEAR(p[o.arm], double(o.propensity), 1e-6) << "offer " << i;
  }
  disco_session_free(s);
  // Data on every arm at this context (arm 0 and the discounts equally good): the posterior narrows
  // and the pessimistic policy's discount share comes back towards the plain one's.
  for (disco_runtime* rt : {r0, r2}) {
    disco_session* t = nullptr;
    ASSERT_EQ(disco_session_create(rt, 9, &t), DISCO_OK);
    for (int i = 0; i < 4000; ++i) {
      const int64_t ts = 1700001000000 + 1000 * i;
      const uint32_t item = uint32_t(i % 300);
      disco_offer o{};
      ASSERT_EQ(disco_offer_make(t, item, ts, 0, 0, &o), DISCO_OK);
      ASSERT_EQ(disco_offer_shown(rt, o.decision_hi, o.decision_lo), DISCO_OK);
      disco_outcome out{};
      out.decision_hi = o.decision_hi;
      out.decision_lo = o.decision_lo;
      out.ts_ms = ts + 10;
      out.converted = 1;
      out.revenue = 10.0f;
      out.reward = 4.0f;
      ASSERT_EQ(disco_update(rt, &out), DISCO_OK) << disco_last_error();
    }
    disco_session_free(t);
  }
  const double after0 = discount_share(r0), after2 = discount_share(r2);
  EXPECT_GT(after2 / after0, before2 / before0) << "the pessimism fades with data: " << before2 / before0 << " -> " << after2 / after0;
  disco_runtime_free(r0);
  disco_runtime_free(r2);
  // A bundle whose pessimism is out of range is refused by name.
  BundleHolder bad(spec_k(-1.0f));
  disco_runtime_options opt;
  disco_runtime_default_options(&opt);
  disco_runtime* rb = nullptr;
  EXPECT_NE(disco_runtime_create(bad.bundle, &opt, &rb), DISCO_OK);
  EXPECT_NE(std::string(disco_last_error()).find("bandit pessimism"), std::string::npos) << disco_last_error();
}

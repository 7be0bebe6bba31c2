// The discount bandit: propensities, exploration floor, learning, merge, validation, save/restore.
#include <gtest/gtest.h>

#include <algorithm>
#include <cereal/archives/portable_binary.hpp>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "disco/bandit.h"
#include "disco/context.h"

using disco::Bandit;
using disco::BanditAlgorithm;
using disco::BanditConfig;
using disco::Choice;
using disco::Rng;

namespace {

constexpr uint32_t kDim = 12;

BanditConfig config(BanditAlgorithm alg, uint32_t arms, double floor = 0.02) {
  BanditConfig c;
  c.algorithm = alg;
  c.n_arms = arms;
  c.dim = kDim;
  c.prior_precision = 1.0;
  c.noise_scale = 0.5;
  c.ucb_alpha = 1.0;
  c.epsilon = 0.1;
  c.exploration_floor = floor;
  return c;
}

void random_context(Rng& r, float* x) {
  x[0] = 1.0f;
  for (uint32_t i = 1; i < kDim; ++i) x[i] = static_cast<float>(r.uniform());
}

// Feeds `n` updates drawn from a fixed linear model, arms picked by `arm_of(i)`.
template <class F>
void feed(Bandit& b, int n, uint64_t seed, F arm_of) {
  Rng r(seed, 0, 0, 3);
  float x[kDim];
  for (int i = 0; i < n; ++i) {
    random_context(r, x);
    const uint32_t a = arm_of(i);
    double rew = 0.05 * a - 0.1 * x[1] + 0.2 * x[2] * (a % 2) + 0.3 * r.normal();
    ASSERT_TRUE(b.update(a, x, rew));
  }
}

}  // namespace

TEST(BanditPolicy, ConfigValidationNamesTheField) {
  Bandit b;
  BanditConfig c = config(BanditAlgorithm::LinTS, 0);
  EXPECT_NE(b.configure(c).find("arms"), std::string::npos);
  c = config(BanditAlgorithm::LinTS, 4);
  c.prior_precision = 0;
  EXPECT_NE(b.configure(c).find("prior_precision"), std::string::npos);
  c = config(BanditAlgorithm::LinTS, 4);
  c.dim = 17;
  EXPECT_NE(b.configure(c).find("context_dim"), std::string::npos);
  c = config(BanditAlgorithm::LinTS, 4);
  c.exploration_floor = NAN;
  EXPECT_NE(b.configure(c).find("exploration_floor"), std::string::npos);
  c = config(BanditAlgorithm::LinTS, 2);
  std::vector<double> bad_a(2 * kDim * kDim, 0.0);
  bad_a[0] = -5.0;  // lambda + A0 not positive definite
  EXPECT_FALSE(b.configure(c, bad_a).empty());
  EXPECT_FALSE(b.configured());
  EXPECT_EQ(b.configure(c), "");
  EXPECT_TRUE(b.configured());
}

TEST(BanditPolicy, RejectsNonFiniteUpdates) {
  Bandit b;
  ASSERT_EQ(b.configure(config(BanditAlgorithm::LinTS, 3)), "");
  float x[kDim] = {1, 0.5f};
  EXPECT_FALSE(b.update(0, x, NAN));
  EXPECT_FALSE(b.update(0, x, INFINITY));
  EXPECT_FALSE(b.update(3, x, 1.0));
  EXPECT_FALSE(b.update(0, nullptr, 1.0));
  x[4] = NAN;
  EXPECT_FALSE(b.update(0, x, 1.0));
  x[4] = -INFINITY;
  EXPECT_FALSE(b.update(0, x, 1.0));
  EXPECT_EQ(b.stats().arms[0].n, 0.0);
  x[4] = 2e6f;  // beyond any context feature: refused
  EXPECT_FALSE(b.update(0, x, 1.0));
  x[4] = 0.25f;
  EXPECT_FALSE(b.update(0, x, 1e7));
  EXPECT_TRUE(b.update(0, x, 1.0));
  EXPECT_EQ(b.stats().arms[0].n, 1.0);
}

TEST(BanditPolicy, ScaledReward) {
  EXPECT_DOUBLE_EQ(disco::scaled_reward(5.0, 50.0), 0.1);
  EXPECT_EQ(disco::scaled_reward(-500.0, 10.0), -disco::kRewardClamp);
  EXPECT_EQ(disco::scaled_reward(500.0, 10.0), disco::kRewardClamp);
  EXPECT_EQ(disco::scaled_reward(NAN, 10.0), 0.0);
  EXPECT_EQ(disco::scaled_reward(1.0, 0.0), 0.0);
}

TEST(BanditPolicy, ChoiceIsDeterministicPerDecisionId) {
  Bandit b;
  ASSERT_EQ(b.configure(config(BanditAlgorithm::LinTS, 6)), "");
  feed(b, 300, 1, [](int i) { return static_cast<uint32_t>(i % 6); });
  float x[kDim];
  Rng rc(9, 9, 9);
  random_context(rc, x);
  int differ = 0;
  for (uint64_t id = 0; id < 200; ++id) {
    Rng r1(77, 0, id), r2(77, 0, id), r3(78, 0, id);
    const Choice a = b.choose(x, 0x3f, r1), c = b.choose(x, 0x3f, r2), d = b.choose(x, 0x3f, r3);
    EXPECT_EQ(a.arm, c.arm);
    EXPECT_EQ(a.propensity, c.propensity);  // bitwise
    EXPECT_EQ(a.score, c.score);
    differ += a.arm != d.arm;
  }
  EXPECT_GT(differ, 0);  // the seed matters
}

// Quadrature propensities: sum to one (they are not renormalized) and match 1e6 real draws.
TEST(BanditPolicy, ThompsonPropensitiesMatchMonteCarlo) {
  struct Case {
    const char* name;
    int updates;
    uint32_t mask;
    bool skew;  // arm 0 gets almost all data: very different posterior widths
  } cases[] = {{"fresh", 0, 0x3f, false},
               {"some data", 200, 0x3f, false},
               {"skewed widths", 5000, 0x2d, true}};
  for (const Case& cs : cases) {
    Bandit b;
    ASSERT_EQ(b.configure(config(BanditAlgorithm::LinTS, 6, 0.05)), "");
    feed(b, cs.updates, 11, [&](int i) {
      return cs.skew ? (i % 50 == 0 ? static_cast<uint32_t>(i / 50 % 6) : 0u) : static_cast<uint32_t>(i % 6);
    });
    float x[kDim];
    Rng rc(3, 1, 4);
    random_context(rc, x);
    double p[disco::kMaxArms];
    b.probabilities(x, cs.mask, p);
    double sum = 0;
    for (uint32_t a = 0; a < disco::kMaxArms; ++a) {
      sum += p[a];
      if (!(cs.mask >> a & 1u)) EXPECT_EQ(p[a], 0.0);
    }
    EXPECT_NEAR(sum, 1.0, 2e-6) << cs.name;
    const int n = 1000000;
    std::vector<int> count(6, 0);
    for (int i = 0; i < n; ++i) {
      Rng r(2024, 1, static_cast<uint64_t>(i));
      const Choice c = b.choose(x, cs.mask, r);
      ASSERT_TRUE(cs.mask >> c.arm & 1u);
      ++count[c.arm];
      if (i < 2000) EXPECT_NEAR(c.propensity, p[c.arm], 1e-12);
    }
    for (uint32_t a = 0; a < 6; ++a) {
      const double f = static_cast<double>(count[a]) / n;
      const double se = std::sqrt(std::max(p[a] * (1 - p[a]), 1e-12) / n);
      EXPECT_NEAR(f, p[a], 4.5 * se + 1e-6) << cs.name << " arm " << a;
      std::printf("%-14s arm %u: quadrature %.6f  monte carlo %.6f\n", cs.name, a, p[a], f);
    }
  }
}

// Quadrature accuracy against brute-force integration with libm, over random posteriors with
// widths differing up to 1000:1 (warm starts of very different strength) and close means.
TEST(BanditPolicy, ThompsonQuadratureMatchesBruteForceIntegral) {
  Rng r(31, 4, 1, 2);
  double worst = 0, worst_sum = 0;
  for (int cfg = 0; cfg < 30; ++cfg) {
    const uint32_t arms = 2 + r.below(5);
    BanditConfig c = config(BanditAlgorithm::LinTS, arms, 0.0);
    std::vector<double> pa(arms * kDim * kDim, 0.0), pb(arms * kDim, 0.0);
    for (uint32_t a = 0; a < arms; ++a) {
      const double strength = std::pow(10.0, 6.0 * r.uniform());
      for (uint32_t i = 0; i < kDim; ++i) pa[a * kDim * kDim + i * kDim + i] = strength;
      pb[a * kDim] = strength * 0.3 * r.normal() / std::sqrt(strength);  // means ~ N(0, 0.3^2 / s)
    }
    Bandit b;
    ASSERT_EQ(b.configure(c, pa, pb), "");
    float x[kDim] = {1.0f};
    double p[disco::kMaxArms];
    const uint32_t mask = (1u << arms) - 1u;
    b.probabilities(x, mask, p);
    double m[8], s[8], sum = 0;
    for (uint32_t a = 0; a < arms; ++a) m[a] = b.mean(a, x), s[a] = b.stddev(a, x);
    for (uint32_t a = 0; a < arms; ++a) {
      // Simpson on z in [-9, 9], 400k intervals, libm erfc/exp.
      const int N = 400000;
      const double h = 18.0 / N;
      double acc = 0;
      for (int k = 0; k <= N; ++k) {
        const double z = -9.0 + k * h, sv = m[a] + s[a] * z;
        double v = std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
        for (uint32_t j = 0; j < arms && v > 0; ++j)
          if (j != a) v *= 0.5 * std::erfc(-(sv - m[j]) / s[j] / std::sqrt(2.0));
        acc += v * (k == 0 || k == N ? 1 : (k % 2 ? 4 : 2));
      }
      const double ref = acc * h / 3;
      sum += ref;
      worst = std::max(worst, std::fabs(p[a] - ref));
      EXPECT_NEAR(p[a], ref, 1e-7) << "config " << cfg << " arm " << a << " sd ratio "
                                   << s[a] / s[(a + 1) % arms];
    }
    double qs = 0;
    for (uint32_t a = 0; a < arms; ++a) qs += p[a];
    worst_sum = std::max(worst_sum, std::fabs(qs - 1.0));
    EXPECT_NEAR(sum, 1.0, 1e-9);  // the reference itself is sound
  }
  std::printf("quadrature vs brute force: max |error| %.2e, max |sum - 1| %.2e\n", worst, worst_sum);
}

TEST(BanditPolicy, ExplorationFloorIsExactForLinUcbAndEpsGreedy) {
  for (BanditAlgorithm alg : {BanditAlgorithm::LinUCB, BanditAlgorithm::EpsGreedy}) {
    Bandit b;
    ASSERT_EQ(b.configure(config(alg, 5, 0.1)), "");
    feed(b, 500, 5, [](int i) { return static_cast<uint32_t>(i % 5); });
    float x[kDim];
    Rng rc(1, 2, 3);
    random_context(rc, x);
    const uint32_t mask = 0x1b;  // arms 0, 1, 3, 4
    double p[disco::kMaxArms];
    b.probabilities(x, mask, p);
    double sum = 0;
    for (uint32_t a = 0; a < 5; ++a) {
      sum += p[a];
      if (mask >> a & 1u) EXPECT_GE(p[a], 0.1 / 4 - 1e-15);
    }
    EXPECT_NEAR(sum, 1.0, 1e-12);
    const int n = 400000;
    std::vector<int> count(5, 0);
    for (int i = 0; i < n; ++i) {
      Rng r(1, 2, static_cast<uint64_t>(i));
      const Choice c = b.choose(x, mask, r, i % 2 == 0);
      ++count[c.arm];
      ASSERT_EQ(c.propensity, p[c.arm]);
    }
    for (uint32_t a = 0; a < 5; ++a) {
      const double se = std::sqrt(std::max(p[a] * (1 - p[a]), 1e-12) / n);
      EXPECT_NEAR(static_cast<double>(count[a]) / n, p[a], 4.5 * se);
    }
  }
}

TEST(BanditPolicy, FloorGivesEveryEligibleArmProbability) {
  Bandit b;
  ASSERT_EQ(b.configure(config(BanditAlgorithm::LinTS, 6, 0.06)), "");
  // make arm 2 overwhelmingly best
  feed(b, 3000, 8, [](int i) { return static_cast<uint32_t>(i % 6); });
  float x[kDim];
  Rng rc(4, 4, 4);
  for (int t = 0; t < 50; ++t) {
    random_context(rc, x);
    for (uint32_t mask : {0x3fu, 0x21u, 0x06u, 0x01u}) {
      double p[disco::kMaxArms];
      b.probabilities(x, mask, p);
      const int ne = __builtin_popcount(mask);
      for (uint32_t a = 0; a < 6; ++a)
        if (mask >> a & 1u) EXPECT_GE(p[a], 0.06 / ne * (1 - 1e-12));
    }
  }
  // Empty mask (or only arms beyond n_arms): arm 0 with probability 1.
  Rng r(1, 1, 1);
  const Choice c = b.choose(x, 0u, r);
  EXPECT_EQ(c.arm, 0u);
  EXPECT_EQ(c.propensity, 1.0);
  const Choice c2 = b.choose(x, 1u << 20, r);
  EXPECT_EQ(c2.arm, 0u);
}

// Synthetic linear problem: LinTS learns the best arm per context; its regret is far below random.
TEST(BanditPolicy, LinTsLearnsBestArmPerContext) {
  const uint32_t arms = 6;
  Rng world(123, 0, 0, 5);
  double theta[arms][kDim];
  for (auto& t : theta)
    for (double& v : t) v = 0.5 * world.normal();
  Bandit b;
  BanditConfig c = config(BanditAlgorithm::LinTS, arms, 0.02);
  c.noise_scale = 0.5;
  ASSERT_EQ(b.configure(c), "");
  const int rounds = 20000;
  double regret_late = 0, random_regret_late = 0;
  int best_late = 0, late = 0;
  float x[kDim];
  for (int t = 0; t < rounds; ++t) {
    random_context(world, x);
    double mean[arms], best = -1e300, avg = 0;
    uint32_t best_arm = 0;
    for (uint32_t a = 0; a < arms; ++a) {
      mean[a] = 0;
      for (uint32_t i = 0; i < kDim; ++i) mean[a] += theta[a][i] * x[i];
      if (mean[a] > best) best = mean[a], best_arm = a;
      avg += mean[a] / arms;
    }
    Rng r(99, 0, static_cast<uint64_t>(t));
    const Choice ch = b.choose(x, 0x3f, r);
    const double reward = mean[ch.arm] + 0.5 * world.normal();
    ASSERT_TRUE(b.update(ch.arm, x, reward));
    if (t >= rounds - 5000) {
      regret_late += best - mean[ch.arm];
      random_regret_late += best - avg;
      best_late += ch.arm == best_arm;
      ++late;
    }
  }
  std::printf("LinTS last 5000: regret %.1f vs random %.1f, best arm %.1f%%\n", regret_late,
              random_regret_late, 100.0 * best_late / late);
  EXPECT_LT(regret_late, 0.1 * random_regret_late);
  EXPECT_GT(best_late, 0.8 * late);
}

// Sufficient statistics add up: two edges fed halves of a stream, merged, equal one fed it all.
TEST(BanditPolicy, MergeEqualsLearningFromTheUnion) {
  BanditConfig c = config(BanditAlgorithm::LinTS, 6);
  std::vector<double> pa(6 * kDim * kDim, 0.0), pb(6 * kDim, 0.0), pn(6, 0.0);
  for (uint32_t a = 0; a < 6; ++a) {
    pa[a * kDim * kDim] = 2.0;  // warm start counted once
    pb[a * kDim] = 0.1 * a;
    pn[a] = 2;
  }
  Bandit whole, e1, e2, fleet;
  for (Bandit* b : {&whole, &e1, &e2, &fleet}) ASSERT_EQ(b->configure(c, pa, pb, pn), "");
  Rng r(1, 1, 1, 8);
  float x[kDim];
  for (int i = 0; i < 4000; ++i) {
    random_context(r, x);
    const uint32_t arm = r.below(6);
    const double rew = r.normal();
    whole.update(arm, x, rew);
    (i % 3 == 0 ? e1 : e2).update(arm, x, rew);
  }
  // Edge 1 merges edge 2's delta; the fleet sums both edges' deltas.
  disco::BanditStats d1 = e1.export_stats(true), d2 = e2.export_stats(true);
  ASSERT_EQ(e1.merge(d2), "");
  ASSERT_EQ(fleet.merge(d1), "");
  ASSERT_EQ(fleet.merge(d2), "");
  // Merged statistics never re-enter the delta: a second export of edge 1 is empty.
  const disco::BanditStats again = e1.export_stats(true);
  for (const auto& a : again.arms) EXPECT_EQ(a.n, 0.0);
  for (const Bandit* m : {&e1, &fleet}) {
    for (uint32_t a = 0; a < 6; ++a) {
      const auto& w = whole.stats().arms[a];
      const auto& g = m->stats().arms[a];
      EXPECT_EQ(w.n, g.n);
      for (size_t i = 0; i < w.A.size(); ++i)
        EXPECT_NEAR(g.A[i], w.A[i], 1e-9 * std::max(1.0, std::fabs(w.A[i])));
      for (size_t i = 0; i < w.b.size(); ++i)
        EXPECT_NEAR(g.b[i], w.b[i], 1e-9 * std::max(1.0, std::fabs(w.b[i])));
    }
    for (int t = 0; t < 500; ++t) {
      random_context(r, x);
      Rng r1(5, 0, static_cast<uint64_t>(t)), r2(5, 0, static_cast<uint64_t>(t));
      const Choice cw = whole.choose(x, 0x3f, r1), cm = m->choose(x, 0x3f, r2);
      EXPECT_EQ(cw.arm, cm.arm);
      EXPECT_NEAR(cw.propensity, cm.propensity, 1e-9);
    }
  }
  // Mismatched statistics are refused with a reason.
  disco::BanditStats wrong = whole.export_stats(false);
  wrong.arms.pop_back();
  EXPECT_NE(fleet.merge(wrong), "");
  wrong = whole.export_stats(false);
  wrong.arms[1].A[1] += 1.0;  // asymmetric
  EXPECT_NE(fleet.merge(wrong).find("symmetric"), std::string::npos);
  wrong = whole.export_stats(false);
  wrong.arms[2].b[0] = NAN;
  EXPECT_NE(fleet.merge(wrong), "");
}

TEST(BanditPolicy, SaveRestoreContinuesExactly) {
  for (BanditAlgorithm alg : {BanditAlgorithm::LinTS, BanditAlgorithm::LinUCB, BanditAlgorithm::EpsGreedy}) {
    Bandit b;
    ASSERT_EQ(b.configure(config(alg, 5)), "");
    feed(b, 700, 2, [](int i) { return static_cast<uint32_t>(i * 7 % 5); });
    std::stringstream ss;
    {
      cereal::PortableBinaryOutputArchive ar(ss);
      ar(b);
    }
    Bandit r;
    {
      cereal::PortableBinaryInputArchive ar(ss);
      ar(r);
    }
    ASSERT_EQ(r.validate(), "");
    float x[kDim];
    Rng rc(6, 6, 6, 1);
    for (int t = 0; t < 300; ++t) {
      random_context(rc, x);
      Rng r1(1, 2, static_cast<uint64_t>(t)), r2(1, 2, static_cast<uint64_t>(t));
      const Choice a = b.choose(x, 0x1f, r1), c = r.choose(x, 0x1f, r2);
      ASSERT_EQ(a.arm, c.arm);
      ASSERT_EQ(a.propensity, c.propensity);
      const double rew = rc.normal();
      b.update(a.arm, x, rew);
      r.update(c.arm, x, rew);
    }
    EXPECT_EQ(b.stats().arms[3].A, r.stats().arms[3].A);
  }
}

TEST(BanditPolicy, CorruptStateIsRefusedNotCrashed) {
  Bandit b;
  ASSERT_EQ(b.configure(config(BanditAlgorithm::LinTS, 4)), "");
  feed(b, 50, 2, [](int i) { return static_cast<uint32_t>(i % 4); });
  std::stringstream ss;
  {
    cereal::PortableBinaryOutputArchive ar(ss);
    BanditConfig c = b.config();
    c.dim = 5;  // inconsistent with the stored matrices
    disco::BanditStats s = b.export_stats(false);
    ar(c, s, s, s);
  }
  Bandit r;
  {
    cereal::PortableBinaryInputArchive ar(ss);
    ar(r);
  }
  EXPECT_NE(r.validate(), "");
  EXPECT_FALSE(r.configured());
  float x[kDim] = {1};
  Rng rng(1, 1, 1);
  EXPECT_EQ(r.choose(x, 0xf, rng).arm, 0u);
}

// Discount response on synthetic shoppers, the way the runtime wires it: context from
// build_context(), reward = scaled_reward(margin if converted), Bernoulli conversions.
// Low-propensity shoppers are persuadable, high-propensity ones buy anyway (a discount is a
// loss), thin-margin items cannot afford discounts. LinTS must beat every fixed arm.
TEST(BanditPolicy, LinTsBeatsBestFixedDiscountOnSyntheticShoppers) {
  const double disc[5] = {0.0, 0.05, 0.10, 0.20, 0.30};
  BanditConfig c = config(BanditAlgorithm::LinTS, 5, 0.02);
  c.noise_scale = 0.3;
  Bandit b;
  ASSERT_EQ(b.configure(c), "");
  Rng world(77, 1, 2, 9);
  const int rounds = 30000, eval_from = 15000;
  double got = 0, oracle = 0, fixed[5] = {};
  for (int t = 0; t < rounds; ++t) {
    disco::ShopperStats st;
    const uint32_t events = world.below(20);
    for (uint32_t e = 0; e < events; ++e) disco::on_event(st, world.below(5), 30, 1, 1000 * e);
    disco::ContextInputs in;
    in.stats = &st;
    in.purchase_propensity = world.uniform();
    in.price = std::exp(std::log(5.0) + std::log(100.0) * world.uniform());
    in.cost = in.price * (0.45 + 0.5 * world.uniform());
    in.now_ms = 1000 * events;
    float x[disco::kContextDim];
    disco::build_context(in, x);
    const double prop = in.purchase_propensity, mrate = 1.0 - in.cost / in.price;
    auto expected = [&](int a) {
      const double conv = std::min(1.0, 0.03 + 0.3 * prop + 2.5 * (1.0 - prop) * disc[a]);
      return conv * (mrate - disc[a]);  // margin / price
    };
    Rng r(5, 0, static_cast<uint64_t>(t));
    const Choice ch = b.choose(x, 0x1f, r);
    const bool converted = world.uniform() < std::min(1.0, 0.03 + 0.3 * prop + 2.5 * (1.0 - prop) * disc[ch.arm]);
    const double margin = converted ? in.price * (1.0 - disc[ch.arm]) - in.cost : 0.0;
    ASSERT_TRUE(b.update(ch.arm, x, disco::scaled_reward(margin, in.price)));
    if (t >= eval_from) {
      got += expected(static_cast<int>(ch.arm));
      double best = -1e9;
      for (int a = 0; a < 5; ++a) {
        fixed[a] += expected(a);
        best = std::max(best, expected(a));
      }
      oracle += best;
    }
  }
  const double best_fixed = *std::max_element(fixed, fixed + 5);
  std::printf("margin/price per offer: LinTS %.4f, best fixed arm %.4f, no discount %.4f, oracle %.4f (%.1f%% of oracle)\n",
              got / (rounds - eval_from), best_fixed / (rounds - eval_from), fixed[0] / (rounds - eval_from),
              oracle / (rounds - eval_from), 100.0 * got / oracle);
  EXPECT_GT(got, best_fixed);
  EXPECT_GT(got, 0.85 * oracle);
}

// Every learner on every base recovers a known synthetic effect (binary and continuous target),
// deterministically, and a column that reveals the arm does not fool it.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "disco/eval/uplift.h"

namespace up = disco::eval::uplift;

namespace {

struct Synthetic {
  std::vector<float> x;  // n x 4: x1, x2 uniform, x3 noise, x4 = a copy of t (constant per group)
  std::vector<double> y, tau;
  std::vector<uint8_t> t;
  size_t n = 0;
};

// binary: p0 = .15 + .1 x2, effect +.25 where x1 > .5 and -.05 elsewhere.
// continuous: y = 1 + x2 + t (2 x1 - .5) + N(0, 1).
Synthetic make(size_t n, bool binary, uint64_t seed, double treated_share = 0.5) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> noise(0, 1);
  Synthetic s;
  s.n = n;
  for (size_t i = 0; i < n; ++i) {
    const double x1 = u(g), x2 = u(g), x3 = u(g);
    const uint8_t t = u(g) < treated_share ? 1 : 0;
    double y, tau;
    if (binary) {
      tau = x1 > 0.5 ? 0.25 : -0.05;
      const double p = 0.15 + 0.1 * x2 + (t ? tau : 0.0);
      y = u(g) < p ? 1.0 : 0.0;
    } else {
      tau = 2 * x1 - 0.5;
      y = 1 + x2 + (t ? tau : 0.0) + noise(g);
    }
    s.x.insert(s.x.end(), {static_cast<float>(x1), static_cast<float>(x2), static_cast<float>(x3), static_cast<float>(t)});
    s.y.push_back(y);
    s.t.push_back(t);
    s.tau.push_back(tau);
  }
  return s;
}

double corr(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= a.size(), mb /= b.size();
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

}  // namespace

class UpliftLearners : public ::testing::TestWithParam<std::tuple<up::LearnerKind, up::BaseKind>> {};

TEST_P(UpliftLearners, RecoverAKnownEffect) {
  const auto [kind, base] = GetParam();
  up::LearnerConfig cfg;
  cfg.learner = kind;
  cfg.base = base;
  cfg.seed = 7;
  for (bool binary : {true, false}) {
    // 30% treated: the learners must not assume a balanced design
    const Synthetic train = make(16000, binary, binary ? 11 : 12, 0.3), test = make(4000, binary, 99);
    const auto m = up::fit_pair(train.x.data(), train.n, 4, train.y, train.t, {}, binary, cfg);
    std::vector<double> pred(test.n);
    m->predict(test.x.data(), test.n, pred.data());
    // the arm-revealing column (x4 = t) is ignored: the prediction does not depend on it
    std::vector<float> flipped = test.x;
    for (size_t i = 0; i < test.n; ++i) flipped[i * 4 + 3] = 1.0f - flipped[i * 4 + 3];
    std::vector<double> pred2(test.n);
    m->predict(flipped.data(), test.n, pred2.data());
    EXPECT_EQ(pred, pred2) << cfg.name();
    const double c = corr(pred, test.tau);
    const double constant_pehe = up::pehe(std::vector<double>(test.n, mean(test.tau)), test.tau);
    const double p = up::pehe(pred, test.tau);
    SCOPED_TRACE(cfg.name() + (binary ? " binary" : " continuous") + ": corr " + std::to_string(c) + ", pehe " +
                 std::to_string(p) + " (constant " + std::to_string(constant_pehe) + ")");
    EXPECT_GT(c, 0.8);
    EXPECT_LT(p, 0.6 * constant_pehe);
    EXPECT_NEAR(mean(pred), mean(test.tau), binary ? 0.04 : 0.15);
    EXPECT_GT(up::qini_auc_score(test.y, pred, test.t), 0.1);
  }
}

INSTANTIATE_TEST_SUITE_P(AllLearnersAllBases, UpliftLearners,
                         ::testing::Combine(::testing::Values(up::LearnerKind::S, up::LearnerKind::T, up::LearnerKind::X,
                                                              up::LearnerKind::DR, up::LearnerKind::CT),
                                            ::testing::Values(up::BaseKind::Xgb, up::BaseKind::Linear)),
                         [](const auto& info) {
                           return std::string(up::to_string(std::get<0>(info.param))) + "_" +
                                  up::to_string(std::get<1>(info.param));
                         });

TEST(UpliftLearnersDeterminism, SameSeedSamePredictionsOtherSeedOther) {
  const Synthetic s = make(6000, true, 5);
  up::LearnerConfig cfg;
  cfg.learner = up::LearnerKind::DR;  // cross-fitting folds, inner validation split, subsampling
  cfg.seed = 3;
  auto run = [&](uint64_t seed) {
    cfg.seed = seed;
    const auto m = up::fit_pair(s.x.data(), s.n, 4, s.y, s.t, {}, true, cfg);
    std::vector<double> p(500);
    m->predict(s.x.data(), 500, p.data());
    return p;
  };
  const auto a = run(3), b = run(3), c = run(4);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(UpliftLearnersDeterminism, BadInputIsRefused) {
  const Synthetic s = make(100, true, 5);
  up::LearnerConfig cfg;
  auto err = [&](const std::function<void()>& f) {
    try {
      f();
    } catch (const up::UpliftError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::vector<uint8_t> all_t(100, 1);
  EXPECT_NE(err([&] { up::fit_pair(s.x.data(), 100, 4, s.y, all_t, {}, true, cfg); }).find("at least 2 treated and 2 control"),
            std::string::npos);
  std::vector<double> y2 = s.y;
  y2[7] = 0.5;
  EXPECT_NE(err([&] { up::fit_pair(s.x.data(), 100, 4, y2, s.t, {}, true, cfg); }).find("binary target but y[7] = 0.5"),
            std::string::npos);
  EXPECT_NE(err([&] { up::fit_pair(s.x.data(), 100, 4, std::span<const double>(s.y).first(50), s.t, {}, true, cfg); })
                .find("100 rows but 50 outcomes"),
            std::string::npos);
  std::vector<double> w(100, 1.0);
  w[3] = 0;
  EXPECT_NE(err([&] { up::fit_pair(s.x.data(), 100, 4, s.y, s.t, w, true, cfg); }).find("weight[3]"), std::string::npos);
}

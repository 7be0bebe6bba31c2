// scikit-uplift's metrics on cases computed by hand (the arithmetic is in the comments).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "disco/eval/uplift.h"

namespace up = disco::eval::uplift;

namespace {
// rows (y, t, uplift): 0 (1,1,.9) 1 (0,1,.8) 2 (1,0,.7) 3 (0,0,.6) 4 (1,1,.5) 5 (0,0,.5)
const std::vector<double> kY = {1, 0, 1, 0, 1, 0};
const std::vector<uint8_t> kT = {1, 1, 0, 0, 1, 0};
const std::vector<double> kU = {0.9, 0.8, 0.7, 0.6, 0.5, 0.5};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const up::UpliftError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(UpliftMetrics, QiniCurveByHand) {
  // order 0,1,2,3 then the tie {5,4}; points at the end of each distinct score:
  // k=1: 1; k=2: 1; k=3: 1 - 1*2/1 = -1; k=4: 1 - 1*2/2 = 0; k=6: 2 - 1*3/3 = 1
  const up::Curve c = up::qini_curve(kY, kU, kT);
  EXPECT_EQ(c.x, (std::vector<double>{0, 1, 2, 3, 4, 6}));
  EXPECT_EQ(c.y, (std::vector<double>{0, 1, 1, -1, 0, 1}));
  EXPECT_DOUBLE_EQ(up::area(c), 2.0);  // .5 + 1 + 0 - .5 + 1
}

TEST(UpliftMetrics, PerfectQiniCurveByHand) {
  // score y*t - y*(1-t) = 1,0,-1,0,1,0 -> groups {4,0} {5,3,1} {2}: (2,2) (5,2) (6, 2 - 1*3/3 = 1)
  const up::Curve p = up::perfect_qini_curve(kY, kT, true);
  EXPECT_EQ(p.x, (std::vector<double>{0, 2, 5, 6}));
  EXPECT_EQ(p.y, (std::vector<double>{0, 2, 2, 1}));
  EXPECT_DOUBLE_EQ(up::area(p), 9.5);
  // without negative effects: Q = 2 - 3*1/3 = 1: (0,0) (1,1) (6,1)
  const up::Curve q = up::perfect_qini_curve(kY, kT, false);
  EXPECT_EQ(q.x, (std::vector<double>{0, 1, 6}));
  EXPECT_EQ(q.y, (std::vector<double>{0, 1, 1}));
}

TEST(UpliftMetrics, QiniAucScoreByHand) {
  // baseline (0,0)-(6,1): area 3. negative effects: (2 - 3) / (9.5 - 3) = -1/6.5
  EXPECT_NEAR(up::qini_auc_score(kY, kU, kT), -1.0 / 6.5, 1e-12);
  // without: (2 - 3) / (5.5 - 3) = -0.4
  EXPECT_NEAR(up::qini_auc_score(kY, kU, kT, false), -0.4, 1e-12);
  // the perfect ordering itself scores 1, its reverse below 0
  std::vector<double> best(kY.size()), worst(kY.size());
  for (size_t i = 0; i < kY.size(); ++i) best[i] = kT[i] ? kY[i] : -kY[i], worst[i] = -best[i];
  EXPECT_NEAR(up::qini_auc_score(kY, best, kT), 1.0, 1e-12);
  EXPECT_LT(up::qini_auc_score(kY, worst, kT), 0.0);
  // a constant score: every row tied, the curve is the baseline
  EXPECT_NEAR(up::qini_auc_score(kY, std::vector<double>(6, 0.3), kT), 0.0, 1e-12);
}

TEST(UpliftMetrics, UpliftAtKOverallByHand) {
  // k=.5: int(3) rows 0,1,2: treated {1,0} .5, control {1} 1 -> -.5
  EXPECT_DOUBLE_EQ(up::uplift_at_k(kY, kU, kT, 0.5), -0.5);
  // k=.7: int(4.2) = 4 rows: treated .5, control {1,0} .5 -> 0
  EXPECT_DOUBLE_EQ(up::uplift_at_k(kY, kU, kT, 0.7), 0.0);
  // k=.3: int(1.8) = 1 row, treated only: no control mean
  EXPECT_TRUE(std::isnan(up::uplift_at_k(kY, kU, kT, 0.3)));
  EXPECT_NE(error_of([&] { up::uplift_at_k(kY, kU, kT, 1.0); }).find("k = 1"), std::string::npos);
}

TEST(UpliftMetrics, UpliftAtKTiesTakeTheLaterRowFirst) {
  // 10 rows, top int(3): 0 (1,t) and 1 (0,c), then of the tied .5 rows {2 (1,t), 3 (0,t)} numpy's
  // reversed stable argsort takes row 3: treated {1, 0} -> .5, control {0} -> 0: .5 (row 2 would give 1)
  const std::vector<double> y = {1, 0, 1, 0, 0, 1, 0, 0, 1, 0};
  const std::vector<uint8_t> t = {1, 0, 1, 1, 0, 0, 1, 0, 1, 0};
  const std::vector<double> u = {.9, .8, .5, .5, .1, .1, .1, .1, .1, .1};
  EXPECT_DOUBLE_EQ(up::uplift_at_k(y, u, t, 0.3), 0.5);
}

TEST(UpliftMetrics, ContinuousTargetByHand) {
  // (y, t, u): (2,1,.9) (.5,0,.4) (1,1,.2) (3,0,.1)
  const std::vector<double> y = {2, 0.5, 1, 3}, u = {.9, .4, .2, .1};
  const std::vector<uint8_t> t = {1, 0, 1, 0};
  // curve: 2, 2 - .5 = 1.5, 3 - .5*2 = 2, 3 - 3.5*2/2 = -.5: area 1 + 1.75 + 1.75 + .75 = 5.25
  const up::Curve c = up::qini_curve(y, u, t);
  EXPECT_EQ(c.y, (std::vector<double>{0, 2, 1.5, 2, -0.5}));
  // perfect order 0,2,1,3: 2, 3, 2, -.5: area 6.75; baseline 4 * -.5 / 2 = -1
  EXPECT_NEAR(up::qini_auc_score(y, u, t), (5.25 + 1) / (6.75 + 1), 1e-12);
  EXPECT_DOUBLE_EQ(up::uplift_at_k(y, u, t, 0.5), 1.5);  // rows 0 and 1: 2 - .5
}

TEST(UpliftMetrics, PeheAndThin) {
  EXPECT_DOUBLE_EQ(up::pehe(std::vector<double>{1, 2, 3}, std::vector<double>{1, 2, 1}), std::sqrt(4.0 / 3.0));
  up::Curve c;
  for (int i = 0; i <= 1000; ++i) c.x.push_back(i), c.y.push_back(i * 0.5);
  const up::Curve t = up::thin(c, 11);
  ASSERT_EQ(t.x.size(), 11u);
  EXPECT_EQ(t.x.front(), 0);
  EXPECT_EQ(t.x.back(), 1000);
  EXPECT_EQ(t.y[5], 250);
}

TEST(UpliftMetrics, BadInputIsRefused) {
  const std::vector<double> y = {1, 0}, u = {.1};
  const std::vector<uint8_t> t = {1, 0}, t1 = {1, 1}, t2 = {1, 2};
  EXPECT_NE(error_of([&] { up::qini_auc_score(y, u, t); }).find("y has 2 values, uplift 1"), std::string::npos);
  EXPECT_NE(error_of([&] { up::qini_auc_score(y, y, t1); }).find("needs treated and control rows"), std::string::npos);
  EXPECT_NE(error_of([&] { up::qini_curve(y, y, t2); }).find("treatment[1] = 2"), std::string::npos);
  const std::vector<double> bad = {1, NAN};
  EXPECT_NE(error_of([&] { up::uplift_at_k(bad, y, t, 0.3); }).find("y[1] is not finite"), std::string::npos);
  EXPECT_NE(error_of([&] { up::pehe(y, u); }).find("2 estimates for 1"), std::string::npos);
}

// The statistics helpers of OPE: numpy-compatible draws (checked against numpy 1.24 / sklearn 1.2
// outputs pasted below), quantiles and percentiles.
#include <gtest/gtest.h>

#include <numeric>

#include "disco/eval/ope_stats.h"

using namespace disco::eval::stats;

TEST(OpeStats, ChoiceMatchesNumpyRandomState) {
  // np.random.RandomState(b).choice(np.arange(10000), size=8, replace=True)
  EXPECT_EQ(NumpyRandomState(0).choice(10000, 8), (std::vector<size_t>{2732, 9845, 3264, 4859, 9225, 7891, 4373, 5874}));
  EXPECT_EQ(NumpyRandomState(29).choice(10000, 8), (std::vector<size_t>{8149, 6380, 808, 864, 9585, 920, 2771, 3425}));
}

TEST(OpeStats, ShuffleAndKFoldMatchNumpyAndSklearn) {
  std::vector<int> x(10);
  std::iota(x.begin(), x.end(), 0);
  NumpyRandomState(12345).shuffle(x);  // x = np.arange(10); RandomState(12345).shuffle(x)
  EXPECT_EQ(x, (std::vector<int>{0, 7, 3, 9, 6, 4, 1, 8, 5, 2}));
  // KFold(3, shuffle=True, random_state=12345) on 11 rows: fold of each row
  EXPECT_EQ(kfold_assignment(11, 3, 12345), (std::vector<uint32_t>{0, 2, 2, 0, 1, 2, 0, 0, 1, 1, 1}));
  const auto f = kfold_assignment(10000, 3, 12345);
  EXPECT_EQ(std::vector<uint32_t>(f.begin(), f.begin() + 12), (std::vector<uint32_t>{2, 1, 0, 2, 2, 2, 1, 2, 1, 1, 1, 1}));
  EXPECT_EQ(std::vector<uint32_t>(f.end() - 5, f.end()), (std::vector<uint32_t>{1, 0, 1, 1, 1}));
  EXPECT_EQ(std::count(f.begin(), f.end(), 0u), 3334);
  EXPECT_THROW(kfold_assignment(2, 3, 1), std::invalid_argument);
}

TEST(OpeStats, Quantiles) {
  // scipy: t(9999).ppf(0.9), t(3).ppf(0.975), norm.ppf(0.975)
  EXPECT_NEAR(student_t_quantile(0.9, 9999), 1.2816362381983142, 1e-10);
  EXPECT_NEAR(student_t_quantile(0.975, 3), 3.182446305284263, 1e-10);
  EXPECT_NEAR(student_t_quantile(0.025, 3), -3.182446305284263, 1e-10);
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(normal_quantile(0.2), -0.8416212335729143, 1e-12);
  EXPECT_NEAR(student_t_cdf(2.0, 5), 0.9490302605850709, 1e-12);  // scipy t(5).cdf(2)
}

TEST(OpeStats, PercentileInterpolatesLikeNumpy) {
  // np.percentile([1, 2, 3, 4], [0, 25, 50, 2.5, 100]) = 1, 1.75, 2.5, 1.075, 4
  const std::vector<double> x = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(percentile(x, 0), 1);
  EXPECT_DOUBLE_EQ(percentile(x, 25), 1.75);
  EXPECT_DOUBLE_EQ(percentile(x, 50), 2.5);
  EXPECT_NEAR(percentile(x, 2.5), 1.075, 1e-12);
  EXPECT_DOUBLE_EQ(percentile(x, 100), 4);
  EXPECT_DOUBLE_EQ(variance_pop({1, 2, 3, 4}), 1.25);
}

// The bandit's internal pieces on their own (runtime/src/bandit/): the tabulated normal CDF/PDF
// the LinTS quadrature uses, and the exploration floor around a stub policy.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "bandit/normal.h"
#include "bandit/policy.h"

namespace bd = disco::bandit_detail;

TEST(BanditNormal, TableWithin3e10OfLibm) {
  double wcdf = 0, wpdf = 0;
  // every node, every midpoint and an irregular grid in between
  for (int i = -8 * 64 * 7; i <= 8 * 64 * 7; ++i) {
    const double z = i / (64.0 * 7.0) + 1e-4 * std::sin(i);
    wcdf = std::max(wcdf, std::fabs(bd::table_cdf(z) - 0.5 * std::erfc(-z / std::sqrt(2.0))));
    wpdf = std::max(wpdf, std::fabs(bd::table_pdf(z) - std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI)));
  }
  EXPECT_LT(wcdf, 3e-10);
  EXPECT_LT(wpdf, 3e-10);
  // outside the table: 0 / 1 (and NaN -> 0)
  EXPECT_EQ(bd::table_cdf(-9.0), 0.0);
  EXPECT_EQ(bd::table_cdf(9.0), 1.0);
  EXPECT_EQ(bd::table_pdf(9.0), 0.0);
  EXPECT_EQ(bd::table_cdf(NAN), 0.0);
  std::printf("table cdf %.2e pdf %.2e\n", wcdf, wpdf);
}

TEST(BanditNormal, ProbIsMaxOfTwoEqualsClosedForm) {
  // P(X > Y) for independent normals = Phi((m1 - m2) / sqrt(s1^2 + s2^2)).
  const bd::Dist d[2] = {{0.3, 0.5}, {0.1, 0.2}};
  const double exact = 0.5 * std::erfc(-(0.2 / std::sqrt(0.29)) / std::sqrt(2.0));
  EXPECT_NEAR(bd::prob_is_max(d, 2, 0), exact, 1e-7);
  EXPECT_NEAR(bd::prob_is_max(d, 2, 1), 1.0 - exact, 1e-7);
  EXPECT_EQ(bd::prob_is_max(d, 1, 0), 1.0);
}

namespace {
// A stub policy: fixed probabilities (0.7, 0.2, 0.1), picks slot 2 and draws one uniform.
void stub_probabilities(const disco::BanditConfig&, const bd::Prepared& p, double* out) {
  const double v[3] = {0.7, 0.2, 0.1};
  for (uint32_t k = 0; k < p.n; ++k) out[k] = v[k];
}
double stub_probability(const disco::BanditConfig& c, const bd::Prepared& p, int k) {
  double out[3];
  stub_probabilities(c, p, out);
  return out[k];
}
int stub_draw(const disco::BanditConfig&, const bd::Prepared&, disco::Rng& rng, double* score) {
  *score = rng.uniform();
  return 2;
}
constexpr bd::Policy kStub = {stub_probabilities, stub_probability, stub_draw};
}  // namespace

TEST(BanditFloor, MixesAnyPolicyAndDrawsInTheDocumentedOrder) {
  disco::BanditConfig c;
  bd::Prepared p;
  p.n = 3;
  const bd::Floored floored{kStub, 0.3};
  double out[3];
  floored.probabilities(c, p, out);
  const double want[3] = {0.7 * 0.7 + 0.1, 0.7 * 0.2 + 0.1, 0.7 * 0.1 + 0.1};
  for (int k = 0; k < 3; ++k) {
    EXPECT_DOUBLE_EQ(out[k], want[k]);
    EXPECT_EQ(floored.probability(c, p, k), out[k]);  // one slot = the same arithmetic
  }
  EXPECT_NEAR(out[0] + out[1] + out[2], 1.0, 1e-15);
  // Draw order: floor coin u, the policy's draws, then (u < f) below(n).
  for (uint64_t id = 1; id <= 200; ++id) {
    disco::Rng rng(11, 0, id, 3), ref(11, 0, id, 3);
    double score = -1;
    bool explored = true;
    const int pick = floored.draw(c, p, rng, &score, &explored);
    const double u = ref.uniform();
    EXPECT_EQ(score, ref.uniform());
    EXPECT_EQ(explored, u < 0.3);
    EXPECT_EQ(pick, u < 0.3 ? static_cast<int>(ref.below(3)) : 2);
  }
  // a policy without a one-slot probability: answered from all of them
  const bd::Policy all_only = {stub_probabilities, nullptr, stub_draw};
  const bd::Floored floored_all{all_only, 0.3};
  for (int k = 0; k < 3; ++k) EXPECT_EQ(floored_all.probability(c, p, k), out[k]);
  // f = 0: the policy unchanged
  const bd::Floored none{kStub, 0.0};
  none.probabilities(c, p, out);
  EXPECT_EQ(out[0], 0.7);
}

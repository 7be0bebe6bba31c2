// Portable math vs libm, Philox known answers, RNG statistics and golden values.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <vector>

#include "disco/portable_math.h"
#include "disco/rng.h"

namespace pm = disco::pmath;

namespace {

double ulp_diff(double a, double b) {
  if (a == b) return 0.0;
  const double u = std::nextafter(std::fabs(b), INFINITY) - std::fabs(b);
  return std::fabs(a - b) / u;
}

// Deterministic sweep of doubles in [lo, hi].
std::vector<double> sweep(double lo, double hi, int n) {
  std::vector<double> v;
  disco::Rng r(7, 0, 0, 99);
  for (int i = 0; i < n; ++i) v.push_back(lo + (hi - lo) * r.uniform());
  v.push_back(lo);
  v.push_back(hi);
  return v;
}

}  // namespace

TEST(BanditMath, ExpWithinTwoUlp) {
  double worst = 0;
  for (double x : sweep(-708.0, 709.0, 200000)) worst = std::max(worst, ulp_diff(pm::exp(x), std::exp(x)));
  for (double x : sweep(-1.0, 1.0, 100000)) worst = std::max(worst, ulp_diff(pm::exp(x), std::exp(x)));
  EXPECT_LE(worst, 2.0);
  EXPECT_EQ(pm::exp(0.0), 1.0);
  EXPECT_EQ(pm::exp(1000.0), INFINITY);
  EXPECT_EQ(pm::exp(-1000.0), 0.0);
  EXPECT_TRUE(std::isnan(pm::exp(NAN)));
  // subnormal results stay close
  EXPECT_NEAR(pm::exp(-740.0) / std::exp(-740.0), 1.0, 1e-3);
}

TEST(BanditMath, LogWithinTwoUlp) {
  double worst = 0;
  for (double x : sweep(1e-300, 1e300, 100000)) worst = std::max(worst, ulp_diff(pm::log(x), std::log(x)));
  for (double x : sweep(0.5, 2.0, 200000)) {
    // near 1 compare absolutely relative to |log x| scale
    const double l = std::log(x);
    if (std::fabs(l) > 1e-3) worst = std::max(worst, ulp_diff(pm::log(x), l));
    else EXPECT_NEAR(pm::log(x), l, 1e-18 + 4e-16 * std::fabs(l));
  }
  for (double x : sweep(1e-310, 1e-305, 1000)) worst = std::max(worst, ulp_diff(pm::log(x), std::log(x)));
  EXPECT_LE(worst, 2.0);
  EXPECT_EQ(pm::log(1.0), 0.0);
  EXPECT_EQ(pm::log(0.0), -INFINITY);
  EXPECT_TRUE(std::isnan(pm::log(-1.0)));
}

TEST(BanditMath, SigmoidTanhDoubleAndFloat) {
  double ws = 0, wt = 0, wsf = 0, wtf = 0, wef = 0;
  for (double x : sweep(-40.0, 40.0, 200000)) {
    ws = std::max(ws, std::fabs(pm::sigmoid(x) - 1.0 / (1.0 + std::exp(-x))));
    wt = std::max(wt, std::fabs(pm::tanh(x) - std::tanh(x)));
    const float xf = static_cast<float>(x);
    wsf = std::max(wsf, std::fabs(pm::sigmoidf(xf) - 1.0 / (1.0 + std::exp(-static_cast<double>(xf)))));
    wtf = std::max(wtf, std::fabs(pm::tanhf(xf) - std::tanh(static_cast<double>(xf))));
  }
  for (double x : sweep(-87.0, 88.0, 200000)) {
    const float xf = static_cast<float>(x);
    const double ref = std::exp(static_cast<double>(xf));
    const double ulp = std::nextafter(static_cast<float>(ref), INFINITY) - static_cast<float>(ref);
    wef = std::max(wef, std::fabs(pm::expf(xf) - ref) / ulp);
  }
  EXPECT_LE(ws, 4e-16);
  EXPECT_LE(wt, 4e-16);
  EXPECT_LE(wsf, 3e-7);
  EXPECT_LE(wtf, 3e-7);
  EXPECT_LE(wef, 2.0);
  std::printf("sigmoid %.2e tanh %.2e sigmoidf %.2e tanhf %.2e expf %.2f ulp\n", ws, wt, wsf, wtf, wef);
}

TEST(BanditMath, NormalFunctions) {
  double wpdf = 0, wcdf = 0;
  for (double z : sweep(-37.0, 8.0, 200000)) {
    wpdf = std::max(wpdf, ulp_diff(pm::normal_pdf(z), std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI)));
    const double ref = 0.5 * std::erfc(-z / std::sqrt(2.0));
    if (ref > 1e-300) wcdf = std::max(wcdf, std::fabs(pm::normal_cdf(z) - ref) / ref);
  }
  EXPECT_LE(wpdf, 4.0);
  EXPECT_LE(wcdf, 1.3e-7);
  // quantile: Phi(q(p)) == p with accurate libm Phi
  double wq = 0;
  for (double p : sweep(1e-12, 1 - 1e-12, 200000)) {
    const double z = pm::normal_quantile(p);
    // compare z to the exact root via one Newton step on libm's CDF (quadratically accurate)
    const double c = 0.5 * std::erfc(-z / std::sqrt(2.0));
    const double zr = z - (c - p) / (std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI));
    wq = std::max(wq, std::fabs(z - zr) / std::max(std::fabs(zr), 1e-3));
  }
  EXPECT_LE(wq, 1.2e-9);
  EXPECT_EQ(pm::normal_quantile(0.0), -INFINITY);
  EXPECT_EQ(pm::normal_quantile(1.0), INFINITY);
  std::printf("pdf %.2f ulp, cdf rel %.2e, quantile rel %.2e\n", wpdf, wcdf, wq);
}

TEST(BanditRng, PhiloxKnownAnswers) {
  // Random123 kat_vectors for philox4x32_10.
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  } kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) {
    const disco::Philox4x32 r =
        disco::philox4x32_10({{k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3]}}, k.key[0], k.key[1]);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(r.v[i], k.out[i]) << "word " << i;
  }
}

TEST(BanditRng, ReproducibleAndKeyed) {
  disco::Rng a(42, 1, 2), b(42, 1, 2), c(42, 1, 3), d(43, 1, 2), e(42, 1, 2, 1);
  int same_c = 0, same_d = 0, same_e = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    same_c += x == c.next_u64();
    same_d += x == d.next_u64();
    same_e += x == e.next_u64();
  }
  EXPECT_EQ(same_c, 0);
  EXPECT_EQ(same_d, 0);
  EXPECT_EQ(same_e, 0);
}

TEST(BanditRng, GoldenValues) {
  // Frozen outputs: any platform (native, WASM) must print exactly these. Change only with a
  // version bump of the decision format.
  disco::Rng r(0x0123456789abcdefull, 0xfeedfacecafebeefull, 42, disco::kStreamBandit);
  const uint64_t u0 = r.next_u64(), u1 = r.next_u64();
  const double un = r.uniform(), nn = r.normal();
  std::printf("golden: %016" PRIx64 " %016" PRIx64 " %.17g %.17g\n", u0, u1, un, nn);
  EXPECT_EQ(u0, 0x3b8d5ccfbb64b68full);
  EXPECT_EQ(u1, 0x0c09c634b8d7bf16ull);
  EXPECT_EQ(un, 0.40414111878686876);
  EXPECT_EQ(nn, -0.82143074785774672);
}

TEST(BanditRng, UniformAndNormalStatistics) {
  disco::Rng r(5, 6, 7);
  const int n = 1000000;
  int bins[16] = {};
  double s = 0, s2 = 0, s3 = 0, s4 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    bins[static_cast<int>(u * 16)]++;
  }
  double chi2 = 0;
  for (int b : bins) chi2 += (b - n / 16.0) * (b - n / 16.0) / (n / 16.0);
  EXPECT_LT(chi2, 37.7);  // chi2(15) 0.999 quantile
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    s += z;
    s2 += z * z;
    s3 += z * z * z;
    s4 += z * z * z * z;
  }
  EXPECT_NEAR(s / n, 0.0, 0.005);
  EXPECT_NEAR(s2 / n, 1.0, 0.006);
  EXPECT_NEAR(s3 / n, 0.0, 0.02);
  EXPECT_NEAR(s4 / n, 3.0, 0.05);
  // below(): unbiased over a non-power-of-two range
  int cnt[6] = {};
  for (int i = 0; i < 600000; ++i) cnt[r.below(6)]++;
  for (int c : cnt) EXPECT_NEAR(c, 100000, 1500);
}

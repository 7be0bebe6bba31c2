// Portable transcendental math for every decision path (bandit, context, LSTM nonlinearities).
//
// Why: libm's exp/log/erf differ between glibc, musl, emscripten's libc and across versions in the
// last bit, and a last-bit difference can flip a Thompson-sampling argmax. Everything here is plain
// IEEE-754 arithmetic (+, -, *, /, std::sqrt, exact bit manipulation), evaluated in a fixed order.
// Compiled with -ffp-contract=off (no fused multiply-add; set PUBLIC on disco_runtime so every
// includer agrees) these functions return bit-identical results on native x86-64, aarch64 and WASM.
// std::sqrt and std::floor are correctly rounded / exact by IEEE-754, so they are allowed.
//
// Accuracy (tested in tests/bandit against libm):
//   exp, log (double):         <= 2 ulp relative on the normal range
//   sigmoid, tanh (double):    <= 4e-16 absolute
//   expf (float):              <= 2 ulp relative;  sigmoidf, tanhf: <= 3e-7 absolute
//   normal_pdf:                <= 4 ulp relative
//   erfc, normal_cdf:          <= 1.3e-7 relative (Chebyshev fit, Numerical Recipes erfcc form)
//   normal_quantile:           <= 1.2e-9 relative (Acklam's rational approximation)
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace disco::pmath {

inline constexpr double kLn2Hi = 6.93147180369123816490e-01;  // upper 32 bits of ln 2
inline constexpr double kLn2Lo = 1.90821492927058770002e-10;  // ln 2 - kLn2Hi
inline constexpr double kLog2e = 1.44269504088896338700e+00;
inline constexpr double kInvSqrt2Pi = 0.398942280401432677940;
inline constexpr double kInvSqrt2 = 0.707106781186547524401;

namespace detail {
inline double bits_to_double(uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}
inline uint64_t double_to_bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}
inline float bits_to_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
// 2^k for k in [-1022, 1023], exact.
inline double pow2i(int k) { return bits_to_double(static_cast<uint64_t>(k + 1023) << 52); }
inline float pow2if(int k) { return bits_to_float(static_cast<uint32_t>(k + 127) << 23); }
}  // namespace detail

// e^x. exp(NaN) = NaN, overflow -> +inf, underflow -> 0 (subnormals are produced, rounded twice).
inline double exp(double x) {
  if (x != x) return x;
  if (x > 709.782712893384) return std::numeric_limits<double>::infinity();
  if (x < -745.2) return 0.0;
  const double kd = std::floor(x * kLog2e + 0.5);
  const int k = static_cast<int>(kd);
  const double r = (x - kd * kLn2Hi) - kd * kLn2Lo;  // |r| <= 0.3466
  // Taylor polynomial of degree 13 in Horner form: remainder < 1.2e-17 on |r| <= ln2/2.
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  if (k > 1023) return p * detail::pow2i(1023) * detail::pow2i(k - 1023);
  if (k < -1022) return p * detail::pow2i(-1022) * detail::pow2i(k + 1022);
  return p * detail::pow2i(k);
}

// Natural logarithm. log(x<0) = NaN, log(0) = -inf, log(inf) = inf.
inline double log(double x) {
  if (x != x || x < 0.0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0.0) return -std::numeric_limits<double>::infinity();
  if (x == std::numeric_limits<double>::infinity()) return x;
  int e_adj = 0;
  if (x < 2.2250738585072014e-308) {  // subnormal: scale into the normal range exactly
    x *= 18014398509481984.0;         // 2^54
    e_adj = -54;
  }
  const uint64_t bits = detail::double_to_bits(x);
  int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023 + e_adj;
  double m = detail::bits_to_double((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
  if (m > 1.4142135623730951) {  // m in [sqrt(1/2), sqrt(2))
    m *= 0.5;
    e += 1;
  }
  const double f = (m - 1.0) / (m + 1.0);  // |f| <= 0.1716
  const double s = f * f;
  // log(m) = 2 atanh(f) = 2 (f + f^3/3 + f^5/5 + ...); 12 terms: remainder < 1e-19.
  double q = 1.0 / 23.0;
  q = q * s + 1.0 / 21.0;
  q = q * s + 1.0 / 19.0;
  q = q * s + 1.0 / 17.0;
  q = q * s + 1.0 / 15.0;
  q = q * s + 1.0 / 13.0;
  q = q * s + 1.0 / 11.0;
  q = q * s + 1.0 / 9.0;
  q = q * s + 1.0 / 7.0;
  q = q * s + 1.0 / 5.0;
  q = q * s + 1.0 / 3.0;
  const double lm = 2.0 * f + 2.0 * f * (s * q);
  const double ed = static_cast<double>(e);
  return ed * kLn2Hi + (ed * kLn2Lo + lm);
}

// log(1 + x) for x > -1 (plain log(1 + x); absolute error ~1e-16, enough for features).
inline double log1p(double x) { return log(1.0 + x); }

inline double sigmoid(double x) {
  if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
  const double e = exp(x);
  return e / (1.0 + e);
}

inline double tanh(double x) {
  const double ax = x < 0.0 ? -x : x;
  double t;
  if (ax != ax) return x;
  if (ax < 1e-5) {
    t = ax - ax * ax * ax / 3.0;
  } else if (ax > 20.0) {
    t = 1.0;
  } else {
    const double e = exp(-2.0 * ax);
    t = (1.0 - e) / (1.0 + e);
  }
  return x < 0.0 ? -t : t;
}

// Single-precision e^x in float arithmetic (for the LSTM gates).
inline float expf(float x) {
  if (x != x) return x;
  if (x > 88.72283f) return std::numeric_limits<float>::infinity();
  if (x < -103.9f) return 0.0f;
  const float kf = std::floor(x * 1.44269504f + 0.5f);
  const int k = static_cast<int>(kf);
  const float r = (x - kf * 0.693145751953125f) - kf * 1.428606765330187e-06f;
  float p = 1.0f / 40320.0f;
  p = p * r + 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  if (k > 127) return p * detail::pow2if(127) * detail::pow2if(k - 127);
  if (k < -126) return p * detail::pow2if(-126) * detail::pow2if(k + 126);
  return p * detail::pow2if(k);
}

inline float sigmoidf(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

inline float tanhf(float x) {
  const float ax = x < 0.0f ? -x : x;
  float t;
  if (ax != ax) return x;
  if (ax < 4e-3f) {
    t = ax - ax * ax * ax / 3.0f;
  } else if (ax > 10.0f) {
    t = 1.0f;
  } else {
    const float e = expf(-2.0f * ax);
    t = (1.0f - e) / (1.0f + e);
  }
  return x < 0.0f ? -t : t;
}

// Standard normal density.
inline double normal_pdf(double z) { return kInvSqrt2Pi * exp(-0.5 * z * z); }

// Complementary error function, relative error < 1.3e-7 everywhere (Chebyshev-fitted form
// t * exp(-x^2 + P(t)), t = 1 / (1 + x/2), as in Numerical Recipes' erfcc).
inline double erfc(double x) {
  if (x != x) return x;
  const double z = x < 0.0 ? -x : x;
  const double t = 1.0 / (1.0 + 0.5 * z);
  double p = 0.17087277;
  p = p * t - 0.82215223;
  p = p * t + 1.48851587;
  p = p * t - 1.13520398;
  p = p * t + 0.27886807;
  p = p * t - 0.18628806;
  p = p * t + 0.09678418;
  p = p * t + 0.37409196;
  p = p * t + 1.00002368;
  p = p * t - 1.26551223;
  const double r = t * exp(-z * z + p);
  return x >= 0.0 ? r : 2.0 - r;
}

// Standard normal CDF Phi(z) = erfc(-z / sqrt 2) / 2.
inline double normal_cdf(double z) { return 0.5 * erfc(-z * kInvSqrt2); }

// Inverse of Phi for p in (0, 1) (Acklam's algorithm); p <= 0 -> -inf, p >= 1 -> +inf.
inline double normal_quantile(double p) {
  if (p != p) return p;
  if (p <= 0.0) return -std::numeric_limits<double>::infinity();
  if (p >= 1.0) return std::numeric_limits<double>::infinity();
  constexpr double a0 = -3.969683028665376e+01, a1 = 2.209460984245205e+02,
                   a2 = -2.759285104469687e+02, a3 = 1.383577518672690e+02,
                   a4 = -3.066479806614716e+01, a5 = 2.506628277459239e+00;
  constexpr double b0 = -5.447609879822406e+01, b1 = 1.615858368580409e+02,
                   b2 = -1.556989798598866e+02, b3 = 6.680131188771972e+01,
                   b4 = -1.328068155288572e+01;
  constexpr double c0 = -7.784894002430293e-03, c1 = -3.223964580411365e-01,
                   c2 = -2.400758277161838e+00, c3 = -2.549732539343734e+00,
                   c4 = 4.374664141464968e+00, c5 = 2.938163982698783e+00;
  constexpr double d0 = 7.784695709041462e-03, d1 = 3.224671290700398e-01,
                   d2 = 2.445134137142996e+00, d3 = 3.754408661907416e+00;
  constexpr double plow = 0.02425;
  if (p < plow) {
    const double q = std::sqrt(-2.0 * log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
           ((((d0 * q + d1) * q + d2) * q + d3) * q + 1.0);
  }
  if (p > 1.0 - plow) {
    const double q = std::sqrt(-2.0 * log(1.0 - p));
    return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
           ((((d0 * q + d1) * q + d2) * q + d3) * q + 1.0);
  }
  const double q = p - 0.5;
  const double r = q * q;
  return (((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q /
         (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1.0);
}

}  // namespace disco::pmath

#include "disco/eval/ope_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace disco::eval::stats {

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) {
    if (p == 0) return -INFINITY;
    if (p == 1) return INFINITY;
    return NAN;
  }
  // Acklam's rational approximation, then one Newton step on the exact CDF.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double pl = 0.02425;
  double x;
  if (p < pl) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - pl) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  for (int it = 0; it < 2; ++it) {  // Newton on Phi(x) - p
    const double e = normal_cdf(x) - p;
    const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
    x = x - u / (1 + x * u / 2);  // Halley's step
  }
  return x;
}

namespace {

// Continued fraction of the regularized incomplete beta (modified Lentz).
double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-16;
  double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::abs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1) < eps) break;
  }
  return h;
}

// I_x(a, b).
double inc_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double lbt = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double bt = std::exp(lbt);
  if (x < (a + 1) / (a + b + 2)) return bt * beta_cf(a, b, x) / a;
  return 1 - bt * beta_cf(b, a, 1 - x) / b;
}

}  // namespace

double student_t_cdf(double t, double df) {
  if (!(df > 0)) throw std::invalid_argument("student_t_cdf: df must be > 0");
  if (std::isinf(t)) return t > 0 ? 1 : 0;
  const double x = df / (df + t * t);
  const double tail = 0.5 * inc_beta(df / 2, 0.5, x);
  return t > 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double df) {
  if (!(df > 0)) throw std::invalid_argument("student_t_quantile: df must be > 0");
  if (!(p > 0 && p < 1)) return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
  if (p == 0.5) return 0;
  if (p < 0.5) return -student_t_quantile(1 - p, df);
  double lo = 0, hi = std::max(1.0, normal_quantile(p));
  while (student_t_cdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return INFINITY;
  }
  for (int it = 0; it < 400 && hi - lo > 1e-13 * std::max(1.0, hi); ++it) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double percentile(std::vector<double> x, double q) {
  if (x.empty()) return NAN;
  std::sort(x.begin(), x.end());
  const double pos = q / 100.0 * static_cast<double>(x.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  if (i + 1 >= x.size()) return x.back();
  const double f = pos - static_cast<double>(i);
  return x[i] + (x[i + 1] - x[i]) * f;
}

double mean(const std::vector<double>& x) {
  if (x.empty()) return NAN;
  return std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
}

double variance_pop(const std::vector<double>& x) {
  if (x.empty()) return NAN;
  const double m = mean(x);
  double s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return s / static_cast<double>(x.size());
}

uint64_t NumpyRandomState::interval(uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  if (max <= 0xffffffffULL) {
    uint64_t v;
    while ((v = (static_cast<uint64_t>(mt_()) & mask)) > max) {
    }
    return v;
  }
  uint64_t v;
  do {  // numpy's next_uint64 on MT19937: two 32-bit outputs, high word first
    const uint64_t hi = mt_(), lo = mt_();
    v = ((hi << 32) | lo) & mask;
  } while (v > max);
  return v;
}

std::vector<size_t> NumpyRandomState::choice(size_t n_pop, size_t n) {
  if (n_pop == 0) throw std::invalid_argument("choice: empty population");
  std::vector<size_t> out(n);
  for (auto& v : out) v = static_cast<size_t>(interval(n_pop - 1));
  return out;
}

std::vector<uint32_t> kfold_assignment(size_t n, uint32_t k, uint32_t seed) {
  if (k < 2 || k > n) throw std::invalid_argument("kfold_assignment: need 2 <= folds <= rows");
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  NumpyRandomState rs(seed);
  rs.shuffle(idx);
  std::vector<uint32_t> fold(n);
  size_t at = 0;
  for (uint32_t f = 0; f < k; ++f) {
    const size_t size = n / k + (f < n % k ? 1 : 0);
    for (size_t j = 0; j < size; ++j) fold[idx[at++]] = f;
  }
  return fold;
}

}  // namespace disco::eval::stats

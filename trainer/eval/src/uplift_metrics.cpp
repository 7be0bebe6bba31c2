// Uplift metrics after scikit-uplift's definitions (sklift.metrics): Qini curve, perfect Qini
// curve, normalized Qini AUC, uplift@k ("overall"), plus PEHE.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "disco/eval/uplift.h"

namespace disco::eval::uplift {

namespace {

void check_lengths(const char* fn, size_t ny, size_t nu, size_t nt) {
  if (ny != nu || ny != nt)
    throw UpliftError(std::string(fn) + ": y has " + std::to_string(ny) + " values, uplift " + std::to_string(nu) +
                      ", treatment " + std::to_string(nt));
  if (ny == 0) throw UpliftError(std::string(fn) + ": no rows");
}

void check_values(const char* fn, std::span<const double> y, std::span<const double> uplift,
                  std::span<const uint8_t> t) {
  size_t n1 = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (t[i] > 1)
      throw UpliftError(std::string(fn) + ": treatment[" + std::to_string(i) + "] = " + std::to_string(t[i]) +
                        " (expected 0 or 1)");
    if (!std::isfinite(y[i])) throw UpliftError(std::string(fn) + ": y[" + std::to_string(i) + "] is not finite");
    if (!uplift.empty() && !std::isfinite(uplift[i]))
      throw UpliftError(std::string(fn) + ": uplift[" + std::to_string(i) + "] is not finite");
    n1 += t[i];
  }
  if (n1 == 0 || n1 == y.size())
    throw UpliftError(std::string(fn) + ": needs treated and control rows (treated " + std::to_string(n1) + " of " +
                      std::to_string(y.size()) + ")");
}

// numpy's argsort(uplift, kind="mergesort")[::-1]: descending, equal scores in reverse row order.
std::vector<size_t> descending_order(std::span<const double> uplift) {
  std::vector<size_t> o(uplift.size());
  std::iota(o.begin(), o.end(), size_t{0});
  std::stable_sort(o.begin(), o.end(), [&](size_t a, size_t b) { return uplift[a] < uplift[b]; });
  std::reverse(o.begin(), o.end());
  return o;
}

Curve qini_from_order(std::span<const double> y, std::span<const double> score, std::span<const uint8_t> t) {
  const std::vector<size_t> o = descending_order(score);
  Curve c;
  c.x.push_back(0);
  c.y.push_back(0);
  double nt = 0, yt = 0, yc = 0;
  for (size_t k = 0; k < o.size(); ++k) {
    const size_t i = o[k];
    if (t[i]) {
      nt += 1;
      yt += y[i];
    } else {
      yc += y[i];
    }
    // a point at the last row of each run of equal scores
    if (k + 1 < o.size() && score[o[k + 1]] == score[i]) continue;
    const double n = static_cast<double>(k + 1), nc = n - nt;
    c.x.push_back(n);
    c.y.push_back(yt - (nc > 0 ? yc * nt / nc : 0.0));
  }
  return c;
}

}  // namespace

Curve qini_curve(std::span<const double> y, std::span<const double> uplift, std::span<const uint8_t> treatment) {
  check_lengths("qini_curve", y.size(), uplift.size(), treatment.size());
  check_values("qini_curve", y, uplift, treatment);
  return qini_from_order(y, uplift, treatment);
}

Curve perfect_qini_curve(std::span<const double> y, std::span<const uint8_t> treatment, bool negative_effect) {
  check_lengths("perfect_qini_curve", y.size(), y.size(), treatment.size());
  check_values("perfect_qini_curve", y, {}, treatment);
  if (negative_effect) {
    std::vector<double> score(y.size());
    for (size_t i = 0; i < y.size(); ++i) score[i] = treatment[i] ? y[i] : -y[i];
    return qini_from_order(y, score, treatment);
  }
  double yt = 0, yc = 0, nt = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (treatment[i]) {
      yt += y[i];
      nt += 1;
    } else {
      yc += y[i];
    }
  }
  const double nc = static_cast<double>(y.size()) - nt;
  const double q = yt - nt * yc / nc;
  return Curve{{0.0, q, static_cast<double>(y.size())}, {0.0, q, q}};
}

double area(const Curve& c) {
  double a = 0;
  for (size_t i = 1; i < c.x.size(); ++i) a += (c.x[i] - c.x[i - 1]) * (c.y[i] + c.y[i - 1]) / 2.0;
  return a;
}

double qini_auc_score(std::span<const double> y, std::span<const double> uplift, std::span<const uint8_t> treatment,
                      bool negative_effect) {
  check_lengths("qini_auc_score", y.size(), uplift.size(), treatment.size());
  const Curve actual = qini_curve(y, uplift, treatment);
  const Curve perfect = perfect_qini_curve(y, treatment, negative_effect);
  const double baseline = perfect.x.back() * perfect.y.back() / 2.0;  // (0,0) -> the perfect curve's end
  const double p = area(perfect) - baseline;
  if (!(std::abs(p) > 0)) return NAN;
  return (area(actual) - baseline) / p;
}

double uplift_at_k(std::span<const double> y, std::span<const double> uplift, std::span<const uint8_t> treatment,
                   double k) {
  check_lengths("uplift_at_k", y.size(), uplift.size(), treatment.size());
  check_values("uplift_at_k", y, uplift, treatment);
  if (!(k > 0 && k < 1)) throw UpliftError("uplift_at_k: k = " + std::to_string(k) + " (expected a share in (0, 1))");
  const std::vector<size_t> o = descending_order(uplift);
  const size_t top = static_cast<size_t>(static_cast<double>(y.size()) * k);  // int(n * k)
  double st = 0, sc = 0, nt = 0, nc = 0;
  for (size_t r = 0; r < top; ++r) {
    const size_t i = o[r];
    if (treatment[i]) st += y[i], nt += 1;
    else sc += y[i], nc += 1;
  }
  if (nt == 0 || nc == 0) return NAN;
  return st / nt - sc / nc;
}

Curve thin(const Curve& c, size_t max_points) {
  if (c.x.size() <= max_points || max_points < 2) return c;
  Curve o;
  const double x0 = c.x.front(), x1 = c.x.back();
  size_t j = 0;
  for (size_t k = 0; k < max_points; ++k) {
    const double target = x0 + (x1 - x0) * static_cast<double>(k) / static_cast<double>(max_points - 1);
    while (j + 1 < c.x.size() && c.x[j + 1] <= target) ++j;
    if (!o.x.empty() && o.x.back() == c.x[j]) continue;
    o.x.push_back(c.x[j]);
    o.y.push_back(c.y[j]);
  }
  if (o.x.back() != c.x.back()) {
    o.x.push_back(c.x.back());
    o.y.push_back(c.y.back());
  }
  return o;
}

double pehe(std::span<const double> estimate, std::span<const double> truth) {
  if (estimate.size() != truth.size())
    throw UpliftError("pehe: " + std::to_string(estimate.size()) + " estimates for " + std::to_string(truth.size()) +
                      " true effects");
  if (truth.empty()) throw UpliftError("pehe: no rows");
  double s = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    const double e = estimate[i] - truth[i];
    s += e * e;
  }
  return std::sqrt(s / static_cast<double>(truth.size()));
}

}  // namespace disco::eval::uplift

// Normal tables and the LinTS propensity quadrature (normal.h). Moved unchanged out of
// bandit.cpp: every operation and its order are the same, so propensities stay bit-identical.
#include "normal.h"

#include <algorithm>

#include "disco/bandit.h"
#include "disco/portable_math.h"

namespace disco::bandit_detail {
namespace {

// ---- standard normal CDF / PDF for the quadrature: tabulated + cubic Hermite ----------------
// The table (z in [-8.5, 8.5], step 1/64) is computed once from accurate series / continued
// fractions in portable arithmetic (absolute error < 1e-15), so it is identical everywhere.
// Interpolation error: < 3e-10 absolute for both CDF and PDF (tested).
constexpr double kTabZ = 8.5;
constexpr int kTabPerUnit = 64;
constexpr double kTabH = 1.0 / kTabPerUnit;
constexpr int kTabN = static_cast<int>(2 * kTabZ * kTabPerUnit) + 1;

// Phi(-x) for x >= 0, accurate to ~1e-16 absolute.
double lower_tail(double x) {
  const double pdf = pmath::normal_pdf(x);
  if (x <= 3.0) {
    // Phi(x) - 1/2 = phi(x) * sum_k x^(2k+1) / (1*3*...*(2k+1))  (all terms positive)
    double term = x, sum = x;
    for (int k = 1; k < 400; ++k) {
      term *= x * x / (2.0 * k + 1.0);
      sum += term;
      if (term < 1e-18 * sum) break;
    }
    return 0.5 - pdf * sum;
  }
  // Laplace's continued fraction for the Mills ratio, evaluated backwards from depth 200.
  double t = x;
  for (int k = 200; k >= 1; --k) t = x + static_cast<double>(k) / t;
  return pdf / t;
}

struct NormalTable {
  double cdf[kTabN];
  double pdf[kTabN];
};

const NormalTable& normal_table() {
  static const NormalTable table = [] {
    NormalTable t{};
    for (int i = 0; i < kTabN; ++i) {
      const double z = -kTabZ + i * kTabH;  // exact: kTabH is a power of two
      t.cdf[i] = z <= 0.0 ? lower_tail(-z) : 1.0 - lower_tail(z);
      t.pdf[i] = pmath::normal_pdf(z);
    }
    return t;
  }();
  return table;
}

struct Cell {
  int i;
  double t;
};
inline Cell cell_of(double z) {
  const double u = (z + kTabZ) * kTabPerUnit;
  int i = static_cast<int>(u);
  if (i > kTabN - 2) i = kTabN - 2;
  return Cell{i, u - i};
}

inline double tab_cdf(const NormalTable& T, double z) {
  if (!(z > -kTabZ)) return 0.0;
  if (!(z < kTabZ)) return 1.0;
  const Cell c = cell_of(z);
  const double t = c.t, t2 = t * t, t3 = t2 * t;
  const double h00 = 2.0 * t3 - 3.0 * t2 + 1.0, h10 = t3 - 2.0 * t2 + t;
  const double h01 = -2.0 * t3 + 3.0 * t2, h11 = t3 - t2;
  return h00 * T.cdf[c.i] + h10 * kTabH * T.pdf[c.i] + h01 * T.cdf[c.i + 1] +
         h11 * kTabH * T.pdf[c.i + 1];
}

inline double tab_pdf(const NormalTable& T, double z) {
  if (!(z > -kTabZ) || !(z < kTabZ)) return 0.0;
  const Cell c = cell_of(z);
  const double t = c.t, t2 = t * t, t3 = t2 * t;
  const double h00 = 2.0 * t3 - 3.0 * t2 + 1.0, h10 = t3 - 2.0 * t2 + t;
  const double h01 = -2.0 * t3 + 3.0 * t2, h11 = t3 - t2;
  const double z0 = -kTabZ + c.i * kTabH, z1 = z0 + kTabH;
  return h00 * T.pdf[c.i] + h10 * kTabH * (-z0 * T.pdf[c.i]) + h01 * T.pdf[c.i + 1] +
         h11 * kTabH * (-z1 * T.pdf[c.i + 1]);
}

// ---- Thompson-sampling propensity by quadrature ---------------------------------------------
// P(arm a has the max) = int phi(z) prod_{b != a} Phi(alpha_b z + beta_b) dz, in arm a's own
// standardized variable z = (s - m_a) / s_a, with alpha_b = s_a / s_b, beta_b = (m_a - m_b) / s_b.
// Range: z in [max(-7, zL), 7] where zL = (max_b (m_b - 8 s_b) - m_a) / s_a (below it some arm's
// CDF is < 7e-16); the mass outside |z| <= 7 is < 1.3e-12. Breakpoints: the fixed grid kGridZ,
// plus, for every other arm b narrower than a (s_b < 0.75 s_a: its CDF is a steep step in z), the
// points (m_b + s_b t - m_a) / s_a for t in kSharpT, so each step is resolved at its own scale.
// 4-point Gauss-Legendre on each sub-interval. Deterministic: fixed nodes, fixed order (sorted
// breakpoints, arms in index order). Accuracy: |error| < 1e-7 (tested against brute-force
// integration with libm on random posteriors, including 1000:1 width ratios).
constexpr double kGridZ[] = {-7.0, -5.0, -3.5, -2.5, -1.5, -0.75, 0.0, 0.75, 1.5, 2.5, 3.5, 5.0, 7.0};
constexpr int kGridN = sizeof(kGridZ) / sizeof(kGridZ[0]);
constexpr double kSharpT[] = {-6.0, -3.5, -2.0, -1.0, 0.0, 1.0, 2.0, 3.5, 6.0};
constexpr double kSharpRatio = 0.75;  // arms with s_b < kSharpRatio * s_a get their own points
constexpr int kSharpN = sizeof(kSharpT) / sizeof(kSharpT[0]);
constexpr double kGLx[4] = {-0.86113631159405257522, -0.33998104358485626480,
                            0.33998104358485626480, 0.86113631159405257522};
constexpr double kGLw[4] = {0.34785484513745385737, 0.65214515486254614263,
                            0.65214515486254614263, 0.34785484513745385737};

}  // namespace

double table_cdf(double z) { return tab_cdf(normal_table(), z); }
double table_pdf(double z) { return tab_pdf(normal_table(), z); }

double prob_is_max(const Dist* d, int n, int a) {
  if (n == 1) return 1.0;
  const NormalTable& T = normal_table();
  const double ma = d[a].m, sa = d[a].s, inv_sa = 1.0 / sa;
  double L = -1e308;
  double alpha[kMaxArms], beta[kMaxArms];
  int others[kMaxArms], no = 0;
  for (int j = 0; j < n; ++j) {
    L = std::max(L, d[j].m - 8.0 * d[j].s);
    if (j == a) continue;
    alpha[no] = sa / d[j].s;
    beta[no] = (ma - d[j].m) / d[j].s;
    others[no++] = j;
  }
  const double lo = std::max(-7.0, (L - ma) * inv_sa);
  const double hi = 7.0;
  if (!(lo < hi)) return 0.0;
  // Arms whose tabulated CDF is exactly 1 on the whole range drop out of the product, and one
  // whose CDF is exactly 0 on it makes the probability 0: both exact, so results do not change.
  int kept = 0;
  for (int o = 0; o < no; ++o) {
    if (alpha[o] * hi + beta[o] <= -kTabZ) return 0.0;
    if (alpha[o] * lo + beta[o] >= kTabZ) continue;
    alpha[kept] = alpha[o];
    beta[kept] = beta[o];
    others[kept++] = others[o];
  }
  no = kept;
  double pts[kGridN + kMaxArms * kSharpN + 2];
  int np = 0;
  pts[np++] = lo;
  pts[np++] = hi;
  for (int k = 0; k < kGridN; ++k)
    if (kGridZ[k] > lo && kGridZ[k] < hi) pts[np++] = kGridZ[k];
  for (int o = 0; o < no; ++o) {
    const Dist& b = d[others[o]];
    if (!(b.s < kSharpRatio * sa)) continue;
    for (int k = 0; k < kSharpN; ++k) {
      const double z = (b.m + b.s * kSharpT[k] - ma) * inv_sa;
      if (z > lo && z < hi) pts[np++] = z;
    }
  }
  // heap sort: the same ascending order as std::sort (equal values are equal or +-0, which give the same
  // sums below) in less wasm code (std::sort's introsort is 1.4 KB per element type)
  std::make_heap(pts, pts + np);
  std::sort_heap(pts, pts + np);
  double total = 0.0;
  for (int k = 0; k + 1 < np; ++k) {
    const double half = 0.5 * (pts[k + 1] - pts[k]);
    if (!(half > 0.0)) continue;
    const double mid = 0.5 * (pts[k + 1] + pts[k]);
    double part = 0.0;
    for (int g = 0; g < 4; ++g) {
      const double z = mid + half * kGLx[g];
      double v = tab_pdf(T, z);
      for (int o = 0; o < no && v != 0.0; ++o) v *= tab_cdf(T, alpha[o] * z + beta[o]);
      part += kGLw[g] * v;
    }
    total += half * part;
  }
  return total;
}

}  // namespace disco::bandit_detail

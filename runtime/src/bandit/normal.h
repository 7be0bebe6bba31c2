// Standard normal CDF / PDF from a table with cubic Hermite interpolation, and the quadrature of
// P(one of n independent normals is the largest): the arithmetic of LinTS propensities
// (lints.cpp). Internal to the runtime (not installed); deterministic, portable arithmetic only.
#pragma once

namespace disco::bandit_detail {

// A normal N(m, s^2) (a posterior score of one arm).
struct Dist {
  double m, s;
};

// P(d[a] is the largest of the n independent normals d[0..n)), by deterministic quadrature
// (normal.cpp): |error| < 1e-7. n <= kMaxArms, every s > 0.
double prob_is_max(const Dist* d, int n, int a);

// The tabulated standard normal CDF and PDF the quadrature uses (z in [-8.5, 8.5], step 1/64,
// cubic Hermite between nodes; 0 / 1 outside): absolute error < 3e-10 against the exact values.
double table_cdf(double z);
double table_pdf(double z);

}  // namespace disco::bandit_detail

// Small statistics helpers shared by the off-policy evaluation, the A/B analysis and the gate:
// normal and Student-t quantiles, percentiles, and a random source whose draws are numpy's.
//
// NumpyRandomState reproduces numpy's legacy `RandomState(seed)` for the two draws OPE needs:
// `randint(0, n)` / `choice(n, size, replace=True)` and `shuffle` (MT19937 seeded by init_genrand,
// masked rejection sampling on 32-bit outputs). sklearn's `KFold(shuffle=True, random_state=s)`
// and the Open Bandit Pipeline's `sample_bootstrap_bandit_feedback(random_state=b)` draw through
// it, so the same seeds give the same folds and bootstrap rows here as there (checked against
// numpy 1.24). It is also a portable, seeded source for every other resample in disco-eval
// (std::uniform_int_distribution is implementation-defined).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace disco::eval::stats {

// Inverse of the standard normal CDF (|error| < 1e-15 after one Newton step), p in (0, 1).
double normal_quantile(double p);
double normal_cdf(double x);
// Student-t CDF and quantile with `df` > 0 degrees of freedom (regularized incomplete beta;
// quantile by bisection to 1e-13).
double student_t_cdf(double t, double df);
double student_t_quantile(double p, double df);

// numpy.percentile(x, q) with the default linear interpolation; q in [0, 100]. Sorts a copy.
double percentile(std::vector<double> x, double q);

// Mean and the population variance (ddof = 0) of x.
double mean(const std::vector<double>& x);
double variance_pop(const std::vector<double>& x);

class NumpyRandomState {
 public:
  explicit NumpyRandomState(uint32_t seed) : mt_(seed) {}
  // Uniform integer in [0, max] (numpy's random_interval / randint(0, max + 1)).
  uint64_t interval(uint64_t max);
  // n draws of randint(0, n_pop): RandomState.choice(n_pop, size=n, replace=True).
  std::vector<size_t> choice(size_t n_pop, size_t n);
  // RandomState.shuffle of a 1-d array, in place.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i-- > 1;) {
      const size_t j = static_cast<size_t>(interval(i));
      std::swap(v[i], v[j]);
    }
  }

 private:
  std::mt19937 mt_;
};

// sklearn KFold(n_splits=k, shuffle=True, random_state=seed) on n rows: the fold (0..k-1) of each
// row. The first n % k folds have one extra row. k must be in [2, n].
std::vector<uint32_t> kfold_assignment(size_t n, uint32_t k, uint32_t seed);

}  // namespace disco::eval::stats

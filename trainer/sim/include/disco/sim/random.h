// Counter-based randomness: every random number is a pure function of (seed, stream, ids...), so
// results do not depend on the order in which things are simulated, and two policies facing the
// same shopper visit see the same uniform draw (common random numbers). No std:: distributions
// (their output is implementation-defined).
#pragma once

#include <cmath>
#include <cstdint>

namespace disco::sim {

// SplitMix64's finalizer (a bijective 64-bit mixer with full avalanche).
inline constexpr uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline constexpr uint64_t hash_combine(uint64_t h, uint64_t v) {
  return mix64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

inline constexpr uint64_t hash_key(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b = 0,
                                   uint64_t c = 0) {
  return hash_combine(hash_combine(hash_combine(hash_combine(mix64(seed), stream), a), b), c);
}

// 53 random bits -> [0, 1).
inline constexpr double to_unit(uint64_t x) { return double(x >> 11) * 0x1.0p-53; }

// Named streams, so draws for different purposes never collide.
enum Stream : uint64_t {
  kStreamCatalog = 1,
  kStreamShopper = 2,
  kStreamSession = 3,
  kStreamOutcome = 4,     // the purchase draw of an offer (common random numbers)
  kStreamQuantity = 5,
  kStreamPolicy = 6,      // the logging policy's arm choice
  kStreamDecisionId = 7,
  kStreamDirty = 8,
  kStreamRemove = 9,      // whether an abandoned cart gets a remove event
  kStreamCalibration = 10, // calibration experiments' assignments (calibration.h)
  kStreamCartPolicy = 11,  // disco-sim's uniform cart policy (cart.h)
};

// A small sequential generator (SplitMix64) for building the catalog, the shoppers and sessions;
// each shopper/session gets its own instance keyed by its ids.
class Rng {
 public:
  explicit Rng(uint64_t seed, uint64_t stream = 0, uint64_t id = 0)
      : state_(hash_key(seed, stream, id)) {}
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }
  double uniform() { return to_unit(next()); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0 (multiply-shift, negligible bias for small n).
  uint32_t below(uint32_t n) { return uint32_t((next() >> 32) * uint64_t(n) >> 32); }
  bool bernoulli(double p) { return uniform() < p; }
  double normal() {  // Box-Muller, one value per call
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double lognormal(double mu, double sigma) { return std::exp(mu + sigma * normal()); }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
  // Gamma(shape, 1): Marsaglia-Tsang, with the boost for shape < 1.
  double gamma(double shape) {
    if (shape < 1.0) {
      double u = uniform();
      if (u < 1e-300) u = 1e-300;
      return gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = normal(), v = 1.0 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      double u = uniform();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
      if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
    }
  }
  // Poisson(mean): inversion by sequential search (fine for the small means used here).
  uint32_t poisson(double mean) {
    if (mean <= 0) return 0;
    if (mean > 50) {  // normal approximation for large means
      double x = std::round(mean + std::sqrt(mean) * normal());
      return x < 0 ? 0u : uint32_t(x);
    }
    double p = std::exp(-mean), s = p, u = uniform();
    uint32_t k = 0;
    while (u > s && k < 1000) {
      ++k;
      p *= mean / k;
      s += p;
    }
    return k;
  }

 private:
  uint64_t state_;
};

}  // namespace disco::sim

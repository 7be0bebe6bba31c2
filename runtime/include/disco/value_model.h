// The long-term part of the discount policy: how much choosing an arm now is worth through the
// shopper's later offers (habituation, what the shopper's response teaches the policy), fitted
// offline by the trainer (trainer/policy, fitted-Q iteration) and shipped in the bundle
// (schemas/bundle.fbs, table ValueModel).
//
//   continuation_a(x) = w_a . phi(x)   (currency units)
//   phi(x) = [x_0 .. x_{d-1}, x_i * x_j for each (i, j) in pairs]
//
// The bandit's scores are on the immediate reward's scale (margin / price, bandit.h), so the
// runtime adds offset_a = weight * clamp(continuation_a(x) / price, -max_abs, max_abs) to arm a's
// posterior mean before choosing (LinTS, LinUCB, epsilon-greedy alike): the policy maximizes the
// immediate reward plus the discounted value of the shopper's next state, and its logged
// propensities stay exact (the offsets only shift each arm's mean). Plain double arithmetic in a
// fixed order: the same offsets natively and in WASM.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/vector.hpp>

namespace disco {

inline constexpr uint32_t kMaxValueFeatures = 256;

struct ValueModel {
  uint32_t n_arms = 0;
  uint32_t dim = 0;               // context features used (the first dim of the context)
  std::vector<uint16_t> pairs;    // 2 per product feature
  std::vector<double> w;          // n_arms * n_features(), arm-major
  double weight = 1.0;
  double max_abs = 4.0;
  double gamma_per_day = 0.0;     // informative

  uint32_t n_features() const { return dim + uint32_t(pairs.size() / 2); }
  bool active() const { return n_arms > 0 && weight != 0.0; }

  // Validates and installs; "" on success, else a message naming the field. An empty weight list
  // leaves the model inactive (the myopic bandit).
  std::string configure(uint32_t n_arms, uint32_t dim, uint32_t context_dim, std::vector<uint16_t> pairs,
                        std::vector<double> weights, double weight, double max_abs, double gamma_per_day);

  // phi(x) into out (n_features() entries). x has at least dim floats.
  void features(const float* x, double* out) const;
  // continuation_a(x), currency units, for every arm (n_arms entries).
  void continuation(const float* x, double* out) const;
  // Score offsets on the bandit's scale for every arm (n_arms entries); all zero when inactive or
  // price <= 0 / not finite.
  void offsets(const float* x, double price, double* out) const;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(n_arms, dim, pairs, w, weight, max_abs, gamma_per_day);
  }
};

}  // namespace disco

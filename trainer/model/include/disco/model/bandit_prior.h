// The bandit's warm-start prior for `disco-train export/train --bandit-prior FILE`: per-arm ridge
// statistics in the JSON shape of the collector's GET /v1/bandit-state and of the loop's
// bandit_prior.json:
//
//   {"arms": [{"arm": 0, "dim": 12, "A": [dim*dim numbers, row-major], "b": [dim numbers], "n": N}, ...]}
//
// (other members, e.g. reward_sum or the loop's counts, are ignored). The statistics go into the
// bundle's BanditPrior (prior_a / prior_b / prior_n, flattened in arm order) with the context
// feature version they were fitted on (disco::kContextVersion). No LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace disco::model {

struct BanditPriorArm {
  std::vector<double> A;  // dim*dim, row-major, symmetric
  std::vector<double> b;  // dim
  double n = 0;           // (weighted) number of decisions
};

struct BanditPrior {
  std::vector<BanditPriorArm> arms;  // index = arm
  uint32_t dim = 0;
};

// Parses and validates: one entry per arm 0..n_arms-1 (each exactly once), dim == expected_dim,
// A of dim*dim and b of dim finite numbers (finite also as 32-bit floats, the bundle's type), A
// symmetric, n finite and >= 0. Throws TrainError naming `source` (the file) and the problem
// (with the line for malformed JSON).
BanditPrior parse_bandit_prior(std::string_view json, const std::string& source, uint32_t n_arms, uint32_t expected_dim);
BanditPrior read_bandit_prior(const std::string& path, uint32_t n_arms, uint32_t expected_dim);

}  // namespace disco::model

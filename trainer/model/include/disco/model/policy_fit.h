// Reads `disco-train policy`'s output (trainer/policy/include/disco/policy/fit.h, to_json) for
// `disco-train export --policy-fit FILE`: the bandit's warm start ("arms", as --bandit-prior), its
// noise scale ("noise_scale") and the long-term value model ("value_model"), validated against the
// bundle's arms and context length. No LibTorch.
#pragma once
#include <string>

#include "disco/bundle_writer.h"
#include "disco/model/bandit_prior.h"

namespace disco::model {

struct PolicyFitFile {
  BanditPrior prior;
  double noise_scale = 0;          // 0 = absent
  double choice_pessimism = 0;     // "choice_pessimism"; 0 = absent (plain Thompson sampling)
  ValueModelSpec value_model;      // empty weights = none
};

// Throws TrainError naming the file and the problem (JSON path of the bad member).
PolicyFitFile read_policy_fit(const std::string& path, uint32_t n_arms, uint32_t dim);

}  // namespace disco::model

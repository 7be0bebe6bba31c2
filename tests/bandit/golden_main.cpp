// Prints the decision-code digests (golden_digest.h). Built natively by the tests and with em++
// for the cross-platform check: both must print the same lines.
//   tests/bandit/wasm_golden.sh does it: em++ -O2 -ffp-contract=off -DEIGEN_DONT_VECTORIZE ... && node
#include <cinttypes>
#include <cstdio>

#include "golden_digest.h"

int main() {
  std::printf("math %016" PRIx64 "\n", disco_golden::math_digest());
  std::printf("rng %016" PRIx64 "\n", disco_golden::rng_digest());
  std::printf("context %016" PRIx64 "\n", disco_golden::context_digest());
  std::printf("lints %016" PRIx64 "\n", disco_golden::bandit_digest(disco::BanditAlgorithm::LinTS));
  std::printf("linucb %016" PRIx64 "\n", disco_golden::bandit_digest(disco::BanditAlgorithm::LinUCB));
  std::printf("epsgreedy %016" PRIx64 "\n", disco_golden::bandit_digest(disco::BanditAlgorithm::EpsGreedy));
  std::printf("guardrails %016" PRIx64 "\n", disco_golden::guardrails_digest());
  return 0;
}

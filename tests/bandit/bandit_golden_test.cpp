// Frozen digests of the decision code (golden_digest.h). The same values are expected from the
// WASM build (tests/bandit/wasm_golden.sh, CTest BanditWasmGolden when em++ is available).
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "golden_digest.h"

namespace {
std::map<std::string, uint64_t> expected() {
  std::map<std::string, uint64_t> m;
  std::ifstream in(std::string(DISCO_SOURCE_DIR) + "/tests/bandit/golden_expected.txt");
  std::string name, hex;
  while (in >> name >> hex) m[name] = std::stoull(hex, nullptr, 16);
  return m;
}
}  // namespace

TEST(BanditGolden, DecisionDigestsAreFrozen) {
  const auto e = expected();
  ASSERT_EQ(e.size(), 7u) << "tests/bandit/golden_expected.txt missing or incomplete";
  EXPECT_EQ(disco_golden::math_digest(), e.at("math"));
  EXPECT_EQ(disco_golden::rng_digest(), e.at("rng"));
  EXPECT_EQ(disco_golden::context_digest(), e.at("context"));
  EXPECT_EQ(disco_golden::bandit_digest(disco::BanditAlgorithm::LinTS), e.at("lints"));
  EXPECT_EQ(disco_golden::bandit_digest(disco::BanditAlgorithm::LinUCB), e.at("linucb"));
  EXPECT_EQ(disco_golden::bandit_digest(disco::BanditAlgorithm::EpsGreedy), e.at("epsgreedy"));
  EXPECT_EQ(disco_golden::guardrails_digest(), e.at("guardrails"));
}

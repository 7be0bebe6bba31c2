// Writes a synthetic bundle with a long-term value model (pairs + weights of both signs) for the
// native-vs-WASM decision digest (decisions_digest_check.sh): the offsets must be bit-identical.
// With --budget, also a budget that binds within the digest's workload (10-minute periods) priced
// by the dual price (guardrails.h, Dual): the price's arithmetic must be bit-identical too.
#include <cstdio>
#include <string>
#include <vector>

#include "disco/bundle_writer.h"
#include "disco/context.h"

int main(int argc, char** argv) {
  const bool budget = argc == 3 && std::string(argv[2]) == "--budget";
  if (argc != 2 && !budget) {
    std::fprintf(stderr, "usage: make_value_bundle OUT.disco [--budget]\n");
    return 1;
  }
  disco::SyntheticOptions o;
  o.n_items = 500;
  o.emb_dim = 16;
  o.hidden = 24;
  o.seed = 9;
  disco::BundleSpec s = disco::make_synthetic_spec(o);
  disco::ValueModelSpec& v = s.value_model;
  v.context_dim = uint16_t(disco::kContextDim);
  v.pairs = {0, 2, 3, 7, 5, 8, 1, 10};
  const size_t nf = v.context_dim + v.pairs.size() / 2;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t k = 0; k < s.arms.size() * nf; ++k) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    v.weights.push_back(float(int64_t(x % 2001) - 1000) / 97.0f);
  }
  v.gamma_per_day = 0.97f;
  v.fitted = "decisions digest";
  if (budget) {
    s.guardrails.budget_per_period = 40.0f;  // ~5 discounts of the 15% arm per 10 minutes
    s.guardrails.budget_period_s = 600;
    s.guardrails.budget_mode = 1;
    s.guardrails.budget_dual_rate = 100.0f;
  }
  auto r = disco::build_bundle(s);
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.error.c_str());
    return 2;
  }
  FILE* f = std::fopen(argv[1], "wb");
  if (!f || std::fwrite(r.bytes.data(), 1, r.bytes.size(), f) != r.bytes.size()) return 3;
  std::fclose(f);
  return 0;
}

// Writes a synthetic bundle with a long-term value model (pairs + weights of both signs) for the
// native-vs-WASM decision digest (decisions_digest_check.sh): the offsets must be bit-identical.
// With --budget, also a budget that binds within the digest's workload (10-minute periods) priced
// by the dual price (guardrails.h, Dual): the price's arithmetic must be bit-identical too.
// With --policy, offer-policy rules that change decisions within the workload (its offers run from
// 1700000000000 ms for ~22 minutes): a campaign window, per-arm lifetimes, category / brand / item
// eligibility, cart arms (a fixed coupon over 50, 10 % off categories 1-4 over 40, free shipping over 25
// in a window), a per-shopper cap and a budget priced by the dual price (schemas/bundle.fbs Arm,
// Guardrails): the cart decisions of the digest (disco_offer_cart) meet every cart rule.
// With --pessimism, the lower-confidence choice of a discount (BanditPrior.pessimism 1.5): its
// per-arm standard deviations and square roots must be bit-identical too.
#include <cstdio>
#include <string>
#include <vector>

#include "disco/bundle_writer.h"
#include "disco/context.h"

int main(int argc, char** argv) {
  const bool budget = argc == 3 && std::string(argv[2]) == "--budget";
  const bool policy = argc == 3 && std::string(argv[2]) == "--policy";
  const bool pessimism = argc == 3 && std::string(argv[2]) == "--pessimism";
  if (argc != 2 && !budget && !policy && !pessimism) {
    std::fprintf(stderr, "usage: make_value_bundle OUT.disco [--budget | --policy | --pessimism]\n");
    return 1;
  }
  disco::SyntheticOptions o;
  o.n_items = 500;
  o.emb_dim = 16;
  o.hidden = 24;
  o.seed = 9;
  disco::BundleSpec s = disco::make_synthetic_spec(o);
  if (policy) {
    constexpr int64_t t0 = 1700000000000;
    s.arms[0].lifetime_s = 300;
    s.arms[1].brands = {0, 3, 5, 8, 13, 21, 34};
    s.arms[1].excluded_items = {3, 40, 77};
    s.arms[2].window_start_ms = t0 + 300000;  // minutes 5..15 of the workload
    s.arms[2].window_end_ms = t0 + 900000;
    s.arms[3].categories = {1, 3, 5, 7};
    s.arms[3].lifetime_s = 120;
    s.arms.push_back({"2-off", disco::ArmKindSpec::FixedAmount, 2.0f, 0.0f});
    s.arms.back().items = {};
    for (uint32_t i = 0; i < 500; i += 3) s.arms.back().items.push_back(i);
    s.arms.back().window_end_ms = t0 + 600000;  // offers expire at the window's end at the latest
    s.arms.push_back({"coupon", disco::ArmKindSpec::FixedAmount, 10.0f, 0.0f});
    s.arms.back().scope = 2;
    s.arms.back().min_spend = 50.0f;
    s.arms.push_back({"10%-cats-over-40", disco::ArmKindSpec::Percent, 0.10f, 0.0f});
    s.arms.back().scope = 2;
    s.arms.back().min_spend = 40.0f;
    s.arms.back().categories = {1, 2, 3, 4};
    s.arms.push_back({"ship-over-25", disco::ArmKindSpec::FreeShipping, 0.0f, 5.0f});
    s.arms.back().scope = 2;
    s.arms.back().min_spend = 25.0f;
    s.arms.back().window_start_ms = t0 + 200000;
    s.arms.back().window_end_ms = t0 + 1000000;
    s.arms.back().lifetime_s = 240;
    s.guardrails.max_discounted_offers = 30;
    s.guardrails.budget_per_period = 150.0f;  // binds within the workload: spend and its release priced and paced
    s.guardrails.budget_period_s = 600;
    s.guardrails.budget_mode = 1;
    s.offer_policy = "{\"version\":1}";
  }
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
  if (pessimism) s.bandit.pessimism = 1.5f;
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

// The offer-policy file (schemas/offer-policy.schema.json): the store's arms and guardrails as JSON,
// validated here (the one validator; the schema documents it), resolved against the catalog and
// written into the bundle by `disco-train export --policy FILE`. Without a file the export writes
// default_offer_policy(): the six arms of trainer/sim/include/disco/sim/arms.h and today's
// guardrails (schemas/examples/offer-policy.default.json), so bundles stay byte-identical.
//
// Errors are TrainError with the file, the JSON path and the reason:
//   policy.json: $.arms[3].window.end: must be after start (2026-12-01T00:00:00Z)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "disco/bundle_writer.h"
#include "disco/data/dataset.h"

namespace disco::model {

struct PolicyEligibility {  // catalog names (items.csv); empty = no restriction
  std::vector<std::string> categories, brands, items, excluded_items;
  bool empty() const { return categories.empty() && brands.empty() && items.empty() && excluded_items.empty(); }
};

struct PolicyArm {
  std::string name;
  ArmKindSpec kind = ArmKindSpec::Percent;
  double value = 0.0, merchant_cost = 0.0;
  uint8_t scope = 0;  // 0 item, 1 category, 2 cart (schemas/bundle.fbs ArmScope)
  double min_spend = 0.0;
  uint32_t lifetime_s = 0;                         // 0 = guardrails.offer_ttl_s
  int64_t window_start_ms = 0, window_end_ms = 0;  // 0 = unbounded
  PolicyEligibility eligibility;
};

struct OfferPolicy {
  std::string source;  // file name, for messages
  std::vector<PolicyArm> arms;
  double max_discount = 0.2, margin_floor = 0.05;
  bool has_budget = false;  // "budget" given (else the export's --budget options apply)
  double budget = 0.0, budget_dual_rate = 100.0, pacing_burst = 0.05;
  uint32_t budget_period_s = 86400;
  uint8_t budget_mode = 1;  // 0 fcfs, 1 dual
  uint32_t cooldown_s = 3600, max_discounted_offers = 0, offer_ttl_s = 900;
  std::vector<std::string> eligible_categories, excluded_items;
  std::string json;  // the file's document, compact (Model.offer_policy); empty for the defaults
};

// Parses and validates a policy document; `source` names it in errors. Throws TrainError.
OfferPolicy parse_offer_policy(std::string_view text, const std::string& source);
// Reads and parses a file (its path is the source).
OfferPolicy load_offer_policy(const std::string& path);
// Today's arms and guardrails (what an export without --policy writes).
OfferPolicy default_offer_policy();

// Resolves the names against the catalog (an unknown category, brand or item is an error with its
// JSON path) and writes arms, guardrails and the document into `spec`. Budget fields are written
// only when the policy has a budget.
void apply_offer_policy(const OfferPolicy& policy, const data::Dataset& ds, BundleSpec& spec);

// "2026-11-27T00:00:00Z" (optional .sss) -> epoch ms; false when malformed or not a real date.
bool parse_utc_timestamp(std::string_view s, int64_t* ms);

}  // namespace disco::model

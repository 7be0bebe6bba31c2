// Builds a disco bundle (schemas/bundle.fbs) from plain structs: Model payload -> outer Bundle with
// schema version, XXH64 checksum over the payload, optional ECDSA P-256 signature + key id.
// Used by the trainer's export and by tests. Native only (not part of the WASM runtime); no
// exceptions: failures come back as a message.
//
//   disco::BundleSpec spec;  ... fill ...
//   disco::BuildResult r = disco::build_bundle(spec);
//   if (!r.ok()) fail(r.error);  // r.bytes holds the file
//
// By default build_bundle() loads the result with the runtime's own loader and refuses to return a
// bundle the runtime would reject (WriteOptions::validate = false skips this, for malformed-input tests).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "disco/context.h"

namespace disco {

enum class TensorDType : uint8_t { F32 = 0, I8 = 1, I4 = 2 };

struct TensorSpec {
  std::string name;
  std::vector<uint32_t> shape;  // row-major; rows = shape[0]
  TensorDType dtype = TensorDType::F32;
  std::vector<uint8_t> data;    // raw bytes: f32 little-endian, int8, or packed int4 rows
  std::vector<float> scales;    // one per row for I8 / I4

  // Float values stored as F32.
  static TensorSpec f32(std::string name, std::vector<uint32_t> shape, std::span<const float> values);
  // Float values quantized per row (disco/quant.h) to I8 or I4. rows = shape[0], cols = product of the rest.
  static TensorSpec quantized(std::string name, std::vector<uint32_t> shape, std::span<const float> values,
                              TensorDType dtype);
};

enum class ArmKindSpec : uint8_t { Percent = 0, FixedAmount = 1, FreeShipping = 2 };
struct BundleArm {  // (not disco::ArmSpec: that is the guardrails' arm, disco/guardrails.h)
  std::string name;
  ArmKindSpec kind = ArmKindSpec::Percent;
  float value = 0.0f;          // Percent: fraction 0..1; FixedAmount: currency units
  float merchant_cost = 0.0f;  // FreeShipping: cost per order
  // Offer-policy fields (schemas/bundle.fbs Arm; all default = today's arms: written as absent).
  uint8_t scope = 0;             // 0 item, 1 category, 2 cart (fb::ArmScope)
  uint32_t lifetime_s = 0;       // 0 = guardrails.offer_ttl_s
  int64_t window_start_ms = 0, window_end_ms = 0;  // [start, end), 0 = unbounded
  std::vector<uint32_t> categories{}, brands{}, items{}, excluded_items{};  // ascending; empty = no restriction
  float min_spend = 0.0f;        // cart scope
};

enum class BanditAlgorithmSpec : uint8_t { LinTS = 0, LinUCB = 1, EpsGreedy = 2 };
struct BanditPriorSpec {
  BanditAlgorithmSpec algorithm = BanditAlgorithmSpec::LinTS;
  uint16_t context_dim = 0;  // 0 = the runtime's default context length (disco/context.h)
  float prior_precision = 1.0f;
  float noise_scale = 1.0f;
  float ucb_alpha = 1.0f;
  float epsilon = 0.05f;
  float exploration_floor = 0.02f;
  std::vector<float> prior_a, prior_b, prior_n;  // optional warm start (per arm, flattened)
  uint16_t context_version = kContextVersion;  // the context feature set the prior was fitted on
  float pessimism = 0.0f;  // schemas/bundle.fbs BanditPrior.pessimism (0 = plain Thompson sampling)
};

// The long-term value model (schemas/bundle.fbs ValueModel, disco/value_model.h); empty weights =
// none.
struct ValueModelSpec {
  uint16_t context_dim = 0;
  uint16_t context_version = kContextVersion;
  std::vector<uint16_t> pairs;
  std::vector<float> weights;  // n_arms * (context_dim + pairs.size() / 2)
  float gamma_per_day = 0.0f;
  float weight = 1.0f;
  float max_abs = 4.0f;
  std::string fitted;
};

struct GuardrailsSpec {
  float max_discount = 0.3f;
  float margin_floor = 0.0f;
  float budget_per_period = 0.0f;
  uint32_t budget_period_s = 86400;
  uint32_t cooldown_s = 0;
  uint32_t offer_ttl_s = 900;
  std::vector<uint32_t> eligible_categories;
  std::vector<uint32_t> excluded_items;
  uint8_t budget_mode = 1;          // 0 = fcfs, 1 = dual (schemas/bundle.fbs BudgetMode)
  float budget_dual_rate = 100.0f;
  float pacing_burst = 0.05f;
  uint32_t max_discounted_offers = 0;  // per shopper; 0 = no cap
};

struct CatalogSpec {
  std::vector<std::string> item_ids;  // dense index -> external id (required, unique)
  std::vector<uint32_t> category, brand;
  std::vector<float> price, cost;
  std::vector<uint8_t> in_stock, cold_start;  // empty = all in stock / none cold
};

struct ModelConfigSpec {
  uint16_t emb_dim = 32;
  uint16_t hidden = 64;
  uint8_t layers = 1;
  uint8_t num_event_types = 5;
  uint8_t num_price_buckets = 0;
  uint8_t num_gap_buckets = 0;
  uint16_t propensity_features = 0;
};

struct DataSummarySpec {
  std::string source;
  uint64_t events = 0, users = 0, sessions = 0, items = 0;
  int64_t first_ts_ms = 0, last_ts_ms = 0;
};

struct BundleSpec {
  std::string model_version;
  int64_t created_at_ms = 0;
  ModelConfigSpec config;
  CatalogSpec catalog;
  std::vector<TensorSpec> tensors;
  std::vector<BundleArm> arms;
  BanditPriorSpec bandit;
  GuardrailsSpec guardrails;
  bool has_training = false;
  DataSummarySpec training;
  std::vector<std::pair<std::string, double>> metrics;
  ValueModelSpec value_model;
  std::string offer_policy;  // the offer-policy file's JSON (Model.offer_policy); empty = none
};

struct WriteOptions {
  uint16_t schema_major = 1;  // defaults: this runtime's version (disco/version.h)
  uint16_t schema_minor = 0;
  std::vector<uint8_t> signature;  // raw r||s (64 bytes); empty = unsigned
  std::string key_id;
  bool validate = true;  // load the result with the runtime's loader and refuse what it refuses
};

struct BuildResult {
  std::vector<uint8_t> bytes;
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

// The Model FlatBuffer (payload) alone; tensor data is 16-byte aligned inside it.
std::vector<uint8_t> build_model_payload(const BundleSpec& spec);
// Wraps a payload: schema version, XXH64 checksum, optional signature. No validation.
std::vector<uint8_t> wrap_payload(std::span<const uint8_t> payload, const WriteOptions& options);
// build_model_payload + wrap_payload (+ validation unless options.validate is false).
BuildResult build_bundle(const BundleSpec& spec, const WriteOptions& options = {});
// Signs and wraps: signature = ECDSA P-256/SHA-256 over the payload with `pem_private_key`
// (PKCS#8 or SEC1 PEM); key id = first 16 hex chars of SHA-256(SPKI DER of the public key).
// Needs OpenSSL (DISCO_WITH_OPENSSL); otherwise returns an error.
BuildResult build_signed_bundle(const BundleSpec& spec, std::string_view pem_private_key,
                                WriteOptions options = {});

// ECDSA P-256/SHA-256 signature over `payload`, raw r||s (64 bytes, as WebCrypto). Needs OpenSSL.
bool sign_payload(std::span<const uint8_t> payload, std::string_view pem_private_key,
                  std::vector<uint8_t>* signature, std::string* error);
// DER SubjectPublicKeyInfo of the key in `pem_private_key` (what disco_bundle_verify_signature takes).
bool public_key_spki_der(std::string_view pem_private_key, std::vector<uint8_t>* spki_der, std::string* error);
// key id of an SPKI DER public key: first 16 hex chars of its SHA-256. Needs OpenSSL ("" otherwise).
std::string key_id_for_spki(std::span<const uint8_t> spki_der);

// A complete synthetic model (random weights, deterministic in `seed`) for tests, benchmarks and
// `disco bench`: items "item-0".."item-<n-1>", 10 categories, prices 5..100 with cost 60%, every
// 17th item out of stock, arms 0% / 5% / 10% / 15% / free shipping, default bandit and guardrails.
struct SyntheticOptions {
  uint32_t n_items = 10000;
  uint16_t emb_dim = 32;
  uint16_t hidden = 64;
  uint64_t seed = 1;
  TensorDType item_dtype = TensorDType::I8;
  uint8_t num_price_buckets = 0;
  uint8_t num_gap_buckets = 0;
};
BundleSpec make_synthetic_spec(const SyntheticOptions& options);

}  // namespace disco

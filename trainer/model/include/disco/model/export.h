// Quantization + bundle export (schemas/bundle.fbs through runtime's bundle_writer), cold-start
// embeddings, and keys (ECDSA P-256 via OpenSSL). No LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "disco/bundle_writer.h"
#include "disco/data/dataset.h"
#include "disco/model/bandit_prior.h"
#include "disco/model/offer_policy.h"
#include "disco/model/weights.h"

namespace disco::model {

// Cold start: every item with cold[i] != 0 (never trained, or held back) gets the direction of the
// mean embedding of the trained items of its category (averaged with its brand's mean when the
// brand is known; the mean of all trained items when neither is), scaled to those items' mean
// norm. Returns how many rows were replaced and how.
struct ColdStartStats {
  uint64_t items = 0, by_category = 0, by_brand = 0, by_global = 0;
};
ColdStartStats apply_cold_start(ModelWeights& w, const data::Dataset& ds, const std::vector<uint8_t>& cold);

// Untrained items never outrank trained ones, in the float model and in the exported int8/int4
// table the runtime ranks by: the model gets one more embedding dimension (d + 1) that acts as an
// item bias. Every input table (type/price/gap embeddings, w_ih) gets a zero column there, so the
// LSTM is unchanged; out_proj gets a zero row and out_bias the constant c, so
// score_j = item_emb[j] . u + c * bias_j. Trained items have bias 0; untrained ones -B with
// c * B = 30 * M, M a bound on |item_emb[j] . u| over every item and every LSTM state (|h| < 1),
// so each untrained score is below -M <= every trained score (also after int8/int4 rounding:
// c = max |u_r| bound / 200 keeps at least one quantization step of u). An untrained row holds
// only that bias (its other values 0, the cold-start embedding dropped): the runtime quantizes
// its LSTM input per vector, where -B would round every other value to 0, so float and runtime
// both see an untrained item as input without item information. Does nothing (returns {})
// when no item, or every item, is untrained.
struct DemoteStats {
  uint64_t items = 0;
  double bias = 0, c = 0, bound = 0;  // -B, c, M
};
DemoteStats demote_untrained(ModelWeights& w, const std::vector<uint8_t>& cold);

struct ExportOptions {
  std::string model_version = "disco-lstm";
  bool item_int4 = false;            // item_emb as I4 (else I8)
  std::string private_key_pem_path;  // empty = unsigned bundle
  std::string source;                // training-data summary: source name
  std::vector<std::pair<std::string, double>> metrics;
  std::vector<uint8_t> cold_start;   // per item, flagged in catalog.cold_start
  int64_t created_at_ms = 0;         // 0 = now
  // Bandit warm start (--bandit-prior FILE): written to BanditPrior.prior_a/b/n with
  // context_version = kContextVersion. Empty arms = no prior (the runtime starts from lambda*I).
  BanditPrior bandit_prior;
  double noise_scale = 0;            // --noise-scale V (> 0); 0 = the schema default (1)
  double choice_pessimism = 0;       // the policy fit's choice_pessimism (BanditPrior.pessimism); 0 = none
  // The long-term value model (--policy-fit FILE's "value_model"); empty weights = none.
  ValueModelSpec value_model;
  // Guardrails' budget (--budget, --budget-mode, --budget-dual-rate; disco/guardrails.h).
  float budget_per_period = 0.0f;
  uint8_t budget_mode = 1;
  float budget_dual_rate = 100.0f;
  // The store's offer-policy file (--policy FILE; offer_policy.h): arms and guardrails. No arms =
  // default_offer_policy() (today's six arms; the bundle is byte-identical to one before the file
  // existed). A policy with a budget and a non-zero budget_per_period above is an error.
  OfferPolicy offer_policy;
};

// The bundle contents (catalog, int8/int4 tensors, arms, guardrails, bandit prior, summary).
BundleSpec make_bundle_spec(const ModelWeights& w, const data::Dataset& ds, const ExportOptions& opt);

// Builds bundle.disco bytes (validated by the runtime's loader before they are returned; with a
// bandit prior, also by creating a runtime on them, which checks the prior the way every edge will).
// Throws TrainError: more than one LSTM layer, invalid weights, unreadable key, runtime refusal.
std::vector<uint8_t> export_bundle(const ModelWeights& w, const data::Dataset& ds, const ExportOptions& opt);

void write_file(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_file(const std::string& path);

// `keygen --out DIR`: DIR/private.pem (PKCS#8, mode 0600; never put it in a bundle),
// DIR/public.der (SPKI DER, what disco_bundle_verify_signature takes), DIR/public.pem and
// DIR/key_id.txt. Refuses to overwrite an existing private key. Returns the key id.
std::string keygen(const std::string& dir);

}  // namespace disco::model

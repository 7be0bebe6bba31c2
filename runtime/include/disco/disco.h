/* disco runtime: the C ABI.
 *
 * One header, opaque handles, sized integer types, status codes. Every function returns a
 * disco_status; on failure disco_last_error() holds a message a user can act on. No C++
 * exception crosses this boundary; no function allocates in the hot path (observe, recommend,
 * offer, update) after the handles exist.
 *
 * Ownership: disco_bundle_load() does not copy the bytes (zero copy); they must outlive the bundle
 * handle and every runtime created from it. Each *_create / *_load is paired with a *_free.
 * Threads: a runtime and its sessions are used by one thread at a time; disco_last_error() is
 * per thread.
 *
 * Growing the ABI: an options struct (disco_runtime_options, disco_filter) starts with `size`,
 * which the caller sets to its sizeof by filling the struct with the matching *_default_options()
 * function first, then changes the fields it wants. The runtime reads the fields that lie within
 * `size` and takes the defaults for the rest; it refuses a size smaller than the struct's first
 * version, and a larger one (a caller built against a newer disco.h) unless the bytes beyond the
 * runtime's struct are all zero (the newer fields at their defaults). Fields are only ever added
 * at the end, with 0 meaning the old behaviour; `reserved_` fields must be 0. The record structs
 * (disco_event, disco_offer, disco_outcome, disco_bundle_info) change only with
 * DISCO_ABI_VERSION.
 */
#ifndef DISCO_DISCO_H
#define DISCO_DISCO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2: sized options structs + *_default_options, disco_purchase_probability, disco_outcome.reward,
 *    disco_offer_expired; max_sessions_hint removed. 1: the first release. */
#define DISCO_ABI_VERSION 2

/* C++ callers see every function as noexcept (each one runs its body under the runtime's guard). */
#ifdef __cplusplus
#define DISCO_NOEXCEPT noexcept
#else
#define DISCO_NOEXCEPT
#endif

/* Marks the old names kept for one ABI version after a rename. */
#if defined(__GNUC__) || defined(__clang__)
#define DISCO_DEPRECATED(msg) __attribute__((deprecated(msg)))
#elif defined(_MSC_VER)
#define DISCO_DEPRECATED(msg) __declspec(deprecated(msg))
#else
#define DISCO_DEPRECATED(msg)
#endif

typedef enum disco_status {
  DISCO_OK = 0,
  DISCO_ERR_INVALID_ARGUMENT = 1, /* null pointer, k = 0, bad enum value, NaN price, ... */
  DISCO_ERR_BUNDLE_FORMAT = 2,    /* empty, truncated, wrong identifier, verifier failure, oversized */
  DISCO_ERR_CHECKSUM = 3,         /* payload checksum mismatch */
  DISCO_ERR_SIGNATURE = 4,        /* missing or invalid signature when one is required */
  DISCO_ERR_VERSION = 5,          /* bundle schema major newer than this runtime */
  DISCO_ERR_SHAPE = 6,            /* a tensor's shape or dtype disagrees with the model config */
  DISCO_ERR_UNKNOWN_ITEM = 7,     /* item id / index not in the catalog */
  DISCO_ERR_STATE = 8,            /* saved state malformed, wrong version, or for another bundle */
  DISCO_ERR_BUFFER_TOO_SMALL = 9, /* output buffer too small; the needed size is reported */
  DISCO_ERR_NOT_FOUND = 10,       /* e.g. update() for a decision id this runtime never issued */
  DISCO_ERR_DUPLICATE = 11,       /* update() for a decision id already applied (idempotent no-op) */
  DISCO_ERR_UNSUPPORTED = 12,     /* feature not built in (e.g. signature check in WASM) */
  DISCO_ERR_OUT_OF_MEMORY = 13,   /* an allocation failed (natively; the WASM build aborts instead) */
  DISCO_ERR_INTERNAL = 14         /* an unexpected exception inside the runtime; the message names it */
} disco_status;

const char* disco_status_string(disco_status status) DISCO_NOEXCEPT;
/* Message of the last failure on this thread ("" if none). Valid until the next failing call. */
const char* disco_last_error(void) DISCO_NOEXCEPT;

typedef struct disco_bundle disco_bundle;
typedef struct disco_runtime disco_runtime;
typedef struct disco_session disco_session;

/* ---- bundle ---------------------------------------------------------------------------------*/

/* flags for disco_bundle_load */
#define DISCO_LOAD_SKIP_CHECKSUM 1u /* skip the XXH64 pass: benchmarks, or a caller that verified the payload signature (the JS SDK) */

disco_status disco_bundle_load(const uint8_t* bytes, size_t len, uint32_t flags, disco_bundle** out) DISCO_NOEXCEPT;
void disco_bundle_free(disco_bundle* bundle) DISCO_NOEXCEPT;

/* Verify the bundle's ECDSA P-256 signature against a public key (SPKI DER). Native builds with
 * OpenSSL only; elsewhere DISCO_ERR_UNSUPPORTED (the JS SDK verifies with WebCrypto). */
disco_status disco_bundle_verify_signature(const disco_bundle* bundle, const uint8_t* spki_der,
                                           size_t len) DISCO_NOEXCEPT;

typedef struct disco_bundle_info {
  uint16_t schema_major, schema_minor;
  uint32_t n_items, emb_dim, hidden, n_arms, context_dim;
  uint32_t signed_; /* 1 if a signature is present (not necessarily verified) */
  int64_t created_at_ms;
  const char* model_version; /* points into the bundle bytes' lifetime (NUL-terminated) */
} disco_bundle_info;
disco_status disco_bundle_get_info(const disco_bundle* bundle, disco_bundle_info* out) DISCO_NOEXCEPT;

/* Dense index of an external item id, or DISCO_ERR_UNKNOWN_ITEM. */
disco_status disco_bundle_item_index(const disco_bundle* bundle, const char* item_id, size_t len,
                                     uint32_t* out_index) DISCO_NOEXCEPT;
/* External id of a dense index (pointer into the bundle; NUL-terminated). */
disco_status disco_bundle_item_id(const disco_bundle* bundle, uint32_t index, const char** out_id) DISCO_NOEXCEPT;

/* Catalog columns of a dense index: price and cost (0 when the bundle has none), dense category,
 * in-stock flag. Any output pointer may be NULL. */
disco_status disco_bundle_item_info(const disco_bundle* bundle, uint32_t index, float* out_price, float* out_cost,
                                    uint32_t* out_category, uint32_t* out_in_stock) DISCO_NOEXCEPT;

/* ---- runtime: bandit + guardrail state shared by sessions ------------------------------------*/

typedef enum disco_mode {
  DISCO_MODE_ONLINE = 0,      /* disco decides the offer */
  DISCO_MODE_APPRENTICE = 1,  /* disco logs what it would offer; the baseline arm (0) is shown */
  DISCO_MODE_LOGGING_ONLY = 2 /* no offer logic; decisions log the baseline arm with propensity 1 */
} disco_mode;

/* Sized (see "Growing the ABI" above): fill with disco_runtime_default_options() first. NULL
 * options = the defaults. */
typedef struct disco_runtime_options {
  uint32_t size;                  /* sizeof(disco_runtime_options) of the caller's disco.h */
  disco_mode mode;                /* default DISCO_MODE_ONLINE */
  uint64_t seed;                  /* default 0 */
  uint32_t max_pending_decisions; /* bounded table of decisions awaiting outcomes (0 = 65536) */
  uint32_t reserved_;             /* must be 0 */
} disco_runtime_options;

/* Fills *options with the defaults and sets options->size. */
void disco_runtime_default_options(disco_runtime_options* options) DISCO_NOEXCEPT;

disco_status disco_runtime_create(const disco_bundle* bundle, const disco_runtime_options* options,
                                  disco_runtime** out) DISCO_NOEXCEPT;
void disco_runtime_free(disco_runtime* runtime) DISCO_NOEXCEPT;
/* Hot swap: sessions keep their history; LSTM states are recomputed lazily from the new weights
 * only if the model dimensions changed; the bandit keeps its statistics if arms and context_dim
 * are unchanged, else restarts from the new bundle's prior. */
disco_status disco_runtime_swap_bundle(disco_runtime* runtime, const disco_bundle* bundle) DISCO_NOEXCEPT;

/* ---- sessions --------------------------------------------------------------------------------*/

disco_status disco_session_create(disco_runtime* runtime, uint64_t user_key, disco_session** out) DISCO_NOEXCEPT;
void disco_session_free(disco_session* session) DISCO_NOEXCEPT;

typedef enum disco_event_type {
  DISCO_EVENT_VIEW = 0, DISCO_EVENT_CLICK = 1, DISCO_EVENT_CART = 2,
  DISCO_EVENT_REMOVE = 3, DISCO_EVENT_PURCHASE = 4
} disco_event_type;

typedef struct disco_event {
  int64_t ts_ms;
  uint32_t item;       /* dense index (disco_bundle_item_index) */
  uint32_t type;       /* disco_event_type */
  float price;         /* paid / shown price; <= 0 means "catalog price" */
  int32_t quantity;
} disco_event;

/* Advance the session's LSTM by one step: O(h*(d+h)), no replay of history. */
disco_status disco_observe(disco_session* session, const disco_event* event) DISCO_NOEXCEPT;

/* Sized (see "Growing the ABI" above): fill with disco_filter_default_options() first. A NULL
 * filter = the defaults. */
typedef struct disco_filter {
  uint32_t size;                /* sizeof(disco_filter) of the caller's disco.h */
  uint32_t exclude_seen;        /* 1 = drop items the session has interacted with (default 1) */
  uint32_t include_out_of_stock;/* 0 = drop out-of-stock items (default 0) */
  int32_t category;             /* -1 = any (default) */
  const uint32_t* exclude;      /* extra dense indices to drop (default none) */
  uint32_t n_exclude;
  uint32_t reserved_;           /* must be 0 */
} disco_filter;

/* Fills *filter with the defaults (exclude seen and out-of-stock items, any category) and sets
 * filter->size. */
void disco_filter_default_options(disco_filter* filter) DISCO_NOEXCEPT;

/* Top-k items by int8 dot product against the session state; out arrays hold k entries.
 * *out_n receives the number written (< k when the filters leave fewer items). */
disco_status disco_recommend(disco_session* session, uint32_t k, const disco_filter* filter,
                             uint32_t* out_items, float* out_scores, uint32_t* out_n) DISCO_NOEXCEPT;

/* Order a candidate list the page already has (search results, a category page) by the scores and
 * filters of disco_recommend: out arrays hold n entries; *out_n receives the number of candidates
 * that pass the filter, best first (ties: the lower index first, as disco_recommend), each once. n = 0
 * is valid (*out_n = 0; the pointers may then be NULL). An index beyond the catalog is left out, as a
 * filtered one (the JS SDK keeps ids the bundle does not know at the end of its answer). It costs a
 * disco_recommend scan of the catalog whatever n is, plus a heap of up to n entries. The WASM build
 * exports it too (the JS SDK's rank() and the edge's /rank call it). */
disco_status disco_rank(disco_session* session, const uint32_t* items, uint32_t n, const disco_filter* filter,
                        uint32_t* out_items, float* out_scores, uint32_t* out_n) DISCO_NOEXCEPT;

/* Probability that this shopper buys within the model's horizon, from the model's purchase head
 * (updated at each disco_observe). Not disco_offer.propensity, which is the probability of the
 * offered arm under the logging policy. */
disco_status disco_purchase_probability(const disco_session* session, float* out) DISCO_NOEXCEPT;
/* The name before ABI 2, kept for one version. */
DISCO_DEPRECATED("renamed disco_purchase_probability (disco_offer.propensity is the logging probability)")
static inline disco_status disco_propensity(const disco_session* session, float* out) DISCO_NOEXCEPT {
  return disco_purchase_probability(session, out);
}

#define DISCO_GUARD_MAX_DISCOUNT   (1u << 0)
#define DISCO_GUARD_MARGIN_FLOOR   (1u << 1)
#define DISCO_GUARD_BUDGET         (1u << 2)
#define DISCO_GUARD_COOLDOWN       (1u << 3)
#define DISCO_GUARD_INELIGIBLE     (1u << 4)
#define DISCO_GUARD_APPRENTICE     (1u << 5)

#define DISCO_MAX_CONTEXT 16

typedef struct disco_offer {
  uint64_t decision_hi, decision_lo; /* 128-bit decision id */
  uint32_t item;
  uint32_t arm;                /* arm actually offered (after guardrails / mode) */
  uint32_t bandit_arm;         /* arm the bandit chose before guardrails */
  float discount;              /* fraction of price offered (0 for free shipping / none) */
  float propensity;            /* probability of `arm` under the logging policy */
  float purchase_propensity;   /* model's purchase propensity at decision time */
  int64_t expires_at_ms;
  uint32_t guardrails;         /* DISCO_GUARD_* bits that changed or limited the offer */
  uint32_t context_dim;
  float context[DISCO_MAX_CONTEXT];
} disco_offer;

/* Choose an offer for `item` at time now_ms. decision_hi/lo == 0 lets the runtime derive the id
 * from (seed, user_key, session serial, per-session counter, now_ms), stepping the counter past an id
 * this runtime already issued (one saved state restored twice in the same millisecond); a
 * caller-supplied id makes replays reproducible (DISCO_ERR_DUPLICATE when already issued).
 * Randomness is counter-based, keyed by (seed, decision id): same inputs, same offer, anywhere. */
disco_status disco_offer_make(disco_session* session, uint32_t item, int64_t now_ms,
                              uint64_t decision_hi, uint64_t decision_lo, disco_offer* out) DISCO_NOEXCEPT;

/* disco_offer.item of a cart decision (disco_offer_cart). */
#define DISCO_CART_ITEM 0xFFFFFFFFu

/* The terms of a cart decision, in currency units at the bundle's catalog prices. */
typedef struct disco_cart_terms {
  double value;     /* the cart's value: sum of price x quantity over its lines */
  double cost;      /* the cart's merchant cost: sum of cost x quantity */
  double eligible;  /* the value of the lines the offered arm applies to (the cart's value for arm 0) */
  double amount;    /* off the order: percent x eligible, min(fixed amount, eligible); 0 for free shipping and arm 0 */
  double min_spend; /* the offered arm's minimum spend (0 for arm 0) */
} disco_cart_terms;

/* Choose a cart-level offer (the offer policy's cart-scope arms: "10 % off orders over 50", free
 * shipping over a threshold) for a cart of n lines: items[i] (dense indices; the same item may
 * appear in several lines) times quantities[i] (>= 1; NULL = 1 each), at catalog prices.
 * Context: build_context with the cart's value as the price, its cost as the cost, and its units
 * (sum of the quantities) as the cart feature; the shopper's state as for an item.
 * Eligible arms: arm 0, and each cart-scope arm inside its campaign window whose eligible value
 * (the lines that pass the guardrails' excluded_items / eligible_categories and the arm's own
 * categories / brands / items / excluded_items) is > 0 and >= its min_spend. An arm's cost is
 * computed on its eligible value (percent x eligible, min(fixed, eligible), free shipping's
 * merchant cost); the guardrails judge the whole cart: cost <= max_discount x value, value - cost
 * of goods - cost >= margin_floor x value, the budget (its spend), the cooldown and the per-shopper
 * cap as for an item. out->item is DISCO_CART_ITEM, out->discount the amount over the cart's value;
 * propensity, expiry, pending decision, disco_offer_shown / disco_update (reward in currency,
 * scaled by the cart's value) / disco_offer_expired as for disco_offer_make, and decision ids and
 * randomness the same way (same seed, id and state: same offer). terms (may be NULL) receives the
 * cart's terms. DISCO_ERR_INVALID_ARGUMENT for n = 0 or a quantity 0, DISCO_ERR_UNKNOWN_ITEM for an
 * index beyond the catalog. disco_offer_make never offers a cart-scope arm. */
disco_status disco_offer_cart(disco_session* session, const uint32_t* items, const uint32_t* quantities, uint32_t n,
                              int64_t now_ms, uint64_t decision_hi, uint64_t decision_lo, disco_offer* out,
                              disco_cart_terms* terms) DISCO_NOEXCEPT;

/* Deferred activation: the page displayed the offer. Only shown offers train the bandit. */
disco_status disco_offer_shown(disco_runtime* runtime, uint64_t decision_hi, uint64_t decision_lo) DISCO_NOEXCEPT;

/* The probability of every arm under this runtime's policy (bandit posterior, value model, the budget's
 * dual price as of the last offer (0 in a runtime that made none), exploration floor: what
 * disco_offer_make would log as the propensity of each arm) for a logged context vector
 * (dim >= the bundle's bandit context_dim floats, as disco_offer.context) and the item's price and
 * cost, in online mode whatever this runtime's mode. Eligibility: the arms the max-discount and
 * margin-floor guardrails allow at that price and cost, intersected with eligible_mask (bit a = arm a;
 * 0 = no further restriction; arm 0 is always eligible). out_probs receives one entry per bundle arm
 * (disco_bundle_info.n_arms); they sum to 1. For off-policy evaluation of a candidate bundle. */
disco_status disco_policy_probabilities(disco_runtime* runtime, const float* context, uint32_t dim,
                                        uint32_t eligible_mask, double price, double cost, double* out_probs) DISCO_NOEXCEPT;

/* Record an offer decided outside disco (the site's own discount, or a replayed decision log) so
 * the shopper's context reflects it: discount exposure, offer recency, discounted visits. It does
 * not touch the bandit, the guardrails' budget or the pending decisions. `arm` indexes the bundle's
 * arms (0 = no discount); DISCO_ERR_INVALID_ARGUMENT when it is out of range. */
disco_status disco_session_note_offer(disco_session* session, uint32_t arm, int64_t ts_ms) DISCO_NOEXCEPT;

typedef struct disco_outcome {
  uint64_t decision_hi, decision_lo;
  int64_t ts_ms;
  uint32_t converted;
  float revenue;
  /* The reward of the decision, in currency units, converted or not: what the merchant made on it
   * net of the discount given (the order's margin after the discount when it converted; 0 for a
   * plain non-purchase, or a negative cost charged to an offer that did not convert). The bandit
   * learns clamp(reward / price, -4, 4) (disco::scaled_reward, bandit.h). `margin` is its name
   * before ABI 2, kept for one version. */
  union {
    float reward;
    DISCO_DEPRECATED("renamed disco_outcome.reward") float margin;
  };
} disco_outcome;

/* Apply an outcome to the bandit once per decision id (DISCO_ERR_DUPLICATE on repeats, bounded
 * memory). DISCO_ERR_NOT_FOUND when the decision is unknown or was never shown. */
disco_status disco_update(disco_runtime* runtime, const disco_outcome* outcome) DISCO_NOEXCEPT;

/* The offer expired (or was withdrawn) unredeemed. Its outcome is recorded as not converted with
 * reward 0, exactly as disco_update would (it trains the bandit once the decision is shown), and
 * the budget spend disco_offer_make reserved for it is given back if that budget period is still
 * the current one (guardrails: spend is reserved as if every discounted offer were redeemed).
 * DISCO_ERR_DUPLICATE when the decision already has its outcome (nothing is given back: it may
 * have converted), DISCO_ERR_NOT_FOUND when it is unknown or was evicted from the pending table. */
disco_status disco_offer_expired(disco_runtime* runtime, uint64_t decision_hi, uint64_t decision_lo) DISCO_NOEXCEPT;

/* ---- bandit statistics (fleet merge) ---------------------------------------------------------*/

/* Serialize this runtime's sufficient statistics since the last export (delta), or all of them. */
disco_status disco_bandit_export(disco_runtime* runtime, uint32_t delta_only, uint8_t* buf,
                                 size_t cap, size_t* out_len) DISCO_NOEXCEPT;
/* Replace (merge = 0) or add (merge = 1) the observed statistics with either
 *  - disco_bandit_export output (this runtime's own format), or
 *  - the collector's fleet statistics message (schemas/bandit_stats.fbs, FlatBuffers identifier
 *    "DSBS"; the body of GET /v1/bandit-state with Accept: application/x-disco-bandit-stats).
 *    Arms absent from the message have no data. Refused with DISCO_ERR_STATE and a message naming
 *    the disagreement when its context_version is not this runtime's (disco/context.h), its dim
 *    is not the bandit's, or it names an arm the bundle does not have.
 * Merged / imported statistics never enter the delta of disco_bandit_export(delta_only = 1). */
disco_status disco_bandit_import(disco_runtime* runtime, const uint8_t* buf, size_t len,
                                 uint32_t merge) DISCO_NOEXCEPT;

/* ---- state save / restore (cereal portable binary, versioned) --------------------------------*/

disco_status disco_session_save(const disco_session* session, uint8_t* buf, size_t cap,
                                size_t* out_len) DISCO_NOEXCEPT;
disco_status disco_session_restore(disco_runtime* runtime, const uint8_t* buf, size_t len,
                                   disco_session** out) DISCO_NOEXCEPT;
/* Compact session state (format 3, read by disco_session_restore), small enough for a cookie: the
 * LSTM cell quantized to int8 (one scale), h kept as its int8 form, the newest 16 events of the
 * history, at most 64 items of the seen set (those of the history and recent interactions first).
 * Restoring it gives the same recommend/propensity/offer as the saved session; later steps differ
 * only by the cell's quantization. */
disco_status disco_session_save_compact(const disco_session* session, uint8_t* buf, size_t cap,
                                        size_t* out_len) DISCO_NOEXCEPT;
/* Upper bound of disco_session_save_compact's size for any session of this runtime's bundle. */
size_t disco_session_compact_max_bytes(const disco_runtime* runtime) DISCO_NOEXCEPT;
disco_status disco_runtime_save(const disco_runtime* runtime, uint8_t* buf, size_t cap,
                                size_t* out_len) DISCO_NOEXCEPT;
disco_status disco_runtime_restore(disco_runtime* runtime, const uint8_t* buf, size_t len) DISCO_NOEXCEPT;

/* Bytes held by a session / by the runtime excluding the caller's bundle bytes. */
size_t disco_session_memory_bytes(const disco_session* session) DISCO_NOEXCEPT;
size_t disco_runtime_memory_bytes(const disco_runtime* runtime) DISCO_NOEXCEPT;

#ifdef __cplusplus
}
#endif
#endif /* DISCO_DISCO_H */

/* disco.wasm: the thin binding between disco.h and the JS SDK (sdk-js/src/wasm.js).
 *
 * disco.h is exported as is wherever its signatures hold only 32-bit values and pointers. The few
 * functions that take 64-bit scalars by value get a dw_* twin that reads them from linear memory,
 * so the module needs neither BigInt legalization nor JS glue. Nothing here allocates in the hot
 * path: the SDK allocates one scratch block once and reuses it. This file is C: no exception can
 * start here, and the runtime functions it calls are guarded (runtime/src/status_internal.h).
 * dw_abi_version() is DISCO_ABI_VERSION: the SDK refuses a module whose version it does not speak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "disco/disco.h"

#define DW_EXPORT __attribute__((used, visibility("default")))

/* The SDK reads and writes these structs at fixed offsets (sdk-js/src/engine.js, LAYOUT): the
 * build fails here rather than the SDK misreading memory if disco.h ever changes them. */
#define DW_AT(type, field, off) _Static_assert(offsetof(type, field) == (off), #type "." #field)
DW_AT(disco_bundle_info, schema_minor, 2);
DW_AT(disco_bundle_info, n_items, 4);
DW_AT(disco_bundle_info, context_dim, 20);
DW_AT(disco_bundle_info, signed_, 24);
DW_AT(disco_bundle_info, created_at_ms, 32);
DW_AT(disco_bundle_info, model_version, 40);
_Static_assert(sizeof(disco_bundle_info) == 48, "disco_bundle_info size");
DW_AT(disco_runtime_options, size, 0);
DW_AT(disco_runtime_options, mode, 4);
DW_AT(disco_runtime_options, seed, 8);
DW_AT(disco_runtime_options, max_pending_decisions, 16);
DW_AT(disco_runtime_options, reserved_, 20);
_Static_assert(sizeof(disco_runtime_options) == 24, "disco_runtime_options size");
DW_AT(disco_event, item, 8);
DW_AT(disco_event, type, 12);
DW_AT(disco_event, price, 16);
DW_AT(disco_event, quantity, 20);
_Static_assert(sizeof(disco_event) == 24, "disco_event size");
DW_AT(disco_filter, size, 0);
DW_AT(disco_filter, exclude_seen, 4);
DW_AT(disco_filter, include_out_of_stock, 8);
DW_AT(disco_filter, category, 12);
DW_AT(disco_filter, exclude, 16);
DW_AT(disco_filter, n_exclude, 20);
DW_AT(disco_filter, reserved_, 24);
_Static_assert(sizeof(disco_filter) == 28, "disco_filter size");
DW_AT(disco_offer, decision_lo, 8);
DW_AT(disco_offer, item, 16);
DW_AT(disco_offer, arm, 20);
DW_AT(disco_offer, bandit_arm, 24);
DW_AT(disco_offer, discount, 28);
DW_AT(disco_offer, propensity, 32);
DW_AT(disco_offer, purchase_propensity, 36);
DW_AT(disco_offer, expires_at_ms, 40);
DW_AT(disco_offer, guardrails, 48);
DW_AT(disco_offer, context_dim, 52);
DW_AT(disco_offer, context, 56);
_Static_assert(sizeof(disco_offer) == 120, "disco_offer size");
DW_AT(disco_cart_terms, cost, 8);
DW_AT(disco_cart_terms, eligible, 16);
DW_AT(disco_cart_terms, amount, 24);
DW_AT(disco_cart_terms, min_spend, 32);
_Static_assert(sizeof(disco_cart_terms) == 40, "disco_cart_terms size");
DW_AT(disco_outcome, decision_lo, 8);
DW_AT(disco_outcome, ts_ms, 16);
DW_AT(disco_outcome, converted, 24);
DW_AT(disco_outcome, revenue, 28);
DW_AT(disco_outcome, reward, 32);
_Static_assert(sizeof(disco_outcome) == 40, "disco_outcome size");

/* 1 in the SIMD128 build, 0 in the plain one (the SDK reports which one it loaded). */
DW_EXPORT uint32_t dw_build_simd(void) {
#ifdef __wasm_simd128__
  return 1;
#else
  return 0;
#endif
}

DW_EXPORT uint32_t dw_abi_version(void) { return DISCO_ABI_VERSION; }

DW_EXPORT void* dw_alloc(size_t n) { return malloc(n ? n : 1); }
DW_EXPORT void dw_free(void* p) { free(p); }
/* 16-byte aligned block: bundle bytes are read in place and their tensors are 16-byte aligned. */
DW_EXPORT void* dw_alloc_aligned(size_t n) { return aligned_alloc(16, (n + 15u) & ~(size_t)15u); }

DW_EXPORT disco_status dw_session_create(disco_runtime* runtime, uint32_t key_lo, uint32_t key_hi,
                                         disco_session** out) {
  return disco_session_create(runtime, ((uint64_t)key_hi << 32) | key_lo, out);
}

/* args: [now_ms (int64), decision_hi (uint64), decision_lo (uint64)] */
DW_EXPORT disco_status dw_offer_make(disco_session* session, uint32_t item, const int64_t* args,
                                     disco_offer* out) {
  if (!args) return disco_offer_make(session, item, 0, 0, 0, out);
  return disco_offer_make(session, item, args[0], (uint64_t)args[1], (uint64_t)args[2], out);
}

/* args: as dw_offer_make's (the SDK always passes them) */
DW_EXPORT disco_status dw_offer_cart(disco_session* session, const uint32_t* items, const uint32_t* quantities,
                                     uint32_t n, const int64_t* args, disco_offer* out, disco_cart_terms* terms) {
  return disco_offer_cart(session, items, quantities, n, args[0], (uint64_t)args[1], (uint64_t)args[2], out, terms);
}

/* id: [decision_hi, decision_lo] */
DW_EXPORT disco_status dw_offer_shown(disco_runtime* runtime, const uint64_t* id) {
  if (!id) return DISCO_ERR_INVALID_ARGUMENT;
  return disco_offer_shown(runtime, id[0], id[1]);
}

/* id: [decision_hi, decision_lo] */
DW_EXPORT disco_status dw_offer_expired(disco_runtime* runtime, const uint64_t* id) {
  if (!id) return DISCO_ERR_INVALID_ARGUMENT;
  return disco_offer_expired(runtime, id[0], id[1]);
}

/* ts: pointer to the int64 timestamp (no i64 parameters across the JS boundary). */
DW_EXPORT disco_status dw_note_offer(disco_session* session, uint32_t arm, const int64_t* ts) {
  if (!ts) return DISCO_ERR_INVALID_ARGUMENT;
  return disco_session_note_offer(session, arm, *ts);
}

// The bundle schema version this runtime reads (schemas/bundle.fbs) and the state format version.
#pragma once
#include <stdint.h>

namespace disco {
inline constexpr uint16_t kSchemaMajor = 1;  // a bundle with a newer major is refused by name
inline constexpr uint16_t kSchemaMinor = 0;  // additive changes; any minor of our major is read
// Schema majors grow one at a time: a header whose major reads more than this far ahead of ours
// is damaged (a flipped byte), refused as corrupt rather than as "newer". The JS SDK reads the
// header before the runtime and applies the same bound (sdk-js/src/bundle.js, MAX_MAJOR_AHEAD).
inline constexpr uint16_t kSchemaMajorMaxAhead = 8;
inline constexpr uint32_t kStateVersion = 1; // bandit statistics export (disco_bandit_export; cereal archive)
// Saved runtime state: 2 adds each pending decision's held outcome (an outcome that arrived before
// the decision was shown, runtime/README.md); 3 adds the budget's dual price (guardrails.h: mode,
// rate, lambda, its clock); 4 adds each pending decision's reserved budget spend (a cart decision's
// is its arm's cost on the eligible lines, not on the cart's value). Formats 1 to 3 are still read
// (nothing held; lambda 0; each pending decision's spend is its arm's cost at its price).
inline constexpr uint32_t kRuntimeStateVersion = 4;
inline constexpr uint32_t kRuntimeStateVersionOldest = 1;
// Saved session state: 2 adds the visit counters of the context features v2 (context.h); format 1
// is still read (those counters start at zero).
inline constexpr uint32_t kSessionStateVersion = 2;
inline constexpr uint32_t kSessionStateVersionOldest = 1;
// 3 = the compact session state (disco_session_save_compact, for cookies): quantized LSTM cell,
// bounded history and seen set, varint fields. Restore reads formats 1 to 3.
inline constexpr uint32_t kSessionStateVersionCompact = 3;
inline constexpr uint64_t kMaxBundleBytes = 256ull << 20;  // inputs above 256 MiB are refused
}  // namespace disco

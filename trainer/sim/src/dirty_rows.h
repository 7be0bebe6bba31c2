// Dirty rows (internal to trainer/sim/src/): which rows of the CSV files are corrupted on purpose
// and how (disco-sim --dirty-rate; kinds in disco-sim --help), from counter-based randomness keyed
// by (seed, file, row), so the same seed corrupts the same rows. csv_writer.cpp applies them.
#pragma once
#include <cstdint>

namespace disco::sim {

enum DirtyKind { kDuplicate, kMissing, kUnparsable, kNonPositivePrice, kAbsurdQuantity, kOutOfOrder, kNumDirty };
inline constexpr const char* kDirtyNames[kNumDirty] = {"duplicate_row", "missing_field", "unparsable_number",
                                                    "nonpositive_price", "absurd_quantity", "out_of_order_ts"};

// The corruption of row `row` of file `file` (1 items, 2 events, 3 decisions, 4 outcomes) among the
// first `kinds` DirtyKinds, or -1 for none (a row is corrupted with probability `rate`); *extra
// (set only when corrupted) picks the field and the bad value.
int dirty_kind(uint64_t seed, double rate, uint64_t file, uint64_t row, int kinds, uint64_t* extra);

// Unparsable numbers written in place of a price or a timestamp.
inline constexpr const char* kGarbageNumbers[] = {"#VALUE!", "n/a", "12..5", "1e", "--"};

}  // namespace disco::sim

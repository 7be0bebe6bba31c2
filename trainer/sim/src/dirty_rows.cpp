// Dirty rows (dirty_rows.h): the choice of the corrupted rows, and their count.
#include "dirty_rows.h"

#include "disco/sim/simulate.h"

namespace disco::sim {

int dirty_kind(uint64_t seed, double rate, uint64_t file, uint64_t row, int kinds, uint64_t* extra) {
  if (rate <= 0) return -1;
  const uint64_t h = hash_key(seed, kStreamDirty, file, row);
  if (to_unit(h) >= rate) return -1;
  const uint64_t h2 = hash_key(seed, kStreamDirty, file, row, 1);
  *extra = hash_key(seed, kStreamDirty, file, row, 2);
  return int((h2 >> 32) % uint64_t(kinds));
}

uint64_t DirtyCounts::total() const {
  uint64_t t = 0;
  for (auto& [k, v] : by_reason) t += v;
  return t;
}

}  // namespace disco::sim

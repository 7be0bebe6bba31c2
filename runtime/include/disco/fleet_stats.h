// The fleet bandit statistics message (schemas/bandit_stats.fbs, file identifier "DSBS"): what the
// collector serves at GET /v1/bandit-state and disco_bandit_import() reads besides the runtime's
// own disco_bandit_export() bytes. Statistics of observed data only, accumulated with
// add_observation() (disco/bandit.h) on both sides. JSON form: schemas/README.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "disco/bandit.h"

namespace disco {

struct FleetArmStats {
  uint16_t arm = 0;
  ArmStats stats;  // A: dim*dim row-major, b: dim
};

struct FleetStats {
  uint64_t version = 0;         // the collector's statistics version
  std::string site;
  uint16_t context_version = 0; // context feature set (disco/context.h kContextVersion)
  uint16_t dim = 0;
  std::vector<FleetArmStats> arms;  // arms with data, ascending, each at most once
};

// True when `buf` carries the FlatBuffers identifier "DSBS" at bytes 4..7 (the runtime's own
// export starts with the magic "DSBS" at byte 0 instead, then its format version).
bool is_fleet_stats_message(const uint8_t* buf, size_t len);

// Verifies and reads a message; "" on success, else why (never crashes on any bytes).
std::string read_fleet_stats(const uint8_t* buf, size_t len, FleetStats* out);

// Checks `m` against a bandit of n_arms x dim that computes context features `context_version`,
// and expands it into one ArmStats per arm (arms absent from the message: zero statistics).
// "" on success, else a message naming what disagrees (dim, arm count, context_version, sizes,
// non-finite or asymmetric values).
std::string fleet_stats_to_bandit(const FleetStats& m, uint32_t n_arms, uint32_t dim, uint32_t context_version,
                                  BanditStats* out);

// The FlatBuffers bytes of `m` (native builds only: runtime/src/fleet_stats_writer.cpp).
std::vector<uint8_t> write_fleet_stats(const FleetStats& m);

}  // namespace disco

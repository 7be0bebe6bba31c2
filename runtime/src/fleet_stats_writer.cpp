// Writing the fleet bandit statistics message (disco/fleet_stats.h); native only (the collector
// and tests write it, the WASM runtime only reads it).
#include <flatbuffers/flatbuffers.h>

#include "disco/fleet_stats.h"
#include "disco/schemas/bandit_stats_generated.h"

namespace disco {

std::vector<uint8_t> write_fleet_stats(const FleetStats& m) {
  flatbuffers::FlatBufferBuilder b(1024 + m.arms.size() * (static_cast<size_t>(m.dim) * m.dim + m.dim + 4) * 8);
  std::vector<flatbuffers::Offset<fb::ArmStats>> arms;
  arms.reserve(m.arms.size());
  for (const FleetArmStats& a : m.arms) {
    auto A = b.CreateVector(a.stats.A);
    auto B = b.CreateVector(a.stats.b);
    arms.push_back(fb::CreateArmStats(b, a.arm, a.stats.n, a.stats.reward_sum, A, B));
  }
  auto site = b.CreateString(m.site);
  auto av = b.CreateVector(arms);
  auto root = fb::CreateBanditStats(b, m.version, site, m.context_version, m.dim, av);
  fb::FinishBanditStatsBuffer(b, root);
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

}  // namespace disco

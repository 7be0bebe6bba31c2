// Reading and checking the fleet bandit statistics message (disco/fleet_stats.h).
#include "disco/fleet_stats.h"

#include <cmath>
#include <string>

#include "disco/schemas/bandit_stats_generated.h"
#include "text_internal.h"

namespace disco {
using detail::concat;

bool is_fleet_stats_message(const uint8_t* buf, size_t len) {
  return buf != nullptr && len >= 8 && flatbuffers::BufferHasIdentifier(buf, fb::BanditStatsIdentifier());
}

std::string read_fleet_stats(const uint8_t* buf, size_t len, FleetStats* out) {
  if (!is_fleet_stats_message(buf, len)) return "not a bandit statistics message (identifier DSBS missing)";
  flatbuffers::Verifier::Options vo;
  vo.max_depth = 8;
  vo.max_tables = 1u << 16;
  flatbuffers::Verifier v(buf, len, vo);
  if (!fb::VerifyBanditStatsBuffer(v)) return "bandit statistics message is corrupt (FlatBuffers verifier failed)";
  const fb::BanditStats* m = fb::GetBanditStats(buf);
  FleetStats r;
  r.version = m->version();
  if (m->site()) r.site = m->site()->str();
  r.context_version = m->context_version();
  r.dim = m->dim();
  const size_t d = r.dim;
  if (d == 0) return "bandit statistics message has dim 0";
  if (m->arms()) {
    r.arms.reserve(m->arms()->size());
    for (flatbuffers::uoffset_t k = 0; k < m->arms()->size(); ++k) {
      const fb::ArmStats* a = m->arms()->Get(k);
      const std::string where = concat("bandit statistics arms[", k, "] (arm ", a->arm(), ")");
      const size_t na = a->a() ? a->a()->size() : 0, nb = a->b() ? a->b()->size() : 0;
      if (na != d * d || nb != d)
        return concat(where, ": A has ", na, " values and b ", nb, "; dim ", d, " needs ", d * d, " and ", d);
      FleetArmStats x;
      x.arm = a->arm();
      x.stats.n = a->n();
      x.stats.reward_sum = a->reward_sum();
      x.stats.A.assign(a->a()->begin(), a->a()->end());
      x.stats.b.assign(a->b()->begin(), a->b()->end());
      if (!std::isfinite(x.stats.n) || x.stats.n < 0 || !std::isfinite(x.stats.reward_sum))
        return concat(where, ": n must be finite and >= 0 and reward_sum finite");
      for (double y : x.stats.A)
        if (!std::isfinite(y)) return concat(where, ": A has a non-finite value");
      for (double y : x.stats.b)
        if (!std::isfinite(y)) return concat(where, ": b has a non-finite value");
      r.arms.push_back(std::move(x));
    }
  }
  *out = std::move(r);
  return "";
}

std::string fleet_stats_to_bandit(const FleetStats& m, uint32_t n_arms, uint32_t dim, uint32_t context_version,
                                  BanditStats* out) {
  if (m.context_version != context_version)
    return concat("bandit statistics were accumulated on context features v", m.context_version,
                  (m.context_version == 0 ? " (not recorded)" : ""), "; this runtime builds v", context_version,
                  " (runtime/include/disco/context.h)");
  if (m.dim != dim)
    return concat("bandit statistics are for context dim ", m.dim, "; this runtime's bandit uses ", dim,
                  " features (the bundle's context_dim)");
  BanditStats s;
  s.dim = dim;
  s.arms.resize(n_arms);
  for (ArmStats& a : s.arms) {
    a.A.assign(static_cast<size_t>(dim) * dim, 0.0);
    a.b.assign(dim, 0.0);
  }
  std::vector<uint8_t> seen(n_arms, 0);
  for (const FleetArmStats& a : m.arms) {
    if (a.arm >= n_arms)
      return concat("bandit statistics name arm ", a.arm, "; this runtime's bundle has ", n_arms, " arms (0..",
                    n_arms - 1, ")");
    if (seen[a.arm]) return concat("bandit statistics list arm ", a.arm, " twice");
    seen[a.arm] = 1;
    if (a.stats.A.size() != static_cast<size_t>(dim) * dim || a.stats.b.size() != dim)
      return concat("bandit statistics arm ", a.arm, ": A/b sizes do not match dim ", dim);
    s.arms[a.arm] = a.stats;
  }
  *out = std::move(s);
  return "";
}

}  // namespace disco

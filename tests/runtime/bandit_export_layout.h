// Decodes disco_bandit_export's bytes (the runtime's own format, version 1): u32 magic "DSBS",
// u32 version, u32 n_arms, u32 dim, then cereal's BanditStats {u32 dim, u64 n_arms, per arm
// {u64 len, f64 A[len], u64 len, f64 b[len], f64 n, f64 reward_sum}}. For the tests and the fixture
// generator (no GoogleTest here); the runtime reads these bytes with disco_bandit_import.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#include "disco/bandit.h"

namespace rt_test {

// "" on success, else what is wrong with the layout.
inline std::string decode_bandit_export(const uint8_t* buf, size_t len, disco::BanditStats* out) {
  size_t p = 0;
  bool short_read = false;
  auto take = [&](void* dst, size_t n) {
    if (short_read || p + n > len) {
      short_read = true;
      std::memset(dst, 0, n);
      return;
    }
    std::memcpy(dst, buf + p, n);
    p += n;
  };
  uint32_t magic = 0, version = 0, n_arms = 0, dim = 0, dim2 = 0;
  uint64_t n = 0;
  take(&magic, 4), take(&version, 4), take(&n_arms, 4), take(&dim, 4), take(&dim2, 4), take(&n, 8);
  if (magic != 0x53425344u) return "not a bandit export (magic)";
  if (n > 64 || n != n_arms || dim2 != dim) return "inconsistent header (arms / dim)";
  disco::BanditStats s;
  s.dim = dim2;
  s.arms.resize(n);
  for (auto& a : s.arms) {
    uint64_t la = 0, lb = 0;
    take(&la, 8);
    if (la > 4096) return "arm A too long";
    a.A.resize(la);
    take(a.A.data(), la * 8);
    take(&lb, 8);
    if (lb > 64) return "arm b too long";
    a.b.resize(lb);
    take(a.b.data(), lb * 8);
    take(&a.n, 8), take(&a.reward_sum, 8);
  }
  if (short_read) return "truncated at byte " + std::to_string(p);
  if (p != len) return "trailing bytes";
  *out = std::move(s);
  return "";
}

}  // namespace rt_test

// Counter-based randomness keyed by (seed, decision id): the same decision draws the same numbers
// on every platform, in any order of decisions, with no hidden state to save.
//
// Generator: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11),
// checked against the Random123 known-answer vectors in tests/bandit.
//   key (2 x 32 bits) = derive_key(seed, decision_hi, decision_lo): a SplitMix64-finalizer chain,
//                       k = mix(mix(mix(seed) ^ hi) ^ lo), key = {low 32, high 32} of k
//   counter (4 x 32)  = {block low, block high, stream, 0x646973ff}
// `stream` separates independent uses inside one decision (kStreamBandit for the arm choice,
// others free for the caller); `block` counts 128-bit blocks drawn so far in that stream.
// Output order: the four 32-bit words of a block, word 0 first; next_u64() = (w0 << 32) | w1.
// uniform() = (next_u64() >> 11) * 2^-53 in [0, 1); normal() = normal_quantile of
// ((next_u64() >> 11) + 0.5) * 2^-53 (never 0 or 1): one 64-bit draw per normal.
#pragma once
#include <cstdint>

#include "disco/portable_math.h"

namespace disco {

inline constexpr uint32_t kStreamBandit = 0;  // arm choice in Bandit::choose
inline constexpr uint32_t kStreamUser = 16;   // first stream free for other uses

struct Philox4x32 {
  uint32_t v[4];
};

// One Philox4x32-10 block: counter ctr under key (k0, k1).
inline Philox4x32 philox4x32_10(Philox4x32 ctr, uint32_t k0, uint32_t k1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    const uint64_t p0 = static_cast<uint64_t>(kM0) * ctr.v[0];
    const uint64_t p1 = static_cast<uint64_t>(kM1) * ctr.v[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    ctr = Philox4x32{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
  }
  return ctr;
}

// SplitMix64 finalizer (a bijection on 64 bits).
inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t derive_key(uint64_t seed, uint64_t decision_hi, uint64_t decision_lo) {
  return mix64(mix64(mix64(seed) ^ decision_hi) ^ decision_lo);
}

class Rng {
 public:
  Rng(uint64_t seed, uint64_t decision_hi, uint64_t decision_lo, uint32_t stream = kStreamBandit)
      : key_(derive_key(seed, decision_hi, decision_lo)), stream_(stream) {}

  uint32_t next_u32() {
    if (idx_ == 4) refill();
    return buf_.v[idx_++];
  }
  uint64_t next_u64() {
    const uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform in (0, 1), never 0 or 1.
  double uniform_open() { return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53; }
  // Standard normal by inversion (one 64-bit draw per value).
  double normal() { return pmath::normal_quantile(uniform_open()); }
  // Uniform integer in [0, n) by Lemire's multiply-shift with rejection (unbiased); 0 if n == 0.
  uint32_t below(uint32_t n) {
    if (n == 0) return 0;
    uint64_t m = static_cast<uint64_t>(next_u32()) * n;
    uint32_t l = static_cast<uint32_t>(m);
    if (l < n) {
      const uint32_t t = static_cast<uint32_t>(-n) % n;
      while (l < t) {
        m = static_cast<uint64_t>(next_u32()) * n;
        l = static_cast<uint32_t>(m);
      }
    }
    return static_cast<uint32_t>(m >> 32);
  }

  uint64_t key() const { return key_; }
  uint32_t stream() const { return stream_; }
  uint64_t blocks_drawn() const { return block_; }

 private:
  void refill() {
    const Philox4x32 ctr{{static_cast<uint32_t>(block_), static_cast<uint32_t>(block_ >> 32),
                          stream_, 0x646973ffu}};
    buf_ = philox4x32_10(ctr, static_cast<uint32_t>(key_), static_cast<uint32_t>(key_ >> 32));
    ++block_;
    idx_ = 0;
  }
  uint64_t key_;
  uint32_t stream_;
  uint64_t block_ = 0;
  Philox4x32 buf_{};
  uint32_t idx_ = 4;
};

}  // namespace disco

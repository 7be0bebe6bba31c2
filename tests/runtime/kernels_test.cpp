// Every SIMD kernel set equals the scalar reference exactly, on random data with odd lengths,
// padded rows and the int8 extremes (-128, 127).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "disco/kernels.h"

namespace k = disco::kernels;

TEST(RuntimeKernels, SimdEqualsScalarExactly) {
  const k::KernelSet* sets[8];
  const size_t n_sets = k::available_kernels(sets, 8);
  ASSERT_GE(n_sets, 1u);
  EXPECT_STREQ(sets[0]->name, "scalar");
  std::printf("kernel sets here:");
  for (size_t i = 0; i < n_sets; ++i) std::printf(" %s", sets[i]->name);
  std::printf(" (best: %s)\n", k::best_kernels().name);
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(-128, 127);
  const k::KernelSet& ref = k::scalar_kernels();
  for (size_t n : {1, 2, 7, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 100, 127, 128, 129, 257, 1000}) {
    for (size_t pad : {0, 3, 16}) {
      const size_t rows = 37, rb = n + pad, rb4 = (n + 1) / 2 + pad;
      std::vector<int8_t> table(rows * rb), q(n);
      std::vector<uint8_t> table4(rows * rb4);
      for (auto& v : table) v = int8_t(byte(rng));
      for (auto& v : table4) v = uint8_t(byte(rng));
      for (auto& v : q) v = int8_t(byte(rng));
      // Extremes in the first row: the worst case for overflow / saturation.
      for (size_t j = 0; j < n; ++j) table[j] = (j % 2) ? 127 : -128;
      std::vector<int32_t> want(rows), got(rows), want4(rows), got4(rows);
      ref.scan_i8(table.data(), rows, rb, q.data(), n, want.data());
      ref.scan_i4(table4.data(), rows, rb4, q.data(), n, want4.data());
      int32_t naive0 = 0;
      for (size_t j = 0; j < n; ++j) naive0 += int32_t(table[j]) * q[j];
      ASSERT_EQ(want[0], naive0);
      for (size_t s = 0; s < n_sets; ++s) {
        sets[s]->scan_i8(table.data(), rows, rb, q.data(), n, got.data());
        sets[s]->scan_i4(table4.data(), rows, rb4, q.data(), n, got4.data());
        EXPECT_EQ(got, want) << sets[s]->name << " scan_i8 n=" << n << " pad=" << pad;
        EXPECT_EQ(got4, want4) << sets[s]->name << " scan_i4 n=" << n << " pad=" << pad;
        std::vector<float> scales(rows), want_f(rows), got_f(rows);
        for (size_t r = 0; r < rows; ++r) scales[r] = 0.001f + float(r) * 0.0137f;
        ref.score_i8(table.data(), rows, rb, q.data(), n, scales.data(), 0.0123f, want_f.data());
        sets[s]->score_i8(table.data(), rows, rb, q.data(), n, scales.data(), 0.0123f, got_f.data());
        for (size_t r = 0; r < rows; ++r) {
          ASSERT_EQ(want_f[r], (float(want[r]) * scales[r]) * 0.0123f);
          ASSERT_EQ(std::memcmp(&got_f[r], &want_f[r], 4), 0) << sets[s]->name << " score_i8 n=" << n << " r=" << r;
        }
        for (size_t r = 0; r < rows; ++r)
          ASSERT_EQ(sets[s]->dot_i8(table.data() + r * rb, q.data(), n), want[r]) << sets[s]->name << " dot n=" << n;
      }
    }
  }
}

TEST(RuntimeKernels, FirstAboveEqualsScalar) {
  const k::KernelSet* sets[8];
  const size_t n_sets = k::available_kernels(sets, 8);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> U(-1, 1);
  for (size_t n : {0, 1, 7, 8, 9, 31, 64, 257}) {
    std::vector<float> v(n);
    for (auto& x : v) x = U(rng);
    if (n > 3) v[2] = NAN;  // never "above"
    for (float thr : {-2.0f, 0.0f, 0.9f, 2.0f, -INFINITY})
      for (size_t from = 0; from <= n; from += 3) {
        const size_t want = k::scalar_kernels().first_above(v.data(), from, n, thr);
        for (size_t s = 0; s < n_sets; ++s)
          ASSERT_EQ(sets[s]->first_above(v.data(), from, n, thr), want) << sets[s]->name << " n=" << n;
      }
  }
}

TEST(RuntimeKernels, Int4ScalarMatchesNibbleDefinition) {
  // 0x97 = low nibble 7, high nibble 9 -> -7 ; 0x08 -> low -8, high 0.
  const uint8_t row[2] = {0x97, 0x08};
  const int8_t q[4] = {1, 10, 100, 5};
  int32_t out = 0;
  k::scalar_kernels().scan_i4(row, 1, 2, q, 4, &out);
  EXPECT_EQ(out, 7 * 1 + (-7) * 10 + (-8) * 100 + 0 * 5);
}

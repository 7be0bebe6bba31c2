// Built with em++ -msimd128 and run under Node by wasm_kernels_check.sh (CTest RuntimeWasmKernels):
// the wasm_simd128 kernels equal the scalar reference exactly, as the native test checks for x86.
#include <cstdio>
#include <cstring>
#include <vector>

#include "disco/kernels.h"

int main() {
  namespace k = disco::kernels;
  const k::KernelSet* sets[4];
  const size_t ns = k::available_kernels(sets, 4);
  bool has_simd = false;
  for (size_t i = 0; i < ns; ++i) has_simd |= std::strcmp(sets[i]->name, "wasm-simd128") == 0;
  if (!has_simd) {
    std::printf("FAIL: wasm-simd128 kernels not compiled in\n");
    return 1;
  }
  uint64_t st = 88172645463325252ull;
  auto rnd = [&] {
    st ^= st << 13;
    st ^= st >> 7;
    st ^= st << 17;
    return st;
  };
  const k::KernelSet& ref = k::scalar_kernels();
  long checks = 0;
  for (size_t n : {1, 7, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 129, 257}) {
    for (size_t pad : {0, 5, 16}) {
      const size_t rows = 29, rb = n + pad, rb4 = (n + 1) / 2 + pad;
      std::vector<int8_t> t(rows * rb), q(n);
      std::vector<uint8_t> t4(rows * rb4);
      for (auto& v : t) v = int8_t(rnd());
      for (auto& v : t4) v = uint8_t(rnd());
      for (auto& v : q) v = int8_t(rnd());
      for (size_t j = 0; j < n; ++j) t[j] = (j % 2) ? 127 : -128;
      std::vector<float> sc(rows);
      for (size_t r = 0; r < rows; ++r) sc[r] = 0.003f + float(r) * 0.011f;
      std::vector<int32_t> a(rows), b(rows), a4(rows), b4(rows);
      std::vector<float> fa(rows), fb(rows);
      ref.scan_i8(t.data(), rows, rb, q.data(), n, a.data());
      ref.scan_i4(t4.data(), rows, rb4, q.data(), n, a4.data());
      ref.score_i8(t.data(), rows, rb, q.data(), n, sc.data(), 0.0071f, fa.data());
      for (size_t s = 0; s < ns; ++s) {
        sets[s]->scan_i8(t.data(), rows, rb, q.data(), n, b.data());
        sets[s]->scan_i4(t4.data(), rows, rb4, q.data(), n, b4.data());
        sets[s]->score_i8(t.data(), rows, rb, q.data(), n, sc.data(), 0.0071f, fb.data());
        for (size_t r = 0; r < rows; ++r) {
          ++checks;
          if (a[r] != b[r] || a4[r] != b4[r] || std::memcmp(&fa[r], &fb[r], 4) != 0 ||
              sets[s]->dot_i8(t.data() + r * rb, q.data(), n) != a[r]) {
            std::printf("FAIL: %s differs from scalar at n=%zu pad=%zu row=%zu\n", sets[s]->name, n, pad, r);
            return 1;
          }
        }
      }
    }
  }
  std::vector<float> v(77);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(int(rnd() % 2001) - 1000) / 1000.0f;
  for (float thr : {-2.0f, 0.0f, 0.5f, 0.99f, 2.0f})
    for (size_t from = 0; from <= v.size(); ++from)
      for (size_t s = 0; s < ns; ++s)
        if (sets[s]->first_above(v.data(), from, v.size(), thr) != ref.first_above(v.data(), from, v.size(), thr)) {
          std::printf("FAIL: %s first_above differs from scalar\n", sets[s]->name);
          return 1;
        }
  std::printf("OK: %zu kernel sets (best %s) equal the scalar reference on %ld rows\n", ns, k::best_kernels().name,
              checks);
  return 0;
}

// int8 kernels of the runtime: dot products and item-table scans, with a plain scalar reference and
// SIMD versions (SSE4.1 and AVX2 on x86 chosen at run time; wasm_simd128 when built with -msimd128).
// Every version returns exactly the scalar reference's int32 results (integer arithmetic, no
// overflow for any int8 input and n < 2^16), so native and WASM rank items identically.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace disco::kernels {

struct KernelSet {
  const char* name;  // "scalar", "sse4.1", "avx2", "wasm-simd128"
  // sum_i a[i] * b[i]
  int32_t (*dot_i8)(const int8_t* a, const int8_t* b, size_t n);
  // out[r] = dot(row r of an int8 table, q); row r starts at table + r * row_bytes, has n values.
  void (*scan_i8)(const int8_t* table, size_t rows, size_t row_bytes, const int8_t* q, size_t n, int32_t* out);
  // Scores of int8 rows: out[r] = (float(dot(row r, q)) * scales[r]) * q_scale, in exactly this
  // order of IEEE float operations (no FMA), so every set returns identical floats.
  void (*score_i8)(const int8_t* table, size_t rows, size_t row_bytes, const int8_t* q, size_t n, const float* scales,
                   float q_scale, float* out);
  // Smallest i in [from, n) with v[i] > threshold (NaN never is), or n.
  size_t (*first_above)(const float* v, size_t from, size_t n, float threshold);
  // Same for packed int4 rows (low nibble first, 4-bit two's complement, row_bytes >= ceil(n/2)).
  void (*scan_i4)(const uint8_t* table, size_t rows, size_t row_bytes, const int8_t* q, size_t n, int32_t* out);
};

const KernelSet& scalar_kernels();
// The fastest set this CPU / build supports (chosen once).
const KernelSet& best_kernels();
// Every set usable here, scalar first (for tests and benchmarks). Returns the count; fills up to cap.
size_t available_kernels(const KernelSet** out, size_t cap);

}  // namespace disco::kernels

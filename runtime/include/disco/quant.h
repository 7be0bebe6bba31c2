// Symmetric per-row quantization shared by the trainer's export and the runtime (model-spec.md).
//
// int8 rows:  scale = max|row| / 127 (a zero row gets scale 1), q = round_half_away(v / scale)
//             clamped to [-127, 127]; v ~= q * scale.
// int4 rows:  scale = max|row| / 7, q in [-7, 7] as 4-bit two's complement, packed two per byte,
//             low nibble first; each row starts on a byte boundary (row bytes = ceil(cols / 2), an odd
//             row's last high nibble is 0).
// Activations: one vector (x_t, h_{t-1}, u) is quantized exactly like one int8 row.
// All arithmetic is IEEE single precision without libm transcendentals, so the trainer and every
// runtime build (native, WASM) produce identical bytes.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace disco::quant {

inline constexpr float kI8Max = 127.0f;
inline constexpr float kI4Max = 7.0f;

// round half away from zero, exact for every float (no libm).
inline float round_half_away(float x) {
  // |x| >= 2^23 is already an integer (or inf/nan).
  const float ax = x < 0 ? -x : x;
  if (!(ax < 8388608.0f)) return x;
  float t = static_cast<float>(static_cast<int32_t>(ax));  // trunc
  if (ax - t >= 0.5f) t += 1.0f;                            // ax - t is exact for ax < 2^23
  return x < 0 ? -t : t;
}

inline float max_abs(const float* v, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float a = v[i] < 0 ? -v[i] : v[i];
    if (a > m) m = a;
  }
  return m;
}

// Scale for a row/vector with the given max |v| and level count (127 or 7); zero -> 1.
inline float scale_for(float maxabs, float levels) { return maxabs > 0.0f ? maxabs / levels : 1.0f; }

inline int8_t quantize_one(float v, float scale, float levels) {
  float q = round_half_away(v / scale);
  if (q > levels) q = levels;
  if (q < -levels) q = -levels;
  if (q != q) q = 0.0f;  // NaN input
  return static_cast<int8_t>(q);
}

// Quantizes one vector of n floats to int8; returns its scale.
inline float quantize_vector_i8(const float* v, size_t n, int8_t* out) {
  const float s = scale_for(max_abs(v, n), kI8Max);
  for (size_t i = 0; i < n; ++i) out[i] = quantize_one(v[i], s, kI8Max);
  return s;
}

inline size_t i4_row_bytes(size_t cols) { return (cols + 1) / 2; }

// Row-major [rows, cols] floats -> int8 rows [rows * cols] and scales [rows].
void quantize_rows_i8(const float* data, size_t rows, size_t cols, int8_t* out, float* scales);
// Row-major [rows, cols] floats -> packed int4 rows [rows * i4_row_bytes(cols)] and scales [rows].
void quantize_rows_i4(const float* data, size_t rows, size_t cols, uint8_t* out, float* scales);
void dequantize_rows_i8(const int8_t* q, const float* scales, size_t rows, size_t cols, float* out);
void dequantize_rows_i4(const uint8_t* q, const float* scales, size_t rows, size_t cols, float* out);

// Signed value of nibble j (0-based) of a packed int4 row.
inline int8_t i4_get(const uint8_t* row, size_t j) {
  const uint8_t b = row[j >> 1];
  const int nib = (j & 1) ? (b >> 4) : (b & 0x0F);
  return static_cast<int8_t>((nib ^ 8) - 8);
}

}  // namespace disco::quant

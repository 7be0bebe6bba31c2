// Per-row int8 / int4 quantization (see disco/quant.h for the exact rules).
#include "disco/quant.h"

#include <cstring>

namespace disco::quant {

void quantize_rows_i8(const float* data, size_t rows, size_t cols, int8_t* out, float* scales) {
  for (size_t r = 0; r < rows; ++r) scales[r] = quantize_vector_i8(data + r * cols, cols, out + r * cols);
}

void quantize_rows_i4(const float* data, size_t rows, size_t cols, uint8_t* out, float* scales) {
  const size_t rb = i4_row_bytes(cols);
  for (size_t r = 0; r < rows; ++r) {
    const float* row = data + r * cols;
    const float s = scale_for(max_abs(row, cols), kI4Max);
    scales[r] = s;
    uint8_t* o = out + r * rb;
    std::memset(o, 0, rb);
    for (size_t j = 0; j < cols; ++j) {
      const uint8_t nib = static_cast<uint8_t>(quantize_one(row[j], s, kI4Max)) & 0x0F;
      o[j >> 1] |= (j & 1) ? static_cast<uint8_t>(nib << 4) : nib;
    }
  }
}

void dequantize_rows_i8(const int8_t* q, const float* scales, size_t rows, size_t cols, float* out) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t j = 0; j < cols; ++j) out[r * cols + j] = static_cast<float>(q[r * cols + j]) * scales[r];
}

void dequantize_rows_i4(const uint8_t* q, const float* scales, size_t rows, size_t cols, float* out) {
  const size_t rb = i4_row_bytes(cols);
  for (size_t r = 0; r < rows; ++r)
    for (size_t j = 0; j < cols; ++j) out[r * cols + j] = static_cast<float>(i4_get(q + r * rb, j)) * scales[r];
}

}  // namespace disco::quant

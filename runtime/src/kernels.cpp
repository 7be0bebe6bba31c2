// int8 / int4 dot-product kernels: scalar reference, SSE4.1, AVX2 (x86, run-time dispatch through
// __attribute__((target))), wasm_simd128 (compile time). Exactness: products of int8 pairs are
// widened to int16 and summed pairwise into int32 (pmaddwd / i32x4.dot_i16x8_s): no saturation, no
// overflow for |values| <= 128 and n < 65536, so every version equals the scalar sum bit for bit.
#include "disco/kernels.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#define DISCO_X86 1
#include <immintrin.h>
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace disco::kernels {
namespace {

// ---------------------------------------------------------------- scalar reference
int32_t dot_i8_scalar(const int8_t* a, const int8_t* b, size_t n) {
  int32_t s = 0;
  for (size_t i = 0; i < n; ++i) s += int32_t(a[i]) * int32_t(b[i]);
  return s;
}
void scan_i8_scalar(const int8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n, int32_t* out) {
  for (size_t r = 0; r < rows; ++r) out[r] = dot_i8_scalar(t + r * rb, q, n);
}
template <int32_t (*Dot)(const int8_t*, const int8_t*, size_t)>
void score_i8_rows(const int8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n, const float* sc, float qs,
                   float* out) {
  for (size_t r = 0; r < rows; ++r) out[r] = (float(Dot(t + r * rb, q, n)) * sc[r]) * qs;
}
size_t first_above_scalar(const float* v, size_t from, size_t n, float thr) {
  for (size_t i = from; i < n; ++i)
    if (v[i] > thr) return i;
  return n;
}
inline int32_t nib(uint8_t b, bool high) { return int32_t(((high ? (b >> 4) : (b & 15)) ^ 8)) - 8; }
int32_t dot_i4_scalar(const uint8_t* row, const int8_t* q, size_t n) {
  int32_t s = 0;
  for (size_t i = 0; i < n; ++i) s += nib(row[i >> 1], i & 1) * int32_t(q[i]);
  return s;
}
void scan_i4_scalar(const uint8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n, int32_t* out) {
  for (size_t r = 0; r < rows; ++r) out[r] = dot_i4_scalar(t + r * rb, q, n);
}

// ---------------------------------------------------------------- x86
#ifdef DISCO_X86
__attribute__((target("sse4.1"))) inline int32_t hsum128(__m128i v) {
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(v);
}
// 16 int8 of a and b -> 4 int32 partial sums (exact).
__attribute__((target("sse4.1"))) inline __m128i madd16_sse(__m128i a, __m128i b) {
  const __m128i alo = _mm_cvtepi8_epi16(a), blo = _mm_cvtepi8_epi16(b);
  const __m128i ahi = _mm_cvtepi8_epi16(_mm_srli_si128(a, 8)), bhi = _mm_cvtepi8_epi16(_mm_srli_si128(b, 8));
  return _mm_add_epi32(_mm_madd_epi16(alo, blo), _mm_madd_epi16(ahi, bhi));
}
__attribute__((target("sse4.1"))) int32_t dot_i8_sse41(const int8_t* a, const int8_t* b, size_t n) {
  __m128i acc = _mm_setzero_si128();
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    acc = _mm_add_epi32(acc, madd16_sse(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)),
                                        _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i))));
  int32_t s = hsum128(acc);
  for (; i < n; ++i) s += int32_t(a[i]) * int32_t(b[i]);
  return s;
}
void scan_i8_sse41(const int8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n, int32_t* out) {
  for (size_t r = 0; r < rows; ++r) out[r] = dot_i8_sse41(t + r * rb, q, n);
}
// 16 packed bytes (32 int4) -> two vectors of 16 int8 in element order.
__attribute__((target("sse4.1"))) inline void unpack_i4_sse(__m128i packed, __m128i* lo16, __m128i* hi16) {
  const __m128i m = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
  const __m128i lo = _mm_sub_epi8(_mm_xor_si128(_mm_and_si128(packed, m), eight), eight);
  const __m128i hi = _mm_sub_epi8(_mm_xor_si128(_mm_and_si128(_mm_srli_epi16(packed, 4), m), eight), eight);
  *lo16 = _mm_unpacklo_epi8(lo, hi);  // elements 0..15
  *hi16 = _mm_unpackhi_epi8(lo, hi);  // elements 16..31
}
__attribute__((target("sse4.1"))) int32_t dot_i4_sse41(const uint8_t* row, const int8_t* q, size_t n) {
  __m128i acc = _mm_setzero_si128();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m128i e0, e1;
    unpack_i4_sse(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i / 2)), &e0, &e1);
    acc = _mm_add_epi32(acc, madd16_sse(e0, _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i))));
    acc = _mm_add_epi32(acc, madd16_sse(e1, _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i + 16))));
  }
  int32_t s = hsum128(acc);
  for (; i < n; ++i) s += nib(row[i >> 1], i & 1) * int32_t(q[i]);
  return s;
}
void scan_i4_sse41(const uint8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n, int32_t* out) {
  for (size_t r = 0; r < rows; ++r) out[r] = dot_i4_sse41(t + r * rb, q, n);
}

__attribute__((target("avx2"))) inline __m256i madd32_avx2(__m256i a, __m256i b) {
  const __m256i alo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(a));
  const __m256i blo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(b));
  const __m256i ahi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(a, 1));
  const __m256i bhi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(b, 1));
  return _mm256_add_epi32(_mm256_madd_epi16(alo, blo), _mm256_madd_epi16(ahi, bhi));
}
__attribute__((target("avx2"))) inline int32_t hsum256(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}
__attribute__((target("avx2"))) int32_t dot_i8_avx2(const int8_t* a, const int8_t* b, size_t n) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    acc = _mm256_add_epi32(acc, madd32_avx2(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)),
                                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i))));
  if (i + 16 <= n) {
    const __m256i a16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    const __m256i b16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a16, b16));
    i += 16;
  }
  int32_t s = hsum256(acc);
  for (; i < n; ++i) s += int32_t(a[i]) * int32_t(b[i]);
  return s;
}
// The scan processes 4 rows at a time: the query chunk is widened to int16 once per 4 rows, each
// row accumulates 8 int32 lanes, and one hadd tree reduces the 4 rows together.
__attribute__((target("avx2"))) void scan_i8_avx2(const int8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n,
                                                 int32_t* out) {
  size_t r = 0;
  if (n == 32) {  // the common embedding width: fully unrolled
    const __m256i q0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    const __m256i q1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16)));
    for (; r + 4 <= rows; r += 4) {
      __m256i s[4];
      for (int k = 0; k < 4; ++k) {
        const int8_t* row = t + (r + size_t(k)) * rb;
        const __m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row)));
        const __m256i a1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16)));
        s[k] = _mm256_add_epi32(_mm256_madd_epi16(a0, q0), _mm256_madd_epi16(a1, q1));
      }
      const __m256i h01 = _mm256_hadd_epi32(s[0], s[1]);
      const __m256i h23 = _mm256_hadd_epi32(s[2], s[3]);
      const __m256i hh = _mm256_hadd_epi32(h01, h23);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + r),
                       _mm_add_epi32(_mm256_castsi256_si128(hh), _mm256_extracti128_si256(hh, 1)));
    }
    for (; r < rows; ++r) out[r] = dot_i8_avx2(t + r * rb, q, n);
    return;
  }
  const size_t n16 = n & ~size_t(15);
  if (n16 > 0 && n16 <= 256) {
    __m256i qw[16];  // widened query chunks
    for (size_t off = 0; off < n16; off += 16)
      qw[off / 16] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + off)));
    for (; r + 4 <= rows; r += 4) {
      __m256i s[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
      for (size_t off = 0; off < n16; off += 16) {
        const __m256i qc = qw[off / 16];
        for (int k = 0; k < 4; ++k) {
          const int8_t* row = t + (r + size_t(k)) * rb + off;
          const __m256i a = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row)));
          s[k] = _mm256_add_epi32(s[k], _mm256_madd_epi16(a, qc));
        }
      }
      const __m256i h01 = _mm256_hadd_epi32(s[0], s[1]);
      const __m256i h23 = _mm256_hadd_epi32(s[2], s[3]);
      const __m256i hh = _mm256_hadd_epi32(h01, h23);  // per 128-bit half: r0 r1 r2 r3
      __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(hh), _mm256_extracti128_si256(hh, 1));
      if (n16 != n) {  // tails (< 16 values per row), scalar
        alignas(16) int32_t tail[4];
        for (int k = 0; k < 4; ++k) {
          const int8_t* row = t + (r + size_t(k)) * rb;
          int32_t ts = 0;
          for (size_t i = n16; i < n; ++i) ts += int32_t(row[i]) * int32_t(q[i]);
          tail[k] = ts;
        }
        sum = _mm_add_epi32(sum, _mm_load_si128(reinterpret_cast<const __m128i*>(tail)));
      }
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + r), sum);
    }
  }
  for (; r < rows; ++r) out[r] = dot_i8_avx2(t + r * rb, q, n);
}
__attribute__((target("avx2"))) void score_i8_avx2(const int8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n,
                                                  const float* sc, float qs, float* out) {
  size_t r = 0;
  if (n == 32) {
    const __m256i q0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    const __m256i q1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16)));
    const __m128 qsv = _mm_set1_ps(qs);
    for (; r + 4 <= rows; r += 4) {
      __m256i s[4];
      for (int k = 0; k < 4; ++k) {
        const int8_t* row = t + (r + size_t(k)) * rb;
        const __m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row)));
        const __m256i a1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16)));
        s[k] = _mm256_add_epi32(_mm256_madd_epi16(a0, q0), _mm256_madd_epi16(a1, q1));
      }
      const __m256i h01 = _mm256_hadd_epi32(s[0], s[1]);
      const __m256i h23 = _mm256_hadd_epi32(s[2], s[3]);
      const __m256i hh = _mm256_hadd_epi32(h01, h23);
      const __m128i acc = _mm_add_epi32(_mm256_castsi256_si128(hh), _mm256_extracti128_si256(hh, 1));
      // (float(acc) * scale) * q_scale: two separate IEEE multiplies, as in the scalar reference.
      const __m128 f = _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(acc), _mm_loadu_ps(sc + r)), qsv);
      _mm_storeu_ps(out + r, f);
    }
  }
  for (; r < rows; ++r) out[r] = (float(dot_i8_avx2(t + r * rb, q, n)) * sc[r]) * qs;
}
__attribute__((target("avx2"))) size_t first_above_avx2(const float* v, size_t from, size_t n, float thr) {
  const __m256 t = _mm256_set1_ps(thr);
  size_t i = from;
  for (; i + 8 <= n; i += 8) {
    const int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(v + i), t, _CMP_GT_OQ));
    if (m) return i + size_t(__builtin_ctz(unsigned(m)));
  }
  for (; i < n; ++i)
    if (v[i] > thr) return i;
  return n;
}
void scan_i4_avx2(const uint8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n, int32_t* out) {
  scan_i4_sse41(t, rows, rb, q, n, out);  // unpacking dominates; the SSE4.1 path is used as is
}

bool cpu_has(const char* feature) {
  __builtin_cpu_init();
  if (feature[0] == 'a') return __builtin_cpu_supports("avx2");
  return __builtin_cpu_supports("sse4.1");
}
#endif  // DISCO_X86

// ---------------------------------------------------------------- wasm simd128
#if defined(__wasm_simd128__)
__attribute__((always_inline)) inline v128_t madd16_wasm(v128_t a, v128_t b) {
  const v128_t lo = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(a), wasm_i16x8_extend_low_i8x16(b));
  const v128_t hi = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(a), wasm_i16x8_extend_high_i8x16(b));
  return wasm_i32x4_add(lo, hi);
}
__attribute__((always_inline)) inline int32_t hsum_wasm(v128_t v) {
  return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) + wasm_i32x4_extract_lane(v, 2) +
         wasm_i32x4_extract_lane(v, 3);
}
int32_t dot_i8_wasm(const int8_t* a, const int8_t* b, size_t n) {
  v128_t acc = wasm_i32x4_splat(0);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) acc = wasm_i32x4_add(acc, madd16_wasm(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  int32_t s = hsum_wasm(acc);
  for (; i < n; ++i) s += int32_t(a[i]) * int32_t(b[i]);
  return s;
}
// 32 int8 of one row against the widened query (q0..q3) -> 4 int32 partial sums (exact). The row
// is read with i16x8.load8x8_s (load + sign-extend in one instruction, pmovsxbw on x86).
__attribute__((always_inline)) inline v128_t row32_wasm(const int8_t* row, v128_t q0, v128_t q1, v128_t q2, v128_t q3) {
  const v128_t s0 = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8(row), q0),
                                   wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8(row + 8), q1));
  const v128_t s1 = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8(row + 16), q2),
                                   wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8(row + 24), q3));
  return wasm_i32x4_add(s0, s1);
}
// Four rows' partial-sum vectors -> their four totals in one vector (transpose-add with
// unpack-style shuffles instead of 12 lane extracts). Integer adds: exact in any order.
__attribute__((always_inline)) inline v128_t reduce4_wasm(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
  const v128_t u0 = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
  const v128_t u1 = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
  return wasm_i32x4_add(wasm_i32x4_shuffle(u0, u1, 0, 1, 4, 5), wasm_i32x4_shuffle(u0, u1, 2, 3, 6, 7));
}
// General n: 4 rows per iteration, 16-byte chunks, the query widened once per chunk; tails scalar.
__attribute__((always_inline)) inline void scan4_generic_wasm(const int8_t* t, size_t rb, const int8_t* q, size_t n, int32_t* out) {
  const size_t n16 = n & ~size_t(15);
  v128_t s[4] = {wasm_i32x4_splat(0), wasm_i32x4_splat(0), wasm_i32x4_splat(0), wasm_i32x4_splat(0)};
  for (size_t off = 0; off < n16; off += 16) {
    const v128_t qc = wasm_v128_load(q + off);
    const v128_t ql = wasm_i16x8_extend_low_i8x16(qc), qh = wasm_i16x8_extend_high_i8x16(qc);
    for (int k = 0; k < 4; ++k) {
      const int8_t* a = t + size_t(k) * rb + off;
      s[k] = wasm_i32x4_add(s[k], wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8(a), ql),
                                                 wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8(a + 8), qh)));
    }
  }
  v128_t sum = reduce4_wasm(s[0], s[1], s[2], s[3]);
  if (n16 != n) {
    alignas(16) int32_t tail[4];
    for (int k = 0; k < 4; ++k) {
      const int8_t* row = t + size_t(k) * rb;
      int32_t ts = 0;
      for (size_t i = n16; i < n; ++i) ts += int32_t(row[i]) * int32_t(q[i]);
      tail[k] = ts;
    }
    sum = wasm_i32x4_add(sum, wasm_v128_load(tail));
  }
  wasm_v128_store(out, sum);
}
void scan_i8_wasm(const int8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n, int32_t* out) {
  size_t r = 0;
  if (n == 32) {  // the common embedding width: 4 rows per iteration, fully unrolled
    const v128_t qa = wasm_v128_load(q), qb = wasm_v128_load(q + 16);
    const v128_t q0 = wasm_i16x8_extend_low_i8x16(qa), q1 = wasm_i16x8_extend_high_i8x16(qa);
    const v128_t q2 = wasm_i16x8_extend_low_i8x16(qb), q3 = wasm_i16x8_extend_high_i8x16(qb);
    for (; r + 4 <= rows; r += 4) {
      const int8_t* row = t + r * rb;
      wasm_v128_store(out + r, reduce4_wasm(row32_wasm(row, q0, q1, q2, q3), row32_wasm(row + rb, q0, q1, q2, q3),
                                            row32_wasm(row + 2 * rb, q0, q1, q2, q3),
                                            row32_wasm(row + 3 * rb, q0, q1, q2, q3)));
    }
  } else if (n >= 16) {
    for (; r + 4 <= rows; r += 4) scan4_generic_wasm(t + r * rb, rb, q, n, out + r);
  }
  for (; r < rows; ++r) out[r] = dot_i8_wasm(t + r * rb, q, n);
}
int32_t dot_i4_wasm(const uint8_t* row, const int8_t* q, size_t n) {
  const v128_t m = wasm_i8x16_splat(0x0F), eight = wasm_i8x16_splat(8);
  v128_t acc = wasm_i32x4_splat(0);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const v128_t p = wasm_v128_load(row + i / 2);
    const v128_t lo = wasm_i8x16_sub(wasm_v128_xor(wasm_v128_and(p, m), eight), eight);
    const v128_t hi = wasm_i8x16_sub(wasm_v128_xor(wasm_v128_and(wasm_u8x16_shr(p, 4), m), eight), eight);
    const v128_t e0 = wasm_i8x16_shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const v128_t e1 = wasm_i8x16_shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    acc = wasm_i32x4_add(acc, madd16_wasm(e0, wasm_v128_load(q + i)));
    acc = wasm_i32x4_add(acc, madd16_wasm(e1, wasm_v128_load(q + i + 16)));
  }
  int32_t s = hsum_wasm(acc);
  for (; i < n; ++i) s += nib(row[i >> 1], i & 1) * int32_t(q[i]);
  return s;
}
void scan_i4_wasm(const uint8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n, int32_t* out) {
  for (size_t r = 0; r < rows; ++r) out[r] = dot_i4_wasm(t + r * rb, q, n);
}
#endif

const KernelSet kScalar{"scalar", dot_i8_scalar, scan_i8_scalar, score_i8_rows<dot_i8_scalar>, first_above_scalar,
                        scan_i4_scalar};
#ifdef DISCO_X86
const KernelSet kSse41{"sse4.1", dot_i8_sse41, scan_i8_sse41, score_i8_rows<dot_i8_sse41>, first_above_scalar,
                       scan_i4_sse41};
const KernelSet kAvx2{"avx2", dot_i8_avx2, scan_i8_avx2, score_i8_avx2, first_above_avx2, scan_i4_avx2};
#endif
#if defined(__wasm_simd128__)
size_t first_above_wasm(const float* v, size_t from, size_t n, float thr) {
  const v128_t t = wasm_f32x4_splat(thr);
  size_t i = from;
  for (; i + 4 <= n; i += 4) {
    const uint32_t m = wasm_i32x4_bitmask(wasm_f32x4_gt(wasm_v128_load(v + i), t));
    if (m) return i + size_t(__builtin_ctz(m));
  }
  for (; i < n; ++i)
    if (v[i] > thr) return i;
  return n;
}
void score_i8_wasm(const int8_t* t, size_t rows, size_t rb, const int8_t* q, size_t n, const float* sc, float qs,
                   float* out) {
  size_t r = 0;
  if (n == 32) {  // fused: 4 rows per iteration, integer totals -> float scores without leaving SIMD
    const v128_t qa = wasm_v128_load(q), qb = wasm_v128_load(q + 16);
    const v128_t q0 = wasm_i16x8_extend_low_i8x16(qa), q1 = wasm_i16x8_extend_high_i8x16(qa);
    const v128_t q2 = wasm_i16x8_extend_low_i8x16(qb), q3 = wasm_i16x8_extend_high_i8x16(qb);
    const v128_t qsv = wasm_f32x4_splat(qs);
    for (; r + 4 <= rows; r += 4) {
      const int8_t* row = t + r * rb;
      const v128_t acc = reduce4_wasm(row32_wasm(row, q0, q1, q2, q3), row32_wasm(row + rb, q0, q1, q2, q3),
                                      row32_wasm(row + 2 * rb, q0, q1, q2, q3), row32_wasm(row + 3 * rb, q0, q1, q2, q3));
      // (float(acc) * scale) * q_scale: two separate IEEE multiplies, as in the scalar reference.
      wasm_v128_store(out + r, wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), wasm_v128_load(sc + r)), qsv));
    }
  }
  for (; r < rows; ++r) out[r] = (float(dot_i8_wasm(t + r * rb, q, n)) * sc[r]) * qs;
}
const KernelSet kWasm{"wasm-simd128", dot_i8_wasm, scan_i8_wasm, score_i8_wasm, first_above_wasm, scan_i4_wasm};
#endif

}  // namespace

const KernelSet& scalar_kernels() { return kScalar; }

size_t available_kernels(const KernelSet** out, size_t cap) {
  size_t n = 0;
  auto add = [&](const KernelSet* k) {
    if (n < cap) out[n] = k;
    ++n;
  };
  add(&kScalar);
#ifdef DISCO_X86
  if (cpu_has("sse4.1")) add(&kSse41);
  if (cpu_has("avx2")) add(&kAvx2);
#endif
#if defined(__wasm_simd128__)
  add(&kWasm);
#endif
  return n;
}

const KernelSet& best_kernels() {
  static const KernelSet* best = [] {
    const KernelSet* all[4];
    const size_t n = available_kernels(all, 4);
    return all[n < 4 ? n - 1 : 3];
  }();
  return *best;
}

}  // namespace disco::kernels

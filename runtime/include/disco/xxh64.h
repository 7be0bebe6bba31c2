// XXH64 (xxHash, 64-bit), the bundle payload checksum. Portable, no allocation, no libm.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* XXH64 of `len` bytes at `data` with `seed` (bundles use seed 0). data may be NULL when len == 0. */
uint64_t disco_xxh64(const void* data, size_t len, uint64_t seed);
#ifdef __cplusplus
}
namespace disco {
inline uint64_t xxh64(const void* data, size_t len, uint64_t seed = 0) { return disco_xxh64(data, len, seed); }
}  // namespace disco
#endif

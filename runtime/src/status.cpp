// Status strings and the per-thread last-error message of the C ABI.
#include "disco/disco.h"
#include "status_internal.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

// Per thread; the WASM build has no threads (no -pthread), so plain statics there: no TLS block to
// set up (__tls_init and its TLS globals: 123 B gzip of disco-simd.wasm).
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
#define DISCO_THREAD_LOCAL
#else
#define DISCO_THREAD_LOCAL thread_local
#endif

namespace disco::detail {
namespace {
DISCO_THREAD_LOCAL std::string g_last_error;
// A message composed without allocating (an exception's, or one while memory is short); used when
// g_fixed_active is set.
DISCO_THREAD_LOCAL char g_fixed[256];
DISCO_THREAD_LOCAL bool g_fixed_active = false;

void append(char* buf, size_t cap, size_t* at, const char* s) noexcept {
  while (s && *s && *at + 1 < cap) buf[(*at)++] = *s++;
  buf[*at] = '\0';
}
}  // namespace

disco_status fail(disco_status status, std::string message) noexcept {
  g_last_error = std::move(message);  // a move: no allocation, no throw
  g_fixed_active = false;
  return status;
}

disco_status fail_pieces(disco_status status, std::initializer_list<Piece> pieces) {
  return fail(status, concat_pieces(pieces));  // building the message may throw (bad_alloc): the guard's part
}

disco_status fail_fixed(disco_status status, const char* prefix, const char* what) noexcept {
  size_t at = 0;
  g_fixed[0] = '\0';
  append(g_fixed, sizeof g_fixed, &at, prefix);
  append(g_fixed, sizeof g_fixed, &at, what);
  g_fixed_active = true;
  return status;
}

#if DISCO_HAS_EXCEPTIONS
disco_status fail_current_exception(const char* what) noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return fail_fixed(DISCO_ERR_OUT_OF_MEMORY, "out of memory while ", what);
  } catch (const std::exception& e) {
    fail_fixed(DISCO_ERR_INTERNAL, "internal error while ", what);
    size_t at = std::strlen(g_fixed);
    append(g_fixed, sizeof g_fixed, &at, ": ");
    append(g_fixed, sizeof g_fixed, &at, e.what());
    return DISCO_ERR_INTERNAL;
  } catch (...) {
    return fail_fixed(DISCO_ERR_INTERNAL, "internal error while ", what);
  }
}
#endif

disco_status read_sized(const void* in, void* out, uint32_t struct_size, uint32_t reserved_offset,
                        const char* type_name, const char* defaults_fn) {
  uint32_t size = 0, reserved = 0;
  std::memcpy(&size, in, sizeof size);
  const unsigned char* bytes = static_cast<const unsigned char*>(in);
  const bool fits = size >= struct_size && size <= kMaxOptionsSize;
  bool unknown = false;  // a field this runtime does not know is set: beyond its struct, or reserved_
  if (fits) {
    for (uint32_t i = struct_size; i < size; ++i) unknown |= bytes[i] != 0;
    std::memcpy(&reserved, bytes + reserved_offset, sizeof reserved);
    unknown |= reserved != 0;
  }
  if (!fits || unknown) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  fits ? "%s.size is %u: it sets a field beyond this runtime's %u bytes (upgrade it) or reserved_ (0 "
                         "in %s())"
                       : "%s.size is %u, not %u: fill it with %s() first",
                  type_name, unsigned(size), unsigned(struct_size), defaults_fn);
    return fail(DISCO_ERR_INVALID_ARGUMENT, msg);
  }
  std::memcpy(out, in, struct_size);
  std::memcpy(out, &struct_size, sizeof struct_size);
  return DISCO_OK;
}

void clear_error() noexcept {
  g_last_error.clear();
  g_fixed_active = false;
}
const char* last_error() noexcept { return g_fixed_active ? g_fixed : g_last_error.c_str(); }
}  // namespace disco::detail

// Neither function below allocates or can throw: no guard needed.
extern "C" const char* disco_status_string(disco_status status) DISCO_NOEXCEPT {
  switch (status) {
    case DISCO_OK: return "ok";
    case DISCO_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DISCO_ERR_BUNDLE_FORMAT: return "bundle format error";
    case DISCO_ERR_CHECKSUM: return "checksum mismatch";
    case DISCO_ERR_SIGNATURE: return "signature invalid";
    case DISCO_ERR_VERSION: return "unsupported schema version";
    case DISCO_ERR_SHAPE: return "tensor shape mismatch";
    case DISCO_ERR_UNKNOWN_ITEM: return "unknown item";
    case DISCO_ERR_STATE: return "invalid saved state";
    case DISCO_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case DISCO_ERR_NOT_FOUND: return "not found";
    case DISCO_ERR_DUPLICATE: return "duplicate";
    case DISCO_ERR_UNSUPPORTED: return "unsupported in this build";
    case DISCO_ERR_OUT_OF_MEMORY: return "out of memory";
    case DISCO_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

extern "C" const char* disco_last_error(void) DISCO_NOEXCEPT { return disco::detail::last_error(); }

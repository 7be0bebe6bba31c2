// Internal helpers for the C ABI's error reporting, and the one guard every extern "C" function
// of the runtime runs its body under (no C++ exception crosses the ABI).
#pragma once
#include <string>
#include "disco/disco.h"

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define DISCO_HAS_EXCEPTIONS 1
#else
#define DISCO_HAS_EXCEPTIONS 0
#endif

namespace disco::detail {
// Records `message` as this thread's last error and returns `status`. Does not throw (the message
// is moved in; building it is the caller's part and runs inside the guard).
disco_status fail(disco_status status, std::string message) noexcept;
// The same without allocating: "<prefix><what>" into a fixed per-thread buffer (truncated).
disco_status fail_fixed(disco_status status, const char* prefix, const char* what) noexcept;
void clear_error() noexcept;
const char* last_error() noexcept;

#if DISCO_HAS_EXCEPTIONS
// Call only from a catch block: maps the exception in flight to a status and a message naming
// `what` the call was doing (std::bad_alloc -> DISCO_ERR_OUT_OF_MEMORY, any other ->
// DISCO_ERR_INTERNAL with its what()), without allocating.
disco_status fail_current_exception(const char* what) noexcept;
#endif

// The guard of the C ABI: runs `body` (a callable returning disco_status) and turns any exception
// it throws into a status + disco_last_error(). `what` says what the call was doing, as in
// "out of memory while making an offer". The WASM build compiles with -fno-exceptions (allocation
// failure aborts there), so the guard is then a plain call.
template <class F>
inline disco_status guarded(const char* what, F&& body) noexcept {
#if DISCO_HAS_EXCEPTIONS
  try {
    return body();
  } catch (...) {
    return fail_current_exception(what);
  }
#else
  (void)what;
  return body();
#endif
}

// The same for the few ABI functions that return a value instead of a status (sizes) or nothing
// (the *_free functions): `fallback` on an exception, the message in disco_last_error().
template <class T, class F>
inline T guarded_value(const char* what, T fallback, F&& body) noexcept {
#if DISCO_HAS_EXCEPTIONS
  try {
    return body();
  } catch (...) {
    fail_current_exception(what);
    return fallback;
  }
#else
  (void)what;
  (void)fallback;
  return body();
#endif
}

template <class F>
inline void guarded_void(const char* what, F&& body) noexcept {
  guarded(what, [&] {
    body();
    return DISCO_OK;
  });
}
}  // namespace disco::detail

#include <cstring>

namespace disco::detail {
// Reads a sized options struct (disco.h, "Growing the ABI") over the defaults already in *out:
// the fields within in->size are the caller's. Refused with DISCO_ERR_INVALID_ARGUMENT: size 0 or
// one below min_size (not filled by `defaults_fn`, or a disco.h before ABI 2), above
// kMaxOptionsSize (not a struct size: read no further), or above sizeof(T) with a nonzero byte
// beyond it (a newer caller sets a field this runtime does not know), or a nonzero reserved_.
inline constexpr uint32_t kMaxOptionsSize = 256;
template <class T>
disco_status read_sized(const T* in, uint32_t min_size, const char* type_name, const char* defaults_fn, T* out) {
  uint32_t size = 0;
  std::memcpy(&size, in, sizeof size);
  const std::string known = std::to_string(min_size == sizeof(T) ? sizeof(T) : min_size) +
                            (min_size == sizeof(T) ? "" : ".." + std::to_string(sizeof(T)));
  if (size < min_size || size > kMaxOptionsSize)
    return fail(DISCO_ERR_INVALID_ARGUMENT,
                std::string(type_name) + ".size is " + std::to_string(size) + "; this runtime (ABI " +
                    std::to_string(DISCO_ABI_VERSION) + ") reads size " + known + ": fill the struct with " + defaults_fn +
                    "() before setting its fields (a caller built against a disco.h before ABI 2 must be rebuilt)");
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(in);
  for (uint32_t i = uint32_t(sizeof(T)); i < size; ++i)
    if (bytes[i] != 0)
      return fail(DISCO_ERR_INVALID_ARGUMENT,
                  std::string(type_name) + " is " + std::to_string(size) + " bytes with a field set at byte " +
                      std::to_string(i) + ", beyond the " + std::to_string(sizeof(T)) + " bytes this runtime (ABI " +
                      std::to_string(DISCO_ABI_VERSION) + ") knows: the caller was built against a newer disco.h; upgrade the runtime");
  std::memcpy(static_cast<void*>(out), in, size < sizeof(T) ? size : sizeof(T));
  out->size = uint32_t(sizeof(T));
  if (out->reserved_ != 0)
    return fail(DISCO_ERR_INVALID_ARGUMENT, std::string(type_name) + ".reserved_ is " + std::to_string(out->reserved_) + "; it must be 0");
  return DISCO_OK;
}
}  // namespace disco::detail

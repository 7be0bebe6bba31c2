// Internal helpers for the C ABI's error reporting, and the one guard every extern "C" function
// of the runtime runs its body under (no C++ exception crosses the ABI).
#pragma once
#include <cstddef>
#include <string>

#include "disco/disco.h"
#include "text_internal.h"

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define DISCO_HAS_EXCEPTIONS 1
#else
#define DISCO_HAS_EXCEPTIONS 0
#endif

// The guarded bodies are inlined first, so the optimizer sees each ABI function as if unwrapped
// (without it, clang -Oz inlines other helpers into them differently: +1.5 KB of wasm).
#if defined(__GNUC__) || defined(__clang__)
#define DISCO_GUARD_INLINE __attribute__((always_inline))
#else
#define DISCO_GUARD_INLINE
#endif

namespace disco::detail {
// Records `message` as this thread's last error and returns `status`. Does not throw (the message
// is moved in; building it is the caller's part and runs inside the guard).
disco_status fail(disco_status status, std::string message) noexcept;
// The same with the message joined from pieces (text_internal.h: exactly what the chain
// "a" + std::to_string(n) + s gives), in one call per site: fail(DISCO_ERR_SHAPE, "got ", n, " rows").
disco_status fail_pieces(disco_status status, std::initializer_list<Piece> pieces);
template <class... A>
DISCO_PIECES_INLINE inline disco_status fail(disco_status status, const A&... pieces) {
  return fail_pieces(status, {Piece(pieces)...});
}
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
DISCO_GUARD_INLINE inline disco_status guarded(const char* what, F&& body) noexcept {
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
DISCO_GUARD_INLINE inline T guarded_value(const char* what, T fallback, F&& body) noexcept {
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
DISCO_GUARD_INLINE inline void guarded_void(const char* what, F&& body) noexcept {
  guarded(what, [&]() DISCO_GUARD_INLINE {
    body();
    return DISCO_OK;
  });
}
}  // namespace disco::detail

namespace disco::detail {
// Reads a sized options struct (disco.h, "Growing the ABI") of `struct_size` bytes (this runtime's
// sizeof) over the defaults already in *out: the bytes within the caller's size (its first
// uint32_t) are the caller's, then out's size is set to struct_size. Refused with
// DISCO_ERR_INVALID_ARGUMENT, by name: size below struct_size (not filled by `defaults_fn`, or a
// disco.h before ABI 2) or above kMaxOptionsSize (not a struct size: read no further), a nonzero
// byte beyond struct_size (a newer caller sets a field this runtime does not know), or a nonzero
// uint32_t reserved_ at reserved_offset.
inline constexpr uint32_t kMaxOptionsSize = 256;
disco_status read_sized(const void* in, void* out, uint32_t struct_size, uint32_t reserved_offset,
                        const char* type_name, const char* defaults_fn);
template <class T>
disco_status read_sized(const T* in, const char* type_name, const char* defaults_fn, T* out) {
  return read_sized(in, out, uint32_t(sizeof(T)), uint32_t(offsetof(T, reserved_)), type_name, defaults_fn);
}
}  // namespace disco::detail

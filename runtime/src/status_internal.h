// Internal helpers for the C ABI's error reporting.
#pragma once
#include <string>
#include "disco/disco.h"

namespace disco::detail {
// Records `message` as this thread's last error and returns `status`.
disco_status fail(disco_status status, std::string message);
void clear_error();
const char* last_error();
}  // namespace disco::detail

// No exception may cross the C ABI. Native builds catch at the boundary; the WASM build compiles
// with -fno-exceptions (allocation failure aborts there), so the macros reduce to a plain block.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#include <new>
#define DISCO_TRY try
#define DISCO_CATCH_ALL(what)                                                                  \
  catch (const std::bad_alloc&) {                                                              \
    return ::disco::detail::fail(DISCO_ERR_OUT_OF_MEMORY, "out of memory while " what);        \
  }                                                                                            \
  catch (...) {                                                                                \
    return ::disco::detail::fail(DISCO_ERR_INTERNAL, "unexpected internal error while " what); \
  }
#else
#define DISCO_TRY
#define DISCO_CATCH_ALL(what)
#endif

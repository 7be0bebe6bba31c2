// Status strings and the per-thread last-error message of the C ABI.
#include "disco/disco.h"
#include "status_internal.h"

#include <string>

namespace disco::detail {
namespace {
thread_local std::string g_last_error;
}
disco_status fail(disco_status status, std::string message) {
  g_last_error = std::move(message);
  return status;
}
void clear_error() { g_last_error.clear(); }
const char* last_error() { return g_last_error.c_str(); }
}  // namespace disco::detail

extern "C" const char* disco_status_string(disco_status status) {
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

extern "C" const char* disco_last_error(void) { return disco::detail::last_error(); }

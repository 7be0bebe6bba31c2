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

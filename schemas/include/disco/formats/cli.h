// Number checks for the command-line programs (CLI11): every number an option takes is read whole
// and within its range, or the program ends with "--flag: expected ..., got 'text'" and a
// non-zero exit. (CLI11 2.1 alone reads "-1" into an unsigned integer as its two's complement and
// a number past the type's range as its maximum.) Includes CLI11: include it only from a .cpp
// that has main, never from a library header.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace disco::cli {

inline std::string num_text(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

// An integer in [lo, hi], decimal digits only (a leading '-' only when lo < 0).
inline CLI::Validator Int(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& v) -> std::string {
        bool ok = !v.empty();
        if (ok && lo >= 0) {
          uint64_t x = 0;
          const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
          ok = ec == std::errc() && end == v.data() + v.size() && x >= uint64_t(lo) && x <= uint64_t(hi);
        } else if (ok) {
          int64_t x = 0;
          const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
          ok = ec == std::errc() && end == v.data() + v.size() && x >= lo && x <= hi;
        }
        return ok ? std::string()
                  : "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + v + "'";
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

// Any unsigned 64-bit integer (seeds).
inline CLI::Validator Uint64() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        uint64_t x = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
        return !v.empty() && ec == std::errc() && end == v.data() + v.size()
                   ? std::string()
                   : "expected an integer in [0, 2^64), got '" + v + "'";
      },
      "UINT64");
}

// A finite number in [lo, hi] (open at an end when the flag says so).
inline CLI::Validator Real(double lo, double hi, bool lo_open = false, bool hi_open = false) {
  const std::string range = std::string(lo_open ? "(" : "[") + num_text(lo) + ", " + num_text(hi) + (hi_open ? ")" : "]");
  return CLI::Validator(
      [=](std::string& v) -> std::string {
        char* end = nullptr;
        const double x = v.empty() ? NAN : std::strtod(v.c_str(), &end);
        const bool ok = !v.empty() && *end == '\0' && std::isfinite(x) && (lo_open ? x > lo : x >= lo) &&
                        (hi_open ? x < hi : x <= hi);
        return ok ? std::string() : "expected a number in " + range + ", got '" + v + "'";
      },
      "NUMBER in " + range);
}

}  // namespace disco::cli

// The two text encodings every C++ writer of disco's files shares: one CSV field (RFC 4180, the
// canonical log the collector exports, disco-train writes and disco::data reads) and one JSON
// string literal (reports, disco-ingest's summary, the collector). Header-only, standard library
// only, so the runtime CLI, the collector and the trainer all link it (CMake target
// disco::formats) without depending on each other.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace disco::formats {

// `v` as one CSV field: as it is, or quoted (doubled quotes inside) when it holds a comma, a quote
// or a line end. disco::data::CsvReader reads it back unchanged.
inline std::string csv_field(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string q = "\"";
  for (char c : v) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

// A C string (SQLite's text columns): null is the empty field.
inline std::string csv_field(const char* s) { return s ? csv_field(std::string_view(s)) : std::string(); }
inline std::string csv_field(const std::string& s) { return csv_field(std::string_view(s)); }

// `s` as a JSON string literal: quotes, backslash and control characters escaped, other bytes
// (UTF-8 included) copied as they are.
inline std::string json_str(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

}  // namespace disco::formats

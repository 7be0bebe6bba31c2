// Small text helpers shared by the quality report (disco::data), disco-ingest and the evaluation
// report (disco::eval): a JSON string literal (disco::formats), a JSON number, HTML escaping and
// thousands separators. Header-only, standard library only.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "disco/formats/text.h"

namespace disco::data {

// `s` as a JSON string literal (disco::formats, shared with the collector).
using disco::formats::json_str;

// `v` as a JSON number (%.10g); NaN and infinities, which JSON cannot hold, as null.
inline std::string json_num(double v) {
  if (!std::isfinite(v)) return "null";
  char b[64];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

// `s` with the five HTML-special characters escaped, for text and attribute values.
inline std::string html_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

// 1234567 -> "1,234,567"
inline std::string thousands(uint64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

}  // namespace disco::data

// Cart-level arms (cart.h): the --cart-arm spec and expiry. The ground truth is in environment.cpp
// (Environment::draw_cart), the online loop with a cart decision in simulate.cpp.
#include "disco/sim/cart.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace disco::sim {

int64_t CartArm::expires_at(int64_t decision_ts) const {
  int64_t e = lifetime_ms > 0 ? decision_ts + lifetime_ms : INT64_MAX;
  if (window_end_ms != 0) e = std::min(e, window_end_ms);
  return e;
}

CartArm parse_cart_arm(std::string_view spec, int64_t start_ms) {
  std::vector<std::string_view> parts;
  for (size_t pos = 0;;) {
    const size_t c = spec.find(':', pos);
    parts.push_back(spec.substr(pos, c == std::string_view::npos ? std::string_view::npos : c - pos));
    if (c == std::string_view::npos) break;
    pos = c + 1;
  }
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("cart arm '" + std::string(spec) + "': " + why +
                                 " (expected percent:P:MIN, fixed:A:MIN or free-shipping:MIN, then optionally "
                                 ":LIFETIME_S and :START_H:END_H)");
  };
  auto num = [&](size_t k, const char* what) {
    if (k >= parts.size()) throw bad(std::string("missing ") + what);
    const std::string s(parts[k]);
    double v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v) || v < 0)
      throw bad(std::string(what) + " must be a number >= 0, got '" + s + "'");
    return v;
  };
  CartArm a;
  size_t k = 1;
  const std::string_view kind = parts[0];
  if (kind == "percent") {
    a.kind = ArmKind::Percent;
    const double p = num(k++, "P");
    if (p <= 0 || p >= 100) throw bad("P must be in (0, 100)");
    a.value = p / 100.0;
  } else if (kind == "fixed") {
    a.kind = ArmKind::FixedAmount;
    a.value = num(k++, "A");
    if (a.value <= 0) throw bad("A must be > 0");
  } else if (kind == "free-shipping") {
    a.kind = ArmKind::FreeShipping;
    a.merchant_cost = kShippingMerchantCost;
  } else {
    throw bad("unknown kind '" + std::string(kind) + "'");
  }
  a.min_spend = num(k++, "MIN");
  if (k < parts.size()) a.lifetime_ms = int64_t(std::llround(num(k++, "LIFETIME_S") * 1000.0));
  if (k < parts.size()) {
    const double h0 = num(k++, "START_H"), h1 = num(k++, "END_H");
    if (!(h1 > h0)) throw bad("END_H must be after START_H");
    a.window_start_ms = start_ms + int64_t(std::llround(h0 * 3600000.0));
    a.window_end_ms = start_ms + int64_t(std::llround(h1 * 3600000.0));
  }
  if (k != parts.size()) throw bad("too many parts");
  char buf[96];
  if (a.kind == ArmKind::Percent)
    std::snprintf(buf, sizeof buf, "%g%%-over-%g", a.value * 100.0, a.min_spend);
  else if (a.kind == ArmKind::FixedAmount)
    std::snprintf(buf, sizeof buf, "%g-off-over-%g", a.value, a.min_spend);
  else
    std::snprintf(buf, sizeof buf, "free-shipping-over-%g", a.min_spend);
  a.name = buf;
  return a;
}

}  // namespace disco::sim

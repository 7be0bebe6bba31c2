// The offer-policy file (offer_policy.h, schemas/offer-policy.schema.json): parse, validate with
// JSON paths in every error, resolve names against the catalog, write into the bundle spec.
#include "disco/model/offer_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "disco/data/dates.h"
#include "disco/model/config.h"
#include "disco/model/export.h"
#include "disco/sim/arms.h"

namespace disco::model {
namespace {

using json = nlohmann::json;

constexpr uint32_t kMaxLifetimeS = 31536000;  // one year
constexpr size_t kMaxPolicyArms = 32;          // the runtime's eligible-arm masks are 32 bits

struct Ctx {
  const std::string& source;
  [[noreturn]] void fail(const std::string& path, const std::string& why) const {
    throw TrainError(source + ": " + path + ": " + why);
  }
};

std::string num_str(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

std::string kind_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a number";
  }
}

// The object's keys must be among `allowed`.
void only_keys(const Ctx& c, const json& o, const std::string& path, std::initializer_list<const char*> allowed) {
  for (auto it = o.begin(); it != o.end(); ++it) {
    bool ok = false;
    for (const char* k : allowed) ok = ok || it.key() == k;
    if (ok) continue;
    std::string list;
    for (const char* k : allowed) list += std::string(list.empty() ? "" : ", ") + k;
    c.fail(path + "." + it.key(), "unknown field (expected one of: " + list + ")");
  }
}

const json& object_at(const Ctx& c, const json& v, const std::string& path) {
  if (!v.is_object()) c.fail(path, "must be an object, got " + kind_of(v));
  return v;
}

double number(const Ctx& c, const json& v, const std::string& path, double lo, double hi, bool lo_open = false) {
  if (!v.is_number()) c.fail(path, "must be a number, got " + kind_of(v) + " " + v.dump());
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi || (lo_open && x == lo))
    c.fail(path, "must be in " + std::string(lo_open ? "(" : "[") + num_str(lo) + ", " + num_str(hi) +
                     "], got " + v.dump());
  return x;
}

uint32_t integer(const Ctx& c, const json& v, const std::string& path, uint32_t lo, uint32_t hi) {
  const double x = v.is_number() ? v.get<double>() : 0.0;
  if (!v.is_number() || x != std::floor(x))
    c.fail(path, "must be an integer, got " + (v.is_number() ? v.dump() : kind_of(v)));
  if (x < lo || x > hi) c.fail(path, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + v.dump());
  return uint32_t(x);
}

std::string name_at(const Ctx& c, const json& v, const std::string& path) {
  if (!v.is_string()) c.fail(path, "must be a string, got " + kind_of(v));
  const std::string s = v.get<std::string>();
  if (s.empty() || s.size() > 64) c.fail(path, "must be 1..64 characters, got " + std::to_string(s.size()));
  return s;
}

std::vector<std::string> names_at(const Ctx& c, const json& v, const std::string& path) {
  if (!v.is_array()) c.fail(path, "must be an array of names, got " + kind_of(v));
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    std::string s = name_at(c, v[i], p);
    if (!seen.insert(s).second) c.fail(p, "'" + s + "' is listed twice");
    out.push_back(std::move(s));
  }
  return out;
}

int64_t timestamp_at(const Ctx& c, const json& v, const std::string& path) {
  int64_t ms = 0;
  if (!v.is_string() || !parse_utc_timestamp(v.get<std::string>(), &ms))
    c.fail(path, "must be a UTC time like 2026-11-27T00:00:00Z, got " + v.dump());
  if (ms <= 0) c.fail(path, "must be after 1970-01-01T00:00:00Z, got " + v.dump());
  return ms;
}

PolicyArm parse_arm(const Ctx& c, const json& a, const std::string& path, size_t index) {
  object_at(c, a, path);
  only_keys(c, a, path, {"name", "kind", "value", "merchant_cost", "scope", "min_spend", "lifetime_s", "window", "eligibility"});
  PolicyArm arm;
  if (!a.contains("name")) c.fail(path, "missing required field 'name'");
  arm.name = name_at(c, a["name"], path + ".name");
  if (!a.contains("kind")) c.fail(path, "missing required field 'kind' (percent, fixed_amount or free_shipping)");
  const json& k = a["kind"];
  const std::string kind = k.is_string() ? k.get<std::string>() : "";
  if (kind == "percent") arm.kind = ArmKindSpec::Percent;
  else if (kind == "fixed_amount") arm.kind = ArmKindSpec::FixedAmount;
  else if (kind == "free_shipping") arm.kind = ArmKindSpec::FreeShipping;
  else c.fail(path + ".kind", "must be percent, fixed_amount or free_shipping, got " + k.dump());
  if (arm.kind == ArmKindSpec::FreeShipping) {
    if (a.contains("value") && !(a["value"].is_number() && a["value"].get<double>() == 0))
      c.fail(path + ".value", "a free_shipping arm has no value (its cost is merchant_cost)");
    if (!a.contains("merchant_cost")) c.fail(path, "a free_shipping arm needs 'merchant_cost' (what shipping costs per order)");
    arm.merchant_cost = number(c, a["merchant_cost"], path + ".merchant_cost", 0, 1e9);
  } else {
    if (a.contains("merchant_cost")) c.fail(path + ".merchant_cost", "only free_shipping arms have a merchant_cost");
    if (!a.contains("value"))
      c.fail(path, std::string("missing required field 'value' (") +
                       (arm.kind == ArmKindSpec::Percent ? "fraction of the price, 0..1)" : "currency units off)"));
    if (arm.kind == ArmKindSpec::Percent) {
      const json& v = a["value"];
      if (v.is_number() && v.get<double>() > 1 && v.get<double>() <= 100)
        c.fail(path + ".value", "must be a fraction in [0, 1] (0.1 = 10 %), got " + v.dump());
      arm.value = number(c, v, path + ".value", 0, 1);
    } else {
      arm.value = number(c, a["value"], path + ".value", 0, 1e9, true);
    }
  }
  if (a.contains("scope")) {
    const json& s = a["scope"];
    const std::string v = s.is_string() ? s.get<std::string>() : "";
    if (v == "item") arm.scope = 0;
    else if (v == "category") arm.scope = 1;
    else if (v == "cart") arm.scope = 2;
    else c.fail(path + ".scope", "must be item, category or cart, got " + s.dump());
  }
  if (a.contains("min_spend")) {
    if (arm.scope != 2) c.fail(path + ".min_spend", "only cart-scope arms have a min_spend");
    arm.min_spend = number(c, a["min_spend"], path + ".min_spend", 0, 1e9);
  } else if (arm.scope == 2) {
    c.fail(path, "a cart-scope arm needs 'min_spend' (the cart total the coupon needs; 0 = any)");
  }
  if (a.contains("lifetime_s")) arm.lifetime_s = integer(c, a["lifetime_s"], path + ".lifetime_s", 1, kMaxLifetimeS);
  if (a.contains("window")) {
    const std::string wp = path + ".window";
    const json& w = object_at(c, a["window"], wp);
    only_keys(c, w, wp, {"start", "end"});
    if (!w.contains("start") && !w.contains("end")) c.fail(wp, "needs a start, an end or both");
    if (w.contains("start")) arm.window_start_ms = timestamp_at(c, w["start"], wp + ".start");
    if (w.contains("end")) arm.window_end_ms = timestamp_at(c, w["end"], wp + ".end");
    if (arm.window_start_ms && arm.window_end_ms && arm.window_end_ms <= arm.window_start_ms)
      c.fail(wp + ".end", "must be after start (" + w["start"].get<std::string>() + ")");
  }
  if (a.contains("eligibility")) {
    const std::string ep = path + ".eligibility";
    const json& e = object_at(c, a["eligibility"], ep);
    only_keys(c, e, ep, {"categories", "brands", "items", "excluded_items"});
    if (e.contains("categories")) arm.eligibility.categories = names_at(c, e["categories"], ep + ".categories");
    if (e.contains("brands")) arm.eligibility.brands = names_at(c, e["brands"], ep + ".brands");
    if (e.contains("items")) arm.eligibility.items = names_at(c, e["items"], ep + ".items");
    if (e.contains("excluded_items"))
      arm.eligibility.excluded_items = names_at(c, e["excluded_items"], ep + ".excluded_items");
  }
  if (arm.scope == 1 && arm.eligibility.categories.empty())
    c.fail(path + ".eligibility.categories", "a category-scope arm needs the categories it applies to");
  if (index == 0) {
    if (arm.kind != ArmKindSpec::Percent || arm.value != 0 || arm.scope != 0 || arm.window_start_ms ||
        arm.window_end_ms || !arm.eligibility.empty())
      c.fail(path, "arm 0 must be the no-discount arm: {\"kind\": \"percent\", \"value\": 0}, item scope, no window, "
                   "no eligibility (it is what a shopper gets when no other arm is allowed)");
  }
  return arm;
}

}  // namespace

bool parse_utc_timestamp(std::string_view s, int64_t* ms) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z
  auto digits = [&](size_t at, size_t n, int64_t* v) {
    if (at + n > s.size()) return false;
    int64_t x = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
  };
  int64_t y, mo, d, h, mi, se, frac = 0;
  if (s.size() < 20 || !digits(0, 4, &y) || s[4] != '-' || !digits(5, 2, &mo) || s[7] != '-' || !digits(8, 2, &d) ||
      s[10] != 'T' || !digits(11, 2, &h) || s[13] != ':' || !digits(14, 2, &mi) || s[16] != ':' || !digits(17, 2, &se))
    return false;
  size_t at = 19;
  if (s[at] == '.') {
    const size_t n = s.size() - at - 2;  // digits before the Z
    if (n < 1 || n > 3 || !digits(at + 1, n, &frac)) return false;
    for (size_t i = n; i < 3; ++i) frac *= 10;
    at += 1 + n;
  }
  if (at + 1 != s.size() || s[at] != 'Z') return false;
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59)
    return false;
  const int64_t days = data::days_from_civil(y, unsigned(mo), unsigned(d));
  *ms = ((days * 24 + h) * 60 + mi) * 60000 + se * 1000 + frac;
  return true;
}

OfferPolicy parse_offer_policy(std::string_view text, const std::string& source) {
  const Ctx c{source};
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // line and column of the byte nlohmann stopped at
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') ++line, col = 1;
      else ++col;
    }
    throw TrainError(source + ": not valid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) +
                     ": " + e.what());
  }
  object_at(c, doc, "$");
  only_keys(c, doc, "$", {"$schema", "version", "description", "arms", "guardrails"});
  if (!doc.contains("version")) c.fail("$", "missing required field 'version' (1)");
  if (!(doc["version"].is_number_integer() && doc["version"].get<int64_t>() == 1))
    c.fail("$.version", "must be 1 (the format this disco-train reads), got " + doc["version"].dump());
  if (doc.contains("description") && !doc["description"].is_string())
    c.fail("$.description", "must be a string, got " + kind_of(doc["description"]));
  OfferPolicy p;
  p.source = source;
  if (!doc.contains("arms")) c.fail("$", "missing required field 'arms'");
  const json& arms = doc["arms"];
  if (!arms.is_array()) c.fail("$.arms", "must be an array, got " + kind_of(arms));
  if (arms.empty() || arms.size() > kMaxPolicyArms)
    c.fail("$.arms", "must hold 1.." + std::to_string(kMaxPolicyArms) + " arms, got " + std::to_string(arms.size()));
  std::unordered_map<std::string, size_t> by_name;
  for (size_t i = 0; i < arms.size(); ++i) {
    const std::string path = "$.arms[" + std::to_string(i) + "]";
    PolicyArm a = parse_arm(c, arms[i], path, i);
    const auto [it, fresh] = by_name.emplace(a.name, i);
    if (!fresh) c.fail(path + ".name", "'" + a.name + "' is also the name of $.arms[" + std::to_string(it->second) + "]");
    p.arms.push_back(std::move(a));
  }
  if (doc.contains("guardrails")) {
    const std::string gp = "$.guardrails";
    const json& g = object_at(c, doc["guardrails"], gp);
    only_keys(c, g, gp, {"max_discount", "margin_floor", "budget", "cooldown_s", "max_discounted_offers", "offer_ttl_s", "eligibility"});
    if (g.contains("max_discount")) p.max_discount = number(c, g["max_discount"], gp + ".max_discount", 0, 1);
    if (g.contains("margin_floor")) p.margin_floor = number(c, g["margin_floor"], gp + ".margin_floor", -1, 1);
    if (g.contains("cooldown_s")) p.cooldown_s = integer(c, g["cooldown_s"], gp + ".cooldown_s", 0, UINT32_MAX);
    if (g.contains("max_discounted_offers"))
      p.max_discounted_offers = integer(c, g["max_discounted_offers"], gp + ".max_discounted_offers", 0, UINT32_MAX);
    if (g.contains("offer_ttl_s")) p.offer_ttl_s = integer(c, g["offer_ttl_s"], gp + ".offer_ttl_s", 1, kMaxLifetimeS);
    if (g.contains("budget")) {
      const std::string bp = gp + ".budget";
      const json& b = object_at(c, g["budget"], bp);
      only_keys(c, b, bp, {"amount", "period_s", "pacing", "dual_rate", "burst"});
      if (!b.contains("amount")) c.fail(bp, "missing required field 'amount' (discount spend per period; 0 = unlimited)");
      p.has_budget = true;
      p.budget = number(c, b["amount"], bp + ".amount", 0, 3.0e38);
      if (b.contains("period_s")) p.budget_period_s = integer(c, b["period_s"], bp + ".period_s", 1, UINT32_MAX);
      if (b.contains("pacing")) {
        const json& m = b["pacing"];
        if (m == "fcfs") p.budget_mode = 0;
        else if (m == "dual") p.budget_mode = 1;
        else c.fail(bp + ".pacing", "must be fcfs or dual, got " + m.dump());
      }
      if (b.contains("dual_rate")) p.budget_dual_rate = number(c, b["dual_rate"], bp + ".dual_rate", 0, 1e6, true);
      if (b.contains("burst")) p.pacing_burst = number(c, b["burst"], bp + ".burst", 0, 1);
    }
    if (g.contains("eligibility")) {
      const std::string ep = gp + ".eligibility";
      const json& e = object_at(c, g["eligibility"], ep);
      only_keys(c, e, ep, {"categories", "excluded_items"});
      if (e.contains("categories")) p.eligible_categories = names_at(c, e["categories"], ep + ".categories");
      if (e.contains("excluded_items")) p.excluded_items = names_at(c, e["excluded_items"], ep + ".excluded_items");
    }
  }
  // An arm the guardrails can never allow is a mistake in the file, not a policy.
  for (size_t i = 1; i < p.arms.size(); ++i)
    if (p.arms[i].kind == ArmKindSpec::Percent && p.arms[i].value > p.max_discount)
      c.fail("$.arms[" + std::to_string(i) + "].value",
             num_str(p.arms[i].value) + " is above guardrails.max_discount (" + num_str(p.max_discount) +
                 "): the arm could never be offered");
  doc.erase("$schema");
  p.json = doc.dump();
  return p;
}

OfferPolicy load_offer_policy(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return parse_offer_policy(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

OfferPolicy default_offer_policy() {
  OfferPolicy p;
  p.source = "(default policy)";
  for (const auto& a : sim::kArms) {
    PolicyArm arm;
    arm.name = a.name;
    arm.kind = ArmKindSpec(uint8_t(a.kind));
    arm.value = a.value;
    arm.merchant_cost = a.merchant_cost;
    p.arms.push_back(std::move(arm));
  }
  // guardrails: the struct defaults are today's: max discount 0.2 (the largest percent arm), margin
  // floor 0.05 (never below cost + 5 % of the price), one discounted offer per shopper per hour,
  // offers valid 900 s
  return p;
}

void apply_offer_policy(const OfferPolicy& p, const data::Dataset& ds, BundleSpec& spec) {
  const Ctx c{p.source};
  auto index_of = [](const std::vector<std::string>& names) {
    std::unordered_map<std::string, uint32_t> m;
    for (size_t i = 0; i < names.size(); ++i) m.emplace(names[i], uint32_t(i));
    return m;
  };
  const auto cats = index_of(ds.categories), brands = index_of(ds.brands);
  std::unordered_map<std::string, uint32_t> items;
  for (size_t i = 0; i < ds.items.size(); ++i) items.emplace(ds.items[i].id, uint32_t(i));
  auto resolve = [&](const std::vector<std::string>& names, const std::unordered_map<std::string, uint32_t>& m,
                     const std::string& path, const char* what, size_t n_known) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < names.size(); ++i) {
      const auto it = m.find(names[i]);
      if (it == m.end())
        c.fail(path + "[" + std::to_string(i) + "]", "unknown " + std::string(what) + " '" + names[i] +
                                                         "' (not among the catalog's " + std::to_string(n_known) + ")");
      out.push_back(it->second);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  spec.arms.clear();
  for (size_t i = 0; i < p.arms.size(); ++i) {
    const PolicyArm& a = p.arms[i];
    const std::string ep = "$.arms[" + std::to_string(i) + "].eligibility";
    BundleArm b{a.name, a.kind, float(a.value), float(a.merchant_cost)};
    b.scope = a.scope;
    b.lifetime_s = a.lifetime_s;
    b.window_start_ms = a.window_start_ms;
    b.window_end_ms = a.window_end_ms;
    b.min_spend = float(a.min_spend);
    b.categories = resolve(a.eligibility.categories, cats, ep + ".categories", "category", ds.categories.size());
    b.brands = resolve(a.eligibility.brands, brands, ep + ".brands", "brand", ds.brands.size());
    b.items = resolve(a.eligibility.items, items, ep + ".items", "item", ds.items.size());
    b.excluded_items = resolve(a.eligibility.excluded_items, items, ep + ".excluded_items", "item", ds.items.size());
    spec.arms.push_back(std::move(b));
  }
  GuardrailsSpec& g = spec.guardrails;
  g.max_discount = float(p.max_discount);
  g.margin_floor = float(p.margin_floor);
  g.cooldown_s = p.cooldown_s;
  g.offer_ttl_s = p.offer_ttl_s;
  g.max_discounted_offers = p.max_discounted_offers;
  if (p.has_budget) {
    g.budget_per_period = float(p.budget);
    g.budget_period_s = p.budget_period_s;
    g.budget_mode = p.budget_mode;
    g.budget_dual_rate = float(p.budget_dual_rate);
    g.pacing_burst = float(p.pacing_burst);
  }
  g.eligible_categories = resolve(p.eligible_categories, cats, "$.guardrails.eligibility.categories", "category",
                                  ds.categories.size());
  g.excluded_items = resolve(p.excluded_items, items, "$.guardrails.eligibility.excluded_items", "item", ds.items.size());
  spec.offer_policy = p.json;
}

}  // namespace disco::model

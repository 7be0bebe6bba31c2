#include "disco/collector/batch.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include <flatbuffers/flatbuffers.h>
#include <nlohmann/json.hpp>

#include "disco/schemas/events_generated.h"

namespace disco::collector {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxTs = int64_t{1} << 53;  // exact in a JS number; ~285k years in ms

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

struct Fail {
  ParseError* err;
  bool operator()(std::string field, std::string message, std::string reason, bool large = false) const {
    err->field = std::move(field);
    err->message = std::move(message);
    err->reason = std::move(reason);
    err->too_large = large;
    return false;
  }
};

std::string idx(const char* arr, size_t i) { return std::string(arr) + "[" + std::to_string(i) + "]"; }

// ---- range checks shared by both wire forms -------------------------------------------------

bool finite_in(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). JSON input is already
// checked by the parser; FlatBuffers strings are not checked by the verifier.
bool valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) { ++i; continue; }
    size_t len;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

bool check_str(const Fail& fail, const std::string& path, const std::string& s, const ParseLimits& lim,
               bool required) {
  if (required && s.empty()) return fail(path, "must be a non-empty string", "invalid_value");
  if (!valid_utf8(s)) return fail(path, "is not valid UTF-8", "invalid_value");
  if (s.size() > lim.max_string)
    return fail(path, "longer than " + std::to_string(lim.max_string) + " bytes", "invalid_value");
  return true;
}

bool check_ts(const Fail& fail, const std::string& path, int64_t ts, bool required) {
  if (required && ts <= 0) return fail(path, "must be a positive Unix time in milliseconds", "invalid_value");
  if (ts < 0 || ts > kMaxTs) return fail(path, "out of range for a Unix time in milliseconds", "invalid_value");
  return true;
}

bool validate(const Batch& b, const ParseLimits& lim, const Fail& fail) {
  if (!check_str(fail, "sender_id", b.sender_id, lim, true)) return false;
  if (!check_ts(fail, "sent_at_ms", b.sent_at_ms, false)) return false;
  if (!(b.pass_probability > 0 && b.pass_probability <= 1))
    return fail("pass_probability", "must be in (0, 1]", "invalid_value");
  for (size_t i = 0; i < b.events.size(); ++i) {
    const Event& e = b.events[i];
    std::string p = idx("events", i);
    if (!check_str(fail, p + ".item_id", e.item_id, lim, true)) return false;
    if (!check_str(fail, p + ".session_id", e.session_id, lim, false)) return false;
    if (!check_ts(fail, p + ".ts_ms", e.ts_ms, true)) return false;
    if (e.type > 4) return fail(p + ".type", "must be one of view, click, cart, remove, purchase", "invalid_value");
    if (!finite_in(e.price, 0, 1e9)) return fail(p + ".price", "must be a finite number >= 0", "invalid_value");
    if (e.quantity < 0) return fail(p + ".quantity", "must be >= 0", "invalid_value");
  }
  for (size_t i = 0; i < b.decisions.size(); ++i) {
    const Decision& d = b.decisions[i];
    std::string p = idx("decisions", i);
    if (d.id.hi == 0 && d.id.lo == 0) return fail(p + ".decision_id", "must not be all zero", "invalid_value");
    if (!check_ts(fail, p + ".ts_ms", d.ts_ms, true)) return false;
    if (!check_str(fail, p + ".item_id", d.item_id, lim, true)) return false;
    if (!finite_in(d.discount, 0, 1)) return fail(p + ".discount", "must be a fraction in [0, 1]", "invalid_value");
    if (!(std::isfinite(d.propensity) && d.propensity > 0 && d.propensity <= 1))
      return fail(p + ".propensity", "must be in (0, 1]", "invalid_value");
    if (!check_str(fail, p + ".model_version", d.model_version, lim, false)) return false;
    if (!check_str(fail, p + ".policy_version", d.policy_version, lim, false)) return false;
    if (!check_str(fail, p + ".user_id", d.user_id, lim, false)) return false;
    for (unsigned char c : d.user_id)
      if (c < 0x20 || c == 0x7f) return fail(p + ".user_id", "must not contain control characters", "invalid_value");
    if (static_cast<int>(d.mode) > 2) return fail(p + ".mode", "must be online, apprentice or logging_only", "invalid_value");
    if (!finite_in(d.price, 0, 1e9)) return fail(p + ".price", "must be a finite number >= 0", "invalid_value");
    if (!finite_in(d.cost, 0, 1e9)) return fail(p + ".cost", "must be a finite number >= 0", "invalid_value");
    if (d.context.size() > lim.max_context)
      return fail(p + ".context", "more than " + std::to_string(lim.max_context) + " values", "too_large", true);
    for (size_t k = 0; k < d.context.size(); ++k)
      if (!std::isfinite(d.context[k]))
        return fail(p + ".context[" + std::to_string(k) + "]", "must be a finite number", "invalid_value");
  }
  for (size_t i = 0; i < b.outcomes.size(); ++i) {
    const Outcome& o = b.outcomes[i];
    std::string p = idx("outcomes", i);
    if (o.id.hi == 0 && o.id.lo == 0) return fail(p + ".decision_id", "must not be all zero", "invalid_value");
    if (!check_ts(fail, p + ".ts_ms", o.ts_ms, true)) return false;
    if (!finite_in(o.revenue, 0, 1e12)) return fail(p + ".revenue", "must be a finite number >= 0", "invalid_value");
    if (!finite_in(o.margin, -1e12, 1e12)) return fail(p + ".margin", "must be a finite number", "invalid_value");
  }
  for (size_t i = 0; i < b.activations.size(); ++i) {
    const Activation& a = b.activations[i];
    std::string p = idx("activations", i);
    if (a.id.hi == 0 && a.id.lo == 0) return fail(p + ".decision_id", "must not be all zero", "invalid_value");
    if (!check_ts(fail, p + ".ts_ms", a.ts_ms, true)) return false;
  }
  return true;
}

// ---- JSON ------------------------------------------------------------------------------------

struct JsonReader {
  const Fail& fail;
  const char* type_name(const json& v) const { return v.type_name(); }

  bool wrong(const std::string& path, const json& v, const char* want) const {
    return fail(path, std::string("expected ") + want + ", got " + v.type_name(), "wrong_type");
  }
  bool i64(const json& v, const std::string& path, int64_t& out, int64_t lo, int64_t hi) const {
    if (v.is_number_integer()) {
      if (v.is_number_unsigned()) {
        uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(hi)) return fail(path, "out of range", "invalid_value");
        out = static_cast<int64_t>(u);
      } else {
        out = v.get<int64_t>();
      }
    } else if (v.is_number_float()) {
      double d = v.get<double>();
      if (!std::isfinite(d) || std::floor(d) != d || d < -9.2e18 || d > 9.2e18)
        return fail(path, "expected an integer", "wrong_type");
      out = static_cast<int64_t>(d);
    } else {
      return wrong(path, v, "an integer");
    }
    if (out < lo || out > hi)
      return fail(path, "out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", "invalid_value");
    return true;
  }
  bool u64(const json& v, const std::string& path, uint64_t& out) const {
    if (v.is_number_unsigned()) { out = v.get<uint64_t>(); return true; }
    if (v.is_number_integer()) return fail(path, "must be >= 0", "invalid_value");
    if (v.is_string()) {  // JS numbers cannot hold 64 bits: a decimal string is accepted too
      const std::string& s = v.get_ref<const std::string&>();
      if (s.empty() || s.size() > 20) return fail(path, "expected a decimal uint64 string", "invalid_value");
      uint64_t r = 0;
      for (char c : s) {
        if (c < '0' || c > '9') return fail(path, "expected a decimal uint64 string", "invalid_value");
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (r > (std::numeric_limits<uint64_t>::max() - d) / 10) return fail(path, "out of range for uint64", "invalid_value");
        r = r * 10 + d;
      }
      out = r;
      return true;
    }
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (std::isfinite(d) && d >= 0 && std::floor(d) == d && d < 1.8e19) { out = static_cast<uint64_t>(d); return true; }
      return fail(path, "expected a non-negative integer", "wrong_type");
    }
    return wrong(path, v, "a non-negative integer or a decimal string");
  }
  bool num(const json& v, const std::string& path, double& out) const {
    if (!v.is_number()) return wrong(path, v, "a number");
    out = v.get<double>();
    return true;
  }
  bool boolean(const json& v, const std::string& path, bool& out) const {
    if (!v.is_boolean()) return wrong(path, v, "a boolean");
    out = v.get<bool>();
    return true;
  }
  bool str(const json& v, const std::string& path, std::string& out) const {
    if (!v.is_string()) return wrong(path, v, "a string");
    out = v.get<std::string>();
    return true;
  }
  bool id(const json& v, const std::string& path, DecisionId& out) const {
    if (!v.is_string()) return wrong(path, v, "a string of 32 lowercase hex characters");
    auto r = parse_decision_id(v.get_ref<const std::string&>());
    if (!r) return fail(path, "expected 32 lowercase hex characters", "invalid_value");
    out = *r;
    return true;
  }
  bool enum_field(const json& v, const std::string& path, uint8_t& out,
                  std::initializer_list<std::initializer_list<const char*>> names) const {
    if (v.is_number_integer()) {
      int64_t x = 0;
      if (!i64(v, path, x, 0, static_cast<int64_t>(names.size()) - 1)) return false;
      out = static_cast<uint8_t>(x);
      return true;
    }
    if (!v.is_string()) return wrong(path, v, "a string");
    const std::string& s = v.get_ref<const std::string&>();
    uint8_t k = 0;
    std::string all;
    for (auto alts : names) {
      for (const char* n : alts) {
        if (s == n) { out = k; return true; }
      }
      if (!all.empty()) all += ", ";
      all += *alts.begin();
      ++k;
    }
    return fail(path, "expected one of " + all, "invalid_value");
  }
  bool unknown(const std::string& path, const std::string& key) const {
    return fail(path.empty() ? key : path + "." + key, "unknown field", "unknown_field");
  }
};

// Reads the members of the JSON object `o` at path p: member(key, value, "p.key") stores one
// (false once it has reported an error, an unknown key included); then every name in `required`
// must be present.
template <class Member>
bool json_object(const JsonReader& r, const json& o, const std::string& p, std::initializer_list<const char*> required,
                 Member&& member) {
  if (!o.is_object()) return r.wrong(p, o, "an object");
  for (auto it = o.begin(); it != o.end(); ++it)
    if (!member(it.key(), it.value(), p + "." + it.key())) return false;
  for (const char* req : required)
    if (!o.contains(req)) return r.fail(p + "." + req, "required", "missing_field");
  return true;
}

bool json_event(const JsonReader& r, const json& o, const std::string& p, Event& e) {
  return json_object(r, o, p, {"item_id", "ts_ms"}, [&](const std::string& k, const json& v, const std::string& f) {
    bool ok = true;
    int64_t x = 0;
    if (k == "user_key") ok = r.u64(v, f, e.user_key);
    else if (k == "session_id") ok = r.str(v, f, e.session_id);
    else if (k == "ts_ms") ok = r.i64(v, f, e.ts_ms, 0, kMaxTs);
    else if (k == "type") ok = r.enum_field(v, f, e.type, {{"view", "View"}, {"click", "Click"}, {"cart", "Cart"}, {"remove", "Remove"}, {"purchase", "Purchase"}});
    else if (k == "item_id") ok = r.str(v, f, e.item_id);
    else if (k == "price") ok = r.num(v, f, e.price);
    else if (k == "quantity") { ok = r.i64(v, f, x, 0, INT32_MAX); e.quantity = static_cast<int32_t>(x); }
    else return r.unknown(p, k);
    return ok;
  });
}

bool json_decision(const JsonReader& r, const json& o, const std::string& p, const ParseLimits& lim, Decision& d) {
  return json_object(r, o, p, {"decision_id", "ts_ms", "item_id", "arm", "propensity"},
                     [&](const std::string& k, const json& v, const std::string& f) {
    bool ok = true;
    int64_t x = 0;
    if (k == "decision_id") ok = r.id(v, f, d.id);
    else if (k == "ts_ms") ok = r.i64(v, f, d.ts_ms, 0, kMaxTs);
    else if (k == "user_key") ok = r.u64(v, f, d.user_key);
    else if (k == "item_id") ok = r.str(v, f, d.item_id);
    else if (k == "arm") { ok = r.i64(v, f, x, 0, 65535); d.arm = static_cast<uint16_t>(x); }
    else if (k == "discount") ok = r.num(v, f, d.discount);
    else if (k == "propensity") ok = r.num(v, f, d.propensity);
    else if (k == "model_version") ok = r.str(v, f, d.model_version);
    else if (k == "policy_version") ok = r.str(v, f, d.policy_version);
    else if (k == "mode") {
      uint8_t m = 0;
      ok = r.enum_field(v, f, m, {{"online", "Online"}, {"apprentice", "Apprentice"}, {"logging_only", "LoggingOnly"}});
      d.mode = static_cast<Mode>(m);
    }
    else if (k == "shown") ok = r.boolean(v, f, d.shown);
    else if (k == "holdout") ok = r.boolean(v, f, d.holdout);
    else if (k == "user_id") ok = v.is_null() || r.str(v, f, d.user_id);
    else if (k == "price") ok = r.num(v, f, d.price);
    else if (k == "cost") ok = r.num(v, f, d.cost);
    else if (k == "context") {
      if (!v.is_array()) return r.wrong(f, v, "an array of numbers");
      if (v.size() > lim.max_context)
        return r.fail(f, "more than " + std::to_string(lim.max_context) + " values", "too_large", true);
      d.context.reserve(v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        double c = 0;
        if (!r.num(v[i], f + "[" + std::to_string(i) + "]", c)) return false;
        d.context.push_back(static_cast<float>(c));
      }
    }
    else return r.unknown(p, k);
    return ok;
  });
}

bool json_outcome(const JsonReader& r, const json& o, const std::string& p, Outcome& out) {
  return json_object(r, o, p, {"decision_id", "ts_ms", "converted"},
                     [&](const std::string& k, const json& v, const std::string& f) {
    bool ok = true;
    if (k == "decision_id") ok = r.id(v, f, out.id);
    else if (k == "ts_ms") ok = r.i64(v, f, out.ts_ms, 0, kMaxTs);
    else if (k == "converted") ok = r.boolean(v, f, out.converted);
    else if (k == "revenue") ok = r.num(v, f, out.revenue);
    else if (k == "margin") ok = r.num(v, f, out.margin);
    else return r.unknown(p, k);
    return ok;
  });
}

bool json_activation(const JsonReader& r, const json& o, const std::string& p, Activation& a) {
  return json_object(r, o, p, {"decision_id", "ts_ms"}, [&](const std::string& k, const json& v, const std::string& f) {
    if (k == "decision_id") return r.id(v, f, a.id);
    if (k == "ts_ms") return r.i64(v, f, a.ts_ms, 0, kMaxTs);
    return r.unknown(p, k);
  });
}

}  // namespace

std::string DecisionId::hex() const {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return std::string(buf, 32);
}

std::optional<DecisionId> parse_decision_id(std::string_view s) {
  if (s.size() != 32) return std::nullopt;
  DecisionId id;
  for (size_t i = 0; i < 32; ++i) {
    int v = hexval(s[i]);
    if (v < 0) return std::nullopt;
    uint64_t& w = i < 16 ? id.hi : id.lo;
    w = (w << 4) | static_cast<uint64_t>(v);
  }
  return id;
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Online: return "online";
    case Mode::Apprentice: return "apprentice";
    case Mode::LoggingOnly: return "logging_only";
  }
  return "unknown";
}

bool parse_json_batch(std::string_view body, Batch& out, ParseError& err, const ParseLimits& lim) {
  Fail fail{&err};
  out = Batch{};
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    return fail("", std::string("malformed JSON: ") + e.what(), "malformed_json");
  } catch (const std::exception& e) {
    return fail("", std::string("malformed JSON: ") + e.what(), "malformed_json");
  }
  JsonReader r{fail};
  if (!doc.is_object()) return r.wrong("", doc, "a JSON object (an EventBatch)");
  size_t rows = 0;
  for (const char* arr : {"events", "decisions", "outcomes", "activations"}) {
    auto it = doc.find(arr);
    if (it == doc.end() || it->is_null()) continue;
    if (!it->is_array()) return r.wrong(arr, *it, "an array");
    rows += it->size();
  }
  if (rows > lim.max_rows)
    return fail("", "batch has " + std::to_string(rows) + " rows, more than the limit of " +
                        std::to_string(lim.max_rows), "too_many_rows", true);
  try {
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      const std::string& k = it.key();
      const json& v = it.value();
      bool ok = true;
      int64_t x = 0;
      if (k == "sender_id") ok = r.str(v, k, out.sender_id);
      else if (k == "seq") ok = r.u64(v, k, out.seq);
      else if (k == "sent_at_ms") ok = r.i64(v, k, out.sent_at_ms, 0, kMaxTs);
      else if (k == "dropped_events") { ok = r.i64(v, k, x, 0, UINT32_MAX); out.dropped_events = static_cast<uint32_t>(x); }
      else if (k == "dropped_decisions") { ok = r.i64(v, k, x, 0, UINT32_MAX); out.dropped_decisions = static_cast<uint32_t>(x); }
      else if (k == "dropped_outcomes") { ok = r.i64(v, k, x, 0, UINT32_MAX); out.dropped_outcomes = static_cast<uint32_t>(x); }
      else if (k == "pass_probability") ok = r.num(v, k, out.pass_probability);
      else if (k == "events" || k == "decisions" || k == "outcomes" || k == "activations") {
        if (v.is_null()) continue;
        for (size_t i = 0; i < v.size() && ok; ++i) {
          std::string p = idx(k.c_str(), i);
          if (k == "events") { out.events.emplace_back(); ok = json_event(r, v[i], p, out.events.back()); }
          else if (k == "decisions") { out.decisions.emplace_back(); ok = json_decision(r, v[i], p, lim, out.decisions.back()); }
          else if (k == "outcomes") { out.outcomes.emplace_back(); ok = json_outcome(r, v[i], p, out.outcomes.back()); }
          else { out.activations.emplace_back(); ok = json_activation(r, v[i], p, out.activations.back()); }
        }
      }
      else return r.unknown("", k);
      if (!ok) return false;
    }
  } catch (const std::exception& e) {  // nlohmann type errors we did not foresee: still a 400
    return fail("", std::string("invalid batch: ") + e.what(), "wrong_type");
  }
  if (!doc.contains("sender_id")) return fail("sender_id", "required", "missing_field");
  return validate(out, lim, fail);
}

bool parse_flatbuffers_batch(std::string_view body, Batch& out, ParseError& err, const ParseLimits& lim) {
  Fail fail{&err};
  out = Batch{};
  // The verifier and accessors read scalars in place: give them an 8-byte aligned copy when the
  // caller's bytes are not aligned (HTTP bodies are; a NATS payload or a fuzzer slice may not be).
  std::vector<uint64_t> aligned;
  if (!body.empty() && reinterpret_cast<uintptr_t>(body.data()) % 8 != 0) {
    aligned.resize((body.size() + 7) / 8);
    std::memcpy(aligned.data(), body.data(), body.size());
    body = std::string_view(reinterpret_cast<const char*>(aligned.data()), body.size());
  }
  const auto* data = reinterpret_cast<const uint8_t*>(body.data());
  if (body.size() < 8 || !flatbuffers::BufferHasIdentifier(data, disco::fb::EventBatchIdentifier()))
    return fail("", "not a FlatBuffers EventBatch (file identifier DSCE missing)", "malformed_flatbuffers");
  flatbuffers::Verifier::Options vopt;
  vopt.max_depth = 16;
  vopt.max_tables = 4 * lim.max_rows + 64;
  flatbuffers::Verifier verifier(data, body.size(), vopt);
  if (!disco::fb::VerifyEventBatchBuffer(verifier))
    return fail("", "FlatBuffers EventBatch failed verification (truncated or corrupt, or a required field is missing)",
                "malformed_flatbuffers");
  const auto* b = disco::fb::GetEventBatch(data);
  size_t rows = (b->events() ? b->events()->size() : 0) + (b->decisions() ? b->decisions()->size() : 0) +
                (b->outcomes() ? b->outcomes()->size() : 0) + (b->activations() ? b->activations()->size() : 0);
  if (rows > lim.max_rows)
    return fail("", "batch has " + std::to_string(rows) + " rows, more than the limit of " +
                        std::to_string(lim.max_rows), "too_many_rows", true);
  auto str = [](const flatbuffers::String* s) { return s ? s->str() : std::string(); };
  out.sender_id = str(b->sender_id());
  out.seq = b->seq();
  out.sent_at_ms = b->sent_at_ms();
  out.dropped_events = b->dropped_events();
  out.dropped_decisions = b->dropped_decisions();
  out.dropped_outcomes = b->dropped_outcomes();
  out.pass_probability = b->pass_probability();
  if (b->events()) {
    for (const auto* e : *b->events()) {
      Event x;
      x.user_key = e->user_key();
      x.session_id = str(e->session_id());
      x.ts_ms = e->ts_ms();
      x.type = static_cast<uint8_t>(e->type());
      x.item_id = str(e->item_id());
      x.price = e->price();
      x.quantity = e->quantity();
      out.events.push_back(std::move(x));
    }
  }
  if (b->decisions()) {
    for (const auto* d : *b->decisions()) {
      Decision x;
      x.id = {d->decision_id()->hi(), d->decision_id()->lo()};
      x.ts_ms = d->ts_ms();
      x.user_key = d->user_key();
      x.item_id = str(d->item_id());
      x.arm = d->arm();
      x.discount = d->discount();
      x.propensity = d->propensity();
      x.model_version = str(d->model_version());
      x.policy_version = str(d->policy_version());
      x.mode = static_cast<Mode>(d->mode());
      x.shown = d->shown();
      x.price = d->price();
      x.cost = d->cost();
      x.holdout = d->holdout();
      x.user_id = str(d->user_id());
      if (d->context()) {
        if (d->context()->size() > lim.max_context)
          return fail(idx("decisions", out.decisions.size()) + ".context",
                      "more than " + std::to_string(lim.max_context) + " values", "too_large", true);
        x.context.assign(d->context()->begin(), d->context()->end());
      }
      out.decisions.push_back(std::move(x));
    }
  }
  if (b->outcomes()) {
    for (const auto* o : *b->outcomes()) {
      Outcome x;
      x.id = {o->decision_id()->hi(), o->decision_id()->lo()};
      x.ts_ms = o->ts_ms();
      x.converted = o->converted();
      x.revenue = o->revenue();
      x.margin = o->margin();
      out.outcomes.push_back(x);
    }
  }
  if (b->activations()) {
    for (const auto* a : *b->activations()) {
      out.activations.push_back({{a->decision_id()->hi(), a->decision_id()->lo()}, a->ts_ms()});
    }
  }
  return validate(out, lim, fail);
}

std::string encode_flatbuffers(const Batch& b, bool zero_sent_at) {
  namespace fb = disco::fb;
  flatbuffers::FlatBufferBuilder fbb(1024 + b.rows() * 96);
  std::vector<flatbuffers::Offset<fb::Event>> ev;
  for (const Event& e : b.events) {
    auto sid = fbb.CreateString(e.session_id);
    auto item = fbb.CreateString(e.item_id);
    ev.push_back(fb::CreateEvent(fbb, e.user_key, sid, e.ts_ms, static_cast<fb::EventType>(e.type), item,
                                 static_cast<float>(e.price), e.quantity));
  }
  std::vector<flatbuffers::Offset<fb::Decision>> dv;
  for (const Decision& d : b.decisions) {
    fb::Uuid id(d.id.hi, d.id.lo);
    auto item = fbb.CreateString(d.item_id);
    auto mv = fbb.CreateString(d.model_version);
    auto pv = fbb.CreateString(d.policy_version);
    auto ctx = fbb.CreateVector(d.context);
    auto uid = d.user_id.empty() ? flatbuffers::Offset<flatbuffers::String>() : fbb.CreateString(d.user_id);
    dv.push_back(fb::CreateDecision(fbb, &id, d.ts_ms, d.user_key, item, d.arm, static_cast<float>(d.discount),
                                    static_cast<float>(d.propensity), mv, pv, static_cast<fb::Mode>(d.mode), d.shown,
                                    static_cast<float>(d.price), static_cast<float>(d.cost), ctx, d.holdout, uid));
  }
  std::vector<flatbuffers::Offset<fb::Outcome>> ov;
  for (const Outcome& o : b.outcomes) {
    fb::Uuid id(o.id.hi, o.id.lo);
    ov.push_back(fb::CreateOutcome(fbb, &id, o.ts_ms, o.converted, static_cast<float>(o.revenue),
                                   static_cast<float>(o.margin)));
  }
  std::vector<flatbuffers::Offset<fb::Activation>> av;
  for (const Activation& a : b.activations) {
    fb::Uuid id(a.id.hi, a.id.lo);
    av.push_back(fb::CreateActivation(fbb, &id, a.ts_ms));
  }
  auto sender = fbb.CreateString(b.sender_id);
  auto root = fb::CreateEventBatch(fbb, sender, b.seq, zero_sent_at ? 0 : b.sent_at_ms, b.dropped_events, b.dropped_decisions,
                                   b.dropped_outcomes, static_cast<float>(b.pass_probability),
                                   fbb.CreateVector(ev), fbb.CreateVector(dv), fbb.CreateVector(ov),
                                   fbb.CreateVector(av));
  fb::FinishEventBatchBuffer(fbb, root);
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

std::string encode_json(const Batch& b) {
  static const char* kTypes[] = {"view", "click", "cart", "remove", "purchase"};
  json j;
  j["sender_id"] = b.sender_id;
  j["seq"] = b.seq;
  j["sent_at_ms"] = b.sent_at_ms;
  if (b.dropped_events) j["dropped_events"] = b.dropped_events;
  if (b.dropped_decisions) j["dropped_decisions"] = b.dropped_decisions;
  if (b.dropped_outcomes) j["dropped_outcomes"] = b.dropped_outcomes;
  if (b.pass_probability != 1.0) j["pass_probability"] = b.pass_probability;
  if (!b.events.empty()) {
    json& a = j["events"] = json::array();
    for (const Event& e : b.events)
      a.push_back({{"user_key", std::to_string(e.user_key)}, {"session_id", e.session_id}, {"ts_ms", e.ts_ms},
                   {"type", kTypes[e.type <= 4 ? e.type : 0]}, {"item_id", e.item_id}, {"price", e.price},
                   {"quantity", e.quantity}});
  }
  if (!b.decisions.empty()) {
    json& a = j["decisions"] = json::array();
    for (const Decision& d : b.decisions) {
      json x = {{"decision_id", d.id.hex()}, {"ts_ms", d.ts_ms}, {"user_key", std::to_string(d.user_key)},
                {"item_id", d.item_id}, {"arm", d.arm}, {"discount", d.discount}, {"propensity", d.propensity},
                {"model_version", d.model_version}, {"policy_version", d.policy_version},
                {"mode", mode_name(d.mode)}, {"shown", d.shown}, {"price", d.price}, {"cost", d.cost},
                {"context", d.context}};
      if (d.holdout) x["holdout"] = true;
      if (!d.user_id.empty()) x["user_id"] = d.user_id;
      a.push_back(std::move(x));
    }
  }
  if (!b.outcomes.empty()) {
    json& a = j["outcomes"] = json::array();
    for (const Outcome& o : b.outcomes)
      a.push_back({{"decision_id", o.id.hex()}, {"ts_ms", o.ts_ms}, {"converted", o.converted},
                   {"revenue", o.revenue}, {"margin", o.margin}});
  }
  if (!b.activations.empty()) {
    json& a = j["activations"] = json::array();
    for (const Activation& x : b.activations) a.push_back({{"decision_id", x.id.hex()}, {"ts_ms", x.ts_ms}});
  }
  return j.dump();
}

}  // namespace disco::collector

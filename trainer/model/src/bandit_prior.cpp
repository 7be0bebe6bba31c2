#include "disco/model/bandit_prior.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "disco/model/config.h"

namespace disco::model {
namespace {

// A small JSON reader (RFC 8259 values; strings are only compared as keys, so escapes are
// decoded for ASCII and kept as is otherwise). Errors carry the line number.
struct Value {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  double num = 0;
  bool boolean = false;
  std::string str;
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;
  int line = 1;
  const Value* get(const std::string& k) const {
    for (const auto& [mk, mv] : members)
      if (mk == k) return &mv;
    return nullptr;
  }
};

class Parser {
 public:
  Parser(std::string_view s, const std::string& source) : s_(s), source_(source) {}

  Value parse() {
    Value v = value(0);
    ws();
    if (i_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw TrainError(source_ + ":" + std::to_string(line_) + ": bandit prior: " + what);
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      if (s_[i_] == '\n') ++line_;
      ++i_;
    }
  }
  bool lit(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  Value value(int depth) {
    if (depth > 64) fail("nested too deeply");
    ws();
    if (i_ >= s_.size()) fail("unexpected end of file");
    Value v;
    v.line = line_;
    const char c = s_[i_];
    if (c == '{') {
      v.kind = Value::Object;
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, v;
      for (;;) {
        ws();
        if (i_ >= s_.size() || s_[i_] != '"') fail("expected a member name in quotes");
        std::string k = string();
        ws();
        if (i_ >= s_.size() || s_[i_] != ':') fail("expected ':' after \"" + k + "\"");
        ++i_;
        v.members.emplace_back(std::move(k), value(depth + 1));
        ws();
        if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
        if (i_ < s_.size() && s_[i_] == '}') { ++i_; break; }
        fail("expected ',' or '}' in an object");
      }
    } else if (c == '[') {
      v.kind = Value::Array;
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, v;
      for (;;) {
        v.items.push_back(value(depth + 1));
        ws();
        if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
        if (i_ < s_.size() && s_[i_] == ']') { ++i_; break; }
        fail("expected ',' or ']' in an array");
      }
    } else if (c == '"') {
      v.kind = Value::String;
      v.str = string();
    } else if (lit("true")) {
      v.kind = Value::Bool, v.boolean = true;
    } else if (lit("false")) {
      v.kind = Value::Bool;
    } else if (lit("null")) {
      v.kind = Value::Null;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i_ + (c == '-');
      auto digits = [&] {
        const size_t k = j;
        while (j < s_.size() && s_[j] >= '0' && s_[j] <= '9') ++j;
        return j > k;
      };
      if (!digits()) fail("malformed number");
      if (j < s_.size() && s_[j] == '.') { ++j; if (!digits()) fail("malformed number"); }
      if (j < s_.size() && (s_[j] == 'e' || s_[j] == 'E')) {
        ++j;
        if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) ++j;
        if (!digits()) fail("malformed number");
      }
      v.kind = Value::Number;
      v.num = std::strtod(std::string(s_.substr(i_, j - i_)).c_str(), nullptr);
      i_ = j;
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    return v;
  }
  std::string string() {
    ++i_;  // opening quote
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char ch = s_[i_++];
      if (ch == '\n') fail("line break inside a string");
      if (ch == '\\') {
        if (i_ >= s_.size()) break;
        const char e = s_[i_++];
        switch (e) {
          case 'n': ch = '\n'; break;
          case 't': ch = '\t'; break;
          case 'r': ch = '\r'; break;
          case 'b': ch = '\b'; break;
          case 'f': ch = '\f'; break;
          case 'u': out += "\\u"; continue;  // kept verbatim: only ASCII keys are compared
          default: ch = e;
        }
      }
      out += ch;
    }
    if (i_ >= s_.size()) fail("unterminated string");
    ++i_;
    return out;
  }

  std::string_view s_;
  const std::string& source_;
  size_t i_ = 0;
  int line_ = 1;
};

bool finite_f32(double x) { return std::isfinite(x) && std::isfinite(static_cast<float>(x)); }

[[noreturn]] void prior_fail(const std::string& source, int line, const std::string& what) {
  throw TrainError(source + ":" + std::to_string(line) + ": bandit prior: " + what);
}

}  // namespace

BanditPrior parse_bandit_prior(std::string_view json, const std::string& source, uint32_t n_arms, uint32_t expected_dim) {
  const Value root = Parser(json, source).parse();
  if (root.kind != Value::Object) prior_fail(source, root.line, "expected a JSON object {\"arms\": [...]}");
  const Value* arms = root.get("arms");
  if (!arms || arms->kind != Value::Array) prior_fail(source, root.line, "missing \"arms\" array");
  if (arms->items.size() != n_arms)
    prior_fail(source, arms->line, "has " + std::to_string(arms->items.size()) + " arms; the bundle has " + std::to_string(n_arms) +
                         " (one entry per arm 0.." + std::to_string(n_arms - 1) + ")");
  BanditPrior out;
  out.dim = expected_dim;
  out.arms.resize(n_arms);
  std::vector<bool> seen(n_arms, false);
  const size_t d = expected_dim;
  for (const Value& a : arms->items) {
    if (a.kind != Value::Object) prior_fail(source, a.line, "each arm must be an object");
    auto number = [&](const char* key) {
      const Value* v = a.get(key);
      if (!v || v->kind != Value::Number) prior_fail(source, a.line, std::string("arm entry needs a number \"") + key + "\"");
      return v->num;
    };
    const double arm_d = number("arm");
    if (arm_d < 0 || arm_d >= n_arms || arm_d != std::floor(arm_d))
      prior_fail(source, a.line, "arm " + std::to_string(arm_d) + " out of range (the bundle has arms 0.." + std::to_string(n_arms - 1) + ")");
    const uint32_t arm = uint32_t(arm_d);
    const std::string tag = "arm " + std::to_string(arm) + ": ";
    if (seen[arm]) prior_fail(source, a.line, tag + "listed twice");
    seen[arm] = true;
    const double dim = number("dim");
    if (dim != double(expected_dim))
      prior_fail(source, a.line, tag + "dim is " + std::to_string(int64_t(dim)) + "; this runtime builds " + std::to_string(expected_dim) +
                       " context features (disco/context.h kContextDim): refit the prior on the current feature set");
    auto vec = [&](const char* key, size_t len) {
      const Value* v = a.get(key);
      if (!v || v->kind != Value::Array) prior_fail(source, a.line, tag + "needs an array \"" + key + "\"");
      if (v->items.size() != len)
        prior_fail(source, v->line, tag + "\"" + key + "\" has " + std::to_string(v->items.size()) + " numbers, expected " + std::to_string(len));
      std::vector<double> r(len);
      for (size_t i = 0; i < len; ++i) {
        const Value& x = v->items[i];
        if (x.kind != Value::Number || !finite_f32(x.num))
          prior_fail(source, x.line, tag + "\"" + key + "\"[" + std::to_string(i) + "] is not a finite number (32-bit float range)");
        r[i] = x.num;
      }
      return r;
    };
    BanditPriorArm& t = out.arms[arm];
    t.A = vec("A", d * d);
    t.b = vec("b", d);
    t.n = number("n");
    if (!finite_f32(t.n) || t.n < 0) prior_fail(source, a.line, tag + "n must be a finite number >= 0, got " + std::to_string(t.n));
    for (size_t i = 0; i < d; ++i)
      for (size_t j = i + 1; j < d; ++j) {
        const double x = t.A[i * d + j], y = t.A[j * d + i];
        if (std::fabs(x - y) > 1e-9 * std::max({1.0, std::fabs(x), std::fabs(y)}))
          prior_fail(source, a.line, tag + "A is not symmetric: A[" + std::to_string(i) + "][" + std::to_string(j) + "] = " +
                           std::to_string(x) + ", A[" + std::to_string(j) + "][" + std::to_string(i) + "] = " + std::to_string(y));
      }
    for (size_t i = 0; i < d; ++i)
      if (t.A[i * d + i] < 0) prior_fail(source, a.line, tag + "A[" + std::to_string(i) + "][" + std::to_string(i) + "] is negative (A = sum x x^T)");
  }
  return out;
}

BanditPrior read_bandit_prior(const std::string& path, uint32_t n_arms, uint32_t expected_dim) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TrainError(path + ": cannot open the bandit prior (no such file or not readable)");
  const std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return parse_bandit_prior(s, path, n_arms, expected_dim);
}

}  // namespace disco::model

#include "disco/model/bandit_prior.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "disco/model/config.h"

namespace disco::model {
namespace {

// The line of byte `pos` of `text` (1-based), for nlohmann-json's parse errors.
int line_of(std::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  return 1 + int(std::count(text.begin(), text.begin() + std::ptrdiff_t(pos), '\n'));
}

bool finite_f32(double x) { return std::isfinite(x) && std::isfinite(static_cast<float>(x)); }

// Malformed JSON names its line; a well-formed prior that fails a check names the file (and the arm).
[[noreturn]] void prior_fail(const std::string& source, const std::string& what) {
  throw TrainError(source + ": bandit prior: " + what);
}

}  // namespace

BanditPrior parse_bandit_prior(std::string_view json, const std::string& source, uint32_t n_arms, uint32_t expected_dim) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json.begin(), json.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw TrainError(source + ":" + std::to_string(line_of(json, e.byte == 0 ? 0 : e.byte - 1)) + ": bandit prior: " + e.what());
  } catch (const nlohmann::json::exception& e) {  // e.g. a number beyond the range of a double
    throw TrainError(source + ": bandit prior: " + e.what());
  }
  if (!root.is_object()) prior_fail(source, "expected a JSON object {\"arms\": [...]}");
  const auto arms = root.find("arms");
  if (arms == root.end() || !arms->is_array()) prior_fail(source, "missing \"arms\" array");
  if (arms->size() != n_arms)
    prior_fail(source, "has " + std::to_string(arms->size()) + " arms; the bundle has " + std::to_string(n_arms) +
                         " (one entry per arm 0.." + std::to_string(n_arms - 1) + ")");
  BanditPrior out;
  out.dim = expected_dim;
  out.arms.resize(n_arms);
  std::vector<bool> seen(n_arms, false);
  const size_t d = expected_dim;
  for (const nlohmann::json& a : *arms) {
    if (!a.is_object()) prior_fail(source, "each arm must be an object");
    auto number = [&](const char* key) {
      const auto v = a.find(key);
      if (v == a.end() || !v->is_number()) prior_fail(source, std::string("arm entry needs a number \"") + key + "\"");
      return v->get<double>();
    };
    const double arm_d = number("arm");
    if (arm_d < 0 || arm_d >= n_arms || arm_d != std::floor(arm_d))
      prior_fail(source, "arm " + std::to_string(arm_d) + " out of range (the bundle has arms 0.." + std::to_string(n_arms - 1) + ")");
    const uint32_t arm = uint32_t(arm_d);
    const std::string tag = "arm " + std::to_string(arm) + ": ";
    if (seen[arm]) prior_fail(source, tag + "listed twice");
    seen[arm] = true;
    const double dim = number("dim");
    if (dim != double(expected_dim))
      prior_fail(source, tag + "dim is " + std::to_string(int64_t(dim)) + "; this runtime builds " + std::to_string(expected_dim) +
                       " context features (disco/context.h kContextDim): refit the prior on the current feature set");
    auto vec = [&](const char* key, size_t len) {
      const auto v = a.find(key);
      if (v == a.end() || !v->is_array()) prior_fail(source, tag + "needs an array \"" + key + "\"");
      if (v->size() != len)
        prior_fail(source, tag + "\"" + key + "\" has " + std::to_string(v->size()) + " numbers, expected " + std::to_string(len));
      std::vector<double> r(len);
      for (size_t i = 0; i < len; ++i) {
        const nlohmann::json& x = (*v)[i];
        if (!x.is_number() || !finite_f32(x.get<double>()))
          prior_fail(source, tag + "\"" + key + "\"[" + std::to_string(i) + "] is not a finite number (32-bit float range)");
        r[i] = x.get<double>();
      }
      return r;
    };
    BanditPriorArm& t = out.arms[arm];
    t.A = vec("A", d * d);
    t.b = vec("b", d);
    t.n = number("n");
    if (!finite_f32(t.n) || t.n < 0) prior_fail(source, tag + "n must be a finite number >= 0, got " + std::to_string(t.n));
    for (size_t i = 0; i < d; ++i)
      for (size_t j = i + 1; j < d; ++j) {
        const double x = t.A[i * d + j], y = t.A[j * d + i];
        if (std::fabs(x - y) > 1e-9 * std::max({1.0, std::fabs(x), std::fabs(y)}))
          prior_fail(source, tag + "A is not symmetric: A[" + std::to_string(i) + "][" + std::to_string(j) + "] = " +
                           std::to_string(x) + ", A[" + std::to_string(j) + "][" + std::to_string(i) + "] = " + std::to_string(y));
      }
    for (size_t i = 0; i < d; ++i)
      if (t.A[i * d + i] < 0) prior_fail(source, tag + "A[" + std::to_string(i) + "][" + std::to_string(i) + "] is negative (A = sum x x^T)");
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

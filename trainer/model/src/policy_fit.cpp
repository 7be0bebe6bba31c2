#include "disco/model/policy_fit.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "disco/context.h"
#include "disco/model/config.h"
#include "disco/value_model.h"

namespace disco::model {

PolicyFitFile read_policy_fit(const std::string& path, uint32_t n_arms, uint32_t dim) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TrainError(path + ": cannot open the policy fit (disco-train policy --out FILE writes it)");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw TrainError(path + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw TrainError(path + ": expected a JSON object (disco-train policy's output)");
  PolicyFitFile out;
  out.prior = parse_bandit_prior(text, path, n_arms, dim);
  if (j.contains("noise_scale")) {
    if (!j["noise_scale"].is_number()) throw TrainError(path + ": /noise_scale must be a number");
    out.noise_scale = j["noise_scale"].get<double>();
    if (!(out.noise_scale > 0) || !std::isfinite(float(out.noise_scale)))
      throw TrainError(path + ": /noise_scale must be a finite number > 0, got " + std::to_string(out.noise_scale));
  }
  if (j.contains("choice_pessimism")) {
    const auto& k = j["choice_pessimism"];
    if (!k.is_number() || !(k.get<double>() >= 0.0 && k.get<double>() <= 100.0))
      throw TrainError(path + ": /choice_pessimism must be a number in [0, 100], got " + k.dump());
    out.choice_pessimism = k.get<double>();
  }
  if (j.contains("value_model") && !j["value_model"].is_null()) {
    const auto& v = j["value_model"];
    auto need = [&](const char* k) -> const nlohmann::json& {
      if (!v.contains(k)) throw TrainError(path + ": /value_model/" + k + " is missing");
      return v[k];
    };
    ValueModelSpec& s = out.value_model;
    try {
      s.context_dim = need("context_dim").get<uint16_t>();
      s.context_version = need("context_version").get<uint16_t>();
      s.pairs = need("pairs").get<std::vector<uint16_t>>();
      const auto w = need("weights").get<std::vector<double>>();
      s.weights.assign(w.begin(), w.end());
      s.gamma_per_day = float(need("gamma_per_day").get<double>());
      if (v.contains("weight")) s.weight = float(v["weight"].get<double>());
      if (v.contains("max_abs")) s.max_abs = float(v["max_abs"].get<double>());
      if (v.contains("fitted") && v["fitted"].is_string()) s.fitted = v["fitted"].get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      throw TrainError(path + ": /value_model: " + e.what());
    }
    if (s.context_version != kContextVersion)
      throw TrainError(path + ": /value_model/context_version is " + std::to_string(s.context_version) +
                       "; this trainer's runtime builds context features v" + std::to_string(kContextVersion) +
                       ": refit with disco-train policy");
    disco::ValueModel check;
    const std::string err = check.configure(n_arms, s.context_dim, dim, s.pairs,
                                            std::vector<double>(s.weights.begin(), s.weights.end()), s.weight,
                                            s.max_abs, s.gamma_per_day);
    if (!err.empty()) {
      const std::string prefix = "value model: ";
      throw TrainError(path + ": /value_model: " + (err.rfind(prefix, 0) == 0 ? err.substr(prefix.size()) : err));
    }
  }
  return out;
}

}  // namespace disco::model

// A bundle as the OPE candidate: each logged decision's context replayed through the runtime's
// policy with disco_policy_probabilities (runtime/include/disco/disco.h).
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>

#include "disco/disco.h"
#include "disco/eval/ope_data.h"

namespace disco::eval::ope {

bool looks_like_bundle(const std::string& path) {
  if (path.size() > 6 && path.compare(path.size() - 6, 6, ".disco") == 0) return true;
  std::ifstream f(path, std::ios::binary);
  char b[8] = {};
  if (!f.read(b, 8)) return false;
  return b[4] == 'D' && b[5] == 'S' && b[6] == 'C' && b[7] == 'B';  // bundle.fbs file_identifier "DSCB"
}

ActionDist bundle_distribution(const std::string& bundle_path, const data::Dataset& ds, BanditLog& log,
                               const std::vector<size_t>& decision_of_row) {
  std::ifstream f(bundle_path, std::ios::binary);
  if (!f) throw OpeError(bundle_path + ": cannot open");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  disco_bundle* bundle = nullptr;
  if (disco_bundle_load(bytes.data(), bytes.size(), 0, &bundle) != DISCO_OK)
    throw OpeError(bundle_path + ": not a loadable bundle: " + disco_last_error());
  std::unique_ptr<disco_bundle, void (*)(disco_bundle*)> bguard(bundle, disco_bundle_free);
  disco_bundle_info info{};
  disco_bundle_get_info(bundle, &info);
  if (info.n_arms < log.n_arms)
    throw OpeError(bundle_path + ": the bundle has " + std::to_string(info.n_arms) + " arms but the log took arm " +
                   std::to_string(log.n_arms - 1));
  if (info.n_arms > log.n_arms) {
    if (log.arm_feature_dim) throw OpeError(bundle_path + ": the bundle has more arms than the log's catalog");
    log.n_arms = info.n_arms;  // arms the log never took still carry candidate mass
  }
  disco_runtime_options ro;
  disco_runtime_default_options(&ro);
  ro.seed = 1;
  ro.mode = DISCO_MODE_ONLINE;
  disco_runtime* rt = nullptr;
  if (disco_runtime_create(bundle, &ro, &rt) != DISCO_OK)
    throw OpeError(bundle_path + ": cannot create a runtime: " + disco_last_error());
  std::unique_ptr<disco_runtime, void (*)(disco_runtime*)> rguard(rt, disco_runtime_free);
  ActionDist d;
  d.n_arms = log.n_arms;
  d.source = bundle_path + " (bundle, replayed through disco_policy_probabilities)";
  d.p.assign(log.size() * d.n_arms, 0.0);
  std::vector<double> probs(info.n_arms);
  const uint32_t mask = info.n_arms >= 32 ? 0xffffffffu : ((1u << info.n_arms) - 1u);  // the log keeps no eligibility
  for (size_t i = 0; i < log.size(); ++i) {
    const auto& dec = ds.decisions[decision_of_row[i]];
    const std::vector<float>& ctx = dec.context;
    if (ctx.empty())
      throw OpeError(log.source + ": decision " + log.id[i] +
                     " has no logged context: a bundle candidate replays each decision's context");
    // The logged price and cost (-1 when the log has none: the runtime refuses that decision by id).
    if (disco_policy_probabilities(rt, ctx.data(), static_cast<uint32_t>(ctx.size()), mask, dec.price, dec.cost,
                                   probs.data()) != DISCO_OK)
      throw OpeError(bundle_path + ": decision " + log.id[i] + ": " + disco_last_error());
    double s = 0;
    for (uint32_t a = 0; a < info.n_arms; ++a) s += probs[a];
    for (uint32_t a = 0; a < d.n_arms; ++a) d.p[i * d.n_arms + a] = probs[a] / s;
  }
  return d;
}

}  // namespace disco::eval::ope

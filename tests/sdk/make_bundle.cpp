// disco_sdk_make_bundle: writes a synthetic, optionally signed bundle for the SDK's node tests and
// the wasm benchmarks (runtime/include/disco/bundle_writer.h, make_synthetic_spec).
//   disco_sdk_make_bundle --out FILE [--items N] [--dim D] [--hidden H] [--seed S] [--int4]
//                         [--key PRIVATE_KEY.pem] [--schema-major M] [--model-version V]
//                         [--catalog items.csv]   (item_id,category,brand,price,cost,in_stock: the
//                                                  simulator's catalog, so replays of its events match)
//                         [--cart-arms]   (adds cart-scope arms 5..7: 10 % off over 50, 5 off category 3's
//                                          lines over 30, free shipping (cost 4) over 20)
//                         [--policy offer-policy.json]   (its arms and guardrails instead of the synthetic
//                                          ones: the subset of schemas/offer-policy.schema.json without
//                                          catalog names (no eligibility, windows or budget); anything
//                                          else is refused: use disco-train export --policy for it)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "disco/bundle_writer.h"
#include "disco/formats/cli.h"

namespace {
int usage(const char* msg) {
  std::fprintf(stderr,
               "disco_sdk_make_bundle: %s\nusage: disco_sdk_make_bundle --out FILE [--items N] [--dim D] "
               "[--hidden H] [--seed S] [--int4] [--key PRIVATE_KEY.pem] [--schema-major M] "
               "[--model-version V] [--catalog items.csv] [--cart-arms] [--policy FILE]\n",
               msg);
  return 2;
}
// The arms and guardrails of an offer-policy file, for test bundles (see the header).
void apply_policy(const std::string& path, disco::BundleSpec& spec) {
  using json = nlohmann::json;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read policy " + path);
  json p = json::parse(in, nullptr, false);
  if (p.is_discarded() || !p.is_object()) throw std::runtime_error(path + ": not a JSON object");
  auto only = [&](const json& o, const std::string& where, std::initializer_list<const char*> keys) {
    for (auto it = o.begin(); it != o.end(); ++it) {
      bool ok = false;
      for (const char* k : keys) ok = ok || it.key() == k;
      if (!ok)
        throw std::runtime_error(path + ": " + where + "." + it.key() +
                                 ": not supported by disco_sdk_make_bundle (a test tool): use disco-train export --policy");
    }
  };
  only(p, "$", {"$schema", "version", "description", "arms", "guardrails"});
  if (!p.contains("arms") || !p["arms"].is_array() || p["arms"].empty()) throw std::runtime_error(path + ": $.arms: expected a non-empty array");
  spec.arms.clear();
  for (size_t i = 0; i < p["arms"].size(); ++i) {
    const json& a = p["arms"][i];
    const std::string where = "$.arms[" + std::to_string(i) + "]";
    only(a, where, {"name", "kind", "value", "merchant_cost", "scope", "min_spend", "lifetime_s"});
    disco::BundleArm arm;
    arm.name = a.value("name", "");
    const std::string kind = a.value("kind", "percent");
    arm.kind = kind == "percent" ? disco::ArmKindSpec::Percent
             : kind == "fixed_amount" ? disco::ArmKindSpec::FixedAmount
             : kind == "free_shipping" ? disco::ArmKindSpec::FreeShipping
             : throw std::runtime_error(path + ": " + where + ".kind: '" + kind + "' is not percent, fixed_amount or free_shipping");
    arm.value = a.value("value", 0.0f);
    arm.merchant_cost = a.value("merchant_cost", 0.0f);
    const std::string scope = a.value("scope", "item");
    if (scope != "item" && scope != "cart") throw std::runtime_error(path + ": " + where + ".scope: '" + scope + "': only item or cart here");
    arm.scope = scope == "cart" ? 2 : 0;
    arm.min_spend = a.value("min_spend", 0.0f);
    arm.lifetime_s = a.value("lifetime_s", 0u);
    spec.arms.push_back(arm);
  }
  if (p.contains("guardrails")) {
    const json& g = p["guardrails"];
    only(g, "$.guardrails", {"max_discount", "margin_floor", "cooldown_s", "max_discounted_offers", "offer_ttl_s"});
    spec.guardrails.max_discount = g.value("max_discount", spec.guardrails.max_discount);
    spec.guardrails.margin_floor = g.value("margin_floor", spec.guardrails.margin_floor);
    spec.guardrails.cooldown_s = g.value("cooldown_s", spec.guardrails.cooldown_s);
    spec.guardrails.max_discounted_offers = g.value("max_discounted_offers", spec.guardrails.max_discounted_offers);
    spec.guardrails.offer_ttl_s = g.value("offer_ttl_s", spec.guardrails.offer_ttl_s);
  }
}
}  // namespace

int main(int argc, char** argv) {
  disco::SyntheticOptions so;
  std::string out, key_path, model_version, catalog_path, policy_path;
  int schema_major = -1;
  using disco::cli::Int;
  bool int4 = false, cart_arms = false;
  CLI::App app{"disco_sdk_make_bundle: a synthetic, optionally signed bundle", "disco_sdk_make_bundle"};
  app.add_option("--out", out, "bundle file to write");
  app.add_option("--items", so.n_items)->check(Int(1, 10000000));
  app.add_option("--dim", so.emb_dim)->check(Int(1, 1024));
  app.add_option("--hidden", so.hidden)->check(Int(1, 4096));
  app.add_option("--seed", so.seed)->check(disco::cli::Uint64());
  app.add_flag("--int4", int4, "int4 item embeddings");
  app.add_flag("--cart-arms", cart_arms, "add three cart-scope arms (a coupon over 50, 5 off category 3 over 30, free shipping over 20)");
  app.add_option("--key", key_path, "sign with this private key (PEM)");
  app.add_option("--schema-major", schema_major)->check(Int(0, 65535));
  app.add_option("--model-version", model_version);
  app.add_option("--catalog", catalog_path, "items.csv: the simulator's catalog");
  app.add_option("--policy", policy_path, "an offer-policy file's arms and guardrails (item and cart scope only)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage(e.what());
  }
  if (int4) so.item_dtype = disco::TensorDType::I4;
  if (out.empty()) return usage("--out is required");
  // --catalog: the ids, categories, prices, costs and stock of a simulator catalog (unquoted CSV)
  std::vector<std::string> ids;
  std::vector<uint32_t> cats;
  std::vector<float> prices, costs;
  std::vector<uint8_t> stock;
  if (!catalog_path.empty()) {
    std::ifstream cf(catalog_path);
    if (!cf) return usage(("cannot read catalog " + catalog_path).c_str());
    std::string line;
    std::map<std::string, uint32_t> cat_index;
    std::getline(cf, line);
    if (line.rfind("item_id,category,brand,price,cost,in_stock", 0) != 0)
      return usage((catalog_path + ":1: expected header item_id,category,brand,price,cost,in_stock").c_str());
    long lineno = 1;
    while (std::getline(cf, line)) {
      ++lineno;
      if (line.empty()) continue;
      std::vector<std::string> f;
      std::stringstream ss(line);
      std::string cell;
      while (std::getline(ss, cell, ',')) f.push_back(cell);
      if (f.size() < 6) return usage((catalog_path + ":" + std::to_string(lineno) + ": expected 6 fields").c_str());
      ids.push_back(f[0]);
      cats.push_back(cat_index.emplace(f[1], uint32_t(cat_index.size())).first->second);
      prices.push_back(std::strtof(f[3].c_str(), nullptr));
      costs.push_back(std::strtof(f[4].c_str(), nullptr));
      stock.push_back(f[5] == "0" ? 0 : 1);
    }
    so.n_items = uint32_t(ids.size());
  }
  disco::BundleSpec spec = disco::make_synthetic_spec(so);
  if (!ids.empty()) {
    spec.catalog.item_ids = ids;
    spec.catalog.category = cats;
    spec.catalog.brand.assign(ids.size(), 0);
    spec.catalog.price = prices;
    spec.catalog.cost = costs;
    spec.catalog.in_stock = stock;
  }
  if (!model_version.empty()) spec.model_version = model_version;
  if (!policy_path.empty()) {
    if (cart_arms) return usage("--policy and --cart-arms: pass one");
    try {
      apply_policy(policy_path, spec);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "disco_sdk_make_bundle: %s\n", e.what());
      return 2;
    }
  }
  if (cart_arms) {
    auto cart = [&](const char* name, disco::ArmKindSpec kind, float value, float ship, float min_spend) {
      spec.arms.push_back({name, kind, value, ship});
      spec.arms.back().scope = 2;
      spec.arms.back().min_spend = min_spend;
    };
    cart("10%-over-50", disco::ArmKindSpec::Percent, 0.10f, 0.0f, 50.0f);
    cart("5-off-cat3-over-30", disco::ArmKindSpec::FixedAmount, 5.0f, 0.0f, 30.0f);
    spec.arms.back().categories = {3};
    cart("ship-over-20", disco::ArmKindSpec::FreeShipping, 0.0f, 4.0f, 20.0f);
  }
  disco::WriteOptions wo;
  if (schema_major >= 0) {
    wo.schema_major = static_cast<uint16_t>(schema_major);
    wo.validate = false;  // the runtime refuses newer majors by design; the SDK test checks that
  }
  disco::BuildResult r;
  if (!key_path.empty()) {
    std::ifstream kf(key_path, std::ios::binary);
    if (!kf) return usage(("cannot read key " + key_path).c_str());
    std::string pem((std::istreambuf_iterator<char>(kf)), std::istreambuf_iterator<char>());
    r = disco::build_signed_bundle(spec, pem, wo);
  } else {
    r = disco::build_bundle(spec, wo);
  }
  if (!r.ok()) {
    std::fprintf(stderr, "disco_sdk_make_bundle: %s\n", r.error.c_str());
    return 1;
  }
  std::ofstream f(out, std::ios::binary);
  f.write(reinterpret_cast<const char*>(r.bytes.data()), static_cast<std::streamsize>(r.bytes.size()));
  if (!f) {
    std::fprintf(stderr, "disco_sdk_make_bundle: cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("%s %zu bytes, %u items, d=%u, h=%u%s\n", out.c_str(), r.bytes.size(), so.n_items,
              so.emb_dim, so.hidden, key_path.empty() ? ", unsigned" : ", signed");
  return 0;
}

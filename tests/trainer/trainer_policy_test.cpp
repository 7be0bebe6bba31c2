// The offer-policy file (trainer/model/include/disco/model/offer_policy.h): the documented examples
// parse, every kind of bad file names its JSON path and reason, names resolve against the catalog,
// the export writes the policy into the bundle, and without one the bundle is today's.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "disco/bundle_writer.h"
#include "disco/data/ingest.h"
#include "disco/disco.h"
#include "disco/model/export.h"
#include "disco/model/offer_policy.h"
#include "disco/schemas/bundle_generated.h"
#include "disco/sim/arms.h"
#include "trainer_test_util.h"

using namespace disco::model;

namespace {

const std::string kSrc = DISCO_SOURCE_DIR;

ModelWeights small_weights(int n, int d, int h) {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> N(0.f, 0.3f);
  auto fill = [&](Matrix& m, int r, int c) {
    m = Matrix(r, c);
    for (float& x : m.data) x = N(rng);
  };
  ModelWeights w;
  w.dims = {n, d, h, 1, 5, 0, 0};
  fill(w.item_emb, n, d);
  fill(w.type_emb, 5, d);
  w.w_ih.emplace_back();
  fill(w.w_ih.back(), 4 * h, d);
  w.w_hh.emplace_back();
  fill(w.w_hh.back(), 4 * h, h);
  w.b.emplace_back(size_t(4 * h), 0.0f);
  fill(w.out_proj, d, h);
  w.out_bias.assign(size_t(d), 0.0f);
  w.prop_w.assign(size_t(h), 0.1f);
  return w;
}

const disco::data::Dataset& store() {  // items it0..it39, categories cat0..cat3, brands b0..b2
  static const disco::data::Dataset ds = [] {
    const std::string dir = trainer_test::temp_dir("policy-store");
    trainer_test::write_store(dir, 40, 120);
    return disco::data::read_canonical(dir);
  }();
  return ds;
}

std::string error_of(const std::string& text) {
  try {
    parse_offer_policy(text, "policy.json");
  } catch (const TrainError& e) {
    return e.what();
  }
  return "(accepted)";
}

std::string resolve_error_of(const std::string& text) {
  try {
    const OfferPolicy p = parse_offer_policy(text, "policy.json");
    disco::BundleSpec spec;
    apply_offer_policy(p, store(), spec);
  } catch (const TrainError& e) {
    return e.what();
  }
  return "(accepted)";
}

// A valid document with `arms` (JSON array elements after the no-discount arm) and `rest`.
std::string doc(const std::string& arms, const std::string& rest = "") {
  return R"({"version": 1, "arms": [{"name": "none", "kind": "percent", "value": 0})" +
         (arms.empty() ? "" : ", " + arms) + "]" + (rest.empty() ? "" : ", " + rest) + "}";
}

}  // namespace

TEST(OfferPolicy, TheDocumentedExamplesParse) {
  const OfferPolicy ex = load_offer_policy(kSrc + "/schemas/examples/offer-policy.example.json");
  ASSERT_EQ(ex.arms.size(), 7u);
  EXPECT_EQ(ex.arms[3].kind, disco::ArmKindSpec::FixedAmount);
  EXPECT_EQ(ex.arms[3].lifetime_s, 600u);
  EXPECT_EQ(ex.arms[3].eligibility.brands, (std::vector<std::string>{"b3", "b4"}));
  EXPECT_EQ(ex.arms[5].scope, 1);
  EXPECT_EQ(ex.arms[5].window_start_ms, 1795737600000);  // 2026-11-27T00:00:00Z
  EXPECT_EQ(ex.arms[5].window_end_ms, 1795996800000);    // 2026-11-30T00:00:00Z
  EXPECT_EQ(ex.arms[6].scope, 2);
  EXPECT_EQ(ex.arms[6].min_spend, 50.0);
  EXPECT_EQ(ex.arms[6].window_end_ms, 0);
  EXPECT_TRUE(ex.has_budget);
  EXPECT_EQ(ex.budget, 500.0);
  EXPECT_EQ(ex.max_discounted_offers, 20u);
  EXPECT_EQ(ex.json.find("$schema"), std::string::npos) << "the editor hint is not kept";

  // The defaults file is exactly what an export without --policy uses.
  const OfferPolicy def = load_offer_policy(kSrc + "/schemas/examples/offer-policy.default.json");
  const OfferPolicy builtin = default_offer_policy();
  ASSERT_EQ(def.arms.size(), builtin.arms.size());
  ASSERT_EQ(builtin.arms.size(), size_t(disco::sim::kNumArms));
  for (size_t i = 0; i < def.arms.size(); ++i) {
    EXPECT_EQ(def.arms[i].name, builtin.arms[i].name);
    EXPECT_EQ(def.arms[i].kind, builtin.arms[i].kind);
    EXPECT_EQ(def.arms[i].value, builtin.arms[i].value);
    EXPECT_EQ(def.arms[i].merchant_cost, builtin.arms[i].merchant_cost);
  }
  EXPECT_EQ(def.max_discount, builtin.max_discount);
  EXPECT_EQ(def.margin_floor, builtin.margin_floor);
  EXPECT_EQ(def.cooldown_s, builtin.cooldown_s);
  EXPECT_EQ(def.offer_ttl_s, builtin.offer_ttl_s);
  EXPECT_FALSE(def.has_budget);
}

TEST(OfferPolicy, Timestamps) {
  int64_t ms = -1;
  ASSERT_TRUE(parse_utc_timestamp("1970-01-01T00:00:00Z", &ms));
  EXPECT_EQ(ms, 0);
  ASSERT_TRUE(parse_utc_timestamp("2024-02-29T23:59:59.5Z", &ms));
  EXPECT_EQ(ms, 1709251199500);
  EXPECT_FALSE(parse_utc_timestamp("2026-02-29T00:00:00Z", &ms)) << "not a leap year";
  EXPECT_FALSE(parse_utc_timestamp("2026-11-31T00:00:00Z", &ms));
  EXPECT_FALSE(parse_utc_timestamp("2026-11-27T24:00:00Z", &ms));
  EXPECT_FALSE(parse_utc_timestamp("2026-11-27T00:00:00+01:00", &ms)) << "UTC only";
  EXPECT_FALSE(parse_utc_timestamp("2026-11-27 00:00:00Z", &ms));
  EXPECT_FALSE(parse_utc_timestamp("2026-11-27T00:00:00.Z", &ms));
  EXPECT_FALSE(parse_utc_timestamp("2026-11-27T00:00:00", &ms));
}

TEST(OfferPolicy, EveryKindOfBadFileNamesItsPathAndReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"version\": 1,\n \"arms\": [}", "policy.json: not valid JSON at line 2, column"},
      {"[1]", "policy.json: $: must be an object, got an array"},
      {R"({"version": 1, "arms": [], "colour": "red"})", "$.colour: unknown field (expected one of: $schema, version,"},
      {R"({"arms": []})", "$: missing required field 'version'"},
      {R"({"version": 2, "arms": []})", "$.version: must be 1"},
      {R"({"version": 1})", "$: missing required field 'arms'"},
      {R"({"version": 1, "arms": {}})", "$.arms: must be an array, got an object"},
      {R"({"version": 1, "arms": []})", "$.arms: must hold 1..32 arms, got 0"},
      {R"({"version": 1, "arms": [{"name": "5%", "kind": "percent", "value": 0.05}]})",
       "$.arms[0]: arm 0 must be the no-discount arm"},
      {doc(R"({"name": "none", "kind": "percent", "value": 0.05})"), "$.arms[1].name: 'none' is also the name of $.arms[0]"},
      {doc(R"({"kind": "percent", "value": 0.05})"), "$.arms[1]: missing required field 'name'"},
      {doc(R"({"name": "", "kind": "percent", "value": 0.05})"), "$.arms[1].name: must be 1..64 characters"},
      {doc(R"({"name": "x", "value": 0.05})"), "$.arms[1]: missing required field 'kind'"},
      {doc(R"({"name": "x", "kind": "bogo", "value": 0.05})"), "$.arms[1].kind: must be percent, fixed_amount or free_shipping, got \"bogo\""},
      {doc(R"({"name": "x", "kind": "percent", "value": 10})"), "$.arms[1].value: must be a fraction in [0, 1] (0.1 = 10 %), got 10"},
      {doc(R"({"name": "x", "kind": "percent", "value": "10%"})"), "$.arms[1].value: must be a number, got a string"},
      {doc(R"({"name": "x", "kind": "percent"})"), "$.arms[1]: missing required field 'value'"},
      {doc(R"({"name": "x", "kind": "fixed_amount", "value": 0})"), "$.arms[1].value: must be in (0, "},
      {doc(R"({"name": "x", "kind": "free_shipping"})"), "$.arms[1]: a free_shipping arm needs 'merchant_cost'"},
      {doc(R"({"name": "x", "kind": "free_shipping", "merchant_cost": 4, "value": 3})"), "$.arms[1].value: a free_shipping arm has no value"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "merchant_cost": 4})"), "$.arms[1].merchant_cost: only free_shipping arms"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "colour": 1})"), "$.arms[1].colour: unknown field"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "scope": "store"})"), "$.arms[1].scope: must be item, category or cart"},
      {doc(R"({"name": "x", "kind": "fixed_amount", "value": 10, "scope": "cart"})"), "$.arms[1]: a cart-scope arm needs 'min_spend'"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "min_spend": 50})"), "$.arms[1].min_spend: only cart-scope arms have a min_spend"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "scope": "category"})"),
       "$.arms[1].eligibility.categories: a category-scope arm needs the categories it applies to"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "lifetime_s": 0})"), "$.arms[1].lifetime_s: must be in [1, 31536000], got 0"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "lifetime_s": 1.5})"), "$.arms[1].lifetime_s: must be an integer, got 1.5"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "window": {}})"), "$.arms[1].window: needs a start, an end or both"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "window": {"start": "2026-02-30T00:00:00Z"}})"),
       "$.arms[1].window.start: must be a UTC time like 2026-11-27T00:00:00Z, got \"2026-02-30T00:00:00Z\""},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1}, {"name": "y", "kind": "percent", "value": 0.1},
              {"name": "z", "kind": "percent", "value": 0.2, "window": {"start": "2026-12-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}})"),
       "policy.json: $.arms[3].window.end: must be after start (2026-12-01T00:00:00Z)"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "window": {"start": "2026-12-01T00:00:00Z", "stop": "x"}})"),
       "$.arms[1].window.stop: unknown field (expected one of: start, end)"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "eligibility": {"categories": ["a", "a"]}})"),
       "$.arms[1].eligibility.categories[1]: 'a' is listed twice"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "eligibility": {"categories": "shoes"}})"),
       "$.arms[1].eligibility.categories: must be an array of names, got a string"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.1, "eligibility": {"sizes": ["M"]}})"),
       "$.arms[1].eligibility.sizes: unknown field"},
      {doc("", R"("guardrails": {"max_discount": 1.5})"), "$.guardrails.max_discount: must be in [0, 1], got 1.5"},
      {doc("", R"("guardrails": {"cooldown_s": -1})"), "$.guardrails.cooldown_s: must be in [0, 4294967295], got -1"},
      {doc("", R"("guardrails": {"budget": {"period_s": 3600}})"), "$.guardrails.budget: missing required field 'amount'"},
      {doc("", R"("guardrails": {"budget": {"amount": 100, "pacing": "asap"}})"), "$.guardrails.budget.pacing: must be fcfs or dual"},
      {doc("", R"("guardrails": {"budget": {"amount": 100, "dual_rate": 0}})"), "$.guardrails.budget.dual_rate: must be in (0, "},
      {doc("", R"("guardrails": {"eligibility": {"brands": ["b0"]}})"), "$.guardrails.eligibility.brands: unknown field"},
      {doc(R"({"name": "x", "kind": "percent", "value": 0.3})"), "$.arms[1].value: 0.3 is above guardrails.max_discount (0.2)"},
  };
  for (const auto& [text, want] : cases) {
    const std::string got = error_of(text);
    EXPECT_NE(got.find(want), std::string::npos) << "file: " << text << "\nwant: " << want << "\ngot:  " << got;
  }
  // 33 arms: more than the runtime's 32-bit masks hold
  std::string many;
  for (int i = 1; i < 33; ++i) many += std::string(i > 1 ? ", " : "") + R"({"name": "a)" + std::to_string(i) + R"(", "kind": "fixed_amount", "value": 1})";
  EXPECT_NE(error_of(doc(many)).find("$.arms: must hold 1..32 arms, got 33"), std::string::npos);
}

TEST(OfferPolicy, NamesResolveAgainstTheCatalogOrNameTheirPath) {
  EXPECT_NE(resolve_error_of(doc(R"({"name": "x", "kind": "percent", "value": 0.1, "eligibility": {"categories": ["cat1", "shoes"]}})"))
                .find("policy.json: $.arms[1].eligibility.categories[1]: unknown category 'shoes' (not among the catalog's"),
            std::string::npos);
  EXPECT_NE(resolve_error_of(doc(R"({"name": "x", "kind": "percent", "value": 0.1, "eligibility": {"brands": ["acme"]}})"))
                .find("$.arms[1].eligibility.brands[0]: unknown brand 'acme'"),
            std::string::npos);
  EXPECT_NE(resolve_error_of(doc(R"({"name": "x", "kind": "percent", "value": 0.1, "eligibility": {"excluded_items": ["it999"]}})"))
                .find("$.arms[1].eligibility.excluded_items[0]: unknown item 'it999'"),
            std::string::npos);
  EXPECT_NE(resolve_error_of(doc("", R"("guardrails": {"eligibility": {"categories": ["nope"]}})"))
                .find("$.guardrails.eligibility.categories[0]: unknown category 'nope'"),
            std::string::npos);

  const OfferPolicy p = parse_offer_policy(
      doc(R"({"name": "x", "kind": "fixed_amount", "value": 2, "lifetime_s": 60,
              "eligibility": {"categories": ["cat2", "cat1"], "brands": ["b1"], "items": ["it9", "it5"], "excluded_items": ["it1"]}})",
          R"("guardrails": {"eligibility": {"excluded_items": ["it7", "it3"]}})"),
      "p.json");
  disco::BundleSpec spec;
  apply_offer_policy(p, store(), spec);
  ASSERT_EQ(spec.arms.size(), 2u);
  const auto& ds = store();
  auto cat = [&](const char* n) { return uint32_t(std::find(ds.categories.begin(), ds.categories.end(), n) - ds.categories.begin()); };
  auto item = [&](const char* n) {
    for (size_t i = 0; i < ds.items.size(); ++i)
      if (ds.items[i].id == n) return uint32_t(i);
    return ~0u;
  };
  std::vector<uint32_t> cats = {cat("cat1"), cat("cat2")};
  std::sort(cats.begin(), cats.end());
  EXPECT_EQ(spec.arms[1].categories, cats) << "ascending, as the runtime's binary search needs";
  std::vector<uint32_t> items = {item("it5"), item("it9")};
  std::sort(items.begin(), items.end());
  EXPECT_EQ(spec.arms[1].items, items);
  EXPECT_EQ(spec.arms[1].excluded_items, std::vector<uint32_t>{item("it1")});
  EXPECT_EQ(spec.arms[1].lifetime_s, 60u);
  std::vector<uint32_t> excl = {item("it3"), item("it7")};
  std::sort(excl.begin(), excl.end());
  EXPECT_EQ(spec.guardrails.excluded_items, excl);
  EXPECT_FALSE(spec.offer_policy.empty());
}

TEST(OfferPolicy, ExportWithoutAPolicyIsTodaysBundle) {
  const auto& ds = store();
  const ModelWeights w = small_weights(int(ds.items.size()), 8, 8);
  ExportOptions eo;
  eo.created_at_ms = 1;
  eo.budget_per_period = 40;
  const disco::BundleSpec spec = make_bundle_spec(w, ds, eo);
  // What the export wrote before the policy file existed (arms.h and the literal guardrails).
  disco::BundleSpec before = spec;
  before.arms.clear();
  for (const auto& a : disco::sim::kArms)
    before.arms.push_back({a.name, disco::ArmKindSpec(uint8_t(a.kind)), float(a.value), float(a.merchant_cost)});
  before.guardrails = disco::GuardrailsSpec{};
  before.guardrails.max_discount = 0.2f;
  before.guardrails.margin_floor = 0.05f;
  before.guardrails.cooldown_s = 3600;
  before.guardrails.budget_per_period = 40;
  before.offer_policy.clear();
  EXPECT_TRUE(spec.offer_policy.empty());
  EXPECT_EQ(disco::build_model_payload(spec), disco::build_model_payload(before));
  // and no new field is written: the Arm and Guardrails tables hold only their old fields
  const auto payload = disco::build_model_payload(spec);
  const disco::fb::Model* m = flatbuffers::GetRoot<disco::fb::Model>(payload.data());
  auto has = [](const void* table, flatbuffers::voffset_t f) {
    return reinterpret_cast<const flatbuffers::Table*>(table)->CheckField(f);
  };
  for (const disco::fb::Arm* a : *m->arms()) {
    EXPECT_FALSE(has(a, disco::fb::Arm::VT_SCOPE) || has(a, disco::fb::Arm::VT_LIFETIME_S) ||
                 has(a, disco::fb::Arm::VT_WINDOW_START_MS) || has(a, disco::fb::Arm::VT_CATEGORIES));
  }
  EXPECT_FALSE(has(m->guardrails(), disco::fb::Guardrails::VT_PACING_BURST));
  EXPECT_EQ(m->offer_policy(), nullptr);
}

TEST(OfferPolicy, ExportWritesThePolicyAndTheRuntimeLoadsIt) {
  const auto& ds = store();
  const ModelWeights w = small_weights(int(ds.items.size()), 8, 8);
  ExportOptions eo;
  eo.offer_policy = parse_offer_policy(
      doc(R"({"name": "5%", "kind": "percent", "value": 0.05, "lifetime_s": 120},
             {"name": "2-off", "kind": "fixed_amount", "value": 2, "eligibility": {"categories": ["cat1"]}},
             {"name": "flash", "kind": "percent", "value": 0.2, "window": {"start": "2026-11-27T00:00:00Z", "end": "2026-11-28T00:00:00Z"}},
             {"name": "coupon", "kind": "fixed_amount", "value": 10, "scope": "cart", "min_spend": 50})",
          R"("guardrails": {"max_discount": 0.25, "budget": {"amount": 75, "period_s": 3600, "pacing": "fcfs", "burst": 0.1},
             "cooldown_s": 0, "max_discounted_offers": 3, "offer_ttl_s": 300})"),
      "p.json");
  const auto bytes = export_bundle(w, ds, eo);
  disco_bundle* b = nullptr;
  ASSERT_EQ(disco_bundle_load(bytes.data(), bytes.size(), 0, &b), DISCO_OK) << disco_last_error();
  disco_bundle_info info{};
  disco_bundle_get_info(b, &info);
  EXPECT_EQ(info.n_arms, 5u);
  const disco::fb::Model* m = disco::fb::GetBundle(bytes.data())->payload_nested_root();
  EXPECT_EQ(m->arms()->Get(1)->lifetime_s(), 120u);
  EXPECT_EQ(m->arms()->Get(3)->window_start_ms(), 1795737600000);
  EXPECT_EQ(m->arms()->Get(4)->scope(), disco::fb::ArmScope::Cart);
  EXPECT_EQ(m->arms()->Get(4)->min_spend(), 50.0f);
  EXPECT_EQ(m->guardrails()->budget_per_period(), 75.0f);
  EXPECT_EQ(m->guardrails()->budget_mode(), disco::fb::BudgetMode::Fcfs);
  EXPECT_EQ(m->guardrails()->pacing_burst(), 0.1f);
  EXPECT_EQ(m->guardrails()->max_discounted_offers(), 3u);
  EXPECT_EQ(m->guardrails()->offer_ttl_s(), 300u);
  ASSERT_NE(m->offer_policy(), nullptr);
  EXPECT_NE(m->offer_policy()->str().find("\"coupon\""), std::string::npos);
  disco_runtime* rt = nullptr;
  EXPECT_EQ(disco_runtime_create(b, nullptr, &rt), DISCO_OK) << disco_last_error();
  disco_runtime_free(rt);
  disco_bundle_free(b);

  // a policy budget and --budget together are refused
  eo.budget_per_period = 10;
  EXPECT_THROW(make_bundle_spec(w, ds, eo), TrainError);
}

TEST(OfferPolicy, CliExportRefusesABadFileWithItsPathBeforeReadingData) {
  const std::string dir = trainer_test::temp_dir("policy-cli");
  const std::string bad = dir + "/policy.json";
  {
    std::ofstream f(bad);
    f << doc(R"({"name": "x", "kind": "percent", "value": 0.1, "window": {"start": "2026-12-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}})");
  }
  const auto r = trainer_test::run("export --data " + dir + "/no-such-data --out " + dir + " --policy " + bad);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(bad + ": $.arms[1].window.end: must be after start (2026-12-01T00:00:00Z)"), std::string::npos) << r.output;
  const auto missing = trainer_test::run("export --data " + dir + " --out " + dir + " --policy " + dir + "/none.json");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("none.json: cannot open"), std::string::npos) << missing.output;
}

// The JSON Schema (the documentation) and the validator (the rules) agree: each object of the
// schema lists exactly the fields the validator accepts, and every enum value of the schema is
// accepted. The validator's accepted fields are read from its "unknown field (expected one of: ...)".
TEST(OfferPolicy, TheSchemaAndTheValidatorAgree) {
  const nlohmann::json schema = nlohmann::json::parse(trainer_test::slurp(kSrc + "/schemas/offer-policy.schema.json"));
  auto accepted = [](const std::string& text) {
    const std::string e = error_of(text);
    const size_t a = e.find("expected one of: "), b = e.rfind(')');
    EXPECT_NE(a, std::string::npos) << e;
    std::set<std::string> keys;
    if (a == std::string::npos) return keys;
    std::string list = e.substr(a + 17, b - a - 17) + ",";
    for (size_t s = 0, c; (c = list.find(',', s)) != std::string::npos; s = c + 1) {
      std::string k = list.substr(s, c - s);
      if (!k.empty() && k[0] == ' ') k.erase(0, 1);
      keys.insert(k);
    }
    return keys;
  };
  auto props = [](const nlohmann::json& obj) {
    std::set<std::string> keys;
    for (auto it = obj["properties"].begin(); it != obj["properties"].end(); ++it) keys.insert(it.key());
    return keys;
  };
  const auto& defs = schema["$defs"];
  const std::string arm = R"({"name": "x", "kind": "percent", "value": 0.1)";
  EXPECT_EQ(accepted(R"({"version": 1, "arms": [], "zz": 1})"), props(schema));
  EXPECT_EQ(accepted(doc(arm + R"(, "zz": 1})")), props(defs["arm"]));
  EXPECT_EQ(accepted(doc(arm + R"(, "window": {"zz": 1}})")), props(defs["window"]));
  EXPECT_EQ(accepted(doc(arm + R"(, "eligibility": {"zz": 1}})")), props(defs["eligibility"]));
  EXPECT_EQ(accepted(doc("", R"("guardrails": {"zz": 1})")), props(defs["guardrails"]));
  EXPECT_EQ(accepted(doc("", R"("guardrails": {"budget": {"zz": 1}})")), props(defs["guardrails"]["properties"]["budget"]));
  EXPECT_EQ(accepted(doc("", R"("guardrails": {"eligibility": {"zz": 1}})")),
            props(defs["guardrails"]["properties"]["eligibility"]));
  for (const auto& k : defs["arm"]["properties"]["kind"]["enum"]) {
    const std::string kind = k.get<std::string>();
    const std::string a = kind == "free_shipping" ? R"({"name": "x", "kind": "free_shipping", "merchant_cost": 4})"
                                                  : R"({"name": "x", "kind": ")" + kind + R"(", "value": 0.1})";
    EXPECT_EQ(error_of(doc(a)), "(accepted)") << kind;
  }
  for (const auto& s : defs["arm"]["properties"]["scope"]["enum"]) {
    const std::string scope = s.get<std::string>();
    std::string a = arm + R"(, "scope": ")" + scope + "\"";
    if (scope == "category") a += R"(, "eligibility": {"categories": ["c"]})";
    if (scope == "cart") a += R"(, "min_spend": 1)";
    EXPECT_EQ(error_of(doc(a + "}")), "(accepted)") << scope;
  }
  for (const auto& m : defs["guardrails"]["properties"]["budget"]["properties"]["pacing"]["enum"])
    EXPECT_EQ(error_of(doc("", R"("guardrails": {"budget": {"amount": 1, "pacing": )" + m.dump() + "}}")), "(accepted)");
}

// The bandit warm start in the bundle: `disco-train export --bandit-prior FILE --noise-scale V`
// (trainer/model/src/bandit_prior.cpp, export.cpp). A prior written by the trainer is read back by
// the runtime (disco_bundle_load + disco_runtime_create) and steers its choices; bad prior files
// are refused with the file and the problem named, and no bundle is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "disco/context.h"
#include "disco/data/ingest.h"
#include "disco/disco.h"
#include "disco/model/bandit_prior.h"
#include "disco/model/export.h"
#include "disco/model/weights.h"
#include "disco/schemas/bundle_generated.h"
#include "trainer_test_util.h"

namespace fs = std::filesystem;
using namespace disco::model;
using trainer_test::run;

namespace {

constexpr uint32_t kArmsN = 6;  // trainer/sim/include/disco/sim/arms.h kArms
constexpr uint32_t kFav = 2;    // the 10% arm: inside the bundle's max discount and margin floor
const int64_t kT0 = 1'700'100'000'000;

// One shopper's visit: views then a cart add of item 0 (price 5.50, cost 3.00: every percent arm
// passes the 5% margin floor), then an offer on item 0. Each call uses a new session.
disco_offer offer_for(disco_runtime* rt, uint64_t user_key) {
  disco_session* s = nullptr;
  EXPECT_EQ(disco_session_create(rt, user_key, &s), DISCO_OK) << disco_last_error();
  const uint32_t items[] = {3, 4, 0};
  const uint32_t types[] = {0, 0, 2};
  for (int k = 0; k < 3; ++k) {
    disco_event ev{kT0 + k * 30'000, items[k], types[k], 5.5f, 1};
    EXPECT_EQ(disco_observe(s, &ev), DISCO_OK) << disco_last_error();
  }
  disco_offer o{};
  EXPECT_EQ(disco_offer_make(s, 0, kT0 + 120'000, 0, 0, &o), DISCO_OK) << disco_last_error();
  disco_session_free(s);
  return o;
}

struct Loaded {
  std::vector<uint8_t> bytes;
  disco_bundle* b = nullptr;
  disco_runtime* rt = nullptr;
  explicit Loaded(std::vector<uint8_t> v, uint64_t seed = 11) : bytes(std::move(v)) {
    EXPECT_EQ(disco_bundle_load(bytes.data(), bytes.size(), 0, &b), DISCO_OK) << disco_last_error();
    disco_runtime_options ro;
    disco_runtime_default_options(&ro);
    ro.seed = seed;
    if (b) EXPECT_EQ(disco_runtime_create(b, &ro, &rt), DISCO_OK) << disco_last_error();
  }
  ~Loaded() {
    disco_runtime_free(rt);
    disco_bundle_free(b);
  }
};

std::vector<uint8_t> file_bytes(const std::string& p) {
  const std::string s = trainer_test::slurp(p);
  return std::vector<uint8_t>(s.begin(), s.end());
}

// Share of `trials` offers (new shoppers, same visit, same context) that offer `arm`; checks that
// the context is the one the prior was built for.
double share_of(disco_runtime* rt, uint32_t arm, const std::vector<float>& x, int trials = 400) {
  int hits = 0;
  for (int i = 0; i < trials; ++i) {
    const disco_offer o = offer_for(rt, 1000 + uint64_t(i));
    EXPECT_EQ(o.context_dim, x.size());
    for (size_t k = 0; k < x.size(); ++k) EXPECT_FLOAT_EQ(o.context[k], x[k]) << "feature " << k << " trial " << i;
    hits += o.arm == arm;
  }
  return double(hits) / trials;
}

// A prior that says: in context x, arm kFav earns 1 and every other arm 0, seen `n` times.
std::string prior_json(const std::vector<float>& x, double n) {
  std::ostringstream js;
  js.precision(17);
  const size_t d = x.size();
  js << "{\"shoppers\": 3, \"arms\": [\n";
  for (uint32_t a = 0; a < kArmsN; ++a) {
    const double r = a == kFav ? 1.0 : 0.0;
    js << "  {\"arm\": " << a << ", \"dim\": " << d << ", \"A\": [";
    for (size_t i = 0; i < d; ++i)
      for (size_t j = 0; j < d; ++j) js << (i || j ? "," : "") << n * double(x[i]) * double(x[j]);
    js << "], \"b\": [";
    for (size_t i = 0; i < d; ++i) js << (i ? "," : "") << n * r * double(x[i]);
    js << "], \"n\": " << n << ", \"reward_sum\": " << n * r << "}" << (a + 1 < kArmsN ? "," : "") << "\n";
  }
  js << "]}\n";
  return js.str();
}

void write_text(const std::string& path, const std::string& s) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << s;
}

// Trains a tiny model once for the CLI tests in this file.
struct Trained {
  std::string dir;
  bool ok = false;
  std::string log;
};
const Trained& trained() {
  static Trained t = [] {
    Trained r;
    r.dir = trainer_test::temp_dir("prior");
    trainer_test::write_store(r.dir + "/data");
    const auto tr = run("train --data " + r.dir + "/data --out " + r.dir + "/out --epochs 1 --max-steps 5 --fresh" +
                        std::string(trainer_test::kTiny));
    r.ok = tr.exit_code == 0 && fs::exists(r.dir + "/out/model.bin") && fs::exists(r.dir + "/out/bundle.disco");
    r.log = tr.output;
    return r;
  }();
  return t;
}

std::string export_cmd(const Trained& t, const std::string& out, const std::string& extra) {
  return "export --data " + t.dir + "/data --out " + t.dir + "/out --model " + t.dir + "/out/model.bin --bundle " + out +
         " --no-int4 --cold-holdout 0 " + extra;
}

}  // namespace

TEST(TrainerBanditPrior, ParsesTheCollectorShapeAndIgnoresOtherMembers) {
  std::vector<float> x(disco::kContextDim);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * float(i) - 0.3f;
  const BanditPrior p = parse_bandit_prior(prior_json(x, 50), "p.json", kArmsN, disco::kContextDim);
  ASSERT_EQ(p.arms.size(), kArmsN);
  EXPECT_EQ(p.dim, disco::kContextDim);
  EXPECT_DOUBLE_EQ(p.arms[kFav].n, 50);
  EXPECT_NEAR(p.arms[kFav].b[5], 50 * double(x[5]), 1e-12);
  EXPECT_NEAR(p.arms[1].A[2 * x.size() + 7], 50 * double(x[2]) * double(x[7]), 1e-12);
  EXPECT_DOUBLE_EQ(p.arms[1].b[3], 0.0);
  // arms may come in any order
  const std::string swapped = R"({"arms":[{"arm":1,"dim":1,"A":[2],"b":[1],"n":2},{"arm":0,"dim":1,"A":[0],"b":[0],"n":0}]})";
  const BanditPrior q = parse_bandit_prior(swapped, "s.json", 2, 1);
  EXPECT_DOUBLE_EQ(q.arms[1].A[0], 2);
  EXPECT_DOUBLE_EQ(q.arms[0].n, 0);
}

TEST(TrainerBanditPrior, BadPriorsAreRefusedWithTheFileAndTheProblem) {
  const std::string one = R"("dim":1,"A":[1],"b":[0.5],"n":1)";
  auto arm = [&](int a, const std::string& body) { return "{\"arm\":" + std::to_string(a) + "," + body + "}"; };
  struct Case {
    std::string json, expect;
  };
  const std::vector<Case> cases = {
      {"[1,2]", "expected a JSON object"},
      {"{\"x\":1}", "missing \"arms\""},
      {"{\"arms\":[" + arm(0, one) + "]}", "has 1 arms; the bundle has 2"},
      {"{\"arms\":[" + arm(0, one) + "," + arm(0, one) + "]}", "arm 0: listed twice"},
      {"{\"arms\":[" + arm(0, one) + "," + arm(2, one) + "]}", "out of range"},
      {"{\"arms\":[" + arm(0, one) + "," + arm(1, R"("dim":2,"A":[1,0,0,1],"b":[0,0],"n":1)") + "]}", "arm 1: dim is 2"},
      {"{\"arms\":[" + arm(0, one) + "," + arm(1, R"("dim":1,"A":[1,2],"b":[0],"n":1)") + "]}", "\"A\" has 2 numbers, expected 1"},
      {"{\"arms\":[" + arm(0, one) + "," + arm(1, R"("dim":1,"A":[1e400],"b":[0],"n":1)") + "]}", "number overflow parsing '1e400'"},
      {"{\"arms\":[" + arm(0, one) + "," + arm(1, R"("dim":1,"A":[1e39],"b":[0],"n":1)") + "]}", "not a finite number"},
      {"{\"arms\":[" + arm(0, one) + "," + arm(1, R"("dim":1,"A":[1],"b":[0],"n":-1)") + "]}", "n must be a finite number >= 0"},
      {"{\"arms\":[" + arm(0, one) + "," + arm(1, R"("dim":1,"A":[-1],"b":[0],"n":1)") + "]}", "is negative"},
      {"{\"arms\":[" + arm(0, one) + "," + arm(1, R"("dim":1,"A":[1],"b":[NaN],"n":1)") + "]}", "invalid literal"},
      {"{\"arms\":[\n" + arm(0, one) + ",\n" + arm(1, one) + "\n", "p.json:4: bandit prior: [json.exception.parse_error.101]"},
  };
  for (const auto& c : cases) {
    try {
      parse_bandit_prior(c.json, "p.json", 2, 1);
      ADD_FAILURE() << "accepted: " << c.json;
    } catch (const TrainError& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind("p.json:", 0), 0u) << m;
      EXPECT_NE(m.find(c.expect), std::string::npos) << "message: " << m << "\nexpected to contain: " << c.expect;
    }
  }
  // asymmetric A (dim 2)
  const std::string asym = R"({"arms":[{"arm":0,"dim":2,"A":[1,0.5,0.4,1],"b":[0,0],"n":1}]})";
  try {
    parse_bandit_prior(asym, "a.json", 1, 2);
    ADD_FAILURE() << "accepted an asymmetric A";
  } catch (const TrainError& e) {
    EXPECT_NE(std::string(e.what()).find("A is not symmetric: A[0][1] = 0.5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_bandit_prior("/nonexistent/prior.json", 2, 1), TrainError);
}

TEST(TrainerBanditPrior, ExportedPriorAndNoiseScaleSteerTheRuntime) {
  const Trained& t = trained();
  ASSERT_TRUE(t.ok) << t.log;
  // The context the runtime builds for the test visit, from the bundle without a prior.
  std::vector<float> x;
  {
    Loaded plain(file_bytes(t.dir + "/out/bundle.disco"));
    ASSERT_NE(plain.rt, nullptr);
    const disco_offer o = offer_for(plain.rt, 999);
    ASSERT_EQ(o.context_dim, disco::kContextDim);
    x.assign(o.context, o.context + o.context_dim);
    const double base = share_of(plain.rt, kFav, x);
    EXPECT_LT(base, 0.5) << "without a prior the 10% arm should not dominate (share " << base << ")";
  }
  const std::string prior = t.dir + "/prior.json";
  write_text(prior, prior_json(x, 2000));
  const std::string out = t.dir + "/with-prior.disco";
  const auto e = run(export_cmd(t, out, "--bandit-prior " + prior + " --noise-scale 0.2 --model-version with-prior"));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_NE(e.output.find("bandit prior from " + prior), std::string::npos) << e.output;
  Loaded withp(file_bytes(out));
  ASSERT_NE(withp.rt, nullptr);
  const double share = share_of(withp.rt, kFav, x);
  EXPECT_GE(share, 0.85) << "a prior that strongly favours arm " << kFav << " should make it the offer";

  // The same prior fitted on a context layout the runtime does not build is refused at export.
  write_text(t.dir + "/wrong-dim.json",
             R"({"arms":[)" + [] {
               std::string s;
               for (uint32_t a = 0; a < kArmsN; ++a)
                 s += std::string(a ? "," : "") + R"({"arm":)" + std::to_string(a) + R"(,"dim":3,"A":[1,0,0,0,1,0,0,0,1],"b":[0,0,0],"n":1})";
               return s;
             }() + "]}");
  const std::string bad_out = t.dir + "/not-written.disco";
  const auto w = run(export_cmd(t, bad_out, "--bandit-prior " + t.dir + "/wrong-dim.json"));
  EXPECT_NE(w.exit_code, 0);
  EXPECT_NE(w.output.find(t.dir + "/wrong-dim.json: bandit prior: arm 0: dim is 3"), std::string::npos) << w.output;
  EXPECT_FALSE(fs::exists(bad_out)) << "no bundle may be written for a refused prior";
}

TEST(TrainerBanditPrior, CliRefusesBadFilesAndValuesWithoutWritingABundle) {
  const Trained& t = trained();
  ASSERT_TRUE(t.ok) << t.log;
  std::vector<float> x(disco::kContextDim, 0.25f);
  std::string asym = prior_json(x, 10);
  // make arm 0's A[0][1] differ from A[1][0]
  const size_t at = asym.find("\"A\": [") + 6;
  const size_t comma = asym.find(',', at);
  const size_t comma2 = asym.find(',', comma + 1);
  asym.replace(comma + 1, comma2 - comma - 1, "0.75");
  write_text(t.dir + "/asym.json", asym);
  write_text(t.dir + "/five-arms.json", [&] {
    std::string s = prior_json(x, 10);
    const size_t last = s.rfind(",\n  {\"arm\": 5");
    return s.substr(0, last) + "\n]}\n";
  }());
  write_text(t.dir + "/truncated.json", prior_json(x, 10).substr(0, 100));
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"--bandit-prior " + t.dir + "/asym.json", t.dir + "/asym.json: bandit prior: arm 0: A is not symmetric"},
      {"--bandit-prior " + t.dir + "/five-arms.json", t.dir + "/five-arms.json: bandit prior: has 5 arms; the bundle has 6"},
      {"--bandit-prior " + t.dir + "/truncated.json", t.dir + "/truncated.json:2: bandit prior:"},
      {"--bandit-prior " + t.dir + "/missing.json", t.dir + "/missing.json: cannot open the bandit prior"},
      {"--noise-scale 0", "noise_scale: expected a finite number > 0, got '0'"},
      {"--noise-scale -1", "noise_scale: expected a finite number > 0"},
      {"--noise-scale abc", "noise_scale: expected a number, got 'abc'"},
  };
  for (const auto& c : cases) {
    const std::string out = t.dir + "/refused.disco";
    const auto r = run(export_cmd(t, out, c.args));
    EXPECT_NE(r.exit_code, 0) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.args << "\noutput: " << r.output << "\nexpected: " << c.expect;
    EXPECT_FALSE(fs::exists(out)) << c.args << ": a bundle was written";
  }
  // train checks the prior before it trains (nothing written)
  const auto tr = run("train --data " + t.dir + "/data --out " + t.dir + "/out2 --epochs 1 --max-steps 2 --bandit-prior " +
                      t.dir + "/asym.json" + std::string(trainer_test::kTiny));
  EXPECT_NE(tr.exit_code, 0) << tr.output;
  EXPECT_NE(tr.output.find("A is not symmetric"), std::string::npos) << tr.output;
  EXPECT_EQ(tr.output.find("== train"), std::string::npos) << "train must refuse the prior before training:\n" << tr.output;
  EXPECT_FALSE(fs::exists(t.dir + "/out2/bundle.disco"));
}

TEST(TrainerBanditPrior, ExportRefusesAPriorTheRuntimeWouldRefuse) {
  // Symmetric and finite but not positive semi-definite: the runtime refuses it at
  // disco_runtime_create, so export does too (before any file is written).
  const auto ds = [] {
    const std::string dir = trainer_test::temp_dir("prior-psd");
    trainer_test::write_store(dir, 40, 60);
    return disco::data::read_canonical(dir);
  }();
  const uint32_t d = disco::kContextDim;
  BanditPrior p;
  p.dim = d;
  p.arms.resize(kArmsN);
  for (auto& a : p.arms) {
    a.A.assign(size_t(d) * d, 0.0);
    a.b.assign(d, 0.0);
  }
  p.arms[3].A[0 * d + 1] = p.arms[3].A[1 * d + 0] = 50.0;  // [[0,50],[50,0]]: eigenvalue -50
  ModelWeights w;
  w.dims = ModelDims{int(ds.items.size()), 8, 8, 1, 5, 0, 0};
  w.item_emb = Matrix(w.dims.n_items, 8);
  w.type_emb = Matrix(5, 8);
  w.w_ih.push_back(Matrix(32, 8));
  w.w_hh.push_back(Matrix(32, 8));
  w.b.emplace_back(32, 0.f);
  w.out_proj = Matrix(8, 8);
  w.out_bias.assign(8, 0.f);
  w.prop_w.assign(8, 0.f);
  for (float& v : w.item_emb.data) v = 0.01f;
  ExportOptions eo;
  eo.bandit_prior = p;
  try {
    export_bundle(w, ds, eo);
    ADD_FAILURE() << "a prior that is not positive semi-definite was exported";
  } catch (const TrainError& e) {
    EXPECT_NE(std::string(e.what()).find("the runtime refused the bandit policy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("arm 3"), std::string::npos) << e.what();
  }
  eo.bandit_prior = {};
  eo.noise_scale = -2;
  EXPECT_THROW(export_bundle(w, ds, eo), TrainError);
}

// `export --budget X --budget-mode M --budget-dual-rate R` writes the guardrails' budget; the default
// mode is dual; bad values are refused by name before anything is written.
TEST(TrainerBanditPrior, ExportWritesTheBudgetModeAndRefusesBadBudgetOptions) {
  const Trained& t = trained();
  ASSERT_TRUE(t.ok) << t.log;
  auto guardrails_of = [](const std::vector<uint8_t>& bytes) {
    const disco::fb::Bundle* b = disco::fb::GetBundle(bytes.data());
    return b->payload_nested_root()->guardrails();
  };
  const std::string fcfs = t.dir + "/budget-fcfs.disco", dual = t.dir + "/budget-dual.disco";
  auto e = run(export_cmd(t, fcfs, "--budget 0.01 --budget-mode fcfs"));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  e = run(export_cmd(t, dual, "--budget 75 --budget-dual-rate 30"));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  const std::vector<uint8_t> fb = file_bytes(fcfs), db = file_bytes(dual);
  EXPECT_FLOAT_EQ(guardrails_of(fb)->budget_per_period(), 0.01f);
  EXPECT_EQ(guardrails_of(fb)->budget_mode(), disco::fb::BudgetMode::Fcfs);
  EXPECT_FLOAT_EQ(guardrails_of(db)->budget_per_period(), 75.0f);
  EXPECT_EQ(guardrails_of(db)->budget_mode(), disco::fb::BudgetMode::Dual);
  EXPECT_FLOAT_EQ(guardrails_of(db)->budget_dual_rate(), 30.0f);
  // The runtime takes it: a budget of 0.01 refuses every discount arm.
  Loaded tiny(fb);
  ASSERT_NE(tiny.rt, nullptr);
  const disco_offer o = offer_for(tiny.rt, 5);
  EXPECT_EQ(o.arm, 0u);
  EXPECT_NE(o.guardrails & DISCO_GUARD_BUDGET, 0u);
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"--budget -1", "option budget: expected a finite number >= 0 (0 = unlimited), got '-1'"},
      {"--budget-mode lifo", "option budget_mode: expected fcfs or dual, got 'lifo'"},
      {"--budget-dual-rate 0", "option budget_dual_rate: expected a number in (0, 1e6], got '0'"},
  };
  for (const auto& c : cases) {
    const std::string out = t.dir + "/refused-budget.disco";
    const auto r = run(export_cmd(t, out, c.args));
    EXPECT_NE(r.exit_code, 0) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.args << "\noutput: " << r.output;
    EXPECT_FALSE(fs::exists(out)) << c.args << ": a bundle was written";
  }
}

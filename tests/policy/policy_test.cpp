// trainer/policy: replaying a canonical log through the runtime, the policy fit (warm start, noise
// scale, delayed cost, the long-term value model on a hand-made MDP whose optimal policy is known),
// refusals of bad logs, and `disco-train policy` + `export --policy-fit` end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "disco/bundle_writer.h"
#include "disco/context.h"
#include "disco/data/ingest.h"
#include "disco/policy/fit.h"
#include "disco/policy/replay.h"
#include "disco/schemas/bundle_generated.h"
#include "disco/value_model.h"

namespace fs = std::filesystem;
using namespace disco::policy;

namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kT0 = 1767571200000LL;

// A fair coin (xorshift) for the logged arm: uniform logging over 2 arms.
struct Coin {
  uint64_t x;
  uint32_t operator()() {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return uint32_t((x >> 11) & 1);
  }
};

// Shopper u's offer on day d with the logged arm: price 10, cost 5, propensity 1/2, converted;
// the caller sets the margin and the state features.
Step daily_offer(uint32_t u, uint32_t d, uint32_t arm) {
  Step s;
  s.user = u;
  s.ts_ms = kT0 + int64_t(d) * kDay + int64_t(u) * 1000;
  s.arm = arm;
  s.propensity = 0.5;
  s.price = 10;
  s.cost = 5;
  s.has_outcome = true;
  s.converted = true;
  s.eligible = 3;
  s.x[0] = 1.0f;
  return s;
}

// Puts the steps in time order, links each to its shopper's next one and fills the replay's totals.
void finish_replay(Replay& r, std::vector<Step> steps, uint32_t shoppers) {
  std::stable_sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.ts_ms < b.ts_ms; });
  std::vector<int64_t> last(shoppers, -1);
  for (int64_t i = int64_t(steps.size()) - 1; i >= 0; --i) {
    steps[size_t(i)].next = last[steps[size_t(i)].user];
    last[steps[size_t(i)].user] = i;
  }
  r.steps = std::move(steps);
  r.first_ts_ms = r.steps.front().ts_ms;
  r.last_ts_ms = r.steps.back().ts_ms;
  r.stats.replayed = r.steps.size();
}

// The hand-made MDP. Each shopper gets one offer a day for `days` days; the state is h in {0, 1}
// (x = [1, h]); arm 0 earns 2 at h = 0 and 1 at h = 1; arm 1 earns 3 at h = 0 and 1.5 at h = 1 and
// sets h = 1 for good (a discount that teaches the shopper to wait). Logged uniformly (p = 1/2).
// Immediately arm 1 is better in both states; over time (gamma 0.9 a day) arm 0 is optimal at
// h = 0 (keeping h = 0 is worth 2 a day forever) and arm 1 at h = 1. Evaluated under the logging
// policy: V(1) = 1.25 / 0.1 = 12.5, V(0) = (2.5 + 0.45 x 12.5) / 0.55 = 14.77, so
// c_0(h=0) = 0.9 V(0) = 13.30, c_1(h=0) = 0.9 V(1) = 11.25 (arm 1 loses 2.05 later for 1 now),
// and at h = 1 both continuations are 0.9 x 12.5.
Replay mdp_replay(uint32_t shoppers, uint32_t days, uint64_t seed) {
  Replay r;
  r.n_arms = 2;
  r.context_dim = 2;
  Coin coin{seed};
  std::vector<Step> steps;
  for (uint32_t u = 0; u < shoppers; ++u) {
    int h = 0;
    for (uint32_t d = 0; d < days; ++d) {
      Step s = daily_offer(u, d, coin());
      s.margin = s.arm == 0 ? (h ? 1.0 : 2.0) : (h ? 1.5 : 3.0);
      s.x[1] = float(h);
      steps.push_back(s);
      if (s.arm == 1) h = 1;
    }
  }
  finish_replay(r, std::move(steps), shoppers);
  return r;
}

double continuation(const ValueFit& v, uint32_t arm, float h) {
  const uint32_t nf = v.dim + uint32_t(v.pairs.size() / 2);
  const double* w = &v.weights[size_t(arm) * nf];
  return w[0] + w[1] * h;
}

double immediate(const PolicyFit& f, uint32_t arm, float h) {
  // theta = (I + A)^-1 b on [1, h] (2x2, prior precision 1 as the runtime's default)
  const auto& A = f.prior[arm].A;
  const auto& b = f.prior[arm].b;
  const double a00 = A[0] + 1, a01 = A[1], a10 = A[2], a11 = A[3] + 1;
  const double det = a00 * a11 - a01 * a10;
  const double t0 = (a11 * b[0] - a01 * b[1]) / det, t1 = (-a10 * b[0] + a00 * b[1]) / det;
  return 10.0 * (t0 + t1 * h);  // currency: price x scaled reward
}

FitOptions mdp_options() {
  FitOptions o;
  o.gamma_per_day = 0.9;
  o.pairs = "none";
  o.delta_ridge = 1.0;
  o.value_ridge = 1.0;
  o.immediate_residual = false;
  o.delayed_cost_auto = false;
  o.min_rows = 100;
  return o;
}

}  // namespace

TEST(PolicyFit, ValueModelFindsTheOptimalPolicyOfAHandMadeMdp) {
  const Replay r = mdp_replay(400, 150, 7);
  const PolicyFit f = fit_policy(r, mdp_options());
  ASSERT_TRUE(f.value.fitted);
  // The immediate model alone prefers arm 1 everywhere.
  EXPECT_GT(immediate(f, 1, 0), immediate(f, 0, 0) + 0.5);
  EXPECT_GT(immediate(f, 1, 1), immediate(f, 0, 1) + 0.3);
  // The continuations match the logging policy's values computed by hand.
  EXPECT_NEAR(continuation(f.value, 0, 0), 13.30, 0.5);
  EXPECT_NEAR(continuation(f.value, 1, 0), 11.25, 0.5);
  EXPECT_NEAR(continuation(f.value, 0, 1), 11.25, 0.5);
  EXPECT_NEAR(continuation(f.value, 1, 1), 11.25, 0.5);
  // Immediate + continuation: arm 0 at h = 0, arm 1 at h = 1 (the optimal policy).
  const double q00 = immediate(f, 0, 0) + continuation(f.value, 0, 0), q10 = immediate(f, 1, 0) + continuation(f.value, 1, 0);
  const double q01 = immediate(f, 0, 1) + continuation(f.value, 0, 1), q11 = immediate(f, 1, 1) + continuation(f.value, 1, 1);
  EXPECT_GT(q00, q10 + 0.5);
  EXPECT_GT(q11, q01 + 0.2);
  // The same through the runtime's value model: offsets = continuation / price.
  disco::ValueModel vm;
  ASSERT_EQ(vm.configure(2, 2, disco::kContextDim, f.value.pairs, f.value.weights, 1.0, 4.0, 0.9), "");
  float x0[disco::kContextDim] = {1.0f, 0.0f};
  double off[2];
  vm.offsets(x0, 10.0, off);
  EXPECT_NEAR(off[1] - off[0], (continuation(f.value, 1, 0) - continuation(f.value, 0, 0)) / 10.0, 1e-9);
}

TEST(PolicyFit, WarmStartIsInversePropensityWeightedAndTheNoiseScaleIsTheRewardSpread) {
  const Replay r = mdp_replay(50, 30, 3);
  FitOptions o = mdp_options();
  o.value_model = false;
  const PolicyFit f = fit_policy(r, o);
  ASSERT_EQ(f.prior.size(), 2u);
  double n = 0;
  for (const Step& s : r.steps)
    if (s.arm == 0) n += 1.0 / (2 * 0.5);
  EXPECT_NEAR(f.prior[0].n, n, 1e-9);
  EXPECT_EQ(f.prior[0].rows + f.prior[1].rows, r.steps.size());
  // scaled rewards are 0.1, 0.15, 0.2, 0.3: their standard deviation, above the floor
  EXPECT_GT(f.noise_scale, 0.03);
  EXPECT_LT(f.noise_scale, 0.1);
  EXPECT_FALSE(f.value.fitted);
  // A discount's later full-price margin: the mdp's arm 1 lowers it.
  EXPECT_GT(f.delayed.estimate, 0.0);
}

TEST(PolicyFit, RefusesLogsAPolicyCannotBeFittedFrom) {
  Replay r = mdp_replay(50, 30, 3);
  auto message = [&](const Replay& rr, FitOptions o) {
    try {
      fit_policy(rr, o);
    } catch (const PolicyError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Replay no_random = r;
  for (Step& s : no_random.steps) s.propensity = 1.0;
  EXPECT_NE(message(no_random, mdp_options()).find("no randomized decision"), std::string::npos);
  Replay one_arm = r;
  for (Step& s : one_arm.steps) s.arm = 0;
  EXPECT_NE(message(one_arm, mdp_options()).find("arm 1 was logged 0 times"), std::string::npos);
  Replay few = r;
  few.steps.resize(50);
  EXPECT_NE(message(few, mdp_options()).find("at least 100 are needed"), std::string::npos);
  FitOptions bad = mdp_options();
  bad.backup = "sideways";
  EXPECT_NE(message(r, bad).find("--backup"), std::string::npos);
  EXPECT_THROW(parse_pairs("1:2,3", 15), PolicyError);
  EXPECT_THROW(parse_pairs("1:15", 15), PolicyError);
  EXPECT_EQ(parse_pairs("all", 4).size(), 12u);  // (1,1) (1,2) (1,3) (2,2) (2,3) (3,3)
}

namespace {

// A habituation log for the delayed cost by exposure. Each shopper gets an offer a day; x[7] (the
// runtime's exposure feature) is the shopper's waiting level w; a full-price offer earns 2 (1 - w),
// a discount 1.5 (1 - w) and moves w half way to 1 when `concave` (the first discount costs the
// most later margin, as in the simulator's world 2). Otherwise a level l rises by 0.15 per discount,
// unbounded, the margins are 2 (1 - l / 2) and 1.5 (1 - l / 2) and x[7] = min(1, 1.5 l): every
// discount costs the same later margin, so one shared estimate is right. Levels decay by a factor
// 0.8 a day. Logged uniformly over 2 arms.
Replay habituation_replay(bool concave, uint32_t shoppers, uint64_t seed) {
  Replay r;
  r.n_arms = 2;
  r.context_dim = disco::kContextDim;
  Coin coin{seed};
  std::vector<Step> steps;
  for (uint32_t u = 0; u < shoppers; ++u) {
    double w = 0, lin = 0;
    for (uint32_t d = 0; d < 60; ++d) {
      Step s = daily_offer(u, d, coin());
      const double level = concave ? w : lin;
      s.margin = (s.arm == 0 ? 2.0 : 1.5) * (concave ? (1.0 - level) : (1.0 - 0.5 * level));
      s.x[disco::kFeatExposure] = float(concave ? w : std::min(1.0, 1.5 * lin));
      steps.push_back(s);
      w *= 0.8;
      lin *= 0.8;
      if (s.arm == 1) {
        w += 0.5 * (1.0 - w);
        lin += 0.15;
      }
    }
  }
  finish_replay(r, std::move(steps), shoppers);
  return r;
}

FitOptions exposure_options() {
  FitOptions o;
  o.value_model = false;
  o.delayed_horizon_days = 14;
  o.min_rows = 100;
  o.delayed_by_exposure = true;
  return o;
}

}  // namespace

TEST(PolicyFit, DelayedCostByExposureChargesTheFirstDiscountMoreWhenHabituationIsConcave) {
  const FitOptions o = exposure_options();
  const PolicyFit f = fit_policy(habituation_replay(true, 1500, 11), o);
  ASSERT_TRUE(f.delayed.by_exposure);
  ASSERT_EQ(f.delayed.bins.size(), 3u);
  const auto& b = f.delayed.bins;
  for (const auto& bin : b) {
    EXPECT_GT(bin.control, 100u);
    EXPECT_GT(bin.discounted, 100u);
  }
  // A discount to a shopper with no exposure costs more later margin than one to a shopper
  // already waiting; the bins differ well beyond their noise, so the shrinkage keeps them apart.
  EXPECT_GT(b[0].estimate, b[2].estimate + 4 * std::hypot(b[0].se, b[2].se));
  EXPECT_GT(f.delayed.between_var, 0.0);
  EXPECT_GT(b[0].shrunk, b[2].shrunk + 0.5 * (b[0].estimate - b[2].estimate));
  EXPECT_DOUBLE_EQ(f.delayed.charge_for(0.0), b[0].applied);
  EXPECT_DOUBLE_EQ(f.delayed.charge_for(0.9), b[2].applied);
  EXPECT_GT(f.delayed.charge_for(0.0), f.delayed.charge_for(0.9));
  // Without the bins (the default) every discounted decision is charged the one pooled estimate.
  FitOptions pooled = o;
  pooled.delayed_by_exposure = false;
  const PolicyFit g = fit_policy(habituation_replay(true, 1500, 11), pooled);
  EXPECT_FALSE(g.delayed.by_exposure);
  EXPECT_TRUE(g.delayed.bins.empty());
  EXPECT_DOUBLE_EQ(g.delayed.charge_for(0.0), g.delayed.applied);
  EXPECT_DOUBLE_EQ(g.delayed.charge_for(0.9), g.delayed.applied);
  EXPECT_DOUBLE_EQ(g.delayed.estimate, f.delayed.estimate);
  // The JSON carries the bins.
  const auto j = nlohmann::json::parse(to_json(f));
  ASSERT_TRUE(j["delayed_cost"].contains("by_exposure"));
  EXPECT_EQ(j["delayed_cost"]["by_exposure"].size(), 3u);
  EXPECT_NEAR(j["delayed_cost"]["by_exposure"][0]["applied"].get<double>(), b[0].applied, 1e-12);
}

TEST(PolicyFit, DelayedCostByExposureStaysNearThePooledEstimateWhenEveryDiscountCostsTheSame) {
  const FitOptions o = exposure_options();
  const PolicyFit f = fit_policy(habituation_replay(false, 1500, 11), o);
  ASSERT_TRUE(f.delayed.by_exposure);
  const PolicyFit c = fit_policy(habituation_replay(true, 1500, 11), o);
  const auto spread = [](const PolicyFit& p) { return p.delayed.bins[0].shrunk - p.delayed.bins[2].shrunk; };
  // Far less spread between the bins' charges than in the concave world.
  EXPECT_LT(std::abs(spread(f)), 0.25 * spread(c));
  for (const auto& bin : f.delayed.bins)
    EXPECT_LE(std::abs(bin.shrunk - f.delayed.estimate), std::abs(bin.estimate - f.delayed.estimate) + 1e-12);
}

// ---- replay through the runtime -------------------------------------------------------------

namespace {

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("disco_policy_test_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()));
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
};

void write(const fs::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
}

// Catalog of the synthetic bundle's first items: ids "i0".."i299" (make_synthetic_spec).
std::vector<uint8_t> synthetic_bundle() {
  disco::SyntheticOptions o;
  o.n_items = 300;
  o.emb_dim = 16;
  o.hidden = 24;
  disco::BundleSpec s = disco::make_synthetic_spec(o);
  s.arms = {{"0%", disco::ArmKindSpec::Percent, 0.0f, 0.0f}, {"10%", disco::ArmKindSpec::Percent, 0.10f, 0.0f}};
  auto r = disco::build_bundle(s);
  EXPECT_TRUE(r.ok()) << r.error;
  return r.bytes;
}

std::string hex(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
  return b;
}

}  // namespace

TEST(PolicyReplay, ContextsAreTheRuntimesAndLoggedDiscountsEnterTheShoppersHistory) {
  const std::vector<uint8_t> bytes = synthetic_bundle();
  disco_bundle* b = nullptr;
  ASSERT_EQ(disco_bundle_load(bytes.data(), bytes.size(), 0, &b), DISCO_OK) << disco_last_error();
  std::string id0;
  {
    const char* s = nullptr;
    ASSERT_EQ(disco_bundle_item_id(b, 5, &s), DISCO_OK);
    id0 = s;
  }
  TempDir dir;
  // Shopper "alice": a cart, an offer of arm 1 (10%) she does not buy; a day later another cart
  // and offer. Shopper "bob" only in the exclusion list's way. Ids are strings, not u<N>.
  write(dir.p / "events.csv",
        "user_id,ts,type,item_id,price,quantity\n"
        "alice," + std::to_string(kT0) + ",cart," + id0 + ",0,1\n" +
        "alice," + std::to_string(kT0 + kDay) + ",cart," + id0 + ",0,1\n" +
        "bob," + std::to_string(kT0 + 5) + ",cart," + id0 + ",0,1\n");
  write(dir.p / "decisions.csv",
        "decision_id,ts,user_id,item_id,arm,discount,propensity\n" + hex(1) + hex(1) + "," + std::to_string(kT0) +
            ",alice," + id0 + ",1,0.1,0.25\n" + hex(1) + hex(2) + "," + std::to_string(kT0 + kDay) + ",alice," + id0 +
            ",0,0,0.75\n" + hex(1) + hex(3) + "," + std::to_string(kT0 + 5) + ",bob," + id0 + ",0,0,0.75\n");
  write(dir.p / "outcomes.csv",
        "decision_id,ts,converted,revenue,margin\n" + hex(1) + hex(1) + "," + std::to_string(kT0 + 60000) +
            ",0,0,0\n" + hex(1) + hex(2) + "," + std::to_string(kT0 + kDay + 60000) + ",1,20,4\n");
  const disco::data::Dataset ds = disco::data::read_canonical(dir.p.string());
  ReplayOptions ro;
  ro.exclude_users = {"bob"};
  const Replay r = replay_log(ds, b, ro);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.stats.excluded_user, 1u);
  EXPECT_EQ(r.stats.no_outcome, 0u);
  EXPECT_EQ(r.steps[0].arm, 1u);
  EXPECT_EQ(r.steps[0].next, 1);
  EXPECT_EQ(r.steps[1].next, -1);
  EXPECT_DOUBLE_EQ(r.steps[1].margin, 4.0);
  EXPECT_NEAR(r.steps[0].propensity, 0.25, 1e-7);
  // The first decision's context is what disco_offer_make builds; the second sees the logged
  // discount: exposure and offer recency are > 0 (noted with disco_session_note_offer).
  EXPECT_EQ(r.steps[0].x[disco::kFeatExposure], 0.0f);
  EXPECT_GT(r.steps[1].x[disco::kFeatExposure], 0.0f);
  EXPECT_GT(r.steps[1].x[disco::kFeatOfferRecency], 0.0f);
  EXPECT_EQ(r.steps[0].x[disco::kFeatBias], 1.0f);
  // A decision with an arm the bundle does not have is refused by name.
  disco::data::Dataset bad = ds;
  bad.decisions[0].arm = 7;
  try {
    replay_log(bad, b, {});
    ADD_FAILURE() << "no error";
  } catch (const PolicyError& e) {
    EXPECT_NE(std::string(e.what()).find("has arm 7, but the bundle has 2 arms"), std::string::npos) << e.what();
  }
  disco_bundle_free(b);
}

// ---- the CLI --------------------------------------------------------------------------------

namespace {
int run(const std::string& cmd, std::string* out) {
  std::string full = cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  char buf[4096];
  out->clear();
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
}  // namespace

TEST(PolicyCli, PilotToPolicyFitToBundleWithAValueModel) {
  TempDir dir;
  const std::string sim = DISCO_SIM_BIN, train = DISCO_TRAIN_BIN;
  std::string out;
  const fs::path pilot = dir.p / "pilot", hist = dir.p / "hist", m0 = dir.p / "m0";
  ASSERT_EQ(run(sim + " --seed 5 --out " + pilot.string() +
                    " --shoppers 3000 --items 300 --days 21 --logging-policy epsilon:0.3:0% --dirty-rate 0 --quiet",
                &out),
            0)
      << out;
  ASSERT_EQ(run(sim + " --seed 5 --out " + hist.string() +
                    " --shoppers 500 --items 300 --days 3 --logging-policy fixed:0% --dirty-rate 0 --quiet",
                &out),
            0)
      << out;
  ASSERT_EQ(run(train + " train --data " + hist.string() + " --out " + m0.string() +
                    " --epochs 1 --max-steps 20 --baselines none --no-int4 --no-runtime-int8 --threads 1 --progress off"
                    " --max-test-sessions 20 --cold-holdout 0 --fresh",
                &out),
            0)
      << out;
  const fs::path fit = dir.p / "fit.json";
  ASSERT_EQ(run(train + " policy --log " + pilot.string() + " --bundle " + (m0 / "bundle.disco").string() + " --out " +
                    fit.string() + " --min-rows 100 --pairs 1:7,5:7 --write-log " + (dir.p / "replayed").string(),
                &out),
            0)
      << out;
  EXPECT_NE(out.find("value model"), std::string::npos) << out;
  nlohmann::json j = nlohmann::json::parse(std::ifstream(fit));
  EXPECT_EQ(j["arms"].size(), 6u);
  EXPECT_EQ(j["value_model"]["pairs"].size(), 4u);
  EXPECT_EQ(j["value_model"]["weights"].size(), 6u * (disco::kContextDim + 2));
  // The delayed cost is pooled by default; --delayed-cost-by exposure adds the bins, printed and in the JSON.
  EXPECT_FALSE(j["delayed_cost"].contains("by_exposure"));
  EXPECT_EQ(out.find("by discount exposure"), std::string::npos) << out;
  ASSERT_EQ(run(train + " policy --log " + pilot.string() + " --bundle " + (m0 / "bundle.disco").string() + " --out " +
                    (dir.p / "fit-exp.json").string() + " --min-rows 100 --no-value-model --delayed-cost-by exposure --delayed-horizon-days 3",
                &out),
            0)
      << out;
  EXPECT_NE(out.find("by discount exposure (between-bin variance"), std::string::npos) << out;
  EXPECT_NE(out.find("exposure >= 0.45: "), std::string::npos) << out;
  {
    const auto je = nlohmann::json::parse(std::ifstream(dir.p / "fit-exp.json"));
    ASSERT_TRUE(je["delayed_cost"].contains("by_exposure")) << je["delayed_cost"].dump();
    EXPECT_EQ(je["delayed_cost"]["by_exposure"].size(), 3u);
    }
  // Where the horizon leaves no usable decisions, it says so and charges the pooled estimate.
  ASSERT_EQ(run(train + " policy --log " + pilot.string() + " --bundle " + (m0 / "bundle.disco").string() + " --out " +
                    (dir.p / "fit-exp2.json").string() + " --min-rows 100 --no-value-model --delayed-cost-by exposure",
                &out),
            0)
      << out;
  EXPECT_NE(out.find("by discount exposure: not estimated"), std::string::npos) << out;
  EXPECT_NE(run(train + " policy --log " + pilot.string() + " --bundle " + (m0 / "bundle.disco").string() + " --out " +
                    (dir.p / "fit-bad.json").string() + " --delayed-cost-by shopper",
                &out),
            0);
  EXPECT_NE(out.find("--delayed-cost-by"), std::string::npos) << out;
  const fs::path bundle = dir.p / "b.disco";
  ASSERT_EQ(run(train + " export --data " + hist.string() + " --out " + m0.string() + " --model " +
                    (m0 / "model.bin").string() + " --bundle " + bundle.string() +
                    " --no-int4 --cold-holdout 0 --policy-fit " + fit.string(),
                &out),
            0)
      << out;
  EXPECT_NE(out.find("value model from"), std::string::npos) << out;
  // The fit's choice pessimism (the default) travels into the bundle's BanditPrior.
  EXPECT_EQ(j["choice_pessimism"].get<double>(), disco::policy::FitOptions{}.choice_pessimism);
  EXPECT_NE(out.find("choice pessimism"), std::string::npos) << out;
  // The runtime loads it with the value model active.
  std::ifstream bf(bundle, std::ios::binary);
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(bf), std::istreambuf_iterator<char>()};
  disco_bundle* b = nullptr;
  ASSERT_EQ(disco_bundle_load(bytes.data(), bytes.size(), 0, &b), DISCO_OK) << disco_last_error();
  {
    const disco::fb::Bundle* outer = disco::fb::GetBundle(bytes.data());
    EXPECT_FLOAT_EQ(outer->payload_nested_root()->bandit()->pessimism(), float(disco::policy::FitOptions{}.choice_pessimism));
  }
  disco_runtime* rt = nullptr;
  disco_runtime_options ro;
  disco_runtime_default_options(&ro);
  ASSERT_EQ(disco_runtime_create(b, &ro, &rt), DISCO_OK) << disco_last_error();
  disco_runtime_free(rt);
  disco_bundle_free(b);
  // The go-live gate on the pilot: a policy never passes against itself, so --publish leaves the
  // served bundle alone; a candidate that is not a bundle cannot be published.
  const std::string eval = DISCO_EVAL_BIN;
  const fs::path served = dir.p / "served" / "bundle.disco";
  EXPECT_EQ(run(eval + " gate --log " + (dir.p / "replayed").string() + " --candidate " + bundle.string() + " --current " + bundle.string() +
                    " --bootstrap 50 --publish " + served.string(),
                &out),
            3)
      << out;
  EXPECT_EQ(out.rfind("hold: ", 0), 0u) << out;
  EXPECT_FALSE(fs::exists(served));
  EXPECT_EQ(run(eval + " gate --log " + (dir.p / "replayed").string() + " --candidate fixed:1 --current fixed:0 --publish " + served.string(), &out), 1);
  EXPECT_NE(out.find("--publish needs a .disco bundle"), std::string::npos) << out;
  // A broken fit names what is wrong.
  j["value_model"]["weights"].erase(0);
  std::ofstream(dir.p / "bad.json") << j.dump();
  EXPECT_NE(run(train + " export --data " + hist.string() + " --out " + m0.string() + " --model " +
                    (m0 / "model.bin").string() + " --bundle " + (dir.p / "c.disco").string() +
                    " --no-int4 --cold-holdout 0 --policy-fit " + (dir.p / "bad.json").string(),
                &out),
            0);
  EXPECT_NE(out.find("bad.json: /value_model: weights has"), std::string::npos) << out;
  j = nlohmann::json::parse(std::ifstream(fit));
  j["choice_pessimism"] = -1;
  std::ofstream(dir.p / "bad-k.json") << j.dump();
  EXPECT_NE(run(train + " export --data " + hist.string() + " --out " + m0.string() + " --model " +
                    (m0 / "model.bin").string() + " --bundle " + (dir.p / "c.disco").string() +
                    " --no-int4 --cold-holdout 0 --policy-fit " + (dir.p / "bad-k.json").string(),
                &out),
            0);
  EXPECT_NE(out.find("bad-k.json: /choice_pessimism must be a number in [0, 100], got -1"), std::string::npos) << out;
  // A log without randomization is refused with the reason.
  const fs::path fixed = dir.p / "fixed";
  ASSERT_EQ(run(sim + " --seed 5 --out " + fixed.string() +
                    " --shoppers 300 --items 300 --days 7 --logging-policy fixed:0% --dirty-rate 0 --quiet",
                &out),
            0);
  EXPECT_EQ(run(train + " policy --log " + fixed.string() + " --bundle " + (m0 / "bundle.disco").string() + " --out " +
                    (dir.p / "f2.json").string() + " --min-rows 10",
                &out),
            2);
  EXPECT_NE(out.find("no randomized decision"), std::string::npos) << out;
}

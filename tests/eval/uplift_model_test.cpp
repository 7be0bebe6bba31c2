// The per-arm UpliftModel (the live policy's API) on a canonical-log-shaped dataset whose decisions
// carry a context vector: effects per arm against control, arms skipped or refused, the log table
// and its refusals, the 50/50 split, and the experiment runner.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <set>

#include "disco/data/dataset.h"
#include "disco/eval/uplift.h"

namespace up = disco::eval::uplift;
namespace dd = disco::data;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const up::UpliftError& e) {
    return e.what();
  }
  return "";
}

// A randomized log over arms 0..2 (+ arm 3 with 5 decisions): context (c0, c1, c2) uniform;
// P(convert) = .2 + .1 c1 + effect, effect of arm 1 = +.3 c0, of arm 2 = -.15 (sleeping dogs
// everywhere), arm 3 = 0. Margin = 10 * converted. Propensities as an epsilon policy would log them.
dd::Dataset make_log(size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(0, 1);
  dd::Dataset ds;
  ds.name = "synthetic-log";
  ds.context_names = {"c0", "c1", "c2"};
  for (size_t i = 0; i < n + 5; ++i) {
    dd::Decision d;
    d.id_hi = 1;
    d.id_lo = i + 1;
    d.user = static_cast<uint32_t>(i / 3);
    d.context = {static_cast<float>(u(g)), static_cast<float>(u(g)), static_cast<float>(u(g))};
    const double r = u(g);
    d.arm = i >= n ? 3 : r < 0.5 ? 0 : r < 0.75 ? 1 : 2;
    d.propensity = i >= n ? 0.01f : d.arm == 0 ? 0.5f : 0.25f;
    const double effect = d.arm == 1 ? 0.3 * d.context[0] : d.arm == 2 ? -0.15 : 0.0;
    const double p = 0.2 + 0.1 * d.context[1] + effect;
    dd::Outcome o;
    o.id_hi = d.id_hi;
    o.id_lo = d.id_lo;
    o.converted = u(g) < p;
    o.margin = o.converted ? 10.f : 0.f;
    o.revenue = o.converted ? 40.f : 0.f;
    if (i % 97 != 5) ds.outcomes.push_back(o);  // a few decisions never got an outcome
    ds.decisions.push_back(std::move(d));
  }
  ds.user_ids.resize(n / 3 + 3);
  return ds;
}

}  // namespace

TEST(UpliftModel, PerArmEffectsFromALoggedContext) {
  const dd::Dataset ds = make_log(12000, 3);
  const up::UpliftData t = up::uplift_data_from_log(ds);
  ASSERT_EQ(t.rows(), 12005u);
  EXPECT_EQ(t.feature_names, (std::vector<std::string>{"c0", "c1", "c2"}));
  EXPECT_DOUBLE_EQ(t.weight[0], 1.0 / ds.decisions[0].propensity);
  ASSERT_FALSE(t.notes.empty());
  EXPECT_NE(t.notes[0].find("have no outcome"), std::string::npos);
  EXPECT_EQ(t.y[5], 0.0);  // decision 6 has no outcome: not converted
  for (up::BaseKind base : {up::BaseKind::Xgb, up::BaseKind::Linear}) {
    up::UpliftConfig cfg;
    cfg.learner.learner = up::LearnerKind::DR;
    cfg.learner.base = base;
    const up::UpliftModel m = up::UpliftModel::fit(t, cfg);
    EXPECT_TRUE(m.binary());
    EXPECT_EQ(m.arms(), (std::vector<int>{1, 2}));
    ASSERT_EQ(m.skipped().size(), 1u);
    EXPECT_NE(m.skipped()[0].find("arm 3: 5 rows"), std::string::npos);
    const float hi[3] = {0.9f, 0.5f, 0.5f}, lo[3] = {0.1f, 0.5f, 0.5f};
    const std::vector<double> eh = m.effects(hi), el = m.effects(lo);
    ASSERT_EQ(eh.size(), 3u);
    EXPECT_EQ(eh[0], 0.0);
    SCOPED_TRACE(m.learner_name() + ": arm 1 at c0=.9 " + std::to_string(eh[1]) + ", at c0=.1 " + std::to_string(el[1]) +
                 "; arm 2 " + std::to_string(eh[2]));
    EXPECT_NEAR(eh[1], 0.27, 0.08);
    EXPECT_NEAR(el[1], 0.03, 0.08);
    EXPECT_NEAR(eh[2], -0.15, 0.06);
    EXPECT_NEAR(el[2], -0.15, 0.06);
    // predict() agrees with effects()
    double p1 = 0;
    m.predict(1, hi, 1, &p1);
    EXPECT_EQ(p1, eh[1]);
    EXPECT_NE(error_of([&] { m.effects(std::vector<float>{1, 2}); }).find("context has 2 values, the model 3"),
              std::string::npos);
    EXPECT_NE(error_of([&] { m.predict(3, hi, 1, &p1); }).find("arm 3 was not fitted"), std::string::npos);
  }
  // margin as the target: a continuous model, effects in currency (10 x the conversion effect)
  up::LogTableOptions lo;
  lo.target = up::LogTarget::Margin;
  up::UpliftConfig cfg;
  cfg.learner.learner = up::LearnerKind::T;
  cfg.learner.base = up::BaseKind::Linear;
  const up::UpliftModel mm = up::UpliftModel::fit(up::uplift_data_from_log(ds, lo), cfg);
  EXPECT_FALSE(mm.binary());
  EXPECT_NEAR(mm.effects(std::vector<float>{0.9f, 0.5f, 0.5f})[1], 2.7, 0.8);
}

TEST(UpliftModel, LinearSummaryForALinearPolicy) {
  const dd::Dataset ds = make_log(12000, 6);
  const up::UpliftData t = up::uplift_data_from_log(ds);
  up::UpliftConfig cfg;
  cfg.learner.learner = up::LearnerKind::T;
  cfg.learner.base = up::BaseKind::Linear;
  const up::UpliftModel m = up::UpliftModel::fit(t, cfg);
  const auto lin = up::distill_linear(m, t.x.data(), t.rows());
  ASSERT_EQ(lin.size(), 2u);
  EXPECT_EQ(lin[0].arm, 1);
  ASSERT_EQ(lin[0].coef.size(), 3u);
  EXPECT_NEAR(lin[0].coef[0], 0.3, 0.08);   // arm 1: +.3 per unit of c0
  EXPECT_NEAR(lin[0].intercept, 0.0, 0.05);
  EXPECT_NEAR(lin[1].intercept + 0.5 * (lin[1].coef[0] + lin[1].coef[1] + lin[1].coef[2]), -0.15, 0.05);  // arm 2
  EXPECT_GT(lin[0].r2, 0.9);
  // the summary reproduces the model's effect at a context
  const float c[3] = {0.7f, 0.2f, 0.4f};
  double direct = 0;
  m.predict(1, c, 1, &direct);
  EXPECT_NEAR(lin[0].intercept + lin[0].coef[0] * c[0] + lin[0].coef[1] * c[1] + lin[0].coef[2] * c[2], direct, 0.02);
}

TEST(UpliftModel, RefusesWhatItCannotLearnFrom) {
  const dd::Dataset ds = make_log(600, 4);
  const up::UpliftData t = up::uplift_data_from_log(ds);
  up::UpliftConfig cfg;
  cfg.learner.base = up::BaseKind::Linear;
  cfg.control_arm = 5;
  EXPECT_NE(error_of([&] { up::UpliftModel::fit(t, cfg); }).find("control arm 5 has 0 rows (need >= 30)"), std::string::npos);
  cfg.control_arm = 0;
  cfg.arms = {3};
  EXPECT_NE(error_of([&] { up::UpliftModel::fit(t, cfg); }).find("arm 3 has 5 rows (need >= 30)"), std::string::npos);
  cfg.arms = {0};
  EXPECT_NE(error_of([&] { up::UpliftModel::fit(t, cfg); }).find("arm 0 is the control arm"), std::string::npos);
  cfg.arms = {};
  cfg.min_rows = 200;
  EXPECT_NE(error_of([&] { up::UpliftModel::fit(t, cfg); }).find("no arm besides control 0 has >= 200 rows"),
            std::string::npos);
  cfg.min_rows = 30;
  cfg.binary = 1;
  up::UpliftData t2 = t;
  t2.y[2] = 3.5;
  EXPECT_NE(error_of([&] { up::UpliftModel::fit(t2, cfg); }).find("binary target requested"), std::string::npos);
  t2.y[2] = NAN;
  EXPECT_NE(error_of([&] { up::UpliftModel::fit(t2, cfg); }).find("row 2: outcome is not finite"), std::string::npos);
}

TEST(UpliftModel, LogTableRefusals) {
  dd::Dataset ds = make_log(300, 5);
  dd::Dataset none;
  none.name = "empty";
  EXPECT_NE(error_of([&] { up::uplift_data_from_log(none); }).find("log empty: no decisions"), std::string::npos);
  dd::Dataset noctx = ds;
  for (auto& d : noctx.decisions) d.context.clear();
  std::string m = error_of([&] { up::uplift_data_from_log(noctx); });
  EXPECT_NE(m.find("decision 00000000000000010000000000000001 (row 1) carries no context vector"), std::string::npos) << m;
  EXPECT_NE(m.find("'context' column"), std::string::npos) << m;
  dd::Dataset ragged = ds;
  ragged.decisions[7].context.pop_back();
  m = error_of([&] { up::uplift_data_from_log(ragged); });
  EXPECT_NE(m.find("(row 8) has 2 context values, the first decision has 3"), std::string::npos) << m;
  dd::Dataset inf = ds;
  inf.decisions[9].context[1] = INFINITY;
  EXPECT_NE(error_of([&] { up::uplift_data_from_log(inf); }).find("(row 10): context value 1 is not finite"),
            std::string::npos);
  dd::Dataset prop = ds;
  prop.decisions[4].propensity = 0.f;
  EXPECT_NE(error_of([&] { up::uplift_data_from_log(prop); }).find("(row 5): propensity 0.000000 outside (0, 1]"),
            std::string::npos);
  dd::Dataset greedy = ds;
  for (auto& d : greedy.decisions) d.propensity = 1.f;
  EXPECT_NE(error_of([&] { up::uplift_data_from_log(greedy); }).find("the log has no randomization"), std::string::npos);
  // an arm the log never used as control
  EXPECT_NE(error_of([&] { up::log_comparisons(ds, {"conversion"}, 7); }).find("no decision with the control arm 7"),
            std::string::npos);
  EXPECT_NE(error_of([&] { up::log_comparisons(ds, {"clicks"}, 0); }).find("unknown target 'clicks'"), std::string::npos);
}

TEST(UpliftExperiment, HalfSplitsAreStratifiedOrGrouped) {
  up::UpliftData d;
  d.feature_names = {"f"};
  for (int i = 0; i < 1000; ++i) {
    d.x.push_back(static_cast<float>(i));
    d.arm.push_back(i % 2);
    d.y.push_back(i % 10 == 0 ? 1.0 : 0.0);
  }
  const auto a = up::half_split(d, 1), b = up::half_split(d, 1), c = up::half_split(d, 2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a.size(), 500u);
  size_t pos = 0, treated = 0;
  for (size_t i : a) pos += d.y[i] > 0, treated += d.arm[i];
  EXPECT_EQ(pos, 50u);
  EXPECT_EQ(treated, 250u);
  // grouped: every group on one side
  for (int i = 0; i < 1000; ++i) d.group.push_back(static_cast<uint32_t>(i / 4));
  const auto g = up::half_split(d, 3);
  std::set<size_t> in(g.begin(), g.end());
  for (size_t i = 0; i < 1000; i += 4)
    for (size_t k = 1; k < 4; ++k) EXPECT_EQ(in.count(i), in.count(i + k));
  EXPECT_EQ(g.size(), 500u);
}

TEST(UpliftExperiment, RunnerScoresEveryLearnerWithTruth) {
  // comparisons from the synthetic log (arm 1 vs 0), with the true effect attached
  const dd::Dataset ds = make_log(6000, 8);
  std::vector<up::Comparison> cs = up::log_comparisons(ds, {"conversion"}, 0);
  ASSERT_EQ(cs.size(), 3u);  // arms 1, 2, 3
  cs.resize(1);
  EXPECT_EQ(cs[0].name, "arm 1 vs arm 0");
  for (size_t i = 0; i < cs[0].data.rows(); ++i) cs[0].truth.push_back(0.3 * cs[0].data.row(i)[0]);  // the effect of arm 1 at c0
  up::ExperimentOptions opt;
  opt.splits = 2;
  opt.threads = 2;
  opt.learners = {{up::LearnerKind::T, up::BaseKind::Linear}, {up::LearnerKind::DR, up::BaseKind::Linear}};
  const auto rs = up::run_comparisons(cs, opt);
  opt.threads = 1;
  const auto rs1 = up::run_comparisons(cs, opt);
  ASSERT_EQ(rs.size(), 1u);
  ASSERT_EQ(rs[0].learners.size(), 2u);
  for (size_t l = 0; l < 2; ++l) {
    const auto& x = rs[0].learners[l];
    ASSERT_EQ(x.splits.size(), 2u);
    EXPECT_GT(x.mean(&up::SplitScore::qini), 0.05) << x.name;
    EXPECT_LT(x.mean(&up::SplitScore::pehe), 0.06) << x.name;
    EXPECT_FALSE(x.qini_curve.x.empty());
    for (size_t s = 0; s < 2; ++s) EXPECT_EQ(x.splits[s].qini, rs1[0].learners[l].splits[s].qini);  // threads do not matter
  }
  EXPECT_GT(rs[0].constant[0].pehe, rs[0].learners[0].splits[0].pehe);
  const std::string js = up::results_json(rs, {});
  EXPECT_NE(js.find("\"qini_curve\""), std::string::npos);
  const std::string html = up::results_html(rs, {});
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(up::results_text(rs).find("dr/linear"), std::string::npos);
}

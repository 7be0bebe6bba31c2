#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "disco/eval/baselines.h"
#include "disco/eval/protocol.h"
#include "eval_test_util.h"

using namespace disco;
using namespace disco::eval;
using disco::eval::testing::make_dataset;
using disco::eval::testing::range;

namespace {
std::vector<float> scores_for(const Recommender& m, size_t n_items, std::vector<uint32_t> prefix) {
  std::vector<float> out(n_items, -1.f);
  std::vector<uint8_t> types(prefix.size(), 0);
  m.score(prefix, types, out);
  return out;
}
}  // namespace

TEST(EvalBaselines, PopularityCountsTrainingEvents) {
  // item 2: 4 events, item 0: 2, item 1: 1, item 3: only in the test session
  const auto ds = make_dataset({{2, 0, 2}, {2, 1, 0, 2}, {3, 3}}, 4);
  Popularity pop;
  pop.fit(ds, {0, 1});
  const auto s = scores_for(pop, 4, {1});
  EXPECT_FLOAT_EQ(s[2], 4.f / 5.f);
  EXPECT_FLOAT_EQ(s[0], 2.f / 3.f);
  EXPECT_FLOAT_EQ(s[1], 1.f / 2.f);
  EXPECT_FLOAT_EQ(s[3], 0.f);
  std::vector<float> wrong(3);
  std::vector<uint32_t> p{0};
  std::vector<uint8_t> t{0};
  EXPECT_THROW(pop.score(p, t, wrong), std::invalid_argument);
}

TEST(EvalBaselines, ItemKnnCooccurrenceWithRegularisedCosine) {
  // A=0, B=1, C=2, D=3. Sessions: {A,B}, {A,A,B}, {A,C}; D never co-occurs.
  const auto ds = make_dataset({{0, 1}, {0, 0, 1}, {0, 2}, {3}}, 4);
  ItemKnn knn;  // lambda 20, alpha 0.5
  knn.fit(ds, {0, 1, 2, 3});
  // supports (events): A 4, B 2, C 1. Each event of i counts each other item of its session once:
  // for A: B gets 1 (s0) + 2 (two A events in s1) = 3, C gets 1; for B: A gets 1 + 1 = 2 (the
  // repeated A in s1 does not count twice), as session-rec's ItemKNN computes it.
  const auto nb = knn.neighbours(0);
  ASSERT_EQ(nb.size(), 2u);
  EXPECT_EQ(nb[0].first, 1u);
  EXPECT_NEAR(nb[0].second, 3.0 / std::sqrt(24.0 * 22.0), 1e-6);
  EXPECT_EQ(nb[1].first, 2u);
  EXPECT_NEAR(nb[1].second, 1.0 / std::sqrt(24.0 * 21.0), 1e-6);
  const auto nbb = knn.neighbours(1);
  ASSERT_EQ(nbb.size(), 1u);
  EXPECT_EQ(nbb[0].first, 0u);
  EXPECT_NEAR(nbb[0].second, 2.0 / std::sqrt(22.0 * 24.0), 1e-6);
  EXPECT_TRUE(knn.neighbours(3).empty());
  // Only the last prefix item counts.
  const auto s = scores_for(knn, 4, {3, 0});
  EXPECT_NEAR(s[1], 3.0 / std::sqrt(24.0 * 22.0), 1e-6);
  EXPECT_FLOAT_EQ(s[0], 0.f);
  EXPECT_FLOAT_EQ(s[3], 0.f);
  // n_sims caps the list.
  ItemKnn one(ItemKnnOptions{1, 20, 0.5});
  one.fit(ds, {0, 1, 2, 3});
  EXPECT_EQ(one.neighbours(0).size(), 1u);
}

TEST(EvalBaselines, SessionKnnCosineNeighboursAndRecencySample) {
  // A=0 B=1 C=2 D=3 E=4 F=5. s0 = {A,B} (oldest), s1 = {A,C,D}, s2 = {E,F} (newest)
  const auto ds = make_dataset({{0, 1}, {0, 2, 3}, {4, 5}}, 6);
  SessionKnn knn;
  knn.fit(ds, {0, 1, 2});
  const auto s = scores_for(knn, 6, {0});
  const double c0 = 1 / std::sqrt(2.0), c1 = 1 / std::sqrt(3.0);
  EXPECT_NEAR(s[0], c0 + c1, 1e-6);
  EXPECT_NEAR(s[1], c0, 1e-6);
  EXPECT_NEAR(s[2], c1, 1e-6);
  EXPECT_NEAR(s[3], c1, 1e-6);
  EXPECT_FLOAT_EQ(s[4], 0.f);
  // k = 1 keeps the most similar session (s0) only.
  SessionKnn k1(SessionKnnOptions{1, 500});
  k1.fit(ds, {0, 1, 2});
  const auto s1 = scores_for(k1, 6, {0});
  EXPECT_NEAR(s1[1], c0, 1e-6);
  EXPECT_FLOAT_EQ(s1[2], 0.f);
  // sample 1 keeps the most recent candidate session (s1), although s0 is more similar.
  SessionKnn recent(SessionKnnOptions{100, 1});
  recent.fit(ds, {0, 1, 2});
  const auto s2 = scores_for(recent, 6, {0});
  EXPECT_FLOAT_EQ(s2[1], 0.f);
  EXPECT_NEAR(s2[2], c1, 1e-6);
}

TEST(EvalBaselines, VsknnPositionWeightsDecayAndIdf) {
  // A=0 B=1 X=2 Y=3 Z=4. s0={A,X}, s1={B,Y}, s2={A,B,Z}; prefix [A, B]
  const auto ds = make_dataset({{0, 2}, {1, 3}, {0, 1, 4}}, 5);
  VsknnOptions o;
  o.idf_weighting = 0;
  Vsknn v(o);
  v.fit(ds, {0, 1, 2});
  const auto s = scores_for(v, 5, {0, 1});
  // weights (quadratic): A (1/2)^2 = .25, B 1; similarity = sum / 2 distinct items
  // s0 .125 (last match A at step 2 -> decay 1/2), s1 .5 (decay 1), s2 .625 (decay 1)
  EXPECT_NEAR(s[2], 0.125 * 0.5, 1e-6);
  EXPECT_NEAR(s[3], 0.5, 1e-6);
  EXPECT_NEAR(s[4], 0.625, 1e-6);
  EXPECT_NEAR(s[0], 0.0625 + 0.625, 1e-6);
  EXPECT_NEAR(s[1], 0.5 + 0.625, 1e-6);
  // idf weighting 5: score += sim * idf(item) * 5, idf = ln(3 sessions / events of the item)
  Vsknn vi;  // defaults: idf 5
  vi.fit(ds, {0, 1, 2});
  const auto si = scores_for(vi, 5, {0, 1});
  EXPECT_NEAR(si[2], (0.125 + 0.125 * std::log(3.0) * 5) * 0.5, 1e-5);
  EXPECT_NEAR(si[0], (0.125 + 0.125 * std::log(1.5) * 5) * 0.5 + (0.625 + 0.625 * std::log(1.5) * 5), 1e-5);
  // remind = false: prefix items get no score
  VsknnOptions nr = o;
  nr.remind = false;
  Vsknn vr(nr);
  vr.fit(ds, {0, 1, 2});
  const auto sr = scores_for(vr, 5, {0, 1});
  EXPECT_FLOAT_EQ(sr[0], 0.f);
  EXPECT_FLOAT_EQ(sr[1], 0.f);
  EXPECT_NEAR(sr[4], 0.625, 1e-6);
  // Repeated prefix items: the last occurrence sets the weight; 2 distinct items over L = 3.
  const auto srep = scores_for(v, 5, {1, 0, 1});
  // A at 2/3 -> .444, B at 3/3 -> 1; s0 .444/2 = .222 (decay: A at step 2 -> 1/2)
  EXPECT_NEAR(srep[2], (4.0 / 9) / 2 * 0.5, 1e-6);
}

TEST(EvalBaselines, KnnModelsFindTheSequentialPattern) {
  // Items come in fixed chains 10k, 10k+1, ..., 10k+4; a model that learns co-occurrence must put
  // the chain's items far above popular noise items.
  std::mt19937 rng(7);
  std::vector<std::vector<uint32_t>> sess;
  const uint32_t n_chains = 8, noise0 = 40, n_items = 60;
  for (int s = 0; s < 400; ++s) {
    const uint32_t c = rng() % n_chains;
    std::vector<uint32_t> v;
    for (uint32_t k = 0; k < 5; ++k) {
      v.push_back(c * 5 + k);
      if (rng() % 4 == 0) v.push_back(noise0 + rng() % 3);  // 3 very popular noise items
    }
    sess.push_back(v);
  }
  const auto ds = make_dataset(sess, n_items);
  const auto task = build_next_item_task(ds, range(0, 300), range(300, 400));
  Popularity pop;
  pop.fit(ds, range(0, 300));
  // top-10 = the 5 chain items + 3 noise items covers almost every target for a model that learned
  // the chains (iknn sees only the last item, so a noise item breaks its chain: ~0.88);
  // popularity only knows the noise items and ~7 of the 40 chain items.
  const double hr_pop = evaluate_next_item(pop, task, {{10}, 1}).metrics(TiePolicy::Expected).find(10)->hr;
  EXPECT_LT(hr_pop, 0.5);
  for (const char* name : {"iknn", "sknn", "vsknn", "bpr"}) {
    auto m = make_baseline(name);
    m->fit(ds, range(0, 300));
    const double hr = evaluate_next_item(*m, task, {{10}, 1}).metrics(TiePolicy::Expected).find(10)->hr;
    EXPECT_GT(hr, 0.8) << name << " HR@10 " << hr << " vs pop " << hr_pop;
  }
  EXPECT_THROW(make_baseline("gru4rec"), std::invalid_argument);
}

TEST(EvalBaselines, BprIsDeterministicForAFixedSeedAndLearns) {
  std::mt19937 rng(3);
  std::vector<std::vector<uint32_t>> sess;
  for (int s = 0; s < 300; ++s) {  // two clusters of 10 items each
    const uint32_t base = (s % 2) * 10;
    std::vector<uint32_t> v;
    for (int k = 0; k < 4; ++k) v.push_back(base + rng() % 10);
    sess.push_back(v);
  }
  const auto ds = make_dataset(sess, 20);
  BprOptions o;
  o.epochs = 15;
  BprMf a(o), b(o);
  a.fit(ds, range(0, 300));
  b.fit(ds, range(0, 300));
  EXPECT_EQ(a.item_factors(), b.item_factors());
  EXPECT_EQ(a.epoch_loss(), b.epoch_loss());
  ASSERT_EQ(a.epoch_loss().size(), 15u);
  EXPECT_LT(a.epoch_loss().back(), a.epoch_loss().front());
  // the same sessions in another order (disco-eval passes them by start time, disco-train by
  // index): the same fit, so both report the same BPR figures on one split
  std::vector<uint32_t> shuffled = range(0, 300);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  BprMf d(o);
  d.fit(ds, shuffled);
  EXPECT_EQ(a.item_factors(), d.item_factors());
  o.seed = 43;
  BprMf c(o);
  c.fit(ds, range(0, 300));
  EXPECT_NE(a.item_factors(), c.item_factors());
  // A prefix of cluster-0 items ranks all cluster-0 items above all cluster-1 items.
  const auto s = scores_for(a, 20, {1, 2, 3});
  const float min0 = *std::min_element(s.begin(), s.begin() + 10);
  const float max1 = *std::max_element(s.begin() + 10, s.end());
  EXPECT_GT(min0, max1);
}

TEST(EvalBaselines, FitRejectsBadInput) {
  const auto ds = make_dataset({{0, 1}}, 2);
  for (const auto& name : baseline_names()) {
    auto m = make_baseline(name);
    EXPECT_THROW(m->fit(ds, {}), std::invalid_argument) << name;
    EXPECT_THROW(m->fit(ds, {5}), std::out_of_range) << name;
  }
  data::Dataset empty;
  EXPECT_THROW(make_baseline("pop")->fit(empty, {0}), std::invalid_argument);
}

TEST(EvalBaselines, PopularityPropensityLearnsTheFunnel) {
  using T = data::EventType;
  auto u8 = [](T t) { return static_cast<uint8_t>(t); };
  // Training: sessions with a cart always end in a purchase, view-only sessions never do.
  std::vector<std::vector<uint32_t>> items;
  std::vector<std::vector<uint8_t>> types;
  for (int s = 0; s < 40; ++s) {
    items.push_back({0, 1, 2});
    if (s % 2) types.push_back({u8(T::View), u8(T::Cart), u8(T::Purchase)});
    else types.push_back({u8(T::View), u8(T::View), u8(T::View)});
  }
  const auto ds = make_dataset(items, 3, types);
  Popularity pop;
  pop.fit(ds, range(0, 30));
  ASSERT_TRUE(pop.has_propensity());
  std::vector<uint32_t> p2{0, 1};
  std::vector<uint8_t> cart{u8(T::View), u8(T::Cart)}, views{u8(T::View), u8(T::View)};
  // 15 cart prefixes, all positive; 15 view-view prefixes, all negative; smoothed towards the
  // overall rate of the 60 training cases (30 positive): (15 + 1) / 17 and (0 + 1) / 17.
  EXPECT_NEAR(pop.propensity(p2, cart), 16.0 / 17.0, 1e-6);
  EXPECT_NEAR(pop.propensity(p2, views), 1.0 / 17.0, 1e-6);
  const auto r = evaluate_propensity(pop, ds, range(30, 40));
  EXPECT_EQ(r.cases, 20u);
  EXPECT_EQ(r.positives, 10u);
  // Length-1 prefixes (one view) all score .5 and cannot be told apart. Of the 10 x 10 pairs:
  // cart prefixes beat every negative (50), one-view positives tie one-view negatives (25 x .5)
  // and beat view-view negatives (25): AUC = 87.5 / 100.
  EXPECT_DOUBLE_EQ(r.auc, 0.875);
  // Without purchases in training there is no propensity head.
  const auto no_buy = make_dataset({{0, 1}, {1, 2}}, 3);
  Popularity p0;
  p0.fit(no_buy, {0, 1});
  EXPECT_FALSE(p0.has_propensity());
}

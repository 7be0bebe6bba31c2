#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "disco/eval/protocol.h"
#include "eval_test_util.h"

using namespace disco;
using namespace disco::eval;
using disco::eval::testing::make_dataset;

namespace {

// Scores item i as `fixed[i]`, whatever the prefix.
class FixedScores final : public Recommender {
 public:
  explicit FixedScores(std::vector<float> s) : s_(std::move(s)) {}
  std::string name() const override { return "fixed"; }
  void fit(const data::Dataset&, const std::vector<uint32_t>&) override {}
  void score(std::span<const uint32_t>, std::span<const uint8_t>, std::span<float> out) const override {
    std::copy(s_.begin(), s_.end(), out.begin());
  }

 private:
  std::vector<float> s_;
};

// Predicts "last item + 1" with certainty.
class Successor final : public Recommender {
 public:
  explicit Successor(size_t n) : n_(n) {}
  std::string name() const override { return "succ"; }
  void fit(const data::Dataset&, const std::vector<uint32_t>&) override {}
  void score(std::span<const uint32_t> p, std::span<const uint8_t>, std::span<float> out) const override {
    std::fill(out.begin(), out.end(), 0.f);
    if (!p.empty() && p.back() + 1 < n_) out[p.back() + 1] = 1.f;
  }
  bool has_propensity() const override { return true; }
  float propensity(std::span<const uint32_t> p, std::span<const uint8_t> t) const override {
    // "cart in prefix" -> high propensity
    for (uint8_t x : t)
      if (x == static_cast<uint8_t>(data::EventType::Cart)) return 0.9f;
    return p.size() > 1 ? 0.4f : 0.2f;
  }

 private:
  size_t n_;
};

}  // namespace

TEST(EvalProtocol, DropsUnknownItemsLikeSessionRec) {
  // items 0..5; item 5 never occurs in training
  const auto ds = make_dataset({{0, 1, 2}, {2, 3, 4},  // train
                                {0, 5, 1, 2},          // test: 5 dropped -> 0,1,2 (2 predictions)
                                {5, 3},                // test: -> 3 only -> skipped
                                {3, 4}},               // test: 1 prediction
                               6);
  const auto task = build_next_item_task(ds, {0, 1}, {2, 3, 4});
  EXPECT_EQ(task.n_candidates, 5u);
  EXPECT_EQ(task.candidate[5], 0);
  EXPECT_EQ(task.dropped_unknown_events, 2u);
  EXPECT_EQ(task.skipped_short_sessions, 1u);
  ASSERT_EQ(task.sequences.size(), 2u);
  EXPECT_EQ(task.sequences[0].items, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(task.n_targets, 3u);
  EXPECT_EQ(task.unknown_targets, 0u);

  // Successor predicts 0->1, 1->2, 3->4 exactly: every prediction is a hit at rank 1.
  const auto r = evaluate_next_item(Successor(6), task);
  const auto m = r.metrics(TiePolicy::Optimistic);
  EXPECT_EQ(m.cases, 3u);
  EXPECT_DOUBLE_EQ(m.find(10)->hr, 1.0);
  EXPECT_DOUBLE_EQ(m.find(20)->mrr, 1.0);
  EXPECT_DOUBLE_EQ(m.find(10)->ndcg, 1.0);
}

TEST(EvalProtocol, MissPolicyKeepsUnknownItemsAsMisses) {
  const auto ds = make_dataset({{0, 1, 2}, {2, 3, 4}, {0, 5, 1, 2}}, 6);
  TaskOptions o;
  o.unknown_items = UnknownItems::Miss;
  const auto task = build_next_item_task(ds, {0, 1}, {2}, o);
  ASSERT_EQ(task.sequences.size(), 1u);
  EXPECT_EQ(task.n_targets, 3u);       // 5, 1, 2
  EXPECT_EQ(task.unknown_targets, 1u); // 5
  const auto m = evaluate_next_item(Successor(6), task).metrics(TiePolicy::Optimistic);
  // 0 -> 5: miss (unknown); 5 -> 1: predicts 6 (none) -> target 1 ties with all zeros;
  // 1 -> 2: hit at rank 1.
  EXPECT_EQ(m.cases, 3u);
  EXPECT_NEAR(m.find(20)->hr, 2.0 / 3, 1e-12);  // optimistic: the all-zero tie counts as rank 1
  const auto pm = evaluate_next_item(Successor(6), task).metrics(TiePolicy::Pessimistic);
  EXPECT_NEAR(pm.find(20)->hr, 2.0 / 3, 1e-12);  // 4 zero-scored candidates tie: rank 5 <= 20
  EXPECT_NEAR(pm.find(20)->mrr, (0.2 + 1.0) / 3, 1e-12);
}

TEST(EvalProtocol, FixedScoresGiveHandComputedRanks) {
  // candidates 0..4 (all in training); scores: item 3 > item 1 > item 0 = item 2 > item 4
  const auto ds = make_dataset({{0, 1, 2, 3, 4}, {4, 0, 2}}, 5);
  const auto task = build_next_item_task(ds, {0}, {1});
  FixedScores f({0.5f, 0.7f, 0.5f, 0.9f, 0.1f});
  const auto r = evaluate_next_item(f, task, EvalOptions{{1, 3}, 1});
  // targets: 0 (1 higher... items 3,1 higher, item 2 tied) -> optimistic rank 3; 2 -> rank 3 too
  const auto m = r.metrics(TiePolicy::Optimistic);
  EXPECT_DOUBLE_EQ(m.find(1)->hr, 0.0);
  EXPECT_DOUBLE_EQ(m.find(3)->hr, 1.0);
  EXPECT_DOUBLE_EQ(m.find(3)->mrr, 1.0 / 3);
  const auto p = r.metrics(TiePolicy::Pessimistic);
  EXPECT_DOUBLE_EQ(p.find(3)->hr, 0.0);
  const auto e = r.metrics(TiePolicy::Expected);
  EXPECT_DOUBLE_EQ(e.find(3)->hr, 0.5);
}

TEST(EvalProtocol, ThreadsGiveTheSameResult) {
  std::vector<std::vector<uint32_t>> sess;
  for (uint32_t s = 0; s < 60; ++s) sess.push_back({s % 7, (s * 3) % 7, (s * 5 + 1) % 7, s % 5});
  const auto ds = make_dataset(sess, 7);
  const auto task = build_next_item_task(ds, disco::eval::testing::range(0, 30), disco::eval::testing::range(30, 60));
  FixedScores f({0.1f, 0.2f, 0.2f, 0.5f, 0.05f, 0.6f, 0.2f});
  const auto a = evaluate_next_item(f, task, EvalOptions{{10, 20}, 1}).metrics(TiePolicy::Expected);
  const auto b = evaluate_next_item(f, task, EvalOptions{{10, 20}, 3}).metrics(TiePolicy::Expected);
  EXPECT_EQ(a.cases, b.cases);
  EXPECT_NEAR(a.find(10)->mrr, b.find(10)->mrr, 1e-12);
  EXPECT_NEAR(a.find(20)->ndcg, b.find(20)->ndcg, 1e-12);
}

TEST(EvalProtocol, MaxTestSessionsLimitsTheTask) {
  const auto ds = make_dataset({{0, 1}, {0, 1}, {1, 0}, {0, 1, 0}}, 2);
  TaskOptions o;
  o.max_test_sessions = 2;
  const auto task = build_next_item_task(ds, {0}, {1, 2, 3}, o);
  EXPECT_EQ(task.sequences.size(), 2u);
  EXPECT_EQ(task.n_targets, 2u);
}

TEST(EvalProtocol, BadInputGivesClearErrors) {
  const auto ds = make_dataset({{0, 1}}, 2);
  EXPECT_THROW(build_next_item_task(ds, {0}, {7}), std::out_of_range);
  const auto task = build_next_item_task(ds, {0}, {0});
  class Short final : public Recommender {
   public:
    std::string name() const override { return "short"; }
    void fit(const data::Dataset&, const std::vector<uint32_t>&) override {}
    void score(std::span<const uint32_t>, std::span<const uint8_t>, std::span<float>) const override {}
    void score_prefixes(std::span<const uint32_t>, std::span<const uint8_t>, size_t, std::span<float> scratch,
                        const PrefixCallback& cb) const override {
      cb(1, scratch.first(1));
    }
  } short_model;
  EXPECT_THROW(evaluate_next_item(short_model, task), std::runtime_error);
}

TEST(EvalProtocol, PropensityCasesAndHandAuc) {
  using T = data::EventType;
  auto u8 = [](T t) { return static_cast<uint8_t>(t); };
  // s0: view, cart, purchase -> cases t=1 (prefix view), t=2 (view,cart), labels 1, 1
  // s1: view, view, view     -> cases t=1, t=2, labels 0, 0
  // s2: purchase, view       -> no case (purchase first)
  const auto ds = make_dataset({{0, 1, 2}, {0, 1, 2}, {1, 2}}, 3,
                               {{u8(T::View), u8(T::Cart), u8(T::Purchase)},
                                {u8(T::View), u8(T::View), u8(T::View)},
                                {u8(T::Purchase), u8(T::View)}});
  const auto r = evaluate_propensity(Successor(3), ds, {0, 1, 2});
  EXPECT_EQ(r.cases, 4u);
  EXPECT_EQ(r.positives, 2u);
  // scores: s0 {0.2, 0.9}, s1 {0.2, 0.4}: pos-neg pairs (.2,.2)=.5 (.2,.4)=0 (.9,.2)=1 (.9,.4)=1 -> 2.5/4
  EXPECT_DOUBLE_EQ(r.auc, 0.625);
  EXPECT_NEAR(r.log_loss, -(std::log(0.2) + std::log(0.9) + std::log(0.8) + std::log(0.6)) / 4, 1e-6);
  EXPECT_THROW(evaluate_propensity(FixedScores({1, 2, 3}), ds, {0}), std::invalid_argument);
}

TEST(EvalProtocol, TimelineSplitPredictsLaterEventsFromTheWholeHistory) {
  // user 0: items 0,1,2,3,4 at t = 1,2,3,10,11; user 1: items 1,2,3 at t = 4,5,12 (seconds)
  auto ds = make_dataset({{0, 1, 2, 3, 4}, {1, 2, 3}}, 5);
  const int64_t t[] = {1, 2, 3, 10, 11, 4, 5, 12};
  for (size_t i = 0; i < ds.events.size(); ++i) ds.events[i].ts_ms = t[i] * 1000;
  // 8 events, test_frac .25 -> cutoff = 7th smallest time = 11 s
  const TimelineSplit tl = timeline_split(ds, 0.25);
  EXPECT_EQ(tl.cutoff_ms, 11000);
  ASSERT_EQ(tl.train.size(), 2u);
  ASSERT_EQ(tl.test.size(), 2u);
  EXPECT_EQ(tl.ds.sessions[tl.train[0]].end - tl.ds.sessions[tl.train[0]].begin, 4u);
  EXPECT_EQ(tl.ds.sessions[tl.train[1]].end - tl.ds.sessions[tl.train[1]].begin, 2u);
  EXPECT_EQ(tl.first_target, (std::vector<uint32_t>{4, 2}));
  TaskOptions o;
  o.first_target = tl.first_target;
  const auto task = build_next_item_task(tl.ds, tl.train, tl.test, o);
  // Item 4 never occurs before the cutoff: Drop removes it, so user 0 has nothing left to predict
  // and only user 1's prediction remains: item 3 after [1, 2].
  EXPECT_EQ(task.dropped_unknown_events, 1u);
  EXPECT_EQ(task.skipped_short_sessions, 1u);
  EXPECT_EQ(task.n_targets, 1u);
  ASSERT_EQ(task.sequences.size(), 1u);
  EXPECT_EQ(task.sequences[0].first, 2u);
  const auto m = evaluate_next_item(Successor(5), task).metrics(TiePolicy::Optimistic);
  EXPECT_EQ(m.cases, 1u);
  EXPECT_DOUBLE_EQ(m.find(10)->hr, 1.0);
  TaskOptions miss = o;
  miss.unknown_items = UnknownItems::Miss;
  const auto task_miss = build_next_item_task(tl.ds, tl.train, tl.test, miss);
  EXPECT_EQ(task_miss.n_targets, 2u);
  EXPECT_EQ(task_miss.unknown_targets, 1u);
  EXPECT_EQ(task_miss.sequences[0].first, 4u);
  EXPECT_THROW(timeline_split(ds, 0.0), std::invalid_argument);
  o.first_target = {1};
  EXPECT_THROW(build_next_item_task(tl.ds, tl.train, tl.test, o), std::invalid_argument);
}

TEST(EvalProtocol, CompareScoresMeasuresFloatVsQuantizedAgreement) {
  const auto ds = make_dataset({{0, 1, 2, 3, 4}, {4, 0, 2}}, 5);
  const auto task = build_next_item_task(ds, {0}, {1});  // 2 predictions, 5 candidates
  FixedScores f({0.5f, 0.7f, 0.5f, 0.9f, 0.1f});
  FixedScores q({0.5f, 0.75f, 0.5f, 0.9f, 0.3f});  // "quantized": two scores moved
  const auto same = compare_scores(f, f, task, 2);
  EXPECT_EQ(same.cases, 2u);
  EXPECT_DOUBLE_EQ(same.max_abs_diff, 0.0);
  EXPECT_DOUBLE_EQ(same.topk_overlap, 1.0);
  const auto d = compare_scores(f, q, task, 2);
  EXPECT_NEAR(d.max_abs_diff, 0.2, 1e-6);
  EXPECT_NEAR(d.mean_abs_diff, (0.05 + 0.2) / 5, 1e-6);
  EXPECT_DOUBLE_EQ(d.topk_overlap, 1.0);  // top-2 = {3, 1} for both
  FixedScores swapped({0.8f, 0.7f, 0.5f, 0.9f, 0.1f});  // item 0 overtakes item 1
  EXPECT_DOUBLE_EQ(compare_scores(f, swapped, task, 2).topk_overlap, 0.5);
  EXPECT_EQ(compare_scores(f, q, task, 2, 1).cases, 1u);
}

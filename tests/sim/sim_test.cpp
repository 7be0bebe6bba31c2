// Tests of the shopper simulator: determinism, the statistical shape of the simulated store, the
// ground-truth discount response, the oracle, the logging policy's propensities and the CSV files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "disco/sim/arms.h"
#include "disco/sim/environment.h"
#include "disco/sim/simulate.h"

namespace fs = std::filesystem;
using namespace disco::sim;

namespace {

Config small_config(uint64_t seed = 7) {
  Config c;
  c.seed = seed;
  c.num_items = 2000;
  c.num_shoppers = 4000;
  c.num_days = 20;
  return c;
}

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("disco-sim-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

// Header + rows of a CSV file written by the simulator (no quoting is ever needed).
struct Csv {
  std::string header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> lines;
};
Csv read_csv(const fs::path& p) {
  Csv c;
  std::ifstream in(p);
  std::string line;
  EXPECT_TRUE(std::getline(in, c.header)) << p;
  while (std::getline(in, line)) {
    c.lines.push_back(line);
    c.rows.push_back(split(line));
  }
  return c;
}

int run(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

double gini(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  const double n = double(x.size()), sum = std::accumulate(x.begin(), x.end(), 0.0);
  double acc = 0;
  for (size_t i = 0; i < x.size(); ++i) acc += (2.0 * double(i + 1) - n - 1.0) * x[i];
  return acc / (n * sum);
}

// The simulated log of the small store, computed once.
struct World {
  Environment env{small_config()};
  SimLog log;
  World() { log = simulate(env, LoggingPolicy{}); }
};
const World& world() {
  static World w;
  return w;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST(SimDeterminism, SameSeedGivesByteIdenticalFilesAndAnotherSeedDoesNot) {
  auto write = [](uint64_t seed, const std::string& name) {
    Environment env(small_config(seed));
    const LoggingPolicy pol = LoggingPolicy::parse("epsilon:0.3:10%");
    SimLog log = simulate(env, pol);
    fs::path dir = temp_dir(name);
    write_csv(env, log, dir.string(), pol, 0.01);
    return dir;
  };
  fs::path a = write(11, "det-a"), b = write(11, "det-b"), c = write(12, "det-c");
  for (const char* f : {"items.csv", "events.csv", "decisions.csv", "outcomes.csv"}) {
    const std::string sa = slurp(a / f), sb = slurp(b / f), sc = slurp(c / f);
    EXPECT_GT(sa.size(), 100u) << f;
    EXPECT_EQ(sa, sb) << f << " differs between two runs with the same seed";
    EXPECT_NE(sa, sc) << f << " is the same for seeds 11 and 12";
  }
  fs::remove_all(a), fs::remove_all(b), fs::remove_all(c);
}

TEST(SimDeterminism, ShopperDoesNotDependOnPopulationSize) {
  Config c1 = small_config(), c2 = small_config();
  c2.num_shoppers = 100;
  Environment e1(c1), e2(c2);
  for (uint32_t s = 0; s < 100; ++s) {
    EXPECT_EQ(e1.segment(s), e2.segment(s));
    EXPECT_EQ(e1.shopper(s).base_logit, e2.shopper(s).base_logit);
    EXPECT_EQ(e1.purchase_probability(s, 5, 2), e2.purchase_probability(s, 5, 2));
  }
}

// ---------------------------------------------------------------------------------------------

TEST(SimCatalog, PricesCostsStockAndCategoryMargins) {
  const Environment& env = world().env;
  uint32_t oos = 0;
  std::vector<double> margin_sum(env.num_categories()), n(env.num_categories());
  std::set<uint32_t> brands;
  for (const Item& it : env.items()) {
    ASSERT_GT(it.price, 0.f);
    ASSERT_GT(it.cost, 0.f);
    ASSERT_LT(it.cost, it.price);
    ASSERT_LT(it.category, env.num_categories());
    ASSERT_LT(it.brand, env.num_brands());
    brands.insert(it.brand);
    oos += !it.in_stock;
    margin_sum[it.category] += 1.0 - it.cost / it.price;
    n[it.category] += 1;
  }
  const double oos_rate = double(oos) / env.num_items();
  EXPECT_GT(oos_rate, 0.01);
  EXPECT_LT(oos_rate, 0.06);
  EXPECT_GT(brands.size(), env.num_categories());
  // Margin rates vary by category.
  double lo = 1, hi = 0;
  for (uint32_t c = 0; c < env.num_categories(); ++c) {
    ASSERT_GT(n[c], 0) << "category " << c << " has no items";
    lo = std::min(lo, margin_sum[c] / n[c]);
    hi = std::max(hi, margin_sum[c] / n[c]);
  }
  EXPECT_GT(hi - lo, 0.2) << "category margin rates " << lo << " .. " << hi;
  // Prices are log-normal-ish: spread over more than an order of magnitude.
  std::vector<double> prices;
  for (const Item& it : env.items()) prices.push_back(it.price);
  std::sort(prices.begin(), prices.end());
  EXPECT_GT(prices[prices.size() * 95 / 100] / prices[prices.size() * 5 / 100], 10.0);
}

TEST(SimCatalog, PopularityIsHeavyTailed) {
  const World& w = world();
  std::vector<double> views(w.env.num_items());
  double total = 0;
  for (const SimEvent& e : w.log.events)
    if (e.kind == kView) views[e.item] += 1, total += 1;
  std::vector<double> sorted = views;
  std::sort(sorted.rbegin(), sorted.rend());
  const size_t top = sorted.size() / 100;
  const double top_share = std::accumulate(sorted.begin(), sorted.begin() + top, 0.0) / total;
  EXPECT_GE(top_share, 0.10) << "the top 1% of items get " << top_share << " of the views";
  const double g = gini(views);
  // (about 0.60 for this 2,000-item store, 0.69 for the default 10,000 items; uniform would be ~0.1)
  EXPECT_GT(g, 0.55) << "Gini of views per item";
}

// ---------------------------------------------------------------------------------------------

TEST(SimSessions, FunnelNarrowsFromViewsToPurchases) {
  const World& w = world();
  std::array<uint64_t, kNumEventKinds> n{};
  for (const SimEvent& e : w.log.events) ++n[e.kind];
  EXPECT_GT(n[kView], n[kClick]);
  EXPECT_GT(n[kClick], n[kCart]);
  EXPECT_GT(n[kCart], n[kPurchase]);
  EXPECT_GT(n[kPurchase], 0u);
  EXPECT_GT(n[kRemove], 0u);
  EXPECT_GT(w.log.sessions, 5000u);
  // Every purchase follows a cart of the same item in the same session; every cart a click.
  std::set<std::pair<uint32_t, uint32_t>> carted, clicked;
  for (const SimEvent& e : w.log.events) {
    const auto key = std::make_pair(e.session, e.item);
    if (e.kind == kClick) clicked.insert(key);
    if (e.kind == kCart) {
      EXPECT_TRUE(clicked.count(key)) << "cart without a click";
      carted.insert(key);
    }
    if (e.kind == kPurchase || e.kind == kRemove) EXPECT_TRUE(carted.count(key)) << "purchase/remove without a cart";
  }
}

TEST(SimSessions, ThirtyMinuteGapRecoversSessions) {
  const World& w = world();
  std::unordered_map<uint32_t, int64_t> last_ts;
  std::unordered_map<uint32_t, uint32_t> last_session;
  uint64_t sessions = 0;
  for (const SimEvent& e : w.log.events) {
    auto it = last_ts.find(e.shopper);
    const bool new_session = it == last_ts.end() || e.ts_ms - it->second > 30 * 60 * 1000;
    sessions += new_session;
    if (it != last_ts.end()) EXPECT_EQ(new_session, last_session[e.shopper] != e.session);
    last_ts[e.shopper] = e.ts_ms;
    last_session[e.shopper] = e.session;
  }
  EXPECT_EQ(sessions, w.log.sessions);
}

TEST(SimSessions, NextItemIsLearnableBeyondPopularity) {
  // Train on the first 80% of time, predict each next view of a session in the rest: item-to-item
  // transition counts (what a session model can learn) must beat popularity clearly at HR@20.
  const World& w = world();
  const auto& ev = w.log.events;
  const int64_t t0 = ev.front().ts_ms, t1 = ev.back().ts_ms;
  const int64_t cut = t0 + (t1 - t0) * 8 / 10;
  std::vector<double> pop(w.env.num_items());
  std::unordered_map<uint32_t, std::unordered_map<uint32_t, double>> trans;
  std::unordered_map<uint32_t, uint32_t> prev;  // session -> previous viewed item
  struct Case { uint32_t from, to; };
  std::vector<Case> test;
  for (const SimEvent& e : ev) {
    if (e.kind != kView) continue;
    auto p = prev.find(e.session);
    if (e.ts_ms < cut) {
      pop[e.item] += 1;
      if (p != prev.end()) trans[p->second][e.item] += 1;
    } else if (p != prev.end() && p->second != e.item) {
      test.push_back({p->second, e.item});
    }
    prev[e.session] = e.item;
  }
  ASSERT_GT(test.size(), 1000u);
  std::vector<uint32_t> order(pop.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return pop[a] > pop[b]; });
  std::set<uint32_t> top20(order.begin(), order.begin() + 20);
  uint64_t hit_pop = 0, hit_trans = 0;
  for (const Case& c : test) {
    hit_pop += top20.count(c.to);
    // Transition candidates by count, then popularity fills up to 20.
    std::vector<std::pair<double, uint32_t>> cand;
    if (auto it = trans.find(c.from); it != trans.end())
      for (auto& [j, n] : it->second) cand.push_back({-(n + 1e-6 * pop[j]), j});
    std::sort(cand.begin(), cand.end());
    std::set<uint32_t> rec;
    for (auto& [s, j] : cand) {
      if (rec.size() == 20) break;
      rec.insert(j);
    }
    for (uint32_t j : order) {
      if (rec.size() == 20) break;
      rec.insert(j);
    }
    hit_trans += rec.count(c.to);
  }
  const double hr_pop = double(hit_pop) / test.size(), hr_trans = double(hit_trans) / test.size();
  RecordProperty("hr20_transitions", std::to_string(hr_trans));
  RecordProperty("hr20_popularity", std::to_string(hr_pop));
  EXPECT_GT(hr_trans, 2.0 * hr_pop) << "HR@20 transitions " << hr_trans << " vs popularity " << hr_pop;
  EXPECT_GT(hr_trans, 0.2);
}

// ---------------------------------------------------------------------------------------------

namespace {
// A sample of (shopper, in-stock item) pairs for each segment, fresh state.
std::vector<std::pair<uint32_t, uint32_t>> pairs_of(const Environment& env, Segment seg, size_t max_pairs = 3000) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  Rng r(99, 0, uint64_t(seg));
  for (uint32_t s = 0; s < env.num_shoppers() && out.size() < max_pairs; ++s) {
    if (env.segment(s) != seg) continue;
    for (int k = 0; k < 5; ++k) {
      uint32_t i = r.below(env.num_items());
      if (env.item(i).in_stock) out.push_back({s, i});
    }
  }
  return out;
}
}  // namespace

TEST(SimResponse, PersuadablesBuyMoreWithBiggerDiscounts) {
  Environment env(small_config());
  const auto pairs = pairs_of(env, Segment::Persuadable);
  ASSERT_GT(pairs.size(), 500u);
  double p0 = 0, p20 = 0;
  for (auto [s, i] : pairs) {
    for (int a = 1; a <= 4; ++a)
      ASSERT_GT(env.purchase_probability(s, i, a), env.purchase_probability(s, i, a - 1));
    EXPECT_GT(env.purchase_probability(s, i, 5), env.purchase_probability(s, i, 0));
    p0 += env.purchase_probability(s, i, 0);
    p20 += env.purchase_probability(s, i, 4);
  }
  p0 /= pairs.size(), p20 /= pairs.size();
  EXPECT_GT(p20 - p0, 0.2) << "mean purchase probability 0%: " << p0 << ", 20%: " << p20;
}

TEST(SimResponse, SureThingsDoNotRespondToDiscounts) {
  Environment env(small_config());
  const auto pairs = pairs_of(env, Segment::SureThing);
  ASSERT_GT(pairs.size(), 500u);
  double p0 = 0;
  for (auto [s, i] : pairs) {
    for (int a = 1; a < kNumArms; ++a)
      ASSERT_EQ(env.purchase_probability(s, i, a), env.purchase_probability(s, i, 0));
    p0 += env.purchase_probability(s, i, 0);
    // So every discount only costs margin.
    for (int a = 1; a < kNumArms; ++a) ASSERT_LT(env.expected_margin(s, i, a), env.expected_margin(s, i, 0));
    ASSERT_EQ(env.oracle_arm(s, i), kNoDiscountArm);
  }
  EXPECT_GT(p0 / pairs.size(), 0.5);
}

TEST(SimResponse, LostCausesNeverBuy) {
  const World& w = world();
  const auto pairs = pairs_of(w.env, Segment::LostCause);
  ASSERT_GT(pairs.size(), 500u);
  for (auto [s, i] : pairs)
    for (int a = 0; a < kNumArms; ++a) {
      ASSERT_EQ(w.env.purchase_probability(s, i, a), 0.0);
      ASSERT_FALSE(w.env.draw(s, i, a, 12345).purchased);
    }
  uint64_t lost_carts = 0;
  for (const SimEvent& e : w.log.events) {
    if (w.env.segment(e.shopper) != Segment::LostCause) continue;
    ASSERT_NE(e.kind, kPurchase) << "lost cause u" << e.shopper << " bought";
    lost_carts += e.kind == kCart;
  }
  EXPECT_GT(lost_carts, 100u);  // they do put things in the cart
}

TEST(SimResponse, SleepingDogsBuyLessWhenOfferedDiscounts) {
  Environment env(small_config());
  const auto pairs = pairs_of(env, Segment::SleepingDog);
  ASSERT_GT(pairs.size(), 500u);
  double p0 = 0, p20 = 0;
  for (auto [s, i] : pairs) {
    for (int a = 1; a < kNumArms; ++a)
      ASSERT_LT(env.purchase_probability(s, i, a), env.purchase_probability(s, i, 0));
    p0 += env.purchase_probability(s, i, 0);
    p20 += env.purchase_probability(s, i, 4);
  }
  EXPECT_GT((p0 - p20) / pairs.size(), 0.1);
}

namespace {
// Six discounts a day apart lower the no-discount purchase probability; the waiting level ends above
// `min_wait` (and at most `max_wait`), the mean no-discount probability below `max_ratio` of fresh;
// a 20% discount is not affected; 120 quiet days undo it.
void check_habituation(int world, double min_wait, double max_wait, double max_ratio) {
  Config cfg = small_config();
  cfg.world_version = world;
  Environment env(cfg);
  const int64_t t0 = env.config().start_ms;
  const int64_t day = 86400000;
  int checked = 0;
  double sum_fresh = 0, sum_after = 0;
  for (Segment seg : {Segment::Persuadable, Segment::SureThing, Segment::SleepingDog}) {
    for (auto [s, i] : pairs_of(env, seg, 50)) {
      env.reset_state();
      const double fresh0 = env.purchase_probability(s, i, 0, t0);
      const double fresh20 = env.purchase_probability(s, i, 4, t0);
      ASSERT_EQ(env.wait_level(s, t0), 0.0);
      // A no-discount "offer" does not habituate.
      env.apply_offer(s, kNoDiscountArm, t0);
      ASSERT_EQ(env.purchase_probability(s, i, 0, t0), fresh0);
      double prev = fresh0;
      for (int k = 1; k <= 6; ++k) {
        env.apply_offer(s, 2 + k % 3, t0 + k * day);
        const double now = env.purchase_probability(s, i, 0, t0 + k * day);
        ASSERT_LT(now, prev) << "discount " << k << " did not lower the no-discount probability";
        prev = now;
      }
      const int64_t t_end = t0 + 6 * day;
      EXPECT_EQ(env.shopper(s).offers_received, 6u);
      EXPECT_GT(env.wait_level(s, t_end), min_wait);
      EXPECT_LE(env.wait_level(s, t_end), max_wait);
      sum_fresh += fresh0;
      sum_after += env.purchase_probability(s, i, 0, t_end);
      // A 20% discount is not affected (it satisfies the wait).
      EXPECT_DOUBLE_EQ(env.purchase_probability(s, i, 4, t_end), fresh20);
      // Waiting decays: after 120 quiet days the shopper is (almost) back to normal.
      EXPECT_NEAR(env.purchase_probability(s, i, 0, t_end + 120 * day), fresh0, 0.01);
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
  EXPECT_LT(sum_after, max_ratio * sum_fresh) << "mean no-discount probability after six discounts in a week";
  env.reset_state();
  EXPECT_EQ(env.wait_level(0, env.config().start_ms), 0.0);
}
}  // namespace

TEST(SimResponse, HabituationLowersNoDiscountPurchaseProbabilityAndDecays) {
  check_habituation(2, 0.85, 1.0, 0.97);  // bounded: 1 - 0.5^6 less a week's decay
}

TEST(SimWorld1, HabituationIsUnboundedInWorld1) {
  check_habituation(1, 3.0, 6.0, 0.7);
}

TEST(SimWorld, DefaultIsWorld2AndWorld1IsReachable) {
  EXPECT_EQ(Config{}.world_version, 2);
  Environment w2(small_config());
  EXPECT_EQ(w2.world().version, 2);
  EXPECT_EQ(w2.config().segment_shares, (std::array<double, 4>{0.48, 0.24, 0.10, 0.18}));
  EXPECT_EQ(w2.config().habituation_tau_days, 10.0);
  Config c1 = small_config();
  c1.world_version = 1;
  Environment w1(c1);
  EXPECT_EQ(w1.world().version, 1);
  EXPECT_EQ(w1.config().segment_shares, (std::array<double, 4>{0.40, 0.20, 0.25, 0.15}));
  // Explicit shares and decay still win over the world's.
  Config own = small_config();
  own.segment_shares = {1, 0, 0, 0};
  own.habituation_tau_days = 3;
  Environment wo(own);
  EXPECT_EQ(wo.config().habituation_tau_days, 3.0);
  for (uint32_t s = 0; s < wo.num_shoppers(); ++s) ASSERT_EQ(wo.segment(s), Segment::Persuadable);
  Config bad = small_config();
  bad.world_version = 3;
  EXPECT_THROW(Environment{bad}, std::invalid_argument);
  // The catalog does not depend on the world (the shoppers do: their segments differ).
  for (uint32_t i = 0; i < w1.num_items(); ++i) {
    ASSERT_EQ(w1.item(i).price, w2.item(i).price);
    ASSERT_EQ(w1.item(i).cost, w2.item(i).cost);
  }
}

// World 1 is the store every figure before world 2 was measured on (loop/README.md, trainer/model/
// RESULTS.md): it must reproduce them. The numbers are disco-sim --seed 42's summary before world 2
// existed (same seed, same platform).
TEST(SimWorld1, ReproducesTheOriginalDefaultStore) {
  Config c;
  c.world_version = 1;
  Environment env(c);
  const SimLog log = simulate(env, LoggingPolicy{});
  const Summary s = summarize(env, log);
  EXPECT_EQ(s.shoppers_by_segment, (std::array<uint64_t, 4>{7937, 4038, 5002, 3023}));
  EXPECT_EQ(s.events, 466444u);
  EXPECT_EQ(s.decisions, 29916u);
  EXPECT_EQ(s.conversions, 13382u);
  EXPECT_NEAR(s.realized_margin, 151042.22, 0.005);
  EXPECT_NEAR(s.oracle_expected_margin, 226325.00, 0.005);
  EXPECT_NEAR(s.fixed_expected_margin[kNoDiscountArm], 159223.98, 0.005);
}

TEST(SimWorld, World2WaitingLevelIsBoundedAndSaturates) {
  Environment env(small_config());
  const int64_t t0 = env.config().start_ms;
  const uint32_t s = 0;
  env.apply_offer(s, 2, t0);
  EXPECT_DOUBLE_EQ(env.wait_level(s, t0), 0.5);
  env.apply_offer(s, 3, t0);
  EXPECT_DOUBLE_EQ(env.wait_level(s, t0), 0.75);
  for (int k = 0; k < 100; ++k) env.apply_offer(s, 1 + k % 5, t0 + k * 60000);
  EXPECT_LE(env.wait_level(s), 1.0);
  EXPECT_GT(env.wait_level(s), 0.99);
  // So the habituation cost is bounded by kappa: a sure thing offered 10% after 100 discounts loses
  // at most kappa * (1 - 0.10 / 0.15) log-odds against a fresh one.
  for (auto [sh, i] : pairs_of(env, Segment::SureThing, 20)) {
    env.reset_state();
    const double fresh = env.purchase_probability(sh, i, 2, t0);
    for (int k = 0; k < 100; ++k) env.apply_offer(sh, 2, t0 + k);
    const double after = env.purchase_probability(sh, i, 2, t0 + 100);
    const double logit = [](double p) { return std::log(p / (1 - p)); }(fresh) - std::log(after / (1 - after));
    EXPECT_LE(logit, env.shopper(sh).kappa / 3.0 + 1e-9);
    EXPECT_GT(logit, 0.0);
  }
}

TEST(SimWorld, World2HasAllFourSegmentsWithTheirResponses) {
  Config c = small_config();
  c.num_shoppers = 20000;
  Environment env(c);
  std::array<double, 4> n{};
  for (const Shopper& p : env.shoppers()) n[int(p.segment)] += 1;
  const std::array<double, 4> want{0.48, 0.24, 0.10, 0.18};
  for (int g = 0; g < 4; ++g) EXPECT_NEAR(n[size_t(g)] / 20000, want[size_t(g)], 0.015) << to_string(Segment(g));
  // Sleeping dogs: a discount lowers the odds by gamma + 2 v, gamma in [0.2, 0.6].
  for (auto [s, i] : pairs_of(env, Segment::SleepingDog, 200)) {
    const Shopper& p = env.shopper(s);
    EXPECT_GE(p.gamma, 0.2f);
    EXPECT_LE(p.gamma, 0.6f);
    const double p0 = env.purchase_probability(s, i, 0), p20 = env.purchase_probability(s, i, 4);
    const double drop = std::log(p0 / (1 - p0)) - std::log(p20 / (1 - p20));
    EXPECT_NEAR(drop, p.gamma + 2.0 * 0.20, 1e-4);
  }
}

// ---------------------------------------------------------------------------------------------

TEST(SimOracle, OracleMarginIsAtLeastEveryFixedArm) {
  Environment env(small_config());
  std::array<double, kNumArms> fixed{};
  double oracle = 0;
  std::array<int, kNumArms> oracle_choices{};
  for (int seg = 0; seg < kNumSegments; ++seg)
    for (auto [s, i] : pairs_of(env, Segment(seg), 1000)) {
      const auto m = env.expected_margins(s, i);
      const int o = env.oracle_arm(s, i);
      ++oracle_choices[o];
      for (int a = 0; a < kNumArms; ++a) {
        ASSERT_GE(m[o], m[a]);
        ASSERT_DOUBLE_EQ(m[a], env.expected_margin(s, i, a));
        fixed[a] += m[a];
      }
      oracle += m[o];
    }
  for (int a = 0; a < kNumArms; ++a) EXPECT_GT(oracle, fixed[a]) << "arm " << kArms[a].name;
  EXPECT_GT(oracle, 1.1 * *std::max_element(fixed.begin(), fixed.end()));
  // The oracle personalizes: it uses no discount, a percent discount and free shipping.
  EXPECT_GT(oracle_choices[0], 0);
  EXPECT_GT(oracle_choices[1] + oracle_choices[2] + oracle_choices[3] + oracle_choices[4], 0);
  EXPECT_GT(oracle_choices[5], 0);
  // Same over the simulated log's offer points.
  Summary sum = summarize(world().env, world().log);
  for (int a = 0; a < kNumArms; ++a) EXPECT_GE(sum.oracle_expected_margin, sum.fixed_expected_margin[a]);
}

TEST(SimOracle, DrawsMatchExpectedMarginAndUseCommonRandomNumbers) {
  Environment env(small_config());
  const auto pairs = pairs_of(env, Segment::Persuadable, 20);
  for (auto [s, i] : pairs) {
    for (int a = 0; a < kNumArms; ++a) {
      const int n = 20000;
      double sum = 0, sum2 = 0;
      for (int k = 0; k < n; ++k) {
        const Outcome o = env.draw(s, i, a, uint64_t(k));
        sum += o.margin, sum2 += o.margin * o.margin;
        if (o.purchased) {
          ASSERT_NEAR(o.revenue, o.quantity * o.unit_price, 1e-9);
          ASSERT_NEAR(o.margin, o.revenue - o.quantity * env.item(i).cost - kArms[a].merchant_cost, 1e-9);
        } else {
          ASSERT_EQ(o.margin, 0.0);
        }
      }
      const double mean = sum / n, sd = std::sqrt(std::max(0.0, sum2 / n - mean * mean));
      EXPECT_NEAR(mean, env.expected_margin(s, i, a), 5 * sd / std::sqrt(double(n)) + 1e-9);
    }
    // Common random numbers: one uniform per key for every arm, so a purchase at 0% implies a
    // purchase at 20% for a persuadable.
    for (uint64_t key = 0; key < 2000; ++key) {
      const Outcome o0 = env.draw(s, i, 0, key), o4 = env.draw(s, i, 4, key);
      ASSERT_EQ(o0.u, o4.u);
      if (o0.purchased) ASSERT_TRUE(o4.purchased);
    }
  }
  // Different shoppers or keys give different draws.
  EXPECT_NE(env.draw(1, 1, 0, 1).u, env.draw(2, 1, 0, 1).u);
  EXPECT_NE(env.draw(1, 1, 0, 1).u, env.draw(1, 1, 0, 2).u);
  EXPECT_THROW(env.draw(1, 1, kNumArms, 1), std::out_of_range);
  EXPECT_THROW(env.purchase_probability(env.num_shoppers(), 1, 0), std::out_of_range);
  EXPECT_THROW(env.expected_margin(1, env.num_items(), 0), std::out_of_range);
  EXPECT_THROW(env.apply_offer(1, -1, 0), std::out_of_range);
}

// ---------------------------------------------------------------------------------------------

namespace {
void check_policy(const std::string& spec, const std::array<double, kNumArms>& expected) {
  Config cfg = small_config(3);
  cfg.num_shoppers = 3000;
  Environment env(cfg);
  const LoggingPolicy pol = LoggingPolicy::parse(spec);
  for (int a = 0; a < kNumArms; ++a) ASSERT_DOUBLE_EQ(pol.propensity(a), expected[a]) << spec;
  SimLog log = simulate(env, pol);
  fs::path dir = temp_dir("policy");
  write_csv(env, log, dir.string(), pol, 0.0);
  Csv d = read_csv(dir / "decisions.csv");
  ASSERT_GT(d.rows.size(), 2000u);
  std::array<double, kNumArms> count{};
  for (const auto& row : d.rows) {
    ASSERT_EQ(row.size(), 9u);
    const int arm = std::stoi(row[4]);
    ASSERT_GE(arm, 0);
    ASSERT_LT(arm, kNumArms);
    ASSERT_GT(expected[arm], 0.0) << spec << " logged arm " << arm;
    EXPECT_EQ(std::stod(row[6]), expected[arm]) << spec << ": propensity " << row[6];  // exact
    EXPECT_EQ(std::stod(row[5]), arm_discount(arm));
    EXPECT_EQ(row[8], pol.to_string());
    count[arm] += 1;
  }
  const double n = double(d.rows.size());
  for (int a = 0; a < kNumArms; ++a) {
    const double p = expected[a], sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(count[a], n * p, 5 * sd + 1e-9) << spec << " arm " << a;
  }
  fs::remove_all(dir);
}
}  // namespace

TEST(SimLogging, PropensitiesInDecisionsMatchTheLoggingPolicy) {
  const double u = 1.0 / 6;
  check_policy("uniform", {u, u, u, u, u, u});
  check_policy("fixed:10%", {0, 0, 1, 0, 0, 0});
  const double e = 0.3 / 6;  // EPS / number of arms, as the policy defines it
  check_policy("epsilon:0.3:free-shipping", {e, e, e, e, e, 0.7 + e});
}

TEST(SimLogging, PolicyParsing) {
  EXPECT_EQ(LoggingPolicy::parse("fixed:3").arm, 3);
  EXPECT_EQ(LoggingPolicy::parse("fixed:15%").arm, 3);
  EXPECT_EQ(LoggingPolicy::parse("fixed:fs").arm, 5);
  EXPECT_EQ(LoggingPolicy::parse("epsilon:0.1:0%").to_string(), "epsilon:0.1:0%");
  EXPECT_THROW(LoggingPolicy::parse("bogus"), SimError);
  EXPECT_THROW(LoggingPolicy::parse("fixed:7"), SimError);
  EXPECT_THROW(LoggingPolicy::parse("fixed:25%"), SimError);
  EXPECT_THROW(LoggingPolicy::parse("epsilon:1.5:0"), SimError);
  EXPECT_THROW(LoggingPolicy::parse("epsilon:0.1"), SimError);
  EXPECT_THROW(LoggingPolicy::parse("epsilon:x:0"), SimError);
  try {
    LoggingPolicy::parse("fixed:30%");
    FAIL();
  } catch (const SimError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown arm '30%'"), std::string::npos) << e.what();
  }
  // choose() inverts the CDF.
  const LoggingPolicy f = LoggingPolicy::parse("fixed:20%");
  for (double x : {0.0, 0.5, 0.999999}) EXPECT_EQ(f.choose(x), 4);
}

// ---------------------------------------------------------------------------------------------

TEST(SimCsv, HeadersAndRowFormat) {
  const World& w = world();
  fs::path dir = temp_dir("format");
  const WriteStats st = write_csv(w.env, w.log, dir.string(), LoggingPolicy{}, 0.0);
  Csv items = read_csv(dir / "items.csv"), events = read_csv(dir / "events.csv"),
      dec = read_csv(dir / "decisions.csv"), out = read_csv(dir / "outcomes.csv");
  EXPECT_EQ(items.header, "item_id,category,brand,price,cost,in_stock");
  EXPECT_EQ(events.header, "user_id,session_id,ts,type,item_id,price,quantity");
  EXPECT_EQ(dec.header, "decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version");
  EXPECT_EQ(out.header, "decision_id,ts,converted,revenue,margin");
  EXPECT_EQ(items.rows.size(), w.env.num_items());
  EXPECT_EQ(events.rows.size(), w.log.events.size());
  EXPECT_EQ(st.event_rows, w.log.events.size());
  EXPECT_EQ(dec.rows.size(), out.rows.size());
  EXPECT_TRUE(st.dirty.by_reason.empty());

  auto is_money = [](const std::string& s) {
    const size_t dot = s.find('.');
    return dot != std::string::npos && dot + 3 == s.size() && s.find_first_not_of("-0123456789.") == std::string::npos;
  };
  std::unordered_map<std::string, std::pair<double, double>> price_cost;
  for (const auto& r : items.rows) {
    ASSERT_EQ(r.size(), 6u);
    ASSERT_TRUE(is_money(r[3]) && is_money(r[4])) << r[3] << " " << r[4];
    ASSERT_TRUE(r[5] == "0" || r[5] == "1");
    price_cost[r[0]] = {std::stod(r[3]), std::stod(r[4])};
  }
  const int64_t start = w.env.config().start_ms, end = start + int64_t(w.env.config().num_days + 1) * 86400000;
  int64_t prev_ts = 0;
  const std::set<std::string> types{"view", "click", "cart", "remove", "purchase"};
  for (const auto& r : events.rows) {
    ASSERT_EQ(r.size(), 7u);
    const int64_t ts = std::stoll(r[2]);
    ASSERT_GE(ts, start);
    ASSERT_LT(ts, end);
    ASSERT_GE(ts, prev_ts) << "events.csv is sorted by ts";
    prev_ts = ts;
    ASSERT_TRUE(types.count(r[3])) << r[3];
    ASSERT_TRUE(price_cost.count(r[4])) << "unknown item " << r[4];
    ASSERT_TRUE(is_money(r[5])) << r[5];
    ASSERT_GE(std::stoi(r[6]), 1);
    ASSERT_LE(std::stoi(r[6]), 3);
  }
  std::unordered_map<std::string, std::vector<std::string>> decisions;
  for (const auto& r : dec.rows) {
    ASSERT_EQ(r.size(), 9u);
    ASSERT_EQ(r[0].size(), 32u);
    ASSERT_EQ(r[0].find_first_not_of("0123456789abcdef"), std::string::npos) << r[0];
    ASSERT_TRUE(decisions.emplace(r[0], r).second) << "duplicate decision id " << r[0];
    ASSERT_TRUE(price_cost.count(r[3]));
    EXPECT_EQ(r[7], "sim");
  }
  uint64_t converted = 0;
  for (const auto& r : out.rows) {
    ASSERT_EQ(r.size(), 5u);
    auto d = decisions.find(r[0]);
    ASSERT_NE(d, decisions.end()) << "outcome without decision " << r[0];
    ASSERT_GE(std::stoll(r[1]), std::stoll(d->second[1])) << "outcome before its decision";
    ASSERT_TRUE(r[2] == "0" || r[2] == "1");
    const double revenue = std::stod(r[3]), margin = std::stod(r[4]);
    if (r[2] == "0") {
      ASSERT_EQ(revenue, 0.0);
      ASSERT_EQ(margin, 0.0);
      continue;
    }
    ++converted;
    // revenue = q * round(price * (1 - d)); margin = revenue - q * cost - shipping (free shipping).
    const int arm = std::stoi(d->second[4]);
    auto [price, cost] = price_cost[d->second[3]];
    const double unit = std::round(price * (1 - arm_discount(arm)) * 100) / 100;
    const double q = std::round(revenue / unit);
    ASSERT_GE(q, 1);
    ASSERT_LE(q, 3);
    ASSERT_NEAR(revenue, q * unit, 0.006);
    ASSERT_NEAR(margin, revenue - q * cost - kArms[arm].merchant_cost, 0.011);
  }
  EXPECT_GT(converted, 100u);
  fs::remove_all(dir);
}

TEST(SimCsv, DirtyRowsAreInjectedAndCounted) {
  const World& w = world();
  fs::path dir = temp_dir("dirty");
  const double rate = 0.02;
  const WriteStats st = write_csv(w.env, w.log, dir.string(), LoggingPolicy{}, rate);
  for (const char* reason : {"duplicate_row", "missing_field", "unparsable_number", "nonpositive_price",
                             "absurd_quantity", "out_of_order_ts"})
    EXPECT_GT(st.dirty.by_reason.count(reason) ? st.dirty.by_reason.at(reason) : 0, 0u) << reason;
  const double expected = rate * double(w.log.events.size() + w.env.num_items() + 2 * w.log.decisions.size());
  EXPECT_NEAR(double(st.dirty.total()), expected, 6 * std::sqrt(expected));
  // Observable in the files: adjacent duplicate lines, empty fields, non-numbers, bad prices.
  Csv events = read_csv(dir / "events.csv");
  uint64_t dups = 0, empty = 0, unparsable = 0, nonpos = 0, absurd = 0, backwards = 0;
  std::unordered_map<std::string, int64_t> last_ts;
  for (size_t k = 0; k < events.rows.size(); ++k) {
    const auto& r = events.rows[k];
    ASSERT_EQ(r.size(), 7u) << "line " << k + 2;
    if (k > 0 && events.lines[k] == events.lines[k - 1]) ++dups;
    for (const auto& f : r) empty += f.empty();
    char* e = nullptr;
    bool ts_ok = false;
    int64_t ts = 0;
    if (!r[2].empty()) {
      ts = std::strtoll(r[2].c_str(), &e, 10);
      ts_ok = *e == '\0';
      unparsable += !ts_ok;
    }
    if (!r[5].empty()) {
      const double p = std::strtod(r[5].c_str(), &e);
      if (*e != '\0') ++unparsable;
      else if (p <= 0) ++nonpos;
    }
    absurd += std::stoll(r[6]) >= 10000;
    if (ts_ok) {
      auto it = last_ts.find(r[0]);
      if (it != last_ts.end() && ts < it->second) ++backwards;
      last_ts[r[0]] = ts;
    }
  }
  EXPECT_EQ(events.rows.size(), w.log.events.size() + dups);
  EXPECT_GT(dups, 0u);
  EXPECT_GT(empty, 0u);
  EXPECT_GT(unparsable, 0u);
  EXPECT_GT(nonpos, 0u);
  EXPECT_GT(absurd, 0u);
  EXPECT_GT(backwards, 0u);
  EXPECT_EQ(backwards, st.dirty.by_reason.at("out_of_order_ts"));
  EXPECT_EQ(dups, st.dirty.by_reason.at("duplicate_row") - [&] {
    // duplicates in the other files
    uint64_t d = 0;
    for (const char* f : {"items.csv", "decisions.csv", "outcomes.csv"}) {
      Csv c = read_csv(dir / f);
      for (size_t k = 1; k < c.lines.size(); ++k) d += c.lines[k] == c.lines[k - 1];
    }
    return d;
  }());
  EXPECT_EQ(absurd, st.dirty.by_reason.at("absurd_quantity"));
  fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------

#ifdef DISCO_SIM_EXE
TEST(SimCli, BadArgumentsExitWithStatus2) {
  const std::string exe = DISCO_SIM_EXE;
  const std::string out = temp_dir("cli-bad").string();
  EXPECT_EQ(run(exe + " --seed 1"), 2) << "missing --out";
  EXPECT_EQ(run(exe + " --out " + out + " --bogus"), 2);
  EXPECT_EQ(run(exe + " --out " + out + " --seed -3"), 2);
  EXPECT_EQ(run(exe + " --out " + out + " --shoppers 0"), 2);
  EXPECT_EQ(run(exe + " --out " + out + " --items 12x"), 2);
  EXPECT_EQ(run(exe + " --out " + out + " --dirty-rate 1.5"), 2);
  EXPECT_EQ(run(exe + " --out " + out + " --logging-policy fixed:50%"), 2);
  EXPECT_EQ(run(exe + " --out " + out + " --days"), 2);
  EXPECT_EQ(run(exe + " --out " + out + " --world 3"), 2);
  EXPECT_EQ(run(exe + " --out " + out + " --world 0"), 2);
  EXPECT_EQ(run(exe + " --help"), 0);
  EXPECT_EQ(run(exe + " --shoppers 10 --items 10 --days 1 --out /dev/null/x"), 1) << "unwritable output";
  EXPECT_FALSE(fs::exists(out)) << "nothing is written on bad arguments";
}

TEST(SimCli, WritesTheFourFilesAndIsDeterministic) {
  const std::string exe = DISCO_SIM_EXE;
  const fs::path a = temp_dir("cli-a"), b = temp_dir("cli-b");
  const std::string args = " --seed 5 --shoppers 500 --items 300 --days 7 --logging-policy epsilon:0.5:5% --quiet";
  ASSERT_EQ(run(exe + args + " --out " + a.string()), 0);
  ASSERT_EQ(run(exe + args + " --out=" + b.string()), 0);
  for (const char* f : {"items.csv", "events.csv", "decisions.csv", "outcomes.csv"}) {
    ASSERT_TRUE(fs::exists(a / f)) << f;
    EXPECT_EQ(slurp(a / f), slurp(b / f)) << f;
  }
  EXPECT_EQ(read_csv(a / "items.csv").rows.size(), 300u + 0u + [&] {
    // dirty rate 0.002 by default: duplicated item rows add lines
    Csv c = read_csv(a / "items.csv");
    size_t d = 0;
    for (size_t k = 1; k < c.lines.size(); ++k) d += c.lines[k] == c.lines[k - 1];
    return d;
  }());
  fs::remove_all(a), fs::remove_all(b);
}
#else
// Registered without the CLI too, so its absence shows as a skip with the reason.
TEST(SimCli, NotBuilt) {
  GTEST_SKIP() << "disco-sim is not built in this configuration (DISCO_BUILD_TOOLS=ON builds it)";
}
#endif

// ---------------------------------------------------------------------------------------------

namespace {
// Counts observe() calls and checks they follow choose() for the same offer point.
class CountingPolicy final : public OfferPolicy {
 public:
  explicit CountingPolicy(int arm) : arm_(arm) {}
  Choice choose(const Environment&, const OfferPoint& p) override {
    EXPECT_GE(p.ts_ms, last_ts_) << "offer points come in time order";
    last_ts_ = p.ts_ms;
    last_key_ = p.key;
    ++chosen;
    return {arm_, 1.0};
  }
  void observe(const Environment&, const OfferPoint& p, const Choice& c, const Outcome& o) override {
    EXPECT_EQ(p.key, last_key_);
    EXPECT_EQ(c.arm, arm_);
    ++observed;
    purchases += o.purchased;
  }
  uint64_t chosen = 0, observed = 0, purchases = 0;

 private:
  int arm_;
  int64_t last_ts_ = INT64_MIN;
  uint64_t last_key_ = 0;
};

double expected_sum(const SimLog& log) {
  double m = 0;
  for (const SimDecision& d : log.decisions) m += d.expected_margin;
  return m;
}
double realized_sum(const SimLog& log) {
  double m = 0;
  for (const SimOutcome& o : log.outcomes) m += o.margin;
  return m;
}
}  // namespace

TEST(SimOnline, BrowsingIsPolicyIndependentAndDrawsAreShared) {
  Environment env(small_config());
  const Browsing b = generate_browsing(env);
  ASSERT_GT(b.offers.size(), 1000u);
  CountingPolicy none(0), twenty(4);
  const SimLog l0 = run_policy(env, b, none);
  const SimLog l4 = run_policy(env, b, twenty);
  EXPECT_EQ(none.chosen, b.offers.size());
  EXPECT_EQ(none.observed, none.chosen);
  ASSERT_EQ(l0.decisions.size(), b.offers.size());
  ASSERT_EQ(l4.decisions.size(), b.offers.size());
  // The same browsing events (everything but remove/purchase) under both policies.
  auto browse = [](const SimLog& l) {
    std::vector<std::tuple<int64_t, uint32_t, uint32_t, int>> v;
    for (const SimEvent& e : l.events)
      if (e.kind == kView || e.kind == kClick || e.kind == kCart) v.emplace_back(e.ts_ms, e.shopper, e.item, e.kind);
    return v;
  };
  EXPECT_EQ(browse(l0), browse(l4));
  EXPECT_EQ(browse(l0).size(), b.events.size());
  // Same offer points (ids, times) and, through common random numbers, coupled outcomes: a 20%
  // discount is unaffected by habituation, so a persuadable who bought at 0% also buys at 20%,
  // and a sleeping dog who bought at 20% also buys at 0%.
  std::unordered_map<uint64_t, bool> bought0, bought4;
  for (size_t k = 0; k < l0.outcomes.size(); ++k) {
    bought0[l0.outcomes[k].id_lo] = l0.outcomes[k].converted;
    bought4[l4.outcomes[k].id_lo] = l4.outcomes[k].converted;
  }
  uint64_t pers_more = 0, dog_less = 0;
  for (size_t k = 0; k < l0.decisions.size(); ++k) {
    const SimDecision &d0 = l0.decisions[k], &d4 = l4.decisions[k];
    ASSERT_EQ(d0.id_lo, d4.id_lo);
    ASSERT_EQ(d0.ts_ms, d4.ts_ms);
    const bool b0 = bought0.at(d0.id_lo), b4 = bought4.at(d0.id_lo);
    const Segment seg = env.segment(d0.shopper);
    if (seg == Segment::Persuadable) {
      ASSERT_TRUE(!b0 || b4);
      pers_more += b4 && !b0;
    }
    if (seg == Segment::SleepingDog) {
      ASSERT_TRUE(!b4 || b0);
      dog_less += b0 && !b4;
    }
  }
  EXPECT_GT(pers_more, 100u);
  EXPECT_GT(dog_less, 20u);
  EXPECT_EQ(twenty.purchases, uint64_t(std::count_if(l4.outcomes.begin(), l4.outcomes.end(),
                                                     [](const SimOutcome& o) { return o.converted; })));
}

TEST(SimOnline, OraclePolicyBeatsEveryFixedArmPolicy) {
  Environment env(small_config());
  const Browsing b = generate_browsing(env);
  OracleOfferPolicy oracle;
  const SimLog lo = run_policy(env, b, oracle);
  const double oracle_expected = expected_sum(lo), oracle_realized = realized_sum(lo);
  for (int a = 0; a < kNumArms; ++a) {
    LoggingOfferPolicy fixed(LoggingPolicy::parse("fixed:" + std::to_string(a)));
    const SimLog lf = run_policy(env, b, fixed);
    EXPECT_GT(oracle_expected, 1.1 * expected_sum(lf)) << "arm " << kArms[a].name;
    EXPECT_GT(oracle_realized, realized_sum(lf)) << "arm " << kArms[a].name;
  }
}

TEST(SimLogging, InversePropensityEstimatesFromTheLogAreUnbiased) {
  // From an epsilon-greedy log, IPS estimates of each arm's mean margin (at the logged states)
  // must agree with the ground truth's expected margins at those states.
  Config cfg = small_config(21);
  cfg.num_shoppers = 12000;
  Environment env(cfg);
  const LoggingPolicy pol = LoggingPolicy::parse("epsilon:0.6:0%");
  const SimLog log = simulate(env, pol);
  std::unordered_map<uint64_t, const SimOutcome*> out;
  for (const SimOutcome& o : log.outcomes) out[o.id_lo] = &o;
  const double n = double(log.decisions.size());
  ASSERT_GT(n, 8000);
  for (int a = 0; a < kNumArms; ++a) {
    double ips = 0, ips2 = 0, truth = 0;
    for (const SimDecision& d : log.decisions) {
      truth += d.fixed_expected_margin[a];
      const double w = d.arm == a ? out.at(d.id_lo)->margin / d.propensity : 0.0;
      ips += w, ips2 += w * w;
    }
    const double mean = ips / n, se = std::sqrt((ips2 / n - mean * mean) / n);
    EXPECT_NEAR(mean, truth / n, 4.5 * se) << "arm " << kArms[a].name;
  }
}

// disco-loop-ceiling: how much of the oracle's margin any policy can reach from what a deployment
// observes (loop/README.md, "How far can a policy get").
//
// The oracle of the loop knows each shopper's hidden segment and parameters. This tool measures the
// best a policy can do without them, with *full information* about the arms: at every offer point
// of a no-discount run it records observable features (computed from the shopper's own history as
// the runtime's context v3 does: price, margin rate, purchase recency, full-price purchases and
// abandoned carts of earlier visits, cart size, session activity, 10 / price, margin rate^2, log
// price x margin rate) and the true expected margin of every arm. Then, on a training population (shoppers the loop never serves, same store), it fits
//   linear:  per-arm least squares of expected margin / price on the features (the bandit's model);
//   cross:   the same with all pairwise products of the features (a richer model);
//   bins:    the per-arm mean expected margin in cells of the main features (nonparametric);
// and plays the arm with the highest fitted value on the loop's own shoppers' offers in the loop
// days. No habituation (every policy is scored in the no-discount state), so these are upper bounds
// for a myopic policy: a learner also pays for exploration and for habituation.
#include <Eigen/Dense>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <queue>
#include <string>
#include <tuple>
#include <vector>

#include "disco/formats/cli.h"
#include "disco/sim/environment.h"
#include "disco/sim/simulate.h"

using namespace disco::sim;

namespace {

constexpr int64_t kDayMs = 86400000LL;
constexpr int64_t kVisitGapMs = 30LL * 60 * 1000;

struct Rec {
  uint32_t shopper;
  int64_t ts;
  double price;
  std::vector<double> f;
  std::array<double, kNumArms> em;
};

struct ShopperState {
  int64_t last_ms = INT64_MIN, last_purchase = INT64_MIN;
  uint32_t visit_carts = 0, visit_buys = 0, visit_events = 0;
  uint32_t fp_carts = 0, fp_buys = 0, visits = 0;
};

// Records features and per-arm expected margins at every offer point; always plays arm 0.
class Recorder final : public OfferPolicy {
 public:
  Recorder(const Browsing& b, uint32_t shoppers) : b_(b), st_(shoppers) {}
  std::vector<Rec> recs;

  Choice choose(const Environment& env, const OfferPoint& p) override {
    while (next_ < b_.events.size() && b_.events[next_].ts_ms <= p.ts_ms) event(b_.events[next_++]);
    while (!buys_.empty() && std::get<0>(buys_.top()) <= p.ts_ms) {
      const auto [t, s] = buys_.top();
      buys_.pop();
      ShopperState& x = st_[s];
      touch(x, t);
      x.visit_buys++;
      x.last_purchase = t;
    }
    ShopperState& x = st_[p.shopper];
    const Item& it = env.item(p.item);
    Rec r;
    r.shopper = p.shopper;
    r.ts = p.ts_ms;
    r.price = it.price;
    r.em = env.expected_margins(p.shopper, p.item, p.ts_ms);
    const double days = x.last_purchase == INT64_MIN ? -1.0 : double(p.ts_ms - x.last_purchase) / kDayMs;
    const uint32_t fp_ab = x.fp_carts > x.fp_buys ? x.fp_carts - x.fp_buys : 0;
    r.f = {1.0,
           std::log1p(it.price) / 7,
           (it.price - it.cost) / it.price,
           days < 0 ? 0.0 : 1.0 / (1.0 + days / 7),
           std::log1p(x.fp_buys) / 2,
           std::log1p(fp_ab) / 2,
           std::min(x.visit_carts, 10u) / 10.0,
           std::log1p(x.visit_events) / 4,
           std::log1p(x.visits) / 3,
           std::log(it.price / env.category_median_price(it.category)),
           // the runtime's v3 item-shape terms: 10 / price, margin rate^2, log price x margin rate
           std::min(2.0, 10.0 / it.price),
           std::pow((it.price - it.cost) / it.price, 2),
           std::log1p(it.price) / 7 * (it.price - it.cost) / it.price};
    recs.push_back(std::move(r));
    return {0, 1.0};
  }
  void observe(const Environment&, const OfferPoint& p, const Choice&, const Outcome& o) override {
    if (o.purchased) buys_.push({p.checkout_ts_ms, p.shopper});
  }

 private:
  void touch(ShopperState& x, int64_t t) {
    if (x.last_ms != INT64_MIN && t - x.last_ms > kVisitGapMs) {
      x.fp_carts += x.visit_carts;
      x.fp_buys += x.visit_buys;
      x.visit_carts = x.visit_buys = x.visit_events = 0;
      x.visits++;
    }
    if (x.last_ms == INT64_MIN || t > x.last_ms) x.last_ms = t;
  }
  void event(const SimEvent& e) {
    ShopperState& x = st_[e.shopper];
    touch(x, e.ts_ms);
    x.visit_events++;
    if (e.kind == kCart) x.visit_carts++;
  }
  const Browsing& b_;
  size_t next_ = 0;
  std::vector<ShopperState> st_;
  std::priority_queue<std::tuple<int64_t, uint32_t>, std::vector<std::tuple<int64_t, uint32_t>>, std::greater<>> buys_;
};

struct Score {
  double chosen = 0, none = 0, oracle = 0;
  uint64_t n = 0, discounted = 0;
};

std::vector<double> expand(const std::vector<double>& f, bool cross) {
  std::vector<double> x = f;
  if (cross)
    for (size_t i = 1; i < f.size(); ++i)
      for (size_t j = i; j < f.size(); ++j) x.push_back(f[i] * f[j]);
  return x;
}

template <class Pick>
Score play(const std::vector<Rec>& recs, uint32_t eval_below, int64_t from, Pick pick) {
  Score s;
  for (const Rec& r : recs) {
    if (r.shopper >= eval_below || r.ts < from) continue;
    const int a = pick(r);
    s.chosen += r.em[size_t(a)];
    s.none += r.em[0];
    s.oracle += *std::max_element(r.em.begin(), r.em.end());
    s.n++;
    s.discounted += a != 0;
  }
  return s;
}

Score ridge(const std::vector<Rec>& recs, uint32_t eval_below, int64_t from, bool cross) {
  const size_t d = expand(recs.front().f, cross).size();
  std::vector<Eigen::MatrixXd> A(kNumArms, Eigen::MatrixXd::Identity(Eigen::Index(d), Eigen::Index(d)) * 1e-3);
  std::vector<Eigen::VectorXd> b(kNumArms, Eigen::VectorXd::Zero(Eigen::Index(d)));
  for (const Rec& r : recs) {
    if (r.shopper < eval_below) continue;
    const auto x = expand(r.f, cross);
    const Eigen::Map<const Eigen::VectorXd> v(x.data(), Eigen::Index(d));
    for (int a = 0; a < kNumArms; ++a) {
      A[size_t(a)] += v * v.transpose();
      b[size_t(a)] += v * (r.em[size_t(a)] / r.price);
    }
  }
  std::vector<Eigen::VectorXd> theta;
  for (int a = 0; a < kNumArms; ++a) theta.push_back(A[size_t(a)].ldlt().solve(b[size_t(a)]));
  return play(recs, eval_below, from, [&](const Rec& r) {
    const auto x = expand(r.f, cross);
    const Eigen::Map<const Eigen::VectorXd> v(x.data(), Eigen::Index(d));
    int best = 0;
    double bv = -1e300;
    for (int a = 0; a < kNumArms; ++a)
      if (const double q = theta[size_t(a)].dot(v); q > bv) bv = q, best = a;
    return best;
  });
}

Score bins(const std::vector<Rec>& recs, uint32_t eval_below, int64_t from) {
  auto cell = [](const Rec& r) {
    auto cut = [](double v, double a, double b) { return v < a ? 0 : v < b ? 1 : 2; };
    return ((((cut(r.f[4], 0.01, 0.4) * 3 + cut(r.f[5], 0.01, 0.4)) * 3 + cut(r.f[2], 0.3, 0.45)) * 3 +
             cut(r.f[1], 0.5, 0.65)) * 3 + cut(r.f[9], -0.3, 0.3)) * 3 + cut(r.f[3], 0.01, 0.5);
  };
  std::map<int, std::array<double, kNumArms>> sum;
  for (const Rec& r : recs) {
    if (r.shopper < eval_below) continue;
    auto& s = sum[cell(r)];
    for (int a = 0; a < kNumArms; ++a) s[size_t(a)] += r.em[size_t(a)] / r.price;
  }
  return play(recs, eval_below, from, [&](const Rec& r) {
    auto it = sum.find(cell(r));
    if (it == sum.end()) return 0;
    return int(std::max_element(it->second.begin(), it->second.end()) - it->second.begin());
  });
}

}  // namespace

int main(int argc, char** argv) {
  using disco::cli::Int;
  Config cfg;
  cfg.seed = 42;
  cfg.world_version = kDefaultWorldVersion;
  uint32_t shoppers = 6000, train = 60000, history = 7, days = 21;
  cfg.num_items = 3000;
  CLI::App app{"disco-loop-ceiling: the loop's world (same flags as disco-loop) plus train-shoppers other shoppers of "
               "the same store",
               "disco-loop-ceiling"};
  app.add_option("--seed", cfg.seed)->check(disco::cli::Uint64())->capture_default_str();
  app.add_option("--shoppers", shoppers)->check(Int(1, 100000000))->capture_default_str();
  app.add_option("--items", cfg.num_items)->check(Int(1, 100000000))->capture_default_str();
  app.add_option("--days", days)->check(Int(1, 3650))->capture_default_str();
  app.add_option("--history-days", history)->check(Int(0, 3650))->capture_default_str();
  app.add_option("--world", cfg.world_version)->check(Int(1, 2))->capture_default_str();
  app.add_option("--train-shoppers", train)->check(Int(0, 100000000))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  cfg.num_days = history + days;
  cfg.num_shoppers = shoppers + train;
  Environment env(cfg);
  const Browsing browsing = generate_browsing(env);
  Recorder rec(browsing, cfg.num_shoppers);
  run_policy(env, browsing, rec);
  const int64_t from = cfg.start_ms + int64_t(history) * kDayMs;

  std::printf("disco-loop-ceiling: seed %llu, %u loop shoppers (evaluated on the %u loop days), %u training shoppers, "
              "%zu offer points\n",
              (unsigned long long)cfg.seed, shoppers, cfg.num_days - history, train, rec.recs.size());
  std::printf("expected margin, no habituation (every policy scored in the no-discount state):\n");
  const Score none = play(rec.recs, shoppers, from, [](const Rec&) { return 0; });
  std::printf("  %-44s %9.0f  %5.1f%% of oracle\n", "oracle (knows each shopper's parameters)", none.oracle, 100.0);
  auto line = [&](const char* name, const Score& s) {
    std::printf("  %-44s %9.0f  %5.1f%% of oracle  (%+.1f%% vs no discount; discounts %.0f%%)\n", name, s.chosen,
                100 * s.chosen / s.oracle, 100 * (s.chosen / s.none - 1), 100.0 * s.discounted / double(std::max<uint64_t>(1, s.n)));
  };
  line("no discount", none);
  for (int a = 1; a < kNumArms; ++a) {
    const Score s = play(rec.recs, shoppers, from, [a](const Rec&) { return a; });
    line(("fixed " + std::string(kArms[size_t(a)].name)).c_str(), s);
  }
  line("full-information linear on observables", ridge(rec.recs, shoppers, from, false));
  line("full-information pairwise on observables", ridge(rec.recs, shoppers, from, true));
  line("full-information bins on observables", bins(rec.recs, shoppers, from));
  return 0;
}

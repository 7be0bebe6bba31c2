// The simulator experiment: a uniform randomized log of the seeded store, with, at every offer
// point, the features a store could compute from what it has seen (the shopper's browsing, the
// offers it made, the purchases reported so far, the item) and the true effect of every arm from
// the environment's ground truth at that moment.
#include <algorithm>
#include <cmath>
#include <queue>
#include <unordered_map>

#include "disco/eval/uplift.h"
#include "disco/sim/arms.h"
#include "disco/sim/environment.h"
#include "disco/sim/simulate.h"

namespace disco::eval::uplift {

std::vector<std::string> sim_feature_names() {
  return {"log_price",        "margin_rate",     "price_vs_category", "sessions_before", "views",
          "carts",            "purchases_before", "discounted_purchases_before", "discounts_received",
          "days_since_discount", "days_active",  "session_views",     "item_views",      "category_share"};
}

namespace {

constexpr double kDayMs = 86400000.0;

// Wraps the logging policy; records features and the truth at each decision.
class RecordingPolicy final : public sim::OfferPolicy {
 public:
  RecordingPolicy(const sim::Environment& env, const sim::Browsing& b, sim::LoggingPolicy p, bool segment)
      : log_(p), b_(b), segment_(segment), st_(env.num_shoppers()),
        cat_views_(size_t(env.num_shoppers()) * env.num_categories(), 0) {}

  Choice choose(const sim::Environment& env, const sim::OfferPoint& p) override {
    advance(env, p.ts_ms);
    const uint32_t s = p.shopper;
    const sim::Item& it = env.item(p.item);
    State& st = st_[s];
    const uint64_t iv_key = (uint64_t{s} << 32) | p.item;
    const auto ivit = item_views_.find(iv_key);
    const double cat = cat_views_[size_t(s) * env.num_categories() + it.category];
    const float f[14] = {static_cast<float>(std::log(it.price)),
                         static_cast<float>((it.price - it.cost) / it.price),
                         static_cast<float>(it.price / env.category_median_price(it.category)),
                         static_cast<float>(st.sessions > 0 ? st.sessions - 1 : 0),
                         static_cast<float>(st.views),
                         static_cast<float>(st.carts),
                         static_cast<float>(st.purchases),
                         static_cast<float>(st.discounted_purchases),
                         static_cast<float>(st.discounts),
                         static_cast<float>(st.last_discount_ms < 0 ? -1.0 : (p.ts_ms - st.last_discount_ms) / kDayMs),
                         static_cast<float>(st.first_ms < 0 ? 0.0 : (p.ts_ms - st.first_ms) / kDayMs),
                         static_cast<float>(st.session_views),
                         static_cast<float>(ivit == item_views_.end() ? 0 : ivit->second),
                         static_cast<float>(st.views > 0 ? cat / st.views : 0.0)};
    x_.insert(x_.end(), f, f + 14);
    if (segment_)
      for (int k = 0; k < sim::kNumSegments; ++k) x_.push_back(static_cast<int>(env.segment(s)) == k ? 1.f : 0.f);
    for (int a = 0; a < sim::kNumArms; ++a) {
      prob_.push_back(env.purchase_probability(s, p.item, a, p.ts_ms));
      margin_.push_back(env.expected_margin(s, p.item, a, p.ts_ms));
    }
    group_.push_back(s);
    const Choice c = log_.choose(env, p);
    if (sim::arm_is_discount(c.arm)) {
      ++st.discounts;
      st.last_discount_ms = p.ts_ms;
    }
    return c;
  }

  void observe(const sim::Environment&, const sim::OfferPoint& p, const Choice& c, const sim::Outcome& o) override {
    arm_.push_back(c.arm);
    conv_.push_back(o.purchased ? 1.0 : 0.0);
    realized_margin_.push_back(o.margin);
    if (o.purchased) pending_.push({p.checkout_ts_ms, p.shopper, sim::arm_is_discount(c.arm)});
  }

  std::string version() const override { return log_.version(); }

  // what sim_comparisons reads
  std::vector<float> x_;
  std::vector<double> prob_, margin_, conv_, realized_margin_;  // prob_/margin_: kNumArms per row
  std::vector<int> arm_;
  std::vector<uint32_t> group_;

 private:
  struct State {
    uint32_t sessions = 0, last_session = UINT32_MAX, views = 0, carts = 0, purchases = 0, discounted_purchases = 0,
             discounts = 0, session_views = 0;
    int64_t first_ms = -1, last_discount_ms = -1;
  };
  struct Purchase {
    int64_t ts;
    uint32_t shopper;
    bool discounted;
    bool operator>(const Purchase& o) const { return ts > o.ts; }
  };

  // Browsing events up to ts and purchases whose checkout happened by ts.
  void advance(const sim::Environment& env, int64_t ts) {
    while (next_ < b_.events.size() && b_.events[next_].ts_ms <= ts) {
      const sim::SimEvent& e = b_.events[next_++];
      State& st = st_[e.shopper];
      if (st.first_ms < 0) st.first_ms = e.ts_ms;
      if (e.session != st.last_session) {
        st.last_session = e.session;
        ++st.sessions;
        st.session_views = 0;
      }
      if (e.kind == sim::kView) {
        ++st.views;
        ++st.session_views;
        ++item_views_[(uint64_t{e.shopper} << 32) | e.item];
        ++cat_views_[size_t(e.shopper) * env.num_categories() + env.item(e.item).category];
      } else if (e.kind == sim::kCart) {
        ++st.carts;
      }
    }
    while (!pending_.empty() && pending_.top().ts <= ts) {
      const Purchase p = pending_.top();
      pending_.pop();
      ++st_[p.shopper].purchases;
      if (p.discounted) ++st_[p.shopper].discounted_purchases;
    }
  }

  sim::LoggingOfferPolicy log_;
  const sim::Browsing& b_;
  bool segment_;
  size_t next_ = 0;
  std::vector<State> st_;
  std::vector<uint32_t> cat_views_;
  std::unordered_map<uint64_t, uint32_t> item_views_;
  std::priority_queue<Purchase, std::vector<Purchase>, std::greater<Purchase>> pending_;
};

}  // namespace

std::vector<Comparison> sim_comparisons(const SimOptions& opt, const std::vector<std::string>& targets) {
  for (const auto& t : targets)
    if (t != "conversion" && t != "margin")
      throw UpliftError("sim: unknown target '" + t + "' (expected conversion or margin)");
  sim::Config cfg;
  cfg.seed = opt.seed;
  cfg.num_shoppers = opt.shoppers;
  cfg.num_days = opt.days;
  cfg.world_version = opt.world;
  sim::Environment env(cfg);
  const sim::Browsing browsing = sim::generate_browsing(env);
  RecordingPolicy pol(env, browsing, sim::LoggingPolicy::parse("uniform"), opt.hidden_segment);
  sim::run_policy(env, browsing, pol);
  std::vector<std::string> names = sim_feature_names();
  if (opt.hidden_segment)
    for (int k = 0; k < sim::kNumSegments; ++k)
      names.push_back(std::string("segment_") + sim::to_string(static_cast<sim::Segment>(k)));
  const size_t n = pol.arm_.size(), d = names.size();
  std::vector<Comparison> out;
  for (const auto& target : targets) {
    const bool conv = target == "conversion";
    for (int a = 1; a < sim::kNumArms; ++a) {
      Comparison c;
      c.dataset = opt.hidden_segment ? "sim+segment" : "sim";
      c.name = std::string(sim::kArms[a].name) + " vs " + sim::kArms[0].name;
      c.target = target;
      c.binary = conv;
      c.data.feature_names = names;
      for (size_t i = 0; i < n; ++i) {
        if (pol.arm_[i] != a && pol.arm_[i] != 0) continue;
        c.data.x.insert(c.data.x.end(), pol.x_.begin() + static_cast<std::ptrdiff_t>(i * d),
                        pol.x_.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
        c.data.arm.push_back(pol.arm_[i] == a ? 1 : 0);
        c.data.y.push_back(conv ? pol.conv_[i] : pol.realized_margin_[i]);
        c.data.group.push_back(pol.group_[i]);
        const double* tr = (conv ? pol.prob_ : pol.margin_).data() + i * sim::kNumArms;
        c.truth.push_back(tr[a] - tr[0]);
      }
      c.data.notes.push_back("uniform logging over " + std::to_string(sim::kNumArms) + " arms: " + std::to_string(n) +
                             " decisions (seed " + std::to_string(opt.seed) + ", " + std::to_string(opt.shoppers) +
                             " shoppers, " + std::to_string(opt.days) + " days); truth = the environment's " +
                             (conv ? "purchase probability" : "expected margin") +
                             " at decision time; split by shopper" +
                             (opt.hidden_segment ? "; DIAGNOSTIC: the hidden segment is a feature" : ""));
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace disco::eval::uplift

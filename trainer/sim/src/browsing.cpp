// The shoppers' visits (simulate.h, generate_browsing): sessions placed in time with a diurnal
// rhythm, view -> click -> cart steps and the next item's choice; every cart add is an offer point.
// Browsing never depends on outcomes, so every policy is run on the same offer points.
#include "disco/sim/simulate.h"

#include <algorithm>
#include <cmath>

namespace disco::sim {

namespace {
constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kDayMs = 24 * 60 * kMinuteMs;
// Sessions of one shopper are separated by more than this gap, so sessionizing the events by a
// 30-minute inactivity gap recovers the simulated sessions.
constexpr int64_t kSessionGapMs = 31 * kMinuteMs;
}  // namespace

namespace {

// Relative activity by hour of day (UTC), peaking in the evening; used by rejection sampling.
double diurnal_accept(int64_t ts_ms) {
  const double h = double((ts_ms % kDayMs + kDayMs) % kDayMs) / 3600000.0;
  return 0.3 + 0.7 * 0.5 * (1.0 + std::cos((h - 20.0) / 24.0 * 6.283185307179586));
}

}  // namespace

Browsing generate_browsing(const Environment& env, bool with_events) {
  const Config& cfg = env.config();
  const uint64_t seed = cfg.seed;
  const int64_t horizon_ms = cfg.start_ms + int64_t(cfg.num_days) * kDayMs;
  Browsing b;
  const double expected_events = double(cfg.num_shoppers) * cfg.mean_visits_per_day * cfg.num_days * 7.5;
  if (with_events) b.events.reserve(size_t(expected_events * 1.1) + 1024);
  b.offers.reserve(size_t(expected_events * 0.07) + 64);

  std::vector<int64_t> starts;
  std::vector<uint32_t> viewed, carted;
  uint32_t session_index = 0;

  for (uint32_t s = 0; s < env.num_shoppers(); ++s) {
    const Shopper& sh = env.shopper(s);
    Rng r(seed, kStreamSession, s);
    const auto taste = env.taste(s);
    const float max_taste = *std::max_element(taste.begin(), taste.end());
    const uint32_t n_sessions = r.poisson(double(sh.visits_per_day) * cfg.num_days);
    starts.clear();
    for (uint32_t k = 0; k < n_sessions; ++k) {
      int64_t t;
      do {
        t = cfg.start_ms + int64_t(r.uniform() * double(horizon_ms - cfg.start_ms));
      } while (r.uniform() > diurnal_accept(t));
      starts.push_back(t);
    }
    std::sort(starts.begin(), starts.end());
    int64_t prev_end = INT64_MIN / 2;
    for (uint32_t k = 0; k < n_sessions; ++k) {
      int64_t t = std::max(starts[k], prev_end + kSessionGapMs + int64_t(r.exponential(20 * kMinuteMs)));
      if (t >= horizon_ms) break;
      const uint32_t sess = session_index++;
      ++b.sessions;
      viewed.clear();
      carted.clear();
      const size_t first_offer = b.offers.size();
      uint32_t cat = env.sample_category(s, r.uniform());
      uint32_t cur = env.sample_item_in_category(cat, r.uniform(), r.uniform());
      uint32_t cart_no = 0;
      for (int step = 0; step < 60; ++step) {
        const Item& it = env.item(cur);
        if (with_events) b.events.push_back({t, it.price, s, sess, cur, kView, 1});
        viewed.push_back(cur);
        t += 2000 + int64_t(r.exponential(25000));
        const double p_click = sh.engagement * (0.45 + 0.55 * taste[it.category] / max_taste);
        if (r.bernoulli(p_click)) {
          if (with_events) b.events.push_back({t, it.price, s, sess, cur, kClick, 1});
          t += 3000 + int64_t(r.exponential(40000));
          const double rel_price = std::log(it.price / env.category_median_price(it.category));
          const double p_cart = std::clamp(
              (sh.segment == Segment::SureThing ? 0.34 : 0.28) * std::exp(-0.5 * sh.price_sensitivity * rel_price),
              0.02, 0.8);
          const bool already = std::find(carted.begin(), carted.end(), cur) != carted.end();
          if (it.in_stock && !already && r.bernoulli(p_cart)) {
            if (with_events) b.events.push_back({t, it.price, s, sess, cur, kCart, 1});
            carted.push_back(cur);
            OfferPoint op{};
            op.ts_ms = t;
            op.key = (uint64_t(k) << 16) | cart_no++;
            op.shopper = s;
            op.item = cur;
            op.session = sess;
            op.is_decision = r.bernoulli(cfg.offer_rate);
            b.offers.push_back(op);
            t += 2000 + int64_t(r.exponential(20000));
          }
        }
        if (!r.bernoulli(cfg.continue_prob)) break;
        // Next item: revisit, a similar item, the same category, or a new category from taste.
        const double x = r.uniform();
        if (x < cfg.revisit_prob && viewed.size() > 1) {
          cur = viewed[r.below(uint32_t(viewed.size()))];
        } else if (x < cfg.revisit_prob + cfg.neighbor_prob) {
          const auto items = env.category_items(cat);
          const uint32_t n = uint32_t(items.size());
          if (n > 1) {
            // Two candidates among the nearest styles; the more popular one is viewed.
            static constexpr int kOffsets[8] = {1, -1, 1, -1, 2, -2, 3, -3};
            auto neighbour = [&](int off) {
              return items[size_t((int64_t(env.item(cur).style_pos) + off % int64_t(n) + n) % n)];
            };
            const uint32_t c1 = neighbour(kOffsets[r.below(8)]), c2 = neighbour(kOffsets[r.below(8)]);
            cur = env.item(c1).popularity >= env.item(c2).popularity ? c1 : c2;
          }
        } else if (x < cfg.revisit_prob + cfg.neighbor_prob + cfg.same_category_prob) {
          cur = env.sample_item_in_category(cat, r.uniform(), r.uniform());
        } else {
          cat = env.sample_category(s, r.uniform());
          cur = env.sample_item_in_category(cat, r.uniform(), r.uniform());
        }
        cat = env.item(cur).category;
      }
      // Checkout (purchases of whatever the outcomes decide) a little after browsing ends.
      const int64_t browse_end = t;
      const int64_t checkout = t + 20000 + int64_t(r.exponential(60000));
      for (size_t o = first_offer; o < b.offers.size(); ++o) {
        b.offers[o].browse_end_ts_ms = browse_end;
        b.offers[o].checkout_ts_ms = checkout;
      }
      prev_end = checkout;
    }
  }
  auto by_ts = [](const auto& x, const auto& y) { return x.ts_ms < y.ts_ms; };
  std::stable_sort(b.events.begin(), b.events.end(), by_ts);
  std::stable_sort(b.offers.begin(), b.offers.end(), by_ts);
  return b;
}

}  // namespace disco::sim

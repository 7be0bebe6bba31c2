// The shopper simulator's world: a seeded catalog and shopper population with a known
// ground-truth discount response. The Environment is also the online environment that bandit
// loops and evaluations run against: it reports each arm's purchase probability and expected
// margin (the oracle) and draws outcomes with counter-based randomness.
//
// Ground truth (per shopper s, item i, arm a, time t; v = the value of the arm to the shopper as a
// fraction of the price: the percent for percent arms, shipping value / price (<= 0.5) for free
// shipping); the constants are WorldParams (world 2 by default, world 1 with Config::world_version):
//   logit = base_s - price_term(s, i) + response(segment_s, v) - habituation(s, t, v)
//   persuadable:  response = beta_s * v                (beta_s > 0: discounts raise the purchase odds)
//   sure thing:   response = 0                         (buys with high probability regardless)
//   lost cause:   probability is exactly 0             (never buys)
//   sleeping dog: response = -(gamma_s + dog_slope v) if v > 0 (a discount lowers the purchase odds)
//   habituation(s, t, v) = kappa_s * w_s(t) * max(0, 1 - v / full_value), where the "waiting for a
//     discount" level w_s rises with each discount received (apply_offer) and decays exponentially
//     (time constant Config::habituation_tau_days). World 1: w += 1 (unbounded); world 2:
//     w += eta (1 - w) (bounded by 1: the first discount raises it to 0.5, the next to 0.75, ...).
//   world 1: shares 40/20/25/15%, persuadable base N(-1.9, 0.5), gamma U(0.6, 1.2), dog_slope 4
//   world 2: shares 48/24/10/18%, persuadable base N(-1.5, 1.0), gamma U(0.2, 0.6), dog_slope 2,
//            eta 0.5 (trainer/sim/README.md, "Calibration": what the real data says)
//   both:    beta_s = 11 * price_sensitivity_s, kappa_s = 0.35 * lognormal(0, 0.5), full_value 0.15,
//            tau 10 days
// Out-of-stock items are never bought (probability 0). Shopper, item or arm indices out of range
// throw std::out_of_range.
// Margin of one offer = purchased * (quantity * (price * (1 - discount) - cost) - shipping cost
// if the arm is free shipping). Quantities are 1, 2 or 3 (mean kMeanQuantity), drawn independently.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "disco/sim/arms.h"
#include "disco/sim/cart.h"
#include "disco/sim/random.h"

namespace disco::sim {

// The ground truth's parameters, by world version (Config::world_version). World 1 is the original
// world; world 2 is calibrated against real randomized experiments (trainer/sim/README.md,
// "Calibration").
struct WorldParams {
  int version = 1;
  std::array<double, 4> shares{0.40, 0.20, 0.25, 0.15};  // persuadable, sure thing, lost cause, sleeping dog
  double tau_days = 10.0;        // habituation decay time constant
  double pers_base_mu = -1.9, pers_base_sd = 0.5;  // persuadable base logit ~ N(mu, sd)
  double beta_scale = 11.0;      // persuadable beta = beta_scale * price_sensitivity
  double dog_gamma_lo = 0.6, dog_gamma_hi = 1.2;   // sleeping dog gamma ~ U(lo, hi)
  double dog_slope = 4.0;        // sleeping dog response = -(gamma + dog_slope * v)
  double kappa = 0.35;           // habituation strength: kappa_s = kappa * lognormal(0, 0.5)
  // Waiting level update per discount received: 0 = +1 (unbounded, world 1); else
  // w += eta * (1 - w) (bounded by 1).
  double eta = 0.0;
  double full_value = 0.15;      // discounts worth at least this much are not affected by the waiting
  // Throws std::invalid_argument for an unknown version.
  static WorldParams of(int version);
  static WorldParams world2();
};

inline constexpr int kDefaultWorldVersion = 2;

struct Config {
  uint64_t seed = 42;
  uint32_t num_items = 10000;
  uint32_t num_shoppers = 20000;
  uint32_t num_days = 30;
  uint32_t num_categories = 40;
  uint32_t brands_per_category = 8;
  int64_t start_ms = 1767571200000LL;   // 2026-01-05T00:00:00Z
  double zipf_exponent = 1.0;            // item popularity ~ 1 / rank^s
  double out_of_stock_rate = 0.03;
  double mean_visits_per_day = 0.1;      // per shopper; log-normal across shoppers
  double taste_concentration = 3.0;      // Dirichlet total mass (small = focused shoppers)
  // The ground truth (WorldParams::of): 2 (default) = calibrated against real randomized experiments,
  // 1 = the original world (the figures of loop/README.md were measured on it; disco-sim --world 1).
  int world_version = kDefaultWorldVersion;
  // Segment shares (normalized): persuadable, sure thing, lost cause, sleeping dog. All zero (the
  // default): the world's own (WorldParams::shares); Environment::config() holds the ones used.
  std::array<double, 4> segment_shares{0, 0, 0, 0};
  double habituation_tau_days = 0;       // 0 (default): the world's own (WorldParams::tau_days)
  // Session behaviour.
  double continue_prob = 0.8;            // another view after each view (mean ~5 views/session)
  double revisit_prob = 0.08;            // next view returns to an item seen earlier this session
  double neighbor_prob = 0.40;           // next view is a similar item (same category, nearby style)
  double same_category_prob = 0.30;      // next view stays in the category (by popularity)
  double offer_rate = 1.0;               // fraction of cart adds that are offer points (decisions)
  // Lifetime of an item offer (ms; 0 = the default: never expires within the visit). An offer whose
  // lifetime ends before the session's checkout does not apply: the line is decided and paid as with
  // no discount (it was shown: habituation as for any offer). disco-sim --item-lifetime-s.
  int64_t item_offer_lifetime_ms = 0;
};

enum class Segment : uint8_t { Persuadable = 0, SureThing = 1, LostCause = 2, SleepingDog = 3 };
inline constexpr int kNumSegments = 4;
const char* to_string(Segment s);

struct Item {
  uint32_t category = 0;     // 0..num_categories-1
  uint32_t brand = 0;        // global brand index
  double price = 0;          // list price, currency units, 2 decimals
  double cost = 0;           // merchant's cost, 2 decimals, < price
  bool in_stock = true;
  float popularity = 0.f;    // Zipf weight (relative)
  uint32_t style_pos = 0;    // position in its category's style order (neighbours are nearby)
};

struct Shopper {
  Segment segment = Segment::Persuadable;
  float base_logit = 0.f;         // purchase log-odds at the offer point before price/discount
  float price_sensitivity = 1.f;  // > 0; scales the price term and the persuadable response
  float beta = 0.f;               // persuadable: log-odds per unit of discount fraction
  float gamma = 0.f;              // sleeping dog: log-odds lost when any discount is shown
  float shipping_value = 0.f;     // perceived value of free shipping, currency units
  float kappa = 0.f;              // habituation strength (log-odds per unit waiting level)
  float visits_per_day = 0.f;
  float engagement = 0.f;         // click probability scale
  // Mutable state (habituation): waiting level as of wait_ts_ms (world 2: in [0, 1]).
  double wait_level = 0.0;
  int64_t wait_ts_ms = 0;
  uint32_t offers_received = 0;   // discounts received (apply_offer with a discount arm)
};

struct Outcome {
  bool purchased = false;
  int quantity = 0;          // 0 when not purchased
  double unit_price = 0.0;   // price paid per unit (list price * (1 - discount))
  double revenue = 0.0;      // quantity * unit_price
  double margin = 0.0;       // revenue - quantity * cost - shipping cost paid by the merchant
  double discount_spend = 0; // quantity * (list - unit price) + shipping cost (free shipping)
  double probability = 0.0;  // the ground-truth purchase probability used
  double u = 0.0;            // the uniform draw (the same for every arm given (shopper, key))
};

// The outcome of a cart (cart.h): its lines and its coupon.
struct CartOutcome {
  std::vector<Outcome> lines;  // per line, as Environment::draw (item-level prices and margins)
  bool offered = false;   // a coupon (not none) was shown
  bool expired = false;   // it expired before checkout
  bool applied = false;   // it applied (not expired, min spend reached by what was bought)
  double bought_value = 0;  // list value of the bought lines (quantity x list price)
  double discount = 0;      // the coupon's cost to the merchant (0 when it does not apply)
  double margin = 0;        // the order's margin: sum of line margins - discount
  double revenue = 0;       // sum of line revenues - the coupon's amount off (not shipping)
};

// Mean of the quantity distribution P(1)=0.85, P(2)=0.11, P(3)=0.04.
inline constexpr double kMeanQuantity = 0.85 * 1 + 0.11 * 2 + 0.04 * 3;

class Environment {
 public:
  // Sentinel for `ts_ms`: evaluate the shopper's waiting level as of its last update (no decay).
  static constexpr int64_t kAsOfLastUpdate = INT64_MIN;

  explicit Environment(const Config& config);

  const Config& config() const { return config_; }
  const WorldParams& world() const { return world_; }
  uint64_t seed() const { return config_.seed; }
  uint32_t num_items() const { return uint32_t(items_.size()); }
  uint32_t num_shoppers() const { return uint32_t(shoppers_.size()); }
  uint32_t num_categories() const { return config_.num_categories; }
  uint32_t num_brands() const { return uint32_t(brand_names_.size()); }
  const std::vector<Item>& items() const { return items_; }
  const Item& item(uint32_t i) const { return items_[i]; }
  const std::vector<Shopper>& shoppers() const { return shoppers_; }
  const Shopper& shopper(uint32_t s) const { return shoppers_[s]; }
  Segment segment(uint32_t s) const { return shoppers_[s].segment; }
  const std::string& category_name(uint32_t c) const { return category_names_[c]; }
  const std::string& brand_name(uint32_t b) const { return brand_names_[b]; }
  double category_median_price(uint32_t c) const { return category_median_price_[c]; }
  // The shopper's category taste (sums to 1).
  std::span<const float> taste(uint32_t s) const {
    return {taste_.data() + size_t(s) * config_.num_categories, config_.num_categories};
  }
  // Items of a category in style order (similar items are adjacent).
  std::span<const uint32_t> category_items(uint32_t c) const;

  // External ids as written to CSV.
  static std::string item_id(uint32_t i);
  static std::string user_id(uint32_t s);

  // --- ground truth ---
  double wait_level(uint32_t s, int64_t ts_ms = kAsOfLastUpdate) const;
  // Value of the arm to the shopper as a fraction of the item's price.
  double perceived_value(uint32_t s, uint32_t i, int arm) const;
  double purchase_probability(uint32_t s, uint32_t i, int arm, int64_t ts_ms = kAsOfLastUpdate) const;
  // Expected margin of making the offer (the oracle's objective).
  double expected_margin(uint32_t s, uint32_t i, int arm, int64_t ts_ms = kAsOfLastUpdate) const;
  std::array<double, kNumArms> expected_margins(uint32_t s, uint32_t i,
                                                int64_t ts_ms = kAsOfLastUpdate) const;
  // The arm with the highest expected margin (lowest index on ties).
  int oracle_arm(uint32_t s, uint32_t i, int64_t ts_ms = kAsOfLastUpdate) const;
  // Draws the outcome of offering `arm`. The uniform draw depends only on (seed, s, key), so every
  // arm faces the same draw for the same key (common random numbers): a purchase under a lower
  // probability implies a purchase under a higher one. Does not change any state.
  Outcome draw(uint32_t s, uint32_t i, int arm, uint64_t key, int64_t ts_ms = kAsOfLastUpdate) const;
  // Draw's outcome for a given purchase probability (the uniform and quantity draws of (s, key)).
  Outcome draw_line(uint32_t s, uint32_t i, int arm, uint64_t key, double probability) const;
  // Records that the shopper received `arm` at ts_ms (habituation). A no-discount arm only decays.
  void apply_offer(uint32_t s, int arm, int64_t ts_ms);
  // Records a discount received at ts_ms that is not an item arm (a cart coupon shown; cart.h).
  void apply_discount(uint32_t s, int64_t ts_ms);

  // --- cart-level offers (cart.h: the ground truth) ---
  // Purchase probability of item i under item arm `arm` plus `extra_value` (a cart coupon's value
  // to the shopper as a fraction of the price) at waiting level `wait`. With extra_value 0 and
  // wait = wait_level(s, ts): purchase_probability(s, i, arm, ts), bit for bit.
  double line_probability(uint32_t s, uint32_t i, int arm, double extra_value, double wait) const;
  // The coupon's value to the shopper as a fraction of each line's price (cart.h), for a line whose
  // item arm is item_arm, in a cart of list value cart_value.
  double coupon_value(uint32_t s, const CartArm& coupon, int item_arm, double cart_value) const;
  // List value of the lines (one unit each, as carted): what min_spend is checked against.
  double cart_value(std::span<const CartLine> lines) const;
  // Eligible at decision_ts for a cart of this list value (window, min spend).
  static bool cart_arm_eligible(const CartArm& coupon, double cart_value, int64_t decision_ts) {
    return coupon.in_window(decision_ts) && cart_value >= coupon.min_spend && cart_value > 0;
  }
  // Draws the cart's outcome under `coupon` (nullptr = none) decided at decision_ts, the shopper
  // deciding at checkout_ts. Each line uses its own uniform draw (shopper, key), so with no coupon
  // (or an expired one) every line is exactly Environment::draw of its item arm. Changes no state.
  CartOutcome draw_cart(uint32_t s, std::span<const CartLine> lines, const CartArm* coupon, int64_t decision_ts,
                        int64_t checkout_ts) const;
  // Forgets all habituation (every shopper back to waiting level 0).
  void reset_state();

  // Popularity-weighted item of a category (u in [0,1)), via the category's alias table.
  uint32_t sample_item_in_category(uint32_t c, double u1, double u2) const;
  // A category from the shopper's taste (u in [0,1)).
  uint32_t sample_category(uint32_t s, double u) const;

 private:
  void build_catalog();
  void build_shoppers();
  void check(uint32_t s, uint32_t i, int arm) const;  // throws std::out_of_range

  Config config_;
  WorldParams world_;
  std::vector<Item> items_;
  std::vector<Shopper> shoppers_;
  std::vector<float> taste_;        // [shopper][category]
  std::vector<float> taste_cdf_;    // [shopper][category], cumulative
  std::vector<std::string> category_names_, brand_names_;
  std::vector<double> category_median_price_;
  std::vector<uint32_t> cat_offsets_, cat_items_;   // CSR: items of each category in style order
  std::vector<float> alias_prob_;                   // parallel to cat_items_
  std::vector<uint32_t> alias_other_;               // local index within the category
};

}  // namespace disco::sim

#include "disco/sim/environment.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace disco::sim {

namespace {

constexpr double kDayMs = 86400000.0;

double round_cents(double x) { return std::round(x * 100.0) / 100.0; }

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

const char* const kCategoryNames[] = {
    "electronics", "phones", "computers", "audio", "cameras", "home", "kitchen", "furniture",
    "garden", "tools", "toys", "baby", "beauty", "health", "grocery", "pet", "sports", "outdoor",
    "fashion-women", "fashion-men", "shoes", "jewelry", "watches", "books", "music", "movies",
    "games", "office", "automotive", "crafts", "bags", "lighting", "bedding", "bath", "cleaning",
    "party", "travel", "fitness", "stationery", "appliances"};
constexpr uint32_t kNumCategoryNames = sizeof(kCategoryNames) / sizeof(kCategoryNames[0]);

std::string number_id(char prefix, uint32_t v) {
  char buf[16];
  buf[0] = prefix;
  auto r = std::to_chars(buf + 1, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

// Vose's alias method over w (all >= 0, sum > 0). prob[k] is the probability of keeping k.
void build_alias(const std::vector<double>& w, float* prob, uint32_t* other) {
  const size_t n = w.size();
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t k = 0; k < n; ++k) {
    scaled[k] = w[k] * double(n) / sum;
    (scaled[k] < 1.0 ? small : large).push_back(uint32_t(k));
  }
  while (!small.empty() && !large.empty()) {
    uint32_t s = small.back(), l = large.back();
    small.pop_back();
    prob[s] = float(scaled[s]);
    other[s] = l;
    scaled[l] = scaled[l] + scaled[s] - 1.0;
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (uint32_t k : large) prob[k] = 1.f, other[k] = k;
  for (uint32_t k : small) prob[k] = 1.f, other[k] = k;
}

}  // namespace

WorldParams WorldParams::of(int version) {
  if (version == 1) return WorldParams{};  // the defaults are world 1
  if (version == 2) return WorldParams::world2();
  throw std::invalid_argument("sim: unknown world version " + std::to_string(version) + " (1 or 2)");
}

// World 2: world 1 changed where the real randomized experiments say it is off (trainer/sim/README.md,
// "Calibration"): the waiting level is bounded (each discount closes half the gap to 1 instead of
// adding 1), lost causes are 10% of shoppers instead of 25% (their place shared in proportion by the
// others), sleeping dogs lose 0.2-0.6 + 2 v log-odds instead of 0.6-1.2 + 4 v, and persuadables'
// base log-odds spread wider (N(-1.5, 1) instead of N(-1.9, 0.5)). Response per unit of discount
// (beta), habituation strength per unit of waiting (kappa) and its decay are world 1's.
WorldParams WorldParams::world2() {
  WorldParams w;
  w.version = 2;
  w.shares = {0.48, 0.24, 0.10, 0.18};
  w.pers_base_mu = -1.5;
  w.pers_base_sd = 1.0;
  w.dog_gamma_lo = 0.2;
  w.dog_gamma_hi = 0.6;
  w.dog_slope = 2.0;
  w.eta = 0.5;
  return w;
}

const char* to_string(Segment s) {
  switch (s) {
    case Segment::Persuadable: return "persuadable";
    case Segment::SureThing: return "sure-thing";
    case Segment::LostCause: return "lost-cause";
    case Segment::SleepingDog: return "sleeping-dog";
  }
  return "?";
}

int parse_arm(std::string_view s) {
  for (int a = 0; a < kNumArms; ++a)
    if (s == kArms[a].name) return a;
  if (s == "fs" || s == "free_shipping" || s == "freeshipping" || s == "shipping") return 5;
  if (!s.empty() && s[0] == '#') {
    int v = -1;
    auto r = std::from_chars(s.data() + 1, s.data() + s.size(), v);
    if (r.ec == std::errc() && r.ptr == s.data() + s.size() && v >= 0 && v < kNumArms) return v;
    return -1;
  }
  int v = -1;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return -1;
  if (v >= 0 && v < kNumArms) return v;  // an index (percent names 0/5/10/15/20 need the '%')
  return -1;
}

Environment::Environment(const Config& config) : config_(config), world_(WorldParams::of(config.world_version)) {
  if (config_.num_items == 0) throw std::invalid_argument("sim: num_items must be > 0");
  if (config_.num_shoppers == 0) throw std::invalid_argument("sim: num_shoppers must be > 0");
  if (config_.num_days == 0) throw std::invalid_argument("sim: num_days must be > 0");
  if (config_.num_categories == 0) throw std::invalid_argument("sim: num_categories must be > 0");
  if (config_.brands_per_category == 0) config_.brands_per_category = 1;
  config_.num_categories = std::min(config_.num_categories, config_.num_items);
  if (config_.segment_shares == std::array<double, 4>{0, 0, 0, 0}) config_.segment_shares = world_.shares;
  if (config_.habituation_tau_days == 0) config_.habituation_tau_days = world_.tau_days;
  if (!(config_.habituation_tau_days > 0)) throw std::invalid_argument("sim: habituation_tau_days must be > 0");
  double share_sum = 0;
  for (double v : config_.segment_shares) {
    if (!(v >= 0)) throw std::invalid_argument("sim: segment shares must be >= 0");
    share_sum += v;
  }
  if (!(share_sum > 0)) throw std::invalid_argument("sim: segment shares sum to 0");
  build_catalog();
  build_shoppers();
}

std::string Environment::item_id(uint32_t i) { return number_id('i', i); }
std::string Environment::user_id(uint32_t s) { return number_id('u', s); }

void Environment::build_catalog() {
  const uint32_t K = config_.num_categories, N = config_.num_items, B = config_.brands_per_category;
  Rng rng(config_.seed, kStreamCatalog, 0);

  category_names_.resize(K);
  for (uint32_t c = 0; c < K; ++c)
    category_names_[c] = c < kNumCategoryNames ? std::string(kCategoryNames[c])
                                               : "category-" + std::to_string(c);
  brand_names_.resize(size_t(K) * B);
  for (uint32_t b = 0; b < K * B; ++b) brand_names_[b] = number_id('b', b);

  // Category sizes follow a mild power law; prices are log-normal around a per-category median;
  // margin rates vary by category.
  std::vector<double> cat_weight(K), margin_rate(K);
  category_median_price_.resize(K);
  for (uint32_t c = 0; c < K; ++c) {
    cat_weight[c] = 1.0 / std::pow(double(c + 1), 0.7);
    category_median_price_[c] = round_cents(std::clamp(rng.lognormal(std::log(30.0), 0.8), 3.0, 600.0));
    margin_rate[c] = rng.uniform(0.12, 0.55);
  }
  std::vector<double> cat_cdf(K);
  {
    const double total = std::accumulate(cat_weight.begin(), cat_weight.end(), 0.0);
    double acc = 0;
    for (uint32_t c = 0; c < K; ++c) {
      acc += 0.5 * cat_weight[c] / total + 0.5 / K;
      cat_cdf[c] = acc;
    }
  }
  std::vector<double> brand_cdf(B);
  {
    double acc = 0, total = 0;
    for (uint32_t j = 0; j < B; ++j) total += 1.0 / (j + 1);
    for (uint32_t j = 0; j < B; ++j) brand_cdf[j] = (acc += 1.0 / (j + 1) / total);
  }

  items_.resize(N);
  for (uint32_t i = 0; i < N; ++i) {
    Item& it = items_[i];
    if (i < K) {
      it.category = i;  // every category has at least one item
    } else {
      double u = rng.uniform() * cat_cdf[K - 1];
      it.category = uint32_t(std::upper_bound(cat_cdf.begin(), cat_cdf.end(), u) - cat_cdf.begin());
      if (it.category >= K) it.category = K - 1;
    }
    double ub = rng.uniform();
    uint32_t j = uint32_t(std::upper_bound(brand_cdf.begin(), brand_cdf.end(), ub) - brand_cdf.begin());
    it.brand = it.category * B + std::min(j, B - 1);
    double p = category_median_price_[it.category] * rng.lognormal(0.0, 0.45);
    p = p < 1.0 ? 0.99 : std::floor(p) + 0.99;  // "x.99" prices
    it.price = p;
    double rate = std::clamp(margin_rate[it.category] * rng.lognormal(0.0, 0.25), 0.04, 0.9);
    it.cost = std::max(0.01, round_cents(p * (1.0 - rate)));
    it.in_stock = !rng.bernoulli(config_.out_of_stock_rate);
  }
  // Popularity: Zipf over a random permutation of the items.
  std::vector<uint32_t> perm(N);
  std::iota(perm.begin(), perm.end(), 0u);
  for (uint32_t k = N; k > 1; --k) std::swap(perm[k - 1], perm[rng.below(k)]);
  for (uint32_t r = 0; r < N; ++r)
    items_[perm[r]].popularity = float(1.0 / std::pow(double(r + 1), config_.zipf_exponent));

  // Items of each category in a random "style" order: neighbours in that order are similar items.
  cat_offsets_.assign(K + 1, 0);
  for (const Item& it : items_) ++cat_offsets_[it.category + 1];
  for (uint32_t c = 0; c < K; ++c) cat_offsets_[c + 1] += cat_offsets_[c];
  cat_items_.resize(N);
  {
    std::vector<uint32_t> fill(cat_offsets_.begin(), cat_offsets_.end() - 1);
    for (uint32_t i = 0; i < N; ++i) cat_items_[fill[items_[i].category]++] = i;
  }
  alias_prob_.resize(N);
  alias_other_.resize(N);
  for (uint32_t c = 0; c < K; ++c) {
    const uint32_t b = cat_offsets_[c], e = cat_offsets_[c + 1];
    for (uint32_t k = e - b; k > 1; --k) std::swap(cat_items_[b + k - 1], cat_items_[b + rng.below(k)]);
    std::vector<double> w(e - b);
    for (uint32_t k = b; k < e; ++k) {
      items_[cat_items_[k]].style_pos = k - b;
      w[k - b] = items_[cat_items_[k]].popularity;
    }
    build_alias(w, alias_prob_.data() + b, alias_other_.data() + b);
  }
}

void Environment::build_shoppers() {
  const uint32_t K = config_.num_categories, S = config_.num_shoppers;
  shoppers_.resize(S);
  taste_.resize(size_t(S) * K);
  taste_cdf_.resize(size_t(S) * K);
  // Category base popularity for tastes: a mild power law over categories.
  std::vector<double> base(K);
  double base_sum = 0;
  for (uint32_t c = 0; c < K; ++c) base_sum += base[c] = 1.0 / std::pow(double(c + 1), 0.6);
  for (double& b : base) b /= base_sum;
  const auto& sh = config_.segment_shares;
  const double share_sum = sh[0] + sh[1] + sh[2] + sh[3];
  const double visit_sigma = 1.0;
  const double visit_mu = std::log(config_.mean_visits_per_day) - 0.5 * visit_sigma * visit_sigma;

  std::vector<double> g(K);
  for (uint32_t s = 0; s < S; ++s) {
    Rng r(config_.seed, kStreamShopper, s);
    Shopper& p = shoppers_[s];
    double u = r.uniform() * share_sum, acc = 0;
    int seg = 3;
    for (int k = 0; k < 4; ++k) {
      acc += sh[k];
      if (u < acc) {
        seg = k;
        break;
      }
    }
    p.segment = Segment(seg);
    const bool pers = p.segment == Segment::Persuadable;
    // Persuadables are more price sensitive on average (observable through their behaviour).
    p.price_sensitivity = float(r.lognormal(0.0, 0.45) * (pers ? 1.35 : 0.85));
    switch (p.segment) {
      case Segment::Persuadable: p.base_logit = float(world_.pers_base_mu + world_.pers_base_sd * r.normal()); break;
      case Segment::SureThing: p.base_logit = float(1.1 + 0.5 * r.normal()); break;
      case Segment::LostCause: p.base_logit = -30.f; break;
      case Segment::SleepingDog: p.base_logit = float(-0.6 + 0.5 * r.normal()); break;
    }
    p.beta = pers ? float(world_.beta_scale * p.price_sensitivity) : 0.f;
    p.gamma = p.segment == Segment::SleepingDog
                  ? float(world_.dog_gamma_lo + (world_.dog_gamma_hi - world_.dog_gamma_lo) * r.uniform())
                  : 0.f;
    p.shipping_value = float(kShippingPerceivedValue * r.lognormal(-0.18, 0.6));
    p.kappa = float(world_.kappa * r.lognormal(0.0, 0.5));
    double seg_visit = p.segment == Segment::SureThing ? 1.5 : p.segment == Segment::LostCause ? 0.8 : 1.0;
    p.visits_per_day = float(std::exp(visit_mu + visit_sigma * r.normal()) * seg_visit);
    double seg_eng = p.segment == Segment::SureThing ? 1.2 : p.segment == Segment::LostCause ? 0.75 : 1.0;
    p.engagement = float(std::clamp(0.38 * r.lognormal(0.0, 0.3) * seg_eng, 0.05, 0.9));
    // Dirichlet taste around the category base popularity.
    double sum = 0;
    for (uint32_t c = 0; c < K; ++c) sum += g[c] = r.gamma(std::max(1e-3, config_.taste_concentration * base[c]));
    float* t = taste_.data() + size_t(s) * K;
    float* cdf = taste_cdf_.data() + size_t(s) * K;
    if (!(sum > 0)) {
      g = base;
      sum = 1.0;
    }
    double cacc = 0;
    for (uint32_t c = 0; c < K; ++c) {
      t[c] = float(g[c] / sum);
      cacc += g[c] / sum;
      cdf[c] = float(cacc);
    }
  }
}

std::span<const uint32_t> Environment::category_items(uint32_t c) const {
  return {cat_items_.data() + cat_offsets_[c], cat_offsets_[c + 1] - cat_offsets_[c]};
}

uint32_t Environment::sample_item_in_category(uint32_t c, double u1, double u2) const {
  const uint32_t b = cat_offsets_[c], n = cat_offsets_[c + 1] - b;
  uint32_t k = std::min(uint32_t(u1 * n), n - 1);
  if (u2 >= alias_prob_[b + k]) k = alias_other_[b + k];
  return cat_items_[b + k];
}

uint32_t Environment::sample_category(uint32_t s, double u) const {
  const uint32_t K = config_.num_categories;
  const float* cdf = taste_cdf_.data() + size_t(s) * K;
  const float x = float(u) * cdf[K - 1];
  for (uint32_t c = 0; c < K; ++c)
    if (x < cdf[c]) return c;
  return K - 1;
}

double Environment::wait_level(uint32_t s, int64_t ts_ms) const {
  const Shopper& p = shoppers_[s];
  if (ts_ms == kAsOfLastUpdate || ts_ms <= p.wait_ts_ms || p.wait_level == 0.0) return p.wait_level;
  const double tau_ms = config_.habituation_tau_days * kDayMs;
  return p.wait_level * std::exp(-double(ts_ms - p.wait_ts_ms) / tau_ms);
}

double Environment::perceived_value(uint32_t s, uint32_t i, int arm) const {
  const Arm& a = kArms[arm];
  if (a.kind == ArmKind::Percent) return a.value;
  if (a.kind == ArmKind::FreeShipping) return std::min(0.5, double(shoppers_[s].shipping_value) / items_[i].price);
  return std::min(1.0, double(a.value) / items_[i].price);
}

void Environment::check(uint32_t s, uint32_t i, int arm) const {
  if (s >= shoppers_.size())
    throw std::out_of_range("sim: shopper " + std::to_string(s) + " out of range (" + std::to_string(shoppers_.size()) + " shoppers)");
  if (i >= items_.size())
    throw std::out_of_range("sim: item " + std::to_string(i) + " out of range (" + std::to_string(items_.size()) + " items)");
  if (arm < 0 || arm >= kNumArms)
    throw std::out_of_range("sim: arm " + std::to_string(arm) + " out of range (0.." + std::to_string(kNumArms - 1) + ")");
}

double Environment::purchase_probability(uint32_t s, uint32_t i, int arm, int64_t ts_ms) const {
  check(s, i, arm);
  return line_probability(s, i, arm, 0.0, wait_level(s, ts_ms));
}

double Environment::line_probability(uint32_t s, uint32_t i, int arm, double extra_value, double w) const {
  check(s, i, arm);
  const Shopper& p = shoppers_[s];
  const Item& it = items_[i];
  if (p.segment == Segment::LostCause || !it.in_stock) return 0.0;
  double v = perceived_value(s, i, arm);
  if (extra_value != 0.0) v += extra_value;
  double logit = p.base_logit - 0.5 * p.price_sensitivity * std::log(it.price / category_median_price_[it.category]);
  if (p.segment == Segment::Persuadable) logit += p.beta * v;
  if (p.segment == Segment::SleepingDog && v > 0) logit -= p.gamma + world_.dog_slope * v;
  if (w > 0) logit -= p.kappa * w * std::max(0.0, 1.0 - v / world_.full_value);
  return sigmoid(logit);
}

namespace {
double unit_price(const Item& it, int arm) { return round_cents(it.price * (1.0 - arm_discount(arm))); }
}  // namespace

double Environment::expected_margin(uint32_t s, uint32_t i, int arm, int64_t ts_ms) const {
  const Item& it = items_[i];
  const double p = purchase_probability(s, i, arm, ts_ms);
  return p * (kMeanQuantity * (unit_price(it, arm) - it.cost) - kArms[arm].merchant_cost);
}

std::array<double, kNumArms> Environment::expected_margins(uint32_t s, uint32_t i, int64_t ts_ms) const {
  std::array<double, kNumArms> m{};
  for (int a = 0; a < kNumArms; ++a) m[a] = expected_margin(s, i, a, ts_ms);
  return m;
}

int Environment::oracle_arm(uint32_t s, uint32_t i, int64_t ts_ms) const {
  auto m = expected_margins(s, i, ts_ms);
  return int(std::max_element(m.begin(), m.end()) - m.begin());
}

Outcome Environment::draw(uint32_t s, uint32_t i, int arm, uint64_t key, int64_t ts_ms) const {
  return draw_line(s, i, arm, key, purchase_probability(s, i, arm, ts_ms));
}

Outcome Environment::draw_line(uint32_t s, uint32_t i, int arm, uint64_t key, double probability) const {
  Outcome o;
  const Item& it = items_[i];
  o.probability = probability;
  o.u = to_unit(hash_key(config_.seed, kStreamOutcome, s, key));
  o.purchased = o.u < o.probability;
  if (!o.purchased) return o;
  const double uq = to_unit(hash_key(config_.seed, kStreamQuantity, s, key));
  o.quantity = uq < 0.85 ? 1 : uq < 0.96 ? 2 : 3;
  o.unit_price = unit_price(it, arm);
  o.revenue = o.quantity * o.unit_price;
  o.margin = o.quantity * (o.unit_price - it.cost) - kArms[arm].merchant_cost;
  o.discount_spend = o.quantity * (it.price - o.unit_price) + kArms[arm].merchant_cost;
  return o;
}

void Environment::apply_offer(uint32_t s, int arm, int64_t ts_ms) {
  check(s, 0, arm);
  Shopper& p = shoppers_[s];
  double w = wait_level(s, ts_ms);
  if (arm_is_discount(arm)) {
    w += world_.eta > 0 ? world_.eta * (1.0 - w) : 1.0;
    ++p.offers_received;
  }
  p.wait_level = w;
  if (ts_ms != kAsOfLastUpdate) p.wait_ts_ms = std::max(p.wait_ts_ms, ts_ms);
}

void Environment::apply_discount(uint32_t s, int64_t ts_ms) {
  check(s, 0, 0);
  Shopper& p = shoppers_[s];
  double w = wait_level(s, ts_ms);
  w += world_.eta > 0 ? world_.eta * (1.0 - w) : 1.0;
  ++p.offers_received;
  p.wait_level = w;
  if (ts_ms != kAsOfLastUpdate) p.wait_ts_ms = std::max(p.wait_ts_ms, ts_ms);
}

double Environment::cart_value(std::span<const CartLine> lines) const {
  double v = 0;
  for (const CartLine& l : lines) v += items_.at(l.item).price;
  return v;
}

double Environment::coupon_value(uint32_t s, const CartArm& c, int item_arm, double cart_value) const {
  if (!(cart_value > 0)) return 0.0;
  switch (c.kind) {
    case ArmKind::Percent: return c.value * (1.0 - arm_discount(item_arm));
    case ArmKind::FixedAmount: return std::min(1.0, c.value / cart_value);
    case ArmKind::FreeShipping:
      return kArms[item_arm].kind == ArmKind::FreeShipping ? 0.0
                                                           : std::min(0.5, double(shoppers_[s].shipping_value) / cart_value);
  }
  return 0.0;
}

CartOutcome Environment::draw_cart(uint32_t s, std::span<const CartLine> lines, const CartArm* coupon,
                                   int64_t decision_ts, int64_t checkout_ts) const {
  CartOutcome r;
  r.offered = coupon != nullptr;
  r.expired = coupon && checkout_ts >= coupon->expires_at(decision_ts);
  const bool active = coupon && !r.expired;
  const double value = cart_value(lines);
  r.lines.reserve(lines.size());
  double paid = 0;
  for (const CartLine& l : lines) {
    const double extra = active ? coupon_value(s, *coupon, l.arm, value) : 0.0;
    Outcome o = draw_line(s, l.item, l.arm, l.key, line_probability(s, l.item, l.arm, extra, l.wait));
    if (o.purchased) {
      r.bought_value += o.quantity * items_[l.item].price;
      paid += o.revenue;
    }
    r.margin += o.margin;
    r.revenue += o.revenue;
    r.lines.push_back(o);
  }
  r.applied = active && r.bought_value > 0 && r.bought_value >= coupon->min_spend;
  if (r.applied) {
    double off = 0;
    switch (coupon->kind) {
      case ArmKind::Percent: off = round_cents(coupon->value * paid); break;
      case ArmKind::FixedAmount: off = std::min(coupon->value, paid); break;
      case ArmKind::FreeShipping: break;
    }
    r.discount = off + (coupon->kind == ArmKind::FreeShipping ? coupon->merchant_cost : 0.0);
    r.revenue -= off;
    r.margin -= r.discount;
  }
  return r;
}

void Environment::reset_state() {
  for (Shopper& p : shoppers_) {
    p.wait_level = 0.0;
    p.wait_ts_ms = 0;
    p.offers_received = 0;
  }
}

}  // namespace disco::sim

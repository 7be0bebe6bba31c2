#include "disco/sim/simulate.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace disco::sim {

namespace {
constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kDayMs = 24 * 60 * kMinuteMs;
// Sessions of one shopper are separated by more than this gap, so sessionizing the events by a
// 30-minute inactivity gap recovers the simulated sessions.
constexpr int64_t kSessionGapMs = 31 * kMinuteMs;
}  // namespace

// ---------------------------------------------------------------------------------------------
// Logging policy
// ---------------------------------------------------------------------------------------------

LoggingPolicy LoggingPolicy::parse(std::string_view spec) {
  auto bad_arm = [&](std::string_view a) {
    return SimError("logging policy '" + std::string(spec) + "': unknown arm '" + std::string(a) +
                    "' (arms: 0%, 5%, 10%, 15%, 20%, free-shipping, or an index 0-5)");
  };
  LoggingPolicy p;
  if (spec == "uniform") return p;
  if (spec.starts_with("fixed:")) {
    std::string_view a = spec.substr(6);
    p.kind = Kind::Fixed;
    p.arm = parse_arm(a);
    if (p.arm < 0) throw bad_arm(a);
    p.epsilon = 0.0;
    return p;
  }
  if (spec.starts_with("epsilon:")) {
    std::string_view rest = spec.substr(8);
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos)
      throw SimError("logging policy '" + std::string(spec) + "': expected epsilon:EPS:ARM");
    std::string eps_s(rest.substr(0, colon));
    std::string_view a = rest.substr(colon + 1);
    double eps = -1;
    auto r = std::from_chars(eps_s.data(), eps_s.data() + eps_s.size(), eps);
    if (r.ec != std::errc() || r.ptr != eps_s.data() + eps_s.size() || !(eps >= 0.0 && eps <= 1.0))
      throw SimError("logging policy '" + std::string(spec) + "': EPS must be a number in [0, 1], got '" +
                     eps_s + "'");
    p.kind = Kind::Epsilon;
    p.epsilon = eps;
    p.arm = parse_arm(a);
    if (p.arm < 0) throw bad_arm(a);
    return p;
  }
  throw SimError("unknown logging policy '" + std::string(spec) +
                 "' (expected uniform, fixed:ARM or epsilon:EPS:ARM)");
}

std::string LoggingPolicy::to_string() const {
  switch (kind) {
    case Kind::Uniform: return "uniform";
    case Kind::Fixed: return std::string("fixed:") + kArms[arm].name;
    case Kind::Epsilon: {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof(buf), epsilon);
      return "epsilon:" + std::string(buf, r.ptr) + ":" + kArms[arm].name;
    }
  }
  return "?";
}

double LoggingPolicy::propensity(int a) const {
  switch (kind) {
    case Kind::Uniform: return 1.0 / kNumArms;
    case Kind::Fixed: return a == arm ? 1.0 : 0.0;
    case Kind::Epsilon: return (a == arm ? 1.0 - epsilon : 0.0) + epsilon / kNumArms;
  }
  return 0.0;
}

int LoggingPolicy::choose(double u) const {
  double acc = 0;
  int last = 0;
  for (int a = 0; a < kNumArms; ++a) {
    const double p = propensity(a);
    if (p <= 0) continue;
    last = a;
    acc += p;
    if (u < acc) return a;
  }
  return last;
}

const char* event_kind_name(int k) {
  static const char* const names[] = {"view", "click", "cart", "remove", "purchase"};
  return k >= 0 && k < kNumEventKinds ? names[k] : "?";
}

uint64_t DirtyCounts::total() const {
  uint64_t t = 0;
  for (auto& [k, v] : by_reason) t += v;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

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

OfferPolicy::Choice LoggingOfferPolicy::choose(const Environment& env, const OfferPoint& p) {
  Choice c;
  c.arm = p_.choose(to_unit(hash_key(env.seed(), kStreamPolicy, p.shopper, p.key)));
  c.propensity = p_.propensity(c.arm);
  return c;
}

OfferPolicy::Choice OracleOfferPolicy::choose(const Environment& env, const OfferPoint& p) {
  return {env.oracle_arm(p.shopper, p.item, p.ts_ms), 1.0};
}

SimLog run_policy(Environment& env, const Browsing& browsing, OfferPolicy& policy) {
  const uint64_t seed = env.seed();
  env.reset_state();
  SimLog log;
  log.sessions = browsing.sessions;
  std::vector<SimEvent> checkout_events;
  std::vector<uint32_t> purchase_sessions;
  for (const OfferPoint& p : browsing.offers) {
    Outcome out;
    if (p.is_decision) {
      const auto m = env.expected_margins(p.shopper, p.item, p.ts_ms);
      const OfferPolicy::Choice c = policy.choose(env, p);
      if (c.arm < 0 || c.arm >= kNumArms)
        throw SimError("policy " + policy.version() + " chose arm " + std::to_string(c.arm) + " (valid: 0.." +
                       std::to_string(kNumArms - 1) + ")");
      out = env.draw(p.shopper, p.item, c.arm, p.key, p.ts_ms);
      env.apply_offer(p.shopper, c.arm, p.ts_ms);
      SimDecision d{};
      d.id_hi = hash_key(seed, kStreamDecisionId, p.shopper, p.key, 0);
      d.id_lo = hash_key(seed, kStreamDecisionId, p.shopper, p.key, 1);
      d.ts_ms = p.ts_ms;
      d.shopper = p.shopper;
      d.item = p.item;
      d.session = p.session;
      d.arm = uint8_t(c.arm);
      d.propensity = c.propensity;
      d.key = p.key;
      const int oracle = int(std::max_element(m.begin(), m.end()) - m.begin());
      d.expected_margin = m[c.arm];
      d.oracle_expected_margin = m[oracle];
      d.oracle_arm = uint8_t(oracle);
      for (int a = 0; a < kNumArms; ++a) d.fixed_expected_margin[a] = m[a];
      log.decisions.push_back(d);
      log.outcomes.push_back({d.id_hi, d.id_lo, p.checkout_ts_ms, out.purchased, out.revenue, out.margin,
                              out.discount_spend});
      policy.observe(env, p, c, out);
    } else {
      out = env.draw(p.shopper, p.item, kNoDiscountArm, p.key, p.ts_ms);
    }
    if (out.purchased) {
      checkout_events.push_back({p.checkout_ts_ms, out.unit_price, p.shopper, p.session, p.item, kPurchase,
                                 uint8_t(out.quantity)});
      purchase_sessions.push_back(p.session);
    } else {
      // Abandoned carts are sometimes removed between the end of browsing and checkout.
      const uint64_t h = hash_key(seed, kStreamRemove, p.shopper, p.key);
      if (to_unit(h) < 0.4) {
        const int64_t span = std::max<int64_t>(1, p.checkout_ts_ms - p.browse_end_ts_ms - 1);
        const int64_t ts = p.browse_end_ts_ms + 1 + int64_t(mix64(h) % uint64_t(span));
        checkout_events.push_back({ts, env.item(p.item).price, p.shopper, p.session, p.item, kRemove, 1});
      }
    }
  }
  std::sort(purchase_sessions.begin(), purchase_sessions.end());
  log.sessions_with_purchase =
      uint64_t(std::unique(purchase_sessions.begin(), purchase_sessions.end()) - purchase_sessions.begin());
  auto by_ts = [](const auto& x, const auto& y) { return x.ts_ms < y.ts_ms; };
  // Offer points are in ts order; checkout events of one session share or follow their carts.
  std::stable_sort(checkout_events.begin(), checkout_events.end(), by_ts);
  log.events.resize(browsing.events.size() + checkout_events.size());
  std::merge(browsing.events.begin(), browsing.events.end(), checkout_events.begin(), checkout_events.end(),
             log.events.begin(), by_ts);
  std::stable_sort(log.outcomes.begin(), log.outcomes.end(), by_ts);
  return log;
}

SimLog simulate(Environment& env, const LoggingPolicy& policy) {
  LoggingOfferPolicy p(policy);
  return run_policy(env, generate_browsing(env), p);
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

Summary summarize(const Environment& env, const SimLog& log) {
  Summary s;
  s.shoppers = env.num_shoppers();
  s.items = env.num_items();
  s.sessions = log.sessions;
  for (const SimEvent& e : log.events) ++s.events_by_kind[e.kind];
  s.events = log.events.size();
  s.decisions = log.decisions.size();
  s.outcomes = log.outcomes.size();
  for (const SimOutcome& o : log.outcomes) {
    s.conversions += o.converted;
    s.realized_margin += o.margin;
    s.revenue += o.revenue;
    s.discount_spend += o.discount_spend;
  }
  for (const SimDecision& d : log.decisions) {
    s.logging_expected_margin += d.expected_margin;
    s.oracle_expected_margin += d.oracle_expected_margin;
    for (int a = 0; a < kNumArms; ++a) s.fixed_expected_margin[a] += d.fixed_expected_margin[a];
  }
  s.session_conversion_rate = s.sessions ? double(log.sessions_with_purchase) / double(s.sessions) : 0.0;
  s.offer_conversion_rate = s.decisions ? double(s.conversions) / double(s.decisions) : 0.0;
  for (const Shopper& p : env.shoppers()) ++s.shoppers_by_segment[int(p.segment)];
  return s;
}

std::string summary_text(const Summary& s) {
  std::ostringstream o;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "shoppers %llu (persuadable %llu, sure-thing %llu, lost-cause %llu, sleeping-dog %llu)\n",
                (unsigned long long)s.shoppers, (unsigned long long)s.shoppers_by_segment[0],
                (unsigned long long)s.shoppers_by_segment[1], (unsigned long long)s.shoppers_by_segment[2],
                (unsigned long long)s.shoppers_by_segment[3]);
  o << buf;
  std::snprintf(buf, sizeof(buf), "items %llu, sessions %llu, events %llu\n", (unsigned long long)s.items,
                (unsigned long long)s.sessions, (unsigned long long)s.events);
  o << buf << "events by type:";
  for (int k = 0; k < kNumEventKinds; ++k) o << ' ' << event_kind_name(k) << ' ' << s.events_by_kind[k];
  o << '\n';
  std::snprintf(buf, sizeof(buf),
                "conversion: %.2f%% of sessions, %.2f%% of offers (%llu of %llu decisions; %llu outcomes)\n",
                100 * s.session_conversion_rate, 100 * s.offer_conversion_rate,
                (unsigned long long)s.conversions, (unsigned long long)s.decisions,
                (unsigned long long)s.outcomes);
  o << buf;
  std::snprintf(buf, sizeof(buf), "logging policy: revenue %.2f, discount spend %.2f, realized margin %.2f, expected margin %.2f\n",
                s.revenue, s.discount_spend, s.realized_margin, s.logging_expected_margin);
  o << buf;
  int best = 0;
  for (int a = 1; a < kNumArms; ++a)
    if (s.fixed_expected_margin[a] > s.fixed_expected_margin[best]) best = a;
  std::snprintf(buf, sizeof(buf), "expected margin at the same offer points: oracle %.2f, best fixed arm (%s) %.2f, no discount %.2f\n",
                s.oracle_expected_margin, kArms[best].name, s.fixed_expected_margin[best],
                s.fixed_expected_margin[kNoDiscountArm]);
  o << buf;
  return o.str();
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

std::string decision_id_hex(uint64_t hi, uint64_t lo) {
  static const char* hex = "0123456789abcdef";
  std::string s(32, '0');
  for (int k = 0; k < 16; ++k) {
    s[15 - k] = hex[(hi >> (4 * k)) & 15];
    s[31 - k] = hex[(lo >> (4 * k)) & 15];
  }
  return s;
}

namespace {

// Buffered file writer with fast number formatting.
class CsvFile {
 public:
  CsvFile(const std::string& path) : path_(path) {
    f_ = std::fopen(path.c_str(), "wb");
    if (!f_) throw SimError(path + ": cannot open for writing: " + std::strerror(errno));
    buf_.reserve(kChunk + 4096);
  }
  ~CsvFile() {
    if (f_) std::fclose(f_);
  }
  CsvFile(const CsvFile&) = delete;
  CsvFile& operator=(const CsvFile&) = delete;

  CsvFile& str(std::string_view s) {
    buf_.append(s);
    return *this;
  }
  CsvFile& ch(char c) {
    buf_.push_back(c);
    return *this;
  }
  template <class T>
  CsvFile& integer(T v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof(tmp), v);
    buf_.append(tmp, r.ptr);
    return *this;
  }
  CsvFile& fixed2(double v) {
    char tmp[48];
    if (std::fabs(v) < 0.005) v = 0.0;  // no "-0.00"
    auto r = std::to_chars(tmp, tmp + sizeof(tmp), v, std::chars_format::fixed, 2);
    buf_.append(tmp, r.ptr);
    return *this;
  }
  CsvFile& shortest(double v) {
    char tmp[48];
    auto r = std::to_chars(tmp, tmp + sizeof(tmp), v);
    buf_.append(tmp, r.ptr);
    return *this;
  }
  // Ends a row; the row (from row_start()) is kept for duplication.
  // A row is written between row_start() and end_row(); duplicate_last_row() repeats it.
  void row_start() {
    if (buf_.size() >= kChunk) flush();
    row_begin_ = buf_.size();
  }
  void end_row() {
    buf_.push_back('\n');
    ++rows_;
  }
  void duplicate_last_row() {
    const std::string row = buf_.substr(row_begin_);
    buf_.append(row);
    ++rows_;
  }
  uint64_t rows() const { return rows_; }
  uint64_t close() {
    flush();
    if (std::fclose(f_) != 0) {
      f_ = nullptr;
      throw SimError(path_ + ": write failed: " + std::strerror(errno));
    }
    f_ = nullptr;
    return bytes_;
  }

 private:
  void flush() {
    if (buf_.empty()) return;
    if (std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      throw SimError(path_ + ": write failed: " + std::strerror(errno));
    bytes_ += buf_.size();
    buf_.clear();
    row_begin_ = 0;
  }
  static constexpr size_t kChunk = 1 << 20;
  std::string path_;
  std::FILE* f_ = nullptr;
  std::string buf_;
  size_t row_begin_ = 0;
  uint64_t rows_ = 0, bytes_ = 0;
};

enum DirtyKind { kDuplicate, kMissing, kUnparsable, kNonPositivePrice, kAbsurdQuantity, kOutOfOrder, kNumDirty };
const char* const kDirtyNames[kNumDirty] = {"duplicate_row", "missing_field", "unparsable_number",
                                             "nonpositive_price", "absurd_quantity", "out_of_order_ts"};

// The corruption of row `row` of file `file` (or -1 for none), from counter-based randomness.
int dirty_kind(uint64_t seed, double rate, uint64_t file, uint64_t row, int kinds, uint64_t* extra) {
  if (rate <= 0) return -1;
  const uint64_t h = hash_key(seed, kStreamDirty, file, row);
  if (to_unit(h) >= rate) return -1;
  const uint64_t h2 = hash_key(seed, kStreamDirty, file, row, 1);
  *extra = hash_key(seed, kStreamDirty, file, row, 2);
  return int((h2 >> 32) % uint64_t(kinds));
}

}  // namespace

WriteStats write_csv(const Environment& env, const SimLog& log, const std::string& dir,
                     const LoggingPolicy& policy, double dirty_rate) {
  namespace fs = std::filesystem;
  if (!(dirty_rate >= 0.0 && dirty_rate < 1.0))
    throw SimError("dirty rate must be in [0, 1), got " + std::to_string(dirty_rate));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw SimError(dir + ": cannot create directory: " + ec.message());
  const uint64_t seed = env.seed();
  WriteStats st;
  auto count = [&](int kind) { ++st.dirty.by_reason[kDirtyNames[kind]]; };
  static const char* const kGarbage[] = {"#VALUE!", "n/a", "12..5", "1e", "--"};

  {  // items.csv: item_id,category,brand,price,cost,in_stock
    CsvFile f((fs::path(dir) / "items.csv").string());
    f.str("item_id,category,brand,price,cost,in_stock\n");
    for (uint32_t i = 0; i < env.num_items(); ++i) {
      const Item& it = env.item(i);
      uint64_t extra = 0;
      const int dk = dirty_kind(seed, dirty_rate, 1, i, 4, &extra);  // dup, missing, unparsable, price
      f.row_start();
      f.ch('i').integer(i).ch(',');
      if (dk == kMissing && extra % 2 == 0) {
        f.ch(',');  // missing category
      } else {
        f.str(env.category_name(it.category)).ch(',');
      }
      f.str(env.brand_name(it.brand)).ch(',');
      if (dk == kMissing && extra % 2 == 1) {
        // missing price
      } else if (dk == kUnparsable) {
        f.str(kGarbage[extra % 5]);
      } else if (dk == kNonPositivePrice) {
        if (extra % 2) f.ch('0'); else f.ch('-').fixed2(it.price);
      } else {
        f.fixed2(it.price);
      }
      f.ch(',').fixed2(it.cost).ch(',').ch(it.in_stock ? '1' : '0');
      f.end_row();
      if (dk == kDuplicate) f.duplicate_last_row();
      if (dk >= 0) count(dk);
    }
    st.item_rows = f.rows();
    st.bytes += f.close();
  }
  {  // events.csv: user_id,session_id,ts,type,item_id,price,quantity
    CsvFile f((fs::path(dir) / "events.csv").string());
    f.str("user_id,session_id,ts,type,item_id,price,quantity\n");
    uint64_t row = 0;
    // Last numeric ts written per user: an out-of-order row goes up to 10 minutes before it (a
    // user's first row cannot be out of order; it is duplicated instead).
    std::vector<int64_t> last_written(env.num_shoppers(), INT64_MIN);
    for (const SimEvent& e : log.events) {
      uint64_t extra = 0;
      int dk = dirty_kind(seed, dirty_rate, 2, row++, kNumDirty, &extra);
      if (dk == kOutOfOrder && last_written[e.shopper] == INT64_MIN) dk = kDuplicate;
      const int missing_field = int(extra % 3);  // 0 item_id, 1 price, 2 ts
      f.row_start();
      f.ch('u').integer(e.shopper).str(",s").integer(e.session).ch(',');
      if (dk == kMissing && missing_field == 2) {
      } else if (dk == kUnparsable && extra % 2 == 0) {
        f.integer(e.ts_ms / 1000).ch('x');
      } else if (dk == kOutOfOrder) {
        const int64_t ts = last_written[e.shopper] - 1 - int64_t((extra >> 8) % 600000);
        f.integer(ts);
        last_written[e.shopper] = ts;
      } else {
        f.integer(e.ts_ms);
        last_written[e.shopper] = e.ts_ms;
      }
      f.ch(',').str(event_kind_name(e.kind)).ch(',');
      if (!(dk == kMissing && missing_field == 0)) f.ch('i').integer(e.item);
      f.ch(',');
      if (dk == kMissing && missing_field == 1) {
      } else if (dk == kUnparsable && extra % 2 == 1) {
        f.str(kGarbage[(extra >> 4) % 5]);
      } else if (dk == kNonPositivePrice) {
        if (extra % 2) f.ch('0'); else f.ch('-').fixed2(e.price);
      } else {
        f.fixed2(e.price);
      }
      f.ch(',');
      if (dk == kAbsurdQuantity) {
        f.integer(10000 + int64_t((extra >> 8) % 990000));
      } else {
        f.integer(int(e.quantity));
      }
      f.end_row();
      if (dk == kDuplicate) f.duplicate_last_row();
      if (dk >= 0) count(dk);
    }
    st.event_rows = f.rows();
    st.bytes += f.close();
  }
  const std::string policy_version = policy.to_string();
  {  // decisions.csv: decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version
    CsvFile f((fs::path(dir) / "decisions.csv").string());
    f.str("decision_id,ts,user_id,item_id,arm,discount,propensity,model_version,policy_version\n");
    uint64_t row = 0;
    for (const SimDecision& d : log.decisions) {
      uint64_t extra = 0;
      const int dk = dirty_kind(seed, dirty_rate, 3, row++, 1, &extra);  // duplicates only
      f.row_start();
      f.str(decision_id_hex(d.id_hi, d.id_lo)).ch(',').integer(d.ts_ms).ch(',');
      f.ch('u').integer(d.shopper).str(",i").integer(d.item).ch(',').integer(int(d.arm)).ch(',');
      f.shortest(arm_discount(d.arm)).ch(',').shortest(d.propensity).str(",sim,").str(policy_version);
      f.end_row();
      if (dk == kDuplicate) {
        f.duplicate_last_row();
        count(dk);
      }
    }
    st.decision_rows = f.rows();
    st.bytes += f.close();
  }
  {  // outcomes.csv: decision_id,ts,converted,revenue,margin
    CsvFile f((fs::path(dir) / "outcomes.csv").string());
    f.str("decision_id,ts,converted,revenue,margin\n");
    uint64_t row = 0;
    for (const SimOutcome& o : log.outcomes) {
      uint64_t extra = 0;
      const int dk = dirty_kind(seed, dirty_rate, 4, row++, 1, &extra);
      f.row_start();
      f.str(decision_id_hex(o.id_hi, o.id_lo)).ch(',').integer(o.ts_ms).ch(',').ch(o.converted ? '1' : '0');
      f.ch(',').fixed2(o.revenue).ch(',').fixed2(o.margin);
      f.end_row();
      if (dk == kDuplicate) {
        f.duplicate_last_row();
        count(dk);
      }
    }
    st.outcome_rows = f.rows();
    st.bytes += f.close();
  }
  return st;
}

}  // namespace disco::sim

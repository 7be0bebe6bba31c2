#include "disco/sim/calibration.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <numeric>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "disco/data/csv.h"
#include "disco/data/ingest.h"
#include "disco/sim/arms.h"
#include "disco/sim/random.h"
#include "disco/sim/simulate.h"

namespace disco::sim::calib {

namespace {

constexpr double kHourMs = 3600000.0;
constexpr double kDayMs = 86400000.0;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

// Within-cell least squares of y on x (both demeaned in each cell): slope and, per cluster, the
// score sum for a cluster-robust standard error (one cluster per row gives HC0).
struct CellRow {
  uint32_t cell, cluster;
  double x, y;
};

Estimate within_slope(std::vector<CellRow> rows) {
  Estimate e;
  e.n = rows.size();
  if (rows.empty()) return e;
  uint32_t cells = 0;
  for (const CellRow& r : rows) cells = std::max(cells, r.cell + 1);
  std::vector<double> sx(cells), sy(cells), n(cells);
  for (const CellRow& r : rows) sx[r.cell] += r.x, sy[r.cell] += r.y, n[r.cell] += 1;
  double sxx = 0, sxy = 0;
  for (CellRow& r : rows) {
    r.x -= sx[r.cell] / n[r.cell];
    r.y -= sy[r.cell] / n[r.cell];
    sxx += r.x * r.x;
    sxy += r.x * r.y;
  }
  if (!(sxx > 0)) return e;
  e.value = sxy / sxx;
  std::map<uint32_t, double> score;
  for (const CellRow& r : rows) score[r.cluster] += r.x * (r.y - e.value * r.x);
  double v = 0;
  for (auto& [k, s] : score) v += s * s;
  e.se = std::sqrt(v) / sxx;
  return e;
}

// Within-cell least squares of y on K regressors (all demeaned in each cell), cluster-robust
// (sandwich) standard errors. Regressors that never vary within a cell get 0 +- 0.
struct CellRowK {
  uint32_t cell, cluster;
  std::vector<double> x;
  double y;
};

// Solves A z = b for symmetric positive semi-definite A (Gaussian elimination with partial
// pivoting); false when A is singular.
bool solve(std::vector<std::vector<double>> A, std::vector<double>& b) {
  const size_t n = b.size();
  for (size_t i = 0; i < n; ++i) {
    size_t p = i;
    for (size_t r = i + 1; r < n; ++r)
      if (std::fabs(A[r][i]) > std::fabs(A[p][i])) p = r;
    if (!(std::fabs(A[p][i]) > 1e-12)) return false;
    std::swap(A[i], A[p]);
    std::swap(b[i], b[p]);
    for (size_t r = 0; r < n; ++r) {
      if (r == i) continue;
      const double f = A[r][i] / A[i][i];
      if (f == 0) continue;
      for (size_t c = i; c < n; ++c) A[r][c] -= f * A[i][c];
      b[r] -= f * b[i];
    }
  }
  for (size_t i = 0; i < n; ++i) b[i] /= A[i][i];
  return true;
}

std::vector<Estimate> within_ols(std::vector<CellRowK> rows, size_t K) {
  std::vector<Estimate> e(K);
  for (auto& x : e) x.n = rows.size();
  if (rows.empty() || K == 0) return e;
  uint32_t cells = 0;
  for (const CellRowK& r : rows) cells = std::max(cells, r.cell + 1);
  std::vector<std::vector<double>> sx(cells, std::vector<double>(K, 0.0));
  std::vector<double> sy(cells), n(cells);
  for (const CellRowK& r : rows) {
    for (size_t k = 0; k < K; ++k) sx[r.cell][k] += r.x[k];
    sy[r.cell] += r.y;
    n[r.cell] += 1;
  }
  std::vector<std::vector<double>> A(K, std::vector<double>(K, 0.0));
  std::vector<double> b(K, 0.0);
  for (CellRowK& r : rows) {
    for (size_t k = 0; k < K; ++k) r.x[k] -= sx[r.cell][k] / n[r.cell];
    r.y -= sy[r.cell] / n[r.cell];
    for (size_t i = 0; i < K; ++i) {
      b[i] += r.x[i] * r.y;
      for (size_t j = 0; j < K; ++j) A[i][j] += r.x[i] * r.x[j];
    }
  }
  // Regressors without variation are left out (0 +- 0).
  std::vector<size_t> use;
  for (size_t k = 0; k < K; ++k)
    if (A[k][k] > 1e-9) use.push_back(k);
  const size_t U = use.size();
  std::vector<std::vector<double>> Au(U, std::vector<double>(U));
  std::vector<double> beta(U);
  for (size_t i = 0; i < U; ++i) {
    beta[i] = b[use[i]];
    for (size_t j = 0; j < U; ++j) Au[i][j] = A[use[i]][use[j]];
  }
  if (!solve(Au, beta)) return e;
  // Inverse of Au, column by column.
  std::vector<std::vector<double>> inv(U, std::vector<double>(U));
  for (size_t j = 0; j < U; ++j) {
    std::vector<double> col(U, 0.0);
    col[j] = 1.0;
    solve(Au, col);
    for (size_t i = 0; i < U; ++i) inv[i][j] = col[i];
  }
  std::map<uint32_t, std::vector<double>> score;
  for (const CellRowK& r : rows) {
    double res = r.y;
    for (size_t i = 0; i < U; ++i) res -= beta[i] * r.x[use[i]];
    auto& sc = score[r.cluster];
    if (sc.empty()) sc.assign(U, 0.0);
    for (size_t i = 0; i < U; ++i) sc[i] += r.x[use[i]] * res;
  }
  std::vector<std::vector<double>> M(U, std::vector<double>(U, 0.0));
  for (const auto& [c, sc] : score)
    for (size_t i = 0; i < U; ++i)
      for (size_t j = 0; j < U; ++j) M[i][j] += sc[i] * sc[j];
  for (size_t i = 0; i < U; ++i) {
    double v = 0;  // (inv M inv)_ii
    for (size_t k = 0; k < U; ++k)
      for (size_t l = 0; l < U; ++l) v += inv[i][k] * M[k][l] * inv[l][i];
    e[use[i]].value = beta[i];
    e[use[i]].se = std::sqrt(std::max(0.0, v));
  }
  return e;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Campaign statistics
// ---------------------------------------------------------------------------------------------

void sort_offers(Campaign& c) {
  std::stable_sort(c.offers.begin(), c.offers.end(), [](const CampaignOffer& a, const CampaignOffer& b) {
    if (a.customer != b.customer) return a.customer < b.customer;
    if (a.received_h != b.received_h) return a.received_h < b.received_h;
    return a.kind < b.kind;
  });
}

CampaignStats campaign_stats(const Campaign& c) {
  CampaignStats st;
  const size_t K = c.kinds.size();
  std::vector<uint64_t> kn(K);
  std::vector<double> kc(K);
  for (size_t j = 0; j < c.offers.size(); ++j) {
    const CampaignOffer& o = c.offers[j];
    if (o.kind >= K) throw std::invalid_argument("campaign: offer " + std::to_string(j) + " has kind " +
                                                 std::to_string(o.kind) + " of " + std::to_string(K));
    if (o.customer >= c.num_customers)
      throw std::invalid_argument("campaign: offer " + std::to_string(j) + " has customer " +
                                  std::to_string(o.customer) + " of " + std::to_string(c.num_customers));
    if (j > 0 && (c.offers[j - 1].customer > o.customer ||
                  (c.offers[j - 1].customer == o.customer && c.offers[j - 1].received_h > o.received_h)))
      throw std::invalid_argument("campaign: offers are not sorted by (customer, received_h) (call sort_offers)");
    ++kn[o.kind];
    kc[o.kind] += o.completed;
  }
  std::vector<double> rate(K);
  uint64_t rn = 0;
  double rc = 0, rdur = 0;
  for (size_t k = 0; k < K; ++k) {
    rate[k] = kn[k] ? kc[k] / double(kn[k]) : 0.0;
    st.by_kind.push_back({c.kinds[k].name, c.kinds[k].placebo, c.kinds[k].duration_h, kn[k], rate[k]});
    if (!c.kinds[k].placebo) {
      rn += kn[k];
      rc += kc[k];
      rdur += double(kn[k]) * c.kinds[k].duration_h;
    }
  }
  st.reward_offers = rn;
  st.reward_rate = rn ? rc / double(rn) : 0.0;
  st.mean_reward_duration_h = rn ? rdur / double(rn) : 0.0;

  std::map<int, CampaignStats::Kth> kth;
  std::map<std::pair<long long, int>, uint32_t> cell_of;
  std::vector<CellRow> slope_rows;
  std::vector<CellRowK> split_rows;
  std::array<CampaignStats::ByPrior, 4> byp{};
  for (int g = 0; g < 4; ++g) byp[size_t(g)].completions = g;
  double none_o = 0, none_e = 0, all_o = 0, all_e = 0;
  uint64_t spread_n = 0;
  struct Cust {
    uint32_t offers = 0, rewards = 0;
    uint32_t early_offers = 0, early_rewards = 0;
  };
  std::vector<Cust> cust(c.num_customers);

  for (size_t b = 0; b < c.offers.size();) {
    size_t e = b;
    while (e < c.offers.size() && c.offers[e].customer == c.offers[b].customer) ++e;
    const uint32_t cu = c.offers[b].customer;
    int prior_rewards = 0;
    int rewards = 0;
    bool none = true, all = true;
    double p_none = 1, p_all = 1;
    for (size_t j = b; j < e; ++j) {
      const CampaignOffer& o = c.offers[j];
      const bool placebo = c.kinds[o.kind].placebo;
      if (o.received_h < 0.5 * c.horizon_h) {
        ++cust[cu].early_offers;
        cust[cu].early_rewards += !placebo;
      }
      if (!placebo) {
        const double adj = double(o.completed) - rate[o.kind];
        const int k = int(j - b) + 1;
        auto& r = kth[k];
        r.k = k;
        ++r.n;
        r.rate += o.completed;
        r.adjusted += adj;
        const auto key = std::make_pair((long long)std::llround(o.received_h * 1000.0), int(j - b));
        auto [it, inserted] = cell_of.try_emplace(key, uint32_t(cell_of.size()));
        slope_rows.push_back({it->second, cu, double(prior_rewards), adj});
        int closed = 0, open = 0;
        for (size_t q = b; q < j; ++q) {
          const auto& kq = c.kinds[c.offers[q].kind];
          if (kq.placebo) continue;
          (c.offers[q].received_h + kq.duration_h <= o.received_h ? closed : open) += 1;
        }
        split_rows.push_back({it->second, cu, {double(closed), double(open)}, adj});
        if (j > b) {
          int known = 0;
          for (size_t q = b; q < j; ++q)
            known += c.offers[q].completed && c.offers[q].completed_h < o.received_h && !c.kinds[c.offers[q].kind].placebo;
          auto& g = byp[size_t(std::min(known, 3))];
          ++g.n;
          g.rate += o.completed;
          g.adjusted += adj;
        }
        ++rewards;
        none = none && !o.completed;
        all = all && o.completed;
        p_none *= 1.0 - rate[o.kind];
        p_all *= rate[o.kind];
        ++prior_rewards;
      }
    }
    if (rewards >= 3) {
      ++spread_n;
      none_o += none;
      all_o += all;
      none_e += p_none;
      all_e += p_all;
    }
    cust[cu].offers = uint32_t(e - b);
    cust[cu].rewards = uint32_t(rewards);
    b = e;
  }
  for (auto& [k, r] : kth) {
    r.rate /= double(r.n);
    r.adjusted /= double(r.n);
    st.kth.push_back(r);
  }
  st.prior_reward_slope = within_slope(std::move(slope_rows));
  {
    const auto e = within_ols(std::move(split_rows), 2);
    st.prior_closed_slope = e[0];
    st.prior_open_slope = e[1];
  }
  for (auto& g : byp) {
    if (g.n) g.rate /= double(g.n), g.adjusted /= double(g.n);
    st.by_prior_completions.push_back(g);
  }
  st.spread_customers = spread_n;
  if (spread_n) {
    st.none_observed = none_o / double(spread_n);
    st.none_expected = none_e / double(spread_n);
    st.all_observed = all_o / double(spread_n);
    st.all_expected = all_e / double(spread_n);
  }

  std::vector<size_t> reward_kinds;
  std::vector<int> reward_index(K, -1);
  for (size_t k = 0; k < K; ++k)
    if (!c.kinds[k].placebo) reward_index[k] = int(reward_kinds.size()), reward_kinds.push_back(k);
  if (!c.transactions.empty()) {
    if (c.transactions.size() != c.num_customers || c.spend.size() != c.num_customers)
      throw std::invalid_argument("campaign: transactions/spend must have one value per customer");
    st.has_totals = true;
    std::vector<CellRow> tx, sp;
    std::vector<CellRowK> halves, kinds;
    std::map<std::pair<uint32_t, uint32_t>, uint32_t> half_cell;
    uint64_t n = 0;
    for (uint32_t cu = 0; cu < c.num_customers; ++cu) {
      if (cust[cu].offers == 0) continue;
      ++n;
      st.mean_transactions += c.transactions[cu];
      st.mean_spend += c.spend[cu];
      tx.push_back({cust[cu].offers, cu, double(cust[cu].rewards), c.transactions[cu]});
      sp.push_back({cust[cu].offers, cu, double(cust[cu].rewards), c.spend[cu]});
      const Cust& q = cust[cu];
      auto [it, ins] = half_cell.try_emplace({q.early_offers, q.offers - q.early_offers}, uint32_t(half_cell.size()));
      halves.push_back({it->second, cu, {double(q.early_rewards), double(q.rewards - q.early_rewards)}, c.transactions[cu]});
      kinds.push_back({q.offers, cu, std::vector<double>(reward_kinds.size(), 0.0), c.transactions[cu]});
    }
    if (n) st.mean_transactions /= double(n), st.mean_spend /= double(n);
    st.tx_per_reward_offer = within_slope(std::move(tx));
    st.spend_per_reward_offer = within_slope(std::move(sp));
    {
      const auto e = within_ols(std::move(halves), 2);
      st.tx_early_reward = e[0];
      st.tx_late_reward = e[1];
    }
    // Per reward kind: the number of offers of each kind a customer received, in one regression.
    {
      std::vector<uint32_t> row_of(c.num_customers, UINT32_MAX);
      for (uint32_t k = 0; k < kinds.size(); ++k) row_of[kinds[k].cluster] = k;
      for (const CampaignOffer& o : c.offers) {
        const int rk = reward_index[o.kind];
        if (rk >= 0 && row_of[o.customer] != UINT32_MAX) kinds[row_of[o.customer]].x[size_t(rk)] += 1;
      }
      const auto e = within_ols(std::move(kinds), reward_kinds.size());
      for (size_t k = 0; k < reward_kinds.size(); ++k) {
        const double window = st.mean_transactions * c.kinds[reward_kinds[k]].duration_h / c.horizon_h;
        st.tx_by_kind.push_back({c.kinds[reward_kinds[k]].name, e[k], window > 0 ? e[k].value / window : 0.0,
                                 window > 0 ? e[k].se / window : 0.0});
      }
    }
    const double per_window = st.mean_transactions * st.mean_reward_duration_h / c.horizon_h;
    st.tx_lift_per_window = per_window > 0 ? st.tx_per_reward_offer.value / per_window : 0.0;
    st.tx_lift_per_window_se = per_window > 0 ? st.tx_per_reward_offer.se / per_window : 0.0;
  }
  return st;
}

// ---------------------------------------------------------------------------------------------
// The simulator's campaign
// ---------------------------------------------------------------------------------------------

std::vector<CampaignDesign::Offer> CampaignDesign::default_portfolio() {
  // Starbucks' portfolio has 2 informational offers (3 and 4 days) and 8 reward offers of 5, 7 and
  // 10 days; here the reward offers are the simulator's discount arms with the same durations, so
  // the same durations appear for more than one value and one value for more than one duration.
  return {{"placebo-3d", kNoDiscountArm, 72},  {"placebo-4d", kNoDiscountArm, 96},
          {"5%-7d", 1, 168},                   {"10%-5d", 2, 120},
          {"10%-7d", 2, 168},                  {"15%-7d", 3, 168},
          {"15%-10d", 3, 240},                 {"20%-5d", 4, 120},
          {"20%-10d", 4, 240},                 {"free-shipping-7d", 5, 168}};
}

Campaign simulate_campaign(Environment& env, const CampaignDesign& d) {
  const Config& cfg = env.config();
  if (d.portfolio.empty() || d.portfolio.size() > 65535)
    throw std::invalid_argument("campaign: the portfolio must hold 1..65535 offers");
  if (!(d.horizon_h > 0) || d.horizon_h > double(cfg.num_days) * 24.0)
    throw std::invalid_argument("campaign: horizon " + fmt("%g", d.horizon_h) + " h needs a world of at least " +
                                fmt("%g", std::ceil(d.horizon_h / 24.0)) + " days (has " +
                                std::to_string(cfg.num_days) + ")");
  if (!(d.receive_prob >= 0 && d.receive_prob <= 1))
    throw std::invalid_argument("campaign: receive_prob must be in [0, 1]");
  for (double w : d.waves_h)
    if (!(w >= 0 && w < d.horizon_h)) throw std::invalid_argument("campaign: wave at " + fmt("%g", w) + " h outside the horizon");
  if (!std::is_sorted(d.waves_h.begin(), d.waves_h.end()))
    throw std::invalid_argument("campaign: waves must be in increasing order");
  for (const auto& o : d.portfolio) {
    if (o.arm < 0 || o.arm >= kNumArms) throw std::invalid_argument("campaign: offer " + o.name + " has no valid arm");
    if (!(o.duration_h > 0)) throw std::invalid_argument("campaign: offer " + o.name + " needs a duration > 0");
  }
  Campaign c;
  c.source = "simulator";
  c.horizon_h = d.horizon_h;
  c.placebo_completion_defined = true;
  for (const auto& o : d.portfolio) c.kinds.push_back({o.name, o.arm == kNoDiscountArm, o.duration_h});

  const uint64_t seed = cfg.seed;
  const uint32_t S = env.num_shoppers();
  const uint32_t P = uint32_t(d.portfolio.size());
  const int64_t start = cfg.start_ms;
  // Offers of each shopper, contiguous and in wave order.
  std::vector<int32_t> cust_of(S, -1);
  std::vector<uint32_t> first(S + 1, 0);
  for (uint32_t s = 0; s < S; ++s) {
    first[s] = uint32_t(c.offers.size());
    for (size_t w = 0; w < d.waves_h.size(); ++w) {
      if (to_unit(hash_key(seed, kStreamCalibration, s, w, 0)) >= d.receive_prob) continue;
      const uint32_t kind = std::min(P - 1, uint32_t(to_unit(hash_key(seed, kStreamCalibration, s, w, 1)) * P));
      if (cust_of[s] < 0) cust_of[s] = int32_t(c.num_customers++);
      c.offers.push_back({uint32_t(cust_of[s]), d.waves_h[w], uint16_t(kind), false, -1});
    }
  }
  first[S] = uint32_t(c.offers.size());
  c.transactions.assign(c.num_customers, 0.0);
  c.spend.assign(c.num_customers, 0.0);

  const Browsing b = generate_browsing(env, /*with_events=*/false);
  env.reset_state();
  const int64_t end = start + int64_t(std::llround(d.horizon_h * kHourMs));
  auto window_ms = [&](uint32_t j) {
    const int64_t from = start + int64_t(std::llround(c.offers[j].received_h * kHourMs));
    return std::make_pair(from, from + int64_t(std::llround(c.kinds[c.offers[j].kind].duration_h * kHourMs)));
  };
  for (const OfferPoint& p : b.offers) {
    if (p.ts_ms >= end) break;
    const uint32_t s = p.shopper;
    if (cust_of[s] < 0) continue;
    int arm = kNoDiscountArm;
    double best = 0;
    for (uint32_t j = first[s]; j < first[s + 1]; ++j) {
      const auto [from, to] = window_ms(j);
      if (p.ts_ms < from || p.ts_ms >= to) continue;
      const int a = d.portfolio[c.offers[j].kind].arm;
      const double v = env.perceived_value(s, p.item, a);
      if (v > best) best = v, arm = a;
    }
    const Outcome o = env.draw(s, p.item, arm, p.key, p.ts_ms);
    env.apply_offer(s, arm, p.ts_ms);
    if (!o.purchased) continue;
    c.transactions[size_t(cust_of[s])] += 1;
    c.spend[size_t(cust_of[s])] += o.quantity * env.item(p.item).price;  // at list price (see calibration.h)
    for (uint32_t j = first[s]; j < first[s + 1]; ++j) {
      const auto [from, to] = window_ms(j);
      if (p.ts_ms < from || p.ts_ms >= to || c.offers[j].completed) continue;
      c.offers[j].completed = true;
      c.offers[j].completed_h = double(p.ts_ms - start) / kHourMs;
    }
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// One-shot promotion
// ---------------------------------------------------------------------------------------------

std::vector<uint8_t> quartile_groups(const std::vector<double>& values, std::vector<std::string>& labels,
                                     int decimals) {
  labels.clear();
  std::vector<uint8_t> g(values.size(), 0);
  if (values.empty()) return g;
  std::vector<double> v(values);
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  std::vector<double> cuts;
  for (size_t q = 1; q <= 3; ++q) {
    const double x = v[std::min(n - 1, q * n / 4)];
    if (cuts.empty() || x > cuts.back()) cuts.push_back(x);
  }
  auto group_of = [&](double x) {
    return uint8_t(std::lower_bound(cuts.begin(), cuts.end(), x) - cuts.begin());
  };
  const size_t G = cuts.size() + 1;
  std::vector<double> lo(G, INFINITY), hi(G, -INFINITY);
  std::vector<uint64_t> count(G, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    const uint8_t k = group_of(values[i]);
    g[i] = k;
    lo[k] = std::min(lo[k], values[i]);
    hi[k] = std::max(hi[k], values[i]);
    ++count[k];
  }
  std::vector<uint8_t> remap(G, 0);
  char buf[96];
  for (size_t k = 0; k < G; ++k) {
    if (!count[k]) continue;
    remap[k] = uint8_t(labels.size());
    if (lo[k] == hi[k]) std::snprintf(buf, sizeof(buf), "%.*f", decimals, lo[k]);
    else std::snprintf(buf, sizeof(buf), "%.*f-%.*f", decimals, lo[k], decimals, hi[k]);
    labels.push_back(buf);
  }
  for (auto& x : g) x = remap[x];
  return g;
}

double UpliftCell::conv_given_visit_ratio() const {
  return conv_given_visit_c > 0 ? conv_given_visit_t / conv_given_visit_c : 0.0;
}

UpliftStats uplift_stats(const UpliftData& d) {
  UpliftStats st;
  struct Acc {
    double n[2] = {0, 0}, visit[2] = {0, 0}, conv[2] = {0, 0}, conv_visit[2] = {0, 0}, spend[2] = {0, 0};
    void add(const UpliftData::Row& r) {
      const int t = r.treated;
      n[t] += 1;
      visit[t] += r.visit;
      conv[t] += r.converted;
      conv_visit[t] += r.converted && r.visit;
      spend[t] += r.spend;
    }
  };
  std::vector<std::vector<Acc>> acc(d.groupings.size());
  for (size_t g = 0; g < d.groupings.size(); ++g) acc[g].resize(d.labels.at(g).size());
  Acc all;
  for (size_t i = 0; i < d.rows.size(); ++i) {
    const auto& r = d.rows[i];
    if (r.group.size() != d.groupings.size())
      throw std::invalid_argument("uplift: row " + std::to_string(i) + " has " + std::to_string(r.group.size()) +
                                  " groups, expected " + std::to_string(d.groupings.size()));
    all.add(r);
    for (size_t g = 0; g < d.groupings.size(); ++g) {
      if (r.group[g] >= acc[g].size())
        throw std::invalid_argument("uplift: row " + std::to_string(i) + " names group " + std::to_string(r.group[g]) +
                                    " of grouping " + d.groupings[g] + " (has " + std::to_string(acc[g].size()) + ")");
      acc[g][r.group[g]].add(r);
    }
  }
  auto cell = [&](const std::string& grouping, const std::string& label, const Acc& a) {
    UpliftCell c;
    c.grouping = grouping;
    c.label = label;
    c.n_control = uint64_t(a.n[0]);
    c.n_treated = uint64_t(a.n[1]);
    auto div = [](double x, double y) { return y > 0 ? x / y : 0.0; };
    c.visit_c = div(a.visit[0], a.n[0]);
    c.visit_t = div(a.visit[1], a.n[1]);
    c.conv_c = div(a.conv[0], a.n[0]);
    c.conv_t = div(a.conv[1], a.n[1]);
    c.conv_given_visit_c = div(a.conv_visit[0], a.visit[0]);
    c.conv_given_visit_t = div(a.conv_visit[1], a.visit[1]);
    c.spend_c = div(a.spend[0], a.n[0]);
    c.spend_t = div(a.spend[1], a.n[1]);
    c.conv_diff_se = std::sqrt(div(c.conv_c * (1 - c.conv_c), a.n[0]) + div(c.conv_t * (1 - c.conv_t), a.n[1]));
    return c;
  };
  st.cells.push_back(cell("all", "all", all));
  for (size_t g = 0; g < d.groupings.size(); ++g)
    for (size_t l = 0; l < acc[g].size(); ++l) st.cells.push_back(cell(d.groupings[g], d.labels[g][l], acc[g][l]));
  // Across groups.
  double sw = 0, sx = 0, sy = 0;
  bool first = true;
  for (size_t k = 1; k < st.cells.size(); ++k) {
    const UpliftCell& c = st.cells[k];
    if (!c.n_control || !c.n_treated) continue;
    ++st.groups;
    st.negative_groups += c.conv_t < c.conv_c;
    if (c.conv_c > 0) {
      const double ratio = c.conv_ratio();
      st.min_ratio = first ? ratio : std::min(st.min_ratio, ratio);
      st.max_ratio = first ? ratio : std::max(st.max_ratio, ratio);
      first = false;
    }
    const double w = double(c.n_control + c.n_treated);
    sw += w;
    sx += w * c.conv_c;
    sy += w * c.conv_lift();
  }
  if (sw > 0) {
    const double mx = sx / sw, my = sy / sw;
    double cxx = 0, cyy = 0, cxy = 0;
    for (size_t k = 1; k < st.cells.size(); ++k) {
      const UpliftCell& c = st.cells[k];
      if (!c.n_control || !c.n_treated) continue;
      const double w = double(c.n_control + c.n_treated);
      cxx += w * (c.conv_c - mx) * (c.conv_c - mx);
      cyy += w * (c.conv_lift() - my) * (c.conv_lift() - my);
      cxy += w * (c.conv_c - mx) * (c.conv_lift() - my);
    }
    st.lift_base_correlation = cxx > 0 && cyy > 0 ? cxy / std::sqrt(cxx * cyy) : 0.0;
  }
  return st;
}

UpliftData simulate_uplift(Environment& env, const UpliftDesign& d) {
  return simulate_uplift(env, generate_browsing(env), d);
}

UpliftData simulate_uplift(Environment& env, const Browsing& b, const UpliftDesign& d) {
  const Config& cfg = env.config();
  if (!(d.pre_days > 0) || !(d.test_days > 0) || d.pre_days + d.test_days > double(cfg.num_days))
    throw std::invalid_argument("uplift: " + fmt("%g", d.pre_days) + " + " + fmt("%g", d.test_days) +
                                " days need a world of at least that many days (has " + std::to_string(cfg.num_days) + ")");
  if (d.arm < 0 || d.arm >= kNumArms) throw std::invalid_argument("uplift: arm out of range");
  if (!(d.treat_share > 0 && d.treat_share < 1)) throw std::invalid_argument("uplift: treat_share must be in (0, 1)");
  const uint64_t seed = cfg.seed;
  const uint32_t S = env.num_shoppers();
  const int64_t start = cfg.start_ms;
  const int64_t pre_end = start + int64_t(std::llround(d.pre_days * kDayMs));
  const int64_t end = pre_end + int64_t(std::llround(d.test_days * kDayMs));
  std::vector<uint8_t> treated(S), visit(S), conv(S);
  std::vector<uint32_t> pre_n(S);
  std::vector<int64_t> first_buy(S, INT64_MAX), last_buy(S, INT64_MIN);
  std::vector<double> pre_spend(S), spend(S);
  for (uint32_t s = 0; s < S; ++s)
    treated[s] = to_unit(hash_key(seed, kStreamCalibration, s, 0x75706c6966740aULL)) < d.treat_share;

  env.reset_state();
  for (const OfferPoint& p : b.offers) {
    if (p.ts_ms >= end) break;
    const uint32_t s = p.shopper;
    if (p.ts_ms < pre_end) {
      const Outcome o = env.draw(s, p.item, kNoDiscountArm, p.key, p.ts_ms);
      if (!o.purchased) continue;
      ++pre_n[s];
      pre_spend[s] += o.revenue;
      first_buy[s] = std::min(first_buy[s], p.ts_ms);
      last_buy[s] = std::max(last_buy[s], p.ts_ms);
    } else {
      const int arm = treated[s] ? d.arm : kNoDiscountArm;
      const Outcome o = env.draw(s, p.item, arm, p.key, p.ts_ms);
      env.apply_offer(s, arm, p.ts_ms);
      if (!o.purchased) continue;
      conv[s] = 1;
      spend[s] += o.quantity * env.item(p.item).price;  // at list price (see calibration.h)
    }
  }
  for (const SimEvent& e : b.events)
    if (e.kind == kView && e.ts_ms >= pre_end && e.ts_ms < end) visit[e.shopper] = 1;

  UpliftData u;
  u.source = "simulator";
  u.has_visit = true;
  u.groupings = {"recency", "history", "newbie"};
  u.labels.resize(3);
  std::vector<double> recency, history;
  std::vector<uint32_t> who;
  for (uint32_t s = 0; s < S; ++s) {
    if (!pre_n[s]) continue;
    who.push_back(s);
    recency.push_back(double(pre_end - last_buy[s]) / kDayMs);
    history.push_back(pre_spend[s]);
  }
  const auto rg = quartile_groups(recency, u.labels[0], 1);
  const auto hg = quartile_groups(history, u.labels[1], 0);
  u.labels[2] = {"0", "1"};
  const int64_t newbie_from = start + (pre_end - start) / 2;
  for (size_t k = 0; k < who.size(); ++k) {
    const uint32_t s = who[k];
    UpliftData::Row r;
    r.treated = treated[s];
    r.visit = visit[s];
    r.converted = conv[s];
    r.spend = spend[s];
    r.group = {rg[k], hg[k], uint8_t(first_buy[s] >= newbie_from)};
    u.rows.push_back(std::move(r));
  }
  return u;
}

UpliftData hillstrom_uplift(const std::string& dir) {
  const data::Dataset ds = data::read_hillstrom(dir);
  const auto& names = ds.user_feature_names;
  auto col = [&](const char* name) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) throw data::IngestError(dir + ": hillstrom reader gave no feature '" + name + "'");
    return size_t(it - names.begin());
  };
  const size_t nf = names.size(), c_rec = col("recency"), c_hist = col("history"), c_new = col("newbie");
  const auto& labels = ds.outcome_label_names;
  const auto vit = std::find(labels.begin(), labels.end(), "visit");
  if (vit == labels.end()) throw data::IngestError(dir + ": hillstrom reader gave no outcome label 'visit'");
  const size_t c_visit = size_t(vit - labels.begin()), nl = labels.size();
  if (ds.decisions.size() != ds.outcomes.size())
    throw data::IngestError(dir + ": hillstrom decisions and outcomes differ in number");
  UpliftData u;
  u.source = "hillstrom";
  u.has_visit = true;
  u.groupings = {"recency", "history", "newbie"};
  u.labels.resize(3);
  std::vector<double> recency, history;
  for (const auto& dec : ds.decisions) {
    recency.push_back(ds.user_features[size_t(dec.user) * nf + c_rec]);
    history.push_back(ds.user_features[size_t(dec.user) * nf + c_hist]);
  }
  const auto rg = quartile_groups(recency, u.labels[0], 0);
  const auto hg = quartile_groups(history, u.labels[1], 0);
  u.labels[2] = {"0", "1"};
  for (size_t k = 0; k < ds.decisions.size(); ++k) {
    const auto& dec = ds.decisions[k];
    UpliftData::Row r;
    r.treated = dec.arm != 0;
    r.visit = ds.outcome_labels[k * nl + c_visit] > 0.5f;
    r.converted = ds.outcomes[k].converted;
    r.spend = ds.outcomes[k].revenue;
    r.group = {rg[k], hg[k], uint8_t(ds.user_features[size_t(dec.user) * nf + c_new] > 0.5f)};
    u.rows.push_back(std::move(r));
  }
  return u;
}

namespace {

// A gzip (or plain) file's text; zlib reads plain files as they are.
std::string read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw data::IngestError(path + ": cannot open: " + std::strerror(errno ? errno : ENOENT));
  std::string out;
  std::vector<char> buf(1 << 20);
  for (;;) {
    const int n = gzread(f, buf.data(), unsigned(buf.size()));
    if (n < 0) {
      int code = 0;
      const std::string why = gzerror(f, &code);
      gzclose(f);
      throw data::IngestError(path + ": cannot decompress: " + why);
    }
    if (n == 0) break;
    out.append(buf.data(), size_t(n));
  }
  gzclose(f);
  return out;
}

}  // namespace

Campaign starbucks_campaign(const std::string& dir, StarbucksTotalsReport* report) {
  namespace fs = std::filesystem;
  const data::Dataset ds = data::read_starbucks(dir);
  Campaign c;
  c.source = "starbucks-offers";
  c.horizon_h = 720;  // SOURCE.txt: 30 days
  c.num_customers = uint32_t(ds.user_ids.size());
  const auto& cn = ds.context_names;
  const auto dur_it = std::find(cn.begin(), cn.end(), "duration_h");
  if (dur_it == cn.end()) throw data::IngestError(dir + ": read_starbucks gave no context 'duration_h'");
  const size_t c_dur = size_t(dur_it - cn.begin());
  if (ds.decisions.size() != ds.outcomes.size())
    throw data::IngestError(dir + ": starbucks decisions and outcomes differ in number");
  std::vector<double> duration(ds.arm_names.size(), -1);
  for (size_t k = 0; k < ds.decisions.size(); ++k) {
    const auto& d = ds.decisions[k];
    const auto& o = ds.outcomes[k];
    if (o.id_hi != d.id_hi || o.id_lo != d.id_lo)
      throw data::IngestError(dir + ": starbucks outcome " + std::to_string(k) + " is not its decision's");
    if (d.arm >= duration.size() || d.context.size() <= c_dur)
      throw data::IngestError(dir + ": starbucks decision " + std::to_string(k) + " has no offer name or duration");
    duration[d.arm] = d.context[c_dur];
    CampaignOffer x;
    x.customer = d.user;
    x.received_h = double(d.ts_ms) / kHourMs;
    x.kind = uint16_t(d.arm);
    x.completed = o.converted;
    x.completed_h = o.converted ? double(o.ts_ms) / kHourMs : -1;
    c.offers.push_back(x);
  }
  for (size_t a = 0; a < ds.arm_names.size(); ++a)
    c.kinds.push_back({ds.arm_names[a], ds.arm_names[a].rfind("informational", 0) == 0, duration[a]});
  sort_offers(c);

  // Per-customer 30-day totals (transaction_cnt, transaction_amount): the outcome of the whole
  // campaign, randomized through the offers a customer got. read_starbucks never reads them (as
  // features they leak the future); here they are outcomes only.
  c.transactions.assign(c.num_customers, -1.0);
  c.spend.assign(c.num_customers, -1.0);
  StarbucksTotalsReport rep;
  for (const char* part : {"train_v3_starbucks.csv", "test_v3_starbucks.csv"}) {
    std::string path = (fs::path(dir) / (std::string(part) + ".gz")).string();
    if (!fs::exists(path)) path = (fs::path(dir) / part).string();
    data::CsvReader r = data::CsvReader::from_string(read_gz(path), path);
    if (!r.next()) throw data::IngestError(path + ": empty file");
    const auto header = r.fields();
    auto col = [&](const char* name) {
      const auto it = std::find(header.begin(), header.end(), name);
      if (it == header.end()) throw data::IngestError(path + ":1: column '" + name + "' missing");
      return size_t(it - header.begin());
    };
    const size_t c_id = col("customer_id"), c_cnt = col("transaction_cnt"), c_amt = col("transaction_amount");
    while (r.next()) {
      ++rep.rows;
      if (r.size() != header.size()) {
        ++rep.bad_rows;
        continue;
      }
      const auto it = ds.user_index.find(std::string(r[c_id]));
      double cnt = 0, amt = 0;
      if (it == ds.user_index.end() || !data::parse_double(r[c_cnt], cnt) || !data::parse_double(r[c_amt], amt) ||
          cnt < 0 || amt < 0) {
        ++rep.bad_rows;
        continue;
      }
      double& t = c.transactions[it->second];
      double& m = c.spend[it->second];
      if (t < 0) {
        t = cnt;
        m = amt;
      } else if (t != cnt || std::fabs(m - amt) > 0.005) {
        ++rep.inconsistent_rows;
      }
    }
  }
  for (uint32_t u = 0; u < c.num_customers; ++u)
    if (c.transactions[u] < 0) {
      ++rep.customers_without_totals;
      c.transactions[u] = c.spend[u] = 0;
    }
  if (report) *report = rep;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

namespace {

struct Out {
  std::string s;
  void line(const char* f, ...) __attribute__((format(printf, 2, 3))) {
    char buf[512];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    s += buf;
    s += '\n';
  }
};

// Compares the simulator's value with the real one: "consistent" when they differ by at most 2
// standard errors of the difference, else higher / lower by how many.
std::string verdict(double real, double real_se, double sim, double sim_se) {
  const double se = std::hypot(real_se, sim_se);
  if (!(se > 0)) return "";
  const double z = (sim - real) / se;
  char buf[96];
  if (std::fabs(z) <= 2) std::snprintf(buf, sizeof(buf), "consistent with the real value (z = %+.1f)", z);
  else std::snprintf(buf, sizeof(buf), "OFF: %s than the real value (z = %+.1f)", z > 0 ? "higher" : "lower", z);
  return buf;
}

struct Checks {
  std::vector<std::pair<std::string, double>> z;  // statistic, (sim - real) / se of the difference
  std::string add(const std::string& what, double real, double real_se, double sim, double sim_se) {
    const double se = std::hypot(real_se, sim_se);
    if (se > 0) z.emplace_back(what, (sim - real) / se);
    return verdict(real, real_se, sim, sim_se);
  }
  std::string summary() const {
    if (z.empty()) return "";
    std::string ok, off;
    int n_off = 0;
    for (const auto& [w, v] : z) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), "%s (z = %+.1f)", w.c_str(), v);
      std::string& dst = std::fabs(v) <= 2 ? ok : off;
      if (!dst.empty()) dst += ", ";
      dst += buf;
      n_off += std::fabs(v) > 2;
    }
    char head[96];
    std::snprintf(head, sizeof(head), "reading: %zu of %zu statistics consistent with the real data", z.size() - size_t(n_off),
                  z.size());
    std::string out = head;
    if (!ok.empty()) out += "\n  consistent: " + ok;
    if (!off.empty()) out += "\n  OFF: " + off;
    return out + "\n";
  }
};

}  // namespace

std::string campaign_report(const CampaignStats* real, const std::string& real_name, const CampaignStats& sim,
                            const std::string& sim_name) {
  Out o;
  Checks checks;
  const char* rn = real_name.c_str();
  const char* sn = sim_name.c_str();
  o.line("Repeated time-limited offers: %s vs %s", real ? rn : "(no real data)", sn);
  o.s += "\n";
  o.line("completion by offer (placebo: purchase in the window; Starbucks does not record it)");
  o.line("  %-22s %7s %6s | %-22s %7s %6s", real ? rn : "", "n", "rate", sn, "n", "rate");
  const size_t rows = std::max(real ? real->by_kind.size() : 0, sim.by_kind.size());
  for (size_t i = 0; i < rows; ++i) {
    std::string l = "  ";
    char buf[128];
    if (real && i < real->by_kind.size()) {
      const auto& k = real->by_kind[i];
      if (k.placebo) std::snprintf(buf, sizeof(buf), "%-22s %7llu %6s", k.name.c_str(), (unsigned long long)k.n, "n/a");
      else std::snprintf(buf, sizeof(buf), "%-22s %7llu %6.3f", k.name.c_str(), (unsigned long long)k.n, k.rate);
    } else {
      std::snprintf(buf, sizeof(buf), "%-22s %7s %6s", "", "", "");
    }
    l += buf;
    l += " | ";
    if (i < sim.by_kind.size()) {
      const auto& k = sim.by_kind[i];
      std::snprintf(buf, sizeof(buf), "%-22s %7llu %6.3f", k.name.c_str(), (unsigned long long)k.n, k.rate);
      l += buf;
    }
    o.s += l + "\n";
  }
  o.line("  %-22s %7llu %6.3f | %-22s %7llu %6.3f", "all reward offers", real ? (unsigned long long)real->reward_offers : 0ULL,
         real ? real->reward_rate : 0.0, "all reward offers", (unsigned long long)sim.reward_offers, sim.reward_rate);
  double sim_placebo = 0, sim_placebo_n = 0;
  for (const auto& k : sim.by_kind)
    if (k.placebo) sim_placebo += k.rate * double(k.n), sim_placebo_n += double(k.n);
  if (sim_placebo_n > 0)
    o.line("  simulator: reward completion / placebo window purchase rate = %.2f (placebo %.3f)",
           sim_placebo > 0 ? sim.reward_rate / (sim_placebo / sim_placebo_n) : 0.0, sim_placebo / sim_placebo_n);
  o.s += "\n";
  o.line("completion of a customer's k-th offer (reward offers; k counts placebos too); adj = minus the offer's rate;");
  o.line("rel = rate / the mean reward completion rate");
  o.line("  %3s | %7s %6s %7s %5s | %7s %6s %7s %5s", "k", "n", "rate", "adj", "rel", "n", "rate", "adj", "rel");
  int kmax = 0;
  if (real)
    for (const auto& k : real->kth) kmax = std::max(kmax, k.k);
  for (const auto& k : sim.kth) kmax = std::max(kmax, k.k);
  for (int k = 1; k <= kmax; ++k) {
    auto find = [&](const CampaignStats* s) -> const CampaignStats::Kth* {
      if (!s) return nullptr;
      for (const auto& x : s->kth)
        if (x.k == k) return &x;
      return nullptr;
    };
    const auto* a = find(real);
    const auto* b = find(&sim);
    char l[256], r[128];
    if (a) std::snprintf(l, sizeof(l), "%7llu %6.3f %+7.3f %5.2f", (unsigned long long)a->n, a->rate, a->adjusted,
                         real->reward_rate > 0 ? (real->reward_rate + a->adjusted) / real->reward_rate : 0.0);
    else std::snprintf(l, sizeof(l), "%7s %6s %7s %5s", "", "", "", "");
    if (b) std::snprintf(r, sizeof(r), "%7llu %6.3f %+7.3f %5.2f", (unsigned long long)b->n, b->rate, b->adjusted,
                         sim.reward_rate > 0 ? (sim.reward_rate + b->adjusted) / sim.reward_rate : 0.0);
    else r[0] = 0;
    o.line("  %3d | %s | %s", k, l, r);
  }
  o.s += "\n";
  auto rel = [](const Estimate& e, double base) { return base > 0 ? e.value / base : 0.0; };
  auto rel_se = [](const Estimate& e, double base) { return base > 0 ? e.se / base : 0.0; };
  o.line("habituation test: change in a reward offer's completion per earlier reward offer (instead of a placebo),");
  o.line("within (wave, number of earlier offers); relative = / the mean reward completion rate. 'closed': earlier");
  o.line("reward offers whose window had ended at this offer's receipt (the fatigue / habituation test); 'open': still");
  o.line("running (one purchase completes both)");
  auto slope = [&](const char* what, const Estimate& e, const CampaignStats& s, const char* name, const Estimate* ref,
                   const CampaignStats* rs) {
    std::string v;
    if (ref && rs)
      v = ": " + checks.add(std::string("completion per earlier reward offer (") + what + ")", rel(*ref, rs->reward_rate),
                            rel_se(*ref, rs->reward_rate), rel(e, s.reward_rate), rel_se(e, s.reward_rate));
    o.line("  %-6s %-36s %+.4f +- %.4f (relative %+.1f%% +- %.1f%%, %llu offers)%s", what, name, e.value, e.se,
           100 * rel(e, s.reward_rate), 100 * rel_se(e, s.reward_rate), (unsigned long long)e.n, v.c_str());
  };
  if (real) slope("all", real->prior_reward_slope, *real, rn, nullptr, nullptr);
  slope("all", sim.prior_reward_slope, sim, sn, real ? &real->prior_reward_slope : nullptr, real);
  if (real) slope("closed", real->prior_closed_slope, *real, rn, nullptr, nullptr);
  slope("closed", sim.prior_closed_slope, sim, sn, real ? &real->prior_closed_slope : nullptr, real);
  if (real) slope("open", real->prior_open_slope, *real, rn, nullptr, nullptr);
  slope("open", sim.prior_open_slope, sim, sn, real ? &real->prior_open_slope : nullptr, real);
  o.s += "\n";
  o.line("persistence: completion of a reward offer by earlier completions known at its receipt (customers with >= 1");
  o.line("earlier offer); rel = (mean reward rate + adj) / mean reward rate");
  o.line("  %-9s | %7s %6s %5s | %7s %6s %5s", "completed", "n", "rate", "rel", "n", "rate", "rel");
  for (int g = 0; g < 4; ++g) {
    char l[128] = "", r[128] = "";
    if (real && size_t(g) < real->by_prior_completions.size() && real->by_prior_completions[size_t(g)].n) {
      const auto& x = real->by_prior_completions[size_t(g)];
      std::snprintf(l, sizeof(l), "%7llu %6.3f %5.2f", (unsigned long long)x.n, x.rate,
                    (real->reward_rate + x.adjusted) / real->reward_rate);
    } else {
      std::snprintf(l, sizeof(l), "%7s %6s %5s", "", "", "");
    }
    if (size_t(g) < sim.by_prior_completions.size() && sim.by_prior_completions[size_t(g)].n && sim.reward_rate > 0) {
      const auto& x = sim.by_prior_completions[size_t(g)];
      std::snprintf(r, sizeof(r), "%7llu %6.3f %5.2f", (unsigned long long)x.n, x.rate, (sim.reward_rate + x.adjusted) / sim.reward_rate);
    }
    o.line("  %-9s | %s | %s", g == 3 ? "3+" : std::to_string(g).c_str(), l, r);
  }
  o.line("spread across customers with >= 3 reward offers: completed none / all, observed vs expected if offers were");
  o.line("independent (observed / expected > 1: responses concentrate in some customers)");
  if (real)
    o.line("  %-36s none %.3f vs %.3f (x%.2f), all %.3f vs %.3f (x%.2f), %llu customers", rn, real->none_observed,
           real->none_expected, real->none_expected > 0 ? real->none_observed / real->none_expected : 0.0, real->all_observed,
           real->all_expected, real->all_expected > 0 ? real->all_observed / real->all_expected : 0.0,
           (unsigned long long)real->spread_customers);
  o.line("  %-36s none %.3f vs %.3f (x%.2f), all %.3f vs %.3f (x%.2f), %llu customers", sn, sim.none_observed,
         sim.none_expected, sim.none_expected > 0 ? sim.none_observed / sim.none_expected : 0.0, sim.all_observed,
         sim.all_expected, sim.all_expected > 0 ? sim.all_observed / sim.all_expected : 0.0,
         (unsigned long long)sim.spread_customers);
  if (real && real->spread_customers && sim.spread_customers) {
    auto bse = [](double p, uint64_t n) { return std::sqrt(p * (1 - p) / double(n)); };
    o.line("  share who completed none: %s", checks.add("share of customers completing none", real->none_observed,
                                                          bse(real->none_observed, real->spread_customers),
                                                          sim.none_observed, bse(sim.none_observed, sim.spread_customers))
                                                 .c_str());
    o.line("  share who completed all: %s", checks.add("share of customers completing all", real->all_observed,
                                                         bse(real->all_observed, real->spread_customers), sim.all_observed,
                                                         bse(sim.all_observed, sim.spread_customers))
                                                .c_str());
  }
  o.s += "\n";
  o.line("net effect of one more reward offer instead of a placebo on the customer's purchases over the whole");
  o.line("campaign (given the number of offers received); per window = / the purchases of one offer window");
  auto totals = [&](const CampaignStats& s, const char* name, const CampaignStats* ref) {
    if (!s.has_totals) {
      o.line("  %-36s (no per-customer totals)", name);
      return;
    }
    std::string v;
    if (ref && ref->has_totals)
      v = ": " + checks.add("net purchases per reward offer", ref->tx_lift_per_window, ref->tx_lift_per_window_se,
                            s.tx_lift_per_window, s.tx_lift_per_window_se);
    o.line("  %-36s transactions %+.3f +- %.3f of %.2f (%+.1f%% +- %.1f%% per window)%s", name, s.tx_per_reward_offer.value,
           s.tx_per_reward_offer.se, s.mean_transactions, 100 * s.tx_lift_per_window, 100 * s.tx_lift_per_window_se, v.c_str());
    auto spend_rel = [](const CampaignStats& x) { return x.mean_spend > 0 ? x.spend_per_reward_offer.value / x.mean_spend : 0.0; };
    auto spend_rel_se = [](const CampaignStats& x) { return x.mean_spend > 0 ? x.spend_per_reward_offer.se / x.mean_spend : 0.0; };
    std::string sv;
    if (ref && ref->has_totals)
      sv = ": " + checks.add("net spend per reward offer", spend_rel(*ref), spend_rel_se(*ref), spend_rel(s), spend_rel_se(s));
    o.line("  %-36s spend %+.2f +- %.2f of %.2f (%+.1f%% +- %.1f%% of the campaign's spend)%s", "",
           s.spend_per_reward_offer.value, s.spend_per_reward_offer.se, s.mean_spend, 100 * spend_rel(s),
           100 * spend_rel_se(s), sv.c_str());
    const double m = s.mean_transactions > 0 ? s.mean_transactions : 1;
    std::string hv;
    if (ref && ref->has_totals && ref->mean_transactions > 0) {
      const double rm = ref->mean_transactions;
      const double rd = (ref->tx_early_reward.value - ref->tx_late_reward.value) / rm;
      const double rse = std::hypot(ref->tx_early_reward.se, ref->tx_late_reward.se) / rm;
      hv = ": " + checks.add("early - late reward offers", rd, rse, (s.tx_early_reward.value - s.tx_late_reward.value) / m,
                          std::hypot(s.tx_early_reward.se, s.tx_late_reward.se) / m);
    }
    o.line("  %-36s received in the first half %+.3f +- %.3f, second half %+.3f +- %.3f; early - late = %+.1f%% of the"
           " campaign's purchases%s",
           "", s.tx_early_reward.value, s.tx_early_reward.se, s.tx_late_reward.value, s.tx_late_reward.se,
           100 * (s.tx_early_reward.value - s.tx_late_reward.value) / m, hv.c_str());
  };
  if (real) totals(*real, rn, nullptr);
  totals(sim, sn, real);
  if (sim.has_totals) {
    o.line("net purchases per offer window by offer (vs a placebo; one least squares over the counts of each kind)");
    const size_t n = std::max(real && real->has_totals ? real->tx_by_kind.size() : 0, sim.tx_by_kind.size());
    for (size_t i = 0; i < n; ++i) {
      char l[128] = "", r[128] = "";
      if (real && i < real->tx_by_kind.size()) {
        const auto& k = real->tx_by_kind[i];
        std::snprintf(l, sizeof(l), "%-22s %+6.1f%% +- %4.1f%%", k.name.c_str(), 100 * k.per_window, 100 * k.per_window_se);
      } else {
        std::snprintf(l, sizeof(l), "%-22s %15s", "", "");
      }
      if (i < sim.tx_by_kind.size()) {
        const auto& k = sim.tx_by_kind[i];
        std::snprintf(r, sizeof(r), "%-22s %+6.1f%% +- %4.1f%%", k.name.c_str(), 100 * k.per_window, 100 * k.per_window_se);
      }
      o.line("  %s | %s", l, r);
    }
  }
  if (real) o.s += "\n" + checks.summary();
  auto negative = [](const CampaignStats& x) {
    int n = 0;
    for (const auto& k : x.tx_by_kind) n += k.tx.se > 0 && k.tx.value < -2 * k.tx.se;
    return n;
  };
  if (real && real->has_totals && sim.has_totals)
    o.line("  offers that lower the month's purchases (net effect below -2 se): real %d of %zu, simulator %d of %zu",
           negative(*real), real->tx_by_kind.size(), negative(sim), sim.tx_by_kind.size());
  return o.s;
}

std::string uplift_report(const UpliftStats* real, const std::string& real_name, const UpliftStats& sim,
                          const std::string& sim_name) {
  Out o;
  const char* rn = real_name.c_str();
  const char* sn = sim_name.c_str();
  o.line("One-shot randomized promotion: %s vs %s", real ? rn : "(no real data)", sn);
  o.line("conversion control -> treated (ratio, absolute lift +- se); visit; conversion among visitors (ratio); spend");
  auto row = [&](const UpliftCell& c) {
    o.line("    %-8s %-14s n %6llu/%6llu  conv %.4f -> %.4f (x%.2f, %+.4f +- %.4f)  visit %.3f -> %.3f  conv|visit x%.2f  spend %.2f -> %.2f",
           c.grouping.c_str(), c.label.c_str(), (unsigned long long)c.n_control, (unsigned long long)c.n_treated, c.conv_c,
           c.conv_t, c.conv_ratio(), c.conv_lift(), c.conv_diff_se, c.visit_c, c.visit_t, c.conv_given_visit_ratio(),
           c.spend_c, c.spend_t);
  };
  auto block = [&](const UpliftStats& s, const char* name) {
    o.line("  %s", name);
    for (const auto& c : s.cells) row(c);
    o.line("    across %d groups: conversion ratio %.2f .. %.2f, %d with a negative lift; correlation of the absolute lift"
           " with the base rate %+.2f",
           s.groups, s.min_ratio, s.max_ratio, s.negative_groups, s.lift_base_correlation);
  };
  if (real) block(*real, rn);
  block(sim, sn);
  // The designs differ (an e-mail vs a discount at the cart; base rates far apart), so the shape is
  // compared, not the size: does every group gain, does the spend follow the conversions, does the
  // lift fall with the base rate.
  auto per_converter = [](const UpliftCell& c) {
    return c.conv_c > 0 && c.conv_t > 0 && c.spend_c > 0 ? (c.spend_t / c.conv_t) / (c.spend_c / c.conv_c) : 0.0;
  };
  if (real) {
    o.line("reading (shape, not size: the treatments and base rates differ):");
    o.line("  groups with a negative lift: real %d of %d, simulator %d of %d", real->negative_groups, real->groups,
           sim.negative_groups, sim.groups);
    o.line("  spend per converter, treated / control: real x%.2f, simulator x%.2f", per_converter(real->cells[0]),
           per_converter(sim.cells[0]));
    o.line("  correlation of the absolute lift with the base rate across groups: real %+.2f, simulator %+.2f",
           real->lift_base_correlation, sim.lift_base_correlation);
    o.line("  conversion ratio across groups: real x%.2f .. x%.2f, simulator x%.2f .. x%.2f", real->min_ratio, real->max_ratio,
           sim.min_ratio, sim.max_ratio);
  }
  return o.s;
}

}  // namespace disco::sim::calib

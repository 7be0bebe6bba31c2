// The A/B holdout analysis: per-shopper totals, Welch intervals (the shopper is the unit, so they
// are clustered by shopper), the delta method for relative lifts and the conversion ratio, the
// cumulative daily lift and a normal-approximation power calculation.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "disco/eval/ab.h"
#include "disco/eval/ope_stats.h"

namespace disco::eval::ab {

const MetricLift& AbResult::metric(const std::string& name) const {
  for (const auto& m : metrics)
    if (m.metric == name) return m;
  throw std::out_of_range("no metric " + name);
}

namespace {

struct Shopper {
  int group = -1;  // 0 disco, 1 holdout, 2 mixed
  double decisions = 0, conversions = 0, revenue = 0, margin = 0, spend = 0;
};

double var1(const std::vector<double>& x) {  // sample variance (ddof = 1)
  if (x.size() < 2) return NAN;
  return stats::variance_pop(x) * static_cast<double>(x.size()) / static_cast<double>(x.size() - 1);
}

// Difference of two independent estimates with variances va, vb (of the estimates) from samples of
// na, nb shoppers; Welch-Satterthwaite degrees of freedom.
void fill_interval(MetricLift& m, double va, double vb, size_t na, size_t nb, double alpha) {
  m.lift = m.disco - m.holdout;
  m.se = std::sqrt(va + vb);
  const double den = (na > 1 ? va * va / static_cast<double>(na - 1) : NAN) + (nb > 1 ? vb * vb / static_cast<double>(nb - 1) : NAN);
  m.df = den > 0 ? (va + vb) * (va + vb) / den : NAN;
  if (std::isfinite(m.se) && m.se > 0 && std::isfinite(m.df)) {
    const double q = stats::student_t_quantile(1 - alpha / 2, m.df);
    m.lo = m.lift - q * m.se;
    m.hi = m.lift + q * m.se;
    m.p_value = 2 * (1 - stats::student_t_cdf(std::abs(m.lift) / m.se, m.df));
    if (m.holdout != 0) {
      const double h2 = m.holdout * m.holdout;
      const double se_r = std::sqrt(va / h2 + m.disco * m.disco * vb / (h2 * h2));
      m.rel_lift = m.disco / m.holdout - 1;
      m.rel_lo = m.rel_lift - q * se_r;
      m.rel_hi = m.rel_lift + q * se_r;
    }
  } else if (m.holdout != 0) {
    m.rel_lift = m.disco / m.holdout - 1;
  }
}

MetricLift mean_metric(const std::string& name, const std::vector<double>& d, const std::vector<double>& h, double alpha) {
  MetricLift m;
  m.metric = name;
  m.unit = "per shopper";
  m.disco = stats::mean(d);
  m.holdout = stats::mean(h);
  m.sd_disco = std::sqrt(var1(d));
  m.sd_holdout = std::sqrt(var1(h));
  fill_interval(m, var1(d) / static_cast<double>(d.size()), var1(h) / static_cast<double>(h.size()), d.size(), h.size(), alpha);
  return m;
}

// Ratio sum(y) / sum(x) over shoppers, variance by linearization: e_j = (y_j - R x_j) / mean(x).
struct Ratio {
  double r = NAN, var = NAN, sd_e = NAN;
};
Ratio ratio_of(const std::vector<double>& x, const std::vector<double>& y) {
  Ratio o;
  double sx = 0, sy = 0;
  for (size_t j = 0; j < x.size(); ++j) sx += x[j], sy += y[j];
  if (!(sx > 0)) return o;
  o.r = sy / sx;
  const double xbar = sx / static_cast<double>(x.size());
  std::vector<double> e(x.size());
  for (size_t j = 0; j < x.size(); ++j) e[j] = (y[j] - o.r * x[j]) / xbar;
  o.var = var1(e) / static_cast<double>(x.size());
  o.sd_e = std::sqrt(var1(e));
  return o;
}

}  // namespace

AbResult analyze(const std::vector<AbRow>& rows, const AbOptions& opt) {
  if (rows.empty()) throw AbError("no decisions to analyze");
  if (!(opt.alpha > 0 && opt.alpha < 1)) throw AbError("alpha must be in (0, 1)");
  if (!(opt.power > 0 && opt.power < 1)) throw AbError("power must be in (0, 1)");
  AbResult res;
  res.alpha = opt.alpha;
  res.power = opt.power;
  res.decisions = rows.size();
  // Time order for the cumulative timeline (stable: equal times keep the input order).
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a].ts_ms < rows[b].ts_ms; });
  std::unordered_map<std::string, size_t> idx;
  std::vector<Shopper> sh;
  for (const auto& r : rows) {
    auto [it, fresh] = idx.emplace(r.shopper, sh.size());
    if (fresh) sh.emplace_back();
    Shopper& s = sh[it->second];
    const int g = r.holdout ? 1 : 0;
    s.group = s.group < 0 ? g : (s.group == g ? g : 2);
  }
  res.shoppers = sh.size();
  for (const auto& s : sh) {
    if (s.group == 0) ++res.shoppers_disco;
    else if (s.group == 1) ++res.shoppers_holdout;
    else ++res.mixed_shoppers;
  }
  if (res.mixed_shoppers)
    res.notes.push_back(std::to_string(res.mixed_shoppers) +
                        " shoppers have both holdout and disco decisions (the holdout share changed?): left out");
  if (res.shoppers_holdout == 0)
    throw AbError("no holdout shoppers in the log (no decision has holdout = 1): configure holdout: {share, arm} before measuring lift");
  if (res.shoppers_disco == 0) throw AbError("every shopper is in the holdout: no disco shoppers to compare");
  res.holdout_share = static_cast<double>(res.shoppers_holdout) / static_cast<double>(res.shoppers_holdout + res.shoppers_disco);
  const int64_t day0 = rows[order.front()].ts_ms / opt.day_ms - (rows[order.front()].ts_ms % opt.day_ms < 0 ? 1 : 0);
  auto day_of = [&](int64_t ts) {
    const int64_t d = ts / opt.day_ms - (ts % opt.day_ms < 0 ? 1 : 0);
    return d - day0;
  };
  const int64_t last_day = day_of(rows[order.back()].ts_ms);
  res.days = static_cast<double>(last_day + 1);
  res.shoppers_per_day = static_cast<double>(res.shoppers_disco + res.shoppers_holdout) / res.days;
  // Accumulate in time order; close each day with a timeline point.
  std::vector<char> seen(sh.size(), 0);
  auto day_point = [&](int64_t day) {
    std::vector<double> d, h;
    for (size_t j = 0; j < sh.size(); ++j) {
      if (!seen[j] || sh[j].group > 1) continue;
      (sh[j].group == 0 ? d : h).push_back(sh[j].margin);
    }
    DayPoint p;
    p.day = day;
    p.shoppers_disco = d.size();
    p.shoppers_holdout = h.size();
    if (!d.empty() && !h.empty()) {
      const MetricLift m = mean_metric("margin_per_shopper", d, h, opt.alpha);
      p.disco = m.disco;
      p.holdout = m.holdout;
      p.lift = m.lift;
      p.lo = m.lo;
      p.hi = m.hi;
    }
    res.timeline.push_back(p);
  };
  int64_t cur_day = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const AbRow& r = rows[order[k]];
    const int64_t d = day_of(r.ts_ms);
    while (cur_day < d) day_point(cur_day++);
    const size_t j = idx[r.shopper];
    Shopper& s = sh[j];
    seen[j] = 1;
    s.decisions += 1;
    s.conversions += r.converted ? 1 : 0;
    s.revenue += r.revenue;
    s.margin += r.margin;
    s.spend += r.discount_spend;
    if (s.group == 0) ++res.decisions_disco;
    else if (s.group == 1) ++res.decisions_holdout;
  }
  day_point(cur_day);
  // Per-shopper metrics over the whole log.
  std::vector<double> md, mh, rd, rh, sd, shh, xd, xh, yd, yh;
  for (const auto& s : sh) {
    if (s.group == 0) md.push_back(s.margin), rd.push_back(s.revenue), sd.push_back(s.spend), xd.push_back(s.decisions), yd.push_back(s.conversions);
    if (s.group == 1) mh.push_back(s.margin), rh.push_back(s.revenue), shh.push_back(s.spend), xh.push_back(s.decisions), yh.push_back(s.conversions);
  }
  res.metrics.push_back(mean_metric("margin_per_shopper", md, mh, opt.alpha));
  {
    const Ratio a = ratio_of(xd, yd), b = ratio_of(xh, yh);
    MetricLift m;
    m.metric = "conversion_rate";
    m.unit = "per decision";
    m.disco = a.r;
    m.holdout = b.r;
    m.sd_disco = a.sd_e;
    m.sd_holdout = b.sd_e;
    fill_interval(m, a.var, b.var, xd.size(), xh.size(), opt.alpha);
    res.metrics.push_back(m);
  }
  res.metrics.push_back(mean_metric("revenue_per_shopper", rd, rh, opt.alpha));
  res.metrics.push_back(mean_metric("discount_spend_per_shopper", sd, shh, opt.alpha));
  if (res.shoppers_disco < 2 || res.shoppers_holdout < 2)
    res.notes.push_back("fewer than 2 shoppers in a group: no intervals");
  // Power: shoppers needed for a two-sided level-alpha test to detect a lift with the given power,
  // at the observed per-shopper spread and holdout share; days at the observed arrival rate.
  const double zz = stats::normal_quantile(1 - opt.alpha / 2) + stats::normal_quantile(opt.power);
  const double pd = 1 - res.holdout_share, ph = res.holdout_share;
  for (const auto& m : res.metrics) {
    if (m.metric == "discount_spend_per_shopper") continue;  // a cost, not a goal to detect
    std::vector<std::pair<std::string, double>> lifts;
    for (double l : opt.lifts) {
      char b[32];
      std::snprintf(b, sizeof b, "%+g%%", l * 100);
      lifts.emplace_back(b, l);
    }
    if (std::isfinite(m.rel_lift)) lifts.emplace_back("observed", m.rel_lift);
    for (const auto& [label, l] : lifts) {
      PowerRow p;
      p.metric = m.metric;
      p.label = label;
      p.rel_lift = l;
      p.abs_lift = l * m.holdout;
      const double v = m.sd_disco * m.sd_disco / pd + m.sd_holdout * m.sd_holdout / ph;
      if (p.abs_lift != 0 && std::isfinite(v)) {
        p.shoppers_needed = zz * zz * v / (p.abs_lift * p.abs_lift);
        p.days_needed = p.shoppers_needed / res.shoppers_per_day;
        p.more_days = std::max(0.0, std::ceil(p.days_needed - res.days));
      } else if (p.abs_lift == 0) {
        p.shoppers_needed = p.days_needed = p.more_days = INFINITY;
      }
      res.power_table.push_back(p);
    }
  }
  return res;
}

std::vector<AbRow> rows_from_dataset(const data::Dataset& ds, const std::string& dir) {
  if (ds.decisions.empty()) throw AbError(dir + ": no decisions (decisions.csv missing or empty)");
  std::unordered_map<uint64_t, std::vector<size_t>> outcome_of;
  auto key = [](uint64_t hi, uint64_t lo) { return hi * 0x9E3779B97F4A7C15ULL ^ lo; };
  for (size_t i = 0; i < ds.outcomes.size(); ++i) outcome_of[key(ds.outcomes[i].id_hi, ds.outcomes[i].id_lo)].push_back(i);
  std::vector<AbRow> out;
  out.reserve(ds.decisions.size());
  for (const auto& d : ds.decisions) {
    AbRow r;
    r.shopper = d.user < ds.user_ids.size() ? ds.user_ids[d.user] : std::to_string(d.user_key);
    r.ts_ms = d.ts_ms;
    r.holdout = d.holdout;
    const auto it = outcome_of.find(key(d.id_hi, d.id_lo));
    if (it != outcome_of.end())
      for (size_t oi : it->second) {
        const auto& o = ds.outcomes[oi];
        if (o.id_hi != d.id_hi || o.id_lo != d.id_lo) continue;
        r.converted = o.converted;
        r.revenue = o.revenue;
        r.margin = o.margin;
        if (o.converted && d.discount > 0 && d.discount < 1) r.discount_spend = o.revenue * d.discount / (1.0 - d.discount);
      }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace disco::eval::ab

// BG/NBD and Pareto/NBD: RFM summary, likelihoods, expectations, Nelder-Mead maximum likelihood and a
// seeded simulator (see disco/eval/timing.h for the sources of each formula).
#include "disco/eval/timing.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <tuple>

#include "disco/data/dataset.h"
#include "disco/data/dates.h"

namespace disco::eval::timing {

using disco::data::days_from_civil;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kDayMs = 86400000;

// log(e^u + e^v), -inf safe
double log_add(double u, double v) {
  if (u == -kInf) return v;
  if (v == -kInf) return u;
  const double m = std::max(u, v);
  return m + std::log1p(std::exp(-std::abs(u - v)));
}

// log(e^u - e^v) for u >= v
double log_sub(double u, double v) {
  if (v == -kInf) return u;
  if (v >= u) return -kInf;
  return u + std::log1p(-std::exp(v - u));
}

// Customers grouped by identical (x, t_x, T): the likelihood is summed once per group.
struct Group {
  double x, t_x, T, n;
};
std::vector<Group> group(const std::vector<Rfm>& c) {
  std::map<std::tuple<double, double, double>, double> m;
  for (const auto& r : c) m[{r.x, r.t_x, r.T}] += 1;
  std::vector<Group> g;
  g.reserve(m.size());
  for (const auto& [k, n] : m) g.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
  return g;
}

}  // namespace

int64_t parse_day(const std::string& s) {
  auto num = [&](size_t p, size_t n) {
    int v = 0;
    for (size_t i = p; i < p + n; ++i) {
      if (s[i] < '0' || s[i] > '9') throw std::invalid_argument("not a date (YYYY-MM-DD): '" + s + "'");
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int y, m, d;
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') {
    y = num(0, 4), m = num(5, 2), d = num(8, 2);
  } else if (s.size() == 8) {
    y = num(0, 4), m = num(4, 2), d = num(6, 2);
  } else {
    throw std::invalid_argument("not a date (YYYY-MM-DD): '" + s + "'");
  }
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
    throw std::invalid_argument("not a valid date: '" + s + "'");
  return days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

Calendar cdnow_calendar() { return {parse_day("1997-01-01"), parse_day("1997-09-30"), parse_day("1998-06-30")}; }

std::vector<CustomerLog> customer_logs(const disco::data::Dataset& ds) {
  std::vector<CustomerLog> logs(ds.user_ids.size());
  for (size_t u = 0; u < logs.size(); ++u) logs[u].id = ds.user_ids[u];
  for (const auto& e : ds.events) {
    if (e.type != disco::data::EventType::Purchase || e.user >= logs.size()) continue;
    const int64_t day = e.ts_ms >= 0 ? e.ts_ms / kDayMs : -((-e.ts_ms + kDayMs - 1) / kDayMs);
    logs[e.user].days.push_back(day);
  }
  logs.erase(std::remove_if(logs.begin(), logs.end(), [](const CustomerLog& l) { return l.days.empty(); }), logs.end());
  std::sort(logs.begin(), logs.end(), [](const CustomerLog& a, const CustomerLog& b) {
    return a.id.size() != b.id.size() ? a.id.size() < b.id.size() : a.id < b.id;
  });
  return logs;
}

namespace {
// distinct sorted days; false when the customer is left out (no calibration history)
bool distinct_days(const CustomerLog& l, const Calendar& cal, std::vector<int64_t>& d, RfmSummary* s) {
  d = l.days;
  std::sort(d.begin(), d.end());
  d.erase(std::unique(d.begin(), d.end()), d.end());
  if (d.empty()) return false;
  if (d.front() < cal.start) {
    if (s) ++s->skipped_early;
    return false;
  }
  if (d.front() > cal.calib_end) {
    if (s) ++s->skipped_late;
    return false;
  }
  return true;
}
}  // namespace

RfmSummary rfm_summary(const std::vector<CustomerLog>& logs, const Calendar& cal) {
  if (!(cal.start <= cal.calib_end && cal.calib_end < cal.holdout_end))
    throw std::invalid_argument("calendar: need start <= calibration end < holdout end");
  RfmSummary s;
  std::vector<int64_t> d;
  for (const auto& l : logs) {
    if (!distinct_days(l, cal, d, &s)) continue;
    Rfm r;
    r.id = l.id;
    const int64_t f = d.front();
    r.T = static_cast<double>(cal.calib_end - f) / 7.0;
    r.t0 = static_cast<double>(f - cal.start) / 7.0;
    for (size_t i = 1; i < d.size(); ++i) {
      if (d[i] <= cal.calib_end) {
        r.x += 1;
        r.t_x = static_cast<double>(d[i] - f) / 7.0;
      } else if (d[i] <= cal.holdout_end) {
        r.holdout += 1;
      }
    }
    s.customers.push_back(std::move(r));
  }
  return s;
}

std::vector<double> cumulative_repeats(const std::vector<CustomerLog>& logs, const Calendar& cal, int weeks) {
  std::vector<double> perweek(static_cast<size_t>(std::max(weeks, 0)), 0.0);
  std::vector<int64_t> d;
  for (const auto& l : logs) {
    if (!distinct_days(l, cal, d, nullptr)) continue;
    for (size_t i = 1; i < d.size(); ++i) {
      const int64_t k = (d[i] - cal.start) / 7;  // 0-based week
      if (k < weeks) perweek[static_cast<size_t>(k)] += 1;
    }
  }
  for (size_t k = 1; k < perweek.size(); ++k) perweek[k] += perweek[k - 1];
  return perweek;
}

double hyp2f1(double a, double b, double c, double z) {
  if (!(std::abs(z) < 1)) throw std::runtime_error("hyp2f1: needs |z| < 1");
  if (c <= 0 && c == std::floor(c)) throw std::runtime_error("hyp2f1: c is a non-positive integer");
  double term = 1, sum = 1;
  for (int n = 0; n < 2000000; ++n) {
    const double ratio = (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
    term *= ratio;
    sum += term;
    if (term == 0) return sum;
    // tail bound: the remaining terms shrink at least geometrically at rate rho < 1
    const double rho = std::max(std::abs(ratio), std::abs(z));
    if (n > 2 && rho < 1 && std::abs(term) * rho / (1 - rho) <= 1e-15 * std::abs(sum)) return sum;
    if (!std::isfinite(sum)) throw std::runtime_error("hyp2f1: overflow");
  }
  throw std::runtime_error("hyp2f1: series did not converge");
}

// ---- BG/NBD -----------------------------------------------------------------------------------
double bgnbd_loglik(const BgNbd& p, double x, double t_x, double T) {
  const double r = p.r, al = p.alpha, a = p.a, b = p.b;
  const double A1 = std::lgamma(r + x) - std::lgamma(r) + r * std::log(al);
  const double A2 = std::lgamma(a + b) + std::lgamma(b + x) - std::lgamma(b) - std::lgamma(a + b + x);
  const double A3 = -(r + x) * std::log(al + T);
  const double A4 = x > 0 ? std::log(a) - std::log(b + x - 1) - (r + x) * std::log(al + t_x) : -kInf;
  return A1 + A2 + log_add(A3, A4);
}

double bgnbd_loglik(const BgNbd& p, const std::vector<Rfm>& c) {
  double s = 0;
  for (const auto& r : c) s += bgnbd_loglik(p, r.x, r.t_x, r.T);
  return s;
}

double bgnbd_expected(const BgNbd& p, double t) {
  if (t <= 0) return 0;
  const double z = t / (p.alpha + t);
  return (p.a + p.b - 1) / (p.a - 1) *
         (1 - std::pow(p.alpha / (p.alpha + t), p.r) * hyp2f1(p.r, p.b, p.a + p.b - 1, z));
}

double bgnbd_p_alive(const BgNbd& p, double x, double t_x, double T) {
  if (x <= 0) return 1;
  return 1 / (1 + p.a / (p.b + x - 1) * std::pow((p.alpha + T) / (p.alpha + t_x), p.r + x));
}

double bgnbd_conditional(const BgNbd& p, double t, double x, double t_x, double T) {
  if (t <= 0) return 0;
  const double r = p.r, al = p.alpha, a = p.a, b = p.b;
  const double z = t / (al + T + t);
  const double head = (a + b + x - 1) / (a - 1);
  const double br = 1 - std::pow((al + T) / (al + T + t), r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z);
  const double den = x > 0 ? 1 + a / (b + x - 1) * std::pow((al + T) / (al + t_x), r + x) : 1;
  return head * br / den;
}

// ---- Pareto/NBD -------------------------------------------------------------------------------
namespace {
// log of A0 (Fader-Hardie's note, eq. 19 and 20): the integral over the dropout time before T.
double pnbd_log_a0(const ParetoNbd& p, double x, double t_x, double T) {
  const double r = p.r, al = p.alpha, s = p.s, be = p.beta, rsx = r + s + x;
  auto term = [&](double t) {
    if (al >= be) {
      const double z = (al - be) / (al + t);
      return std::log(hyp2f1(rsx, s + 1, rsx + 1, z)) - rsx * std::log(al + t);
    }
    const double z = (be - al) / (be + t);
    return std::log(hyp2f1(rsx, r + x, rsx + 1, z)) - rsx * std::log(be + t);
  };
  return log_sub(term(t_x), term(T));
}
}  // namespace

double pnbd_loglik(const ParetoNbd& p, double x, double t_x, double T) {
  const double r = p.r, al = p.alpha, s = p.s, be = p.beta;
  const double head = std::lgamma(r + x) - std::lgamma(r) + r * std::log(al) + s * std::log(be);
  const double alive = -(r + x) * std::log(al + T) - s * std::log(be + T);
  const double dead = std::log(s / (r + s + x)) + pnbd_log_a0(p, x, t_x, T);
  return head + log_add(alive, dead);
}

double pnbd_loglik(const ParetoNbd& p, const std::vector<Rfm>& c) {
  double s = 0;
  for (const auto& r : c) s += pnbd_loglik(p, r.x, r.t_x, r.T);
  return s;
}

namespace {
// (1 - k^(s-1)) / (s-1), with its limit -log k at s = 1
double one_minus_pow_over(double k, double s) {
  if (std::abs(s - 1) < 1e-9) return -std::log(k);
  return (1 - std::pow(k, s - 1)) / (s - 1);
}
}  // namespace

double pnbd_expected(const ParetoNbd& p, double t) {
  if (t <= 0) return 0;
  return p.r * p.beta / p.alpha * one_minus_pow_over(p.beta / (p.beta + t), p.s);
}

double pnbd_p_alive(const ParetoNbd& p, double x, double t_x, double T) {
  const double r = p.r, al = p.alpha, s = p.s, be = p.beta;
  const double l = std::log(s / (r + s + x)) + (r + x) * std::log(al + T) + s * std::log(be + T) +
                   pnbd_log_a0(p, x, t_x, T);
  return 1 / (1 + std::exp(l));
}

double pnbd_conditional(const ParetoNbd& p, double t, double x, double t_x, double T) {
  if (t <= 0) return 0;
  const double r = p.r, al = p.alpha, s = p.s, be = p.beta;
  return (r + x) * (be + T) / (al + T) * one_minus_pow_over((be + T) / (be + T + t), s) * pnbd_p_alive(p, x, t_x, T);
}

// ---- Nelder-Mead ------------------------------------------------------------------------------
std::vector<double> nelder_mead(const std::vector<double>& x0, double step, int max_evals, double tol,
                                const std::function<double(const std::vector<double>&)>& f, int* evals) {
  const size_t n = x0.size();
  std::vector<std::vector<double>> v(n + 1, x0);
  std::vector<double> fv(n + 1);
  int ne = 0;
  auto F = [&](const std::vector<double>& x) {
    ++ne;
    const double y = f(x);
    return std::isfinite(y) ? y : kInf;
  };
  for (size_t i = 0; i < n; ++i) v[i + 1][i] += step;
  for (size_t i = 0; i <= n; ++i) fv[i] = F(v[i]);
  std::vector<size_t> idx(n + 1);
  while (ne < max_evals) {
    for (size_t i = 0; i <= n; ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return fv[a] < fv[b]; });
    const size_t best = idx[0], worst = idx[n], second = idx[n - 1];
    double size = 0;
    for (size_t i = 0; i <= n; ++i)
      for (size_t j = 0; j < n; ++j) size = std::max(size, std::abs(v[i][j] - v[best][j]));
    if (std::isfinite(fv[worst]) && std::abs(fv[worst] - fv[best]) <= tol * (std::abs(fv[best]) + 1e-300) &&
        size < 1e-7)
      break;
    std::vector<double> cen(n, 0.0);
    for (size_t i = 0; i <= n; ++i)
      if (i != worst)
        for (size_t j = 0; j < n; ++j) cen[j] += v[i][j] / static_cast<double>(n);
    auto along = [&](double t) {
      std::vector<double> p(n);
      for (size_t j = 0; j < n; ++j) p[j] = cen[j] + t * (v[worst][j] - cen[j]);
      return p;
    };
    const auto xr = along(-1);
    const double fr = F(xr);
    if (fr < fv[best]) {
      const auto xe = along(-2);
      const double fe = F(xe);
      if (fe < fr) v[worst] = xe, fv[worst] = fe;
      else v[worst] = xr, fv[worst] = fr;
    } else if (fr < fv[second]) {
      v[worst] = xr, fv[worst] = fr;
    } else {
      const bool outside = fr < fv[worst];
      const auto xc = along(outside ? -0.5 : 0.5);
      const double fc = F(xc);
      if (fc < (outside ? fr : fv[worst])) {
        v[worst] = xc, fv[worst] = fc;
      } else {  // shrink toward the best vertex
        for (size_t i = 0; i <= n; ++i) {
          if (i == best) continue;
          for (size_t j = 0; j < n; ++j) v[i][j] = v[best][j] + 0.5 * (v[i][j] - v[best][j]);
          fv[i] = F(v[i]);
        }
      }
    }
  }
  if (evals) *evals += ne;
  return v[static_cast<size_t>(std::min_element(fv.begin(), fv.end()) - fv.begin())];
}

namespace {
// Maximizes sum_g n_g ll(params, g) over log-parameters with restarted Nelder-Mead.
template <class LL>
FitResult fit_groups(const std::vector<Rfm>& c, const FitOptions& opt, LL ll) {
  if (c.empty()) throw std::invalid_argument("fit: no customers");
  const auto g = group(c);
  auto negll = [&](const std::vector<double>& lp) {
    std::vector<double> p(lp.size());
    for (size_t i = 0; i < lp.size(); ++i) {
      if (std::abs(lp[i]) > 30) return kInf;  // parameters within e^-30 .. e^30
      p[i] = std::exp(lp[i]);
    }
    double s = 0;
    try {
      for (const auto& q : g) s += q.n * ll(p, q.x, q.t_x, q.T);
    } catch (const std::exception&) {
      return kInf;
    }
    return std::isfinite(s) ? -s : kInf;
  };
  std::vector<double> x(4, 0.0);
  if (!opt.start.empty()) {
    if (opt.start.size() != 4) throw std::invalid_argument("fit: start needs 4 parameters");
    for (size_t i = 0; i < 4; ++i) x[i] = std::log(opt.start[i]);
  }
  FitResult res;
  double best = negll(x);
  res.evals = 1;
  for (int k = 0; k <= opt.max_restarts; ++k) {
    x = nelder_mead(x, k == 0 ? 0.5 : 0.1, opt.max_evals, opt.tol, negll, &res.evals);
    const double now = negll(x);
    ++res.evals;
    res.restarts = k;
    const bool small = best - now <= 1e-9 * (std::abs(now) + 1);
    best = std::min(best, now);
    if (k > 0 && small) {
      res.converged = true;
      break;
    }
  }
  res.loglik = -best;
  res.params.resize(4);
  for (size_t i = 0; i < 4; ++i) res.params[i] = std::exp(x[i]);
  return res;
}
}  // namespace

FitResult fit_bgnbd(const std::vector<Rfm>& c, const FitOptions& opt) {
  return fit_groups(c, opt, [](const std::vector<double>& p, double x, double t_x, double T) {
    return bgnbd_loglik(BgNbd{p[0], p[1], p[2], p[3]}, x, t_x, T);
  });
}

FitResult fit_pnbd(const std::vector<Rfm>& c, const FitOptions& opt) {
  return fit_groups(c, opt, [](const std::vector<double>& p, double x, double t_x, double T) {
    return pnbd_loglik(ParetoNbd{p[0], p[1], p[2], p[3]}, x, t_x, T);
  });
}

BgNbd as_bgnbd(const FitResult& f) {
  if (f.params.size() != 4) throw std::invalid_argument("as_bgnbd: not a fitted model");
  return {f.params[0], f.params[1], f.params[2], f.params[3]};
}
ParetoNbd as_pnbd(const FitResult& f) {
  if (f.params.size() != 4) throw std::invalid_argument("as_pnbd: not a fitted model");
  return {f.params[0], f.params[1], f.params[2], f.params[3]};
}

// ---- Simulation ---------------------------------------------------------------------------------
std::vector<std::vector<double>> simulate_bgnbd(const BgNbd& p, const std::vector<double>& t0, double end_week,
                                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> lam(p.r, 1 / p.alpha), ga(p.a, 1.0), gb(p.b, 1.0);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  std::vector<std::vector<double>> out(t0.size());
  for (size_t i = 0; i < t0.size(); ++i) {
    const double l = lam(rng);
    const double xa = ga(rng), xb = gb(rng);
    const double drop = xa / (xa + xb);
    double t = t0[i];
    out[i].push_back(t);  // the first purchase
    if (!(l > 0)) continue;
    std::exponential_distribution<double> gap(l);
    while (true) {
      t += gap(rng);
      if (t > end_week) break;
      out[i].push_back(t);
      if (U(rng) < drop) break;  // becomes inactive right after this repeat purchase
    }
  }
  return out;
}

std::vector<std::vector<double>> simulate_pnbd(const ParetoNbd& p, const std::vector<double>& t0, double end_week,
                                               uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> lam(p.r, 1 / p.alpha), mu(p.s, 1 / p.beta);
  std::vector<std::vector<double>> out(t0.size());
  for (size_t i = 0; i < t0.size(); ++i) {
    const double l = lam(rng), m = mu(rng);
    const double death = t0[i] + (m > 0 ? std::exponential_distribution<double>(m)(rng) : kInf);
    double t = t0[i];
    out[i].push_back(t);
    if (!(l > 0)) continue;
    std::exponential_distribution<double> gap(l);
    while (true) {
      t += gap(rng);
      if (t > end_week || t > death) break;
      out[i].push_back(t);
    }
  }
  return out;
}

std::vector<Rfm> rfm_from_times(const std::vector<std::vector<double>>& times, const std::vector<double>& t0,
                                double calib, double end_week) {
  std::vector<Rfm> out(times.size());
  for (size_t i = 0; i < times.size(); ++i) {
    Rfm& r = out[i];
    r.id = std::to_string(i + 1);
    r.t0 = t0[i];
    r.T = calib - t0[i];
    for (size_t k = 1; k < times[i].size(); ++k) {
      const double t = times[i][k];
      if (t <= calib) {
        r.x += 1;
        r.t_x = t - t0[i];
      } else if (t <= end_week) {
        r.holdout += 1;
      }
    }
  }
  return out;
}

}  // namespace disco::eval::timing

// The CDNOW-style evaluation of the purchase-timing models (holdout MAE, totals, conditional
// expectations by calibration frequency, cumulative weekly tracking) and its JSON / HTML / text.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "disco/data/text.h"
#include "disco/eval/html.h"
#include "disco/eval/timing.h"

namespace disco::eval::timing {

namespace {
using disco::data::json_num;
using disco::data::json_str;

std::string fmt(double v, const char* f = "%.4f") {
  if (!std::isfinite(v)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
}  // namespace

TimingEval evaluate_timing(const std::string& name, const std::vector<Rfm>& rfm, const Calendar& cal,
                           std::vector<double> cum_actual, bool pareto) {
  TimingEval e;
  e.name = name;
  e.customers = rfm.size();
  for (const auto& r : rfm) e.calib_repeats += r.x;
  e.bg = fit_bgnbd(rfm);
  const BgNbd bg = as_bgnbd(e.bg);
  ParetoNbd pn{};
  if (pareto) {
    FitOptions o;
    o.start = {0.5, 10, 0.5, 10};
    e.pn = fit_pnbd(rfm, o);
    pn = as_pnbd(e.pn);
  }
  const double th = cal.holdout_weeks();
  const size_t nbins = 8;
  e.by_freq.resize(nbins);
  for (size_t k = 0; k < nbins; ++k) e.by_freq[k].label = k + 1 < nbins ? std::to_string(k) : std::to_string(k) + "+";
  for (const auto& r : rfm) {
    const double pb = bgnbd_conditional(bg, th, r.x, r.t_x, r.T);
    const double pp = pareto ? pnbd_conditional(pn, th, r.x, r.t_x, r.T) : 0;
    const double base = r.T > 0 ? r.x / r.T * th : 0;
    e.mae_bgnbd += std::abs(pb - r.holdout);
    e.mae_pnbd += std::abs(pp - r.holdout);
    e.mae_baseline += std::abs(base - r.holdout);
    e.rmse_bgnbd += (pb - r.holdout) * (pb - r.holdout);
    e.rmse_pnbd += (pp - r.holdout) * (pp - r.holdout);
    e.rmse_baseline += (base - r.holdout) * (base - r.holdout);
    e.total_actual += r.holdout;
    e.total_bgnbd += pb;
    e.total_pnbd += pp;
    e.total_baseline += base;
    FreqBin& b = e.by_freq[std::min(static_cast<size_t>(r.x), nbins - 1)];
    b.n += 1;
    b.actual += r.holdout;
    b.bgnbd += pb;
    b.pnbd += pp;
    b.baseline += base;
  }
  const double n = std::max<double>(1, static_cast<double>(rfm.size()));
  e.mae_bgnbd /= n, e.mae_pnbd /= n, e.mae_baseline /= n;
  e.rmse_bgnbd = std::sqrt(e.rmse_bgnbd / n), e.rmse_pnbd = std::sqrt(e.rmse_pnbd / n);
  e.rmse_baseline = std::sqrt(e.rmse_baseline / n);
  for (auto& b : e.by_freq)
    if (b.n) {
      const double m = static_cast<double>(b.n);
      b.actual /= m, b.bgnbd /= m, b.pnbd /= m, b.baseline /= m;
    }
  if (!pareto) e.mae_pnbd = e.rmse_pnbd = e.total_pnbd = NAN;
  // Tracking: customers grouped by first-purchase time; week k ends on day start + 7k - 1, i.e. at
  // (7k - 1) / 7 weeks from the start in the same clock as t0 and T (T = elapsed time at week 39's end).
  std::map<double, double> cohort;
  for (const auto& r : rfm) cohort[r.t0] += 1;
  e.cum_actual = std::move(cum_actual);
  const size_t weeks = e.cum_actual.size();
  e.cum_bgnbd.assign(weeks, 0.0);
  e.cum_pnbd.assign(pareto ? weeks : 0, 0.0);
  for (size_t k = 0; k < weeks; ++k) {
    const double tend = (7.0 * static_cast<double>(k + 1) - 1) / 7.0;
    for (const auto& [t0, m] : cohort) {
      if (tend - t0 <= 0) continue;
      e.cum_bgnbd[k] += m * bgnbd_expected(bg, tend - t0);
      if (pareto) e.cum_pnbd[k] += m * pnbd_expected(pn, tend - t0);
    }
  }
  return e;
}

namespace {
std::string arr(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + json_num(v[i]);
  return s + "]";
}
std::string fit_json(const FitResult& f, const char* n0, const char* n1, const char* n2, const char* n3) {
  if (f.params.size() != 4) return "null";
  std::ostringstream o;
  o << "{" << json_str(n0) << ":" << json_num(f.params[0]) << "," << json_str(n1) << ":" << json_num(f.params[1])
    << "," << json_str(n2) << ":" << json_num(f.params[2]) << "," << json_str(n3) << ":" << json_num(f.params[3])
    << ",\"loglik\":" << json_num(f.loglik) << ",\"evals\":" << f.evals << ",\"converged\":"
    << (f.converged ? "true" : "false") << "}";
  return o.str();
}
const char* kPublished = "BG/NBD on the 1/10 CDNOW sample (2,357 customers; Fader, Hardie and Lee 2005): "
                         "r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4";
}  // namespace

std::string timing_json(const std::vector<TimingEval>& evals, const Calendar& cal, const std::string& data) {
  std::ostringstream o;
  o << "{\"data\":" << json_str(data) << ",\"calendar\":{\"start_day\":" << cal.start
    << ",\"calibration_end_day\":" << cal.calib_end << ",\"holdout_end_day\":" << cal.holdout_end
    << ",\"holdout_weeks\":" << json_num(cal.holdout_weeks()) << "},\"published\":{\"text\":" << json_str(kPublished)
    << ",\"r\":0.243,\"alpha\":4.414,\"a\":0.793,\"b\":2.426},\"evaluations\":[";
  for (size_t i = 0; i < evals.size(); ++i) {
    const auto& e = evals[i];
    o << (i ? "," : "") << "{\"name\":" << json_str(e.name) << ",\"customers\":" << e.customers
      << ",\"calibration_repeats\":" << json_num(e.calib_repeats)
      << ",\"bgnbd\":" << fit_json(e.bg, "r", "alpha", "a", "b")
      << ",\"pareto_nbd\":" << fit_json(e.pn, "r", "alpha", "s", "beta") << ",\"holdout\":{\"mae\":{\"bgnbd\":"
      << json_num(e.mae_bgnbd) << ",\"pareto_nbd\":" << json_num(e.mae_pnbd) << ",\"baseline\":" << json_num(e.mae_baseline)
      << "},\"rmse\":{\"bgnbd\":" << json_num(e.rmse_bgnbd) << ",\"pareto_nbd\":" << json_num(e.rmse_pnbd)
      << ",\"baseline\":" << json_num(e.rmse_baseline) << "},\"total\":{\"actual\":" << json_num(e.total_actual)
      << ",\"bgnbd\":" << json_num(e.total_bgnbd) << ",\"pareto_nbd\":" << json_num(e.total_pnbd)
      << ",\"baseline\":" << json_num(e.total_baseline) << "}},\"by_frequency\":[";
    for (size_t k = 0; k < e.by_freq.size(); ++k) {
      const auto& b = e.by_freq[k];
      o << (k ? "," : "") << "{\"x\":" << json_str(b.label) << ",\"n\":" << b.n << ",\"actual\":" << json_num(b.actual)
        << ",\"bgnbd\":" << json_num(b.bgnbd) << ",\"pareto_nbd\":" << json_num(e.pn.params.empty() ? NAN : b.pnbd)
        << ",\"baseline\":" << json_num(b.baseline) << "}";
    }
    o << "],\"tracking\":{\"week\":[";
    for (size_t k = 0; k < e.cum_actual.size(); ++k) o << (k ? "," : "") << k + 1;
    o << "],\"actual\":" << arr(e.cum_actual) << ",\"bgnbd\":" << arr(e.cum_bgnbd)
      << ",\"pareto_nbd\":" << arr(e.cum_pnbd) << "}}";
  }
  o << "]}\n";
  return o.str();
}

std::string timing_text(const std::vector<TimingEval>& evals) {
  std::ostringstream o;
  o << "published: " << kPublished << "\n";
  for (const auto& e : evals) {
    o << "\n== " << e.name << ": " << e.customers << " customers, " << fmt(e.calib_repeats, "%.0f")
      << " calibration repeat transactions\n";
    const auto& p = e.bg.params;
    o << "BG/NBD      r " << fmt(p[0]) << "  alpha " << fmt(p[1]) << "  a " << fmt(p[2]) << "  b " << fmt(p[3])
      << "  LL " << fmt(e.bg.loglik, "%.2f") << (e.bg.converged ? "" : "  (not converged)") << "\n";
    if (!e.pn.params.empty()) {
      const auto& q = e.pn.params;
      o << "Pareto/NBD  r " << fmt(q[0]) << "  alpha " << fmt(q[1]) << "  s " << fmt(q[2]) << "  beta " << fmt(q[3])
        << "  LL " << fmt(e.pn.loglik, "%.2f") << (e.pn.converged ? "" : "  (not converged)") << "\n";
    }
    o << "holdout     actual " << fmt(e.total_actual, "%.0f") << "  BG/NBD " << fmt(e.total_bgnbd, "%.1f")
      << "  Pareto/NBD " << fmt(e.total_pnbd, "%.1f") << "  baseline " << fmt(e.total_baseline, "%.1f") << "\n";
    o << "per-customer MAE  BG/NBD " << fmt(e.mae_bgnbd) << "  Pareto/NBD " << fmt(e.mae_pnbd) << "  baseline "
      << fmt(e.mae_baseline) << "   (RMSE " << fmt(e.rmse_bgnbd) << " / " << fmt(e.rmse_pnbd) << " / "
      << fmt(e.rmse_baseline) << ")\n";
    o << "x (calibration)    n   actual   BG/NBD   Pareto/NBD  baseline   (mean holdout transactions)\n";
    for (const auto& b : e.by_freq) {
      char line[160];
      std::snprintf(line, sizeof line, "%-10s %9zu %8.3f %8.3f %12s %9.3f\n", b.label.c_str(), b.n, b.actual, b.bgnbd,
                    e.pn.params.empty() ? "n/a" : fmt(b.pnbd, "%.3f").c_str(), b.baseline);
      o << line;
    }
    o << "cumulative repeat transactions  week: actual / BG/NBD / Pareto/NBD\n";
    for (size_t k = 0; k < e.cum_actual.size(); ++k)
      if ((k + 1) % 13 == 0 || k + 1 == e.cum_actual.size())
        o << "  " << k + 1 << ": " << fmt(e.cum_actual[k], "%.0f") << " / " << fmt(e.cum_bgnbd[k], "%.1f") << " / "
          << (e.cum_pnbd.empty() ? "n/a" : fmt(e.cum_pnbd[k], "%.1f")) << "\n";
  }
  return o.str();
}

std::string timing_html(const std::vector<TimingEval>& evals, const Calendar& cal, const std::string& data) {
  using html::escape;
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>disco-eval timing</title>\n<style>\n"
       "body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1200px}\n"
       "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}\n"
       "table{border-collapse:collapse;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}\n"
       "th{background:#f5f5f5}td.l,th.l{text-align:left}\n"
       ".ct{font-size:14px;font-weight:600}.tick{font-size:11px;fill:#555}.lbl{font-size:12px}\n"
       ".grid{stroke:#e5e5e5;stroke-width:1}.charts{display:flex;flex-wrap:wrap;gap:16px}\n"
       ".charts svg{border:1px solid #eee;background:#fff}\n"
       "</style></head><body>\n<h1>Purchase timing: BG/NBD and Pareto/NBD</h1>\n<p>Data "
    << escape(data) << "; calibration " << fmt(static_cast<double>(cal.calib_end - cal.start + 1) / 7.0, "%.1f")
    << " weeks, holdout " << fmt(cal.holdout_weeks(), "%.1f")
    << " weeks; transactions on one day count as one. Published: " << escape(kPublished) << ".</p>\n";
  for (const auto& e : evals) {
    o << "<h2>" << escape(e.name) << " (" << e.customers << " customers)</h2>\n<table><tr><th class=\"l\">model</th>"
      << "<th>r</th><th>alpha</th><th>a / s</th><th>b / beta</th><th>log-likelihood</th></tr>";
    auto prow = [&](const char* m, const FitResult& f) {
      if (f.params.size() != 4) return;
      o << "<tr><td class=\"l\">" << m << "</td>";
      for (double v : f.params) o << "<td>" << fmt(v) << "</td>";
      o << "<td>" << fmt(f.loglik, "%.2f") << "</td></tr>";
    };
    prow("BG/NBD", e.bg);
    prow("Pareto/NBD", e.pn);
    o << "</table>\n<table><tr><th class=\"l\">holdout</th><th>actual</th><th>BG/NBD</th><th>Pareto/NBD</th>"
         "<th>baseline (x/T &times; holdout)</th></tr><tr><td class=\"l\">total transactions</td><td>"
      << fmt(e.total_actual, "%.0f") << "</td><td>" << fmt(e.total_bgnbd, "%.1f") << "</td><td>"
      << fmt(e.total_pnbd, "%.1f") << "</td><td>" << fmt(e.total_baseline, "%.1f")
      << "</td></tr><tr><td class=\"l\">per-customer MAE</td><td></td><td>" << fmt(e.mae_bgnbd) << "</td><td>"
      << fmt(e.mae_pnbd) << "</td><td>" << fmt(e.mae_baseline)
      << "</td></tr><tr><td class=\"l\">per-customer RMSE</td><td></td><td>" << fmt(e.rmse_bgnbd) << "</td><td>"
      << fmt(e.rmse_pnbd) << "</td><td>" << fmt(e.rmse_baseline) << "</td></tr></table>\n";
    o << "<table><tr><th class=\"l\">calibration x</th><th>customers</th><th>actual</th><th>BG/NBD</th>"
         "<th>Pareto/NBD</th><th>baseline</th></tr>";
    for (const auto& b : e.by_freq)
      o << "<tr><td class=\"l\">" << escape(b.label) << "</td><td>" << b.n << "</td><td>" << fmt(b.actual, "%.3f")
        << "</td><td>" << fmt(b.bgnbd, "%.3f") << "</td><td>"
        << (e.pn.params.empty() ? "n/a" : fmt(b.pnbd, "%.3f")) << "</td><td>" << fmt(b.baseline, "%.3f") << "</td></tr>";
    o << "</table><p>Mean holdout transactions by calibration frequency.</p>\n<div class=\"charts\">";
    std::vector<std::pair<std::string, std::vector<double>>> series{{"actual", e.cum_actual}, {"BG/NBD", e.cum_bgnbd}};
    if (!e.cum_pnbd.empty()) series.emplace_back("Pareto/NBD", e.cum_pnbd);
    o << html::svg_lines(e.name + ": cumulative repeat transactions", series, "week");
    for (auto& [label, v] : series)  // the same, week by week
      for (size_t k = v.size(); k-- > 1;) v[k] -= v[k - 1];
    o << html::svg_lines(e.name + ": weekly repeat transactions", series, "week")
      << "</div>\n<p>Model: the sum over customers of E[X(t - t0)] for each customer's first purchase t0. Calibration "
         "ends at week "
      << fmt(static_cast<double>(cal.calib_end - cal.start + 1) / 7.0, "%.0f") << ".</p>\n";
  }
  o << "</body></html>\n";
  return o.str();
}

}  // namespace disco::eval::timing

// JSON and HTML of disco-eval ope / ab / gate (self-contained: inline CSS and SVG, no network).
#include "disco/eval/ope_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "disco/eval/html.h"

namespace disco::eval::report {

using nlohmann::json;

namespace {

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string fmt(double v, const char* f = "%.6g") {
  if (!std::isfinite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string esc(const std::string& s) { return html::escape(s); }

std::string pct_of(double v) { return std::isfinite(v) ? fmt(100 * v, "%+.2f") + "%" : "n/a"; }

const char* kCss =
    "body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1100px}\n"
    "h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}\n"
    "table{border-collapse:collapse;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}\n"
    "th{background:#f5f5f5}td.l,th.l{text-align:left}.ct{font-size:14px;font-weight:600}.tick{font-size:11px;fill:#555}\n"
    ".lbl{font-size:12px}.grid{stroke:#e5e5e5;stroke-width:1}.charts{display:flex;flex-wrap:wrap;gap:16px}\n"
    ".charts svg{border:1px solid #eee;background:#fff}.bad{color:#b00}.good{color:#070}.verdict{font-size:16px;font-weight:600}\n";

std::string page_head(const Meta& m) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << esc(m.title) << "</title>\n<style>\n"
    << kCss << "</style></head><body>\n<h1>" << esc(m.title) << "</h1>\n";
  if (!m.items.empty()) {
    o << "<table>";
    for (const auto& [k, v] : m.items) o << "<tr><th class=\"l\">" << esc(k) << "</th><td class=\"l\">" << esc(v) << "</td></tr>";
    o << "</table>\n";
  }
  if (!m.notes.empty()) {
    o << "<ul>";
    for (const auto& n : m.notes) o << "<li>" << esc(n) << "</li>";
    o << "</ul>\n";
  }
  return o.str();
}

// Ticks over [lo, hi] with a nice step.
std::vector<double> ticks(double& lo, double& hi) {
  if (!(hi > lo)) hi = lo + (std::abs(lo) > 0 ? std::abs(lo) * 0.1 : 1.0);
  const double step = html::nice_axis(hi - lo).second;
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  std::vector<double> t;
  for (double v = lo; v <= hi + step * 1e-9; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

struct Interval {
  std::string label;
  double value, lo, hi;
  size_t color;
};

// Point estimates with interval whiskers; an optional dashed reference line.
std::string svg_intervals(const std::string& title, const std::vector<Interval>& rows, double ref, const std::string& ref_label) {
  const int label_w = 200, plot_w = 460, row_h = 24, top = 34, bottom = 34;
  const int h = top + static_cast<int>(rows.size()) * row_h + bottom, w = label_w + plot_w + 30;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& r : rows)
    for (double v : {r.value, r.lo, r.hi})
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (std::isfinite(ref)) lo = std::min(lo, ref), hi = std::max(hi, ref);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  const auto tk = ticks(lo, hi);
  auto X = [&](double v) { return label_w + plot_w * (v - lo) / (hi - lo); };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << ' ' << h
    << "\" role=\"img\" aria-label=\"" << esc(title) << "\"><text x=\"4\" y=\"18\" class=\"ct\">" << esc(title) << "</text>";
  const int y_axis = h - bottom;
  for (double t : tk)
    o << "<line x1=\"" << X(t) << "\" y1=\"" << top - 6 << "\" x2=\"" << X(t) << "\" y2=\"" << y_axis << "\" class=\"grid\"/><text x=\""
      << X(t) << "\" y=\"" << y_axis + 16 << "\" class=\"tick\" text-anchor=\"middle\">" << fmt(t, "%.4g") << "</text>";
  if (std::isfinite(ref))
    o << "<line x1=\"" << X(ref) << "\" y1=\"" << top - 6 << "\" x2=\"" << X(ref) << "\" y2=\"" << y_axis
      << "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/><text x=\"" << X(ref) + 3 << "\" y=\"" << top - 8 << "\" class=\"tick\">"
      << esc(ref_label) << " " << fmt(ref, "%.4g") << "</text>";
  int y = top;
  for (const auto& r : rows) {
    const int cy = y + row_h / 2;
    o << "<text x=\"" << label_w - 8 << "\" y=\"" << cy + 4 << "\" class=\"lbl\" text-anchor=\"end\">" << esc(r.label) << "</text>";
    if (std::isfinite(r.lo) && std::isfinite(r.hi))
      o << "<line x1=\"" << X(r.lo) << "\" y1=\"" << cy << "\" x2=\"" << X(r.hi) << "\" y2=\"" << cy << "\" stroke=\""
        << html::color(r.color) << "\" stroke-width=\"2\"/>";
    if (std::isfinite(r.value))
      o << "<circle cx=\"" << X(r.value) << "\" cy=\"" << cy << "\" r=\"4\" fill=\"" << html::color(r.color) << "\"><title>"
        << esc(r.label) << ": " << fmt(r.value) << " [" << fmt(r.lo) << ", " << fmt(r.hi) << "]</title></circle>";
    y += row_h;
  }
  o << "</svg>";
  return o.str();
}

// Histogram of importance weights: a bar for w = 0, then equal bins over (0, max].
std::string svg_histogram(const std::string& title, uint64_t zeros, const std::vector<uint64_t>& bins, double width) {
  const int w = 640, h = 260, left = 56, right = 16, top = 30, bottom = 40;
  const int pw = w - left - right, ph = h - top - bottom;
  const size_t nb = bins.size() + 1;
  uint64_t mx = zeros;
  for (uint64_t b : bins) mx = std::max(mx, b);
  const auto [ymax, ystep] = html::nice_axis(static_cast<double>(std::max<uint64_t>(mx, 1)));
  const double bw = static_cast<double>(pw) / static_cast<double>(nb);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << ' ' << h
    << "\" role=\"img\" aria-label=\"" << esc(title) << "\"><text x=\"4\" y=\"18\" class=\"ct\">" << esc(title) << "</text>";
  for (double t = 0; t <= ymax + 1e-9; t += ystep) {
    const double y = top + ph * (1 - t / ymax);
    o << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << left + pw << "\" y2=\"" << y << "\" class=\"grid\"/><text x=\""
      << left - 4 << "\" y=\"" << y + 4 << "\" class=\"tick\" text-anchor=\"end\">" << fmt(t, "%.0f") << "</text>";
  }
  for (size_t k = 0; k < nb; ++k) {
    const uint64_t c = k == 0 ? zeros : bins[k - 1];
    const double bh = ph * static_cast<double>(c) / ymax;
    const double x = left + bw * static_cast<double>(k);
    const std::string range = k == 0 ? "w = 0" : "w in (" + fmt(width * static_cast<double>(k - 1), "%.3g") + ", " +
                                                     fmt(width * static_cast<double>(k), "%.3g") + "]";
    o << "<rect x=\"" << x + 1 << "\" y=\"" << top + ph - bh << "\" width=\"" << std::max(1.0, bw - 2) << "\" height=\"" << bh
      << "\" fill=\"" << (k == 0 ? "#bab0ac" : html::color(0)) << "\"><title>" << esc(range) << ": " << c << " rows</title></rect>";
  }
  for (size_t k = 0; k < nb; k += std::max<size_t>(1, nb / 8)) {
    const double x = left + bw * (static_cast<double>(k) + 0.5);
    o << "<text x=\"" << x << "\" y=\"" << top + ph + 14 << "\" class=\"tick\" text-anchor=\"middle\">"
      << (k == 0 ? std::string("0") : fmt(width * (static_cast<double>(k) - 0.5), "%.3g")) << "</text>";
  }
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << h - 6 << "\" class=\"tick\" text-anchor=\"middle\">importance weight "
    << "pi_e(a|x) / pi_b(a|x) (first bar: weight 0)</text></svg>";
  return o.str();
}

// A series over days with its interval as a band and a zero line.
std::string svg_timeline(const std::string& title, const std::vector<ab::DayPoint>& pts) {
  const int w = 680, h = 300, left = 64, right = 20, top = 30, bottom = 40;
  const int pw = w - left - right, ph = h - top - bottom;
  double lo = 0, hi = 0;
  for (const auto& p : pts)
    for (double v : {p.lift, p.lo, p.hi})
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  const auto tk = ticks(lo, hi);
  const double n = static_cast<double>(std::max<size_t>(pts.size(), 2) - 1);
  auto X = [&](size_t i) { return left + pw * static_cast<double>(i) / n; };
  auto Y = [&](double v) { return top + ph * (1 - (v - lo) / (hi - lo)); };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << ' ' << h
    << "\" role=\"img\" aria-label=\"" << esc(title) << "\"><text x=\"4\" y=\"18\" class=\"ct\">" << esc(title) << "</text>";
  for (double t : tk)
    o << "<line x1=\"" << left << "\" y1=\"" << Y(t) << "\" x2=\"" << left + pw << "\" y2=\"" << Y(t) << "\" class=\"grid\"/><text x=\""
      << left - 4 << "\" y=\"" << Y(t) + 4 << "\" class=\"tick\" text-anchor=\"end\">" << fmt(t, "%.4g") << "</text>";
  o << "<line x1=\"" << left << "\" y1=\"" << Y(0) << "\" x2=\"" << left + pw << "\" y2=\"" << Y(0) << "\" stroke=\"#888\"/>";
  std::ostringstream up, down, line;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (std::isfinite(pts[i].hi) && std::isfinite(pts[i].lo)) {
      up << X(i) << ',' << Y(pts[i].hi) << ' ';
      down.str(std::to_string(X(i)) + "," + std::to_string(Y(pts[i].lo)) + " " + down.str());
    }
    if (std::isfinite(pts[i].lift)) line << X(i) << ',' << Y(pts[i].lift) << ' ';
  }
  if (!up.str().empty())
    o << "<polygon points=\"" << up.str() << down.str() << "\" fill=\"" << html::color(0) << "\" fill-opacity=\"0.18\"/>";
  o << "<polyline fill=\"none\" stroke=\"" << html::color(0) << "\" stroke-width=\"2\" points=\"" << line.str() << "\"/>";
  for (size_t i = 0; i < pts.size(); ++i)
    if (std::isfinite(pts[i].lift))
      o << "<circle cx=\"" << X(i) << "\" cy=\"" << Y(pts[i].lift) << "\" r=\"2.5\" fill=\"" << html::color(0) << "\"><title>day "
        << pts[i].day + 1 << ": lift " << fmt(pts[i].lift) << " [" << fmt(pts[i].lo) << ", " << fmt(pts[i].hi) << "], "
        << pts[i].shoppers_disco << " / " << pts[i].shoppers_holdout << " shoppers</title></circle>";
  const size_t xstep = std::max<size_t>(1, pts.size() / 10);
  for (size_t i = 0; i < pts.size(); i += xstep)
    o << "<text x=\"" << X(i) << "\" y=\"" << top + ph + 16 << "\" class=\"tick\" text-anchor=\"middle\">" << pts[i].day + 1 << "</text>";
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << h - 6 << "\" class=\"tick\" text-anchor=\"middle\">day (cumulative)</text></svg>";
  return o.str();
}

std::string estimates_table(const ope::OpeResult& r) {
  std::ostringstream o;
  const int pct = static_cast<int>(std::lround(100 * (1 - r.alpha)));
  o << "<table><tr><th class=\"l\">estimator</th><th>estimate</th><th>" << pct << "% low</th><th>" << pct
    << "% high</th><th>lambda (SLOPE)</th></tr>";
  for (const auto& e : r.estimates)
    o << "<tr><td class=\"l\">" << ope::to_string(e.estimator) << "</td><td>" << fmt(e.value) << "</td><td>" << fmt(e.lo) << "</td><td>"
      << fmt(e.hi) << "</td><td>" << (std::isnan(e.lambda) ? std::string("") : fmt(e.lambda)) << "</td></tr>";
  o << "</table>";
  return o.str();
}

std::string diagnostics_table(const ope::Diagnostics& d) {
  std::ostringstream o;
  o << "<table>";
  auto row = [&](const std::string& k, const std::string& v) { o << "<tr><th class=\"l\">" << esc(k) << "</th><td>" << esc(v) << "</td></tr>"; };
  row("rows / clusters (shoppers)", std::to_string(d.rows) + " / " + std::to_string(d.clusters));
  row("logged policy's value (mean reward)", fmt(d.logged_value));
  row("effective sample size", fmt(d.ess, "%.1f") + " (" + fmt(100 * d.ess_share, "%.2f") + "% of rows)");
  row("min logged propensity", fmt(d.min_propensity));
  row("max / mean importance weight", fmt(d.max_weight) + " / " + fmt(d.mean_weight));
  row("rows with zero candidate probability", fmt(100 * d.zero_prob_share, "%.2f") + "%");
  row("candidate mass on arms the log never shows", fmt(100 * d.unlogged_mass, "%.2f") + "%");
  o << "</table>";
  return o.str();
}

}  // namespace

json meta_json(const Meta& m) {
  json j;
  j["title"] = m.title;
  json items = json::object();
  for (const auto& [k, v] : m.items) items[k] = v;
  j["items"] = items;
  j["notes"] = m.notes;
  return j;
}

json to_json(const ope::OpeResult& r) {
  json j;
  json est = json::array();
  for (const auto& e : r.estimates) {
    json x{{"estimator", ope::to_string(e.estimator)}, {"value", num(e.value)}, {"lo", num(e.lo)}, {"hi", num(e.hi)}};
    if (!std::isnan(e.lambda)) x["lambda"] = std::isinf(e.lambda) ? json("inf") : json(e.lambda);
    est.push_back(x);
  }
  j["estimates"] = est;
  j["interval"] = {{"method", "percentile bootstrap over clusters (shoppers); reward model and SLOPE lambda held fixed"},
                   {"level", 1 - r.alpha},
                   {"resamples", r.bootstrap},
                   {"seed", r.seed}};
  const auto& d = r.diag;
  j["diagnostics"] = {{"rows", d.rows},
                      {"clusters", d.clusters},
                      {"logged_value", num(d.logged_value)},
                      {"ess", num(d.ess)},
                      {"ess_share", num(d.ess_share)},
                      {"min_propensity", num(d.min_propensity)},
                      {"max_weight", num(d.max_weight)},
                      {"mean_weight", num(d.mean_weight)},
                      {"zero_prob_share", num(d.zero_prob_share)},
                      {"unlogged_mass", num(d.unlogged_mass)},
                      {"unlogged_arms", d.unlogged_arms},
                      {"weight_histogram", {{"zero", d.zero_weights}, {"bin_width", num(d.bin_width)}, {"counts", d.weight_bins}}}};
  if (r.has_reward_model)
    j["reward_model"] = {{"description", r.model.description},
                         {"folds", r.model.folds},
                         {"logistic", r.model.logistic},
                         {"mse", num(r.model.mse)},
                         {"mse_constant", num(r.model.mse_constant)},
                         {"skill", num(r.model.skill)},
                         {"calibration", num(r.model.calibration)},
                         {"constant_groups", r.model.constant_groups}};
  return j;
}

json to_json(const ab::AbResult& r) {
  json j;
  j["decisions"] = r.decisions;
  j["decisions_disco"] = r.decisions_disco;
  j["decisions_holdout"] = r.decisions_holdout;
  j["shoppers"] = r.shoppers;
  j["shoppers_disco"] = r.shoppers_disco;
  j["shoppers_holdout"] = r.shoppers_holdout;
  j["mixed_shoppers"] = r.mixed_shoppers;
  j["holdout_share"] = num(r.holdout_share);
  j["days"] = num(r.days);
  j["shoppers_per_day"] = num(r.shoppers_per_day);
  j["alpha"] = r.alpha;
  j["power"] = r.power;
  json ms = json::array();
  for (const auto& m : r.metrics)
    ms.push_back({{"metric", m.metric}, {"unit", m.unit}, {"disco", num(m.disco)}, {"holdout", num(m.holdout)},
                  {"lift", num(m.lift)}, {"se", num(m.se)}, {"lo", num(m.lo)}, {"hi", num(m.hi)}, {"df", num(m.df)},
                  {"rel_lift", num(m.rel_lift)}, {"rel_lo", num(m.rel_lo)}, {"rel_hi", num(m.rel_hi)},
                  {"p_value", num(m.p_value)}, {"sd_disco", num(m.sd_disco)}, {"sd_holdout", num(m.sd_holdout)}});
  j["metrics"] = ms;
  json pw = json::array();
  for (const auto& p : r.power_table)
    pw.push_back({{"metric", p.metric}, {"label", p.label}, {"rel_lift", num(p.rel_lift)}, {"abs_lift", num(p.abs_lift)},
                  {"shoppers_needed", num(p.shoppers_needed)}, {"days_needed", num(p.days_needed)},
                  {"more_days", std::isinf(p.more_days) ? json("inf") : num(p.more_days)}});
  j["power_table"] = pw;
  json tl = json::array();
  for (const auto& p : r.timeline)
    tl.push_back({{"day", p.day}, {"shoppers_disco", p.shoppers_disco}, {"shoppers_holdout", p.shoppers_holdout},
                  {"disco", num(p.disco)}, {"holdout", num(p.holdout)}, {"lift", num(p.lift)}, {"lo", num(p.lo)}, {"hi", num(p.hi)}});
  j["timeline_margin_per_shopper"] = tl;
  j["notes"] = r.notes;
  return j;
}

json to_json(const gate::GateResult& g) {
  json j;
  j["verdict"] = g.verdict == gate::Verdict::Promote ? "promote" : "hold";
  j["line"] = g.line;
  j["estimator"] = ope::to_string(g.estimator);
  j["reward_model_poor"] = g.model_poor;
  j["candidate_lo"] = num(g.candidate_lo);
  j["candidate_value"] = num(g.candidate_value);
  j["candidate_hi"] = num(g.candidate_hi);
  j["current_value"] = num(g.current_value);
  j["candidate"] = to_json(g.candidate);
  j["current"] = to_json(g.current);
  return j;
}

std::string ope_html(const Meta& m, const ope::OpeResult& r) {
  std::ostringstream o;
  o << page_head(m);
  o << "<h2>Estimates</h2>" << estimates_table(r);
  std::vector<Interval> iv;
  for (size_t k = 0; k < r.estimates.size(); ++k) {
    const auto& e = r.estimates[k];
    iv.push_back({ope::to_string(e.estimator), e.value, e.lo, e.hi, k});
  }
  const int pct = static_cast<int>(std::lround(100 * (1 - r.alpha)));
  o << "<div class=\"charts\">" << svg_intervals("candidate's value with " + std::to_string(pct) + "% intervals", iv, r.diag.logged_value, "logged")
    << "</div>\n";
  if (r.has_reward_model)
    o << "<p>Reward model: " << esc(r.model.description) << "; out-of-fold skill " << fmt(r.model.skill, "%.4f")
      << " (1 - MSE / MSE of the training mean), calibration " << fmt(r.model.calibration, "%.3f") << ".</p>\n";
  o << "<h2>Diagnostics</h2>" << diagnostics_table(r.diag);
  o << "<div class=\"charts\">" << svg_histogram("importance weights", r.diag.zero_weights, r.diag.weight_bins, r.diag.bin_width)
    << "</div>\n</body></html>\n";
  return o.str();
}

std::string ab_html(const Meta& m, const ab::AbResult& r) {
  std::ostringstream o;
  o << page_head(m);
  const int pct = static_cast<int>(std::lround(100 * (1 - r.alpha)));
  o << "<p>" << r.shoppers_disco << " disco and " << r.shoppers_holdout << " holdout shoppers (holdout share "
    << fmt(100 * r.holdout_share, "%.1f") << "%), " << r.decisions << " decisions over " << fmt(r.days, "%.0f") << " days.</p>";
  o << "<h2>Lift of disco over the holdout</h2><table><tr><th class=\"l\">metric</th><th class=\"l\">unit</th><th>disco</th><th>holdout</th>"
    << "<th>lift</th><th>" << pct << "% interval</th><th>relative</th><th>" << pct << "% interval</th><th>p</th></tr>";
  for (const auto& x : r.metrics)
    o << "<tr><td class=\"l\">" << esc(x.metric) << "</td><td class=\"l\">" << esc(x.unit) << "</td><td>" << fmt(x.disco) << "</td><td>"
      << fmt(x.holdout) << "</td><td>" << fmt(x.lift) << "</td><td>[" << fmt(x.lo) << ", " << fmt(x.hi) << "]</td><td>"
      << pct_of(x.rel_lift) << "</td><td>[" << pct_of(x.rel_lo) << ", " << pct_of(x.rel_hi) << "]</td><td>"
      << fmt(x.p_value, "%.3g") << "</td></tr>";
  o << "</table>\n<div class=\"charts\">" << svg_timeline("margin per shopper: disco - holdout, cumulative, with " +
                                                               std::to_string(pct) + "% interval", r.timeline)
    << "</div>\n";
  o << "<h2>Days to detect a lift</h2><p>Shoppers needed for a two-sided test at " << fmt(100 * r.alpha, "%.0f")
    << "% with " << fmt(100 * r.power, "%.0f") << "% power at the observed spread and holdout share; days at "
    << fmt(r.shoppers_per_day, "%.1f") << " new shoppers a day.</p><table><tr><th class=\"l\">metric</th><th>lift</th><th>absolute</th>"
    << "<th>shoppers needed</th><th>days needed</th><th>more days</th></tr>";
  for (const auto& p : r.power_table)
    o << "<tr><td class=\"l\">" << esc(p.metric) << "</td><td>" << esc(p.label == "observed" ? "observed " + pct_of(p.rel_lift) : p.label)
      << "</td><td>" << fmt(p.abs_lift) << "</td><td>" << fmt(p.shoppers_needed, "%.0f") << "</td><td>" << fmt(p.days_needed, "%.1f")
      << "</td><td>" << fmt(p.more_days, "%.0f") << "</td></tr>";
  o << "</table>\n</body></html>\n";
  return o.str();
}

std::string gate_html(const Meta& m, const gate::GateResult& g) {
  std::ostringstream o;
  o << page_head(m);
  o << "<p class=\"verdict " << (g.verdict == gate::Verdict::Promote ? "good" : "bad") << "\">" << esc(g.line) << "</p>\n";
  std::vector<Interval> iv;
  size_t k = 0;
  for (const auto* r : {&g.candidate, &g.current}) {
    const std::string who = k == 0 ? "candidate " : "current ";
    for (const auto& e : r->estimates) iv.push_back({who + ope::to_string(e.estimator), e.value, e.lo, e.hi, k});
    ++k;
  }
  o << "<div class=\"charts\">" << svg_intervals("candidate vs current policy", iv, g.current_value,
                                                 std::string("current ") + ope::to_string(g.estimator))
    << "</div>\n";
  o << "<h2>Candidate</h2>" << estimates_table(g.candidate) << diagnostics_table(g.candidate.diag);
  o << "<div class=\"charts\">" << svg_histogram("candidate's importance weights", g.candidate.diag.zero_weights,
                                                 g.candidate.diag.weight_bins, g.candidate.diag.bin_width)
    << "</div>";
  o << "<h2>Current policy</h2>" << estimates_table(g.current) << diagnostics_table(g.current.diag);
  if (g.candidate.has_reward_model)
    o << "<p>Reward model: " << esc(g.candidate.model.description) << "; out-of-fold skill " << fmt(g.candidate.model.skill, "%.4f")
      << ".</p>";
  o << "</body></html>\n";
  return o.str();
}

void write_file(const std::string& path, const std::string& text) {
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error("cannot open " + path + " for writing");
  f << text;
  f.close();
  if (!f) throw std::runtime_error("error writing " + path);
}

}  // namespace disco::eval::report

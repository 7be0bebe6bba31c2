#include "disco/eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "disco/data/text.h"
#include "disco/eval/html.h"

namespace disco::eval {

void MetricRow::set(const std::string& name, double v) {
  for (auto& [k, x] : metrics)
    if (k == name) {
      x = v;
      return;
    }
  metrics.emplace_back(name, v);
}

const double* MetricRow::get(const std::string& name) const {
  for (const auto& [k, x] : metrics)
    if (k == name) return &x;
  return nullptr;
}

void add_ranking_metrics(MetricRow& row, const RankingMetrics& m) {
  for (const auto& a : m.at) {
    const std::string k = std::to_string(a.k);
    row.set("HR@" + k, a.hr);
    row.set("MRR@" + k, a.mrr);
    row.set("NDCG@" + k, a.ndcg);
  }
  row.cases = m.cases;
}

std::vector<std::string> Report::metric_names() const {
  std::vector<std::string> names;
  for (const auto& r : rows)
    for (const auto& [k, v] : r.metrics)
      if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
  return names;
}

namespace {

std::string fmt(double v, const char* f = "%.4f") {
  if (!std::isfinite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

using disco::data::json_str;

using disco::data::json_num;

std::string html_esc(std::string_view s) { return disco::data::html_escape(s); }

const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
const char* color(size_t i) { return kPalette[i % (sizeof kPalette / sizeof kPalette[0])]; }

std::vector<std::string> datasets_of(const std::vector<MetricRow>& rows) {
  std::vector<std::string> ds;
  for (const auto& r : rows)
    if (std::find(ds.begin(), ds.end(), r.dataset) == ds.end()) ds.push_back(r.dataset);
  return ds;
}

std::vector<std::string> models_of(const std::vector<MetricRow>& rows) {
  std::vector<std::string> ms;
  for (const auto& r : rows)
    if (std::find(ms.begin(), ms.end(), r.model) == ms.end()) ms.push_back(r.model);
  return ms;
}

const MetricRow* find_row(const std::vector<MetricRow>& rows, const std::string& ds, const std::string& model) {
  for (const auto& r : rows)
    if (r.dataset == ds && r.model == model) return &r;
  return nullptr;
}

// "Nice" axis maximum and tick step for values in [0, vmax].
std::pair<double, double> nice_axis(double vmax) {
  if (!(vmax > 0) || !std::isfinite(vmax)) return {1.0, 0.25};
  const double raw = vmax / 4;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  return {std::ceil(vmax / step - 1e-9) * step, step};
}

// Horizontal bar chart: one bar per (label, value, color index).
std::string svg_hbars(const std::string& title, const std::vector<std::tuple<std::string, double, size_t>>& bars) {
  const int label_w = 220, plot_w = 380, bar_h = 18, gap = 6, top = 28, bottom = 26;
  const int h = top + static_cast<int>(bars.size()) * (bar_h + gap) + bottom;
  const int w = label_w + plot_w + 70;
  double vmax = 0;
  for (const auto& b : bars)
    if (std::isfinite(std::get<1>(b))) vmax = std::max(vmax, std::get<1>(b));
  const auto [axis_max, step] = nice_axis(vmax);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w
    << ' ' << h << "\" role=\"img\" aria-label=\"" << html_esc(title) << "\">";
  o << "<text x=\"4\" y=\"18\" class=\"ct\">" << html_esc(title) << "</text>";
  const int y_axis = h - bottom;
  for (double t = 0; t <= axis_max + 1e-12; t += step) {
    const double x = label_w + plot_w * (t / axis_max);
    o << "<line x1=\"" << x << "\" y1=\"" << top - 4 << "\" x2=\"" << x << "\" y2=\"" << y_axis
      << "\" class=\"grid\"/><text x=\"" << x << "\" y=\"" << y_axis + 16 << "\" class=\"tick\" text-anchor=\"middle\">"
      << fmt(t, step < 0.01 ? "%.3f" : "%.2f") << "</text>";
  }
  int y = top;
  for (const auto& [label, v, ci] : bars) {
    const double bw = std::isfinite(v) && v > 0 ? plot_w * (v / axis_max) : 0;
    o << "<text x=\"" << label_w - 6 << "\" y=\"" << y + bar_h - 5 << "\" class=\"lbl\" text-anchor=\"end\">"
      << html_esc(label) << "</text>";
    o << "<rect x=\"" << label_w << "\" y=\"" << y << "\" width=\"" << bw << "\" height=\"" << bar_h << "\" fill=\""
      << color(ci) << "\"><title>" << html_esc(label) << ": " << fmt(v) << "</title></rect>";
    o << "<text x=\"" << label_w + bw + 4 << "\" y=\"" << y + bar_h - 5 << "\" class=\"val\">" << fmt(v) << "</text>";
    y += bar_h + gap;
  }
  o << "</svg>";
  return o.str();
}

// Line chart of several series over epochs 1..n.
std::string svg_lines(const std::string& title, const std::vector<std::pair<std::string, std::vector<double>>>& series,
                      const std::string& xlabel = "epoch") {
  const int w = 640, h = 300, left = 60, right = 170, top = 30, bottom = 36;
  const int pw = w - left - right, ph = h - top - bottom;
  size_t n = 1;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& [name, ys] : series) {
    n = std::max(n, ys.size());
    for (double v : ys)
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-12) hi = lo + (std::abs(lo) > 0 ? std::abs(lo) * 0.1 : 1.0);
  // Nice ticks: a step from the range, bounds rounded outwards to it.
  const double step = nice_axis(hi - lo).second;
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  const int n_ticks = static_cast<int>(std::lround((hi - lo) / step));
  auto X = [&](size_t i) { return left + (n > 1 ? pw * static_cast<double>(i) / static_cast<double>(n - 1) : pw / 2.0); };
  auto Y = [&](double v) { return top + ph * (1.0 - (v - lo) / (hi - lo)); };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w
    << ' ' << h << "\" role=\"img\" aria-label=\"" << html_esc(title) << "\">";
  o << "<text x=\"4\" y=\"18\" class=\"ct\">" << html_esc(title) << "</text>";
  for (int k = 0; k <= n_ticks; ++k) {
    const double v = lo + step * k;
    o << "<line x1=\"" << left << "\" y1=\"" << Y(v) << "\" x2=\"" << left + pw << "\" y2=\"" << Y(v)
      << "\" class=\"grid\"/><text x=\"" << left - 4 << "\" y=\"" << Y(v) + 4 << "\" class=\"tick\" text-anchor=\"end\">"
      << fmt(v, "%.4g") << "</text>";
  }
  const size_t xstep = std::max<size_t>(1, n / 10);
  for (size_t i = 0; i < n; i += xstep)
    o << "<text x=\"" << X(i) << "\" y=\"" << top + ph + 16 << "\" class=\"tick\" text-anchor=\"middle\">" << i + 1
      << "</text>";
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << h - 4 << "\" class=\"tick\" text-anchor=\"middle\">" << html_esc(xlabel) << "</text>";
  size_t ci = 0;
  for (const auto& [name, ys] : series) {
    std::ostringstream pts;
    for (size_t i = 0; i < ys.size(); ++i)
      if (std::isfinite(ys[i])) pts << X(i) << ',' << Y(ys[i]) << ' ';
    o << "<polyline fill=\"none\" stroke=\"" << color(ci) << "\" stroke-width=\"2\" points=\"" << pts.str() << "\"/>";
    for (size_t i = 0; i < ys.size(); ++i)
      if (std::isfinite(ys[i]))
        o << "<circle cx=\"" << X(i) << "\" cy=\"" << Y(ys[i]) << "\" r=\"2.5\" fill=\"" << color(ci) << "\"><title>"
          << html_esc(name) << " " << html_esc(xlabel) << " " << i + 1 << ": " << fmt(ys[i], "%.5g") << "</title></circle>";
    const int ly = top + 14 * static_cast<int>(ci);
    o << "<rect x=\"" << left + pw + 10 << "\" y=\"" << ly << "\" width=\"10\" height=\"10\" fill=\"" << color(ci)
      << "\"/><text x=\"" << left + pw + 24 << "\" y=\"" << ly + 9 << "\" class=\"lbl\">" << html_esc(name) << "</text>";
    ++ci;
  }
  o << "</svg>";
  return o.str();
}

}  // namespace

std::vector<std::string> Report::verdicts(const std::vector<std::string>& metrics) const {
  std::vector<std::string> out;
  for (const auto& ds : datasets_of(rows)) {
    for (const auto& r : rows) {
      if (r.dataset != ds || r.kind == "baseline") continue;
      for (const auto& m : metrics) {
        const double* v = r.get(m);
        if (!v) continue;
        const MetricRow* best = nullptr;
        for (const auto& b : rows)
          if (b.dataset == ds && b.kind == "baseline" && b.get(m) && std::isfinite(*b.get(m)) &&
              (!best || *b.get(m) > *best->get(m)))
            best = &b;
        if (!best) continue;
        const double bv = *best->get(m);
        const double rel = bv != 0 ? (*v - bv) / bv * 100.0 : 0.0;
        out.push_back(ds + ": " + r.model + " " + m + " " + fmt(*v) + " vs best baseline " + best->model + " " +
                      fmt(bv) + ": " + (*v > bv ? "beats" : "does NOT beat") + " (" + (rel >= 0 ? "+" : "") +
                      fmt(rel, "%.1f") + "%)");
      }
    }
  }
  return out;
}

std::string Report::to_json() const {
  std::ostringstream o;
  o << "{\n  \"title\": " << json_str(title) << ",\n  \"meta\": {";
  for (size_t i = 0; i < meta.size(); ++i)
    o << (i ? ", " : "") << json_str(meta[i].first) << ": " << json_str(meta[i].second);
  o << "},\n  \"rows\": [";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    o << (i ? ",\n" : "\n") << "    {\"dataset\": " << json_str(r.dataset) << ", \"model\": " << json_str(r.model)
      << ", \"kind\": " << json_str(r.kind) << ", \"cases\": " << r.cases
      << ", \"fit_seconds\": " << json_num(r.fit_seconds) << ", \"eval_seconds\": " << json_num(r.eval_seconds)
      << ", \"note\": " << json_str(r.note) << ", \"metrics\": {";
    for (size_t k = 0; k < r.metrics.size(); ++k)
      o << (k ? ", " : "") << json_str(r.metrics[k].first) << ": " << json_num(r.metrics[k].second);
    o << "}}";
  }
  o << "\n  ],\n  \"curves\": [";
  for (size_t i = 0; i < curves.size(); ++i) {
    const auto& c = curves[i];
    o << (i ? ",\n" : "\n") << "    {\"dataset\": " << json_str(c.dataset) << ", \"model\": " << json_str(c.model)
      << ", \"series\": " << json_str(c.series) << ", \"y\": [";
    for (size_t k = 0; k < c.y.size(); ++k) o << (k ? ", " : "") << json_num(c.y[k]);
    o << "]}";
  }
  o << "\n  ],\n  \"quantization\": [";
  for (size_t i = 0; i < quant.size(); ++i) {
    const auto& q = quant[i];
    o << (i ? ",\n" : "\n") << "    {\"dataset\": " << json_str(q.dataset) << ", \"float_model\": "
      << json_str(q.float_model) << ", \"quant_model\": " << json_str(q.quant_model) << ", \"metrics\": {";
    const MetricRow* fr = find_row(rows, q.dataset, q.float_model);
    const MetricRow* qr = find_row(rows, q.dataset, q.quant_model);
    bool first = true;
    if (fr && qr)
      for (const auto& [k, fv] : fr->metrics) {
        const double* qv = qr->get(k);
        if (!qv) continue;
        o << (first ? "" : ", ") << json_str(k) << ": {\"float\": " << json_num(fv) << ", \"quant\": " << json_num(*qv)
          << ", \"rel_diff\": " << json_num(fv != 0 ? (*qv - fv) / fv : NAN) << "}";
        first = false;
      }
    o << "}, \"extra\": {";
    first = true;
    for (const auto& [k, v] : q.extra) {
      o << (first ? "" : ", ") << json_str(k) << ": " << json_num(v);
      first = false;
    }
    o << "}}";
  }
  o << "\n  ],\n  \"verdicts\": [";
  const auto vs = verdicts();
  for (size_t i = 0; i < vs.size(); ++i) o << (i ? ", " : "") << json_str(vs[i]);
  o << "]\n}\n";
  return o.str();
}

std::string Report::to_text() const {
  const auto names = metric_names();
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> head = {"dataset", "model"};
  head.insert(head.end(), names.begin(), names.end());
  head.insert(head.end(), {"fit s", "eval s", "cases"});
  cells.push_back(head);
  for (const auto& r : rows) {
    std::vector<std::string> line = {r.dataset, r.model};
    for (const auto& n : names) {
      const double* v = r.get(n);
      line.push_back(v ? fmt(*v) : "-");
    }
    line.push_back(fmt(r.fit_seconds, "%.2f"));
    line.push_back(fmt(r.eval_seconds, "%.2f"));
    line.push_back(std::to_string(r.cases));
    cells.push_back(line);
  }
  std::vector<size_t> w(head.size(), 0);
  for (const auto& line : cells)
    for (size_t i = 0; i < line.size(); ++i) w[i] = std::max(w[i], line[i].size());
  std::ostringstream o;
  for (size_t li = 0; li < cells.size(); ++li) {
    const auto& line = cells[li];
    for (size_t i = 0; i < line.size(); ++i) {
      if (i) o << "  ";
      if (i < 2) o << line[i] << std::string(w[i] - line[i].size(), ' ');
      else o << std::string(w[i] - line[i].size(), ' ') << line[i];
    }
    o << '\n';
    if (li == 0) {
      size_t total = 0;
      for (size_t x : w) total += x + 2;
      o << std::string(total - 2, '-') << '\n';
    }
  }
  return o.str();
}

std::string Report::to_html() const {
  const auto names = metric_names();
  const auto dss = datasets_of(rows);
  const auto models = models_of(rows);
  auto model_color = [&](const std::string& m) {
    return static_cast<size_t>(std::find(models.begin(), models.end(), m) - models.begin());
  };
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << html_esc(title)
    << "</title>\n<style>\n"
       "body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1200px}\n"
       "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}\n"
       "table{border-collapse:collapse;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}\n"
       "th{background:#f5f5f5}td.l,th.l{text-align:left}td.best{font-weight:bold;background:#eef6ee}\n"
       ".ct{font-size:14px;font-weight:600}.tick{font-size:11px;fill:#555}.lbl{font-size:12px}.val{font-size:11px;fill:#333}\n"
       ".grid{stroke:#e5e5e5;stroke-width:1}.charts{display:flex;flex-wrap:wrap;gap:16px}\n"
       ".charts svg{border:1px solid #eee;background:#fff}.bad{color:#b00}.good{color:#070}\n"
       "</style></head><body>\n";
  o << "<h1>" << html_esc(title) << "</h1>\n";
  if (!meta.empty()) {
    o << "<table>";
    for (const auto& [k, v] : meta) o << "<tr><th class=\"l\">" << html_esc(k) << "</th><td class=\"l\">" << html_esc(v) << "</td></tr>";
    o << "</table>\n";
  }
  const auto vs = verdicts();
  if (!vs.empty()) {
    o << "<h2>Verdict: models vs the best baseline</h2><ul>";
    for (const auto& v : vs)
      o << "<li class=\"" << (v.find("does NOT") != std::string::npos ? "bad" : "good") << "\">" << html_esc(v) << "</li>";
    o << "</ul>\n";
  }
  o << "<h2>Metrics</h2>\n";
  for (const auto& ds : dss) {
    o << "<h3>" << html_esc(ds) << "</h3><table><tr><th class=\"l\">model</th><th class=\"l\">kind</th>";
    for (const auto& n : names) o << "<th>" << html_esc(n) << "</th>";
    o << "<th>fit s</th><th>eval s</th><th>cases</th></tr>\n";
    std::map<std::string, double> best;
    for (const auto& r : rows)
      if (r.dataset == ds)
        for (const auto& [k, v] : r.metrics)
          if (std::isfinite(v) && (!best.count(k) || v > best[k])) best[k] = v;
    for (const auto& r : rows) {
      if (r.dataset != ds) continue;
      o << "<tr><td class=\"l\">" << html_esc(r.model) << "</td><td class=\"l\">" << html_esc(r.kind) << "</td>";
      for (const auto& n : names) {
        const double* v = r.get(n);
        const bool is_best = v && best.count(n) && *v == best[n] && n.rfind("logloss", 0) != 0;
        o << "<td" << (is_best ? " class=\"best\"" : "") << ">" << (v ? fmt(*v) : "-") << "</td>";
      }
      o << "<td>" << fmt(r.fit_seconds, "%.2f") << "</td><td>" << fmt(r.eval_seconds, "%.2f") << "</td><td>" << r.cases
        << "</td></tr>\n";
      if (!r.note.empty())
        o << "<tr><td></td><td class=\"l\" colspan=\"" << names.size() + 4 << "\"><small>" << html_esc(r.note)
          << "</small></td></tr>\n";
    }
    o << "</table>\n";
  }
  if (!names.empty()) {
    o << "<h2>Charts</h2><div class=\"charts\">\n";
    for (const auto& n : names) {
      std::vector<std::tuple<std::string, double, size_t>> bars;
      for (const auto& ds : dss)
        for (const auto& r : rows)
          if (r.dataset == ds)
            if (const double* v = r.get(n)) bars.emplace_back((dss.size() > 1 ? ds + " / " : "") + r.model, *v, model_color(r.model));
      if (!bars.empty()) o << svg_hbars(n, bars) << "\n";
    }
    o << "</div>\n";
  }
  if (!curves.empty()) {
    o << "<h2>Training curves</h2><div class=\"charts\">\n";
    std::vector<std::pair<std::string, std::string>> groups;  // (dataset, series)
    for (const auto& c : curves)
      if (std::find(groups.begin(), groups.end(), std::make_pair(c.dataset, c.series)) == groups.end())
        groups.emplace_back(c.dataset, c.series);
    for (const auto& [ds, se] : groups) {
      std::vector<std::pair<std::string, std::vector<double>>> series;
      for (const auto& c : curves)
        if (c.dataset == ds && c.series == se) series.emplace_back(c.model, c.y);
      o << svg_lines(ds + ": " + se, series) << "\n";
    }
    o << "</div>\n";
  }
  if (!quant.empty()) {
    o << "<h2>Float vs quantized</h2>\n";
    for (const auto& q : quant) {
      const MetricRow* fr = find_row(rows, q.dataset, q.float_model);
      const MetricRow* qr = find_row(rows, q.dataset, q.quant_model);
      o << "<h3>" << html_esc(q.dataset) << ": " << html_esc(q.float_model) << " vs " << html_esc(q.quant_model)
        << "</h3>";
      if (!fr || !qr) {
        o << "<p class=\"bad\">missing metric rows for this pair</p>";
        continue;
      }
      o << "<table><tr><th class=\"l\">metric</th><th>" << html_esc(q.float_model) << "</th><th>"
        << html_esc(q.quant_model) << "</th><th>relative change</th></tr>";
      std::vector<std::tuple<std::string, double, size_t>> bars;
      for (const auto& [k, fv] : fr->metrics) {
        const double* qv = qr->get(k);
        if (!qv) continue;
        const double rel = fv != 0 ? (*qv - fv) / fv * 100.0 : NAN;
        o << "<tr><td class=\"l\">" << html_esc(k) << "</td><td>" << fmt(fv) << "</td><td>" << fmt(*qv) << "</td><td>"
          << (std::isfinite(rel) ? fmt(rel, "%+.2f") + "%" : "n/a") << "</td></tr>";
        bars.emplace_back(k + " " + q.float_model, fv, 0);
        bars.emplace_back(k + " " + q.quant_model, *qv, 1);
      }
      for (const auto& [k, v] : q.extra)
        o << "<tr><td class=\"l\">" << html_esc(k) << "</td><td colspan=\"3\">" << fmt(v, "%.6g") << "</td></tr>";
      o << "</table><div class=\"charts\">" << svg_hbars(q.dataset + ": float vs quantized", bars) << "</div>\n";
    }
  }
  o << "<h2>Plain-text table</h2><pre>" << html_esc(to_text()) << "</pre>\n</body></html>\n";
  return o.str();
}

void Report::write(const std::string& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create report folder " + dir + ": " + ec.message());
  auto put = [&](const std::string& name, const std::string& text) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error("cannot open " + path + " for writing");
    f << text;
    f.close();
    if (!f) throw std::runtime_error("error writing " + path);
  };
  put("report.json", to_json());
  put("report.html", to_html());
}

}  // namespace disco::eval

// Shared with the other HTML reports (disco/eval/html.h).
namespace disco::eval::html {
std::string escape(const std::string& s) { return html_esc(s); }
std::pair<double, double> nice_axis(double vmax) { return disco::eval::nice_axis(vmax); }
std::string svg_hbars(const std::string& title, const std::vector<std::tuple<std::string, double, size_t>>& bars) {
  return disco::eval::svg_hbars(title, bars);
}
const char* color(size_t i) { return disco::eval::color(i); }
std::string svg_lines(const std::string& title, const std::vector<std::pair<std::string, std::vector<double>>>& series,
                      const std::string& xlabel) {
  return disco::eval::svg_lines(title, series, xlabel);
}
}  // namespace disco::eval::html

// Reports of the uplift experiments: a text table, JSON with every figure, and a self-contained
// HTML page (inline CSS and SVG Qini curves, no network).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "disco/data/text.h"
#include "disco/eval/uplift.h"

namespace disco::eval::uplift {

namespace {

using disco::data::json_str;

std::string f(double v, const char* fmt = "%.4f") {
  if (!std::isfinite(v)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, fmt, v);
  return b;
}

std::string pm(double m, double s, const char* fmt = "%.4f") { return f(m, fmt) + " ± " + f(s, fmt); }

std::string jn(double v) { return disco::data::json_num(v); }

std::string esc(std::string_view s) { return disco::data::html_escape(s); }

const LearnerResult* find(const ComparisonResult& r, LearnerKind l, BaseKind b) {
  for (const auto& x : r.learners)
    if (x.learner == l && x.base == b) return &x;
  return nullptr;
}

// the two-model (T-learner) baseline on the same base
const LearnerResult* baseline_of(const ComparisonResult& r, const LearnerResult& x) {
  return find(r, LearnerKind::T, x.base);
}

const LearnerResult* best_by_qini(const ComparisonResult& r) {
  const LearnerResult* best = nullptr;
  for (const auto& x : r.learners)
    if (std::isfinite(x.mean(&SplitScore::qini)) && (!best || x.mean(&SplitScore::qini) > best->mean(&SplitScore::qini)))
      best = &x;
  return best;
}

const LearnerResult* best_by_pehe(const ComparisonResult& r) {
  const LearnerResult* best = nullptr;
  for (const auto& x : r.learners)
    if (std::isfinite(x.mean(&SplitScore::pehe)) && (!best || x.mean(&SplitScore::pehe) < best->mean(&SplitScore::pehe)))
      best = &x;
  return best;
}

std::string title_of(const ComparisonResult& r) { return r.dataset + ": " + r.name + ", " + r.target; }

std::string sizes_of(const ComparisonResult& r) {
  std::string s = std::to_string(r.rows) + " rows (treated " + std::to_string(r.treated) + ", control " +
                  std::to_string(r.control) + "), " + std::to_string(r.features) + " features; mean outcome treated " +
                  f(r.treated_mean) + ", control " + f(r.control_mean);
  if (r.has_truth) s += "; true mean effect " + f(r.true_ate, "%.5f");
  return s;
}

}  // namespace

std::string results_text(const std::vector<ComparisonResult>& rs) {
  std::ostringstream o;
  for (const auto& r : rs) {
    o << "\n" << title_of(r) << "\n  " << sizes_of(r) << "\n";
    const size_t splits = r.learners.empty() ? 0 : r.learners[0].splits.size();
    o << "  " << splits << " random 50/50 splits, mean ± sd; baseline = t (two models) on the same base\n";
    char head[256];
    std::snprintf(head, sizeof head, "  %-10s %-19s %-8s %-19s %-8s", "learner", "qini", "vs t", "uplift@30", "vs t");
    o << head << (r.has_truth ? "  pehe               " : "") << "  fit s\n";
    for (const auto& x : r.learners) {
      const LearnerResult* b = baseline_of(r, x);
      const double q = x.mean(&SplitScore::qini), u = x.mean(&SplitScore::uplift30);
      const std::string dq = b && b != &x ? f(q - b->mean(&SplitScore::qini), "%+.4f") : "";
      const std::string du = b && b != &x ? f(u - b->mean(&SplitScore::uplift30), "%+.4f") : "";
      char line[512];
      std::snprintf(line, sizeof line, "  %-10s %-19s %-8s %-19s %-8s", x.name.c_str(),
                    pm(q, x.sd(&SplitScore::qini)).c_str(), dq.c_str(),
                    pm(u, x.sd(&SplitScore::uplift30)).c_str(), du.c_str());
      o << line;
      if (r.has_truth) {
        char p[64];
        std::snprintf(p, sizeof p, "  %-19s", pm(x.mean(&SplitScore::pehe), x.sd(&SplitScore::pehe), "%.5f").c_str());
        o << p;
      }
      o << "  " << f(x.mean(&SplitScore::seconds), "%.2f") << "\n";
    }
    if (r.has_truth && !r.constant.empty()) {
      LearnerResult c;
      c.splits = r.constant;
      char line[256];
      std::snprintf(line, sizeof line, "  %-10s %-19s %-8s %-19s %-8s  %-19s\n", "constant", "(training ATE)", "", "", "",
                    pm(c.mean(&SplitScore::pehe), c.sd(&SplitScore::pehe), "%.5f").c_str());
      o << line;
    }
    for (const auto& n : r.notes) o << "  note: " << n << "\n";
  }
  return o.str();
}

std::string results_markdown(const std::vector<ComparisonResult>& rs) {
  std::ostringstream o;
  for (const auto& r : rs) {
    const size_t splits = r.learners.empty() ? 0 : r.learners[0].splits.size();
    o << "#### " << title_of(r) << "\n" << sizes_of(r) << "; " << splits << " splits, mean ± sd.\n\n";
    o << "| learner | qini | vs t | uplift@30 | vs t |" << (r.has_truth ? " pehe |" : "") << "\n";
    o << "| --- | --- | --- | --- | --- |" << (r.has_truth ? " --- |" : "") << "\n";
    const LearnerResult* bq = best_by_qini(r);
    const LearnerResult* bp = r.has_truth ? best_by_pehe(r) : nullptr;
    for (const auto& x : r.learners) {
      const LearnerResult* b = baseline_of(r, x);
      const double q = x.mean(&SplitScore::qini), u = x.mean(&SplitScore::uplift30);
      const std::string qs = pm(q, x.sd(&SplitScore::qini));
      o << "| " << x.name << (b == &x ? " (baseline)" : "") << " | " << (&x == bq ? "**" + qs + "**" : qs) << " | "
        << (b && b != &x ? f(q - b->mean(&SplitScore::qini), "%+.4f") : "") << " | " << pm(u, x.sd(&SplitScore::uplift30))
        << " | " << (b && b != &x ? f(u - b->mean(&SplitScore::uplift30), "%+.4f") : "") << " |";
      if (r.has_truth) {
        const std::string ps = pm(x.mean(&SplitScore::pehe), x.sd(&SplitScore::pehe), "%.4f");
        o << " " << (&x == bp ? "**" + ps + "**" : ps) << " |";
      }
      o << "\n";
    }
    if (r.has_truth && !r.constant.empty()) {
      LearnerResult c;
      c.splits = r.constant;
      o << "| constant (training ATE) | | | | | " << pm(c.mean(&SplitScore::pehe), c.sd(&SplitScore::pehe), "%.4f") << " |\n";
    }
    o << "\n";
  }
  return o.str();
}

std::string results_json(const std::vector<ComparisonResult>& rs, const ReportInfo& info) {
  std::ostringstream o;
  auto stat = [&](const LearnerResult& x, double SplitScore::*m) {
    std::ostringstream s;
    s << "{\"mean\": " << jn(x.mean(m)) << ", \"sd\": " << jn(x.sd(m)) << ", \"splits\": [";
    for (size_t k = 0; k < x.splits.size(); ++k) s << (k ? ", " : "") << jn(x.splits[k].*m);
    s << "]}";
    return s.str();
  };
  auto curve = [&](const Curve& c) {
    std::ostringstream s;
    s << "{\"x\": [";
    for (size_t k = 0; k < c.x.size(); ++k) s << (k ? ", " : "") << jn(c.x[k]);
    s << "], \"y\": [";
    for (size_t k = 0; k < c.y.size(); ++k) s << (k ? ", " : "") << jn(c.y[k]);
    s << "]}";
    return s.str();
  };
  o << "{\n  \"title\": " << json_str(info.title) << ",\n  \"meta\": {";
  for (size_t i = 0; i < info.meta.size(); ++i)
    o << (i ? ", " : "") << json_str(info.meta[i].first) << ": " << json_str(info.meta[i].second);
  o << "},\n  \"comparisons\": [";
  for (size_t i = 0; i < rs.size(); ++i) {
    const auto& r = rs[i];
    o << (i ? "," : "") << "\n    {\"dataset\": " << json_str(r.dataset) << ", \"name\": " << json_str(r.name)
      << ", \"target\": " << json_str(r.target) << ", \"binary\": " << (r.binary ? "true" : "false")
      << ", \"rows\": " << r.rows << ", \"treated\": " << r.treated << ", \"control\": " << r.control
      << ", \"features\": " << r.features << ", \"treated_mean\": " << jn(r.treated_mean)
      << ", \"control_mean\": " << jn(r.control_mean) << ", \"has_truth\": " << (r.has_truth ? "true" : "false");
    if (r.has_truth) {
      LearnerResult c;
      c.splits = r.constant;
      o << ", \"true_ate\": " << jn(r.true_ate) << ", \"constant_pehe\": " << stat(c, &SplitScore::pehe);
    }
    o << ", \"notes\": [";
    for (size_t k = 0; k < r.notes.size(); ++k) o << (k ? ", " : "") << json_str(r.notes[k]);
    o << "],\n     \"perfect_curve\": " << curve(r.perfect_curve) << ",\n     \"learners\": [";
    for (size_t k = 0; k < r.learners.size(); ++k) {
      const auto& x = r.learners[k];
      o << (k ? "," : "") << "\n       {\"name\": " << json_str(x.name) << ", \"learner\": " << json_str(to_string(x.learner))
        << ", \"base\": " << json_str(to_string(x.base)) << ", \"qini\": " << stat(x, &SplitScore::qini)
        << ", \"uplift_at_30\": " << stat(x, &SplitScore::uplift30);
      if (r.has_truth) o << ", \"pehe\": " << stat(x, &SplitScore::pehe);
      o << ", \"fit_seconds\": " << stat(x, &SplitScore::seconds) << ", \"qini_curve\": " << curve(x.qini_curve) << "}";
    }
    o << "]}";
  }
  o << "\n  ]\n}\n";
  return o.str();
}

namespace {

const char* kColor[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f"};  // t s x dr ct

std::string color_of(LearnerKind l) { return kColor[static_cast<int>(l) == 1 ? 0 : static_cast<int>(l) == 0 ? 1 : static_cast<int>(l)]; }

// Qini curves of one comparison (split 0): x = share of the test rows targeted, y = incremental
// outcome per test row (the Qini value / rows).
std::string svg_qini(const ComparisonResult& r, size_t id) {
  const int w = 660, h = 330, left = 64, right = 150, top = 28, bottom = 40;
  const int pw = w - left - right, ph = h - top - bottom;
  const double n = r.perfect_curve.x.empty() ? 1.0 : std::max(1.0, r.perfect_curve.x.back());
  double lo = 0, hi = 0;
  auto span = [&](const Curve& c) {
    for (double v : c.y) {
      lo = std::min(lo, v / n);
      hi = std::max(hi, v / n);
    }
  };
  // the scale follows the learners and the random line; the perfect curve (usually far above) is
  // clipped to the plot and its peak given in the legend
  if (!r.perfect_curve.y.empty()) span(Curve{{0, 0}, {0, r.perfect_curve.y.back()}});
  for (const auto& x : r.learners) span(x.qini_curve);
  if (hi - lo < 1e-12) hi = lo + 1e-3;
  const double pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  auto X = [&](double v) { return left + pw * (v / n); };
  auto Y = [&](double v) { return top + ph * (1.0 - (v / n - lo) / (hi - lo)); };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << ' '
    << h << "\" role=\"img\" aria-label=\"Qini curves " << esc(title_of(r)) << "\">";
  const std::string clip = "qc" + std::to_string(id);
  o << "<defs><clipPath id=\"" << clip << "\"><rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw
    << "\" height=\"" << ph << "\"/></clipPath></defs>";
  o << "<text x=\"4\" y=\"18\" class=\"ct\">" << esc(title_of(r)) << " (split 1)</text>";
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4.0;
    const double y = top + ph * (1.0 - k / 4.0);
    o << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << left + pw << "\" y2=\"" << y
      << "\" class=\"grid\"/><text x=\"" << left - 4 << "\" y=\"" << y + 4 << "\" class=\"tick\" text-anchor=\"end\">"
      << f(v, "%.4f") << "</text>";
    const double xv = left + pw * k / 4.0;
    o << "<text x=\"" << xv << "\" y=\"" << top + ph + 16 << "\" class=\"tick\" text-anchor=\"middle\">" << k * 25
      << "%</text>";
  }
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << h - 6
    << "\" class=\"tick\" text-anchor=\"middle\">share targeted (highest predicted effect first)</text>";
  o << "<text x=\"12\" y=\"" << top + ph / 2 << "\" class=\"tick\" transform=\"rotate(-90 12 " << top + ph / 2
    << ")\" text-anchor=\"middle\">incremental outcome per row</text>";
  auto poly = [&](const Curve& c, const std::string& col, const char* dash, double width, const std::string& label) {
    std::ostringstream pts;
    for (size_t k = 0; k < c.x.size(); ++k) pts << X(c.x[k]) << ',' << Y(c.y[k]) << ' ';
    o << "<polyline clip-path=\"url(#" << clip << ")\" fill=\"none\" stroke=\"" << col << "\" stroke-width=\"" << width
      << "\"" << dash << " points=\""
      << pts.str() << "\"><title>" << esc(label) << "</title></polyline>";
  };
  std::vector<std::tuple<std::string, std::string, const char*>> legend;
  if (!r.perfect_curve.x.empty()) {
    poly(r.perfect_curve, "#999", " stroke-dasharray=\"2 3\"", 1.5, "perfect");
    poly(Curve{{0, r.perfect_curve.x.back()}, {0, r.perfect_curve.y.back()}}, "#bbb", " stroke-dasharray=\"6 4\"", 1,
         "random");
    double peak = 0;
    for (double v : r.perfect_curve.y) peak = std::max(peak, v / n);
    legend.emplace_back("perfect (peak " + f(peak, "%.3g") + ")", "#999", " stroke-dasharray=\"2 3\"");
    legend.emplace_back("random", "#bbb", " stroke-dasharray=\"6 4\"");
  }
  for (const auto& x : r.learners) {
    const char* dash = x.base == BaseKind::Linear ? " stroke-dasharray=\"5 3\"" : "";
    poly(x.qini_curve, color_of(x.learner), dash, 1.8, x.name);
    legend.emplace_back(x.name, color_of(x.learner), dash);
  }
  int ly = top;
  for (const auto& [name, col, dash] : legend) {
    o << "<line x1=\"" << left + pw + 10 << "\" y1=\"" << ly + 5 << "\" x2=\"" << left + pw + 30 << "\" y2=\"" << ly + 5
      << "\" stroke=\"" << col << "\" stroke-width=\"2\"" << dash << "/><text x=\"" << left + pw + 34 << "\" y=\""
      << ly + 9 << "\" class=\"lbl\">" << esc(name) << "</text>";
    ly += 15;
  }
  o << "</svg>";
  return o.str();
}

}  // namespace

std::string results_html(const std::vector<ComparisonResult>& rs, const ReportInfo& info) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << esc(info.title)
    << "</title>\n<style>\n"
       "body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1200px}\n"
       "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px}\n"
       "table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 9px;border-bottom:1px solid #eee;text-align:right}\n"
       "th{background:#f5f5f5}td.l,th.l{text-align:left}td.best{font-weight:bold;background:#eef6ee}\n"
       ".ct{font-size:13px;font-weight:600}.tick{font-size:11px;fill:#555}.lbl{font-size:11px}\n"
       ".grid{stroke:#e5e5e5;stroke-width:1}svg{border:1px solid #eee;background:#fff}.note{color:#555;font-size:12px}\n"
       ".pos{color:#070}.neg{color:#b00}\n"
       "</style></head><body>\n<h1>"
    << esc(info.title) << "</h1>\n";
  if (!info.meta.empty()) {
    o << "<table>";
    for (const auto& [k, v] : info.meta) o << "<tr><th class=\"l\">" << esc(k) << "</th><td class=\"l\">" << esc(v) << "</td></tr>";
    o << "</table>\n";
  }
  o << "<h2>Summary</h2><table><tr><th class=\"l\">dataset</th><th class=\"l\">comparison</th><th class=\"l\">target</th>"
       "<th>t/xgb qini</th><th>t/linear qini</th><th class=\"l\">best qini</th><th>qini</th><th>uplift@30</th>"
       "<th class=\"l\">best pehe</th><th>pehe</th><th>constant pehe</th></tr>\n";
  for (const auto& r : rs) {
    const LearnerResult* tx = find(r, LearnerKind::T, BaseKind::Xgb);
    const LearnerResult* tl = find(r, LearnerKind::T, BaseKind::Linear);
    const LearnerResult* bq = best_by_qini(r);
    const LearnerResult* bp = r.has_truth ? best_by_pehe(r) : nullptr;
    o << "<tr><td class=\"l\">" << esc(r.dataset) << "</td><td class=\"l\">" << esc(r.name) << "</td><td class=\"l\">"
      << esc(r.target) << "</td><td>" << (tx ? f(tx->mean(&SplitScore::qini)) : "-") << "</td><td>"
      << (tl ? f(tl->mean(&SplitScore::qini)) : "-") << "</td><td class=\"l\">" << (bq ? esc(bq->name) : "-")
      << "</td><td>" << (bq ? f(bq->mean(&SplitScore::qini)) : "-") << "</td><td>"
      << (bq ? f(bq->mean(&SplitScore::uplift30)) : "-") << "</td><td class=\"l\">" << (bp ? esc(bp->name) : "-")
      << "</td><td>" << (bp ? f(bp->mean(&SplitScore::pehe), "%.5f") : "-") << "</td><td>";
    if (r.has_truth && !r.constant.empty()) {
      LearnerResult c;
      c.splits = r.constant;
      o << f(c.mean(&SplitScore::pehe), "%.5f");
    } else {
      o << "-";
    }
    o << "</td></tr>\n";
  }
  o << "</table>\n";
  std::string last_ds;
  for (size_t ri = 0; ri < rs.size(); ++ri) {
    const ComparisonResult& r = rs[ri];
    if (r.dataset != last_ds) {
      o << "<h2>" << esc(r.dataset) << "</h2>\n";
      last_ds = r.dataset;
    }
    o << "<h3>" << esc(r.name) << " &mdash; " << esc(r.target) << "</h3><p class=\"note\">" << esc(sizes_of(r)) << "</p>";
    const size_t splits = r.learners.empty() ? 0 : r.learners[0].splits.size();
    o << "<table><tr><th class=\"l\">learner</th><th>qini (" << splits << " splits)</th><th>vs t</th><th>uplift@30</th>"
      << "<th>vs t</th>" << (r.has_truth ? "<th>pehe</th>" : "") << "<th>fit s</th></tr>\n";
    const LearnerResult* bq = best_by_qini(r);
    const LearnerResult* bp = r.has_truth ? best_by_pehe(r) : nullptr;
    for (const auto& x : r.learners) {
      const LearnerResult* b = baseline_of(r, x);
      const double q = x.mean(&SplitScore::qini), u = x.mean(&SplitScore::uplift30);
      auto delta = [&](double d) {
        if (!b || b == &x || !std::isfinite(d)) return std::string("<td></td>");
        return "<td class=\"" + std::string(d > 0 ? "pos" : "neg") + "\">" + f(d, "%+.4f") + "</td>";
      };
      o << "<tr><td class=\"l\">" << esc(x.name) << (b == &x ? " (baseline)" : "") << "</td><td"
        << (&x == bq ? " class=\"best\"" : "") << ">" << pm(q, x.sd(&SplitScore::qini)) << "</td>"
        << delta(b ? q - b->mean(&SplitScore::qini) : NAN) << "<td>" << pm(u, x.sd(&SplitScore::uplift30)) << "</td>"
        << delta(b ? u - b->mean(&SplitScore::uplift30) : NAN);
      if (r.has_truth)
        o << "<td" << (&x == bp ? " class=\"best\"" : "") << ">"
          << pm(x.mean(&SplitScore::pehe), x.sd(&SplitScore::pehe), "%.5f") << "</td>";
      o << "<td>" << f(x.mean(&SplitScore::seconds), "%.2f") << "</td></tr>\n";
    }
    if (r.has_truth && !r.constant.empty()) {
      LearnerResult c;
      c.splits = r.constant;
      o << "<tr><td class=\"l\">constant (training ATE)</td><td></td><td></td><td></td><td></td><td>"
        << pm(c.mean(&SplitScore::pehe), c.sd(&SplitScore::pehe), "%.5f") << "</td><td></td></tr>\n";
    }
    o << "</table>\n";
    for (const auto& n : r.notes) o << "<p class=\"note\">" << esc(n) << "</p>";
    o << svg_qini(r, ri) << "\n";
  }
  o << "<h2>Plain-text tables</h2><pre>" << esc(results_text(rs)) << "</pre>\n</body></html>\n";
  return o.str();
}

}  // namespace disco::eval::uplift

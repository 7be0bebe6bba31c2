// The evaluation report: per-dataset, per-model metric rows, training curves, float-vs-quantized
// comparisons. Written as report.json and a self-contained report.html (inline CSS and SVG charts,
// no network), and printed as a plain-text table.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "disco/eval/metrics.h"

namespace disco::eval {

struct MetricRow {
  std::string dataset;
  std::string model;
  std::string kind = "baseline";              // "baseline" or "model" (what the verdict compares)
  std::vector<std::pair<std::string, double>> metrics;  // in column order, e.g. {"HR@20", .688}
  double fit_seconds = 0, eval_seconds = 0;
  uint64_t cases = 0;                         // evaluated predictions
  std::string note;

  void set(const std::string& name, double v);
  const double* get(const std::string& name) const;
};

struct Curve {
  std::string dataset, model;
  std::string series = "train_loss";          // e.g. "train_loss", "valid_loss", "valid_HR@20"
  std::vector<double> y;                      // one value per epoch (x = 1, 2, ...)
};

// A float model and its quantized version on one dataset; the metric values are read from the rows.
struct QuantPair {
  std::string dataset;
  std::string float_model, quant_model;
  std::map<std::string, double> extra;        // e.g. {"max_abs_score_error", 1e-3}, {"bundle_bytes", ...}
};

// Adds the six ranking columns (HR/MRR/NDCG at each cutoff) of `m` to `row`.
void add_ranking_metrics(MetricRow& row, const RankingMetrics& m);

class Report {
 public:
  std::string title = "disco evaluation";
  std::vector<std::pair<std::string, std::string>> meta;  // shown at the top (dataset sizes, protocol, ...)
  std::vector<MetricRow> rows;
  std::vector<Curve> curves;
  std::vector<QuantPair> quant;

  void add_meta(const std::string& key, const std::string& value) { meta.emplace_back(key, value); }
  MetricRow& add_row(MetricRow r) { rows.push_back(std::move(r)); return rows.back(); }
  void add_curve(Curve c) { curves.push_back(std::move(c)); }
  void add_quant_pair(QuantPair q) { quant.push_back(std::move(q)); }

  // All metric names in first-seen order.
  std::vector<std::string> metric_names() const;

  // Per dataset, for each "model" row: does it beat the best baseline on `metric`? One line each,
  // e.g. "yoochoose: lstm HR@20 .701 vs best baseline vsknn .688: beats (+1.9%)".
  std::vector<std::string> verdicts(const std::vector<std::string>& metrics = {"HR@20", "MRR@20"}) const;

  std::string to_json() const;
  std::string to_html() const;
  std::string to_text() const;  // fixed-width table: dataset, model, metrics, fit s, eval s

  // Writes DIR/report.json and DIR/report.html (creating DIR); throws std::runtime_error naming the
  // file on failure.
  void write(const std::string& dir) const;
};

}  // namespace disco::eval

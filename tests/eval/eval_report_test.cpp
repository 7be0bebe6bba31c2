#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "disco/eval/report.h"

using namespace disco::eval;

namespace {
std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Report sample_report() {
  Report r;
  r.title = "test <report> & \"quotes\"";
  r.add_meta("data", "/tmp/x\ty");
  RankingAccumulator acc({10, 20});
  acc.add({0, 0});
  acc.add({14, 0});
  acc.add_miss();
  MetricRow pop;
  pop.dataset = "yoochoose";
  pop.model = "pop";
  add_ranking_metrics(pop, acc.result(TiePolicy::Optimistic));
  pop.fit_seconds = 0.5;
  r.add_row(pop);
  MetricRow lstm = pop;
  lstm.model = "lstm";
  lstm.kind = "model";
  lstm.set("HR@20", 0.9);
  lstm.set("AUC", 0.75);
  r.add_row(lstm);
  MetricRow q = lstm;
  q.model = "lstm-int8";
  q.set("HR@20", 0.89);
  r.add_row(q);
  r.add_curve({"yoochoose", "lstm", "train_loss", {3.0, 2.5, 2.2}});
  r.add_curve({"yoochoose", "lstm", "valid_loss", {3.1, 2.7, NAN}});
  r.add_quant_pair({"yoochoose", "lstm", "lstm-int8", {{"max_abs_score_error", 0.002}}});
  return r;
}
}  // namespace

TEST(EvalReport, JsonParsesAndHoldsTheRows) {
  const Report r = sample_report();
  const auto j = nlohmann::json::parse(r.to_json());
  EXPECT_EQ(j["title"], "test <report> & \"quotes\"");
  EXPECT_EQ(j["meta"]["data"], "/tmp/x\ty");
  ASSERT_EQ(j["rows"].size(), 3u);
  EXPECT_EQ(j["rows"][0]["model"], "pop");
  EXPECT_EQ(j["rows"][0]["cases"], 3);
  EXPECT_NEAR(j["rows"][0]["metrics"]["HR@10"].get<double>(), 1.0 / 3, 1e-9);
  EXPECT_NEAR(j["rows"][0]["metrics"]["HR@20"].get<double>(), 2.0 / 3, 1e-9);
  EXPECT_NEAR(j["rows"][0]["metrics"]["MRR@20"].get<double>(), (1.0 + 1.0 / 15) / 3, 1e-9);
  EXPECT_NEAR(j["rows"][1]["metrics"]["AUC"].get<double>(), 0.75, 1e-12);
  ASSERT_EQ(j["curves"].size(), 2u);
  EXPECT_TRUE(j["curves"][1]["y"][2].is_null());  // NaN -> null, still valid JSON
  ASSERT_EQ(j["quantization"].size(), 1u);
  EXPECT_NEAR(j["quantization"][0]["metrics"]["HR@20"]["rel_diff"].get<double>(), (0.89 - 0.9) / 0.9, 1e-9);
  EXPECT_NEAR(j["quantization"][0]["extra"]["max_abs_score_error"].get<double>(), 0.002, 1e-12);
  ASSERT_FALSE(j["verdicts"].empty());
}

TEST(EvalReport, VerdictSaysWhenAModelDoesNotBeatTheBaselines) {
  Report r;
  MetricRow b;
  b.dataset = "ds";
  b.model = "vsknn";
  b.metrics = {{"HR@20", 0.69}, {"MRR@20", 0.37}};
  MetricRow m = b;
  m.model = "lstm";
  m.kind = "model";
  m.metrics = {{"HR@20", 0.70}, {"MRR@20", 0.30}};
  r.add_row(b);
  r.add_row(m);
  const auto v = r.verdicts();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NE(v[0].find("HR@20"), std::string::npos);
  EXPECT_NE(v[0].find("beats"), std::string::npos);
  EXPECT_EQ(v[0].find("NOT"), std::string::npos);
  EXPECT_NE(v[1].find("does NOT beat"), std::string::npos);
}

TEST(EvalReport, TextTableHasHeaderAndValues) {
  const std::string t = sample_report().to_text();
  EXPECT_NE(t.find("dataset"), std::string::npos);
  EXPECT_NE(t.find("HR@10"), std::string::npos);
  EXPECT_NE(t.find("NDCG@20"), std::string::npos);
  EXPECT_NE(t.find("lstm-int8"), std::string::npos);
  EXPECT_NE(t.find("0.3333"), std::string::npos);  // pop HR@10
  EXPECT_NE(t.find("0.8900"), std::string::npos);
  // The AUC cell: "-" for pop (no AUC), the value for lstm. (The header rule and "lstm-int8"
  // contain '-' too, so the cell itself is checked, by column.)
  std::istringstream lines(t);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> cells;
    for (std::string w; words >> w;) cells.push_back(w);
    rows.push_back(cells);
  }
  ASSERT_GE(rows.size(), 5u);  // header, rule, pop, lstm, lstm-int8
  const auto& head = rows[0];
  const size_t auc = size_t(std::find(head.begin(), head.end(), "AUC") - head.begin());
  ASSERT_LT(auc, head.size()) << t;
  ASSERT_GT(rows[2].size(), auc) << t;  // (cells before AUC have no blanks; "fit s" comes after it)
  ASSERT_GT(rows[3].size(), auc) << t;
  EXPECT_EQ(rows[2][1], "pop");
  EXPECT_EQ(rows[2][auc], "-") << t;  // AUC missing for pop
  EXPECT_EQ(rows[3][1], "lstm");
  EXPECT_EQ(rows[3][auc], "0.7500") << t;
}

TEST(EvalReport, WritesSelfContainedHtmlAndJson) {
  const auto dir = std::filesystem::temp_directory_path() / ("disco-eval-report-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  sample_report().write(dir.string());
  ASSERT_TRUE(std::filesystem::exists(dir / "report.json"));
  ASSERT_TRUE(std::filesystem::exists(dir / "report.html"));
  nlohmann::json parsed;
  EXPECT_NO_THROW(parsed = nlohmann::json::parse(slurp(dir / "report.json")));
  EXPECT_EQ(parsed["rows"].size(), 3u);
  const std::string html = slurp(dir / "report.html");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_NE(html.find("<table>"), std::string::npos);
  EXPECT_NE(html.find("<th>HR@20</th>"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("<polyline"), std::string::npos);        // training curves
  EXPECT_NE(html.find("Float vs quantized"), std::string::npos);
  EXPECT_NE(html.find("test &lt;report&gt; &amp;"), std::string::npos);  // escaped
  // No network: nothing fetched from elsewhere (the SVG namespace URI is not a fetch).
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  std::filesystem::remove_all(dir);
  EXPECT_THROW(sample_report().write("/proc/definitely/not/writable"), std::runtime_error);
}

// Pieces of report.cpp's self-contained HTML that other reports (disco-eval ope / ab / gate) reuse.
#pragma once

#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace disco::eval::html {

std::string escape(const std::string& s);  // & < > " '
// "Nice" axis maximum and tick step for values in [0, vmax].
std::pair<double, double> nice_axis(double vmax);
// Horizontal bar chart (label, value, palette index), as in report.html.
std::string svg_hbars(const std::string& title, const std::vector<std::tuple<std::string, double, size_t>>& bars);
const char* color(size_t i);  // report.html's palette
// Line chart of several series over x = 1..n (report.html's training curves; x axis named xlabel).
std::string svg_lines(const std::string& title, const std::vector<std::pair<std::string, std::vector<double>>>& series,
                      const std::string& xlabel = "epoch");

}  // namespace disco::eval::html

// Hand-written SVG charts for `fcctl report` (no plotting library): a line chart of one or more
// series over x (accuracy / faithfulness vs checkpoint step) and a grouped bar chart over
// categories (edges added / removed per layer). Output is a complete standalone SVG document.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fc::cli {

struct LineSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in x order; NaN y skipped
};
std::string LineChartSvg(const std::string& title, const std::string& x_label, const std::string& y_label,
                         const std::vector<LineSeries>& series);

struct BarSeries {
  std::string name;
  std::vector<double> values;  // one per category
};
std::string BarChartSvg(const std::string& title, const std::string& x_label, const std::string& y_label,
                        const std::vector<std::string>& categories, const std::vector<BarSeries>& series);

// "<" ">" "&" "\"" escaped for SVG text.
std::string SvgEscape(const std::string& s);

}  // namespace fc::cli

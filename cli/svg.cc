#include "cli/svg.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace fc::cli {
namespace {

constexpr double kW = 640, kH = 400, kLeft = 64, kRight = 150, kTop = 40, kBottom = 52;
const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"};

std::string Header(const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{3}</text>\n",
      kW, kH, kW / 2, SvgEscape(title));
}

// Axes with 5 y ticks over [lo, hi] and the axis labels.
std::string Axes(double lo, double hi, const std::string& x_label, const std::string& y_label) {
  std::string s;
  const double x0 = kLeft, x1 = kW - kRight, y0 = kH - kBottom, y1 = kTop;
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", x0, y0, x1, y0);
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", x0, y0, x0, y1);
  for (int i = 0; i <= 4; ++i) {
    double v = lo + (hi - lo) * i / 4.0;
    double y = y0 - (y0 - y1) * i / 4.0;
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", x0, y, x1, y);
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>\n", x0 - 6, y + 4, v);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (x0 + x1) / 2, kH - 12,
                   SvgEscape(x_label));
  s += fmt::format("<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">{1}</text>\n",
                   (y0 + y1) / 2, SvgEscape(y_label));
  return s;
}

std::string Legend(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    double y = kTop + 10 + 18 * static_cast<double>(i);
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", kW - kRight + 12, y - 10,
                     kColors[i % 7]);
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", kW - kRight + 30, y, SvgEscape(names[i]));
  }
  return s;
}

void Range(double* lo, double* hi) {
  if (!std::isfinite(*lo) || !std::isfinite(*hi)) *lo = 0, *hi = 1;
  if (*hi - *lo < 1e-12) *hi = *lo + 1;
}

}  // namespace

std::string SvgEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string LineChartSvg(const std::string& title, const std::string& x_label, const std::string& y_label,
                         const std::vector<LineSeries>& series) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = 0, yhi = -INFINITY;
  for (const LineSeries& l : series) {
    for (auto [x, y] : l.points) {
      if (!std::isfinite(y)) continue;
      xlo = std::min(xlo, x), xhi = std::max(xhi, x);
      ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    }
  }
  Range(&xlo, &xhi);
  Range(&ylo, &yhi);
  const double x0 = kLeft, x1 = kW - kRight, y0 = kH - kBottom, y1 = kTop;
  auto px = [&](double x) { return x0 + (x - xlo) / (xhi - xlo) * (x1 - x0); };
  auto py = [&](double y) { return y0 - (y - ylo) / (yhi - ylo) * (y0 - y1); };
  std::string s = Header(title) + Axes(ylo, yhi, x_label, y_label);
  for (int i = 0; i <= 4; ++i) {
    double v = xlo + (xhi - xlo) * i / 4.0;
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:.4g}</text>\n", px(v), y0 + 16, v);
  }
  std::vector<std::string> names;
  for (size_t k = 0; k < series.size(); ++k) {
    auto pts = series[k].points;
    std::sort(pts.begin(), pts.end());
    std::string poly;
    for (auto [x, y] : pts) {
      if (!std::isfinite(y)) continue;
      poly += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", px(x), py(y), kColors[k % 7]);
    }
    s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", kColors[k % 7], poly);
    names.push_back(series[k].name);
  }
  return s + Legend(names) + "</svg>\n";
}

std::string BarChartSvg(const std::string& title, const std::string& x_label, const std::string& y_label,
                        const std::vector<std::string>& categories, const std::vector<BarSeries>& series) {
  double hi = 0;
  for (const BarSeries& b : series) {
    for (double v : b.values) hi = std::max(hi, std::isfinite(v) ? v : 0.0);
  }
  double lo = 0;
  Range(&lo, &hi);
  const double x0 = kLeft, x1 = kW - kRight, y0 = kH - kBottom, y1 = kTop;
  const double group = (x1 - x0) / std::max<size_t>(1, categories.size());
  const double bar = group * 0.8 / std::max<size_t>(1, series.size());
  std::string s = Header(title) + Axes(lo, hi, x_label, y_label);
  std::vector<std::string> names;
  for (size_t c = 0; c < categories.size(); ++c) {
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x0 + group * (c + 0.5), y0 + 16,
                     SvgEscape(categories[c]));
  }
  for (size_t k = 0; k < series.size(); ++k) {
    for (size_t c = 0; c < categories.size() && c < series[k].values.size(); ++c) {
      double v = std::isfinite(series[k].values[c]) ? series[k].values[c] : 0.0;
      double h = (v - lo) / (hi - lo) * (y0 - y1);
      s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{}: {}</title></rect>\n",
                       x0 + group * c + group * 0.1 + bar * k, y0 - h, bar, h, kColors[k % 7],
                       SvgEscape(series[k].name), v);
    }
    names.push_back(series[k].name);
  }
  return s + Legend(names) + "</svg>\n";
}

}  // namespace fc::cli

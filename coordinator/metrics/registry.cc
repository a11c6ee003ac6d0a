#include "coordinator/metrics/registry.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace fc::coord::metrics {
namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string LabelText(const Labels& labels, const std::string& extra_key = "",
                      const std::string& extra_value = "") {
  std::string out;
  for (const auto& [k, v] : labels) out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", k, Escape(v));
  if (!extra_key.empty()) out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", extra_key, extra_value);
  return out.empty() ? "" : "{" + out + "}";
}

std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  std::lock_guard<std::mutex> l(mu_);
  counts_[i]++;
  sum_ += v;
  count_++;
}

Histogram::Snapshot Histogram::Get() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard<std::mutex> l(mu_);
  uint64_t run = 0;
  for (uint64_t c : counts_) {
    run += c;
    s.cumulative.push_back(run);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

std::vector<double> ExponentialBuckets(double start, double factor, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i, start *= factor) out.push_back(start);
  return out;
}

Counter* Registry::GetCounter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[name];
  f.type = "counter";
  f.help = help;
  auto& slot = f.counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[name];
  f.type = "gauge";
  f.help = help;
  auto& slot = f.gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Histogram* Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  Family& f = families_[name];
  f.type = "histogram";
  f.help = help;
  auto& slot = f.histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return slot.get();
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, f.type);
    for (const auto& [labels, c] : f.counters) out += fmt::format("{}{} {}\n", name, LabelText(labels), c->value());
    for (const auto& [labels, g] : f.gauges) out += fmt::format("{}{} {}\n", name, LabelText(labels), Num(g->value()));
    for (const auto& [labels, h] : f.histograms) {
      Histogram::Snapshot s = h->Get();
      for (size_t i = 0; i < s.bounds.size(); ++i) {
        out += fmt::format("{}_bucket{} {}\n", name, LabelText(labels, "le", Num(s.bounds[i])), s.cumulative[i]);
      }
      out += fmt::format("{}_bucket{} {}\n", name, LabelText(labels, "le", "+Inf"), s.cumulative.back());
      out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, LabelText(labels), Num(s.sum), name,
                         LabelText(labels), s.count);
    }
  }
  return out;
}

}  // namespace fc::coord::metrics

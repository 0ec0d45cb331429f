#include "idp/core/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace idp {

namespace metrics_text {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integers print without an exponent or fraction; others with enough digits to round-trip.
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{:.0f}", value);
  return fmt::format("{}", value);
}

}  // namespace metrics_text

namespace {

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  return valid_metric_name(name) && name.find(':') == std::string_view::npos &&
         name.substr(0, 2) != "__";
}

// {a="x",b="y"}, with an extra label (le for histogram buckets) when given.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += metrics_text::escape_label_value(i < values.size() ? values[i] : std::string());
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void append_header(std::string& out, const std::string& name, const std::string& help,
                   std::string_view type) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, metrics_text::escape_help(help), name,
                     type);
}

void check_labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                  const std::string& family) {
  if (names.size() != values.size()) {
    throw std::invalid_argument(fmt::format("metric {}: {} label values for {} labels", family,
                                            values.size(), names.size()));
  }
}

}  // namespace

void CounterFamily::add(const std::vector<std::string>& label_values, double amount) {
  check_labels(labels_, label_values, name_);
  if (amount < 0) throw std::invalid_argument("metric " + name_ + ": a counter cannot go down");
  std::lock_guard lock(mu_);
  series_[label_values] += amount;
}

double CounterFamily::value(const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(label_values);
  return it == series_.end() ? 0 : it->second;
}

void CounterFamily::render(std::string& out) const {
  append_header(out, name_, help_, "counter");
  std::lock_guard lock(mu_);
  for (const auto& [values, v] : series_) {
    out += name_;
    append_labels(out, labels_, values);
    out += ' ';
    out += metrics_text::format_value(v);
    out += '\n';
  }
}

void HistogramFamily::observe(const std::vector<std::string>& label_values, double value) {
  check_labels(labels_, label_values, name_);
  std::size_t slot = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  std::lock_guard lock(mu_);
  auto& s = series_[label_values];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size() + 1, 0);
  ++s.buckets[slot];
  s.sum += value;
  ++s.count;
}

std::size_t HistogramFamily::count(const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(label_values);
  return it == series_.end() ? 0 : it->second.count;
}

void HistogramFamily::render(std::string& out) const {
  append_header(out, name_, help_, "histogram");
  std::lock_guard lock(mu_);
  for (const auto& [values, s] : series_) {
    std::size_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      out += name_;
      out += "_bucket";
      std::string le = i < bounds_.size() ? metrics_text::format_value(bounds_[i]) : "+Inf";
      append_labels(out, labels_, values, "le", le);
      out += fmt::format(" {}\n", cumulative);
    }
    out += name_ + "_sum";
    append_labels(out, labels_, values);
    out += ' ' + metrics_text::format_value(s.sum) + '\n';
    out += name_ + "_count";
    append_labels(out, labels_, values);
    out += fmt::format(" {}\n", s.count);
  }
}

void MetricsRegistry::check_name(const std::string& name) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + name);
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
    throw std::invalid_argument("metric registered twice: " + name);
  }
  names_.push_back(name);
}

CounterFamily& MetricsRegistry::counter(std::string name, std::string help,
                                        std::vector<std::string> labels) {
  for (const auto& l : labels) {
    if (!valid_label_name(l)) throw std::invalid_argument("invalid label name: " + l);
  }
  std::lock_guard lock(mu_);
  check_name(name);
  counters_.emplace_back(new CounterFamily(std::move(name), std::move(help), std::move(labels)));
  order_.emplace_back('c', counters_.size() - 1);
  return *counters_.back();
}

HistogramFamily& MetricsRegistry::histogram(std::string name, std::string help,
                                            std::vector<std::string> labels,
                                            std::vector<double> bounds) {
  if (bounds.empty()) {
    bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  }
  if (!std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end()) {
    throw std::invalid_argument("histogram " + name + ": bounds must increase");
  }
  for (const auto& l : labels) {
    if (!valid_label_name(l) || l == "le") throw std::invalid_argument("invalid label name: " + l);
  }
  std::lock_guard lock(mu_);
  check_name(name);
  histograms_.emplace_back(
      new HistogramFamily(std::move(name), std::move(help), std::move(labels), std::move(bounds)));
  order_.emplace_back('h', histograms_.size() - 1);
  return *histograms_.back();
}

void MetricsRegistry::gauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  check_name(name);
  gauges_.push_back(Gauge{std::move(name), std::move(help), std::move(read)});
  order_.emplace_back('g', gauges_.size() - 1);
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (auto [kind, index] : order_) {
    if (kind == 'c') {
      counters_[index]->render(out);
    } else if (kind == 'h') {
      histograms_[index]->render(out);
    } else {
      const Gauge& g = gauges_[index];
      append_header(out, g.name, g.help, "gauge");
      out += g.name + ' ' + metrics_text::format_value(g.read ? g.read() : 0) + '\n';
    }
  }
  return out;
}

}  // namespace idp

// idp::MetricsRegistry holds counters, gauges and histograms with labels and renders them in the
// Prometheus text exposition format (version 0.0.4, the format every Prometheus scraper and most
// agents read). It is deliberately small: Debian 12 packages no Prometheus client library for
// C++, and a server needs little more than this. See docs/mcp-server-guide.md ("Metrics").
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*; label values are
// any UTF-8 and are escaped on output. A family is created once (register at start-up) and
// returned by reference; it lives as long as the registry. Every member is thread-safe; adding to
// a series takes one short lock of its family.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace idp {

// Counters only go up. Series are created on first use.
class CounterFamily {
 public:
  void add(const std::vector<std::string>& label_values, double amount = 1);
  double value(const std::vector<std::string>& label_values) const;  // 0 when absent

 private:
  friend class MetricsRegistry;
  CounterFamily(std::string name, std::string help, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {}
  void render(std::string& out) const;
  std::string name_, help_;
  std::vector<std::string> labels_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, double> series_;
};

// Cumulative histograms: each observation lands in every bucket whose upper bound is >= it.
class HistogramFamily {
 public:
  void observe(const std::vector<std::string>& label_values, double value);
  std::size_t count(const std::vector<std::string>& label_values) const;

 private:
  friend class MetricsRegistry;
  HistogramFamily(std::string name, std::string help, std::vector<std::string> labels,
                  std::vector<double> bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}
  struct Series {
    std::vector<std::size_t> buckets;  // non-cumulative counts per bound; the last is +Inf
    double sum = 0;
    std::size_t count = 0;
  };
  void render(std::string& out) const;
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, Series> series_;
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Throws std::invalid_argument for a bad or duplicate name (a programming error, found at
  // start-up). Counter names should end in "_total".
  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> labels = {});
  // `bounds`: increasing upper bounds; +Inf is added. Default: latency buckets in seconds from
  // 0.5 ms to 10 s.
  HistogramFamily& histogram(std::string name, std::string help,
                             std::vector<std::string> labels = {}, std::vector<double> bounds = {});
  // A gauge read when rendering (e.g. the number of open sessions).
  void gauge(std::string name, std::string help, std::function<double()> read);

  // The whole registry, families in registration order.
  std::string render() const;
  // Content-Type of render()'s output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Gauge {
    std::string name, help;
    std::function<double()> read;
  };
  void check_name(const std::string& name);
  mutable std::mutex mu_;
  std::vector<std::string> names_;
  // Stable addresses: families are handed out by reference.
  std::vector<std::unique_ptr<CounterFamily>> counters_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
  std::vector<Gauge> gauges_;
  std::vector<std::pair<char, std::size_t>> order_;  // ('c'|'h'|'g', index)
};

// Helpers of the text format, public for tests and other exporters.
namespace metrics_text {
std::string escape_label_value(std::string_view value);  // \\, \" and \n escaped
std::string escape_help(std::string_view help);          // \\ and \n escaped
std::string format_value(double value);                  // "1", "0.25", "+Inf", "NaN"
}  // namespace metrics_text

}  // namespace idp

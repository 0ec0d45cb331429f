#include "idp/core/metrics.h"

#include <gtest/gtest.h>

namespace idp {
namespace {

TEST(MetricsTest, RendersCountersHistogramsAndGaugesInTheTextFormat) {
  MetricsRegistry m;
  auto& requests = m.counter("app_requests_total", "Requests by method", {"method", "status"});
  auto& latency = m.histogram("app_latency_seconds", "Latency", {"tool"}, {0.1, 1});
  m.gauge("app_sessions", "Open sessions", [] { return 3.0; });
  requests.add({"tools/call", "ok"});
  requests.add({"tools/call", "ok"});
  requests.add({"ping", "ok"}, 0.5);
  latency.observe({"calc"}, 0.05);
  latency.observe({"calc"}, 0.5);
  latency.observe({"calc"}, 7);
  std::string text = m.render();
  EXPECT_NE(
      text.find(
          "# HELP app_requests_total Requests by method\n# TYPE app_requests_total counter\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("app_requests_total{method=\"tools/call\",status=\"ok\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("app_requests_total{method=\"ping\",status=\"ok\"} 0.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("app_latency_seconds_bucket{tool=\"calc\",le=\"0.1\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("app_latency_seconds_bucket{tool=\"calc\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("app_latency_seconds_bucket{tool=\"calc\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("app_latency_seconds_sum{tool=\"calc\"} 7.55\n"), std::string::npos);
  EXPECT_NE(text.find("app_latency_seconds_count{tool=\"calc\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE app_sessions gauge\napp_sessions 3\n"), std::string::npos);
  EXPECT_EQ(requests.value({"tools/call", "ok"}), 2);
  EXPECT_EQ(latency.count({"calc"}), 3u);
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry m;
  m.counter("x_total", "a \\ b\nc", {"v"}).add({"quote \" back \\ nl \n"});
  std::string text = m.render();
  EXPECT_NE(text.find("# HELP x_total a \\\\ b\\nc\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{v=\"quote \\\" back \\\\ nl \\n\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, RefusesBadNamesDuplicatesAndWrongLabelCounts) {
  MetricsRegistry m;
  EXPECT_THROW(m.counter("1bad", "h"), std::invalid_argument);
  EXPECT_THROW(m.counter("ok_total", "h", {"__reserved"}), std::invalid_argument);
  auto& c = m.counter("ok_total", "h", {"a"});
  EXPECT_THROW(m.counter("ok_total", "h"), std::invalid_argument);
  EXPECT_THROW(c.add({"1", "2"}), std::invalid_argument);
  EXPECT_THROW(c.add({"1"}, -1), std::invalid_argument);
  EXPECT_THROW(m.histogram("h", "h", {}, {2, 1}), std::invalid_argument);
}

}  // namespace
}  // namespace idp

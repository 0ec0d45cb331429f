// ServiceMetrics: what /metrics shows about the service, on idp::MetricsRegistry (Prometheus
// text): HTTP requests by route pattern and status, turn latency by outcome, tool-call latency
// and errors by agent and tool, model tokens, running turns, the agents by status, and the
// store's operations and transactions. Turn and tool figures are read from the stored events
// (tool_end, usage), so chat turns and jobs count alike. Label values are bounded: routes are
// patterns ("/api/chat/sessions/{id}"), agents and tools are those of the registry.
// Thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "idp/agents/registry.h"
#include "idp/core/metrics.h"

namespace idp::service {

class ServiceMetrics {
 public:
  // `registry` and `running_turns` are read at each scrape.
  ServiceMetrics(std::function<std::vector<agents::AgentInfo>()> agents,
                 std::function<double()> running_turns);

  void request(std::string_view route, int status);
  void event(const boost::json::object& event);
  void turn(std::chrono::steady_clock::duration took, const std::string& status);
  // The store's operations and the transactions that committed them (its group commit), read
  // at each scrape. Call once, at start-up.
  void store_counters(std::function<double()> operations, std::function<double()> transactions);

  std::string render() const;

 private:
  MetricsRegistry registry_;
  CounterFamily* requests_;
  HistogramFamily* turns_;
  HistogramFamily* tool_latency_;
  CounterFamily* tool_errors_;
  CounterFamily* tokens_;
};

}  // namespace idp::service

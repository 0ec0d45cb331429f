#include "service_metrics.h"

namespace idp::service {

namespace bj = boost::json;

namespace {

std::string field(const bj::object& e, std::string_view key) {
  auto it = e.find(key);
  return it != e.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

double number(const bj::object& e, std::string_view key) {
  auto it = e.find(key);
  if (it == e.end()) return 0;
  if (it->value().is_int64()) return static_cast<double>(it->value().get_int64());
  if (it->value().is_uint64()) return static_cast<double>(it->value().get_uint64());
  if (it->value().is_double()) return it->value().get_double();
  return 0;
}

}  // namespace

ServiceMetrics::ServiceMetrics(std::function<std::vector<agents::AgentInfo>()> agents,
                               std::function<double()> running_turns) {
  requests_ =
      &registry_.counter("idp_http_requests_total", "HTTP requests answered, by route and status",
                         {"route", "status"});
  // Turns take seconds to minutes: buckets from 50 ms to 10 min.
  turns_ = &registry_.histogram("idp_turn_duration_seconds",
                                "Chat turns from the message to the last event", {"status"},
                                {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600});
  tool_latency_ = &registry_.histogram("idp_tool_call_duration_seconds",
                                       "MCP tool calls of the agents", {"agent", "tool"});
  tool_errors_ =
      &registry_.counter("idp_tool_call_errors_total",
                         "MCP tool calls that failed or returned isError", {"agent", "tool"});
  tokens_ =
      &registry_.counter("idp_model_tokens_total", "Model tokens of every turn and job", {"kind"});
  registry_.gauge("idp_turns_running", "Chat turns running now", std::move(running_turns));
  auto shared =
      std::make_shared<std::function<std::vector<agents::AgentInfo>()>>(std::move(agents));
  for (auto status : {agents::AgentStatus::kReady, agents::AgentStatus::kUnavailable,
                      agents::AgentStatus::kDisabled}) {
    std::string name = std::string("idp_agents_") + agents::to_string(status);
    registry_.gauge(name, std::string("Agents of the secret that are ") + agents::to_string(status),
                    [shared, status] {
                      double n = 0;
                      for (const auto& a : (*shared)()) n += a.status == status;
                      return n;
                    });
  }
}

void ServiceMetrics::request(std::string_view route, int status) {
  requests_->add({std::string(route), std::to_string(status)});
}

void ServiceMetrics::event(const bj::object& e) {
  std::string type = field(e, "type");
  if (type == "tool_end") {
    std::vector<std::string> labels{field(e, "agent_id"), field(e, "tool")};
    tool_latency_->observe(labels, number(e, "ms") / 1000.0);
    auto err = e.find("is_error");
    if (err != e.end() && err->value().is_bool() && err->value().get_bool())
      tool_errors_->add(labels);
  } else if (type == "usage") {
    tokens_->add({"input"}, number(e, "input_tokens"));
    tokens_->add({"output"}, number(e, "output_tokens"));
  }
}

void ServiceMetrics::turn(std::chrono::steady_clock::duration took, const std::string& status) {
  turns_->observe({status}, std::chrono::duration<double>(took).count());
}

void ServiceMetrics::store_counters(std::function<double()> operations,
                                    std::function<double()> transactions) {
  registry_.gauge("idp_store_operations", "Store operations (reads and writes) run since start",
                  std::move(operations));
  registry_.gauge("idp_store_transactions",
                  "Store transactions (one fsync each) that ran those operations, grouped",
                  std::move(transactions));
}

std::string ServiceMetrics::render() const { return registry_.render(); }

}  // namespace idp::service

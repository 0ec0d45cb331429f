// The event constructors of events.h: one JSON object per event, "type" first.
#include "idp/agents/events.h"

namespace idp::agents {

namespace bj = boost::json;

namespace event {

Event turn_start(std::string_view turn_id, const std::vector<std::string>& agent_ids,
                 std::string_view model, bool offline) {
  bj::array ids;
  for (const auto& id : agent_ids) ids.emplace_back(id);
  return Event{{"type", "turn_start"},
               {"turn_id", turn_id},
               {"agent_ids", std::move(ids)},
               {"model", model},
               {"offline", offline}};
}

Event text_delta(std::string_view text, std::string_view agent_id) {
  Event e{{"type", "text_delta"}, {"text", text}};
  if (!agent_id.empty()) e["agent_id"] = agent_id;
  return e;
}

Event tool_start(std::string_view call_id, std::string_view agent_id, std::string_view tool,
                 const bj::object& input) {
  return Event{{"type", "tool_start"},
               {"call_id", call_id},
               {"agent_id", agent_id},
               {"tool", tool},
               {"input", input}};
}

Event tool_progress(std::string_view call_id, std::string_view agent_id, std::string_view tool,
                    std::string_view task_id, std::string_view status, std::string_view message) {
  return Event{{"type", "tool_progress"}, {"call_id", call_id}, {"agent_id", agent_id},
               {"tool", tool},           {"task_id", task_id}, {"status", status},
               {"message", message}};
}

Event tool_end(std::string_view call_id, std::string_view agent_id, std::string_view tool,
               bool is_error, bj::object output, std::int64_t ms) {
  return Event{{"type", "tool_end"}, {"call_id", call_id}, {"agent_id", agent_id},
               {"tool", tool},       {"is_error", is_error}, {"output", std::move(output)},
               {"ms", ms}};
}

Event subagent_start(std::string_view call_id, std::string_view agent_id, std::string_view query) {
  return Event{
      {"type", "subagent_start"}, {"call_id", call_id}, {"agent_id", agent_id}, {"query", query}};
}

Event subagent_end(std::string_view call_id, std::string_view agent_id, bool is_error,
                   std::int64_t ms) {
  return Event{{"type", "subagent_end"},
               {"call_id", call_id},
               {"agent_id", agent_id},
               {"is_error", is_error},
               {"ms", ms}};
}

Event structured_data(std::string_view response_type, bj::value data) {
  return Event{
      {"type", "structured_data"}, {"responseType", response_type}, {"data", std::move(data)}};
}

Event usage(std::int64_t input_tokens, std::int64_t output_tokens) {
  return Event{
      {"type", "usage"}, {"input_tokens", input_tokens}, {"output_tokens", output_tokens}};
}

Event final(std::string_view text) { return Event{{"type", "final"}, {"text", text}}; }

Event error(std::string_view code, std::string_view message) {
  return Event{{"type", "error"}, {"code", code}, {"message", message}};
}

}  // namespace event

std::string_view event_type(const Event& e) {
  const bj::value* t = e.if_contains("type");
  if (!t || !t->is_string()) return {};
  return t->get_string();
}

bool is_terminal(const Event& e) {
  std::string_view t = event_type(e);
  return t == "final" || t == "error";
}

}  // namespace idp::agents

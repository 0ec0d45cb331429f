// The one event stream of an agent turn (docs/events.md is its reference). The agent loop emits
// events, the CLI prints them (`idp-agents ask --events`: one JSON line each), and the service
// stores every event before it streams it (adding "seq", the SSE id, and "ts"). Each event is a
// JSON object whose "type" names it:
//   turn_start      {turn_id, agent_ids, model, offline}
//   text_delta      {text, agent_id?}            agent_id set when a sub-agent is speaking
//   tool_start      {call_id, agent_id, tool, input}
//   tool_progress   {call_id, agent_id, tool, task_id, status, message}   a tool running as an
//                                                MCP task changed status or status message
//   tool_end        {call_id, agent_id, tool, is_error, output, ms}
//   subagent_start  {call_id, agent_id, query}
//   subagent_end    {call_id, agent_id, is_error, ms}
//   structured_data {responseType, data}         "table" | "plotData" (and "text")
//   usage           {input_tokens, output_tokens}
//   final           {text}                       last event of a turn that answered
//   error           {code, message}              last event of a turn that failed
// The events of a sub-agent (its text_delta, tool_start, tool_progress, tool_end) also carry `parent_call_id`,
// the call_id of the subagent_start they belong to. No event ever holds a password, token or
// API key.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace idp::agents {

using Event = boost::json::object;
// Receives events in order; called from the turn's executor, never concurrently for one turn.
using EventSink = std::function<void(Event event)>;

namespace event {
Event turn_start(std::string_view turn_id, const std::vector<std::string>& agent_ids,
                 std::string_view model, bool offline);
Event text_delta(std::string_view text, std::string_view agent_id = {});
Event tool_start(std::string_view call_id, std::string_view agent_id, std::string_view tool,
                 const boost::json::object& input);
// status: working, input_required, completed, failed or cancelled; message: the server's
// statusMessage ("" when none).
Event tool_progress(std::string_view call_id, std::string_view agent_id, std::string_view tool,
                    std::string_view task_id, std::string_view status, std::string_view message);
// output: {"content":[...],"structuredContent":{...}?} as the MCP server returned it (whole,
// never cut), or {"content":[{"type":"text","text":"<transport error>"}]}.
Event tool_end(std::string_view call_id, std::string_view agent_id, std::string_view tool,
               bool is_error, boost::json::object output, std::int64_t ms);
Event subagent_start(std::string_view call_id, std::string_view agent_id, std::string_view query);
Event subagent_end(std::string_view call_id, std::string_view agent_id, bool is_error,
                   std::int64_t ms);
Event structured_data(std::string_view response_type, boost::json::value data);
Event usage(std::int64_t input_tokens, std::int64_t output_tokens);
Event final(std::string_view text);
Event error(std::string_view code, std::string_view message);
}  // namespace event

// "type" of an event ("" when missing).
std::string_view event_type(const Event& e);
// True for the events that end a turn (final, error).
bool is_terminal(const Event& e);

}  // namespace idp::agents

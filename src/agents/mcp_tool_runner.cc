#include "mcp_tool_runner.h"

#include <chrono>

#include "idp/mcp/client.h"
#include "tool_results.h"

namespace idp::agents {

namespace bj = boost::json;
using boost::asio::awaitable;

awaitable<ToolOutput> McpToolRunner::run(ToolCall call) {
  call.voice.emit(event::tool_start(call.call_id, agent_id_, call.tool, call.input));
  auto start = std::chrono::steady_clock::now();
  mcp::CallOptions options;
  options.timeout = timeout_;
  options.cancel = call.cancel;
  // A tool that allows tasks runs as one (a long document job outlives any one request); the
  // tool timeout bounds the whole task, and the turn's stop (the user's Stop, the turn deadline)
  // cancels it on the server. Each change of the task's status is a tool_progress event.
  options.task = mcp::TaskMode::kPrefer;
  options.task_timeout = timeout_;
  options.on_task_status = [voice = call.voice, call_id = call.call_id, agent = agent_id_,
                            tool = call.tool](const mcp::TaskInfo& s) {
    voice.emit(event::tool_progress(call_id, agent, tool, s.task_id, s.status, s.status_message));
  };
  std::string agent = agent_id_;
  std::string tool = call.tool;
  bj::object input = call.input;
  auto answer = co_await registry_->call_tool(std::move(agent), std::move(tool), std::move(input),
                                              std::move(options));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  ToolOutput out;
  bj::object shown;
  if (answer) {
    out.content = model_content(*answer);
    out.is_error = answer->is_error;
    shown = event_output(*answer);
  } else {
    std::string message = "the tool call failed: " + answer.error().message();
    out.content = text_content(message);
    out.is_error = true;
    shown = error_output(message);
  }
  call.voice.emit(
      event::tool_end(call.call_id, agent_id_, call.tool, out.is_error, std::move(shown), ms));
  co_return out;
}

}  // namespace idp::agents

// The ToolRunner of an agent: a tool use goes to the agent's MCP server through the registry,
// bounded by the per-tool timeout and stopped (notifications/cancelled) with the agent. A tool
// whose listing allows tasks (taskSupport optional or required) runs as an MCP task: the
// per-tool timeout bounds the whole task, the agent's stop cancels it on the server (tasks/cancel),
// and each change of its status is a tool_progress event. Emits tool_start and tool_end (the
// whole result); a transport failure is an error output the model reads ("the tool call failed:
// ..."), never an exception.
#pragma once

#include <memory>
#include <string>

#include "agent_loop.h"
#include "idp/agents/registry.h"

namespace idp::agents {

class McpToolRunner final : public ToolRunner {
 public:
  McpToolRunner(std::shared_ptr<AgentRegistry> registry, std::string agent_id,
                std::chrono::milliseconds timeout)
      : registry_(std::move(registry)), agent_id_(std::move(agent_id)), timeout_(timeout) {}
  boost::asio::awaitable<ToolOutput> run(ToolCall call) override;

 private:
  std::shared_ptr<AgentRegistry> registry_;
  std::string agent_id_;
  std::chrono::milliseconds timeout_;
};

}  // namespace idp::agents

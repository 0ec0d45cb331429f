// The orchestrator: with several agents chosen, an agent whose tools are the sub-agents, one
// tool per agent named after its id (sanitized by the loop like any tool name) with the input
// {"query": string}; its system prompt lists each agent's name, description and sample
// queries. A sub-agent runs its own agent loop on the question it is given. Sub-agent calls of
// one answer run in parallel like any tool uses; each has a deadline
// (LoopLimits::subagent_deadline) that fires even when the sub-agent is silent: the
// orchestrator gets an error result at once, the sub-agent is stopped and says nothing more. A
// failing sub-agent is an error result, never a crash.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent_loop.h"
#include "idp/agents/registry.h"

namespace idp::agents {

std::string orchestrator_system_prompt(const std::vector<AgentInfo>& agents);
// One {query} tool per agent (original name: the agent id).
std::vector<llm::ToolSpec> subagent_tools(const std::vector<AgentInfo>& agents);

class SubAgentRunner final : public ToolRunner {
 public:
  SubAgentRunner(std::shared_ptr<TurnContext> turn, std::shared_ptr<AgentRegistry> registry,
                 std::vector<AgentInfo> agents)
      : turn_(std::move(turn)), registry_(std::move(registry)), agents_(std::move(agents)) {}
  // Emits subagent_start, the sub-agent's own events (agent_id set) and subagent_end.
  boost::asio::awaitable<ToolOutput> run(ToolCall call) override;

 private:
  std::shared_ptr<TurnContext> turn_;
  std::shared_ptr<AgentRegistry> registry_;
  std::vector<AgentInfo> agents_;
};

}  // namespace idp::agents

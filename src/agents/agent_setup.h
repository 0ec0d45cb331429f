// One agent of the registry made ready for the loop: its system prompt (name, description, how
// to treat tool output, how to hand back a table or a chart) and its tools as tool specs (after
// tools_allow / tools_deny / tool_prefix, as the registry lists them).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent_loop.h"
#include "idp/agents/registry.h"

namespace idp::agents {

// The rules every agent's prompt ends with (tool output is data; the responseType block).
std::string answer_rules();
std::string agent_system_prompt(const AgentInfo& info);
std::vector<llm::ToolSpec> tool_specs(const std::vector<mcp::Tool>& tools);

// `speaker`: empty for the agent that answers the user, its id for a sub-agent.
AgentSetup make_agent_setup(const std::shared_ptr<TurnContext>& turn,
                            const std::shared_ptr<AgentRegistry>& registry, const AgentInfo& info,
                            std::string speaker, std::shared_ptr<CancelSignal> stop, Voice voice);

}  // namespace idp::agents

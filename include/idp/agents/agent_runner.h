// idp::agents::AgentRunner answers one question (a "turn") with the agents of a registry: the
// agent loop (model turn -> the tool uses of that answer in parallel through the agent's MCP
// client -> results back to the model -> repeat until the model stops), and, when several
// agents are chosen, the orchestrator (an agent whose tools are the sub-agents, one tool
// `{query}` per agent). A sole chosen agent answers directly. Every step is reported as an
// event (events.h); the conversation's earlier messages come in, the turn's new messages come
// out, and the caller stores them.
//
// Limits (LoopLimits): model iterations per agent (reaching the cap ends the turn with a clear
// message), per-tool timeout, whole-turn deadline, sub-agent deadline (fires even when the
// sub-agent is silent), tool-result bytes sent to the model (cut with a marker; events keep the
// whole result), the window of user turns sent to the model.
//
// Thread-safety: run_turn() may be called concurrently for different turns from any executor;
// the runner and the registry must outlive every turn.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idp/agents/events.h"
#include "idp/agents/registry.h"
#include "idp/core/cancel.h"
#include "idp/core/error.h"
#include "idp/llm/model.h"

namespace idp::agents {

struct LoopLimits {
  int max_iterations = 10;                           // model calls per agent per turn
  std::chrono::milliseconds tool_timeout{60'000};    // one tool call
  std::chrono::milliseconds turn_deadline{300'000};  // the whole turn
  std::chrono::milliseconds subagent_deadline{120'000};
  std::size_t max_tool_result_bytes = 20 * 1024;  // per result, as sent to the model
  std::size_t window_user_turns = 20;             // user turns of history sent to the model
  std::size_t max_parallel_tools = 8;             // tool uses of one answer run at once
};

struct TurnRequest {
  std::string question;
  std::vector<std::string> agent_ids;  // empty: every ready agent (through the orchestrator)
  std::vector<llm::Message> history;   // the conversation so far (stored form, whole)
  std::string turn_id;                 // for events; generated when empty
};

struct TurnResult {
  bool ok = false;
  std::string final_text;                         // the answer (structured block removed)
  std::optional<boost::json::object> structured;  // {"responseType":..., "data":...}
  std::vector<llm::Message> new_messages;         // this turn: the user message, assistant and
                                                  // tool-result messages, the final answer
  llm::Usage usage;
  std::optional<Error> error;  // when !ok (kCancelled, kTimeout, ...)
};

class AgentRunner {
 public:
  AgentRunner(std::shared_ptr<AgentRegistry> registry, std::shared_ptr<llm::Model> model,
              LoopLimits limits = {});
  ~AgentRunner();
  AgentRunner(const AgentRunner&) = delete;
  AgentRunner& operator=(const AgentRunner&) = delete;

  // Runs one turn. Emits turn_start first and exactly one final or error event last. Never
  // throws; failures are in the result and the error event.
  boost::asio::awaitable<TurnResult> run_turn(TurnRequest request, EventSink sink,
                                              std::shared_ptr<CancelSignal> cancel = nullptr);

  const LoopLimits& limits() const;
  const llm::ModelInfo& model_info() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::agents

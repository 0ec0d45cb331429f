// The agent loop, one agent's part of a turn: call the model with the conversation window and
// the agent's tools; run every tool use of its answer in parallel (at most
// LoopLimits::max_parallel_tools at once) through a ToolRunner; send the results back (errors
// included, as error results the model can react to); repeat until the model answers without
// tool uses or the iteration cap is reached. Tool names are sanitized for the model and mapped
// back (tool_names.h); results are cut to the size limit and framed as data (tool_results.h);
// <thinking> is never streamed as answer text.
//
// TurnContext is what the agents of one turn share: the event sink, the model, the limits, the
// stop signal (cancellation or the turn's deadline) and the call counter. Everything of a turn
// runs on one strand (TurnContext::executor), so none of this needs a lock.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idp/agents/agent_runner.h"
#include "idp/agents/events.h"
#include "idp/core/cancel.h"
#include "idp/core/error.h"
#include "idp/llm/model.h"

namespace idp::agents {

struct TurnContext {
  boost::asio::any_io_executor executor;  // the turn's strand
  EventSink sink;
  std::shared_ptr<llm::Model> model;
  LoopLimits limits;
  bool offline = false;  // the offline planner: results need no framing
  std::shared_ptr<CancelSignal> stop = std::make_shared<CancelSignal>();
  bool deadline_passed = false;
  bool ended = false;  // the terminal event went out: nothing follows it
  int calls = 0;
  llm::Usage usage;

  std::string next_call_id() { return "call-" + std::to_string(++calls); }
  void emit(Event e) {
    if (!ended && sink) sink(std::move(e));
  }
  // Why the turn's stop signal fired: kTimeout (the deadline) or kCancelled.
  Error stop_error() const;
};

// Who speaks: the turn's events go through it. A sub-agent's voice marks its events with the
// call_id of its subagent_start (`parent_call_id`), so that two sub-agent calls of one agent at
// once stay apart; a muted voice (a sub-agent given up on after its deadline) says nothing more.
struct Voice {
  std::shared_ptr<TurnContext> turn;
  std::shared_ptr<bool> muted = std::make_shared<bool>(false);
  std::string parent_call_id;
  void emit(Event e) const {
    if (*muted) return;
    if (!parent_call_id.empty()) e["parent_call_id"] = parent_call_id;
    turn->emit(std::move(e));
  }
};

struct ToolCall {
  std::string call_id;  // unique in the turn ("call-3")
  std::string tool;     // the original name
  boost::json::object input;
  std::shared_ptr<CancelSignal> cancel;  // the agent's stop
  Voice voice;
};

struct ToolOutput {
  boost::json::array content;  // neutral blocks, whole (the loop cuts and frames them)
  bool is_error = true;
};

// Runs a tool use and reports it (tool_start/tool_end, or subagent_start/subagent_end). Never
// throws: failures are error outputs.
class ToolRunner {
 public:
  virtual ~ToolRunner() = default;
  virtual boost::asio::awaitable<ToolOutput> run(ToolCall call) = 0;
};

struct AgentSetup {
  std::string speaker;  // agent_id of text_delta events; empty for the agent that answers
  std::string system;
  std::vector<llm::ToolSpec> tools;  // original names
  std::shared_ptr<ToolRunner> runner;
  std::shared_ptr<CancelSignal> stop;  // this agent's (the turn's, or a sub-agent's own)
  Voice voice;
};

struct LoopResult {
  std::vector<llm::Message> messages;  // this loop's assistant and tool-result messages
  std::string text;                    // the answer (thinking removed) when ok
  std::optional<Error> error;          // kCancelled when the agent's stop fired
  bool ok() const { return !error.has_value(); }
};

// `conversation`: the messages so far, the last one the user's question; `current_from`: where
// this turn's messages begin in it (earlier tool results are shortened in the window).
boost::asio::awaitable<LoopResult> run_agent_loop(std::shared_ptr<TurnContext> turn,
                                                  AgentSetup setup,
                                                  std::vector<llm::Message> conversation,
                                                  std::size_t current_from);

}  // namespace idp::agents

// The orchestrator (orchestrator.h). Coroutines follow the GCC 12 rule of docs/architecture.md.
#include "orchestrator.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <chrono>
#include <exception>

#include "agent_setup.h"
#include "idp/core/cancel_wait.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "tool_results.h"

namespace idp::agents {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;
using namespace net::experimental::awaitable_operators;

std::string orchestrator_system_prompt(const std::vector<AgentInfo>& agents) {
  std::string out =
      "You are an orchestrator. You answer the user's question by asking the agents below, each "
      "a tool that takes {\"query\": \"...\"}: give each agent the part of the question it can "
      "answer, as a complete question; ask several agents at once when their parts do not "
      "depend on each other; then write one answer from what they said. If an agent fails, say "
      "which part could not be answered.\n\nAgents:\n";
  for (const auto& a : agents) {
    out += fmt::format("- {} (tool for agent id {}): {}", a.agent_name, a.agent_id,
                       a.agent_description);
    if (!a.sample_queries.empty()) {
      out += " Sample queries:";
      for (const auto& q : a.sample_queries) out += " \"" + q + "\"";
    }
    out += "\n";
  }
  return out + "\n" + answer_rules() +
         " An agent's answer may hold such a block already: pass it on unchanged.";
}

std::vector<llm::ToolSpec> subagent_tools(const std::vector<AgentInfo>& agents) {
  std::vector<llm::ToolSpec> out;
  for (const auto& a : agents) {
    llm::ToolSpec s;
    s.name = a.agent_id;
    s.description = a.agent_name + ": " + a.agent_description;
    if (!a.sample_queries.empty()) {
      s.description += " Sample queries:";
      for (const auto& q : a.sample_queries) s.description += " \"" + q + "\"";
    }
    s.input_schema = bj::object{
        {"type", "object"},
        {"properties",
         bj::object{{"query", bj::object{{"type", "string"},
                                         {"description", "the question for this agent"}}}}},
        {"required", bj::array{"query"}}};
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

struct SubRun {
  LoopResult result;
  std::shared_ptr<CancelSignal> done = std::make_shared<CancelSignal>();
};

awaitable<void> sub_agent_task(std::shared_ptr<SubRun> run, std::shared_ptr<TurnContext> turn,
                               AgentSetup setup, std::vector<llm::Message> conversation) {
  auto loop = run_agent_loop(std::move(turn), std::move(setup), std::move(conversation), 0);
  run->result = co_await std::move(loop);
}

}  // namespace

awaitable<ToolOutput> SubAgentRunner::run(ToolCall call) {
  const AgentInfo* info = nullptr;
  for (const auto& a : agents_) {
    if (a.agent_id == call.tool) info = &a;
  }
  const bj::string* query = ::idp::json::find_string(call.input, "query");
  std::string question = query ? std::string(*query) : std::string();
  call.voice.emit(event::subagent_start(call.call_id, call.tool, question));
  auto start = std::chrono::steady_clock::now();
  auto finish = [&](ToolOutput out) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    call.voice.emit(event::subagent_end(call.call_id, call.tool, out.is_error, ms));
    return out;
  };
  if (!info) co_return finish(ToolOutput{text_content("there is no agent " + call.tool), true});
  if (question.empty()) {
    co_return finish(ToolOutput{
        text_content("the query is missing: call the agent with {\"query\": \"<question>\"}"),
        true});
  }

  auto stop = std::make_shared<CancelSignal>();
  auto follow = call.cancel->subscribe([stop] { stop->cancel(); });
  Voice voice{turn_};
  voice.parent_call_id = call.call_id;
  AgentSetup setup = make_agent_setup(turn_, registry_, *info, info->agent_id, stop, voice);
  std::vector<llm::Message> conversation{llm::Message::user_text(question)};
  auto run = std::make_shared<SubRun>();
  std::string agent_id = info->agent_id;
  net::co_spawn(turn_->executor, sub_agent_task(run, turn_, std::move(setup), std::move(conversation)),
                [run, agent_id](std::exception_ptr e) {
                  if (e) {
                    log::error("sub-agent {} failed unexpectedly", agent_id);
                    run->result.error = Error(ErrorCode::kInternal, "the agent failed (internal error)");
                  }
                  run->done->cancel();
                });

  net::steady_timer deadline(turn_->executor, turn_->limits.subagent_deadline);
  auto finished = wait_cancelled(run->done);
  auto expired = deadline.async_wait(net::as_tuple(net::use_awaitable));
  auto either = std::move(finished) || std::move(expired);
  auto which = co_await std::move(either);
  if (which.index() == 1) {
    *voice.muted = true;  // whatever it still does is not part of the answer
    stop->cancel();
    auto seconds =
        std::chrono::duration<double>(turn_->limits.subagent_deadline).count();
    co_return finish(ToolOutput{
        text_content(fmt::format("the agent {} did not answer within {:g} s (its deadline); it "
                                 "was stopped",
                                 agent_id, seconds)),
        true});
  }
  if (!run->result.ok()) {
    const Error& e = *run->result.error;
    std::string why = e.code() == ErrorCode::kCancelled ? std::string("cancelled") : e.message();
    co_return finish(
        ToolOutput{text_content(fmt::format("the agent {} failed: {}", agent_id, why)), true});
  }
  co_return finish(ToolOutput{text_content(run->result.text), false});
}

}  // namespace idp::agents

// AgentRunner (idp/agents/agent_runner.h): picks the agents of a turn, runs the agent loop for a
// sole agent or the orchestrator over several, and ends the turn with exactly one final or error
// event. A turn runs on a strand of its own; the whole-turn deadline and the caller's
// cancellation both fire the turn's stop signal. Coroutines follow the GCC 12 rule of
// docs/architecture.md.
#include "idp/agents/agent_runner.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <exception>
#include <set>

#include "agent_loop.h"
#include "agent_setup.h"
#include "conversation.h"
#include "idp/core/cancel_wait.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "orchestrator.h"
#include "structured_answer.h"

namespace idp::agents {

namespace net = boost::asio;
using net::awaitable;
using namespace net::experimental::awaitable_operators;

namespace {

std::string id_list(const std::vector<AgentInfo>& agents) {
  std::string out;
  for (const auto& a : agents) out += (out.empty() ? "" : ", ") + a.agent_id;
  return out.empty() ? "(none)" : out;
}

// The agents of the turn: the ones asked for, or every ready one.
Result<std::vector<AgentInfo>> choose_agents(const AgentRegistry& registry,
                                             const std::vector<std::string>& asked) {
  std::vector<AgentInfo> all = registry.list_available_agents();
  std::vector<AgentInfo> chosen;
  if (asked.empty()) {
    for (const auto& a : all) {
      if (a.status == AgentStatus::kReady) chosen.push_back(a);
    }
    if (chosen.empty()) {
      std::string why;
      for (const auto& a : all) {
        why += fmt::format("; {}: {}{}", a.agent_id, to_string(a.status),
                           a.reason.empty() ? "" : " (" + a.reason + ")");
      }
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("no agent is ready ({} in the secret{}); `idp-agents agents "
                                    "list` shows why",
                                    all.size(), why));
    }
    return chosen;
  }
  std::set<std::string> seen;
  for (const auto& id : asked) {
    if (!seen.insert(id).second) continue;
    const AgentInfo* found = nullptr;
    for (const auto& a : all) {
      if (a.agent_id == id) found = &a;
    }
    if (!found) {
      return make_error(ErrorCode::kNotFound,
                        fmt::format("unknown agent '{}'; the agents are: {}", id, id_list(all)));
    }
    if (found->status != AgentStatus::kReady) {
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("agent '{}' is {}{}", id, to_string(found->status),
                                    found->reason.empty() ? "" : ": " + found->reason));
    }
    chosen.push_back(*found);
  }
  return chosen;
}

// Fires the turn's stop signal when the deadline passes before `finished`.
awaitable<void> watch_deadline(std::shared_ptr<TurnContext> turn,
                               std::shared_ptr<CancelSignal> finished) {
  net::steady_timer timer(turn->executor, turn->limits.turn_deadline);
  auto done = wait_cancelled(finished);
  auto expired = timer.async_wait(net::as_tuple(net::use_awaitable));
  auto either = std::move(done) || std::move(expired);
  auto which = co_await std::move(either);
  if (which.index() == 1) {
    turn->deadline_passed = true;
    turn->stop->cancel();
  }
}

void end_with_error(TurnContext& turn, TurnResult& result, Error error) {
  turn.emit(event::usage(turn.usage.input_tokens, turn.usage.output_tokens));
  turn.emit(event::error(to_string(error.code()), error.message()));
  turn.ended = true;
  result.ok = false;
  result.usage = turn.usage;
  result.error = std::move(error);
}

// The parts of the runner a turn uses (AgentRunner::Impl is private to the class).
struct TurnParts {
  std::shared_ptr<AgentRegistry> registry;
  std::shared_ptr<llm::Model> model;
  LoopLimits limits;
};

awaitable<TurnResult> turn_body(std::shared_ptr<TurnParts> impl, TurnRequest request,
                                EventSink sink, std::shared_ptr<CancelSignal> cancel,
                                net::any_io_executor strand) {
  auto turn = std::make_shared<TurnContext>();
  turn->executor = strand;
  turn->sink = std::move(sink);
  turn->model = impl->model;
  turn->limits = impl->limits;
  turn->offline = impl->model->info().offline;
  std::string turn_id = request.turn_id.empty() ? "turn-" + random_token(12) : request.turn_id;
  TurnResult result;

  auto chosen = choose_agents(*impl->registry, request.agent_ids);
  std::vector<std::string> ids = request.agent_ids;
  if (chosen) {
    ids.clear();
    for (const auto& a : *chosen) ids.push_back(a.agent_id);
  }
  const llm::ModelInfo& info = impl->model->info();
  turn->emit(event::turn_start(turn_id, ids, info.spec.empty() ? "offline" : info.spec,
                               info.offline));
  if (!chosen) {
    end_with_error(*turn, result, chosen.error());
    co_return result;
  }

  CancelSignal::Subscription follow;
  if (cancel) follow = cancel->subscribe([stop = turn->stop] { stop->cancel(); });
  auto finished = std::make_shared<CancelSignal>();
  net::co_spawn(strand, watch_deadline(turn, finished), net::detached);

  std::vector<llm::Message> conversation = std::move(request.history);
  const std::size_t current_from = conversation.size();
  conversation.push_back(llm::Message::user_text(request.question));

  AgentSetup setup;
  Voice voice{turn};
  if (chosen->size() == 1) {
    setup = make_agent_setup(turn, impl->registry, chosen->front(), "", turn->stop, voice);
  } else {
    setup.system = orchestrator_system_prompt(*chosen);
    setup.tools = subagent_tools(*chosen);
    setup.runner = std::make_shared<SubAgentRunner>(turn, impl->registry, *chosen);
    setup.stop = turn->stop;
    setup.voice = voice;
  }
  auto run = run_agent_loop(turn, std::move(setup), std::move(conversation), current_from);
  LoopResult loop = co_await std::move(run);
  finished->cancel();

  result.new_messages.push_back(llm::Message::user_text(request.question));
  for (auto& m : loop.messages) result.new_messages.push_back(std::move(m));
  if (!loop.ok()) {
    Error error = loop.error->code() == ErrorCode::kCancelled && turn->stop->cancelled()
                      ? turn->stop_error()
                      : *loop.error;
    close_conversation(result.new_messages, error.message());
    end_with_error(*turn, result, std::move(error));
    co_return result;
  }
  StructuredAnswer answer = split_structured_answer(loop.text);
  if (answer.block) {
    const boost::json::value* type = answer.block->if_contains("responseType");
    std::string_view response_type =
        type && type->is_string() ? std::string_view(type->get_string()) : std::string_view{};
    turn->emit(event::structured_data(response_type, answer.block->at("data")));
  }
  turn->emit(event::usage(turn->usage.input_tokens, turn->usage.output_tokens));
  turn->emit(event::final(answer.text));
  turn->ended = true;
  result.ok = true;
  result.final_text = std::move(answer.text);
  result.structured = std::move(answer.block);
  result.usage = turn->usage;
  co_return result;
}

}  // namespace

struct AgentRunner::Impl {
  std::shared_ptr<TurnParts> parts;
};

AgentRunner::AgentRunner(std::shared_ptr<AgentRegistry> registry,
                         std::shared_ptr<llm::Model> model, LoopLimits limits)
    : impl_(std::make_shared<Impl>(
          Impl{std::make_shared<TurnParts>(TurnParts{std::move(registry), std::move(model), limits})})) {}

AgentRunner::~AgentRunner() = default;

const LoopLimits& AgentRunner::limits() const { return impl_->parts->limits; }
const llm::ModelInfo& AgentRunner::model_info() const { return impl_->parts->model->info(); }

awaitable<TurnResult> AgentRunner::run_turn(TurnRequest request, EventSink sink,
                                            std::shared_ptr<CancelSignal> cancel) {
  auto ex = co_await net::this_coro::executor;
  net::any_io_executor strand = net::make_strand(ex);
  std::shared_ptr<EventSink> shared_sink = std::make_shared<EventSink>(std::move(sink));
  // The sink is shared so that, should the body escape with an exception, the turn still ends
  // with its error event.
  EventSink forward = [shared_sink](Event e) {
    if (*shared_sink) (*shared_sink)(std::move(e));
  };
  auto body = turn_body(impl_->parts, std::move(request), forward, std::move(cancel), strand);
  auto spawned = net::co_spawn(strand, std::move(body), net::as_tuple(net::use_awaitable));
  auto [error, result] = co_await std::move(spawned);
  if (error) {
    std::string what = "the turn failed (internal error)";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log::error("agent turn failed: {}", e.what());
    } catch (...) {
      log::error("agent turn failed with an unknown exception");
    }
    if (*shared_sink) (*shared_sink)(event::error("internal", what));
    result = TurnResult{};
    result.error = Error(ErrorCode::kInternal, what);
  }
  co_return result;
}

}  // namespace idp::agents

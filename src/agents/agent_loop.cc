// The agent loop (agent_loop.h). Coroutines here follow the GCC 12 rule of
// docs/architecture.md: co_await operands are named locals.
#include "agent_loop.h"

#include <boost/asio/co_spawn.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <exception>

#include "conversation.h"
#include "idp/core/cancel_wait.h"
#include "idp/core/log.h"
#include "idp/llm/think_tags.h"
#include "structured_answer.h"
#include "tool_names.h"
#include "tool_results.h"

namespace idp::agents {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;

Error TurnContext::stop_error() const {
  if (deadline_passed) {
    return Error(ErrorCode::kTimeout,
                 fmt::format("the turn did not finish within {} s (the turn deadline)",
                             std::chrono::duration_cast<std::chrono::seconds>(limits.turn_deadline)
                                 .count()));
  }
  return Error(ErrorCode::kCancelled, "the turn was cancelled");
}

namespace {

// The tool uses of one answer, run by a few workers on the turn's strand.
struct Batch {
  std::shared_ptr<ToolRunner> runner;
  std::vector<ToolCall> calls;
  std::vector<ToolOutput> outputs;
  std::size_t next = 0;
  std::size_t running = 0;
  std::shared_ptr<CancelSignal> done = std::make_shared<CancelSignal>();
};

awaitable<void> batch_worker(std::shared_ptr<Batch> batch) {
  while (batch->next < batch->calls.size()) {
    std::size_t i = batch->next++;
    ToolCall call = batch->calls[i];
    try {
      batch->outputs[i] = co_await batch->runner->run(std::move(call));
    } catch (const std::exception& e) {
      log::error("tool {} failed: {}", batch->calls[i].tool, e.what());
      batch->outputs[i] = ToolOutput{text_content("the tool call failed (internal error)"), true};
    }
  }
}

awaitable<void> run_batch(std::shared_ptr<Batch> batch, net::any_io_executor executor,
                          std::size_t parallel) {
  batch->outputs.resize(batch->calls.size());
  std::size_t workers = std::clamp<std::size_t>(parallel, 1, batch->calls.size());
  batch->running = workers;
  for (std::size_t w = 0; w < workers; ++w) {
    net::co_spawn(executor, batch_worker(batch), [batch](std::exception_ptr) {
      if (--batch->running == 0) batch->done->cancel();
    });
  }
  auto all_done = wait_cancelled(batch->done);
  co_await std::move(all_done);
}

// The answer text as it streams: <thinking> parts go nowhere, the rest to text_delta events.
struct TextStream {
  const AgentSetup* setup;
  llm::ThinkTagSplitter splitter;
  void send(std::vector<llm::ThinkTagSplitter::Piece> pieces) {
    for (auto& p : pieces) {
      if (!p.reasoning && !p.text.empty()) setup->voice.emit(event::text_delta(p.text, setup->speaker));
    }
  }
};

std::string tool_list(const std::vector<llm::ToolSpec>& specs) {
  std::string out;
  for (const auto& s : specs) out += (out.empty() ? "" : ", ") + s.name;
  return out.empty() ? "(none)" : out;
}

}  // namespace

awaitable<LoopResult> run_agent_loop(std::shared_ptr<TurnContext> turn, AgentSetup setup,
                                     std::vector<llm::Message> conversation,
                                     std::size_t current_from) {
  LoopResult result;
  ToolNameMap names;
  std::vector<llm::ToolSpec> specs;
  for (const auto& t : setup.tools) {
    llm::ToolSpec s = t;
    s.name = names.add(t.name);
    specs.push_back(std::move(s));
  }
  const std::size_t first_new = conversation.size();
  auto take_new = [&] {
    result.messages.assign(conversation.begin() + static_cast<std::ptrdiff_t>(first_new),
                           conversation.end());
  };

  for (int iteration = 0; iteration < turn->limits.max_iterations; ++iteration) {
    if (setup.stop->cancelled()) {
      result.error = Error(ErrorCode::kCancelled, "cancelled");
      break;
    }
    llm::ModelRequest request;
    request.system = setup.system;
    request.messages =
        conversation_window(conversation, turn->limits.window_user_turns, current_from);
    request.tools = specs;
    TextStream stream{&setup, {}};
    llm::StreamHandlers handlers;
    handlers.on_text = [&stream](std::string_view text) { stream.send(stream.splitter.feed(text)); };
    std::shared_ptr<CancelSignal> stop = setup.stop;
    auto answer = co_await turn->model->converse(request, handlers, stop);
    stream.send(stream.splitter.flush());
    if (!answer) {
      result.error = setup.stop->cancelled() ? Error(ErrorCode::kCancelled, "cancelled")
                                             : answer.error();
      break;
    }
    turn->usage.input_tokens += answer->usage.input_tokens;
    turn->usage.output_tokens += answer->usage.output_tokens;
    conversation.push_back(answer->message);
    auto uses = answer->message.tool_uses();
    if (uses.empty()) {
      result.text = strip_thinking(answer->message.text());
      take_new();
      co_return result;
    }
    if (iteration + 1 == turn->limits.max_iterations) break;  // the cap: no result would be read

    // Tool uses of this answer, in parallel.
    auto batch = std::make_shared<Batch>();
    batch->runner = setup.runner;
    std::vector<std::optional<ToolOutput>> unknown(uses.size());
    std::vector<std::size_t> slot(uses.size(), 0);
    for (std::size_t i = 0; i < uses.size(); ++i) {
      auto original = names.original(uses[i]->name);
      if (!original) {
        unknown[i] = ToolOutput{
            text_content(fmt::format("there is no tool named {}; the tools are: {}",
                                     uses[i]->name, tool_list(specs))),
            true};
        continue;
      }
      slot[i] = batch->calls.size();
      batch->calls.push_back(
          ToolCall{turn->next_call_id(), *original, uses[i]->input, setup.stop, setup.voice});
    }
    if (!batch->calls.empty()) {
      auto ran = run_batch(batch, turn->executor, turn->limits.max_parallel_tools);
      co_await std::move(ran);
    }
    llm::Message results{llm::Role::kUser, {}};
    for (std::size_t i = 0; i < uses.size(); ++i) {
      ToolOutput out = unknown[i] ? std::move(*unknown[i]) : std::move(batch->outputs[slot[i]]);
      bj::array content = shorten_result_content(out.content, turn->limits.max_tool_result_bytes);
      if (!turn->offline) content = frame_result_content(content, uses[i]->name);
      results.content.push_back(llm::ToolResultBlock{uses[i]->id, std::move(content), out.is_error});
    }
    conversation.push_back(std::move(results));
  }
  take_new();
  if (!result.error) {
    result.error = Error(
        ErrorCode::kResourceExhausted,
        fmt::format("stopped after {} model calls without a final answer (the iteration cap; "
                    "raise it with --max-iterations, or ask a narrower question)",
                    turn->limits.max_iterations));
  }
  co_return result;
}

}  // namespace idp::agents

// `idp-agents ask [--secret SOURCE] [--agent ID]... [--model SPEC] [--events]
//  [--max-iterations N] [--timeout S] QUESTION`: discovers the agents of the secret and answers
// the question with their tools (idp::agents::AgentRunner). With no --agent every ready agent
// takes part through the orchestrator; a sole agent answers directly. The answer streams to
// stdout and the tool steps to stderr; --events prints the turn's events instead, one JSON
// object per line on stdout, the last one `final` or `error` (docs/events.md). Ctrl-C cancels
// the turn (the model stream stops, running tool calls get notifications/cancelled).
// Exit: 0 answered, 1 the turn failed (or no agent / model could be used), 2 usage.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "answer_text.h"
#include "aws_secret_source.h"
#include "cli.h"
#include "idp/agents/agent_runner.h"
#include "idp/agents/registry.h"
#include "idp/core/cancel.h"
#include "idp/core/cancel_wait.h"
#include "idp/core/json_util.h"
#include "idp/core/text.h"
#include "idp/llm/model.h"

namespace idp::cli {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;
using namespace net::experimental::awaitable_operators;

namespace {

struct AskArgs {
  std::string secret;
  std::vector<std::string> agents;
  std::string model;
  std::string region;
  bool events = false;
  int max_iterations = 10;
  double timeout_s = 300;
  double subagent_timeout_s = 120;
  double discovery_timeout_s = 30;
  std::string cognito_endpoint;
  std::string question;
};

void print_line(const std::string& line, std::FILE* to) {
  std::fwrite(line.data(), 1, line.size(), to);
  std::fputc('\n', to);
  std::fflush(to);
}

std::string field(const agents::Event& e, std::string_view key) {
  const bj::string* s = ::idp::json::find_string(e, key);
  return s ? std::string(*s) : std::string();
}

// The first text of a tool's output, on one line and short, for the step line on stderr.
std::string output_summary(const agents::Event& e) {
  const bj::value* output = e.if_contains("output");
  if (!output || !output->is_object()) return {};
  const bj::array* content = ::idp::json::find_array(output->get_object(), "content");
  if (!content) return {};
  for (const auto& block : *content) {
    if (!block.is_object()) continue;
    const bj::string* text = ::idp::json::find_string(block.get_object(), "text");
    if (!text) continue;
    std::string line;
    for (char c : utf8_prefix(*text, 160)) line += (c == '\n' || c == '\r') ? ' ' : c;
    return text->size() > 160 ? line + "..." : line;
  }
  return {};
}

// Text mode: the answer's text to stdout as it streams (a structured block drawn as text
// instead of its JSON); steps and errors to stderr.
void print_human(const agents::Event& e, AnswerTextFilter& answer) {
  std::string_view type = agents::event_type(e);
  if (type == "turn_start") {
    if (e.at("offline").as_bool()) {
      print_line("(offline planner: no language model is configured; pass --model or set "
                 "IDP_MODEL for one)",
                 stderr);
    }
  } else if (type == "text_delta") {
    if (e.contains("agent_id")) return;  // a sub-agent's words reach us through the orchestrator
    std::string text = answer.feed(field(e, "text"));
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  } else if (type == "structured_data") {
    std::string held = answer.finish();
    std::string drawn = render_structured(e);
    if (drawn.empty()) return;
    std::string out = held + (held.empty() || held.ends_with('\n') ? "\n" : "\n\n") + drawn;
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  } else if (type == "tool_start") {
    print_line("-> " + field(e, "agent_id") + " " + field(e, "tool") + " " +
                   bj::serialize(e.at("input")),
               stderr);
  } else if (type == "tool_progress") {
    std::string message = field(e, "message");
    print_line(".. " + field(e, "tool") + " task " + field(e, "task_id") + " " +
                   field(e, "status") + (message.empty() ? "" : ": " + message),
               stderr);
  } else if (type == "tool_end") {
    std::string verdict = e.at("is_error").as_bool() ? "failed" : "ok";
    print_line("<- " + field(e, "tool") + " " + verdict + " (" +
                   std::to_string(e.at("ms").to_number<std::int64_t>()) + " ms): " +
                   output_summary(e),
               stderr);
  } else if (type == "subagent_start") {
    print_line("-> agent " + field(e, "agent_id") + ": " + field(e, "query"), stderr);
  } else if (type == "subagent_end") {
    print_line(std::string("<- agent ") + field(e, "agent_id") +
                   (e.at("is_error").as_bool() ? " failed" : " answered") + " (" +
                   std::to_string(e.at("ms").to_number<std::int64_t>()) + " ms)",
               stderr);
  } else if (type == "final") {
    std::string held = answer.finish();
    std::fwrite(held.data(), 1, held.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  } else if (type == "error") {
    std::fputc('\n', stdout);
    std::fflush(stdout);
    print_error(field(e, "message"));
  }
}

// Cancels `cancel` on SIGINT or SIGTERM until `done` fires.
awaitable<void> cancel_on_signal(std::shared_ptr<CancelSignal> cancel,
                                 std::shared_ptr<CancelSignal> done) {
  auto ex = co_await net::this_coro::executor;
  net::signal_set signals(ex, SIGINT, SIGTERM);
  auto signalled = signals.async_wait(net::as_tuple(net::use_awaitable));
  auto finished = wait_cancelled(done);
  auto either = std::move(signalled) || std::move(finished);
  auto which = co_await std::move(either);
  if (which.index() == 0) {
    print_line("(cancelling: the model stream stops and running tool calls are cancelled)",
               stderr);
    cancel->cancel();
  }
}

// Failures before the turn: an error event with --events, else "error: ..." on stderr.
int fail_early(const AskArgs& a, const Error& error, int code) {
  if (a.events) {
    print_line(bj::serialize(agents::event::error(to_string(error.code()), error.message())),
               stdout);
  } else {
    print_error(error);
  }
  return code;
}

awaitable<int> cmd_ask(std::shared_ptr<AskArgs> args) {
  const AskArgs& a = *args;
  auto ex = co_await net::this_coro::executor;
  llm::ModelOptions model_options;
  model_options.region = a.region;
  auto model = llm::make_model(a.model, ex, model_options);
  if (!model) co_return fail_early(a, model.error(), kUsage);
  auto source = open_secret_source(a.secret, ex);
  if (!source) co_return fail_early(a, source.error(), kFailed);

  agents::RegistryOptions registry_options;
  registry_options.cognito_endpoint = a.cognito_endpoint;
  registry_options.default_timeout =
      std::chrono::milliseconds(static_cast<long long>(a.discovery_timeout_s * 1000));
  registry_options.listen = false;  // one question: no standalone streams
  auto registry = std::make_shared<agents::AgentRegistry>(ex, *source, registry_options);
  auto started = co_await registry->start();
  if (!started) {
    co_await registry->stop();
    co_return fail_early(a, started.error(), kFailed);
  }

  agents::LoopLimits limits;
  limits.max_iterations = a.max_iterations;
  limits.turn_deadline = std::chrono::milliseconds(static_cast<long long>(a.timeout_s * 1000));
  limits.subagent_deadline =
      std::chrono::milliseconds(static_cast<long long>(a.subagent_timeout_s * 1000));
  agents::AgentRunner runner(registry, *model, limits);
  agents::TurnRequest request;
  request.question = a.question;
  request.agent_ids = a.agents;
  bool events = a.events;
  auto answer = std::make_shared<AnswerTextFilter>();
  agents::EventSink sink = [events, answer](agents::Event e) {
    if (events) {
      print_line(bj::serialize(e), stdout);
    } else {
      print_human(e, *answer);
    }
  };
  auto cancel = std::make_shared<CancelSignal>();
  auto done = std::make_shared<CancelSignal>();
  net::co_spawn(ex, cancel_on_signal(cancel, done), net::detached);
  auto turn = runner.run_turn(std::move(request), sink, cancel);
  agents::TurnResult result = co_await std::move(turn);
  done->cancel();
  co_await registry->stop();
  co_return result.ok ? kOk : kFailed;
}

}  // namespace

void register_ask_command(CLI::App& app, Commands& out) {
  auto a = std::make_shared<AskArgs>();
  auto* ask = app.add_subcommand(
      "ask",
      "answer a question with the agents' tools: the answer on stdout, the tool steps on stderr "
      "(--events: the turn's events as JSON lines); exit 0 answered, 1 failed");
  ask->add_option("--secret", a->secret,
                  "aws-secretsmanager://NAME[?region=R], file://PATH or env://VAR (default: "
                  "aws-secretsmanager://$AWS_STACK_NAME/external-mcp-agents/credentials)");
  ask->add_option("--agent", a->agents,
                  "an agent to ask (repeatable; default: every ready agent, through the "
                  "orchestrator when there are several)")
      ->expected(1)
      ->take_all();
  add_model_options(ask, a->model, &a->region);
  ask->add_flag("--events", a->events,
                "print the turn's events as JSON lines on stdout (docs/events.md); the last line "
                "is the final or error event");
  ask->add_option("--max-iterations", a->max_iterations,
                  "model calls per agent before the turn gives up")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  ask->add_option("--timeout", a->timeout_s, "seconds the whole turn may take")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  ask->add_option("--subagent-timeout", a->subagent_timeout_s,
                  "seconds an agent asked by the orchestrator may take; past it the orchestrator "
                  "gets an error result and the agent is stopped")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  ask->add_option("--discovery-timeout", a->discovery_timeout_s,
                  "seconds per server to sign in and list tools when the entry sets no "
                  "timeout_seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  ask->add_option("--cognito-endpoint", a->cognito_endpoint,
                  "Cognito endpoint for every entry (default: "
                  "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, else the pool's region)");
  ask->add_option("question", a->question, "the question")->required();
  out.push_back({ask, [a] { return run([a] { return cmd_ask(a); }); }});
}

}  // namespace idp::cli

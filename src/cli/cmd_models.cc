// `idp-agents models check [--model SPEC]`: is the configured model reachable, are the
// credentials good and is the model enabled? It sends the smallest call there is (a one-line
// prompt, at most 8 output tokens) and prints the model, the time taken and "ok", or the advice
// the provider's error mapping gives (exit 1).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "idp/llm/model.h"

namespace idp::cli {

namespace net = boost::asio;
using namespace net::experimental::awaitable_operators;

namespace {

struct ModelsArgs {
  std::string model;
  std::string region;
  double timeout_s = 60;
  bool no_stream = false;
};

net::awaitable<int> cmd_models_check(const ModelsArgs& a) {
  auto ex = co_await net::this_coro::executor;
  llm::ModelOptions options;
  options.region = a.region;
  options.stream = !a.no_stream;
  auto model = llm::make_model(a.model, ex, options);
  if (!model) {
    print_error(model.error());
    co_return kUsage;
  }
  if (!*model) {
    print_error("the offline planner is not part of this build");
    co_return kFailed;
  }
  const llm::ModelInfo& info = (*model)->info();
  std::printf("model: %s\n", info.spec.empty() ? "offline" : info.spec.c_str());
  std::fflush(stdout);

  llm::ModelRequest request;
  request.messages.push_back(llm::Message::user_text("Reply with the single word: ok"));
  request.max_tokens = 8;
  llm::StreamHandlers handlers;
  auto start = std::chrono::steady_clock::now();
  net::steady_timer deadline(ex,
                             std::chrono::milliseconds(static_cast<long long>(a.timeout_s * 1000)));
  auto call = (*model)->converse(request, handlers, nullptr);
  auto timer = deadline.async_wait(net::as_tuple(net::use_awaitable));
  auto raced = co_await (std::move(call) || std::move(timer));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("time: %.2f s\n", seconds);
  if (raced.index() == 1) {
    print_error("no answer within " + std::to_string(static_cast<int>(a.timeout_s)) +
                " s (--timeout); is the model service reachable?");
    co_return kFailed;
  }
  auto& result = std::get<0>(raced);
  if (!result) {
    print_error(result.error());
    co_return kFailed;
  }
  std::string answer = result->message.text();
  if (answer.size() > 60) answer = answer.substr(0, 60) + "...";
  std::printf("answer: %s\n", answer.c_str());
  std::printf("tokens: %lld in, %lld out\n", static_cast<long long>(result->usage.input_tokens),
              static_cast<long long>(result->usage.output_tokens));
  std::printf("ok\n");
  co_return kOk;
}

}  // namespace

void register_models_command(CLI::App& app, Commands& out) {
  auto a = std::make_shared<ModelsArgs>();
  auto* models = app.add_subcommand("models", "the language model the agents use");
  models->require_subcommand(1);
  auto* check = models->add_subcommand(
      "check",
      "check credentials and model access with the smallest call (exit 0: ok, 1: the advice "
      "says what to fix)");
  add_model_options(check, a->model, &a->region);
  check->add_option("--timeout", a->timeout_s, "seconds to wait for the answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  check->add_flag("--no-stream", a->no_stream,
                  "use the non-streaming API (Converse, stream: false)");
  out.push_back({check, [a] { return run([a] { return cmd_models_check(*a); }); }});
}

}  // namespace idp::cli

// bench-fake-model: the fake language model of bench/agent_turn, an OpenAI-compatible
// `POST /v1/chat/completions` that answers at once from a fixed script, so that the benchmark
// measures the agent frameworks rather than the fake (tests/fixtures/fake-openai.mjs, a Node
// process, takes ~3 ms a request here: most of a turn). The script: the number of `tool`
// messages after the last user message picks the answer -- 0: call add {"a":2,"b":40}; 1: call
// echo {"message":"hello"}; 2: call add {"a":1,"b":2}; 3 and more: "done: <the last tool
// message's text>". Answers `stream: true` requests as server-sent chunks (with a usage chunk
// when stream_options.include_usage is set) and others as one chat.completion, both in one
// response body. Prints `listening on http://127.0.0.1:PORT` (use .../v1 as the base URL) and
// counts the requests it answered in `requests=N` on stderr when it stops (SIGTERM, SIGINT).
// --delay-ms D makes every answer wait D ms first, as a remote model would (bench/scale_out).
//
//   bench-fake-model [--port 0] [--delay-ms 0]
#include <CLI/CLI.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include "idp/http/server.h"

namespace bj = boost::json;
using boost::asio::awaitable;

namespace {

std::atomic<long> g_requests{0};
std::chrono::milliseconds g_delay{0};  // set before the server starts

// The text of a message's content (a string, or an array of {"type":"text","text"} parts).
std::string text_of(const bj::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content.get_array()) {
      if (part.is_object() && part.get_object().contains("text") &&
          part.get_object().at("text").is_string()) {
        out += part.get_object().at("text").get_string();
      }
    }
  }
  return out;
}

// The answer for a request: {"tool": name, "arguments": json text} or {"content": text}.
bj::object answer_for(const bj::array& messages) {
  std::size_t tools = 0;
  std::string last_tool;
  for (const auto& m : messages) {
    if (!m.is_object()) continue;
    const bj::object& o = m.get_object();
    const bj::value* role = o.if_contains("role");
    if (!role || !role->is_string()) continue;
    if (role->get_string() == "user") {
      tools = 0;
    } else if (role->get_string() == "tool") {
      ++tools;
      if (const bj::value* c = o.if_contains("content")) last_tool = text_of(*c);
    }
  }
  switch (tools) {
    case 0:
      return {{"tool", "add"}, {"arguments", R"({"a":2,"b":40})"}};
    case 1:
      return {{"tool", "echo"}, {"arguments", R"({"message":"hello"})"}};
    case 2:
      return {{"tool", "add"}, {"arguments", R"({"a":1,"b":2})"}};
    default:
      return {{"content", "done: " + last_tool}};
  }
}

std::string chunk(const bj::object& delta, const bj::value& finish) {
  bj::object c{{"id", "chatcmpl-fake"},
               {"object", "chat.completion.chunk"},
               {"created", 0},
               {"model", "fake-model"},
               {"choices", bj::array{bj::object{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}};
  return "data: " + bj::serialize(c) + "\n\n";
}

awaitable<void> completions(const idp::http::Request& req, idp::http::Responder& res) {
  ++g_requests;
  bj::error_code ec;
  bj::value body = bj::parse(req.body(), ec);
  if (ec || !body.is_object() || !body.get_object().contains("messages") ||
      !body.get_object().at("messages").is_array()) {
    idp::http::Response bad = idp::http::Response::json(400, R"({"error":{"message":"bad request"}})");
    co_await res.send(std::move(bad));
    co_return;
  }
  if (g_delay.count() > 0) {
    boost::asio::steady_timer wait(co_await boost::asio::this_coro::executor, g_delay);
    co_await wait.async_wait(boost::asio::use_awaitable);
  }
  const bj::object& request = body.get_object();
  bj::object answer = answer_for(request.at("messages").get_array());
  bool tool = answer.contains("tool");
  bj::object usage{{"prompt_tokens", 10}, {"completion_tokens", 5}, {"total_tokens", 15}};
  const bj::value* stream = request.if_contains("stream");
  idp::http::Response r;
  if (stream && stream->is_bool() && stream->get_bool()) {
    bj::object delta{{"role", "assistant"}};
    if (tool) {
      delta["tool_calls"] = bj::array{bj::object{
          {"index", 0},
          {"id", "call_" + std::to_string(g_requests.load())},
          {"type", "function"},
          {"function", bj::object{{"name", answer.at("tool")}, {"arguments", answer.at("arguments")}}}}};
    } else {
      delta["content"] = answer.at("content");
    }
    r.body = chunk(delta, nullptr) + chunk(bj::object{}, bj::string(tool ? "tool_calls" : "stop"));
    const bj::value* options = request.if_contains("stream_options");
    if (options && options->is_object() && options->get_object().contains("include_usage")) {
      bj::object u{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"created", 0},
                   {"model", "fake-model"}, {"choices", bj::array{}}, {"usage", usage}};
      r.body += "data: " + bj::serialize(u) + "\n\n";
    }
    r.body += "data: [DONE]\n\n";
    r.headers.add("Content-Type", "text/event-stream");
  } else {
    bj::object message{{"role", "assistant"}};
    if (tool) {
      message["content"] = nullptr;
      message["tool_calls"] = bj::array{bj::object{
          {"id", "call_" + std::to_string(g_requests.load())},
          {"type", "function"},
          {"function", bj::object{{"name", answer.at("tool")}, {"arguments", answer.at("arguments")}}}}};
    } else {
      message["content"] = answer.at("content");
    }
    bj::object c{{"id", "chatcmpl-fake"},
                 {"object", "chat.completion"},
                 {"created", 0},
                 {"model", "fake-model"},
                 {"choices", bj::array{bj::object{{"index", 0},
                                                  {"message", message},
                                                  {"finish_reason", tool ? "tool_calls" : "stop"}}}},
                 {"usage", usage}};
    r.body = bj::serialize(c);
    r.headers.add("Content-Type", "application/json");
  }
  co_await res.send(std::move(r));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench-fake-model: a scripted OpenAI-compatible model that answers at once"};
  std::uint16_t port = 0;
  int delay_ms = 0;
  app.add_option("--port", port, "TCP port on 127.0.0.1 (0: any free one)");
  app.add_option("--delay-ms", delay_ms, "wait this long before each answer")->check(CLI::Range(0, 60000));
  CLI11_PARSE(app, argc, argv);
  g_delay = std::chrono::milliseconds(delay_ms);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  idp::http::ServerOptions options;
  options.port = port;
  idp::http::Server server(options);
  server.route("POST", "/v1/chat/completions", completions);
  auto bound = server.start();
  if (!bound) {
    std::fprintf(stderr, "error: %s\n", bound.error().message().c_str());
    return 1;
  }
  std::printf("listening on http://127.0.0.1:%u\n", static_cast<unsigned>(*bound));
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop, &signal);
  server.stop();
  server.wait();
  std::fprintf(stderr, "requests=%ld\n", g_requests.load());
  return 0;
}

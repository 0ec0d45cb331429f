// A chat user of `idp-agents serve`'s API for the benchmark programs (bench-service-chat,
// bench-chat-load): JSON POSTs (sign-in, new session) and a turn (POST a message, read its event
// stream to `final` or `error`, counting the tool calls). Errors come back as idp::Result; the
// program decides whether one is fatal.
//
// Header-only, for the benchmark programs only. A ChatClient is used from the coroutines of one
// io_context (its http::Client is not shared across threads).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/core/json_util.h"
#include "idp/http/client.h"
#include "idp/http/sse_parser.h"

namespace idp::bench {

struct ChatClient {
  idp::http::Client& http;
  std::string base;  // http://HOST:PORT, no trailing slash
};

// One turn as the user saw it.
struct ChatTurn {
  std::string question;
  double wall_ms = 0;  // POST until the stream ended
  double tool_ms = 0;  // the longest tool call (its tool_end's ms)
  int tools = 0;       // tool_start events
  bool final = false;  // it ended with `final` (not `error`, not a cut stream)
  std::string error;   // the `error` event's message, when it ended with one
};

// POSTs `body` to `path` and returns the JSON answer; an HTTP status of 300 or more is an error
// naming the path and the answer.
inline boost::asio::awaitable<Result<boost::json::object>> chat_post(ChatClient& c,
                                                                     std::string_view path,
                                                                     std::string body,
                                                                     const std::string& token) {
  idp::http::ClientRequest r;
  r.method = "POST";
  r.url = c.base + std::string(path);
  r.body = std::move(body);
  r.headers.add("Content-Type", "application/json");
  if (!token.empty()) r.headers.add("Authorization", "Bearer " + token);
  auto resp = co_await c.http.request(std::move(r));
  if (!resp) co_return std::unexpected(resp.error());
  if (resp->status >= 300) {
    co_return make_error(ErrorCode::kProtocol, "POST " + std::string(path) + " answered HTTP " +
                                                   std::to_string(resp->status) + ": " +
                                                   resp->body.substr(0, 500));
  }
  auto v = idp::json::parse(resp->body);
  co_return v && v->is_object() ? v->get_object() : boost::json::object{};
}

// One turn in `session`: POST the message, read the events to the end.
inline boost::asio::awaitable<Result<ChatTurn>> chat_turn(ChatClient& c, const std::string& session,
                                                          std::string question,
                                                          const std::string& token) {
  ChatTurn t;
  t.question = question;
  idp::http::ClientRequest r;
  r.method = "POST";
  r.url = c.base + "/api/chat/sessions/" + session + "/messages";
  boost::json::object body{{"text", question}};
  r.body = boost::json::serialize(body);
  r.headers.add("Content-Type", "application/json");
  r.headers.add("Authorization", "Bearer " + token);
  idp::http::SseParser parser;
  std::string refused;  // the body of a refused POST
  int status = 0;
  std::function<void(const idp::http::ClientResponse&)> on_head =
      [&status](const idp::http::ClientResponse& head) { status = head.status; };
  std::function<bool(std::string_view)> on_chunk = [&t, &parser, &status,
                                                    &refused](std::string_view chunk) {
    if (status >= 300) {
      refused.append(chunk.substr(0, 500));
      return true;
    }
    for (const auto& ev : parser.feed(chunk)) {
      auto v = idp::json::parse(ev.data);
      if (!v || !v->is_object()) continue;
      const boost::json::object& e = v->get_object();
      const boost::json::string* type = idp::json::find_string(e, "type");
      if (!type) continue;
      if (*type == "tool_start") ++t.tools;
      if (*type == "tool_end")
        t.tool_ms = std::max(t.tool_ms, idp::json::find_number(e, "ms").value_or(0));
      if (*type == "final") t.final = true;
      if (*type == "error") {
        const boost::json::string* m = idp::json::find_string(e, "message");
        t.error = m ? std::string(*m) : boost::json::serialize(e);
      }
      if (*type == "final" || *type == "error") return false;
    }
    return true;
  };
  const auto start = std::chrono::steady_clock::now();
  auto streamed = co_await c.http.stream(std::move(r), std::move(on_head), std::move(on_chunk));
  t.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!streamed) co_return std::unexpected(streamed.error());
  if (status >= 300) {
    co_return make_error(ErrorCode::kProtocol, "POST .../messages answered HTTP " +
                                                   std::to_string(status) + ": " + refused);
  }
  co_return t;
}

// Runs `op` on `ioc` from this thread until it is done.
template <class T>
T block_on(boost::asio::io_context& ioc, boost::asio::awaitable<T> op) {
  auto f = boost::asio::co_spawn(ioc, std::move(op), boost::asio::use_future);
  ioc.restart();
  ioc.run();
  return f.get();
}

}  // namespace idp::bench

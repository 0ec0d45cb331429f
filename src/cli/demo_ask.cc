// Coroutines here follow the GCC 12 rule of docs/architecture.md: every co_await operand is
// built in a named local first.
#include "demo_ask.h"

#include <fmt/format.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>

#include "cli.h"
#include "idp/core/json_util.h"
#include "idp/http/client.h"
#include "idp/http/sse_parser.h"

namespace idp::cli {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;

namespace {

constexpr std::chrono::seconds kAgentReadyWait{30};
constexpr std::chrono::milliseconds kAgentPoll{100};

std::string str(const bj::object& o, std::string_view key) {
  const bj::string* s = ::idp::json::find_string(o, key);
  return s ? std::string(*s) : std::string();
}

// The request's JSON answer, or an error naming the call and the service's message.
awaitable<Result<bj::object>> api(http::Client& client, const std::string& base,
                                  std::string_view method, std::string_view path, std::string body,
                                  const std::string& token) {
  http::ClientRequest r;
  r.method = std::string(method);
  r.url = base + std::string(path);
  r.body = std::move(body);
  r.headers.add("Content-Type", "application/json");
  if (!token.empty()) r.headers.add("Authorization", "Bearer " + token);
  auto response = co_await client.request(std::move(r));
  const std::string what = fmt::format("{} {}", method, path);
  if (!response) co_return std::unexpected(response.error().with_context(what));
  auto parsed = ::idp::json::parse(response->body);
  bj::object o = parsed && parsed->is_object() ? parsed->get_object() : bj::object{};
  if (response->status >= 300) {
    std::string message = response->body;
    if (const bj::object* e = ::idp::json::find_object(o, "error")) message = str(*e, "message");
    co_return make_error(ErrorCode::kUnavailable,
                         fmt::format("{}: HTTP {}: {}", what, response->status, message));
  }
  co_return o;
}

// Prints one event of the turn as a line a person reads; returns true for the last one.
bool print_event(const bj::object& e, std::optional<bj::object>& last) {
  const std::string type = str(e, "type");
  if (type == "tool_start") {
    const bj::object* input = ::idp::json::find_object(e, "input");
    std::printf("   -> %s %s\n", str(e, "tool").c_str(),
                input ? bj::serialize(*input).c_str() : "{}");
  } else if (type == "tool_end") {
    bool failed = ::idp::json::find_bool(e, "is_error").value_or(false);
    double ms = ::idp::json::find_number(e, "ms").value_or(0);
    std::printf("   <- %s %s in %.0f ms\n", str(e, "tool").c_str(), failed ? "failed" : "done", ms);
  } else if (type == "subagent_start") {
    std::printf("   -> agent %s\n", str(e, "agent_id").c_str());
  } else if (type == "structured_data") {
    std::printf("   (a %s: the web UI draws it)\n",
                str(e, "responseType") == "table" ? "table" : "chart");
  } else if (type == "final" || type == "error") {
    last = e;
    return true;
  }
  return false;
}

}  // namespace

awaitable<int> ask_once(DemoQuestion q) {
  auto ex = co_await net::this_coro::executor;
  http::Client client(ex);
  const std::string none;

  bj::object login_in{{"username", q.username}, {"password", q.password.reveal()}};
  std::string login_body = bj::serialize(login_in);
  auto login =
      co_await api(client, q.base_url, "POST", "/api/auth/login", std::move(login_body), none);
  if (!login) {
    print_error(login.error());
    co_return kFailed;
  }
  const std::string token = str(*login, "access_token");
  std::printf("Signed in as %s through %s/api/auth/login\n", q.username.c_str(),
              q.base_url.c_str());

  // The registry discovers the agent in the background: wait until the API lists it ready.
  const auto deadline = std::chrono::steady_clock::now() + kAgentReadyWait;
  std::string reason = "not listed yet";
  for (;;) {
    std::string no_body;
    auto agents = co_await api(client, q.base_url, "GET", "/api/agents", std::move(no_body), token);
    if (!agents) {
      print_error(agents.error());
      co_return kFailed;
    }
    bool ready = false;
    if (const bj::array* list = ::idp::json::find_array(*agents, "agents")) {
      for (const auto& a : *list) {
        if (!a.is_object() || str(a.get_object(), "agent_id") != q.agent_id) continue;
        ready = str(a.get_object(), "status") == "ready";
        reason = str(a.get_object(), "reason") + " " + str(a.get_object(), "fix");
      }
    }
    if (ready) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      print_error(fmt::format("the agent {} is not ready after {} s: {}", q.agent_id,
                              kAgentReadyWait.count(), reason));
      co_return kFailed;
    }
    net::steady_timer pause(ex, kAgentPoll);
    co_await pause.async_wait(net::use_awaitable);
  }

  bj::object session_in{{"agent_ids", bj::array{bj::string(q.agent_id)}}};
  std::string session_body = bj::serialize(session_in);
  auto session = co_await api(client, q.base_url, "POST", "/api/chat/sessions",
                              std::move(session_body), token);
  if (!session) {
    print_error(session.error());
    co_return kFailed;
  }
  const std::string path = "/api/chat/sessions/" + str(*session, "session_id") + "/messages";

  std::printf("\nQuestion: %s\n", q.question.c_str());
  http::ClientRequest ask;
  ask.method = "POST";
  ask.url = q.base_url + path;
  bj::object ask_in{{"text", q.question}};
  ask.body = bj::serialize(ask_in);
  ask.headers.add("Content-Type", "application/json");
  ask.headers.add("Accept", "text/event-stream");
  ask.headers.add("Authorization", "Bearer " + token);
  int status = 0;
  std::string refused;  // the body of an answer that is not a stream
  http::SseParser parser;
  std::optional<bj::object> last;
  std::function<void(const http::ClientResponse&)> on_head =
      [&status](const http::ClientResponse& head) { status = head.status; };
  std::function<bool(std::string_view)> on_chunk = [&](std::string_view chunk) {
    if (status != 200) {
      refused.append(chunk);
      return true;
    }
    for (const auto& ev : parser.feed(chunk)) {
      auto v = ::idp::json::parse(ev.data);
      if (v && v->is_object() && print_event(v->get_object(), last)) return false;
    }
    return true;
  };
  auto streamed = co_await client.stream(std::move(ask), on_head, on_chunk);
  if (!streamed) {
    print_error(streamed.error().with_context("POST " + path));
    co_return kFailed;
  }
  if (status != 200) {
    print_error(fmt::format("POST {}: HTTP {}: {}", path, status, refused));
    co_return kFailed;
  }
  if (!last) {
    print_error("POST " + path + ": the event stream ended before the turn did");
    co_return kFailed;
  }
  if (str(*last, "type") == "error") {
    print_error(fmt::format("the turn failed ({}): {}", str(*last, "code"), str(*last, "message")));
    co_return kFailed;
  }
  std::printf("\nAnswer:\n%s\n", str(*last, "text").c_str());
  co_return kOk;
}

}  // namespace idp::cli

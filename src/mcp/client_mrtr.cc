// What the client does for the server: the multi round-trip loop of 2026-07-28 (an
// InputRequiredResult is answered through the hooks and the request retried with the answers
// and the unchanged requestState, under a new id, up to max_input_rounds times) and the
// server-to-client requests of the 2025 era (sampling, elicitation, roots and ping on a
// request's stream, answered with their own POST). Both go through the same hooks.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "client_impl.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"

namespace idp::mcp {

namespace net = boost::asio;
using net::awaitable;

// Coroutines here follow the GCC 12 rule (docs/architecture.md).

namespace {

// An accepted elicitation gets the requested schema's defaults for the fields it left out.
void fill_defaults(const json::object& params, json::value& answer) {
  auto* a = answer.if_object();
  if (!a) return;
  auto action = a->find("action");
  if (action == a->end() || !action->value().is_string() ||
      action->value().get_string() != "accept") {
    return;
  }
  const json::object* schema = ::idp::json::find_object(params, "requestedSchema");
  const json::object* props = schema ? ::idp::json::find_object(*schema, "properties") : nullptr;
  if (!props) return;
  json::value& content = (*a)["content"];
  if (!content.is_object()) content = json::object{};
  for (const auto& [name, prop] : *props) {
    const auto* p = prop.if_object();
    if (!p) continue;
    auto def = p->find("default");
    if (def != p->end() && !content.get_object().contains(name)) {
      content.get_object()[name] = def->value();
    }
  }
}

}  // namespace

awaitable<Result<json::value>> Client::Impl::fulfil(std::string method, json::object params,
                                                    bool& handled) {
  handled = true;
  if (method == "ping") co_return json::value(json::object{});
  if (method == "sampling/createMessage" && opt.hooks.sampling) {
    auto r = co_await opt.hooks.sampling(params);
    co_return r;
  }
  if (method == "elicitation/create" && opt.hooks.elicitation) {
    Result<json::value> r = co_await opt.hooks.elicitation(params);
    if (r) fill_defaults(params, *r);
    co_return r;
  }
  if (method == "roots/list") {
    if (opt.hooks.roots) {
      auto r = co_await opt.hooks.roots(params);
      co_return r;
    }
    co_return json::value(json::object{{"roots", json::array{}}});
  }
  handled = false;
  co_return make_error(ErrorCode::kNotFound, "Method not supported by this client: " + method);
}

void Client::Impl::answer_server_request(jsonrpc::Message m) {
  // Answered on its own POST, concurrently with the stream that brought the request.
  net::co_spawn(executor, answer(shared_from_this(), std::move(m)), net::detached);
}

awaitable<void> Client::Impl::answer(std::shared_ptr<Impl> self, jsonrpc::Message m) {
  bool handled = false;
  Result<json::value> result = co_await self->fulfil(m.method, m.params, handled);
  int error_code = handled ? jsonrpc::kInternalError : jsonrpc::kMethodNotFound;
  std::string body;
  if (result) {
    body = jsonrpc::response(m.id, *result);
  } else {
    std::string message = error_code == jsonrpc::kMethodNotFound
                              ? "Method not supported by this client: " + m.method
                              : result.error().message();
    body = jsonrpc::error_response(m.id, {error_code, message, std::nullopt});
  }
  std::string what = "reply to " + m.method;
  auto posted = co_await self->post_message(std::move(body), std::move(what));
  if (!posted) log::warn("{}", posted.error().message());
}

bool Client::Impl::needs_rounds(const Result<json::value>& r, std::string_view method) const {
  if (!r) return false;
  {
    std::lock_guard lock(mu);
    if (!modern) return false;
  }
  const json::object* res = r->if_object();
  const json::string* type = res ? ::idp::json::find_string(*res, "resultType") : nullptr;
  if (!type || *type == kResultComplete) return false;          // absent means complete
  if (*type == "task" && method == "tools/call") return false;  // client_tasks.cc follows it
  return true;
}

awaitable<Result<json::value>> Client::Impl::request(std::string_view method, json::object params,
                                                     CallOptions options, bool tasks_extension,
                                                     std::optional<Result<json::value>> first) {
  std::optional<json::object> responses;
  std::optional<json::value> state;
  const int max_rounds = std::max(1, opt.max_input_rounds);
  for (int round = 0;; ++round) {
    Result<json::value> r = make_error(ErrorCode::kInternal, "no answer");
    if (round == 0 && first) {
      r = std::move(*first);
    } else {
      // The first round sends params as they are (no copy); the later ones a copy with the
      // answers.
      json::object answered;
      const bool amended = responses || state;
      if (amended) {
        answered = params;
        if (responses) answered["inputResponses"] = *responses;
        if (state) answered["requestState"] = *state;
      }
      CallOptions o = options;
      SendOptions send;
      send.tasks_extension = tasks_extension;
      const json::object& sent = amended ? answered : params;
      r = co_await send_request(method, sent, std::move(o), std::move(send));
    }
    if (!needs_rounds(r, method)) co_return r;
    const json::object* res = r->if_object();
    const json::string* type = ::idp::json::find_string(*res, "resultType");
    if (*type != kResultInputRequired) {
      co_return make_error(ErrorCode::kProtocol,
                           where(method) + ": unsupported resultType '" + std::string(*type) + "'");
    }
    if (round >= max_rounds) {
      co_return make_error(ErrorCode::kResourceExhausted,
                           where(method) + ": the server still asks for input after " +
                               std::to_string(max_rounds) + " rounds");
    }
    const json::object* requests = ::idp::json::find_object(*res, "inputRequests");
    const json::string* request_state = ::idp::json::find_string(*res, "requestState");
    if ((!requests || requests->empty()) && !request_state) {
      co_return make_error(
          ErrorCode::kProtocol,
          where(method) + ": an input_required result without inputRequests or requestState");
    }
    json::object answers;
    if (requests) {
      for (const auto& [key, value] : *requests) {
        const json::object* ask = value.if_object();
        const json::string* ask_method = ask ? ::idp::json::find_string(*ask, "method") : nullptr;
        if (!ask_method) {
          co_return make_error(ErrorCode::kProtocol, where(method) + ": input request '" +
                                                         std::string(key) + "' has no method");
        }
        const json::object* ask_params = ::idp::json::find_object(*ask, "params");
        json::object given = ask_params ? *ask_params : json::object{};
        std::string name(*ask_method);
        bool handled = false;
        auto answer = co_await fulfil(name, std::move(given), handled);
        if (!answer) {
          co_return make_error(answer.error().code() == ErrorCode::kNotFound
                                   ? ErrorCode::kProtocol
                                   : answer.error().code(),
                               where(method) + ": the server asked for input '" + std::string(key) +
                                   "' (" + name + "): " + answer.error().message());
        }
        answers[key] = std::move(*answer);
      }
    }
    responses.reset();
    if (!answers.empty()) responses = std::move(answers);
    state.reset();
    if (request_state) state = json::value(*request_state);
    if (!requests || requests->empty()) {
      // Nothing to gather: pace the retries a server asks for with state alone.
      auto ex = co_await net::this_coro::executor;
      net::steady_timer pause(ex, std::chrono::milliseconds(250));
      co_await pause.async_wait(net::as_tuple(net::use_awaitable));
    }
    if (options.cancel && options.cancel->cancelled()) {
      co_return make_error(ErrorCode::kCancelled, where(method) + ": cancelled");
    }
  }
}

}  // namespace idp::mcp

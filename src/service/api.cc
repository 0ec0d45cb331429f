#include "api.h"

#include <exception>
#include <string>
#include <vector>

#include "text_util.h"

namespace idp::service {

using boost::asio::awaitable;

http::Handler recorded(Ctx ctx, std::string route, http::Handler handler) {
  return [ctx, route = std::move(route), handler = std::move(handler)](
             const http::Request& req, http::Responder& res) -> awaitable<void> {
    RecordingResponder rec(res, ctx->record, route);
    std::exception_ptr failed;
    try {
      co_await handler(req, rec);
    } catch (...) {
      failed = std::current_exception();
    }
    // A handler that threw answered nothing through `rec`: the server sends its 500.
    if (!rec.status() && ctx->record) ctx->record(route, 500);
    if (failed) std::rethrow_exception(failed);
  };
}

http::Handler with_user(Ctx ctx, std::string route, UserHandler handler, bool allow_reviewer) {
  auto inner = [ctx, handler = std::move(handler), allow_reviewer](
                   const http::Request& req, http::Responder& res) -> awaitable<void> {
    auto user = co_await ctx->auth->authenticate(req, allow_reviewer);
    if (!user) {
      co_await res.send(std::move(user.error()));
      co_return;
    }
    co_await handler(req, res, *user);
  };
  return recorded(ctx, std::move(route), std::move(inner));
}

http::Handler by_method(std::initializer_list<std::pair<std::string, http::Handler>> handlers) {
  std::vector<std::pair<std::string, http::Handler>> table(handlers);
  std::string allow;
  for (const auto& [m, h] : table) allow += (allow.empty() ? "" : ", ") + m;
  return [table = std::move(table), allow](const http::Request& req,
                                           http::Responder& res) -> awaitable<void> {
    for (const auto& [m, h] : table) {
      if (req.method() == m) {
        co_await h(req, res);
        co_return;
      }
    }
    http::Response r = error_response(405, "invalid_argument",
                                      std::string(req.method()) + " is not allowed on " +
                                          std::string(req.path()) + "; use " + allow);
    r.headers.set("Allow", allow);
    co_await res.send(std::move(r));
  };
}

std::optional<http::Response> unknown_agent(const agents::AgentRegistry& registry,
                                            const std::vector<std::string>& ids) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!registry.agent(ids[i])) {
      return error_response(400, "invalid_argument",
                            "agent_ids[" + std::to_string(i) + "]: there is no agent '" + ids[i] +
                                "' (GET /api/agents lists them)");
    }
  }
  return std::nullopt;
}

std::optional<http::Response> check_text(const ServiceLimits& limits, std::string_view field,
                                         const std::string& text) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return error_response(400, "invalid_argument", std::string(field) + " is empty");
  }
  auto chars = utf8_length(text);
  if (chars > limits.max_message_chars) {
    return error_response(413, "too_large",
                          std::string(field) + ": " + std::to_string(chars) +
                              " characters; the limit is " +
                              std::to_string(limits.max_message_chars));
  }
  return std::nullopt;
}

void register_api_fallback(http::Server& server, Ctx ctx) {
  server.route_prefix(
      "*", "/api/",
      recorded(ctx, "/api/*",
               [](const http::Request& req, http::Responder& res) -> awaitable<void> {
                 http::Response r =
                     error_response(404, "not_found",
                                    "no API route " + std::string(req.method()) + " " +
                                        std::string(req.path()) + " (docs/api.md lists them)");
                 co_await res.send(std::move(r));
               }));
}

}  // namespace idp::service

// /api/config, /api/auth/login, /api/auth/refresh and /api/me.
#include "api.h"

#include <boost/json/object.hpp>

namespace idp::service {

namespace bj = boost::json;
using boost::asio::awaitable;

namespace {

bj::object tokens_json(const SignedIn& s) {
  // The only place tokens leave the service: to the user who signed in, in this answer.
  bj::object o{{"access_token", s.access_token.reveal()},
               {"id_token", s.id_token.reveal()},
               {"expires_in", s.expires_in},
               {"token_type", "Bearer"}};
  if (s.refresh_token) o["refresh_token"] = s.refresh_token->reveal();
  return o;
}

// A username as Cognito accepts it, bounded, before it reaches Cognito or a log line.
std::optional<http::Response> check_username(const std::string& u) {
  if (u.empty() || u.size() > 128) {
    return error_response(400, "invalid_argument", "username must be 1 to 128 characters");
  }
  for (unsigned char c : u) {
    if (c < 0x20 || c == 0x7f) {
      return error_response(400, "invalid_argument",
                            "username must not contain control characters");
    }
  }
  return std::nullopt;
}

awaitable<void> get_config(Ctx ctx, http::Responder& res) {
  bj::object body{{"version", ctx->version},
                  {"auth", bj::object{{"user_pool_id", ctx->auth->options().user_pool_id},
                                      {"client_id", ctx->auth->options().client_id},
                                      {"region", ctx->auth->region()}}},
                  {"model", bj::object{{"spec", ctx->model.spec},
                                       {"provider", ctx->model.provider},
                                       {"offline", ctx->model.offline}}},
                  {"limits", bj::object{{"max_message_chars", ctx->limits.max_message_chars},
                                        {"max_body_bytes", ctx->limits.max_body_bytes}}}};
  co_await res.send(json_response(200, body));
}

awaitable<void> login(Ctx ctx, const http::Request& req, http::Responder& res) {
  auto body = parse_body(req, false);
  if (!body) co_return co_await res.send(std::move(body.error()));
  auto username = required_string(*body, "username");
  if (!username) co_return co_await res.send(std::move(username.error()));
  auto password = required_string(*body, "password");
  if (!password) co_return co_await res.send(std::move(password.error()));
  if (auto bad = check_username(*username)) co_return co_await res.send(std::move(*bad));
  if (password->empty() || password->size() > 256) {
    co_return co_await res.send(
        error_response(400, "invalid_argument", "password must be 1 to 256 characters"));
  }
  Secret secret(std::move(*password));  // named: GCC 12 and temporaries in co_await
  auto signed_in = co_await ctx->auth->login(std::move(*username), std::move(secret));
  if (!signed_in) co_return co_await res.send(std::move(signed_in.error()));
  co_await res.send(json_response(200, tokens_json(*signed_in)));
}

awaitable<void> refresh(Ctx ctx, const http::Request& req, http::Responder& res) {
  auto body = parse_body(req, false);
  if (!body) co_return co_await res.send(std::move(body.error()));
  auto token = required_string(*body, "refresh_token");
  if (!token) co_return co_await res.send(std::move(token.error()));
  if (token->empty() || token->size() > 16 * 1024) {
    co_return co_await res.send(
        error_response(400, "invalid_argument", "refresh_token must be 1 to 16384 characters"));
  }
  Secret refresh_token(std::move(*token));  // named: GCC 12 and temporaries in co_await
  auto refreshed = co_await ctx->auth->refresh(std::move(refresh_token));
  if (!refreshed) co_return co_await res.send(std::move(refreshed.error()));
  co_await res.send(json_response(200, tokens_json(*refreshed)));
}

awaitable<void> me(http::Responder& res, const User& u) {
  bj::array groups;
  for (const auto& g : u.groups) groups.emplace_back(g);
  bj::object body{{"sub", u.subject}, {"username", u.username}, {"groups", std::move(groups)}};
  co_await res.send(json_response(200, body));
}

}  // namespace

void register_auth_routes(http::Server& server, Ctx ctx) {
  http::Handler config = [ctx](const http::Request&, http::Responder& r) {
    return get_config(ctx, r);
  };
  server.route("*", "/api/config", by_method({{"GET", recorded(ctx, "/api/config", config)}}));
  http::Handler sign_in = [ctx](const http::Request& q, http::Responder& r) {
    return login(ctx, q, r);
  };
  server.route("*", "/api/auth/login",
               by_method({{"POST", recorded(ctx, "/api/auth/login", sign_in)}}));
  http::Handler renew = [ctx](const http::Request& q, http::Responder& r) {
    return refresh(ctx, q, r);
  };
  server.route("*", "/api/auth/refresh",
               by_method({{"POST", recorded(ctx, "/api/auth/refresh", renew)}}));
  UserHandler who = [](const http::Request&, http::Responder& r, const User& u) {
    return me(r, u);
  };
  server.route("*", "/api/me",
               by_method({{"GET", with_user(ctx, "/api/me", who, /*allow_reviewer=*/true)}}));
}

}  // namespace idp::service

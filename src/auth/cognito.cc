#include "idp/auth/cognito.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "idp/auth/jwt.h"
#include "idp/core/crypto.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/http/url_policy.h"
#include "token_flight.h"

namespace idp::auth {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;

Result<std::string> region_of_pool(std::string_view pool) {
  auto us = pool.find('_');
  if (us == std::string_view::npos || us == 0 || us + 1 >= pool.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + std::string(pool) + "' is not a Cognito user pool id (expected <region>_<id>, "
                      "e.g. us-east-1_AbC123xyz)");
  }
  return std::string(pool.substr(0, us));
}

std::string secret_hash(std::string_view username, std::string_view client_id, const Secret& secret) {
  std::string message = std::string(username) + std::string(client_id);
  return base64_encode(crypto::hmac_sha256(secret.reveal(), message));
}

namespace {

// What the operator should do about a Cognito error (the seed's "Authentication Failures").
Error advice(std::string_view type, std::string_view message, const CognitoConfig& c) {
  std::string who = "user '" + c.username + "' of pool " + c.user_pool_id + " (app client " + c.client_id + ")";
  std::string detail = std::string(type) + ": " + std::string(message);
  if (type == "NotAuthorizedException" || type == "InvalidPasswordException") {
    if (message.find("SECRET_HASH") != std::string::npos || message.find("secret hash") != std::string::npos) {
      return Error(ErrorCode::kUnauthenticated,
                   "Cognito needs a SECRET_HASH for app client " + c.client_id +
                       ": set cognito_client_secret in the secret entry (or use an app client "
                       "without a secret)", detail);
    }
    if (message.find("not enabled") != std::string::npos || message.find("flow") != std::string::npos) {
      return Error(ErrorCode::kPermissionDenied,
                   "app client " + c.client_id + " does not allow USER_PASSWORD_AUTH: enable "
                   "ALLOW_USER_PASSWORD_AUTH on the app client", detail);
    }
    return Error(ErrorCode::kUnauthenticated,
                 "Cognito rejected the username or password of " + who +
                     ": check cognito_username and cognito_password in the secret", detail);
  }
  if (type == "UserNotConfirmedException") {
    return Error(ErrorCode::kUnauthenticated,
                 who + " is not confirmed: confirm it (admin-confirm-sign-up) before the agent can sign in", detail);
  }
  if (type == "PasswordResetRequiredException") {
    return Error(ErrorCode::kUnauthenticated,
                 who + " must reset its password: set a new one (admin-set-user-password --permanent)", detail);
  }
  if (type == "UserNotFoundException") {
    return Error(ErrorCode::kNotFound, "no " + who + ": check cognito_username and the pool", detail);
  }
  if (type == "ResourceNotFoundException") {
    return Error(ErrorCode::kNotFound,
                 "Cognito does not know app client " + c.client_id + " or pool " + c.user_pool_id +
                     ": check cognito_client_id and cognito_user_pool_id (and the region)", detail);
  }
  if (type == "TooManyRequestsException" || type == "LimitExceededException") {
    return Error(ErrorCode::kUnavailable, "Cognito is throttling sign-ins for " + who + "; retrying later may help",
                 detail);
  }
  if (type == "InvalidParameterException") {
    return Error(ErrorCode::kInvalidArgument,
                 "Cognito refused the sign-in parameters for " + who +
                     " (often: USER_PASSWORD_AUTH is not enabled on the app client)", detail);
  }
  return Error(ErrorCode::kUnavailable, "Cognito sign-in for " + who + " failed", detail);
}

}  // namespace

struct CognitoClient::Impl {
  Impl(net::any_io_executor ex, http::ClientOptions o, std::shared_ptr<const TimeSource> c)
      : http(ex, std::move(o)), clock(c ? std::move(c) : real_time()) {}
  http::Client http;
  std::shared_ptr<const TimeSource> clock;

  // The configured endpoint (https://, or http:// on loopback for a local identity provider),
  // else the environment's, else the pool region's.
  static Result<std::string> endpoint_of(const CognitoConfig& c) {
    std::string endpoint = c.endpoint;
    std::string_view what = "Cognito endpoint";
    if (endpoint.empty()) {
      if (const char* env = std::getenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER");
          env && *env) {
        endpoint = env;
        what = "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER";
      }
    }
    if (!endpoint.empty()) {
      auto checked = http::check_url(endpoint, what);
      if (!checked) return std::unexpected(checked.error());
      return endpoint;
    }
    auto region = region_of_pool(c.user_pool_id);
    if (!region) return std::unexpected(region.error());
    return "https://cognito-idp." + *region + ".amazonaws.com/";
  }

  awaitable<Result<CognitoTokens>> initiate(const CognitoConfig& c, bj::object params,
                                            std::string flow, std::optional<Secret> keep_refresh) {
    auto endpoint = endpoint_of(c);
    if (!endpoint) co_return std::unexpected(endpoint.error());
    bj::object body{{"AuthFlow", flow}, {"ClientId", c.client_id}};
    body["AuthParameters"] = std::move(params);
    http::ClientRequest req;
    req.method = "POST";
    req.url = *endpoint;
    req.headers.add("Content-Type", "application/x-amz-json-1.1");
    req.headers.add("X-Amz-Target", "AWSCognitoIdentityProviderService.InitiateAuth");
    req.body = bj::serialize(body);
    req.timeout = std::chrono::seconds(30);
    auto r = co_await http.request(std::move(req));
    if (!r) co_return std::unexpected(r.error().with_context("Cognito InitiateAuth at " + *endpoint));
    auto parsed = ::idp::json::parse(r->body);
    const bj::object* o = parsed && parsed->is_object() ? &parsed->get_object() : nullptr;
    if (r->status != 200) {
      std::string type, message;
      if (o) {
        if (auto* t = ::idp::json::find_string(*o, "__type")) type = std::string(*t);
        if (auto* m = ::idp::json::find_string(*o, "message")) message = std::string(*m);
        if (auto* m = ::idp::json::find_string(*o, "Message")) message = std::string(*m);
      }
      if (auto h = r->headers.get("X-Amzn-ErrorType"); type.empty() && h) type = std::string(*h);
      if (auto hash = type.find('#'); hash != std::string::npos) type = type.substr(hash + 1);
      if (auto colon = type.find(':'); colon != std::string::npos) type = type.substr(0, colon);
      co_return std::unexpected(advice(type, message, c));
    }
    if (!o) co_return make_error(ErrorCode::kProtocol, "Cognito InitiateAuth at " + *endpoint + ": the answer is not JSON");
    if (auto* challenge = ::idp::json::find_string(*o, "ChallengeName")) {
      std::string name(*challenge);
      std::string what = name == "NEW_PASSWORD_REQUIRED"
                             ? "has a temporary password and must set a new one (admin-set-user-password --permanent)"
                         : name.find("MFA") != std::string::npos
                             ? "must answer an MFA challenge, which an agent cannot: use a user without MFA"
                             : "must answer the challenge " + name + ", which an agent cannot";
      co_return make_error(ErrorCode::kUnauthenticated,
                           "user '" + c.username + "' of pool " + c.user_pool_id + " " + what);
    }
    const bj::object* result = ::idp::json::find_object(*o, "AuthenticationResult");
    const bj::string* access = result ? ::idp::json::find_string(*result, "AccessToken") : nullptr;
    if (!access) {
      co_return make_error(ErrorCode::kProtocol, "Cognito InitiateAuth at " + *endpoint + ": no AccessToken in the answer");
    }
    CognitoTokens t;
    t.access_token = Secret(std::string(*access));
    if (auto* id = ::idp::json::find_string(*result, "IdToken")) t.id_token = Secret(std::string(*id));
    if (auto* rt = ::idp::json::find_string(*result, "RefreshToken")) {
      t.refresh_token = Secret(std::string(*rt));
    } else {
      t.refresh_token = std::move(keep_refresh);  // REFRESH_TOKEN_AUTH returns none: keep ours
    }
    // Expiry: ExpiresIn when given (real Cognito), else the token's exp (some local servers).
    // Our own fresh token: only its `exp` and `sub` are read.
    bj::object claims = unverified_claims(t.access_token.reveal());
    auto now = clock->now();
    if (auto in = ::idp::json::find_number(*result, "ExpiresIn")) {
      t.expires = now + std::chrono::seconds(static_cast<long>(*in));
    } else if (auto exp = ::idp::json::find_number(claims, "exp")) {
      t.expires = std::chrono::system_clock::time_point(std::chrono::seconds(static_cast<long>(*exp)));
    } else {
      t.expires = now + std::chrono::minutes(5);
    }
    if (auto* sub = ::idp::json::find_string(claims, "sub")) t.subject = std::string(*sub);
    co_return t;
  }
};

CognitoClient::CognitoClient(net::any_io_executor executor, http::ClientOptions options,
                             std::shared_ptr<const TimeSource> clock)
    : impl_(std::make_unique<Impl>(executor, std::move(options), std::move(clock))) {}
CognitoClient::~CognitoClient() = default;

awaitable<Result<CognitoTokens>> CognitoClient::sign_in(const CognitoConfig& c) {
  bj::object params{{"USERNAME", c.username}, {"PASSWORD", c.password.reveal()}};
  if (c.client_secret) params["SECRET_HASH"] = secret_hash(c.username, c.client_id, *c.client_secret);
  std::string flow = "USER_PASSWORD_AUTH";  // named: GCC 12 and temporaries in co_await
  co_return co_await impl_->initiate(c, std::move(params), std::move(flow), std::nullopt);
}

awaitable<Result<CognitoTokens>> CognitoClient::refresh(const CognitoConfig& c, const Secret& refresh_token,
                                                        std::string_view subject) {
  bj::object params{{"REFRESH_TOKEN", refresh_token.reveal()}};
  // On refresh Cognito computes SECRET_HASH over the user's internal name (its sub).
  if (c.client_secret) {
    params["SECRET_HASH"] = secret_hash(subject.empty() ? std::string_view(c.username) : subject,
                                        c.client_id, *c.client_secret);
  }
  std::string flow = "REFRESH_TOKEN_AUTH";
  std::optional<Secret> keep = refresh_token;
  co_return co_await impl_->initiate(c, std::move(params), std::move(flow), std::move(keep));
}

struct CognitoTokenProvider::Impl {
  Impl(net::any_io_executor ex, CognitoConfig c, http::ClientOptions o, std::chrono::seconds m,
       std::shared_ptr<const TimeSource> t)
      : config(std::move(c)),
        clock(t ? std::move(t) : real_time()),
        client(ex, std::move(o), clock),
        margin(m) {}
  CognitoConfig config;
  std::shared_ptr<const TimeSource> clock;
  CognitoClient client;
  std::chrono::seconds margin;
  detail::TokenFlight flight;

  std::mutex mu;
  std::optional<CognitoTokens> tokens;  // for the refresh token and the sub
  Stats stats;

  // Refresh token first, then the password.
  awaitable<Result<detail::FetchedToken>> obtain() {
    std::optional<CognitoTokens> current;
    {
      std::lock_guard lock(mu);
      current = tokens;
    }
    if (current && current->refresh_token) {
      auto r = co_await client.refresh(config, *current->refresh_token, current->subject);
      std::lock_guard lock(mu);
      ++stats.refreshes;
      if (r) {
        tokens = std::move(*r);
        co_return detail::FetchedToken{tokens->access_token, tokens->expires};
      }
      log::info("refreshing the Cognito token of '{}' failed ({}); signing in again", config.username,
                r.error().message());
    }
    auto r = co_await client.sign_in(config);
    std::lock_guard lock(mu);
    ++stats.sign_ins;
    if (!r) co_return std::unexpected(r.error());
    tokens = std::move(*r);
    co_return detail::FetchedToken{tokens->access_token, tokens->expires};
  }
};

CognitoTokenProvider::CognitoTokenProvider(net::any_io_executor executor, CognitoConfig config,
                                           http::ClientOptions options, std::chrono::seconds margin,
                                           std::shared_ptr<const TimeSource> clock)
    : impl_(std::make_shared<Impl>(executor, std::move(config), std::move(options), margin,
                                   std::move(clock))) {}
CognitoTokenProvider::~CognitoTokenProvider() = default;

awaitable<Result<Secret>> CognitoTokenProvider::token(bool refresh) {
  auto self = impl_;
  detail::TokenFlight::Fetch fetch = [self]() { return self->obtain(); };
  co_return co_await self->flight.get(refresh, self->margin, std::move(fetch), *self->clock);
}

CognitoTokenProvider::Stats CognitoTokenProvider::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace idp::auth

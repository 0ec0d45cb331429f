#include "user_auth.h"

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include "api_common.h"
#include "idp/auth/bearer_auth.h"
#include "idp/auth/cognito.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/url_policy.h"

namespace idp::service {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;

namespace {

constexpr const char* kReviewerGroup = "Reviewer";

std::vector<std::string> groups_of(const bj::object& claims) {
  std::vector<std::string> out;
  auto* a = ::idp::json::find_array(claims, "cognito:groups");
  if (!a) return out;
  for (const auto& g : *a) {
    if (g.is_string()) out.emplace_back(g.get_string());
  }
  return out;
}

// The verifier's 401/403 in the API's error shape, keeping its WWW-Authenticate challenge.
http::Response api_rejection(const http::Response& from_verifier) {
  std::string message = "a valid access token is required: sign in again";
  if (auto v = ::idp::json::parse(from_verifier.body); v && v->is_object()) {
    if (auto* d = ::idp::json::find_string(v->get_object(), "error_description")) {
      message = std::string(*d);
    }
  }
  http::Response r = error_response(
      from_verifier.status, from_verifier.status == 403 ? "permission_denied" : "unauthenticated",
      message);
  if (auto challenge = from_verifier.headers.get("WWW-Authenticate")) {
    r.headers.set("WWW-Authenticate", std::string(*challenge));
  }
  return r;
}

// A failed InitiateAuth as the browser sees it. Wrong password and unknown user read the same.
http::Response sign_in_failure(const Error& e, std::string_view what) {
  const std::string& detail = e.details();
  auto is = [&](std::string_view type) { return detail.starts_with(type); };
  if (e.code() == ErrorCode::kPermissionDenied ||
      e.message().find("SECRET_HASH") != std::string::npos || is("ResourceNotFoundException") ||
      is("InvalidParameterException")) {
    // The service's own configuration (app client, pool), not the user's input.
    log::error("user {} at Cognito failed: {}", what, e.to_string());
    return error_response(
        500, "internal",
        "the service's sign-in is misconfigured (its log says how); tell its operator");
  }
  if (is("NotAuthorizedException") || is("UserNotFoundException") ||
      is("InvalidPasswordException")) {
    return error_response(401, "unauthenticated",
                          what == "refresh" ? "the sign-in expired or was revoked: sign in again"
                                            : "incorrect username or password");
  }
  if (is("UserNotConfirmedException") || is("PasswordResetRequiredException")) {
    return error_response(401, "challenge", e.message());
  }
  if (e.code() == ErrorCode::kUnauthenticated && detail.empty()) {
    // CognitoClient reports a challenge (NEW_PASSWORD_REQUIRED, MFA...) without Cognito details.
    return error_response(401, "challenge", e.message());
  }
  if (e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kTimeout ||
      e.code() == ErrorCode::kProtocol) {
    log::warn("user {} at Cognito failed: {}", what, e.to_string());
    return error_response(503, "unavailable",
                          "the identity provider could not be reached; try again shortly");
  }
  log::warn("user {} at Cognito failed: {}", what, e.to_string());
  return error_response(http_status(e.code()), to_string(e.code()), e.message());
}

SignedIn signed_in(auth::CognitoTokens tokens, bool with_refresh_token) {
  SignedIn out;
  out.access_token = std::move(tokens.access_token);
  out.id_token = std::move(tokens.id_token);
  if (with_refresh_token) out.refresh_token = std::move(tokens.refresh_token);
  auto left = std::chrono::duration_cast<std::chrono::seconds>(tokens.expires -
                                                               std::chrono::system_clock::now());
  out.expires_in = std::max<std::int64_t>(0, left.count());
  return out;
}

}  // namespace

Result<std::string> UserAuth::issuer_for(std::string_view pool, std::string_view endpoint) {
  auto region = auth::region_of_pool(pool);
  if (!region) return std::unexpected(region.error().with_context("--user-pool-id"));
  if (endpoint.empty()) {
    return "https://cognito-idp." + *region + ".amazonaws.com/" + std::string(pool);
  }
  std::string base(endpoint);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + std::string(pool);
}

Result<std::shared_ptr<UserAuth>> UserAuth::create(UserAuthOptions options) {
  if (options.user_pool_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--user-pool-id is required (the web users' pool)");
  }
  if (options.client_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--user-client-id is required (the web UI's app client of the users' pool)");
  }
  if (!options.cognito_endpoint.empty()) {
    auto checked = http::check_url(options.cognito_endpoint, "--cognito-endpoint");
    if (!checked) return std::unexpected(checked.error());
  }
  auto issuer = issuer_for(options.user_pool_id, options.cognito_endpoint);
  if (!issuer) return std::unexpected(issuer.error());
  std::shared_ptr<UserAuth> a(new UserAuth());
  a->region_ = *auth::region_of_pool(options.user_pool_id);
  a->issuer_ = *issuer;
  auth::BearerAuthOptions bo;
  bo.rules.issuer = a->issuer_;
  bo.rules.client_ids = {options.client_id};
  bo.http = options.http;
  a->verifier_ = std::make_shared<auth::BearerAuth>(std::move(bo));
  a->options_ = std::move(options);
  return a;
}

UserAuth::~UserAuth() = default;

const std::string& UserAuth::issuer() const { return issuer_; }
const UserAuthOptions& UserAuth::options() const { return options_; }
std::string UserAuth::region() const { return region_; }

awaitable<std::expected<User, http::Response>> UserAuth::authenticate(const http::Request& request,
                                                                      bool allow_reviewer) {
  auto hook = verifier_->authenticator();
  auto verified = co_await hook(request);
  if (!verified) co_return std::unexpected(api_rejection(verified.error()));
  const mcp::Identity& identity = **verified;
  User u;
  u.subject = identity.subject;
  if (auto* name = ::idp::json::find_string(identity.claims, "username"))
    u.username = std::string(*name);
  u.groups = groups_of(identity.claims);
  if (!allow_reviewer && std::ranges::find(u.groups, kReviewerGroup) != u.groups.end()) {
    co_return std::unexpected(error_response(
        403, "permission_denied",
        "users in the group Reviewer cannot use the agents; ask an administrator for access"));
  }
  co_return u;
}

awaitable<std::expected<SignedIn, http::Response>> UserAuth::login(std::string username,
                                                                   Secret password) {
  auth::CognitoClient client(co_await net::this_coro::executor, options_.http);
  auth::CognitoConfig config{.user_pool_id = options_.user_pool_id,
                             .client_id = options_.client_id,
                             .username = std::move(username),
                             .password = std::move(password),
                             .endpoint = options_.cognito_endpoint};
  auto tokens = co_await client.sign_in(config);
  if (!tokens) co_return std::unexpected(sign_in_failure(tokens.error(), "sign-in"));
  co_return signed_in(std::move(*tokens), /*with_refresh_token=*/true);
}

awaitable<std::expected<SignedIn, http::Response>> UserAuth::refresh(Secret refresh_token) {
  auth::CognitoClient client(co_await net::this_coro::executor, options_.http);
  auth::CognitoConfig config{.user_pool_id = options_.user_pool_id,
                             .client_id = options_.client_id,
                             .endpoint = options_.cognito_endpoint};
  // The subject only matters for SECRET_HASH, and the web app client has no secret.
  std::string subject;
  auto tokens = co_await client.refresh(config, refresh_token, subject);
  if (!tokens) co_return std::unexpected(sign_in_failure(tokens.error(), "refresh"));
  // Cognito sends no new refresh token on a refresh: the browser keeps its own.
  co_return signed_in(std::move(*tokens), /*with_refresh_token=*/false);
}

}  // namespace idp::service

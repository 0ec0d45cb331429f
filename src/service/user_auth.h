// UserAuth is who a request of the web UI comes from. Every /api call (but config and the two
// sign-in calls) carries the user's Cognito access token; it is verified with the same verifier
// as MCP servers use (idp::auth::BearerAuth: Cognito rules, issuer from the users' pool id or
// from --cognito-endpoint for the local identity provider, token_use=access, client_id = the
// web app client, JWKS cached and refetched on an unknown key). A user in the group Reviewer
// (`cognito:groups`) is refused with 403 on every route but /api/me, as the reference does.
//
// Sign-in goes through the service: login() calls Cognito InitiateAuth (USER_PASSWORD_AUTH) for
// the users' pool and refresh() REFRESH_TOKEN_AUTH; neither stores or logs a password or token
// (they are idp::Secret throughout). Failures map to the answers of docs/api.md: wrong
// credentials are 401 `unauthenticated` "incorrect username or password" (never saying which),
// a challenge is 401 `challenge`, an unreachable Cognito 503 `unavailable`.
//
// Thread-safety: every member may be called from any executor at once.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "idp/http/client.h"
#include "idp/http/message.h"

namespace idp::auth {
class BearerAuth;
}

namespace idp::service {

struct UserAuthOptions {
  std::string user_pool_id;
  std::string client_id;
  std::string cognito_endpoint;  // empty: AWS (the pool's region)
  http::ClientOptions http;      // JWKS and Cognito calls (CA file, proxy, timeouts)
};

struct User {
  std::string subject;  // `sub`: what sessions and jobs belong to
  std::string username;
  std::vector<std::string> groups;
};

struct SignedIn {
  Secret access_token;
  Secret id_token;
  std::optional<Secret> refresh_token;
  std::int64_t expires_in = 0;  // seconds
};

class UserAuth {
 public:
  // Checks the options (pool id shape, endpoint URL policy); errors name the option.
  static Result<std::shared_ptr<UserAuth>> create(UserAuthOptions options);
  ~UserAuth();

  const std::string& issuer() const;
  const UserAuthOptions& options() const;
  std::string region() const;

  // The verified user of `request`, or the answer to send instead: 401 (with WWW-Authenticate)
  // for a missing or invalid token, 403 for a Reviewer unless `allow_reviewer`.
  boost::asio::awaitable<std::expected<User, http::Response>> authenticate(
      const http::Request& request, bool allow_reviewer = false);

  boost::asio::awaitable<std::expected<SignedIn, http::Response>> login(std::string username,
                                                                        Secret password);
  boost::asio::awaitable<std::expected<SignedIn, http::Response>> refresh(Secret refresh_token);

  // The issuer of a pool's tokens: `<endpoint>/<pool>` for a local identity provider, else
  // `https://cognito-idp.<region>.amazonaws.com/<pool>`.
  static Result<std::string> issuer_for(std::string_view user_pool_id, std::string_view endpoint);

 private:
  UserAuth() = default;
  UserAuthOptions options_;
  std::string issuer_;
  std::string region_;
  std::shared_ptr<auth::BearerAuth> verifier_;
};

}  // namespace idp::service

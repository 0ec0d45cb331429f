// idp::auth::LocalCognito is a local identity provider that speaks the Cognito user-pool API
// (AWS JSON 1.1 on `POST /`, `X-Amz-Target: AWSCognitoIdentityProviderService.<Op>`), so that
// nothing here needs AWS to run: the CLI's `local-cognito` command, `make demo` and the tests
// embed it in an idp::http::Server.
//
// Operations: CreateUserPool, CreateUserPoolClient (optional secret; AllowedOAuthFlows,
// AllowedOAuthScopes, AllowedOAuthFlowsUserPoolClient), DescribeUserPoolClient,
// UpdateUserPoolClient, CreateResourceServer, DescribeResourceServer, ListResourceServers,
// DeleteResourceServer, AdminCreateUser, AdminSetUserPassword, AdminGetUser, CreateGroup,
// AdminAddUserToGroup, InitiateAuth (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH),
// RespondToAuthChallenge (NEW_PASSWORD_REQUIRED) and GetUser. Errors are HTTP 400 with
// `{"__type":"NotAuthorizedException","message":"Incorrect username or password."}`, as Cognito
// sends them. Tokens are RS256 JWTs shaped like Cognito's (the access token has `client_id` and
// `token_use`, no `aud`; the ID token has `aud`; both carry `cognito:groups` for a member of a
// group), valid one hour; refresh tokens are opaque. Every pool has its own RSA-2048 key, served
// at `GET /<poolId>/.well-known/jwks.json` next to an OIDC discovery document whose `issuer`
// equals the tokens' `iss` (`<issuer base>/<poolId>`).
//
// Each pool is also an OAuth authorization server, as a Cognito pool with a domain is: its token
// endpoint `POST /<poolId>/oauth2/token` (Cognito: `https://<domain>/oauth2/token`) grants
// client_credentials (an app client with a secret, client_secret_basic or client_secret_post,
// allowed the flow and the custom scopes of the pool's resource servers) and refresh_token
// (refresh tokens of InitiateAuth). Machine-to-machine access tokens are Cognito's: `sub` and
// `client_id` are the app client, `scope` the granted scopes, `token_use` access, no `username`.
// Errors are RFC 6749's (`invalid_client`, `unauthorized_client`, `invalid_scope`,
// `invalid_grant`, `unsupported_grant_type`, `invalid_request`) with an error_description. The
// metadata document (issuer, jwks_uri, token_endpoint, grant types, auth methods, scopes) is
// served at `/<poolId>/.well-known/openid-configuration`, `/.well-known/openid-configuration/
// <poolId>`, `/.well-known/oauth-authorization-server/<poolId>` (RFC 8414) and
// `/<poolId>/.well-known/oauth-authorization-server`.
//
// State (pools with their groups, clients with their secrets, users with PBKDF2-HMAC-SHA256
// password hashes and their groups, the pool keys as PEM, hashes of refresh tokens) lives in
// `<data_dir>/local-cognito.json`; passwords and refresh tokens are never stored in clear. A
// background thread rewrites the file after changes, atomically (temporary file, fsync, rename;
// mode 0600), coalescing changes that arrive while it writes: a request never waits for the disk
// or holds the state's lock during I/O. flush() and destruction wait until every change is
// written. Access tokens handed back to it (GetUser) are checked with verify_jwt, as any
// resource server checks them. Thread-safe: every member may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/clock.h"
#include "idp/core/error.h"
#include "idp/http/message.h"

namespace idp::http {
class Server;
}

namespace idp::auth {

class LocalCognito {
 public:
  // Loads `<data_dir>/local-cognito.json` when it exists (creating `data_dir`, mode 0700, when
  // it does not). Throws std::runtime_error when the file exists but cannot be read or parsed;
  // use open() for an idp::Error instead. `region` prefixes new pool ids (`us-east-1_AbC123xyz`).
  explicit LocalCognito(std::string data_dir, std::string region = "us-east-1");
  static Result<std::unique_ptr<LocalCognito>> open(std::string data_dir,
                                                    std::string region = "us-east-1");
  ~LocalCognito();
  LocalCognito(const LocalCognito&) = delete;
  LocalCognito& operator=(const LocalCognito&) = delete;

  // Registers `POST /` and, for every pool (also pools created later), its well-known documents
  // and `POST /<poolId>/oauth2/token`.
  // Call before server.start(). An empty `issuer_base` means `http://127.0.0.1:<server.port()>`,
  // read when the first token is issued.
  void attach(http::Server& server, std::string issuer_base = {});

  // Sets the issuer base (`http://127.0.0.1:9229`, no trailing slash) without a server.
  void set_issuer_base(std::string issuer_base);
  // `<issuer base>/<poolId>`: the `iss` of that pool's tokens.
  std::string issuer(std::string_view pool_id) const;

  // One AWS JSON 1.1 call: `target` is the X-Amz-Target value, `body` the JSON input. Always
  // returns a response (200 with the output, or 400/500 with `{"__type","message"}`).
  http::Response handle(std::string_view target, std::string_view body);
  // The JWKS or metadata document for a well-known path (above); nullopt for other paths (404
  // for an unknown pool).
  std::optional<http::Response> handle_well_known(std::string_view path) const;
  // The token endpoint for `/<poolId>/oauth2/token`; nullopt for other paths (404 for an unknown
  // pool). `authorization` is the request's Authorization header, if any.
  std::optional<http::Response> handle_token(std::string_view path,
                                             std::optional<std::string_view> authorization,
                                             std::string_view content_type, std::string_view body);

  const std::string& data_file() const;
  // Waits until every change made so far is in data_file(); the error names the file and why.
  Result<void> flush();

  // Lifetime of new access and ID tokens (default one hour, as Cognito's default); tests use a
  // few seconds to exercise refresh.
  void set_token_lifetime(std::chrono::seconds lifetime);
  // The time for issuing and checking tokens (default: the real clock); tests pass a
  // ManualTime. Call before serving.
  void set_clock(std::shared_ptr<const TimeSource> clock);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace idp::auth

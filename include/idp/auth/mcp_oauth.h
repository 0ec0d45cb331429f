// MCP authorization on the client side (the 2025-11-25 authorization spec), as a token provider
// for one MCP server's idp::mcp::Client. Nothing happens until the server challenges: on an
// HTTP 401 it reads the WWW-Authenticate header, discovers the protected resource's metadata
// (RFC 9728: the header's resource_metadata, then the path-aware and root well-known URLs;
// its `resource` must match the server URL) and its authorization server (RFC 8414 / OpenID
// discovery, path-aware; for a 2025-03-26 server without resource metadata, the server's origin
// and then its default /authorize, /token, /register), gets a client (a pre-registered id, a
// client ID metadata document URL when the server supports them, else dynamic registration)
// and a token:
//   - client_credentials with client_secret_basic / client_secret_post / private_key_jwt,
//   - authorization_code with PKCE S256 through `authorize` (the caller shows the URL and
//     returns where the browser was sent back to; see follow_redirect_authorizer()), with
//     refresh_token when the server issues one,
//   - enterprise-managed authorization (SEP-990): the user's ID token is exchanged at the
//     enterprise IdP (RFC 8693) for an identity assertion grant (ID-JAG), which the
//     authorization server takes as a JWT bearer grant (RFC 7523).
// Scopes: `scope` when set, else the challenge's, else the resource's scopes_supported, else
// none (omitted); offline_access is added for authorization_code only when the authorization
// server lists it. The `resource` parameter (RFC 8707) names the protected resource. An HTTP
// 403 with error="insufficient_scope" steps up: a new grant for the scopes held plus the ones
// asked for (also when `scope` is set: it is where the client starts), at most `max_step_ups` times in the provider's life for the same scope set.
// Tokens live in memory only, per provider (one per server URL), refreshed before expiry; a
// caller that keeps them (the CLI's --token-file) takes saved() and gives them back with
// restore().
// One provider serves one mcp::Client, which asks on_challenge once for all its callers;
// token() may be called from any thread (two callers that find the token expired at once may
// both refresh it).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "idp/http/client.h"
#include "idp/mcp/challenge.h"
#include "idp/mcp/client.h"

namespace idp::auth {

// Shows `authorization_url` to the user (or fetches it) and returns the redirect URL the
// authorization server sent the browser to (…?code=…&state=…).
using Authorizer =
    std::function<boost::asio::awaitable<Result<std::string>>(std::string authorization_url)>;

struct McpOAuthConfig {
  enum class Grant { kAuthorizationCode, kClientCredentials, kIdentityAssertion };
  Grant grant = Grant::kAuthorizationCode;
  // A pre-registered client. Empty: a client ID metadata document (client_metadata_url) when
  // the server supports them, else dynamic client registration.
  std::string client_id;
  Secret client_secret;          // client_secret_basic (or _post when that is all it offers)
  Secret private_key;            // PEM: private_key_jwt
  std::string signing_alg = "RS256";  // of private_key: RS256 or ES256
  std::string client_metadata_url;    // https URL used as client_id (SEP-991)
  std::string client_name = "idp-agents";
  std::string scope;  // space-separated; overrides the first scope selection (not step-ups)
  // Given: the authorization server's token endpoint, and its metadata is not read (the
  // protected resource's metadata still is, for the resource and its scopes). For servers whose
  // authorization server publishes no metadata, or to pin the endpoint (Cognito's
  // https://<domain>/oauth2/token).
  std::string token_endpoint;
  // authorization_code: the redirect URI registered for the client, and who opens the URL.
  std::string redirect_uri = "http://127.0.0.1:8976/callback";
  Authorizer authorize;
  // kIdentityAssertion: the enterprise IdP's token endpoint, this client's id there, and the
  // user's ID token from it.
  struct IdentityAssertion {
    std::string idp_token_endpoint;
    std::string idp_client_id;
    Secret id_token;
  };
  IdentityAssertion identity;
  int max_step_ups = 2;
  http::ClientOptions http;
};

class McpOAuthProvider final : public mcp::TokenProvider, public mcp::ChallengeHandler {
 public:
  McpOAuthProvider(boost::asio::any_io_executor executor, std::string server_url,
                   McpOAuthConfig config);
  ~McpOAuthProvider() override;

  // The cached token (an empty Secret before the server asked for one); refreshed (refresh
  // token, or the grant again) when it expires or `refresh` is set.
  boost::asio::awaitable<Result<Secret>> token(bool refresh) override;
  boost::asio::awaitable<Result<Secret>> on_challenge(int status,
                                                      std::string www_authenticate) override;
  int authorizations() const;  // grants run so far (authorization requests or client credentials)

  // What the current token is (for `idp-agents auth login`); empty fields before one.
  struct TokenInfo {
    std::string authorization_server;  // issuer
    std::string client_id;
    std::string scope;  // as requested ("" : none asked for)
    std::chrono::system_clock::time_point expires{};
    bool refreshable = false;
    Secret access_token;
  };
  TokenInfo info() const;

  // What a token store keeps: enough to use the access token and to refresh it without
  // discovery. Holds secrets (the tokens; the client secret of a dynamically registered client,
  // never the configured one).
  struct SavedTokens {
    std::string server_url;
    std::string resource;  // of the protected-resource metadata ("" when there was none)
    std::string issuer, token_endpoint;
    std::string client_id, auth_method;
    Secret client_secret;
    std::string scope;
    Secret access_token, refresh_token;
    std::chrono::system_clock::time_point expires{};
  };
  // The current tokens; nullopt before the server asked for one.
  std::optional<SavedTokens> saved() const;
  // Starts from `saved`: token() hands out its access token until it expires and then refreshes
  // it; a 401 starts over with discovery. Refused (kInvalidArgument, naming both) when `saved`
  // is for another server URL or, with a configured client id, for another client.
  Result<void> restore(SavedTokens saved);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// An Authorizer for servers that approve without a user (test servers, consent given before):
// GETs the authorization URL and returns the Location of its redirect. Refuses a Location that
// does not start with `redirect_uri`.
Authorizer follow_redirect_authorizer(boost::asio::any_io_executor executor,
                                      std::string redirect_uri, http::ClientOptions options = {});

}  // namespace idp::auth

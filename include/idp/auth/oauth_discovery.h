// Discovery for MCP authorization (the 2025-11-25 authorization spec): what a 401/403 challenge
// says (RFC 6750 WWW-Authenticate), the protected resource's metadata (RFC 9728) and its
// authorization server's metadata (RFC 8414 and OpenID Connect discovery), with the path-aware
// well-known locations and the 2025-03-26 fallbacks (metadata at the server's origin, else the
// default /authorize, /token and /register endpoints there).
//
// Every URL goes through the URL policy (idp/http/url_policy.h) before it is fetched; redirects
// are never followed (metadata is refused when its location answers 3xx). Bad metadata is
// refused with an error that names the document, its URL and the field: a `resource` that is
// not the server's URL, an `issuer` that is not the authorization server's, a missing or
// non-https endpoint. Pure functions and stateless coroutines; thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/error.h"
#include "idp/http/client.h"

namespace idp::auth {

// The parameters of the Bearer challenge in a WWW-Authenticate header ("" when absent).
struct BearerChallenge {
  std::string error;              // "invalid_token", "insufficient_scope", ...
  std::string scope;              // space-separated
  std::string resource_metadata;  // RFC 9728 §5.1
  std::string error_description;
};
BearerChallenge parse_bearer_challenge(std::string_view www_authenticate);

struct ProtectedResourceMetadata {
  std::string url;  // where it was read
  std::string resource;
  std::vector<std::string> authorization_servers;
  std::vector<std::string> scopes_supported;
};

struct AuthServerMetadata {
  std::string url;  // where it was read ("" for the 2025-03-26 default endpoints)
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string registration_endpoint;  // "" when dynamic client registration is not offered
  std::vector<std::string> grant_types_supported;
  std::vector<std::string> token_endpoint_auth_methods_supported;
  std::vector<std::string> scopes_supported;
  std::vector<std::string> code_challenge_methods_supported;
  bool client_id_metadata_document_supported = false;
  bool authorization_response_iss_parameter_supported = false;  // RFC 9207
};

// True when a protected resource identified as `resource` may serve `server_url`: the same
// scheme, host and port, and `resource`'s path is the server's path or a parent of it (on a
// segment boundary). Fragments are never allowed.
bool resource_matches(std::string_view resource, std::string_view server_url);

// The RFC 9728 URLs to try, in order: the challenge's resource_metadata (when given), then
// <origin>/.well-known/oauth-protected-resource<path> (when the server URL has a path), then
// <origin>/.well-known/oauth-protected-resource.
std::vector<std::string> protected_resource_metadata_urls(std::string_view server_url,
                                                          std::string_view from_challenge);

// The metadata URLs of an issuer, in order. With a path component P: the RFC 8414 and OpenID
// path-insertion forms (/.well-known/oauth-authorization-server/P,
// /.well-known/openid-configuration/P) and then OpenID's appended form
// (P/.well-known/openid-configuration); without: /.well-known/oauth-authorization-server and
// /.well-known/openid-configuration.
std::vector<std::string> authorization_server_metadata_urls(std::string_view issuer);

// <scheme>://<host>[:port] of a URL ("" when it does not parse).
std::string url_origin(std::string_view url);

// Reads the server's protected-resource metadata: the first of
// protected_resource_metadata_urls() that answers 200 with a JSON object. nullopt when none
// does (404 and the like: a 2025-03-26 server); an error for bad metadata (a resource that
// does not match `server_url`, no authorization_servers) or a URL the policy refuses.
boost::asio::awaitable<Result<std::optional<ProtectedResourceMetadata>>>
discover_protected_resource(http::Client& http, std::string server_url,
                            std::string resource_metadata_url);

// Reads an authorization server's metadata from authorization_server_metadata_urls(issuer).
// `check_issuer`: the document's issuer must be `issuer` (RFC 8414 §3.3). With
// `default_endpoints` (2025-03-26, no protected-resource metadata), when no document is found
// the endpoints are <issuer>/authorize, /token and /register. Errors name the document.
boost::asio::awaitable<Result<AuthServerMetadata>> discover_authorization_server(
    http::Client& http, std::string issuer, bool check_issuer, bool default_endpoints);

}  // namespace idp::auth

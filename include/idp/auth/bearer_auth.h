// BearerAuth protects an MCP server with OAuth bearer tokens (Cognito access tokens by default):
// it verifies `Authorization: Bearer` JWTs against the issuer's JWKS (fetched over HTTPS, or HTTP
// on loopback, by one fetch at a time that every waiting request shares; fresh for 10 minutes,
// then refreshed in the background; refetched on an unknown `kid` at most once per 30 s; after a
// failed fetch no new one before a back-off, and the keys fetched before keep serving up to
// jwks_max_age), keeps a bounded cache of verified tokens, answers failures with
// 401 `WWW-Authenticate: Bearer error="invalid_token", ..., resource_metadata="..."` (403
// `insufficient_scope` when a scope is missing), serves the RFC 9728 protected-resource
// metadata, and hands the verified subject and claims to tool handlers (ToolContext::identity()).
// Tools may need scopes of their own (tool_scopes): a tools/call of such a tool with a token
// that lacks one gets 403 `insufficient_scope` naming the scopes it needs, so that an MCP client
// can step up. Thread-safe: one BearerAuth serves every connection of a server.
//
// The verified-token cache is keyed by the exact token: a lookup hashes only the token's last
// bytes (its signature, which an attacker cannot choose for a token the issuer signed) and then
// compares the whole token byte for byte, so a token never gets another token's identity. Only
// tokens that passed verification are stored, each until its `exp` (the cache is cleared when it
// is full); entries are shared, immutable identities.
#pragma once

#include <chrono>
#include <expected>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "idp/auth/jwt.h"
#include "idp/core/clock.h"
#include "idp/http/client.h"
#include "idp/http/server.h"
#include "idp/mcp/streamable_http_server.h"

namespace idp::auth {

struct BearerAuthOptions {
  JwtRules rules;            // issuer, client ids (or audiences), algorithms, required scopes
  std::string jwks_url;      // default: <issuer>/.well-known/jwks.json
  std::string resource;      // this server's URL for the metadata; default: from the Host header
  std::vector<std::string> scopes_supported;
  // Scopes a tools/call of a tool needs on top of rules.required_scopes (tool name -> scopes, all
  // needed). The authenticator reads the JSON-RPC body of a POST for the method and the tool's
  // name; a token without one of them gets 403 with `WWW-Authenticate: Bearer
  // error="insufficient_scope", scope="<rules.required_scopes and the tool's>"`.
  std::map<std::string, std::vector<std::string>> tool_scopes;
  std::chrono::seconds jwks_ttl{600};         // keys younger than this are used as they are
  std::chrono::seconds jwks_max_age{3600};    // older keys are dropped, even if refetches fail
  std::chrono::seconds refetch_interval{30};  // at most one unknown-kid refetch per interval
  std::chrono::milliseconds jwks_retry_initial{1000};  // back-off after a failed fetch, doubling
  std::chrono::milliseconds jwks_retry_max{30'000};    // ... up to this
  std::chrono::milliseconds jwks_fetch_timeout{10'000};
  std::size_t verified_cache_entries = 4096;
  http::ClientOptions http;  // for the JWKS fetch (CA file, proxy, timeouts)
  // Time for token expiry and the JWKS rules; null means the real time. Tests pass a
  // ManualTime.
  std::shared_ptr<const TimeSource> clock;
};

class BearerAuth {
 public:
  explicit BearerAuth(BearerAuthOptions options);
  ~BearerAuth();
  BearerAuth(const BearerAuth&) = delete;
  BearerAuth& operator=(const BearerAuth&) = delete;

  // The hook for StreamableHttpOptions::authenticate. Keeps this object alive.
  mcp::Authenticator authenticator();
  // Serves /.well-known/oauth-protected-resource and /.well-known/oauth-protected-resource<path>.
  void serve_metadata(http::Server& server, const std::string& mcp_path = "/mcp");

  // Installs `keys` as if they had just been fetched from jwks_url: like fetched keys they are
  // refreshed from it once jwks_ttl has passed or on an unknown kid, and no longer used after
  // jwks_max_age unless a refresh succeeds. For tests and bench/jwt_verify.
  void set_keys(JwkSet keys);

  // What the authenticator does with the token (the text after "Bearer "), without the HTTP
  // answer: a verified-cache hit, else verification with the keys, fetched under the rules above
  // when needed. kUnknownKey when no keys are available.
  boost::asio::awaitable<std::expected<std::shared_ptr<const mcp::Identity>, JwtError>> check(
      std::string token);

  // The synchronous core of the authenticator for a caller that already holds the token (the
  // text after "Bearer "): a verified-cache hit returns the shared identity; otherwise the token is
  // checked with verify_jwt against the keys held now and, when valid, cached. It never fetches
  // the JWKS: without keys (no set_keys, no fetch by the authenticator yet) or with an unknown kid
  // it fails with kUnknownKey. Used by bench/jwt_verify to time the cached path; the
  // authenticator() hook does the same lookup, plus key fetching and the HTTP answers.
  std::expected<std::shared_ptr<const mcp::Identity>, JwtError> verify(
      std::string_view token,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

  struct Stats {
    std::size_t jwks_fetches = 0;  // successful
    std::size_t jwks_fetch_failures = 0;
    std::size_t jwks_waiting = 0;  // requests waiting for a JWKS fetch right now
    std::size_t cache_hits = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::auth

// BearerAuth protects an MCP server with OAuth bearer tokens (Cognito access tokens by default):
// it verifies `Authorization: Bearer` JWTs against the issuer's JWKS (fetched over HTTPS, or HTTP
// on loopback; cached 10 minutes; refetched on an unknown `kid` at most once per 30 s; served
// stale while a refetch fails), keeps a bounded cache of verified tokens, answers failures with
// 401 `WWW-Authenticate: Bearer error="invalid_token", ..., resource_metadata="..."` (403
// `insufficient_scope` when a scope is missing), serves the RFC 9728 protected-resource
// metadata, and hands the verified subject and claims to tool handlers (ToolContext::identity()).
// Thread-safe: one BearerAuth serves every connection of a server.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "idp/auth/jwt.h"
#include "idp/http/client.h"
#include "idp/http/server.h"
#include "idp/mcp/streamable_http_server.h"

namespace idp::auth {

struct BearerAuthOptions {
  JwtRules rules;            // issuer, client ids (or audiences), algorithms, required scopes
  std::string jwks_url;      // default: <issuer>/.well-known/jwks.json
  std::string resource;      // this server's URL for the metadata; default: from the Host header
  std::vector<std::string> scopes_supported;
  std::chrono::seconds jwks_ttl{600};
  std::chrono::seconds refetch_interval{30};  // at most one unknown-kid refetch per interval
  std::size_t verified_cache_entries = 4096;
  http::ClientOptions http;  // for the JWKS fetch (CA file, proxy, timeouts)
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

  struct Stats {
    std::size_t jwks_fetches = 0;
    std::size_t cache_hits = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::auth

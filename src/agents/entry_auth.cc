#include "idp/agents/entry_auth.h"

#include "idp/auth/cognito.h"
#include "idp/auth/mcp_oauth.h"
#include "idp/auth/oauth.h"

namespace idp::agents {

http::ClientOptions entry_http_options(const AgentEntry& entry, http::ClientOptions base) {
  if (!entry.ca_file.empty()) base.ca_file = entry.ca_file;
  base.allow_link_local = entry.allow_link_local;
  return base;
}

std::shared_ptr<mcp::TokenProvider> make_token_provider(const AgentEntry& e,
                                                        boost::asio::any_io_executor ex,
                                                        const http::ClientOptions& base,
                                                        const std::string& cognito_endpoint) {
  switch (e.auth) {
    case AuthType::kCognito: {
      auth::CognitoConfig cfg;
      cfg.user_pool_id = e.cognito->user_pool_id;
      cfg.client_id = e.cognito->client_id;
      cfg.client_secret = e.cognito->client_secret;
      cfg.username = e.cognito->username;
      cfg.password = e.cognito->password;
      cfg.endpoint = cognito_endpoint;
      // Cognito is AWS's endpoint: the entry's CA file is for its MCP server, not for it.
      return std::make_shared<auth::CognitoTokenProvider>(ex, std::move(cfg), base);
    }
    case AuthType::kOAuth2: {
      // The server's challenge starts it: discovery, then client credentials with the
      // pre-registered client (a secret, or a key for private_key_jwt).
      auth::McpOAuthConfig cfg;
      cfg.grant = auth::McpOAuthConfig::Grant::kClientCredentials;
      cfg.client_id = e.oauth2->client_id;
      cfg.client_secret = e.oauth2->client_secret;
      cfg.private_key = e.oauth2->private_key;
      cfg.signing_alg = e.oauth2->signing_alg;
      cfg.scope = e.oauth2->scope;
      cfg.token_endpoint = e.oauth2->token_endpoint;
      // The protected-resource metadata comes from the MCP server itself: its CA file holds.
      cfg.http = entry_http_options(e, base);
      return std::make_shared<auth::McpOAuthProvider>(ex, e.mcp_url, std::move(cfg));
    }
    case AuthType::kOAuth2ClientCredentials: {
      auth::ClientCredentialsConfig cfg;
      cfg.token_url = e.oauth->token_url;
      cfg.client_id = e.oauth->client_id;
      cfg.client_secret = e.oauth->client_secret;
      cfg.scope = e.oauth->scope;
      http::ClientOptions http = base;
      http.allow_link_local = e.allow_link_local;  // auth.token_url was checked the same way
      return std::make_shared<auth::ClientCredentialsTokenProvider>(ex, std::move(cfg), http);
    }
    case AuthType::kBearer:
      return std::make_shared<mcp::StaticTokenProvider>(*e.bearer_token);
    case AuthType::kNone:
      return nullptr;
  }
  return nullptr;
}

}  // namespace idp::agents

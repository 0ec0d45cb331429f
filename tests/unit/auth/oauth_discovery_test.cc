// MCP authorization discovery, the pure parts: what a WWW-Authenticate challenge says, whether
// protected-resource metadata may serve a server URL, and the well-known URLs tried in order.
#include <gtest/gtest.h>

#include "idp/auth/oauth_discovery.h"

namespace idp::auth {
namespace {

TEST(BearerChallenge, ReadsQuotedAndBareParametersInAnyOrder) {
  auto c = parse_bearer_challenge(
      R"(Bearer error="insufficient_scope", scope="mcp:basic mcp:write", resource_metadata="http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp")");
  EXPECT_EQ(c.error, "insufficient_scope");
  EXPECT_EQ(c.scope, "mcp:basic mcp:write");
  EXPECT_EQ(c.resource_metadata, "http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp");
  auto bare = parse_bearer_challenge("bearer error=invalid_token,scope=a");
  EXPECT_EQ(bare.error, "invalid_token");
  EXPECT_EQ(bare.scope, "a");
}

TEST(BearerChallenge, IgnoresOtherSchemesAndEscapes) {
  auto c = parse_bearer_challenge(R"(Basic realm="x", Bearer error_description="say \"no\"", scope="s")");
  EXPECT_EQ(c.error_description, "say \"no\"");
  EXPECT_EQ(c.scope, "s");
  EXPECT_TRUE(parse_bearer_challenge(R"(Basic realm="scope")").scope.empty());
  EXPECT_TRUE(parse_bearer_challenge("").error.empty());
}

TEST(ResourceMatches, SameOriginAndAParentPathOnly) {
  EXPECT_TRUE(resource_matches("http://localhost:3000/mcp", "http://localhost:3000/mcp"));
  EXPECT_TRUE(resource_matches("http://localhost:3000", "http://localhost:3000/mcp"));
  EXPECT_TRUE(resource_matches("https://api.example.com/", "https://api.example.com:443/v1/mcp"));
  EXPECT_TRUE(resource_matches("https://API.example.com/v1", "https://api.example.com/v1/mcp"));
  EXPECT_FALSE(resource_matches("https://evil.example.com/mcp", "http://localhost:3000/mcp"));
  EXPECT_FALSE(resource_matches("http://localhost:3001/mcp", "http://localhost:3000/mcp"));
  EXPECT_FALSE(resource_matches("https://localhost:3000/mcp", "http://localhost:3000/mcp"));
  EXPECT_FALSE(resource_matches("http://localhost:3000/mc", "http://localhost:3000/mcp"));
  EXPECT_FALSE(resource_matches("http://localhost:3000/mcp/x", "http://localhost:3000/mcp"));
  EXPECT_FALSE(resource_matches("http://localhost:3000/mcp#f", "http://localhost:3000/mcp"));
  EXPECT_FALSE(resource_matches("not a url", "http://localhost:3000/mcp"));
}

TEST(WellKnownUrls, ProtectedResourceHeaderFirstThenPathAwareThenRoot) {
  EXPECT_EQ(protected_resource_metadata_urls("http://h:1/mcp", "http://h:1/custom.json"),
            (std::vector<std::string>{"http://h:1/custom.json",
                                      "http://h:1/.well-known/oauth-protected-resource/mcp",
                                      "http://h:1/.well-known/oauth-protected-resource"}));
  EXPECT_EQ(protected_resource_metadata_urls("https://h/", ""),
            (std::vector<std::string>{"https://h/.well-known/oauth-protected-resource"}));
}

TEST(WellKnownUrls, AuthorizationServerPathInsertionThenOpenIdAppended) {
  EXPECT_EQ(authorization_server_metadata_urls("http://as:2/tenant1/"),
            (std::vector<std::string>{"http://as:2/.well-known/oauth-authorization-server/tenant1",
                                      "http://as:2/.well-known/openid-configuration/tenant1",
                                      "http://as:2/tenant1/.well-known/openid-configuration"}));
  EXPECT_EQ(authorization_server_metadata_urls("https://as"),
            (std::vector<std::string>{"https://as/.well-known/oauth-authorization-server",
                                      "https://as/.well-known/openid-configuration"}));
}

}  // namespace
}  // namespace idp::auth

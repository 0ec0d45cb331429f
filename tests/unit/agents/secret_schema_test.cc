// The External MCP Agents secret as an operator writes it: every mistake is reported with its
// entry and field, a bad entry never takes the others down, and no password reaches a message.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "idp/agents/secret_schema.h"

namespace idp::agents {
namespace {

// A valid Cognito entry; `extra` is spliced in before the closing brace (",\"k\": v").
std::string entry(std::string_view extra = {},
                  std::string_view url = "https://mcp.example.com/mcp") {
  return fmt::format(R"({{"mcp_url": "{}", "cognito_user_pool_id": "us-east-1_AbC123xyz",
    "cognito_client_id": "client123", "cognito_username": "mcp-service-user",
    "cognito_password": "SecurePassword123!"{}}})",
                     url, extra);
}

std::vector<std::string> messages(const ValidatedSecret& v) {
  std::vector<std::string> out;
  for (const auto& f : v.findings) out.push_back(f.message);
  return out;
}

// True when some finding's message is exactly `text`.
bool has(const ValidatedSecret& v, std::string_view text) {
  for (const auto& f : v.findings) {
    if (f.message == text) return true;
  }
  return false;
}

// True when some finding's message contains `text`.
bool mentions(const ValidatedSecret& v, std::string_view text) {
  for (const auto& f : v.findings) {
    if (f.message.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string dump(const ValidatedSecret& v) {
  std::string out;
  for (const auto& f : v.findings)
    out += fmt::format("[{}] {}\n", to_string(f.severity), f.message);
  return out;
}

TEST(SecretSchemaTest, TheSeedExampleGivesTwoAgents) {
  std::string text = R"([
    {"mcp_url": "https://your-first-mcp-server.example.com/mcp",
     "cognito_user_pool_id": "us-east-1_XXXXXXXXX", "cognito_client_id": "xxxxxxxxxxxxxxxxxxxxxxxxxx",
     "cognito_username": "mcp-service-user-1", "cognito_password": "SecurePassword123!",
     "agent_name": "My Custom Calculator Agent",
     "agent_description": "Provides advanced mathematical calculations for document analysis"},
    {"mcp_url": "https://your-second-mcp-server.example.com/mcp",
     "cognito_user_pool_id": "us-east-1_YYYYYYYYY", "cognito_client_id": "yyyyyyyyyyyyyyyyyyyyyyyyyy",
     "cognito_username": "mcp-service-user-2", "cognito_password": "AnotherSecurePassword456!"}
  ])";
  auto v = validate_secret(text);
  EXPECT_TRUE(v.findings.empty()) << dump(v);
  ASSERT_EQ(v.entries.size(), 2u);
  EXPECT_EQ(v.entries[0].id, "my_custom_calculator_agent");
  EXPECT_EQ(v.entries[0].name, "My Custom Calculator Agent");
  EXPECT_EQ(v.entries[0].description,
            "Provides advanced mathematical calculations for document analysis");
  EXPECT_EQ(v.entries[0].auth, AuthType::kCognito);
  EXPECT_EQ(v.entries[0].transport, Transport::kHttp);
  EXPECT_EQ(v.entries[0].cognito->password.reveal(), "SecurePassword123!");
  EXPECT_EQ(v.entries[1].id, "external-mcp-agent-1");
  EXPECT_EQ(v.entries[1].name, "External MCP Agent 2");
  EXPECT_FALSE(v.entries[1].description.has_value());
  EXPECT_EQ(v.entries[1].sample_queries, default_sample_queries());
  EXPECT_EQ(v.entries[1].index, 1u);
}

TEST(SecretSchemaTest, AnEmptyArrayIsValidAndEmpty) {
  auto v = validate_secret("[]");
  EXPECT_TRUE(v.entries.empty());
  EXPECT_TRUE(v.findings.empty());
}

TEST(SecretSchemaTest, OneObjectIsToldToBeWrapped) {
  auto v = validate_secret(entry());
  EXPECT_TRUE(v.entries.empty());
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].message,
            "the secret holds one JSON object; wrap it in [ ] to make an array of servers");
  EXPECT_EQ(v.findings[0].index, Finding::kWholeSecret);
  EXPECT_EQ(v.findings[0].severity, Severity::kError);
}

TEST(SecretSchemaTest, OtherValuesAndEmptyText) {
  EXPECT_TRUE(has(validate_secret(R"("https://x")"),
                  "the secret must be a JSON array of servers, got string"));
  EXPECT_TRUE(has(validate_secret("42"), "the secret must be a JSON array of servers, got number"));
  EXPECT_TRUE(has(validate_secret("  \n"),
                  "the secret is empty; it must be a JSON array of servers ([] for none)"));
}

TEST(SecretSchemaTest, NonJsonSaysWhereTheParseFailed) {
  // The seed's documentation example carries comments after the passwords.
  std::string text =
      "[{\"mcp_url\": \"https://a.example.com/mcp\",\n"
      "  \"cognito_password\": \"SecurePassword123!\", //<!-- pragma: allowlist secret -->\n"
      "  \"agent_name\": \"x\"}]";
  auto v = validate_secret(text);
  ASSERT_EQ(v.findings.size(), 1u) << dump(v);
  EXPECT_NE(v.findings[0].message.find("the secret is not valid JSON"), std::string::npos)
      << dump(v);
  EXPECT_NE(v.findings[0].message.find("at line 2, column 45"), std::string::npos) << dump(v);
  EXPECT_NE(v.findings[0].message.find("comments are not allowed"), std::string::npos) << dump(v);
  EXPECT_EQ(v.findings[0].message.find("SecurePassword123!"), std::string::npos);

  auto cut = validate_secret("[{\"mcp_url\": \"https://a\"");
  ASSERT_EQ(cut.findings.size(), 1u);
  EXPECT_NE(cut.findings[0].message.find("ends too early"), std::string::npos) << dump(cut);

  auto trailing = validate_secret("[]\n]");
  EXPECT_NE(trailing.findings.at(0).message.find("line 2, column 1"), std::string::npos)
      << dump(trailing);
}

TEST(SecretSchemaTest, EveryRequiredFieldIsNamedWhenMissing) {
  auto v = validate_secret("[{}]");
  EXPECT_TRUE(v.entries.empty());
  for (std::string f : {"mcp_url", "cognito_user_pool_id", "cognito_client_id", "cognito_username",
                        "cognito_password"}) {
    EXPECT_TRUE(has(v, "secret entry 1: " + f + " is missing")) << f << "\n" << dump(v);
  }
  EXPECT_EQ(v.findings.size(), 5u) << dump(v);
  for (const auto& f : v.findings) {
    EXPECT_EQ(f.index, 0);
    EXPECT_EQ(f.severity, Severity::kError);
  }
}

TEST(SecretSchemaTest, ABadEntryIsSkippedAndTheOthersStay) {
  std::string bad =
      R"({"mcp_url": "https://b.example.com/mcp", "cognito_user_pool_id": "us-east-1_AbC",
    "cognito_username": "u", "cognito_password": "p"})";
  auto v = validate_secret("[" + entry() + "," + bad + "," + entry() + "]");
  EXPECT_TRUE(has(v, "secret entry 2: cognito_client_id is missing")) << dump(v);
  ASSERT_EQ(v.findings.size(), 1u) << dump(v);
  EXPECT_EQ(v.findings[0].field, "cognito_client_id");
  EXPECT_EQ(v.findings[0].index, 1);
  ASSERT_EQ(v.entries.size(), 2u);
  EXPECT_EQ(v.entries[0].id, "external-mcp-agent-0");
  EXPECT_EQ(v.entries[1].id, "external-mcp-agent-2");  // ids follow the array position
  EXPECT_EQ(v.entries[1].name, "External MCP Agent 3");
  EXPECT_TRUE(
      has(validate_secret(R"([1, "x"])"), "secret entry 2: must be a JSON object, got string"));
}

TEST(SecretSchemaTest, WrongTypesNameTheExpectedAndTheGivenType) {
  struct Case {
    std::string extra;
    std::string message;
  };
  std::vector<Case> cases = {
      {R"(, "timeout_seconds": "30")",
       "secret entry 1: timeout_seconds must be a number, got string"},
      {R"(, "agent_name": 5)", "secret entry 1: agent_name must be a string, got number"},
      {R"(, "transport": true)", "secret entry 1: transport must be a string, got boolean"},
      {R"(, "tools_allow": "add")",
       "secret entry 1: tools_allow must be an array of strings, got string"},
      {R"(, "tools_deny": ["ok", 3])",
       "secret entry 1: tools_deny[1] must be a string, got number"},
      {R"(, "sample_queries": [""])", "secret entry 1: sample_queries[0] is empty"},
      {R"(, "headers": ["X-A: b"])",
       "secret entry 1: headers must be an object of strings, got array"},
      {R"(, "headers": {"X-Team": 7})",
       "secret entry 1: headers.X-Team must be a string, got number"},
      {R"(, "enabled": "yes")", "secret entry 1: enabled must be true or false, got string"},
      {R"(, "auth": "bearer")", "secret entry 1: auth must be an object, got string"},
      {R"(, "ca_file": "")", "secret entry 1: ca_file is empty"},
      {R"(, "timeout_seconds": 0)", "secret entry 1: timeout_seconds must be greater than 0"},
      {R"(, "timeout_seconds": 601)", "secret entry 1: timeout_seconds must be at most 600"},
      {R"(, "transport": "websocket")",
       "secret entry 1: transport must be 'http' or 'sse', got 'websocket'"},
      {R"(, "agent_id": "my agent")",
       "secret entry 1: agent_id 'my agent' may contain only letters, digits, '_' and '-' (at most "
       "64 characters)"},
      {R"(, "tool_prefix": "calc.")",
       "secret entry 1: tool_prefix may contain only letters, digits, '_' and '-' (at most 32 "
       "characters)"},
      {R"(, "agent_description": "")", "secret entry 1: agent_description is empty"},
  };
  for (const auto& c : cases) {
    auto v = validate_secret("[" + entry(c.extra) + "]");
    EXPECT_TRUE(has(v, c.message)) << c.extra << "\n" << dump(v);
    EXPECT_TRUE(v.entries.empty()) << c.extra;
  }
  // Wrong types of the seed's own fields, passwords included (the value is never shown).
  auto v = validate_secret(
      R"([{"mcp_url": 1, "cognito_user_pool_id": "us-east-1_A", "cognito_client_id": [],
      "cognito_username": null, "cognito_password": 123456}])");
  EXPECT_TRUE(has(v, "secret entry 1: mcp_url must be a string, got number")) << dump(v);
  EXPECT_TRUE(has(v, "secret entry 1: cognito_client_id must be a string, got array")) << dump(v);
  EXPECT_TRUE(has(v, "secret entry 1: cognito_username must be a string, got null")) << dump(v);
  EXPECT_TRUE(has(v, "secret entry 1: cognito_password must be a string, got number")) << dump(v);
  EXPECT_FALSE(mentions(v, "123456"));
}

TEST(SecretSchemaTest, EmptyStringsAreErrors) {
  auto v = validate_secret(
      R"([{"mcp_url": "", "cognito_user_pool_id": "us-east-1_A", "cognito_client_id": " ",
      "cognito_username": "u", "cognito_password": ""}])");
  EXPECT_TRUE(has(v, "secret entry 1: mcp_url is empty")) << dump(v);
  EXPECT_TRUE(has(v, "secret entry 1: cognito_client_id is empty")) << dump(v);
  EXPECT_TRUE(has(v, "secret entry 1: cognito_password is empty")) << dump(v);
}

TEST(SecretSchemaTest, UserPoolIdMustHaveTheRegionShape) {
  for (std::string good : {"us-east-1_AbC123xyz", "eu-central-1_X", "us-gov-west-1_abc"}) {
    std::string text = "[" + entry() + "]";
    auto pos = text.find("us-east-1_AbC123xyz");
    text.replace(pos, 19, good);
    EXPECT_TRUE(validate_secret(text).findings.empty()) << good;
  }
  for (std::string bad : {"AbC123xyz", "us-east-1", "useast1_abc", "us-east-1_", "_abc",
                          "US-EAST-1_abc", "us-east-1_ab-c"}) {
    std::string text = "[" + entry() + "]";
    auto pos = text.find("us-east-1_AbC123xyz");
    text.replace(pos, 19, bad);
    auto v = validate_secret(text);
    EXPECT_TRUE(
        has(v, "secret entry 1: cognito_user_pool_id '" + bad +
                   "' is not a user pool id: expected <region>_<id>, e.g. us-east-1_AbC123xyz"))
        << bad << "\n"
        << dump(v);
  }
}

TEST(SecretSchemaTest, UrlsMustBeHttpsOrLoopbackHttp) {
  EXPECT_TRUE(
      validate_secret("[" + entry({}, "https://mcp.example.com:8443/mcp") + "]").findings.empty());
  EXPECT_TRUE(validate_secret("[" + entry({}, "http://127.0.0.1:8080/mcp") + "]").findings.empty());
  EXPECT_TRUE(validate_secret("[" + entry({}, "http://localhost:8080/mcp") + "]").findings.empty());
  EXPECT_TRUE(validate_secret("[" + entry({}, "http://[::1]:8080/mcp") + "]").findings.empty());

  auto remote = validate_secret("[" + entry({}, "http://mcp.example.com/mcp") + "]");
  EXPECT_TRUE(
      has(remote,
          "secret entry 1: mcp_url must use https:// (got http:// to mcp.example.com; plain "
          "http:// is allowed only for loopback hosts: localhost, 127.0.0.0/8, [::1])"))
      << dump(remote);
  EXPECT_TRUE(remote.entries.empty());
  EXPECT_TRUE(has(validate_secret("[" + entry({}, "ftp://mcp.example.com/mcp") + "]"),
                  "secret entry 1: mcp_url must use https:// (got ftp://)"));
  EXPECT_TRUE(
      has(validate_secret("[" + entry({}, "mcp.example.com/mcp") + "]"),
          "secret entry 1: mcp_url is not a valid absolute URL (expected https://host/path)"));
  auto userinfo =
      validate_secret("[" + entry({}, "https://bob:Hunter2Pass@mcp.example.com/mcp") + "]");
  EXPECT_TRUE(has(userinfo,
                  "secret entry 1: mcp_url must not contain user info (a user name or password "
                  "before '@'); put credentials in the auth settings or headers instead"))
      << dump(userinfo);
  EXPECT_FALSE(mentions(userinfo, "Hunter2Pass"));
}

// Host names that look like loopback but are not: plain http:// to them is refused, and auth
// type none (no credentials at all) with them too.
constexpr const char* kLookalikeHosts[] = {"127.attacker.example",
                                           "localhost.attacker.example",
                                           "127.0.0.1@attacker.example",
                                           "127.0.0.1.nip.io",
                                           "2130706433",
                                           "0x7f000001",
                                           "0177.0.0.1",
                                           "[::ffff:127.0.0.1]",
                                           "localhost.",
                                           "127.0.0.1.",
                                           "LOCALHOST.attacker.example",
                                           "[::2]"};

TEST(SecretSchemaTest, LoopbackLookalikesAreRemote) {
  for (const char* host : kLookalikeHosts) {
    const std::string url = fmt::format("http://{}:9000/mcp", host);
    auto v = validate_secret("[" + entry({}, url) + "]");
    EXPECT_TRUE(v.entries.empty()) << host << "\n" << dump(v);
    EXPECT_TRUE(mentions(v, "secret entry 1: mcp_url ")) << host << "\n" << dump(v);
    auto none =
        validate_secret(fmt::format(R"([{{"mcp_url": "{}", "auth": {{"type": "none"}}}}])", url));
    EXPECT_TRUE(none.entries.empty()) << host << "\n" << dump(none);
    auto https_none = validate_secret(
        fmt::format(R"([{{"mcp_url": "https://{}:9000/mcp", "auth": {{"type": "none"}}}}])", host));
    EXPECT_TRUE(https_none.entries.empty()) << host << "\n" << dump(https_none);
  }
  // The real loopback spellings, in any letter case, may use http:// and auth type none.
  for (const char* host :
       {"localhost", "LocalHost", "127.0.0.1", "127.9.8.7", "[::1]", "[0:0:0:0:0:0:0:1]"}) {
    auto v = validate_secret(
        fmt::format(R"([{{"mcp_url": "http://{}:9000/mcp", "auth": {{"type": "none"}}}}])", host));
    EXPECT_EQ(v.entries.size(), 1u) << host << "\n" << dump(v);
    EXPECT_TRUE(v.findings.empty()) << host << "\n" << dump(v);
  }
}

TEST(SecretSchemaTest, SseEntriesMayOmitCognito) {
  auto v = validate_secret(R"([{"mcp_url": "https://mcp.example.com/sse", "transport": "sse"},
                              {"mcp_url": "http://127.0.0.1:9/sse", "transport": "sse"}])");
  ASSERT_EQ(v.entries.size(), 2u) << dump(v);
  EXPECT_EQ(v.entries[0].transport, Transport::kSse);
  EXPECT_EQ(v.entries[0].auth, AuthType::kNone);
  EXPECT_FALSE(v.has_errors());
  // The remote one is called without credentials: worth a warning, not an error.
  ASSERT_EQ(v.findings.size(), 1u) << dump(v);
  EXPECT_EQ(v.findings[0].severity, Severity::kWarning);
  EXPECT_EQ(v.findings[0].index, 0);

  auto with = validate_secret("[" + entry(R"(, "transport": "sse")") + "]");
  ASSERT_EQ(with.entries.size(), 1u);
  EXPECT_EQ(with.entries[0].auth, AuthType::kCognito);

  auto partial = validate_secret(R"([{"mcp_url": "https://m.example.com/sse", "transport": "sse",
      "cognito_user_pool_id": "us-east-1_A", "cognito_client_id": "c"}])");
  EXPECT_TRUE(has(partial,
                  "secret entry 1: cognito_username is missing (an sse entry needs all four "
                  "cognito_* fields or none)"))
      << dump(partial);
  EXPECT_TRUE(partial.entries.empty());
}

TEST(SecretSchemaTest, AuthAlternatives) {
  auto v = validate_secret(R"([
    {"mcp_url": "https://a.example.com/mcp", "auth": {"type": "oauth2_client_credentials",
       "token_url": "https://auth.example.com/oauth2/token", "client_id": "m2m", "client_secret": "M2mSecretValue",
       "scope": "mcp/read"}},
    {"mcp_url": "https://b.example.com/mcp", "auth": {"type": "bearer", "token": "StaticBearerValue"}},
    {"mcp_url": "http://127.0.0.1:9000/mcp", "auth": {"type": "none"}}
  ])");
  EXPECT_TRUE(v.findings.empty()) << dump(v);
  ASSERT_EQ(v.entries.size(), 3u);
  EXPECT_EQ(v.entries[0].auth, AuthType::kOAuth2ClientCredentials);
  EXPECT_EQ(v.entries[0].oauth->token_url, "https://auth.example.com/oauth2/token");
  EXPECT_EQ(v.entries[0].oauth->client_secret.reveal(), "M2mSecretValue");
  EXPECT_EQ(v.entries[0].oauth->scope, "mcp/read");
  EXPECT_EQ(v.entries[1].auth, AuthType::kBearer);
  EXPECT_EQ(v.entries[1].bearer_token->reveal(), "StaticBearerValue");
  EXPECT_EQ(v.entries[2].auth, AuthType::kNone);

  auto bad = validate_secret(R"([
    {"mcp_url": "https://a.example.com/mcp", "auth": {"type": "none"}},
    {"mcp_url": "https://b.example.com/mcp", "auth": {"type": "bearer"}},
    {"mcp_url": "https://c.example.com/mcp", "auth": {"type": "oauth2_client_credentials",
       "token_url": "http://auth.example.com/token", "client_id": "m2m", "client_secret": "s", "audience": "x"}},
    {"mcp_url": "https://d.example.com/mcp", "auth": {"type": "kerberos"}},
    {"mcp_url": "https://e.example.com/mcp", "auth": {}}
  ])");
  EXPECT_TRUE(bad.entries.empty()) << dump(bad);
  EXPECT_TRUE(
      has(bad,
          "secret entry 1: auth type none is allowed only when mcp_url is on loopback (localhost, "
          "127.0.0.0/8, [::1]); a remote server needs credentials (Cognito, oauth2, "
          "oauth2_client_credentials or bearer)"))
      << dump(bad);
  EXPECT_TRUE(has(bad, "secret entry 2: auth.token is missing")) << dump(bad);
  EXPECT_TRUE(mentions(bad, "secret entry 3: auth.token_url must use https://")) << dump(bad);
  EXPECT_TRUE(
      has(bad,
          "secret entry 3: auth.audience is not a field of oauth2_client_credentials auth and is "
          "ignored"))
      << dump(bad);
  EXPECT_TRUE(
      has(bad,
          "secret entry 4: auth.type must be oauth2, oauth2_client_credentials, bearer or none; "
          "got 'kerberos'"))
      << dump(bad);
  EXPECT_TRUE(has(bad, "secret entry 5: auth.type is missing")) << dump(bad);
  // With auth given the Cognito fields are not needed; if present they are ignored (a warning).
  auto both = validate_secret("[" + entry(R"(, "auth": {"type": "bearer", "token": "t"})") + "]");
  ASSERT_EQ(both.entries.size(), 1u);
  EXPECT_EQ(both.entries[0].auth, AuthType::kBearer);
  EXPECT_TRUE(has(both, "secret entry 1: the cognito_* fields are ignored because auth is set"));
}

TEST(SecretSchemaTest, OAuth2EntriesDiscoverTheRestFromTheServer) {
  auto v = validate_secret(R"([
    {"mcp_url": "https://gw.example.com/mcp", "auth": {"type": "oauth2", "client_id": "m2m",
       "client_secret": "M2mSecretValue"}},
    {"mcp_url": "https://gw.example.com/mcp", "auth": {"type": "oauth2", "client_id": "m2m",
       "client_secret": "M2mSecretValue", "scope": "gateway/invoke",
       "token_endpoint": "https://my-pool.auth.us-east-1.amazoncognito.com/oauth2/token"}},
    {"mcp_url": "https://gw.example.com/mcp", "auth": {"type": "oauth2", "client_id": "jwt-client",
       "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
       "signing_alg": "ES256"}}
  ])");
  EXPECT_TRUE(v.findings.empty()) << dump(v);
  ASSERT_EQ(v.entries.size(), 3u);
  EXPECT_EQ(v.entries[0].auth, AuthType::kOAuth2);
  EXPECT_STREQ(to_string(v.entries[0].auth), "oauth2");
  EXPECT_EQ(v.entries[0].oauth2->client_id, "m2m");
  EXPECT_EQ(v.entries[0].oauth2->client_secret.reveal(), "M2mSecretValue");
  EXPECT_TRUE(v.entries[0].oauth2->token_endpoint.empty());
  EXPECT_TRUE(v.entries[0].oauth2->scope.empty());
  EXPECT_EQ(v.entries[1].oauth2->scope, "gateway/invoke");
  EXPECT_EQ(v.entries[1].oauth2->token_endpoint,
            "https://my-pool.auth.us-east-1.amazoncognito.com/oauth2/token");
  EXPECT_TRUE(v.entries[2].oauth2->client_secret.empty());
  EXPECT_EQ(v.entries[2].oauth2->signing_alg, "ES256");

  const std::string pw = "Oauth2-Never-Print-Me";
  auto bad = validate_secret(fmt::format(R"([
    {{"mcp_url": "https://a.example.com/mcp", "auth": {{"type": "oauth2", "client_secret": "{0}"}}}},
    {{"mcp_url": "https://b.example.com/mcp", "auth": {{"type": "oauth2", "client_id": "c"}}}},
    {{"mcp_url": "https://c.example.com/mcp", "auth": {{"type": "oauth2", "client_id": "c",
       "client_secret": "{0}", "private_key": "{0}"}}}},
    {{"mcp_url": "https://d.example.com/mcp", "auth": {{"type": "oauth2", "client_id": "c",
       "private_key": "{0}"}}}},
    {{"mcp_url": "https://e.example.com/mcp", "auth": {{"type": "oauth2", "client_id": "c",
       "client_secret": "{0}", "token_endpoint": "http://auth.example.com/token?s={0}",
       "signing_alg": "HS256"}}}},
    {{"mcp_url": "https://f.example.com/mcp", "auth": {{"type": "oauth2", "client_id": "c",
       "client_secret": 42, "token_url": "https://x.example.com/t"}}}}
  ])", pw));
  EXPECT_TRUE(bad.entries.empty()) << dump(bad);
  EXPECT_TRUE(has(bad, "secret entry 1: auth.client_id is missing")) << dump(bad);
  EXPECT_TRUE(has(bad, "secret entry 2: auth.client_secret is missing (oauth2 needs client_secret "
                       "or private_key)"))
      << dump(bad);
  EXPECT_TRUE(mentions(bad, "secret entry 3: auth.client_secret and auth.private_key are both set"))
      << dump(bad);
  EXPECT_TRUE(mentions(bad, "secret entry 4: auth.private_key must be a PEM private key")) << dump(bad);
  EXPECT_TRUE(mentions(bad, "secret entry 5: auth.token_endpoint must use https://")) << dump(bad);
  EXPECT_TRUE(has(bad, "secret entry 5: auth.signing_alg must be RS256 or ES256, got 'HS256'"))
      << dump(bad);
  EXPECT_TRUE(has(bad, "secret entry 6: auth.client_secret must be a string, got number")) << dump(bad);
  EXPECT_TRUE(has(bad, "secret entry 6: auth.token_url is not a field of oauth2 auth and is ignored"))
      << dump(bad);
  for (const auto& f : bad.findings) {
    EXPECT_EQ(f.message.find(pw), std::string::npos) << f.message;
    EXPECT_TRUE(f.field.starts_with("auth.")) << f.field;
  }
}

TEST(SecretSchemaTest, LinkLocalAndMetadataUrlsNeedTheEntryToOptIn) {
  auto v = validate_secret(R"([
    {"mcp_url": "https://169.254.169.254/mcp", "auth": {"type": "bearer", "token": "t"}},
    {"mcp_url": "https://[::ffff:a9fe:a9fe]/mcp", "auth": {"type": "bearer", "token": "t"}},
    {"mcp_url": "https://metadata.google.internal/mcp", "auth": {"type": "bearer", "token": "t"}},
    {"mcp_url": "https://mcp.example.com/mcp", "auth": {"type": "oauth2", "client_id": "c",
       "client_secret": "s", "token_endpoint": "https://[fe80::1]/token"}},
    {"mcp_url": "https://mcp.example.com/mcp", "auth": {"type": "oauth2_client_credentials",
       "client_id": "c", "client_secret": "s", "token_url": "https://100.100.100.200/token"}},
    {"mcp_url": "https://169.254.10.10/mcp", "auth": {"type": "bearer", "token": "t"},
     "allow_link_local": "yes"}
  ])");
  EXPECT_TRUE(v.entries.empty()) << dump(v);
  EXPECT_TRUE(has(v,
                  "secret entry 1: mcp_url points at 169.254.169.254, the cloud instance metadata "
                  "address (AWS, Azure, Google Cloud, Oracle Cloud, OpenStack and others); "
                  "link-local and cloud metadata addresses are refused (they reach the machine's "
                  "own cloud credentials, not a server); if the server really is there, set "
                  "\"allow_link_local\": true in this entry"))
      << dump(v);
  EXPECT_TRUE(mentions(v, "secret entry 2: mcp_url points at [::ffff:a9fe:a9fe] (169.254.169.254"))
      << dump(v);
  EXPECT_TRUE(mentions(v, "secret entry 3: mcp_url points at metadata.google.internal")) << dump(v);
  EXPECT_TRUE(mentions(v, "secret entry 4: auth.token_endpoint points at [fe80::1], a link-local"))
      << dump(v);
  EXPECT_TRUE(mentions(v, "secret entry 5: auth.token_url points at 100.100.100.200")) << dump(v);
  EXPECT_TRUE(has(v, "secret entry 6: allow_link_local must be true or false, got string")) << dump(v);

  auto allowed = validate_secret(R"([
    {"mcp_url": "https://169.254.10.10/mcp", "auth": {"type": "oauth2", "client_id": "c",
       "client_secret": "s", "token_endpoint": "https://169.254.10.11/token"},
     "allow_link_local": true},
    {"mcp_url": "https://mcp.example.com/mcp", "auth": {"type": "bearer", "token": "t"}}
  ])");
  EXPECT_TRUE(allowed.findings.empty()) << dump(allowed);
  ASSERT_EQ(allowed.entries.size(), 2u);
  EXPECT_TRUE(allowed.entries[0].allow_link_local);
  EXPECT_FALSE(allowed.entries[1].allow_link_local);
}

TEST(SecretSchemaTest, UnknownFieldsWarnWithASuggestion) {
  auto v = validate_secret("[" + entry(R"(, "agent_nmae": "Calc", "color": "blue")") + "]");
  ASSERT_EQ(v.entries.size(), 1u) << dump(v);  // warnings do not skip an entry
  EXPECT_TRUE(
      has(v, "secret entry 1: unknown field 'agent_nmae' is ignored (did you mean 'agent_name'?)"))
      << dump(v);
  EXPECT_TRUE(has(v, "secret entry 1: unknown field 'color' is ignored")) << dump(v);
  EXPECT_EQ(v.warning_count(), 2u);
  EXPECT_FALSE(v.has_errors());
  EXPECT_EQ(v.findings[0].field, "agent_nmae");
}

TEST(SecretSchemaTest, DuplicateAgentIdsSkipTheLaterEntry) {
  auto v = validate_secret("[" + entry(R"(, "agent_id": "calc")") + "," +
                           entry(R"(, "agent_id": "calc")") + "]");
  ASSERT_EQ(v.entries.size(), 1u);
  EXPECT_EQ(v.entries[0].index, 0u);
  EXPECT_TRUE(has(v, "secret entry 2: agent_id 'calc' is already used by secret entry 1"))
      << dump(v);
}

TEST(SecretSchemaTest, IdsAreDerivedFromNamesAndMadeUnique) {
  EXPECT_EQ(derive_agent_id("My Custom Calculator Agent"), "my_custom_calculator_agent");
  EXPECT_EQ(derive_agent_id("Déjà Vu (v2.0)!"), "dj_vu_v20");
  EXPECT_EQ(derive_agent_id("already-ok_1"), "already-ok_1");
  EXPECT_EQ(derive_agent_id("!!!"), "");
  EXPECT_EQ(derive_agent_id(std::string(100, 'a')).size(), 64u);

  auto v = validate_secret("[" + entry(R"(, "agent_name": "Calc Agent")") + "," +
                           entry(R"(, "agent_name": "Calc Agent")") + "," +
                           entry(R"(, "agent_name": "calc agent")") + "," +
                           entry(R"(, "agent_name": "???")") + "," + entry() + "," +
                           entry(R"(, "agent_id": "calc_agent_2")") + "]");
  EXPECT_TRUE(v.findings.empty()) << dump(v);
  ASSERT_EQ(v.entries.size(), 6u);
  // The explicit id is reserved first; the derived ones step around it.
  EXPECT_EQ(v.entries[0].id, "calc_agent");
  EXPECT_EQ(v.entries[1].id, "calc_agent_3");
  EXPECT_EQ(v.entries[2].id, "calc_agent_4");
  EXPECT_EQ(v.entries[3].id, "external-mcp-agent-3");  // nothing usable in the name
  EXPECT_EQ(v.entries[3].name, "???");
  EXPECT_EQ(v.entries[4].id, "external-mcp-agent-4");
  EXPECT_EQ(v.entries[4].name, "External MCP Agent 5");
  EXPECT_EQ(v.entries[5].id, "calc_agent_2");
}

TEST(SecretSchemaTest, HeadersCannotOverrideTheProtocolOrTheAuthentication) {
  auto v = validate_secret(
      "[" + entry(R"(, "headers": {"Host": "evil", "Authorization": "Basic abc"})") + "]");
  EXPECT_TRUE(
      has(v, "secret entry 1: headers.Host is set by the MCP client and cannot be overridden"))
      << dump(v);
  EXPECT_TRUE(has(
      v,
      "secret entry 1: headers.Authorization conflicts with the entry's cognito authentication; "
      "remove one"))
      << dump(v);
  auto crlf = validate_secret("[" + entry(R"(, "headers": {"X-A": "a\r\nX-B: b"})") + "]");
  EXPECT_TRUE(has(crlf, "secret entry 1: headers.X-A contains a line break or NUL character"))
      << dump(crlf);
  auto ok = validate_secret(R"([{"mcp_url": "http://127.0.0.1:1/mcp", "auth": {"type": "none"},
      "headers": {"Authorization": "ApiKey k", "X-Team": "docs"}}])");
  ASSERT_EQ(ok.entries.size(), 1u) << dump(ok);
  ASSERT_EQ(ok.entries[0].headers.size(), 2u);
  EXPECT_EQ(ok.entries[0].headers[1].first, "X-Team");
  EXPECT_EQ(ok.entries[0].headers[1].second.reveal(), "docs");
}

TEST(SecretSchemaTest, OptionalFieldsAreCarried) {
  auto v =
      validate_secret("[" + entry(R"(, "agent_id": "calc", "cognito_client_secret": "CliSecret",
      "tools_allow": ["add", "s*"], "tools_deny": ["sub"], "tool_prefix": "calc_", "timeout_seconds": 12.5,
      "ca_file": "/etc/ssl/corp.pem", "sample_queries": ["What is 2+2?"], "enabled": false)") +
                      "]");
  ASSERT_EQ(v.entries.size(), 1u) << dump(v);
  const auto& e = v.entries[0];
  EXPECT_EQ(e.id, "calc");
  EXPECT_EQ(e.cognito->client_secret->reveal(), "CliSecret");
  EXPECT_EQ(e.tools_allow, (std::vector<std::string>{"add", "s*"}));
  EXPECT_EQ(e.tools_deny, (std::vector<std::string>{"sub"}));
  EXPECT_EQ(e.tool_prefix, "calc_");
  EXPECT_EQ(e.timeout_seconds, 12.5);
  EXPECT_EQ(e.ca_file, "/etc/ssl/corp.pem");
  EXPECT_EQ(e.sample_queries, (std::vector<std::string>{"What is 2+2?"}));
  EXPECT_FALSE(e.enabled);
}

TEST(SecretSchemaTest, ToolFiltersUseGlobs) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("get_*", "get_client_address"));
  EXPECT_TRUE(glob_match("*_email", "send_verification_email"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
  EXPECT_TRUE(glob_match("*a*b*", "xxaxxbxx"));
  EXPECT_FALSE(glob_match("*a*b", "xxaxxbxxc"));
  EXPECT_FALSE(glob_match("add", "Add"));  // case-sensitive
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("", "x"));

  AgentEntry e;
  EXPECT_TRUE(tool_allowed(e, "anything"));
  e.tools_allow = {"get_*", "calc"};
  e.tools_deny = {"get_secret*"};
  EXPECT_TRUE(tool_allowed(e, "get_client_address"));
  EXPECT_TRUE(tool_allowed(e, "calc"));
  EXPECT_FALSE(tool_allowed(e, "send_verification_email"));
  EXPECT_FALSE(tool_allowed(e, "get_secret_key"));  // deny wins
}

TEST(SecretSchemaTest, LimitsOnSizeAndEntries) {
  std::string many = "[";
  for (int i = 0; i < 101; ++i)
    many += (i ? "," : "") + entry(fmt::format(R"(, "agent_id": "a{}")", i));
  many += "]";
  SecretLimits roomy;
  roomy.max_bytes = 1024 * 1024;
  auto v = validate_secret(many, roomy);
  EXPECT_TRUE(has(v, "the secret has 101 entries; at most 100 are allowed (the rest are ignored)"))
      << dump(v);
  EXPECT_EQ(v.entries.size(), 100u);

  auto big = validate_secret(many);  // about 25 KB per 100 entries: under the default
  std::string huge =
      "[" + entry(fmt::format(R"(, "agent_description": "{}")", std::string(70'000, 'x'))) + "]";
  auto h = validate_secret(huge);
  ASSERT_EQ(h.findings.size(), 1u);
  EXPECT_NE(h.findings[0].message.find("at most 65536 are allowed"), std::string::npos) << dump(h);
  EXPECT_TRUE(h.entries.empty());
  (void)big;
}

TEST(SecretSchemaTest, SecretsNeverReachFindingsOrTheirJson) {
  const std::string pw = "Pa55-Never-Print-Me";
  std::string text =
      "[" +
      // wrong pool id, password present
      fmt::format(R"({{"mcp_url": "http://mcp.example.com/mcp", "cognito_user_pool_id": "bad",
        "cognito_client_id": "", "cognito_username": "u", "cognito_password": "{0}",
        "cognito_client_secret": "{0}", "headers": {{"Host": "{0}", "X-Key": "{0}\n"}},
        "cognito_pasword": "{0}", "timeout_seconds": "{0}"}},)",
                  pw) +
      fmt::format(
          R"({{"mcp_url": "https://a.example.com/mcp?token={0}", "auth": {{"type": "oauth2_client_credentials",
        "token_url": "http://x.example.com/?s={0}", "client_id": "", "client_secret": "{0}", "extra": "{0}"}}}},)",
          pw) +
      fmt::format(
          R"({{"mcp_url": "https://u:{0}@b.example.com/mcp", "auth": {{"type": "bearer", "token": "{0}"}},
        "agent_id": "x"}},)",
          pw) +
      fmt::format(
          R"({{"mcp_url": "https://c.example.com/mcp", "auth": {{"type": "bearer", "token": "{0}"}},
        "agent_id": "x"}})",
          pw) +
      "]";
  auto v = validate_secret(text);
  EXPECT_GE(v.findings.size(), 8u) << dump(v);
  for (const auto& m : messages(v)) EXPECT_EQ(m.find(pw), std::string::npos) << m;
  EXPECT_EQ(boost::json::serialize(findings_to_json(v.findings)).find(pw), std::string::npos);
  // And a broken text right at the password.
  auto broken = validate_secret("[{\"cognito_password\": \"" + pw + "}]");
  ASSERT_EQ(broken.findings.size(), 1u);
  EXPECT_EQ(broken.findings[0].message.find(pw), std::string::npos) << broken.findings[0].message;
}

TEST(SecretSchemaTest, FindingsAsJson) {
  auto v = validate_secret("[" + entry(R"(, "colour": 1)") + ", {}]");
  auto j = findings_to_json(v.findings);
  ASSERT_GE(j.size(), 2u);
  const auto& first = j[0].as_object();
  EXPECT_EQ(first.at("index").as_int64(), 0);
  EXPECT_EQ(first.at("entry").as_int64(), 1);
  EXPECT_EQ(first.at("field").as_string(), "colour");
  EXPECT_EQ(first.at("severity").as_string(), "warning");
  EXPECT_EQ(first.at("message").as_string(), "secret entry 1: unknown field 'colour' is ignored");
  EXPECT_EQ(j[1].as_object().at("severity").as_string(), "error");
  auto whole = findings_to_json(validate_secret("{}").findings);
  EXPECT_TRUE(whole[0].as_object().at("index").is_null());
}

TEST(SecretSchemaTest, FingerprintsTellUnchangedEntriesApart) {
  auto a = validate_secret("[" + entry(R"(, "agent_name": "Calc")") + "]");
  auto moved = validate_secret("[" + entry(R"(, "agent_name": "Other")") + "," +
                               entry(R"(, "agent_name": "Calc")") + "]");
  auto changed =
      validate_secret("[" + entry(R"(, "agent_name": "Calc", "tool_prefix": "c_")") + "]");
  ASSERT_EQ(a.entries.size(), 1u);
  ASSERT_EQ(moved.entries.size(), 2u);
  EXPECT_EQ(a.entries[0].fingerprint, moved.entries[1].fingerprint);  // same entry, other position
  EXPECT_NE(a.entries[0].fingerprint, changed.entries[0].fingerprint);
  EXPECT_EQ(a.entries[0].fingerprint.size(), 64u);
}

}  // namespace
}  // namespace idp::agents

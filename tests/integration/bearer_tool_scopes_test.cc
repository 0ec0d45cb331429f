// BearerAuth's scopes per tool (BearerAuthOptions::tool_scopes) with machine-to-machine tokens
// of the local identity provider's token endpoint: a tools/call of a tool that needs a scope the
// token lacks is answered 403 with the insufficient_scope challenge naming the scopes it needs
// (in a single message and in a batch); other tools and other methods go through; an M2M token
// (no username) reaches the tool as the app client.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "idp/auth/bearer_auth.h"
#include "idp/auth/local_cognito.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"
#include "local_cognito_fixture.h"
#include "raw_http.h"

namespace idp::auth {
namespace {

namespace bj = boost::json;
using boost::asio::awaitable;

// The provider's admin operations: admin_call (local_cognito_fixture.h).
const auto& call = admin_call;

class BearerToolScopesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("idp-tool-scopes-{}", ::getpid());
    std::filesystem::remove_all(dir_);
    idp_ = std::make_unique<LocalCognito>(dir_.string());
    idp_http_ = std::make_unique<http::Server>(http::ServerOptions{});
    idp_->attach(*idp_http_);
    ASSERT_TRUE(idp_http_->start());
    pool_ = std::string(call(*idp_, "CreateUserPool", {{"PoolName", "p"}}).at("UserPool").at("Id").as_string());
    call(*idp_, "CreateResourceServer",
         {{"UserPoolId", pool_}, {"Identifier", "mcp"}, {"Name", "MCP"},
          {"Scopes", bj::array{bj::object{{"ScopeName", "read"}, {"ScopeDescription", "r"}},
                               bj::object{{"ScopeName", "send"}, {"ScopeDescription", "s"}}}}});
    auto c = call(*idp_, "CreateUserPoolClient",
                  {{"UserPoolId", pool_}, {"ClientName", "m2m"}, {"GenerateSecret", true},
                   {"AllowedOAuthFlows", bj::array{"client_credentials"}},
                   {"AllowedOAuthScopes", bj::array{"mcp/read", "mcp/send"}},
                   {"AllowedOAuthFlowsUserPoolClient", true}});
    client_ = std::string(c.at("UserPoolClient").at("ClientId").as_string());
    secret_ = std::string(c.at("UserPoolClient").at("ClientSecret").as_string());

    server_ = std::make_unique<mcp::Server>();
    for (const char* name : {"lookup", "send"}) {
      mcp::Tool t;
      t.name = name;
      ASSERT_TRUE(server_->add_tool(t, [](const bj::object&, mcp::ToolContext& ctx) -> awaitable<mcp::CallToolResult> {
        const auto& claims = ctx.identity().claims;
        co_return mcp::CallToolResult::text(ctx.identity().subject + (claims.contains("username") ? " user" : " m2m"));
      }));
    }
    BearerAuthOptions ao;
    ao.rules.issuer = idp_->issuer(pool_);
    ao.rules.client_ids = {client_};
    ao.rules.required_scopes = {"mcp/read"};
    ao.tool_scopes = {{"send", {"mcp/send"}}};
    auth_ = std::make_unique<BearerAuth>(ao);
    mcp_http_ = std::make_unique<http::Server>(http::ServerOptions{});
    mcp::StreamableHttpOptions mo;
    mo.stateless = true;
    mo.authenticate = auth_->authenticator();
    transport_ = std::make_unique<mcp::StreamableHttpServer>(*server_, mo);
    transport_->attach(*mcp_http_);
    auto port = mcp_http_->start();
    ASSERT_TRUE(port);
    port_ = *port;
  }
  void TearDown() override {
    mcp_http_->stop();
    mcp_http_->wait();
    idp_http_->stop();
    idp_http_->wait();
    std::filesystem::remove_all(dir_);
  }

  std::string m2m_token(const std::string& scope) {
    auto r = idp_->handle_token("/" + pool_ + "/oauth2/token", "Basic " + base64_encode(client_ + ":" + secret_),
                                "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=" + scope);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    return r ? std::string(::idp::json::parse(r->body)->at("access_token").as_string()) : "";
  }

  test::RawResponse post(const std::string& token, const std::string& body) {
    return test::request(port_, "POST", "/mcp",
                         {{"Content-Type", "application/json"},
                          {"Accept", "application/json, text/event-stream"},
                          {"MCP-Protocol-Version", "2025-11-25"},
                          {"Authorization", "Bearer " + token}},
                         body);
  }
  static std::string tool_call(int id, const std::string& name) {
    return fmt::format(R"({{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"{}","arguments":{{}}}}}})", id,
                       name);
  }

  std::filesystem::path dir_;
  std::unique_ptr<LocalCognito> idp_;
  std::unique_ptr<http::Server> idp_http_, mcp_http_;
  std::unique_ptr<mcp::Server> server_;
  std::unique_ptr<BearerAuth> auth_;
  std::unique_ptr<mcp::StreamableHttpServer> transport_;
  std::string pool_, client_, secret_;
  std::uint16_t port_ = 0;
};

TEST_F(BearerToolScopesTest, AToolNeedingAScopeTheTokenLacksIs403WithTheScopesItNeeds) {
  const std::string read_only = m2m_token("mcp%2Fread");
  auto ok = post(read_only, tool_call(1, "lookup"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find(client_ + " m2m"), std::string::npos) << ok.body;  // the app client, no username

  auto denied = post(read_only, tool_call(2, "send"));
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(denied.header("WWW-Authenticate"),
            fmt::format("Bearer error=\"insufficient_scope\", scope=\"mcp/read mcp/send\", error_description=\"the "
                        "tool send needs the scope mcp/send\", resource_metadata=\"http://127.0.0.1:{}/.well-known/"
                        "oauth-protected-resource/mcp\"",
                        port_));
  EXPECT_EQ(::idp::json::parse(denied.body)->at("error").as_string(), "insufficient_scope");

  // In a batch too, and whatever the order of the members.
  auto batch = post(read_only, "[" + tool_call(3, "lookup") +
                                   R"(,{"params":{"arguments":{},"name":"send"},"method":"tools/call","id":4,"jsonrpc":"2.0"}])");
  EXPECT_EQ(batch.status, 403) << batch.body;

  const std::string both = m2m_token("mcp%2Fread+mcp%2Fsend");
  auto sent = post(both, tool_call(5, "send"));
  EXPECT_EQ(sent.status, 200) << sent.body;
  EXPECT_NE(sent.body.find(client_ + " m2m"), std::string::npos) << sent.body;
}

TEST_F(BearerToolScopesTest, OtherMethodsAndUnparsableBodiesAreLeftToTheTransport) {
  const std::string read_only = m2m_token("mcp%2Fread");
  auto list = post(read_only, R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  EXPECT_EQ(list.status, 200) << list.body;
  auto garbage = post(read_only, R"({"jsonrpc":"2.0","id":1,"method":"tools/call",)");
  EXPECT_EQ(garbage.status, 400) << garbage.body;  // a parse error, not a 403
  // The global scope still applies first: a token without mcp/read is refused for every tool.
  const std::string send_only = m2m_token("mcp%2Fsend");
  auto r = post(send_only, tool_call(1, "send"));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.header("WWW-Authenticate").find("scope=\"mcp/read\""), std::string::npos) << r.header("WWW-Authenticate");
}

}  // namespace
}  // namespace idp::auth

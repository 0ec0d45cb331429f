// MCP sessions belong to the identity that opened them. Two users of one BearerAuth-protected
// server, with real tokens from the local Cognito-compatible identity provider: bob presenting
// alice's session id on POST, GET (also with Last-Event-ID) and DELETE gets exactly the 404 of
// an unknown session, and alice's session goes on as if nothing happened. The binding includes
// the client id: alice signed in through another app client is another caller.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>

#include "idp/auth/bearer_auth.h"
#include "idp/auth/local_cognito.h"
#include "idp/core/json_util.h"
#include "idp/http/server.h"
#include "idp/mcp/client.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"
#include "raw_http.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;
using boost::asio::awaitable;
using Hdrs = std::vector<std::pair<std::string, std::string>>;

bj::object cognito(auth::LocalCognito& idp, std::string_view op, const bj::object& body) {
  auto r = idp.handle("AWSCognitoIdentityProviderService." + std::string(op), bj::serialize(body));
  auto v = ::idp::json::parse(r.body);
  EXPECT_EQ(r.status, 200) << op << ": " << r.body;
  return v && v->is_object() ? v->get_object() : bj::object{};
}

class McpSessionBinding : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("idp-binding-{}", ::getpid());
    std::filesystem::remove_all(dir_);
    idp_ = std::make_unique<auth::LocalCognito>(dir_.string());
    idp_http_ = std::make_unique<http::Server>(http::ServerOptions{});
    idp_->attach(*idp_http_);
    auto idp_port = idp_http_->start();
    ASSERT_TRUE(idp_port);
    idp_->set_issuer_base(fmt::format("http://127.0.0.1:{}", *idp_port));
    pool_ = std::string(
        cognito(*idp_, "CreateUserPool", {{"PoolName", "p"}}).at("UserPool").at("Id").as_string());
    app_ = new_client("agents");
    other_app_ = new_client("other");
    for (std::string user : {"alice", "bob"}) {
      cognito(*idp_, "AdminCreateUser",
              {{"UserPoolId", pool_}, {"Username", user}, {"TemporaryPassword", "Temp0rary!"}});
      cognito(*idp_, "AdminSetUserPassword",
              {{"UserPoolId", pool_},
               {"Username", user},
               {"Password", "Passw0rd!Lab"},
               {"Permanent", true}});
    }

    server_ = std::make_unique<Server>();
    Tool whoami;
    whoami.name = "whoami";
    ASSERT_TRUE(server_->add_tool(
        whoami, [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
          co_return CallToolResult::text(ctx.identity().subject);
        }));
    auth::BearerAuthOptions ao;
    ao.rules.issuer = idp_->issuer(pool_);
    ao.rules.client_ids = {app_, other_app_};
    auth_ = std::make_unique<auth::BearerAuth>(ao);
    http_ = std::make_unique<http::Server>(http::ServerOptions{});
    StreamableHttpOptions mo;
    mo.authenticate = auth_->authenticator();
    transport_ = std::make_unique<StreamableHttpServer>(*server_, mo);
    transport_->attach(*http_);
    auto port = http_->start();
    ASSERT_TRUE(port);
    port_ = *port;
  }
  void TearDown() override {
    http_->stop();
    http_->wait();
    idp_http_->stop();
    idp_http_->wait();
    std::filesystem::remove_all(dir_);
  }

  std::string new_client(std::string name) {
    auto c = cognito(*idp_, "CreateUserPoolClient", {{"UserPoolId", pool_}, {"ClientName", name}});
    return std::string(c.at("UserPoolClient").at("ClientId").as_string());
  }

  std::string sign_in(const std::string& user, const std::string& client_id) {
    auto tokens =
        cognito(*idp_, "InitiateAuth",
                {{"AuthFlow", "USER_PASSWORD_AUTH"},
                 {"ClientId", client_id},
                 {"AuthParameters", bj::object{{"USERNAME", user}, {"PASSWORD", "Passw0rd!Lab"}}}});
    return std::string(tokens.at("AuthenticationResult").at("AccessToken").as_string());
  }

  // The headers of a 2025-11-25 request by the holder of `token`, in `session`.
  static Hdrs as(const std::string& token, const std::string& session = {}) {
    Hdrs h = {{"Content-Type", "application/json"},
              {"Accept", "application/json, text/event-stream"},
              {"Authorization", "Bearer " + token}};
    if (!session.empty()) {
      h.emplace_back("Mcp-Session-Id", session);
      h.emplace_back("MCP-Protocol-Version", "2025-11-25");
    }
    return h;
  }

  std::string initialize(const std::string& token) {
    auto r = test::request(
        port_, "POST", "/mcp", as(token),
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",
                               "capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    EXPECT_EQ(r.status, 200) << r.body;
    std::string session = r.header("Mcp-Session-Id");
    auto n = test::request(port_, "POST", "/mcp", as(token, session),
                           R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    EXPECT_EQ(n.status, 202) << n.body;
    return session;
  }

  test::RawResponse call_whoami(const std::string& token, const std::string& session) {
    return test::request(
        port_, "POST", "/mcp", as(token, session),
        R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami"}})");
  }

  std::filesystem::path dir_;
  std::unique_ptr<auth::LocalCognito> idp_;
  std::unique_ptr<http::Server> idp_http_, http_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<auth::BearerAuth> auth_;
  std::unique_ptr<StreamableHttpServer> transport_;
  std::string pool_, app_, other_app_;
  std::uint16_t port_ = 0;
};

TEST_F(McpSessionBinding, AnotherIdentityGetsTheUnknownSession404AndTheOwnerGoesOn) {
  const std::string alice = sign_in("alice", app_);
  const std::string bob = sign_in("bob", app_);
  const std::string session = initialize(alice);
  ASSERT_FALSE(session.empty());
  auto mine = call_whoami(alice, session);
  ASSERT_EQ(mine.status, 200) << mine.body;

  // What any caller gets for a session that does not exist: the reference answer.
  auto unknown = call_whoami(bob, "no-such-session");
  ASSERT_EQ(unknown.status, 404) << unknown.body;

  auto post = call_whoami(bob, session);
  EXPECT_EQ(post.status, 404);
  EXPECT_EQ(post.body, unknown.body) << "bob must not learn that the session exists";

  Hdrs get_headers = as(bob, session);
  get_headers.emplace_back("Accept", "text/event-stream");
  auto get = test::request(port_, "GET", "/mcp", get_headers, "");
  EXPECT_EQ(get.status, 404) << get.body;
  EXPECT_EQ(get.body, unknown.body);
  get_headers.emplace_back("Last-Event-ID", "g_0");
  auto replay = test::request(port_, "GET", "/mcp", get_headers, "");
  EXPECT_EQ(replay.status, 404) << replay.body;
  EXPECT_EQ(replay.body, unknown.body);

  auto del = test::request(port_, "DELETE", "/mcp", as(bob, session), "");
  EXPECT_EQ(del.status, 404) << del.body;
  EXPECT_EQ(del.body, unknown.body);

  // Alice's session is untouched: her calls, her stream and her DELETE work.
  EXPECT_EQ(transport_->session_count(), 1u);
  auto again = call_whoami(alice, session);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.body, mine.body);
  test::RawConnection stream(port_);
  Hdrs alice_get = as(alice, session);
  alice_get.emplace_back("Accept", "text/event-stream");
  stream.send("GET", "/mcp", alice_get, "");
  EXPECT_EQ(stream.read_until("retry:").status, 200);
  stream.close();
  EXPECT_EQ(test::request(port_, "DELETE", "/mcp", as(alice, session), "").status, 200);
  EXPECT_EQ(transport_->session_count(), 0u);
}

TEST_F(McpSessionBinding, TheSameUserThroughAnotherAppClientIsAnotherCaller) {
  const std::string session = initialize(sign_in("alice", app_));
  auto elsewhere = call_whoami(sign_in("alice", other_app_), session);
  EXPECT_EQ(elsewhere.status, 404) << elsewhere.body;
  EXPECT_EQ(call_whoami(sign_in("alice", app_), session).status, 200)
      << "a fresh token of the same app client is the same caller";
}

// The SDK's own client, as alice, keeps working while bob probes her session id.
TEST_F(McpSessionBinding, TheOwnersClientIsUnaffected) {
  const std::string alice = sign_in("alice", app_);
  const std::string bob = sign_in("bob", app_);
  boost::asio::io_context ioc;
  std::string out;
  boost::asio::co_spawn(
      ioc,
      [&]() -> awaitable<void> {
        ClientOptions o;
        o.listen = false;
        o.protocol_era = ProtocolEra::kLegacy;
        o.token_provider = std::make_shared<StaticTokenProvider>(Secret(alice));
        Client c(ioc.get_executor(), fmt::format("http://127.0.0.1:{}/mcp", port_), o);
        auto ok = co_await c.connect();
        if (!ok) {
          out = ok.error().message();
          co_return;
        }
        const std::string session = c.session_id();
        auto probe =
            call_whoami(bob, session);  // blocking, from the client's thread: fine in a test
        auto del = test::request(port_, "DELETE", "/mcp", as(bob, session), "");
        bj::object none;
        auto r = co_await c.call_tool("whoami", std::move(none));
        out =
            fmt::format("{} {} {} {}", probe.status, del.status,
                        r ? std::string(r->content.at(0).at("text").as_string()).size() > 0 : false,
                        c.session_id() == session ? "same-session" : "new-session");
        co_await c.close();
      },
      boost::asio::detached);
  ioc.run();
  EXPECT_EQ(out, "404 404 true same-session");
}

}  // namespace
}  // namespace idp::mcp

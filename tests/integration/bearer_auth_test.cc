// An MCP server protected by BearerAuth, with tokens from the local Cognito-compatible identity
// provider: the whole seed flow (sign in with USER_PASSWORD_AUTH, call with Authorization:
// Bearer, the server verifies against the pool's JWKS) and its failures as a client sees them.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "../lib/run_coroutine.h"
#include "idp/auth/bearer_auth.h"
#include "idp/auth/cognito.h"
#include "idp/auth/local_cognito.h"
#include "idp/core/json_util.h"
#include "idp/mcp/client.h"
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

class BearerAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("idp-bearer-{}", ::getpid());
    std::filesystem::remove_all(dir_);
    idp_ = std::make_unique<LocalCognito>(dir_.string());
    idp_->set_clock(clock_);
    idp_http_ = std::make_unique<http::Server>(http::ServerOptions{});
    idp_->attach(*idp_http_);
    auto idp_port = idp_http_->start();
    ASSERT_TRUE(idp_port);
    idp_->set_issuer_base(fmt::format("http://127.0.0.1:{}", *idp_port));

    pool_ = std::string(call(*idp_, "CreateUserPool", {{"PoolName", "p"}}).at("UserPool").at("Id").as_string());
    client_id_ = std::string(call(*idp_, "CreateUserPoolClient", {{"UserPoolId", pool_}, {"ClientName", "agents"}})
                                 .at("UserPoolClient").at("ClientId").as_string());
    call(*idp_, "AdminCreateUser", {{"UserPoolId", pool_}, {"Username", "alice"}, {"TemporaryPassword", "Temp0rary!"}});
    call(*idp_, "AdminSetUserPassword",
         {{"UserPoolId", pool_}, {"Username", "alice"}, {"Password", "Passw0rd!Lab"}, {"Permanent", true}});
    auto tokens = call(*idp_, "InitiateAuth",
                       {{"AuthFlow", "USER_PASSWORD_AUTH"},
                        {"ClientId", client_id_},
                        {"AuthParameters", bj::object{{"USERNAME", "alice"}, {"PASSWORD", "Passw0rd!Lab"}}}});
    access_ = std::string(tokens.at("AuthenticationResult").at("AccessToken").as_string());
    id_token_ = std::string(tokens.at("AuthenticationResult").at("IdToken").as_string());

    server_ = std::make_unique<mcp::Server>();
    mcp::Tool whoami;
    whoami.name = "whoami";
    ASSERT_TRUE(server_->add_tool(whoami, [](const bj::object&, mcp::ToolContext& ctx) -> awaitable<mcp::CallToolResult> {
      co_return mcp::CallToolResult::text(ctx.identity().subject + " via " +
                                          std::string(ctx.identity().claims.at("client_id").as_string()));
    }));
    BearerAuthOptions ao;
    ao.rules.issuer = idp_->issuer(pool_);
    ao.rules.client_ids = {client_id_};
    ao.scopes_supported = {"aws.cognito.signin.user.admin"};
    ao.clock = clock_;
    auth_ = std::make_unique<BearerAuth>(ao);
    mcp_http_ = std::make_unique<http::Server>(http::ServerOptions{});
    mcp::StreamableHttpOptions mo;
    mo.authenticate = auth_->authenticator();
    transport_ = std::make_unique<mcp::StreamableHttpServer>(*server_, mo);
    transport_->attach(*mcp_http_);
    auth_->serve_metadata(*mcp_http_);
    auto port = mcp_http_->start();
    ASSERT_TRUE(port);
    port_ = *port;
    url_ = fmt::format("http://127.0.0.1:{}/mcp", port_);
  }
  void TearDown() override {
    mcp_http_->stop();
    mcp_http_->wait();
    idp_http_->stop();
    idp_http_->wait();
    std::filesystem::remove_all(dir_);
  }

  // Alice's sign-in at the local identity provider.
  CognitoConfig alice() const {
    return CognitoConfig{.user_pool_id = pool_, .client_id = client_id_, .username = "alice",
                         .password = Secret("Passw0rd!Lab"),
                         .endpoint = fmt::format("http://127.0.0.1:{}/", idp_http_->port())};
  }

  std::string call_whoami(std::optional<std::string> token) {
    boost::asio::io_context ioc;
    std::string out;
    boost::asio::co_spawn(ioc, [&]() -> awaitable<void> {
      mcp::ClientOptions o;
      o.listen = false;
      if (token) o.token_provider = std::make_shared<mcp::StaticTokenProvider>(Secret(*token));
      mcp::Client c(ioc.get_executor(), url_, o);
      auto ok = co_await c.connect();
      if (!ok) {
        out = ok.error().message();
        co_return;
      }
      bj::object none;
      auto r = co_await c.call_tool("whoami", std::move(none));
      out = r ? std::string(r->content.at(0).at("text").as_string()) : r.error().message();
      co_await c.close();
    }, boost::asio::detached);
    ioc.run();
    return out;
  }

  // The identity provider's and the server's time; it moves only when a test advances it.
  std::shared_ptr<ManualTime> clock_ = std::make_shared<ManualTime>();
  std::filesystem::path dir_;
  std::unique_ptr<LocalCognito> idp_;
  std::unique_ptr<http::Server> idp_http_, mcp_http_;
  std::unique_ptr<mcp::Server> server_;
  std::unique_ptr<BearerAuth> auth_;
  std::unique_ptr<mcp::StreamableHttpServer> transport_;
  std::string pool_, client_id_, access_, id_token_, url_;
  std::uint16_t port_ = 0;
};

TEST_F(BearerAuthTest, AValidAccessTokenReachesTheToolWithItsIdentity) {
  auto text = call_whoami(access_);
  EXPECT_NE(text.find(" via " + client_id_), std::string::npos) << text;
  EXPECT_EQ(call_whoami(access_), text);  // the second call is served from the verified cache
  EXPECT_GE(auth_->stats().cache_hits, 1u);
  EXPECT_EQ(auth_->stats().jwks_fetches, 1u);
}

TEST_F(BearerAuthTest, NoTokenIs401WithResourceMetadata) {
  auto r = test::request(port_, "POST", "/mcp",
                         {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}},
                         R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("WWW-Authenticate"),
            fmt::format("Bearer resource_metadata=\"http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp\"", port_));
  auto err = call_whoami(std::nullopt);
  EXPECT_NE(err.find("HTTP 401: the server requires a bearer token and none was sent"), std::string::npos) << err;
  EXPECT_NE(err.find("WWW-Authenticate: Bearer resource_metadata="), std::string::npos) << err;
}

TEST_F(BearerAuthTest, AnIdTokenOrAForgedTokenIsRejected) {
  auto r = test::request(port_, "POST", "/mcp",
                         {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"},
                          {"Authorization", "Bearer " + id_token_}},
                         R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.header("WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos);
  std::string forged = access_;
  forged[forged.find('.') + 5] ^= 1;  // flip a payload character
  auto f = call_whoami(forged);
  EXPECT_NE(f.find("HTTP 401: the server rejected the bearer token; WWW-Authenticate: Bearer error=\"invalid_token\""),
            std::string::npos) << f;
}

TEST_F(BearerAuthTest, ProtectedResourceMetadataNamesThePool) {
  for (std::string path : {"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"}) {
    auto r = test::request(port_, "GET", path, {}, "");
    ASSERT_EQ(r.status, 200) << path;
    auto doc = ::idp::json::parse(r.body);
    ASSERT_TRUE(doc);
    EXPECT_EQ(doc->at("resource").as_string(), url_);
    EXPECT_EQ(doc->at("authorization_servers").at(0).as_string(), idp_->issuer(pool_));
    EXPECT_EQ(doc->at("scopes_supported").at(0).as_string(), "aws.cognito.signin.user.admin");
  }
  // And the pool's discovery document names the same issuer as the tokens.
  auto disc = test::request(idp_http_->port(), "GET", "/" + pool_ + "/.well-known/openid-configuration", {}, "");
  EXPECT_EQ(disc.status, 200);
  EXPECT_EQ(::idp::json::parse(disc.body)->at("issuer").as_string(), idp_->issuer(pool_));
}


// Starts `n` copies of `body` at once on `ex` and returns when all have finished.
awaitable<void> all_at_once(boost::asio::any_io_executor ex, int n, std::function<awaitable<void>()> body) {
  int done = 0;
  boost::asio::steady_timer all(ex, std::chrono::steady_clock::time_point::max());
  for (int i = 0; i < n; ++i) {
    boost::asio::co_spawn(ex, [&]() -> awaitable<void> {
      co_await body();
      if (++done == n) all.cancel();
    }, boost::asio::detached);
  }
  co_await all.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
}

TEST_F(BearerAuthTest, CognitoTokenProviderSignsInOnceForManyCallersAndRefreshes) {
  CognitoConfig cfg = alice();
  auto report = test::run_coroutine<std::string>([&](boost::asio::any_io_executor ex) -> awaitable<std::string> {
    auto provider = std::make_shared<CognitoTokenProvider>(ex, cfg);
    // Eight concurrent callers: one sign-in.
    int good = 0;
    co_await all_at_once(ex, 8, [&]() -> awaitable<void> {
      auto t = co_await provider->token(false);
      good += t && t->reveal().starts_with("ey");
    });
    // The MCP client uses it; then a 401-style refresh uses the refresh token.
    mcp::ClientOptions o;
    o.listen = false;
    o.token_provider = provider;
    mcp::Client c(ex, url_, o);
    auto ok = co_await c.connect();
    bj::object none;
    auto r = co_await c.call_tool("whoami", std::move(none));
    co_await c.close();
    auto again = co_await provider->token(true);
    auto s = provider->stats();
    co_return fmt::format("{}/8 sign_ins={} refreshes={} call={} refreshed={}", good, s.sign_ins, s.refreshes,
                          ok && r ? "ok" : "failed", again ? "ok" : again.error().message());
  });
  EXPECT_EQ(report, "8/8 sign_ins=1 refreshes=1 call=ok refreshed=ok");
}

// Issue 4's refresh acceptance: access tokens that live 5 s, 30 s of tool calls (one every
// 100 ms of the shared clock) through one client: no call fails, one sign-in, the rest are
// refreshes (proactive, before expiry).
TEST_F(BearerAuthTest, FiveSecondTokensThroughAThirtySecondStreamOfCalls) {
  idp_->set_token_lifetime(std::chrono::seconds(5));
  CognitoConfig cfg = alice();
  auto report = test::run_coroutine<std::string>([&](boost::asio::any_io_executor ex) -> awaitable<std::string> {
    auto provider = std::make_shared<CognitoTokenProvider>(ex, cfg, http::ClientOptions{},
                                                           std::chrono::seconds(120), clock_);
    mcp::ClientOptions o;
    o.listen = false;
    o.token_provider = provider;
    mcp::Client c(ex, url_, o);
    auto ok = co_await c.connect();
    if (!ok) co_return ok.error().message();
    int calls = 0;
    int failures = 0;
    std::string first_failure;
    for (int i = 0; i < 300; ++i) {
      bj::object none;
      auto r = co_await c.call_tool("whoami", std::move(none));
      ++calls;
      if (!r || r->is_error) {
        if (failures++ == 0) first_failure = r ? "isError" : r.error().message();
      }
      clock_->advance(std::chrono::milliseconds(100));
    }
    co_await c.close();
    auto s = provider->stats();
    co_return fmt::format("calls={} failures={} {} sign_ins={} refreshes>=6:{}", calls, failures,
                          first_failure, s.sign_ins, s.refreshes >= 6);
  });
  EXPECT_EQ(report, "calls=300 failures=0  sign_ins=1 refreshes>=6:true");
}

// 50 agents' first calls at once share one provider: exactly one InitiateAuth.
TEST_F(BearerAuthTest, FiftyConcurrentFirstCallsSignInOnce) {
  CognitoConfig cfg = alice();
  auto report = test::run_coroutine<std::string>([&](boost::asio::any_io_executor ex) -> awaitable<std::string> {
    auto provider = std::make_shared<CognitoTokenProvider>(ex, cfg);
    int good = 0;
    co_await all_at_once(ex, 50, [&]() -> awaitable<void> {
      mcp::ClientOptions o;
      o.listen = false;
      o.token_provider = provider;
      mcp::Client c(ex, url_, o);
      auto ok = co_await c.connect();
      if (ok) {
        bj::object none;
        auto r = co_await c.call_tool("whoami", std::move(none));
        good += r && !r->is_error;
        co_await c.close();
      }
    });
    auto s = provider->stats();
    co_return fmt::format("{}/50 sign_ins={} refreshes={}", good, s.sign_ins, s.refreshes);
  });
  EXPECT_EQ(report, "50/50 sign_ins=1 refreshes=0");
}

TEST_F(BearerAuthTest, CognitoErrorsTellTheOperatorWhatToDo) {
  call(*idp_, "AdminCreateUser", {{"UserPoolId", pool_}, {"Username", "bob"}, {"TemporaryPassword", "Temp0rary!"}});
  auto secret_client = call(*idp_, "CreateUserPoolClient",
                            {{"UserPoolId", pool_}, {"ClientName", "secret"}, {"GenerateSecret", true}});
  std::string sc_id(secret_client.at("UserPoolClient").at("ClientId").as_string());
  std::string sc_secret(secret_client.at("UserPoolClient").at("ClientSecret").as_string());
  std::string endpoint = fmt::format("http://127.0.0.1:{}/", idp_http_->port());
  auto attempt = [&](CognitoConfig cfg) {
    return test::run_coroutine<std::string>([&](boost::asio::any_io_executor ex) -> awaitable<std::string> {
      CognitoClient client(ex);
      auto t = co_await client.sign_in(cfg);
      if (!t) co_return t.error().message();
      auto again = co_await client.refresh(cfg, *t->refresh_token, t->subject);
      co_return again ? "ok" : "refresh: " + again.error().message();
    });
  };
  CognitoConfig base{.user_pool_id = pool_, .client_id = client_id_, .username = "alice",
                     .password = Secret("wrong-password"), .endpoint = endpoint};
  auto wrong = attempt(base);
  EXPECT_NE(wrong.find("Cognito rejected the username or password of user 'alice' of pool " + pool_),
            std::string::npos) << wrong;
  EXPECT_EQ(wrong.find("wrong-password"), std::string::npos) << "the password leaked";
  CognitoConfig temp = base;
  temp.username = "bob";
  temp.password = Secret("Temp0rary!");
  EXPECT_NE(attempt(temp).find("has a temporary password and must set a new one"), std::string::npos);
  CognitoConfig no_hash = base;
  no_hash.client_id = sc_id;
  no_hash.password = Secret("Passw0rd!Lab");
  EXPECT_NE(attempt(no_hash).find("set cognito_client_secret"), std::string::npos) << attempt(no_hash);
  CognitoConfig with_hash = no_hash;
  with_hash.client_secret = Secret(sc_secret);
  EXPECT_EQ(attempt(with_hash), "ok");  // sign-in and refresh (SECRET_HASH over the sub)
  CognitoConfig bad_client = base;
  bad_client.client_id = "nope";
  EXPECT_NE(attempt(bad_client).find("does not know app client nope"), std::string::npos);
}

TEST(Cognito, RegionComesFromThePoolId) {
  EXPECT_EQ(region_of_pool("eu-west-1_AbC123").value(), "eu-west-1");
  EXPECT_FALSE(region_of_pool("AbC123"));
  // HMAC-SHA256 over username + client id, base64.
  EXPECT_EQ(secret_hash("alice", "client", Secret("key")).size(), 44u);
  EXPECT_NE(secret_hash("alice", "client", Secret("key")), secret_hash("bob", "client", Secret("key")));
}

}  // namespace
}  // namespace idp::auth

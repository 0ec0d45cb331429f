// McpOAuthProvider against a protected resource and an authorization server served in the test
// (one http::Server, the documents changed per test): client credentials with the auth method
// the server offers, the resource parameter and the challenge's scope, the token cached and
// fetched again when refused, a refresh token used before expiry, the step-up limit, and bad metadata refused with an error that
// names it before any token request.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "idp/auth/mcp_oauth.h"
#include "idp/http/server.h"

namespace idp::auth {
namespace {

using boost::asio::awaitable;

class McpOAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<http::Server>(http::ServerOptions{});
    server_->route("GET", "/.well-known/oauth-protected-resource/mcp",
                   [this](const http::Request&, http::Responder& res) -> awaitable<void> {
                     co_await res.send(document(prm_));
                   });
    server_->route("GET", "/.well-known/oauth-authorization-server/as",
                   [this](const http::Request&, http::Responder& res) -> awaitable<void> {
                     co_await res.send(document(as_));
                   });
    server_->route("POST", "/as/token", [this](const http::Request& req, http::Responder& res) -> awaitable<void> {
      ++token_requests_;
      {
        std::lock_guard lock(mu_);
        last_token_body_ = std::string(req.body());
      }
      const int n = token_requests_.load();
      std::string refresh = refresh_tokens_ ? fmt::format(R"(,"refresh_token":"rt-{}")", n) : "";
      co_await res.send(http::Response::json(
          200, fmt::format(R"({{"access_token":"tok-{}","token_type":"Bearer","expires_in":{}{}}})", n,
                           expires_in_.load(), refresh)));
    });
    auto port = server_->start();
    ASSERT_TRUE(port);
    base_ = fmt::format("http://127.0.0.1:{}", *port);
    prm_ = fmt::format(R"({{"resource":"{0}/mcp","authorization_servers":["{0}/as"]}})", base_);
    as_ = fmt::format(
        R"({{"issuer":"{0}/as","token_endpoint":"{0}/as/token","token_endpoint_auth_methods_supported":["client_secret_post"],"grant_types_supported":["client_credentials"]}})",
        base_);
  }
  void TearDown() override {
    server_->stop();
    server_->wait();
  }

  http::Response document(const std::string& text) {
    std::lock_guard lock(mu_);
    if (text.starts_with("redirect:")) {
      http::Response r = http::Response::empty(302);
      r.headers.add("Location", text.substr(9));
      return r;
    }
    return http::Response::json(200, text);
  }

  McpOAuthConfig m2m() const {
    McpOAuthConfig c;
    c.grant = McpOAuthConfig::Grant::kClientCredentials;
    c.client_id = "agent";
    c.client_secret = Secret("s3cret");
    return c;
  }

  // Runs `body` with a provider for <base>/mcp on a fresh io_context.
  template <class F>
  void with_provider(McpOAuthConfig config, F body) {
    boost::asio::io_context ioc;
    auto p = std::make_shared<McpOAuthProvider>(ioc.get_executor(), base_ + "/mcp", std::move(config));
    bool done = false;
    boost::asio::co_spawn(ioc, body(p), [&](std::exception_ptr e) {
      done = !e;
    });
    ioc.run();
    EXPECT_TRUE(done);
  }

  std::string challenge() const {
    return fmt::format(R"(Bearer resource_metadata="{}/.well-known/oauth-protected-resource/mcp", scope="tools:read")", base_);
  }

  std::string last_body() {
    std::lock_guard lock(mu_);
    return last_token_body_;
  }

  // The error message of one challenge, or "" when a token came back.
  std::string refusal() {
    std::string message;
    with_provider(m2m(), [&](std::shared_ptr<McpOAuthProvider> p) -> awaitable<void> {
      auto t = co_await p->on_challenge(401, challenge());
      message = t ? "" : t.error().message();
    });
    return message;
  }

  std::unique_ptr<http::Server> server_;
  std::string base_;
  std::mutex mu_;
  std::string prm_, as_, last_token_body_;
  std::atomic<int> token_requests_{0};
  std::atomic<int> expires_in_{3600};
  std::atomic<bool> refresh_tokens_{false};
};

TEST_F(McpOAuthTest, ClientCredentialsWithTheOfferedAuthMethodResourceAndChallengeScope) {
  with_provider(m2m(), [&](std::shared_ptr<McpOAuthProvider> p) -> awaitable<void> {
    auto before = co_await p->token(false);
    EXPECT_TRUE(before && before->empty()) << "no token before the server asks for one";
    auto t = co_await p->on_challenge(401, challenge());
    EXPECT_TRUE(t) << (t ? "" : t.error().message());
    if (t) {
      EXPECT_EQ(t->reveal(), "tok-1");
    }
    auto cached = co_await p->token(false);
    EXPECT_TRUE(cached && cached->reveal() == "tok-1");
    auto again = co_await p->token(true);  // the server refused it: a new grant
    EXPECT_TRUE(again && again->reveal() == "tok-2");
  });
  EXPECT_EQ(token_requests_.load(), 2);
  std::string body = last_body();
  EXPECT_NE(body.find("grant_type=client_credentials"), std::string::npos) << body;
  EXPECT_NE(body.find("client_id=agent&client_secret=s3cret"), std::string::npos) << body;
  EXPECT_NE(body.find("scope=tools%3Aread"), std::string::npos) << body;
  EXPECT_NE(body.find("resource=" + std::string("http%3A%2F%2F127.0.0.1")), std::string::npos) << body;
}

TEST_F(McpOAuthTest, ATokenAboutToExpireIsRefreshedWithTheRefreshToken) {
  expires_in_ = 30;  // inside the provider's 60 s margin: due for refresh at once
  refresh_tokens_ = true;
  with_provider(m2m(), [&](std::shared_ptr<McpOAuthProvider> p) -> awaitable<void> {
    auto t = co_await p->on_challenge(401, challenge());
    EXPECT_TRUE(t && t->reveal() == "tok-1");
    auto next = co_await p->token(false);
    EXPECT_TRUE(next && next->reveal() == "tok-2") << (next ? next->reveal() : next.error().message());
  });
  std::string body = last_body();
  EXPECT_NE(body.find("grant_type=refresh_token&refresh_token=rt-1"), std::string::npos) << body;
  EXPECT_NE(body.find("resource="), std::string::npos) << body;
}

TEST_F(McpOAuthTest, StepUpStopsAfterTheLimitForTheSameScopes) {
  auto config = m2m();
  config.max_step_ups = 2;
  std::string last_error;
  with_provider(config, [&](std::shared_ptr<McpOAuthProvider> p) -> awaitable<void> {
    auto first = co_await p->on_challenge(401, challenge());
    EXPECT_TRUE(first);
    std::string more = R"(Bearer error="insufficient_scope", scope="tools:write")";
    for (int i = 0; i < 3; ++i) {
      auto r = co_await p->on_challenge(403, more);
      if (!r) last_error = r.error().message();
    }
    auto other = co_await p->on_challenge(403, R"(Bearer error="invalid_token")");
    EXPECT_FALSE(other) << "a 403 that is not insufficient_scope is final";
  });
  EXPECT_EQ(token_requests_.load(), 3);  // the 401, then two step-ups
  EXPECT_NE(last_error.find("insufficient_scope for \"tools:read tools:write\""), std::string::npos) << last_error;
  EXPECT_NE(last_body().find("scope=tools%3Aread+tools%3Awrite"), std::string::npos) << last_body();
}

TEST_F(McpOAuthTest, RefusesAResourceThatIsNotTheServer) {
  prm_ = fmt::format(R"({{"resource":"https://evil.example.com/mcp","authorization_servers":["{}/as"]}})", base_);
  std::string e = refusal();
  EXPECT_NE(e.find("names the resource \"https://evil.example.com/mcp\""), std::string::npos) << e;
  EXPECT_EQ(token_requests_.load(), 0);
}

TEST_F(McpOAuthTest, RefusesMetadataWithoutATokenEndpoint) {
  as_ = fmt::format(R"({{"issuer":"{}/as"}})", base_);
  std::string e = refusal();
  EXPECT_NE(e.find("has no \"token_endpoint\""), std::string::npos) << e;
  EXPECT_NE(e.find("/.well-known/oauth-authorization-server/as"), std::string::npos) << e;
}

TEST_F(McpOAuthTest, RefusesAPlainHttpEndpointOfARemoteHost) {
  as_ = fmt::format(R"({{"issuer":"{}/as","token_endpoint":"http://idp.example/token"}})", base_);
  std::string e = refusal();
  EXPECT_NE(e.find("\"token_endpoint\" must use https://"), std::string::npos) << e;
  EXPECT_EQ(token_requests_.load(), 0);
}

TEST_F(McpOAuthTest, RefusesAnIssuerThatIsNotTheAuthorizationServer) {
  as_ = fmt::format(R"({{"issuer":"https://idp.example/as","token_endpoint":"{}/as/token"}})", base_);
  std::string e = refusal();
  EXPECT_NE(e.find("names the issuer \"https://idp.example/as\""), std::string::npos) << e;
  EXPECT_EQ(token_requests_.load(), 0);
}

TEST_F(McpOAuthTest, RefusesMetadataBehindARedirect) {
  prm_ = "redirect:https://elsewhere.example/prm";
  std::string e = refusal();
  EXPECT_NE(e.find("protected resource metadata"), std::string::npos) << e;
  EXPECT_NE(e.find("HTTP 302 (a redirect)"), std::string::npos) << e;
  EXPECT_EQ(token_requests_.load(), 0);
}

TEST_F(McpOAuthTest, AGivenTokenEndpointSkipsTheAuthorizationServerMetadata) {
  as_ = "redirect:https://elsewhere.example/as";  // refused if it were read
  auto config = m2m();
  config.token_endpoint = base_ + "/as/token";
  with_provider(config, [&](std::shared_ptr<McpOAuthProvider> p) -> awaitable<void> {
    auto t = co_await p->on_challenge(401, challenge());
    EXPECT_TRUE(t && t->reveal() == "tok-1") << (t ? "" : t.error().message());
  });
  EXPECT_EQ(token_requests_.load(), 1);
  // The protected resource's metadata still names the resource.
  EXPECT_NE(last_body().find("resource=http%3A%2F%2F127.0.0.1"), std::string::npos) << last_body();
}

TEST_F(McpOAuthTest, RefusesAnAuthorizationServerAtTheMetadataAddress) {
  // A server that steers discovery at the cloud metadata service gets nothing fetched there.
  prm_ = fmt::format(R"({{"resource":"{}/mcp","authorization_servers":["https://169.254.169.254/latest"]}})",
                     base_);
  std::string e = refusal();
  EXPECT_NE(e.find("169.254.169.254, the cloud instance metadata address"), std::string::npos) << e;
  EXPECT_EQ(token_requests_.load(), 0);
}

}  // namespace
}  // namespace idp::auth

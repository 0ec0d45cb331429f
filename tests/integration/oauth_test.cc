// The OAuth client-credentials token provider against a token endpoint served in the test:
// client_secret_basic and client_secret_post, one fetch for concurrent callers, a new token
// after a 401, and errors that say what to check.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "idp/auth/oauth.h"
#include "idp/core/random.h"
#include "idp/http/server.h"

namespace idp::auth {
namespace {

using boost::asio::awaitable;

class OAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<http::Server>(http::ServerOptions{});
    server_->route("POST", "/token", [this](const http::Request& req, http::Responder& res) -> awaitable<void> {
      ++requests_;
      std::string body(req.body());
      std::string auth(req.header("Authorization").value_or(""));
      bool basic_ok = auth == "Basic " + base64_encode("agent:s3cr%2Bt");  // secret "s3cr+t"
      bool post_ok = body.find("client_id=agent&client_secret=s3cr%2Bt") != std::string::npos;
      http::Response r;
      if (body.find("grant_type=client_credentials") == std::string::npos) {
        r = http::Response::json(400, R"({"error":"unsupported_grant_type"})");
      } else if (!basic_ok && !post_ok) {
        r = http::Response::json(401, R"({"error":"invalid_client","error_description":"bad secret"})");
      } else {
        r = http::Response::json(200, fmt::format(R"({{"access_token":"tok-{}","token_type":"Bearer","expires_in":3600}})",
                                                  requests_.load()));
      }
      co_await res.send(std::move(r));
    });
    auto port = server_->start();
    ASSERT_TRUE(port);
    url_ = fmt::format("http://127.0.0.1:{}/token", *port);
  }
  void TearDown() override {
    server_->stop();
    server_->wait();
  }

  template <class F>
  std::string run(F body) {
    boost::asio::io_context ioc;
    std::string out;
    boost::asio::co_spawn(ioc, [&]() -> awaitable<void> { out = co_await body(ioc.get_executor()); },
                          boost::asio::detached);
    ioc.run();
    return out;
  }

  std::unique_ptr<http::Server> server_;
  std::string url_;
  std::atomic<int> requests_{0};
};

TEST_F(OAuthTest, OneFetchForManyCallersAndANewTokenAfterA401) {
  auto report = run([&](boost::asio::any_io_executor ex) -> awaitable<std::string> {
    ClientCredentialsConfig cfg{.token_url = url_, .client_id = "agent", .client_secret = Secret("s3cr+t"),
                                .scope = "mcp/tools"};
    auto p = std::make_shared<ClientCredentialsTokenProvider>(ex, cfg);
    int done = 0;
    std::set<std::string> seen;
    boost::asio::steady_timer all(ex, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < 6; ++i) {
      boost::asio::co_spawn(ex, [&, p]() -> awaitable<void> {
        auto t = co_await p->token(false);
        if (t) seen.insert(t->reveal());
        if (++done == 6) all.cancel();
      }, boost::asio::detached);
    }
    co_await all.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    auto again = co_await p->token(true);  // the server said 401
    co_return fmt::format("{} distinct, {} fetches, after 401: {}", seen.size(), p->fetches(),
                          again ? again->reveal() : again.error().message());
  });
  EXPECT_EQ(report, "1 distinct, 2 fetches, after 401: tok-2");
}

TEST_F(OAuthTest, PostAuthAndClearErrors) {
  auto post = run([&](boost::asio::any_io_executor ex) -> awaitable<std::string> {
    ClientCredentialsConfig cfg{.token_url = url_, .client_id = "agent", .client_secret = Secret("s3cr+t"),
                                .client_auth = ClientCredentialsConfig::ClientAuth::kPost};
    ClientCredentialsTokenProvider p(ex, cfg);
    auto t = co_await p.token(false);
    co_return t ? std::string(t->reveal().substr(0, 4)) : t.error().message();
  });
  EXPECT_EQ(post, "tok-");
  auto wrong = run([&](boost::asio::any_io_executor ex) -> awaitable<std::string> {
    ClientCredentialsConfig cfg{.token_url = url_, .client_id = "agent", .client_secret = Secret("nope")};
    ClientCredentialsTokenProvider p(ex, cfg);
    auto t = co_await p.token(false);
    co_return t ? "accepted" : t.error().message();
  });
  EXPECT_NE(wrong.find("refused the client credentials: invalid_client: bad secret (check the client id"),
            std::string::npos) << wrong;
  EXPECT_EQ(wrong.find("nope"), std::string::npos) << "the secret leaked";
  auto insecure = run([&](boost::asio::any_io_executor ex) -> awaitable<std::string> {
    ClientCredentialsConfig cfg{.token_url = "http://auth.example.com/token", .client_id = "a",
                                .client_secret = Secret("b")};
    ClientCredentialsTokenProvider p(ex, cfg);
    auto t = co_await p.token(false);
    co_return t ? "fetched" : t.error().message();
  });
  EXPECT_EQ(insecure,
            "OAuth token endpoint must use https:// (got http:// to auth.example.com; plain "
            "http:// is allowed only for loopback hosts: localhost, 127.0.0.0/8, [::1])");
  EXPECT_EQ(form_encode("a b+c/é"), "a+b%2Bc%2F%C3%A9");
}

}  // namespace
}  // namespace idp::auth

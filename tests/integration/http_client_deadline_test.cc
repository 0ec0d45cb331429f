// idp::http::Client's step deadlines on one long-lived timer per connection (src/http/
// client_watch.h), against our own idp::http::Server on loopback: a deadline passes at its time
// on a connection whose timer is already armed by the requests before, a long wait within one
// step is not cut short by the timer's wake-ups, and a connection back in the pool does not keep
// io_context::run() going (every request below returns through run()).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "idp/core/cancel.h"
#include "idp/core/cancel_wait.h"
#include "idp/http/client.h"
#include "idp/http/server.h"

namespace idp::http {
namespace {

namespace net = boost::asio;
using net::awaitable;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using namespace net::experimental::awaitable_operators;

template <class T>
T run(net::io_context& ioc, awaitable<T> a) {
  auto fut = net::co_spawn(ioc, std::move(a), net::use_future);
  ioc.restart();
  ioc.run();
  return fut.get();
}

// Ends a server wait that would otherwise hang; the tests never wait for it.
constexpr milliseconds kEventGuard{20'000};

class HttpClientDeadline : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(ServerOptions{});
    server_->route("GET", "/hello", [](const Request&, Responder& res) -> awaitable<void> {
      Response r = Response::text(200, "hello");
      co_await res.send(std::move(r));
    });
    // Answers once `answer_` fires (or at the guard).
    server_->route("GET", "/slow",
                   [answer = answer_](const Request&, Responder& res) -> awaitable<void> {
                     net::steady_timer guard(co_await net::this_coro::executor, kEventGuard);
                     auto fired = wait_cancelled(answer);
                     auto timed_out = guard.async_wait(net::use_awaitable);
                     co_await (std::move(fired) || std::move(timed_out));
                     Response r = Response::text(200, "late");
                     co_await res.send(std::move(r));
                   });
    auto port = server_->start();
    ASSERT_TRUE(port) << port.error().message();
    base_ = "http://127.0.0.1:" + std::to_string(*port);
  }
  void TearDown() override {
    answer_->cancel();
    server_->stop();
  }
  static ClientOptions options(milliseconds read_timeout) {
    ClientOptions o;
    o.use_env_proxy = false;
    o.read_timeout = read_timeout;
    return o;
  }
  Result<ClientResponse> get(Client& c, const std::string& path,
                             std::optional<milliseconds> timeout = std::nullopt) {
    ClientRequest r;
    r.url = base_ + path;
    r.timeout = timeout;
    return run(ioc_, c.request(std::move(r)));
  }
  // Requests in a row on one keep-alive connection: its timer is armed when the next begins.
  void warm_up(Client& c) {
    for (int i = 0; i < 20; ++i) {
      auto r = get(c, "/hello");
      ASSERT_TRUE(r) << r.error().message();
    }
    ASSERT_EQ(c.stats().connections_opened, 1u);
  }

  net::io_context ioc_;
  std::unique_ptr<Server> server_;
  std::string base_;
  std::shared_ptr<CancelSignal> answer_ = std::make_shared<CancelSignal>();
};

TEST_F(HttpClientDeadline, ReadTimeoutOnAConnectionThatServedRequestsBefore) {
  Client c(ioc_.get_executor(), options(milliseconds(200)));
  warm_up(c);
  const auto start = Clock::now();
  auto r = get(c, "/slow");
  const auto waited = Clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout) << r.error().message();
  EXPECT_NE(r.error().message().find("timed out after 200 ms"), std::string::npos)
      << r.error().message();
  EXPECT_GE(waited, milliseconds(200));  // not early: the timer armed before is not the deadline
  EXPECT_EQ(c.stats().connections_opened, 1u);  // it was the warm connection
  // The timed-out connection is gone; the next request gets a new one.
  auto again = get(c, "/hello");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(c.stats().connections_opened, 2u);
}

TEST_F(HttpClientDeadline, TotalTimeoutOnAConnectionThatServedRequestsBefore) {
  Client c(ioc_.get_executor(), options(milliseconds(60'000)));
  warm_up(c);
  const auto start = Clock::now();
  auto r = get(c, "/slow", milliseconds(300));
  const auto waited = Clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout) << r.error().message();
  EXPECT_NE(r.error().message().find("total timeout of 300 ms"), std::string::npos)
      << r.error().message();
  EXPECT_GE(waited, milliseconds(300));
}

TEST_F(HttpClientDeadline, ALongWaitWithinTheReadTimeoutIsNotCutShort) {
  Client c(ioc_.get_executor(), options(milliseconds(10'000)));
  warm_up(c);
  // The answer comes 150 ms into the wait: the connection's timer wakes several times before
  // (at 2, 4, 8 ... ms) and must find the deadline still ahead each time.
  net::steady_timer later(ioc_, milliseconds(150));
  later.async_wait([answer = answer_](const boost::system::error_code&) { answer->cancel(); });
  auto r = get(c, "/slow");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->body, "late");
  EXPECT_EQ(c.stats().connections_opened, 1u);
  // The connection is still good for the next request.
  auto again = get(c, "/hello");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(c.stats().connections_opened, 1u);
}

}  // namespace
}  // namespace idp::http

// idp::http::Server limits and lifecycle, seen from a client.
#include <gtest/gtest.h>

#include <thread>

#include "idp/http/server.h"
#include "raw_http.h"

namespace idp::http {
namespace {

using boost::asio::awaitable;

class HttpServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions opt) {
    server_ = std::make_unique<Server>(opt);
    server_->route("GET", "/hello", [](const Request& req, Responder& res) -> awaitable<void> {
      Response r = Response::text(200, "hello " + std::string(req.query()));
      co_await res.send(std::move(r));
    });
    server_->route("POST", "/echo", [](const Request& req, Responder& res) -> awaitable<void> {
      Response r = Response::text(200, std::string(req.body()));
      co_await res.send(std::move(r));
    });
    server_->route("GET", "/stream", [](const Request&, Responder& res) -> awaitable<void> {
      Response head;
      head.headers.add("Content-Type", "text/event-stream");
      co_await res.start_stream(std::move(head));
      for (int i = 0; i < 3; ++i) {
        std::string chunk = "data: " + std::to_string(i) + "\n\n";
        co_await res.write(chunk);
      }
    });
    server_->route("GET", "/throw", [](const Request&, Responder&) -> awaitable<void> {
      throw std::runtime_error("boom");
      co_return;
    });
    auto port = server_->start();
    ASSERT_TRUE(port) << port.error().message();
    port_ = *port;
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start({});
  test::RawConnection c(port_);
  for (int i = 0; i < 3; ++i) {
    c.send("GET", "/hello?n=" + std::to_string(i), {}, "");
    auto r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello n=" + std::to_string(i));
  }
}

TEST_F(HttpServerTest, StreamedResponsesAreChunkedAndComplete) {
  start({});
  auto r = test::request(port_, "GET", "/stream", {}, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r.body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

TEST_F(HttpServerTest, AThrowingHandlerIs500AndTheServerGoesOn) {
  start({});
  auto r = test::request(port_, "GET", "/throw", {}, "");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("trace"), std::string::npos);
  EXPECT_EQ(test::request(port_, "GET", "/hello", {}, "").status, 200);
}

TEST_F(HttpServerTest, UnknownPathAndMethod) {
  start({});
  EXPECT_EQ(test::request(port_, "GET", "/nope", {}, "").status, 404);
  auto r = test::request(port_, "DELETE", "/hello", {}, "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET");
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  start({});
  test::RawConnection c(port_);
  c.send_raw("GARBAGE\r\n\r\n");
  EXPECT_EQ(c.read().status, 400);
}

TEST_F(HttpServerTest, MaxConnectionsTurnsTheNextOneAway) {
  ServerOptions opt;
  opt.max_connections = 2;
  start(opt);
  test::RawConnection a(port_), b(port_);
  a.send("GET", "/hello", {}, "");
  b.send("GET", "/hello", {}, "");
  EXPECT_EQ(a.read().status, 200);
  EXPECT_EQ(b.read().status, 200);
  test::RawConnection c(port_);
  c.send("GET", "/hello", {}, "");
  auto r = c.read();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("too many connections"), std::string::npos);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionsAreClosed) {
  ServerOptions opt;
  opt.idle_timeout = std::chrono::milliseconds(200);
  start(opt);
  test::RawConnection c(port_);
  c.send("GET", "/hello", {}, "");
  EXPECT_EQ(c.read().status, 200);
  EXPECT_TRUE(c.closed_by_peer());  // blocks until the server closes it (or a 10 s guard)
}

TEST_F(HttpServerTest, SlowHeadersTimeOut) {
  ServerOptions opt;
  opt.header_timeout = std::chrono::milliseconds(200);
  start(opt);
  test::RawConnection c(port_);
  c.send_raw("GET /hello HTTP/1.1\r\nHost: x\r\n");  // never finishes the header
  EXPECT_TRUE(c.closed_by_peer());  // blocks until the server closes it (or a 10 s guard)
}

TEST_F(HttpServerTest, ListeningOnABadAddressIsAClearError) {
  ServerOptions opt;
  opt.host = "not-an-ip";
  Server s(opt);
  auto r = s.start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("'not-an-ip' is not an IP address"), std::string::npos);
}

}  // namespace
}  // namespace idp::http

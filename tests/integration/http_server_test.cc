// idp::http::Server limits and lifecycle, seen from a client.
#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "idp/http/server.h"
#include "raw_http.h"

namespace idp::http {
namespace {

using boost::asio::awaitable;

// Streams 64 KiB chunks until a write fails, then sets `cut`.
awaitable<void> flood(Responder& res, test::Event& cut) {
  Response head;
  head.headers.add("Content-Type", "application/octet-stream");
  co_await res.start_stream(std::move(head));
  const std::string chunk(64 * 1024, 'x');
  for (;;) {
    bool written = co_await res.write(chunk);
    if (!written) break;
  }
  cut.set();
}

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
    server_->route("GET", "/thread", [](const Request&, Responder& res) -> awaitable<void> {
      Response r = Response::text(
          200, std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())));
      co_await res.send(std::move(r));
    });
    server_->route("GET", "/created", [](const Request&, Responder& res) -> awaitable<void> {
      Response r = Response::json(201, R"({"ok":true})");
      r.headers.add("X-Trace", "t-1");
      co_await res.send(std::move(r));
    });
    server_->route("GET", "/injected", [](const Request&, Responder& res) -> awaitable<void> {
      Response r = Response::text(200, "body");
      r.headers.add("X-Bad", "a\r\nX-Injected: yes");
      co_await res.send(std::move(r));
    });
    // Answers "name=value;" for each of a fixed list of fields, found in one pass.
    server_->route("GET", "/fields", [](const Request& req, Responder& res) -> awaitable<void> {
      static const HeaderNames kNames{"Host", "Accept", "X-Custom", "X-Missing", "Mcp-Name"};
      std::array<std::optional<std::string_view>, 5> found;
      req.find_headers(kNames, found);
      const char* names[] = {"Host", "Accept", "X-Custom", "X-Missing", "Mcp-Name"};
      std::string out;
      for (std::size_t i = 0; i < found.size(); ++i) {
        out += std::string(names[i]) + "=" + std::string(found[i].value_or("(none)")) + ";";
        // The same answer as one header() lookup per name.
        if (found[i] != req.header(names[i])) out += "MISMATCH;";
      }
      co_await res.send(Response::text(200, out));
    });
    server_->route("GET", "/flood", [this](const Request&, Responder& res) {
      return flood(res, flood_cut_);
    });
    server_->route("GET", "/throw", [](const Request&, Responder&) -> awaitable<void> {
      throw std::runtime_error("boom");
      co_return;
    });
    auto port = server_->start();
    ASSERT_TRUE(port) << port.error().message();
    port_ = *port;
  }
  // Starts with that drain linger (and a long grace), serves one request on a keep-alive
  // connection, then stops the server; returns the connection, idle.
  std::unique_ptr<test::RawConnection> stop_with_an_idle_connection(
      std::chrono::milliseconds linger) {
    ServerOptions opt;
    opt.drain_idle_linger = linger;
    opt.shutdown_grace = std::chrono::seconds(60);
    start(opt);
    auto c = std::make_unique<test::RawConnection>(port_);
    c->send("GET", "/hello?n=1", {}, "");
    EXPECT_EQ(c->read().status, 200);
    server_->stop();
    return c;
  }
  // Sends `bytes` (an unfinished request) on a new connection; true once the server closes it
  // (RawConnection's 10 s guard bounds a failure).
  bool closed_after_sending(const std::string& bytes) {
    test::RawConnection c(port_);
    c.send_raw(bytes);
    return c.closed_by_peer();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  test::Event flood_cut_;  // declared before the server, which outlives its handlers
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

// find_headers: registered names (Host, Accept) and others, any case, the first of repeated
// fields, nothing for a missing one.
TEST_F(HttpServerTest, SeveralFieldsAreFoundInOnePass) {
  start(ServerOptions{});
  test::RawConnection c(port_);
  c.send("GET", "/fields",
         {{"accept", "text/plain"},
          {"x-CUSTOM", "first"},
          {"X-Custom", "second"},
          {"MCP-NAME", "add"}},
         "");
  auto r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Host=127.0.0.1:" + std::to_string(port_) +
                        ";Accept=text/plain;X-Custom=first;X-Missing=(none);Mcp-Name=add;");
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
  EXPECT_TRUE(closed_after_sending("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // header unfinished
}

TEST_F(HttpServerTest, SlowBodiesTimeOut) {
  ServerOptions opt;
  opt.body_timeout = std::chrono::milliseconds(200);
  start(opt);
  // The header is complete; the body stops after 3 of its 10 bytes.
  EXPECT_TRUE(
      closed_after_sending("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
}

// A client that stops reading: the server's write waits on a full socket buffer until the write
// timeout ends it.
TEST_F(HttpServerTest, AClientThatStopsReadingIsCutOffAfterTheWriteTimeout) {
  ServerOptions opt;
  opt.write_timeout = std::chrono::milliseconds(200);
  start(opt);
  test::RawConnection c(port_);
  c.send("GET", "/flood", {}, "");
  EXPECT_TRUE(flood_cut_.wait(std::chrono::seconds(20)));  // a bound only a failure reaches
}

// A plain (Content-Length) answer: status line, the handler's fields, framing and keep-alive
// as HTTP/1.0 and HTTP/1.1 clients expect them.
TEST_F(HttpServerTest, PlainAnswersAreFramedForTheClientsVersion) {
  start({});
  test::RawConnection c(port_);
  c.send("GET", "/created", {}, "");
  auto r = c.read();
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, R"({"ok":true})");
  EXPECT_EQ(r.header("content-length"), "11");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("x-trace"), "t-1");
  EXPECT_EQ(r.header("connection"), "");

  // HTTP/1.1 with Connection: close: the answer says so and the server closes.
  c.send("GET", "/hello", {{"Connection", "close"}}, "");
  r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());

  // HTTP/1.0 asking for keep-alive: the answer confirms it and the connection stays usable.
  test::RawConnection d(port_);
  for (int i = 0; i < 2; ++i) {
    d.send_raw("GET /hello?v=10 HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    r = d.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello v=10");
    EXPECT_EQ(r.header("connection"), "keep-alive");
  }
}

// A field value with CR LF from a handler never splits into a second field on the wire.
TEST_F(HttpServerTest, AFieldValueCannotInjectAField) {
  start({});
  test::RawConnection c(port_);
  c.send("GET", "/injected", {}, "");
  auto r = c.read();
  EXPECT_EQ(r.header("x-injected"), "");
}

TEST_F(HttpServerTest, ListeningOnABadAddressIsAClearError) {
  ServerOptions opt;
  opt.host = "not-an-ip";
  Server s(opt);
  auto r = s.start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("'not-an-ip' is not an IP address"), std::string::npos);
}

// Shared-nothing threads: the single acceptor hands connections to the threads in turn, and every
// request of a connection is handled on the thread that got it.
TEST_F(HttpServerTest, ConnectionsAreSpreadOverTheThreadsAndStayOnOne) {
  ServerOptions opt;
  opt.threads = 2;
  start(opt);
  std::vector<std::unique_ptr<test::RawConnection>> conns;
  std::set<std::string> threads;
  for (int i = 0; i < 4; ++i) {
    auto& c = conns.emplace_back(std::make_unique<test::RawConnection>(port_));
    std::string first;
    for (int k = 0; k < 3; ++k) {
      c->send("GET", "/thread", {}, "");
      auto r = c->read();
      ASSERT_EQ(r.status, 200);
      if (k == 0) first = r.body;
      EXPECT_EQ(r.body, first) << "connection " << i << " moved to another thread";
    }
    threads.insert(first);
  }
  EXPECT_EQ(threads.size(), 2u);
  server_->stop();
  for (auto& c : conns) EXPECT_TRUE(c->closed_by_peer());  // idle ones are closed on stop
}

// A reverse proxy may send a request on an idle keep-alive connection just as stop() begins; the
// connection stays open for drain_idle_linger so that the request is answered (with
// "Connection: close", the proxy then goes elsewhere) instead of lost, while new connections are
// refused. The drain ends as soon as that connection is gone, not at the linger's end.
TEST_F(HttpServerTest, ARequestOnAnIdleConnectionDuringTheDrainIsAnsweredThenClosed) {
  auto conn = stop_with_an_idle_connection(std::chrono::seconds(60));
  auto& c = *conn;
  c.send("GET", "/hello?n=2", {}, "");
  auto r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello n=2");
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_THROW(test::RawConnection refused(port_), std::exception);
  server_->wait();  // returns once the last connection closed (a hang here is the failure)
}

// With no linger, idle connections are closed as soon as stop() begins.
TEST_F(HttpServerTest, WithoutALingerIdleConnectionsCloseWhenTheDrainBegins) {
  auto c = stop_with_an_idle_connection(std::chrono::milliseconds(0));
  EXPECT_TRUE(c->closed_by_peer());
  server_->wait();
}

// reuse_port: one SO_REUSEPORT acceptor per thread on one port; all of them serve, and stop()
// closes every one of them.
TEST_F(HttpServerTest, ReusePortAcceptorsServeOnOnePort) {
  ServerOptions opt;
  opt.threads = 3;
  opt.reuse_port = true;
  start(opt);
  for (int i = 0; i < 12; ++i) {
    auto r = test::request(port_, "GET", "/hello?n=" + std::to_string(i), {}, "");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello n=" + std::to_string(i));
  }
  server_->stop();
  server_->wait();
}

// Without reuse_port the port stays exclusive: a second server on it is a clear error.
TEST_F(HttpServerTest, ASecondServerOnTheSamePortIsRefused) {
  ServerOptions opt;
  opt.threads = 2;
  start(opt);
  ServerOptions again;
  again.port = port_;
  again.threads = 2;
  Server second(again);
  auto r = second.start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("cannot listen on 127.0.0.1:" + std::to_string(port_)),
            std::string::npos)
      << r.error().message();
}

}  // namespace
}  // namespace idp::http

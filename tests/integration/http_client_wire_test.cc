// idp::http::Client against scripted responses on a raw socket: what the response parser hands
// on (an interim 1xx response's fields are not the answer's; a stream stopped by its callback
// gets no more body) and the fixed fields of a request (sent once each, before the request's own).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <string>
#include <thread>
#include <vector>

#include "idp/http/client.h"

namespace idp::http {
namespace {

namespace net = boost::asio;
using net::awaitable;

// Accepts one connection, reads one request head (a GET's: no body), records it, writes
// `response` and closes the connection.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::string response)
      : acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}), response_(std::move(response)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() { thread_.join(); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // The request head as received (valid once the client's call returned).
  const std::string& request() const { return request_; }

 private:
  void serve() {
    net::ip::tcp::socket s(ioc_);
    boost::system::error_code ec;
    acceptor_.accept(s, ec);
    if (ec) return;
    char ch;
    while (request_.find("\r\n\r\n") == std::string::npos) {
      if (net::read(s, net::buffer(&ch, 1), ec) != 1) return;
      request_ += ch;
    }
    net::write(s, net::buffer(response_), ec);
    s.shutdown(net::ip::tcp::socket::shutdown_both, ec);
  }

  net::io_context ioc_;
  net::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::string response_;
  std::string request_;
  std::thread thread_;
};

template <class T>
T run(awaitable<T> a) {
  net::io_context ioc;
  auto fut = net::co_spawn(ioc, std::move(a), net::use_future);
  ioc.run();
  return fut.get();
}

TEST(HttpClientWire, AnInterimResponsesFieldsAreNotTheAnswers) {
  ScriptedServer server(
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
  auto r = run([&]() -> awaitable<Result<ClientResponse>> {
    // (The executor first: GCC 12 mishandles a temporary with state, here the default
    // options, in a full-expression that holds a co_await; docs/architecture.md.)
    auto ex = co_await net::this_coro::executor;
    Client client(ex);
    ClientRequest req;
    req.url = server.url("/x");
    auto got = co_await client.request(std::move(req));
    co_return got;
  }());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(r->headers.get("Content-Type").value_or(""), "text/plain");
  EXPECT_FALSE(r->headers.get("Link"));
  EXPECT_EQ(r->headers.items().size(), 2u);
}

TEST(HttpClientWire, AStreamStoppedByItsCallbackGetsNoMoreBody) {
  ScriptedServer server(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nfirst\r\n6\r\nsecond\r\n5\r\nthird\r\n0\r\n\r\n");
  std::vector<std::string> chunks;
  int head_status = 0;
  auto r = run([&]() -> awaitable<Result<int>> {
    // (The executor first: GCC 12 mishandles a temporary with state, here the default
    // options, in a full-expression that holds a co_await; docs/architecture.md.)
    auto ex = co_await net::this_coro::executor;
    Client client(ex);
    ClientRequest req;
    req.url = server.url("/stream");
    auto got = co_await client.stream(
        std::move(req), [&](const ClientResponse& head) { head_status = head.status; },
        [&](std::string_view chunk) {
          chunks.emplace_back(chunk);
          return false;  // enough
        });
    co_return got;
  }());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 200);
  EXPECT_EQ(head_status, 200);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], "first");
}

TEST(HttpClientWire, FixedFieldsGoOutOnceBeforeTheRequestsOwn) {
  ScriptedServer server("HTTP/1.1 204 No Content\r\n\r\n");
  Headers common;
  common.add("Accept", "application/json");
  common.add("X-Common", "1");
  auto fixed = FixedFields::make(common);
  ASSERT_TRUE(fixed) << fixed.error().message();
  auto r = run([&]() -> awaitable<Result<ClientResponse>> {
    // (The executor first: GCC 12 mishandles a temporary with state, here the default
    // options, in a full-expression that holds a co_await; docs/architecture.md.)
    auto ex = co_await net::this_coro::executor;
    Client client(ex);
    ClientRequest req;
    req.url = server.url("/f");
    req.fixed = *fixed;
    req.headers.add("X-Own", "2");
    auto got = co_await client.request(std::move(req));
    co_return got;
  }());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 204);
  const std::string& head = server.request();
  const std::string block = "\r\nAccept: application/json\r\nX-Common: 1\r\n";
  const auto common_at = head.find(block);
  const auto own_at = head.find("\r\nX-Own: 2\r\n");
  ASSERT_NE(common_at, std::string::npos) << head;
  ASSERT_NE(own_at, std::string::npos) << head;
  EXPECT_LT(common_at, own_at);
  EXPECT_EQ(head.find("X-Common", common_at + block.size()), std::string::npos) << head;
}

TEST(HttpClientWire, FixedFieldsThatWouldBreakTheFramingAreRefused) {
  Headers bad;
  bad.add("X-Bad", "a\r\nInjected: 1");
  auto fixed = FixedFields::make(bad);
  ASSERT_FALSE(fixed);
  EXPECT_EQ(fixed.error().code(), ErrorCode::kInvalidArgument);
  Headers bad_name;
  bad_name.add("Bad Name", "x");
  EXPECT_FALSE(FixedFields::make(bad_name));
}

}  // namespace
}  // namespace idp::http

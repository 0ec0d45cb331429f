// idp::http::Client against our own idp::http::Server on loopback: round trips, keep-alive,
// limits, timeouts, streaming, TLS, proxies, and redirects left to the caller.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "idp/core/cancel.h"
#include "idp/core/cancel_wait.h"
#include "idp/http/client.h"
#include "idp/http/server.h"
#include "idp/http/sse_parser.h"
#include "raw_http.h"

namespace idp::http {
namespace {

namespace net = boost::asio;
using net::awaitable;
using std::chrono::milliseconds;
using namespace net::experimental::awaitable_operators;

// Runs one coroutine on a fresh io_context of the test thread and returns its result.
template <class T>
T run(net::io_context& ioc, awaitable<T> a) {
  auto fut = net::co_spawn(ioc, std::move(a), net::use_future);
  ioc.restart();
  ioc.run();
  return fut.get();
}

// Test servers wait for what the test does next, never for a fixed time; this only ends a
// wait that would otherwise hang.
constexpr milliseconds kEventGuard{20'000};

awaitable<void> wait_for(std::shared_ptr<CancelSignal> signal) {
  net::steady_timer guard(co_await net::this_coro::executor, kEventGuard);
  auto fired = wait_cancelled(std::move(signal));
  auto timed_out = guard.async_wait(net::use_awaitable);
  co_await (std::move(fired) || std::move(timed_out));
}

// A self-signed certificate (EC P-256) for `names` ("DNS:localhost,IP:127.0.0.1").
struct TempCert {
  std::filesystem::path dir;
  std::string cert, key;
  bool ok = false;
  explicit TempCert(const std::string& names, const std::string& tag) {
    dir = std::filesystem::temp_directory_path() /
          ("idp-client-test-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                      "-keyout " + key + " -out " + cert + " -days 2 -subj /CN=idp-test "
                      "-addext subjectAltName=" + names + " >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0;
  }
  ~TempCert() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

// `hang_up`: /slow answers only once it fires (the test's end); `sse_first_seen`: the client
// got the first event of /sse.
void add_routes(Server& s, std::shared_ptr<CancelSignal> hang_up,
                std::shared_ptr<CancelSignal> sse_first_seen) {
  s.route("GET", "/hello", [](const Request& req, Responder& res) -> awaitable<void> {
    Response r = Response::text(200, "hello " + std::string(req.query()));
    r.headers.add("X-Echo", std::string(req.header("X-Test").value_or("")));
    r.headers.add("X-Agent", std::string(req.header("User-Agent").value_or("")));
    co_await res.send(std::move(r));
  });
  s.route("POST", "/echo", [](const Request& req, Responder& res) -> awaitable<void> {
    Response r = Response::json(201, std::string(req.body()));
    r.headers.add("X-Method", std::string(req.method()));
    co_await res.send(std::move(r));
  });
  s.route("GET", "/big", [](const Request&, Responder& res) -> awaitable<void> {
    Response r = Response::text(200, std::string(4096, 'x'));
    co_await res.send(std::move(r));
  });
  s.route("GET", "/slow", [hang_up](const Request&, Responder& res) -> awaitable<void> {
    co_await wait_for(hang_up);
    Response r = Response::text(200, "late");
    co_await res.send(std::move(r));
  });
  s.route("GET", "/redirect", [](const Request&, Responder& res) -> awaitable<void> {
    Response r = Response::empty(302);
    r.headers.add("Location", "/hello");
    co_await res.send(std::move(r));
  });
  s.route("GET", "/sse", [sse_first_seen](const Request&, Responder& res) -> awaitable<void> {
    Response head;
    head.headers.add("Content-Type", "text/event-stream");
    co_await res.start_stream(std::move(head));
    std::string first = "id: 1\ndata: first\n\n";
    co_await res.write(first);
    // The second event is only sent once the client has seen the first: proof of streaming.
    co_await wait_for(sse_first_seen);
    std::string second =
        sse_first_seen->cancelled() ? "id: 2\ndata: second\n\n" : "data: too-late\n\n";
    co_await res.write(second);
    co_await res.finish();
  });
}

class HttpClientTest : public ::testing::Test {
 protected:
  void start(ServerOptions opt = {}) {
    server_ = std::make_unique<Server>(opt);
    add_routes(*server_, hang_up_, sse_first_seen_);
    auto port = server_->start();
    ASSERT_TRUE(port) << port.error().message();
    port_ = *port;
    base_ = "http://127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override {
    hang_up_->cancel();
    sse_first_seen_->cancel();
    if (server_) server_->stop();
  }
  ClientOptions plain() {
    ClientOptions o;
    o.use_env_proxy = false;
    return o;
  }
  Result<ClientResponse> get(Client& c, std::string url) {
    ClientRequest r;
    r.url = std::move(url);
    return run(ioc_, c.request(std::move(r)));
  }

  net::io_context ioc_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::string base_;
  std::shared_ptr<CancelSignal> hang_up_ = std::make_shared<CancelSignal>();
  std::shared_ptr<CancelSignal> sse_first_seen_ = std::make_shared<CancelSignal>();
};

TEST_F(HttpClientTest, GetAndPostRoundTrip) {
  start();
  Client c(ioc_.get_executor(), plain());
  ClientRequest get;
  get.url = base_ + "/hello?a=1";
  get.headers.add("X-Test", "yes");
  auto r = run(ioc_, c.request(get));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello a=1");
  EXPECT_EQ(r->headers.get("X-Echo"), "yes");
  EXPECT_EQ(r->headers.get("x-agent"), "idp-agents/0.1");

  ClientRequest post;
  post.method = "POST";
  post.url = base_ + "/echo";
  post.headers.add("Content-Type", "application/json");
  post.body = R"({"x":[1,2,3]})";
  r = run(ioc_, c.request(post));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, post.body);
  EXPECT_EQ(r->headers.get("X-Method"), "POST");
  EXPECT_EQ(r->headers.get("Content-Type"), "application/json");
}

TEST_F(HttpClientTest, LocalhostWorks) {
  start();
  Client c(ioc_.get_executor(), plain());
  auto r = get(c, "http://localhost:" + std::to_string(port_) + "/hello");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->body, "hello ");
}

TEST_F(HttpClientTest, KeepAliveReusesOneConnection) {
  // With room for one connection only, a second one would be turned away with 503.
  ServerOptions opt;
  opt.max_connections = 1;
  start(opt);
  Client c(ioc_.get_executor(), plain());
  for (int i = 0; i < 3; ++i) {
    ClientRequest req;
    req.method = i == 1 ? "POST" : "GET";
    req.url = base_ + (i == 1 ? "/echo" : "/hello");
    req.body = i == 1 ? "b" : "";
    auto r = run(ioc_, c.request(req));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_LT(r->status, 300) << r->body;
  }
  EXPECT_EQ(c.stats().connections_opened, 1u);
  EXPECT_EQ(c.stats().connections_reused, 2u);
}

// The client keeps the last URL it parsed: requests that alternate between URLs (and a bad one
// in between) must each still reach their own server, over that server's pooled connection.
TEST_F(HttpClientTest, RequestsAlternatingBetweenUrlsEachReachTheirOwn) {
  start();
  Server other(ServerOptions{});
  other.route("GET", "/hello", [](const Request& req, Responder& res) -> net::awaitable<void> {
    Response r = Response::text(200, "other " + std::string(req.query()));
    co_await res.send(std::move(r));
  });
  auto other_port = other.start();
  ASSERT_TRUE(other_port) << other_port.error().message();
  const std::string other_base = "http://127.0.0.1:" + std::to_string(*other_port);
  Client c(ioc_.get_executor(), plain());
  for (int i = 0; i < 3; ++i) {
    auto a = get(c, base_ + "/hello?n=" + std::to_string(i));
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(a->body, "hello n=" + std::to_string(i));
    auto bad = get(c, "ftp://127.0.0.1/x");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("unsupported URL scheme 'ftp'"), std::string::npos)
        << bad.error().message();
    auto b = get(c, other_base + "/hello?n=" + std::to_string(i));
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(b->body, "other n=" + std::to_string(i));
  }
  EXPECT_EQ(c.stats().connections_opened, 2u);  // one per server, each reused
  other.stop();
}

TEST_F(HttpClientTest, AConnectionClosedByTheServerIsReplaced) {
  ServerOptions opt;
  opt.idle_timeout = milliseconds(100);
  start(opt);
  Client c(ioc_.get_executor(), plain());
  ASSERT_TRUE(get(c, base_ + "/hello"));
  // A connection opened after the client's went idle: once the server closes it for idleness,
  // it has closed the client's too.
  test::RawConnection probe(port_);
  ASSERT_TRUE(probe.closed_by_peer());
  ClientRequest post;
  post.method = "POST";
  post.url = base_ + "/echo";
  post.body = "again";
  auto r = run(ioc_, c.request(post));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->body, "again");
  EXPECT_EQ(c.stats().connections_opened, 2u);
}

TEST_F(HttpClientTest, ResponseOverTheCapIsResourceExhausted) {
  start();
  ClientOptions o = plain();
  o.max_response_bytes = 1000;
  Client c(ioc_.get_executor(), o);
  auto r = get(c, base_ + "/big");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(r.error().message().find("1000 bytes"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("GET " + base_ + "/big"), std::string::npos);
  // The connection is not reused after that; the next request still works.
  EXPECT_TRUE(get(c, base_ + "/hello"));
}

TEST_F(HttpClientTest, ReadTimeout) {
  start();
  ClientOptions o = plain();
  o.read_timeout = milliseconds(200);
  Client c(ioc_.get_executor(), o);
  auto r = get(c, base_ + "/slow");  // returns although /slow never answers
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout) << r.error().message();
  EXPECT_NE(r.error().message().find("timed out after 200 ms"), std::string::npos)
      << r.error().message();
}

TEST_F(HttpClientTest, TotalTimeoutPerRequest) {
  start();
  Client c(ioc_.get_executor(), plain());
  ClientRequest req;
  req.url = base_ + "/slow";
  req.timeout = milliseconds(300);
  auto r = run(ioc_, c.request(req));  // returns although /slow never answers
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
  EXPECT_NE(r.error().message().find("total timeout of 300 ms"), std::string::npos)
      << r.error().message();
}

TEST_F(HttpClientTest, ConnectionRefusedNamesTheUrl) {
  // A bound socket that does not listen: connections are refused, and the port stays ours.
  net::io_context tmp;
  net::ip::tcp::socket reserved(tmp, {net::ip::make_address("127.0.0.1"), 0});
  const std::uint16_t closed_port = reserved.local_endpoint().port();
  Client c(ioc_.get_executor(), plain());
  std::string url = "http://127.0.0.1:" + std::to_string(closed_port) + "/mcp";
  ClientRequest req;
  req.method = "POST";
  req.url = url;
  auto r = run(ioc_, c.request(req));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message(), "POST " + url + ": connect to 127.0.0.1:" +
                                     std::to_string(closed_port) + " failed: Connection refused");
}

TEST_F(HttpClientTest, BadUrls) {
  Client c(ioc_.get_executor(), plain());
  auto r = get(c, "ftp://example.com/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("unsupported URL scheme 'ftp'"), std::string::npos);
  r = get(c, "not a url");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(HttpClientTest, AMethodOrHeaderThatWouldBreakTheMessageIsRefusedBeforeSending) {
  start();
  Client c(ioc_.get_executor(), plain());
  ClientRequest bad_value;
  bad_value.url = base_ + "/hello";
  bad_value.headers.add("X-Note", "a\r\nX-Injected: 1");
  auto r = run(ioc_, c.request(bad_value));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("header X-Note contains a line break"), std::string::npos)
      << r.error().message();
  ClientRequest bad_name;
  bad_name.url = base_ + "/hello";
  bad_name.headers.add("X Note", "1");
  r = run(ioc_, c.request(bad_name));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("invalid header name 'X Note'"), std::string::npos)
      << r.error().message();
  ClientRequest bad_method;
  bad_method.method = "GET /x HTTP/1.1\r\n";
  bad_method.url = base_ + "/hello";
  r = run(ioc_, c.request(bad_method));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("invalid HTTP method"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(c.stats().connections_opened, 0u);  // nothing reached the server
}

TEST_F(HttpClientTest, AChunkedRequestBodyArrivesWhole) {
  start();
  Client c(ioc_.get_executor(), plain());
  ClientRequest post;
  post.method = "POST";
  post.url = base_ + "/echo";
  post.headers.add("Content-Type", "application/json");
  post.headers.add("Transfer-Encoding", "chunked");
  post.body = R"({"chunked":true,"n":[1,2,3]})";
  auto r = run(ioc_, c.request(post));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, post.body);
  post.body.clear();  // the last chunk alone
  r = run(ioc_, c.request(post));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(c.stats().connections_opened, 1u);  // the framing left the connection reusable
}

TEST_F(HttpClientTest, UnresolvableHostIsUnavailable) {
  Client c(ioc_.get_executor(), plain());
  auto r = get(c, "http://no-such-host.invalid/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable) << r.error().message();
  EXPECT_NE(r.error().message().find("resolve no-such-host.invalid failed"), std::string::npos)
      << r.error().message();
}

TEST_F(HttpClientTest, StreamDeliversChunksBeforeTheEnd) {
  start();
  Client c(ioc_.get_executor(), plain());
  ClientRequest req;
  req.url = base_ + "/sse";
  req.headers.add("Accept", "text/event-stream");
  SseParser parser;
  std::vector<SseEvent> events;
  std::string content_type;
  auto on_head = [&](const ClientResponse& head) {
    content_type = std::string(head.headers.get("Content-Type").value_or(""));
  };
  auto on_chunk = [&](std::string_view chunk) {
    for (auto& e : parser.feed(chunk)) {
      if (e.data == "first") sse_first_seen_->cancel();
      events.push_back(std::move(e));
    }
    return true;
  };
  auto r = run(ioc_, c.stream(req, on_head, on_chunk));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 200);
  EXPECT_EQ(content_type, "text/event-stream");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "first");
  EXPECT_EQ(events[1].data, "second");
  EXPECT_EQ(parser.last_event_id(), "2");
  // The finished stream left a reusable connection.
  EXPECT_TRUE(get(c, base_ + "/hello"));
  EXPECT_EQ(c.stats().connections_opened, 1u);
}

TEST_F(HttpClientTest, StreamStopsWhenTheCallbackSaysSo) {
  start();
  Client c(ioc_.get_executor(), plain());
  ClientRequest req;
  req.url = base_ + "/sse";
  int chunks = 0;
  auto r = run(ioc_, c.stream(req, nullptr, [&](std::string_view) {
    ++chunks;
    return false;
  }));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(chunks, 1);
  sse_first_seen_->cancel();  // let the server handler end
}

TEST_F(HttpClientTest, RedirectIsReturnedNotFollowed) {
  start();
  Client c(ioc_.get_executor(), plain());
  auto r = get(c, base_ + "/redirect");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->headers.get("Location"), "/hello");
}

TEST_F(HttpClientTest, TlsWithTheCaFileAndWithout) {
  TempCert cert("DNS:localhost,IP:127.0.0.1", "ok");
  ASSERT_TRUE(cert.ok) << "openssl CLI failed";
  ServerOptions opt;
  opt.tls_cert_file = cert.cert;
  opt.tls_key_file = cert.key;
  start(opt);
  std::string port = std::to_string(port_);

  ClientOptions o = plain();
  o.ca_file = cert.cert;
  Client trusting(ioc_.get_executor(), o);
  auto r = get(trusting, "https://localhost:" + port + "/hello?tls=1");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->body, "hello tls=1");
  r = get(trusting, "https://127.0.0.1:" + port + "/hello");  // IP SAN
  ASSERT_TRUE(r) << r.error().message();

  Client system_store(ioc_.get_executor(), plain());
  r = get(system_store, "https://localhost:" + port + "/hello");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("TLS handshake with localhost:" + port + " failed"),
            std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
}

TEST_F(HttpClientTest, TlsHostnameMismatchFails) {
  TempCert cert("DNS:other.example", "mismatch");
  ASSERT_TRUE(cert.ok) << "openssl CLI failed";
  ServerOptions opt;
  opt.tls_cert_file = cert.cert;
  opt.tls_key_file = cert.key;
  start(opt);
  ClientOptions o = plain();
  o.ca_file = cert.cert;
  Client c(ioc_.get_executor(), o);
  auto r = get(c, "https://localhost:" + std::to_string(port_) + "/hello");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
}

// A minimal forward proxy: CONNECT tunnels and absolute-form requests, every upstream being
// 127.0.0.1:`upstream_port`. Records the first line of each request it gets.
class TestProxy {
 public:
  explicit TestProxy(std::uint16_t upstream_port)
      : upstream_(upstream_port), acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~TestProxy() {
    stop_ = true;
    // Wake the blocking accept.
    try {
      net::ip::tcp::socket s(ioc_);
      s.connect({net::ip::make_address("127.0.0.1"), port_});
    } catch (...) {
    }
    thread_.join();
    for (auto& t : relays_) t.join();
  }
  std::uint16_t port() const { return port_; }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  using Socket = net::ip::tcp::socket;
  void accept_loop() {
    while (!stop_) {
      auto client = std::make_shared<Socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*client, ec);
      if (ec || stop_) break;
      relays_.emplace_back([this, client] { serve(client); });
    }
  }
  void serve(std::shared_ptr<Socket> client) {
    boost::system::error_code ec;
    std::string head;
    char ch;
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (net::read(*client, net::buffer(&ch, 1), ec) != 1) return;
      head.push_back(ch);
    }
    std::string line = head.substr(0, head.find("\r\n"));
    {
      std::lock_guard lock(mutex_);
      lines_.push_back(line);
    }
    auto upstream = std::make_shared<Socket>(ioc_);
    upstream->connect({net::ip::make_address("127.0.0.1"), upstream_}, ec);
    if (ec) return;
    if (line.starts_with("CONNECT ")) {
      net::write(*client, net::buffer(std::string("HTTP/1.1 200 Connection established\r\n\r\n")), ec);
    } else {
      // "GET http://host:port/path HTTP/1.1" -> "GET /path HTTP/1.1"
      auto scheme = head.find("://");
      auto path = head.find('/', scheme + 3);
      head.erase(head.find(' ') + 1, path - head.find(' ') - 1);
      net::write(*upstream, net::buffer(head), ec);
    }
    std::thread up([client, upstream] { pump(*client, *upstream); });
    pump(*upstream, *client);
    up.join();
  }
  static void pump(Socket& from, Socket& to) {
    std::array<char, 4096> buf;
    boost::system::error_code ec;
    for (;;) {
      std::size_t n = from.read_some(net::buffer(buf), ec);
      if (ec) break;
      net::write(to, net::buffer(buf.data(), n), ec);
      if (ec) break;
    }
    to.shutdown(Socket::shutdown_send, ec);
  }

  std::uint16_t upstream_;
  net::io_context ioc_;
  net::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> relays_;
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

TEST_F(HttpClientTest, HttpThroughAProxyUsesAbsoluteForm) {
  start();
  TestProxy proxy(port_);
  ClientOptions o = plain();
  o.http_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
  {
    Client c(ioc_.get_executor(), o);
    auto r = get(c, "http://upstream.test:8080/hello?p=1");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->body, "hello p=1");
    // Loopback and NO_PROXY hosts bypass the proxy.
    ASSERT_TRUE(get(c, base_ + "/hello"));
  }
  auto lines = proxy.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "GET http://upstream.test:8080/hello?p=1 HTTP/1.1");
}

TEST_F(HttpClientTest, HttpsThroughAProxyUsesConnect) {
  TempCert cert("DNS:upstream.test", "proxy");
  ASSERT_TRUE(cert.ok) << "openssl CLI failed";
  ServerOptions opt;
  opt.tls_cert_file = cert.cert;
  opt.tls_key_file = cert.key;
  start(opt);
  TestProxy proxy(port_);
  ClientOptions o = plain();
  o.ca_file = cert.cert;
  o.https_proxy = "127.0.0.1:" + std::to_string(proxy.port());
  o.no_proxy = "example.com,.internal";
  {
    Client c(ioc_.get_executor(), o);
    auto r = get(c, "https://upstream.test/hello?s=1");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->body, "hello s=1");
    r = get(c, "https://upstream.test/hello?s=2");  // same tunnel, reused
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(c.stats().connections_opened, 1u);
    // NO_PROXY: a direct connection, which fails to resolve.
    r = get(c, "https://svc.internal/x");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("resolve svc.internal"), std::string::npos)
        << r.error().message();
  }
  auto lines = proxy.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "CONNECT upstream.test:443 HTTP/1.1");
}

// Link-local and cloud metadata addresses are refused where the client connects: the addresses
// the system resolver returned are the ones checked, so a number the resolver reads ("2852039166"
// is 169.254.169.254 to getaddrinfo, no DNS asked) or a name that resolves there never reaches
// the socket. Nothing is sent: a server at that address would never see the request.
TEST_F(HttpClientTest, LinkLocalAndMetadataAddressesAreRefusedAtConnect) {
  ClientOptions o = plain();
  o.connect_timeout = std::chrono::milliseconds(300);
  Client c(ioc_.get_executor(), o);
  struct Case {
    const char* url;
    const char* says;
  };
  for (const Case& k : std::initializer_list<Case>{
           {"http://169.254.169.254/latest/meta-data/",
            "connect to 169.254.169.254 refused: 169.254.169.254, the cloud instance metadata"},
           {"http://2852039166/latest/api/token",
            "connect to 2852039166 refused: 2852039166 resolves to 169.254.169.254, the cloud "
            "instance metadata address"},
           {"https://0xa9.0xfea9fe/x", "resolves to 169.254.169.254"},
           {"http://[::ffff:169.254.170.2]/v2/credentials",
            "the AWS ECS container credentials agent"},
           {"http://[fe80::1]:8080/mcp", "a link-local IPv6 address (fe80::/10)"},
       }) {
    auto r = get(c, k.url);
    ASSERT_FALSE(r) << k.url;
    EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied) << r.error().message();
    EXPECT_NE(r.error().message().find(k.says), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("\"allow_link_local\": true"), std::string::npos);
  }
  EXPECT_EQ(c.stats().connections_opened, 0u);

  // Allowed (the AWS credential sources, an entry with allow_link_local): the client tries.
  o.allow_link_local = true;
  Client allowed(ioc_.get_executor(), o);
  auto r = get(allowed, "http://169.254.169.254:9/latest/meta-data/");
  // Whatever answers there (or fails to), it is not the client's refusal.
  if (!r) {
    EXPECT_EQ(r.error().message().find("refused: "), std::string::npos) << r.error().message();
  }
}

// Through a proxy the proxy would resolve the name: the URL's own host is checked before the
// proxy hears of it.
TEST_F(HttpClientTest, LinkLocalHostsAreRefusedBeforeTheProxy) {
  start();
  TestProxy proxy(port_);
  ClientOptions o = plain();
  o.http_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
  {
    Client c(ioc_.get_executor(), o);
    for (const char* url :
         {"http://169.254.169.254/latest/meta-data/",
          "http://metadata.google.internal/computeMetadata/v1/", "http://2852039166/x"}) {
      auto r = get(c, url);
      ASSERT_FALSE(r) << url;
      EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied) << r.error().message();
    }
  }
  EXPECT_TRUE(proxy.lines().empty());
}

}  // namespace
}  // namespace idp::http

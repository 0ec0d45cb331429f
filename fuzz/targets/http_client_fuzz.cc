// Fuzz target: the HTTP client's response path. The input is everything a server sends back on
// one connection (status line, headers, body, possibly interim 1xx responses, then the
// connection closes); a loopback listener in this process sends it to an idp::http::Client that
// asked for a resource. First byte, bit 0: read it with stream() (as the MCP client and the model
// clients read SSE, chunks going into an SseParser) instead of request(); bit 1: a small
// response limit (256 bytes), to reach its error. Checks: a whole response has a status of three
// digits and a body within the limit; a failure is an idp::Error, never an exception.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <string>

#include "fuzz_target.h"
#include "idp/core/log.h"
#include "idp/http/client.h"
#include "idp/http/sse_parser.h"

namespace net = boost::asio;
namespace http = idp::http;
using tcp = net::ip::tcp;

namespace {

struct Fixture {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::string url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/mcp";
};

Fixture& fixture() {
  static Fixture* f = [] {
    idp::log::init(idp::log::Level::kError);
    return new Fixture;
  }();
  return *f;
}

// Accepts one connection, reads the request's head (our client sends no body with GET), sends
// `answer` and closes.
net::awaitable<void> serve_once(tcp::acceptor* acceptor, std::string answer) {
  auto [ec, socket] = co_await acceptor->async_accept(net::as_tuple(net::use_awaitable));
  if (ec) co_return;
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    auto [rec, n] = co_await socket.async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable));
    if (rec) co_return;
    request.append(buf, n);
  }
  co_await net::async_write(socket, net::buffer(answer), net::as_tuple(net::use_awaitable));
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

struct Outcome {
  bool done = false;
};

net::awaitable<void> ask(net::any_io_executor ex, std::string url, unsigned char mode, Outcome* out) {
  http::ClientOptions options;
  options.use_env_proxy = false;
  options.connect_timeout = options.read_timeout = std::chrono::seconds(10);
  options.total_timeout = std::chrono::seconds(20);
  if (mode & 2) options.max_response_bytes = 256;
  http::Client client(ex, options);
  http::ClientRequest req;
  req.url = std::move(url);
  req.headers.add("Accept", "application/json, text/event-stream");
  if (mode & 1) {
    http::SseParser sse;
    int heads = 0;
    auto got = co_await client.stream(
        std::move(req), [&heads](const http::ClientResponse&) { ++heads; },
        [&sse](std::string_view chunk) {
          (void)sse.feed(chunk);
          return !sse.failed();
        });
    if (got) {
      IDP_FUZZ_CHECK(*got >= 100 && *got <= 999);
      IDP_FUZZ_CHECK(heads == 1);
    }
  } else {
    auto got = co_await client.request(std::move(req));
    if (got) {
      IDP_FUZZ_CHECK(got->status >= 100 && got->status <= 999);
      IDP_FUZZ_CHECK(got->body.size() <= options.max_response_bytes);
    } else {
      IDP_FUZZ_CHECK(!got.error().message().empty());
    }
  }
  out->done = true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = fixture();
  auto [mode, answer] = idp::fuzz::take_mode(idp::fuzz::as_text(data, size));
  Outcome outcome;
  f.ioc.restart();
  net::co_spawn(f.ioc, serve_once(&f.acceptor, std::string(answer)), net::detached);
  net::co_spawn(f.ioc, ask(f.ioc.get_executor(), f.url, mode, &outcome), net::detached);
  f.ioc.run();
  IDP_FUZZ_CHECK(outcome.done);
  return 0;
}

// Fuzz target: the HTTP server's request path. The input is the byte stream of one client
// connection (pipelined requests allowed), sent over loopback to an idp::http::Server that
// serves what our servers serve: the MCP Streamable HTTP endpoint in both modes (/mcp with
// sessions, /stateless without), with a tool whose schema has an x-mcp-header parameter, a
// handler that reads every part of the request (/echo) and a streamed (chunked) answer
// (/stream). So the bytes go through Beast's parser, our limits, the router, the MCP transport's
// checks (Host, Origin, protocol version, session, Mcp-* headers), JSON-RPC and the dispatcher.
// Checks: whatever came in, the server answers with an HTTP status line or closes, and its first
// answer is never a 500 (no handler may throw on input).
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>

#include <cstdlib>
#include <string>

#include "fuzz_target.h"
#include "idp/core/log.h"
#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"

namespace net = boost::asio;
namespace http = idp::http;
namespace mcp = idp::mcp;

namespace {

net::awaitable<mcp::CallToolResult> echo_tool(const boost::json::object& arguments,
                                              mcp::ToolContext&) {
  const auto* text = arguments.if_contains("text");
  co_return mcp::CallToolResult::text(text && text->is_string() ? std::string_view(text->as_string())
                                                               : std::string_view("?"));
}

net::awaitable<void> echo_route(const http::Request& req, http::Responder& res) {
  std::string out;
  out.append(req.method()).append(" ").append(req.path()).append("?").append(req.query());
  for (const auto& [name, value] : req.headers()) out.append("\n").append(name).append(": ").append(value);
  if (auto ct = req.header("Content-Type")) out.append("\ntype ").append(*ct);
  out.append("\n").append(req.body());
  co_await res.send(http::Response::text(200, std::move(out)));
}

net::awaitable<void> stream_route(const http::Request& req, http::Responder& res) {
  http::Response head = http::Response::empty(200);
  head.headers.add("Content-Type", "text/event-stream");
  if (!co_await res.start_stream(std::move(head))) co_return;
  std::string event = "data: " + std::string(req.body().substr(0, 64)) + "\n\n";
  if (co_await res.write(event)) co_await res.write(": end\n\n");
  co_await res.finish();
}

struct Fixture {
  Fixture() : http([] {
    http::ServerOptions o;
    o.max_body_bytes = 64 * 1024;
    o.max_header_bytes = 8 * 1024;
    o.header_timeout = o.body_timeout = o.idle_timeout = std::chrono::seconds(5);
    return o;
  }()) {
    mcp::Tool tool;
    tool.name = "echo";
    tool.input_schema = boost::json::parse(R"({"type":"object","properties":{
        "text":{"type":"string","maxLength":100},
        "region":{"type":"string","x-mcp-header":"Region"}},"required":["text"]})").as_object();
    IDP_FUZZ_CHECK(server.add_tool(std::move(tool), echo_tool).has_value());
    mcp::StreamableHttpOptions stateless_options;
    stateless_options.path = "/stateless";
    stateless_options.stateless = true;
    stateful = std::make_unique<mcp::StreamableHttpServer>(server);
    stateless = std::make_unique<mcp::StreamableHttpServer>(server, stateless_options);
    stateful->attach(http);
    stateless->attach(http);
    http.route("*", "/echo", echo_route);
    http.route("POST", "/stream", stream_route);
    auto port = http.start();
    IDP_FUZZ_CHECK(port.has_value());
    endpoint = net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), *port);
  }

  mcp::Server server;
  std::unique_ptr<mcp::StreamableHttpServer> stateful, stateless;
  http::Server http;
  net::ip::tcp::endpoint endpoint;
};

Fixture* g_fixture = nullptr;

// At exit the server stops before static objects it uses go away; the rest stays allocated.
void stop_fixture() {
  g_fixture->http.stop();
  g_fixture->http.wait();
}

Fixture& fixture() {
  // Built once: its thread serves every input of the run.
  if (!g_fixture) {
    idp::log::init(idp::log::Level::kError);
    g_fixture = new Fixture;
    std::atexit(stop_fixture);
  }
  return *g_fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = fixture();
  net::io_context ioc;
  net::ip::tcp::socket socket(ioc);
  boost::system::error_code ec;
  do {
    boost::system::error_code ignored;
    socket.close(ignored);
    socket.connect(f.endpoint, ec);
  } while (ec == net::error::interrupted);
  IDP_FUZZ_CHECK(!ec);
  timeval limit{20, 0};  // a server that neither answers nor closes is a hang, reported as one
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  // libFuzzer's timer signal interrupts blocking calls (EINTR): those are retried.
  for (std::size_t sent = 0; sent < size;) {
    sent += socket.write_some(net::buffer(data + sent, size - sent), ec);
    if (ec && ec != net::error::interrupted) break;  // the server may close early: fine
  }
  socket.shutdown(net::ip::tcp::socket::shutdown_send, ec);
  std::string answer;
  char buf[16 * 1024];
  for (;;) {
    std::size_t n = socket.read_some(net::buffer(buf), ec);
    if (ec == net::error::interrupted) continue;
    if (ec) break;
    answer.append(buf, n);
  }
  if (ec != net::error::eof && ec != net::error::connection_reset) {
    std::fprintf(stderr, "reading the answer failed: %s (%zu bytes came)\n", ec.message().c_str(),
                 answer.size());
    IDP_FUZZ_CHECK(ec == net::error::eof || ec == net::error::connection_reset);
  }
  if (!answer.empty()) {
    IDP_FUZZ_CHECK(answer.starts_with("HTTP/1.1 ") || answer.starts_with("HTTP/1.0 "));
    // Only the first answer's status line: later ones follow bodies that may echo the input
    // (libFuzzer soon learns to write "HTTP/1.1 500" into a header that an error repeats).
    IDP_FUZZ_CHECK(!answer.starts_with("HTTP/1.1 500 ") && !answer.starts_with("HTTP/1.0 500 "));
  }
  return 0;
}

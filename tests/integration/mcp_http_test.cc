// The Streamable HTTP server end to end, in process: every bad input gets its exact status and
// JSON-RPC code with a message that says what is wrong; sessions, SSE, resumption, pagination,
// notifications and the stateless mode behave as the 2025-11-25 specification says.
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "idp/core/json_util.h"
#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"
#include "raw_http.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;
using boost::asio::awaitable;
using test::RawResponse;
using Hdrs = std::vector<std::pair<std::string, std::string>>;

const Hdrs kPost = {{"Content-Type", "application/json"},
                    {"Accept", "application/json, text/event-stream"}};

bj::value body_json(const std::string& s) {
  auto v = ::idp::json::parse(s);
  EXPECT_TRUE(v) << "not JSON: " << s;
  return v ? *v : bj::value();
}

struct Config {
  bool stateless = false;
  std::size_t page_size = 100;
  std::size_t max_body = 4 * 1024 * 1024;
  std::chrono::milliseconds handler_timeout{std::chrono::minutes(5)};
  std::size_t max_subscriptions = 1000;
  std::chrono::milliseconds shutdown_grace{500};
  std::function<void(http::Server&)> extra_routes;
};

class McpHttp : public ::testing::Test {
 protected:
  void start(Config cfg = {}) {
    ServerOptions so;
    so.info = {"test-server", "1.0"};
    so.page_size = cfg.page_size;
    so.handler_timeout = cfg.handler_timeout;
    server_ = std::make_unique<Server>(so);
    Tool add;
    add.name = "add";
    add.description = "Adds two numbers";
    add.input_schema = ::idp::json::parse(R"({"type":"object","properties":{"a":{"type":"number"},
        "b":{"type":"number"}},"required":["a","b"],"additionalProperties":false})")->as_object();
    ASSERT_TRUE(server_->add_tool(add, [](const bj::object& a, ToolContext&) -> awaitable<CallToolResult> {
      co_return CallToolResult::text(
          fmt::format("{}", a.at("a").to_number<double>() + a.at("b").to_number<double>()));
    }));
    Tool progress;
    progress.name = "progress";
    ASSERT_TRUE(server_->add_tool(progress, [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
      ctx.progress(1, 2, "half");
      co_await ctx.sleep(std::chrono::milliseconds(20));
      ctx.progress(2, 2);
      co_return CallToolResult::text("done");
    }));
    Tool slow;
    slow.name = "slow";
    ASSERT_TRUE(server_->add_tool(slow, [this](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
      ctx.progress(0, 1);
      bool finished = co_await ctx.sleep(std::chrono::seconds(20));
      if (!finished) cancelled_.set();
      co_return CallToolResult::text("slept");
    }));
    Tool reconnect;
    reconnect.name = "reconnect";
    ASSERT_TRUE(server_->add_tool(reconnect, [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
      ctx.close_stream();
      co_await ctx.sleep(std::chrono::milliseconds(100));
      co_return CallToolResult::text("after reconnect");
    }));
    Tool logs;
    logs.name = "logs";
    ASSERT_TRUE(server_->add_tool(logs, [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
      ctx.log(LogLevel::kDebug, "debug line");
      ctx.log(LogLevel::kError, bj::object{{"problem", "disk full"}}, "storage");
      co_return CallToolResult::text("logged");
    }));
    Tool pinger;
    pinger.name = "pinger";
    ASSERT_TRUE(server_->add_tool(pinger, [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
      bj::object no_params;
      auto r = co_await ctx.request("ping", std::move(no_params), std::chrono::seconds(5));
      if (!r) co_return CallToolResult::error(r.error().message());
      co_return CallToolResult::text("client answered " + bj::serialize(*r));
    }));
    Tool liar;
    liar.name = "liar";
    liar.output_schema = ::idp::json::parse(
        R"({"type":"object","properties":{"sum":{"type":"number"}},"required":["sum"]})")->as_object();
    ASSERT_TRUE(server_->add_tool(liar, [](const bj::object&, ToolContext&) -> awaitable<CallToolResult> {
      CallToolResult r = CallToolResult::text("sum is five");
      r.structured_content = bj::object{{"sum", "five"}};
      co_return r;
    }));
    Tool boom;
    boom.name = "boom";
    ASSERT_TRUE(server_->add_tool(boom, [](const bj::object&, ToolContext&) -> awaitable<CallToolResult> {
      throw std::runtime_error("database unreachable");
      co_return CallToolResult::text("never");
    }));
    ASSERT_TRUE(server_->add_resource(
        Resource{.uri = "mem://hello", .name = "hello", .mime_type = "text/plain"},
        [](const std::string& uri, ToolContext&) -> awaitable<Result<std::vector<ResourceContents>>> {
          co_return std::vector<ResourceContents>{{uri, "text/plain", "hi", std::nullopt}};
        }));

    http::ServerOptions ho;
    ho.max_body_bytes = cfg.max_body;
    ho.threads = 2;
    ho.shutdown_grace = cfg.shutdown_grace;
    http_ = std::make_unique<http::Server>(ho);
    StreamableHttpOptions mo;
    mo.stateless = cfg.stateless;
    mo.max_subscriptions_per_session = cfg.max_subscriptions;
    mo.sse_retry = std::chrono::milliseconds(100);
    transport_ = std::make_unique<StreamableHttpServer>(*server_, mo);
    transport_->attach(*http_);
    if (cfg.extra_routes) cfg.extra_routes(*http_);
    auto port = http_->start();
    ASSERT_TRUE(port) << port.error().message();
    port_ = *port;
  }

  void TearDown() override {
    if (http_) {
      http_->stop();
      http_->wait();
    }
  }

  RawResponse post(const std::string& body, Hdrs extra = {}, bool with_session = true) {
    Hdrs h = kPost;
    if (with_session && !session_.empty()) {
      h.emplace_back("Mcp-Session-Id", session_);
      h.emplace_back("MCP-Protocol-Version", "2025-11-25");
    }
    for (auto& e : extra) h.push_back(e);
    return test::request(port_, "POST", "/mcp", h, body);
  }

  void initialize() {
    auto r = post(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",
      "capabilities":{},"clientInfo":{"name":"t","version":"1"}}})", {}, false);
    ASSERT_EQ(r.status, 200) << r.body;
    session_ = r.header("Mcp-Session-Id");
    auto n = post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    ASSERT_EQ(n.status, 202);
  }

  // Asserts a JSON-RPC error body with that code whose message contains `text`.
  void expect_error(const RawResponse& r, int status, int code, const std::string& text) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = body_json(r.body);
    ASSERT_TRUE(j.is_object()) << r.body;
    ASSERT_TRUE(j.as_object().contains("error")) << r.body;
    EXPECT_EQ(j.at("error").at("code").as_int64(), code) << r.body;
    EXPECT_NE(std::string(j.at("error").at("message").as_string()).find(text), std::string::npos)
        << "message lacks '" << text << "': " << r.body;
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<StreamableHttpServer> transport_;
  std::uint16_t port_ = 0;
  std::string session_;
  test::Event cancelled_;
};

TEST_F(McpHttp, InitializeNegotiatesVersionAndIssuesAnUnguessableSession) {
  start();
  auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",
    "capabilities":{},"clientInfo":{"name":"t","version":"1"}}})", {}, false);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  auto j = body_json(r.body);
  EXPECT_EQ(j.at("result").at("protocolVersion").as_string(), "2025-06-18");
  EXPECT_EQ(j.at("result").at("serverInfo").at("name").as_string(), "test-server");
  EXPECT_GE(r.header("Mcp-Session-Id").size(), 40u);

  auto old = post(R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"1999-01-01",
    "capabilities":{},"clientInfo":{"name":"t","version":"1"}}})", {}, false);
  EXPECT_EQ(body_json(old.body).at("result").at("protocolVersion").as_string(), "2025-11-25");
  EXPECT_NE(old.header("Mcp-Session-Id"), r.header("Mcp-Session-Id"));
}

TEST_F(McpHttp, MalformedJsonIsAParseError) {
  start();
  initialize();
  expect_error(post(R"({"jsonrpc":"2.0","id":1,"method":)"), 400, -32700, "invalid JSON at byte");
}

TEST_F(McpHttp, BatchIsRejected) {
  start();
  initialize();
  expect_error(post(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])"), 400, -32600,
               "batches are not supported");
}

TEST_F(McpHttp, InvalidEnvelopeIsAnInvalidRequest) {
  start();
  initialize();
  expect_error(post(R"({"jsonrpc":"1.0","id":1,"method":"ping"})"), 400, -32600,
               "\"jsonrpc\" must be \"2.0\"");
  expect_error(post(R"({"jsonrpc":"2.0","id":{"x":1},"method":"ping"})"), 400, -32600,
               "\"id\" must be a string or an integer");
}

TEST_F(McpHttp, UnknownMethodIsMethodNotFound) {
  start();
  initialize();
  expect_error(post(R"({"jsonrpc":"2.0","id":1,"method":"tools/frobnicate"})"), 200, -32601,
               "Method not found: tools/frobnicate");
}

TEST_F(McpHttp, InvalidParamsNameTheProblem) {
  start();
  initialize();
  expect_error(post(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}})"), 200, -32602,
               "params.name");
  expect_error(post(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"nope"}})"), 200,
               -32602, "Unknown tool: nope");
  expect_error(post(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add","arguments":[1]}})"),
               200, -32602, "arguments must be an object");
  expect_error(post(R"({"jsonrpc":"2.0","id":4,"method":"logging/setLevel","params":{"level":"loud"}})"),
               200, -32602, "level must be one of");
}

TEST_F(McpHttp, SchemaViolatingArgumentsAreAToolErrorNamingTheField) {
  start();
  initialize();
  auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":"2","b":3}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = body_json(r.body);
  EXPECT_TRUE(j.at("result").at("isError").as_bool());
  std::string text(j.at("result").at("content").at(0).at("text").as_string());
  EXPECT_NE(text.find("Invalid arguments for tool 'add'"), std::string::npos) << text;
  EXPECT_NE(text.find("a: wrong type (got string)"), std::string::npos) << text;

  auto ok = post(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}})");
  EXPECT_EQ(body_json(ok.body).at("result").at("content").at(0).at("text").as_string(), "5");
}

TEST_F(McpHttp, AThrowingToolBecomesAToolErrorWithATraceIdAndNoExceptionText) {
  start();
  initialize();
  auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"boom"}})");
  auto j = body_json(r.body);
  EXPECT_TRUE(j.at("result").at("isError").as_bool());
  std::string text(j.at("result").at("content").at(0).at("text").as_string());
  EXPECT_NE(text.find("Tool 'boom' failed: internal error, trace id "), std::string::npos) << text;
  EXPECT_EQ(r.body.find("database unreachable"), std::string::npos) << "exception text leaked: " << r.body;
}

// The HTTP layer under the transport keeps the same rule for any handler.
TEST_F(McpHttp, AThrowingHttpHandlerAnswers500WithATraceIdOnly) {
  start({.extra_routes = [](http::Server& s) {
    s.route("GET", "/boom", [](const http::Request&, http::Responder&) -> awaitable<void> {
      throw std::runtime_error("connection string postgres://admin:s3cret@db");
      co_return;
    });
  }});
  auto r = test::request(port_, "GET", "/boom", {}, "");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("internal error, trace id "), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("s3cret"), std::string::npos) << "exception text leaked: " << r.body;
}

TEST_F(McpHttp, AThrowingReaderIsAnInternalErrorWithATraceId) {
  start();
  ASSERT_TRUE(server_->add_resource(
      Resource{.uri = "mem://broken", .name = "broken"},
      [](const std::string&, ToolContext&) -> awaitable<Result<std::vector<ResourceContents>>> {
        throw std::runtime_error("password=hunter2 rejected by db");
        co_return std::vector<ResourceContents>{};
      }));
  initialize();
  auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"mem://broken"}})");
  expect_error(r, 200, -32603, "reading mem://broken failed: internal error, trace id ");
  EXPECT_EQ(r.body.find("hunter2"), std::string::npos) << "exception text leaked: " << r.body;
}

TEST_F(McpHttp, AHandlerPastItsDeadlineIsCancelledAndTheClientToldWhy) {
  start({.handler_timeout = std::chrono::milliseconds(300)});
  initialize();
  // "slow" sleeps 20 s unless cancelled; the deadline cancels it and answers for it.
  auto r = post(R"({"jsonrpc":"2.0","id":"d1","method":"tools/call","params":{"name":"slow"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  auto last = body_json(r.body);
  EXPECT_EQ(last.at("id").as_string(), "d1");
  EXPECT_EQ(last.at("error").at("code").as_int64(), -32001) << r.body;
  std::string message(last.at("error").at("message").as_string());
  EXPECT_NE(message.find("tools/call did not finish within the server's handler deadline of 300 ms"),
            std::string::npos) << message;
  EXPECT_TRUE(cancelled_.wait(std::chrono::seconds(10))) << "the handler's ToolContext never saw the cancellation";
  // The session goes on.
  auto ok = post(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}})");
  EXPECT_EQ(body_json(ok.body).at("result").at("content").at(0).at("text").as_string(), "5");
}

TEST_F(McpHttp, ResourceSubscriptionsAreBoundedPerSession) {
  start({.max_subscriptions = 2});
  initialize();
  for (std::string uri : {"mem://a", "mem://b", "mem://a"}) {  // a repeat is no new subscription
    auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":")" + uri + "\"}}");
    EXPECT_EQ(body_json(r.body).at("result").as_object().size(), 0u) << r.body;
  }
  expect_error(post(R"({"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"mem://c"}})"), 200,
               -32602, "this session already has 2 subscriptions, the server's limit");
  post(R"({"jsonrpc":"2.0","id":3,"method":"resources/unsubscribe","params":{"uri":"mem://a"}})");
  auto again = post(R"({"jsonrpc":"2.0","id":4,"method":"resources/subscribe","params":{"uri":"mem://c"}})");
  EXPECT_TRUE(body_json(again.body).as_object().contains("result")) << again.body;
}

TEST_F(McpHttp, StructuredContentIsCheckedAgainstTheOutputSchema) {
  start();
  initialize();
  auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"liar"}})");
  auto j = body_json(r.body);
  EXPECT_TRUE(j.at("result").at("isError").as_bool()) << r.body;
  std::string text(j.at("result").at("content").at(0).at("text").as_string());
  EXPECT_NE(text.find("does not match its outputSchema: sum: wrong type (got string)"), std::string::npos)
      << text;
}

TEST_F(McpHttp, ServerToClientRequestsTravelOnTheCallsStream) {
  start();
  initialize();
  test::RawConnection call(port_);
  call.send("POST", "/mcp",
            {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"},
             {"Mcp-Session-Id", session_}},
            R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"pinger"}})");
  auto head = call.read_until("\"method\":\"ping\"");
  auto events = test::sse_data(head.body);
  ASSERT_EQ(events.size(), 1u) << head.body;
  auto ping = body_json(events[0]);
  ASSERT_TRUE(ping.at("id").is_string());
  // A reply from another session is ignored; the right session's reply resumes the tool.
  std::string reply = R"({"jsonrpc":"2.0","id":)" + bj::serialize(ping.at("id")) + R"(,"result":{"pong":true}})";
  std::string forged = R"({"jsonrpc":"2.0","id":)" + bj::serialize(ping.at("id")) + R"(,"result":{"pong":"forged"}})";
  std::string saved = session_;
  session_.clear();
  initialize();
  EXPECT_EQ(post(forged).status, 202);
  session_ = saved;
  EXPECT_EQ(post(reply).status, 202);
  auto rest = call.read_until("\"result\"");
  events = test::sse_data(rest.body);
  ASSERT_EQ(events.size(), 2u) << rest.body;
  EXPECT_EQ(body_json(events[1]).at("result").at("content").at(0).at("text").as_string(),
            "client answered {\"pong\":true}");
}

TEST_F(McpHttp, BodyOverTheLimitIs413) {
  start({.max_body = 1024});
  initialize();
  std::string big = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":")" + std::string(4000, 'x') + "\"}}";
  auto r = post(big);
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("exceeds the limit of 1024 bytes"), std::string::npos) << r.body;
}

TEST_F(McpHttp, HeaderOverTheLimitIs431) {
  start();
  auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", {{"X-Pad", std::string(20000, 'h')}});
  EXPECT_EQ(r.status, 431);
}

TEST_F(McpHttp, WrongContentTypeIs415) {
  start();
  initialize();
  Hdrs h = {{"Content-Type", "text/plain"}, {"Accept", "application/json, text/event-stream"},
            {"Mcp-Session-Id", session_}};
  auto r = test::request(port_, "POST", "/mcp", h, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  expect_error(r, 415, -32000, "Content-Type must be application/json");
}

TEST_F(McpHttp, MissingAcceptIs406) {
  start();
  initialize();
  Hdrs h = {{"Content-Type", "application/json"}, {"Mcp-Session-Id", session_}};
  auto r = test::request(port_, "POST", "/mcp", h, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  expect_error(r, 406, -32000, "Accept must list both application/json and text/event-stream");
  Hdrs wildcard = {{"Content-Type", "application/json; charset=utf-8"}, {"Accept", "*/*"},
                   {"Mcp-Session-Id", session_}};
  EXPECT_EQ(test::request(port_, "POST", "/mcp", wildcard, R"({"jsonrpc":"2.0","id":1,"method":"ping"})").status,
            200);
}

TEST_F(McpHttp, UnknownSessionIs404) {
  start();
  auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", {{"Mcp-Session-Id", "not-a-session"}}, false);
  expect_error(r, 404, -32001, "Session not found");
}

TEST_F(McpHttp, RequestBeforeInitializeIs400) {
  start();
  auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})", {}, false);
  expect_error(r, 400, -32000, "send initialize first");
}

TEST_F(McpHttp, BadOriginAndHostAre403) {
  start();
  initialize();
  expect_error(post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", {{"Origin", "http://evil.example.com"}}),
               403, -32000, "Origin 'http://evil.example.com' is not allowed");
  Hdrs h = kPost;
  h.emplace_back("Host", "evil.example.com");
  auto r = test::request(port_, "POST", "/mcp", h,
                         R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  expect_error(r, 403, -32000, "Host 'evil.example.com' is not allowed");
  // Names that only look like loopback are remote (the one URL policy, idp/http/url_policy.h).
  for (std::string host : {"127.attacker.example", "localhost.attacker.example:8080", "localhost."}) {
    Hdrs spoofed = kPost;
    spoofed.emplace_back("Host", host);
    auto s = test::request(port_, "POST", "/mcp", spoofed,
                           R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    expect_error(s, 403, -32000, "Host '" + host + "' is not allowed");
  }
  expect_error(post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", {{"Origin", "http://127.0.0.1.nip.io"}}),
               403, -32000, "Origin 'http://127.0.0.1.nip.io' is not allowed");
  EXPECT_EQ(post(R"({"jsonrpc":"2.0","id":3,"method":"ping"})", {{"Origin", "http://[::1]:5173"}}).status, 200);
  // Loopback origins are fine.
  EXPECT_EQ(post(R"({"jsonrpc":"2.0","id":2,"method":"ping"})", {{"Origin", "http://localhost:6274"}}).status, 200);
}

TEST_F(McpHttp, UnsupportedProtocolVersionIs400) {
  start();
  initialize();
  Hdrs h = kPost;
  h.emplace_back("Mcp-Session-Id", session_);
  h.emplace_back("MCP-Protocol-Version", "2099-01-01");
  auto r = test::request(port_, "POST", "/mcp", h, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  expect_error(r, 400, -32000, "unsupported MCP-Protocol-Version '2099-01-01' (supported: 2025-11-25");
}

TEST_F(McpHttp, DeletedSessionIsGone) {
  start();
  initialize();
  auto d = test::request(port_, "DELETE", "/mcp", {{"Mcp-Session-Id", session_}}, "");
  EXPECT_EQ(d.status, 200);
  expect_error(post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})"), 404, -32001, "Session not found");
  EXPECT_EQ(test::request(port_, "DELETE", "/mcp", {{"Mcp-Session-Id", session_}}, "").status, 404);
  EXPECT_EQ(transport_->session_count(), 0u);
}

TEST_F(McpHttp, ProgressSwitchesTheResponseToSse) {
  start();
  initialize();
  auto r = post(R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"progress","_meta":{"progressToken":"tok"}}})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/event-stream");
  auto events = test::sse_data(r.body);
  ASSERT_EQ(events.size(), 3u) << r.body;
  auto p1 = body_json(events[0]);
  EXPECT_EQ(p1.at("method").as_string(), "notifications/progress");
  EXPECT_EQ(p1.at("params").at("progressToken").as_string(), "tok");
  EXPECT_EQ(p1.at("params").at("message").as_string(), "half");
  EXPECT_EQ(body_json(events[2]).at("result").at("content").at(0).at("text").as_string(), "done");
  // Every event, including the priming one, has an id; the priming event carries retry.
  EXPECT_NE(r.body.find("retry: 100"), std::string::npos);
  for (const auto& id : test::sse_ids(r.body)) EXPECT_FALSE(id.empty());
}

TEST_F(McpHttp, ClosedStreamResumesWithLastEventId) {
  start();
  initialize();
  auto r = post(R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"reconnect"}})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/event-stream");
  EXPECT_TRUE(test::sse_data(r.body).empty()) << r.body;  // only the priming event
  auto ids = test::sse_ids(r.body);
  ASSERT_FALSE(ids.empty());
  auto g = test::request(port_, "GET", "/mcp",
                         {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session_},
                          {"Last-Event-ID", ids.back()}},
                         "");
  ASSERT_EQ(g.status, 200);
  auto events = test::sse_data(g.body);
  ASSERT_EQ(events.size(), 1u) << g.body;
  EXPECT_EQ(body_json(events[0]).at("id").as_int64(), 5);
  EXPECT_EQ(body_json(events[0]).at("result").at("content").at(0).at("text").as_string(), "after reconnect");

  // Replaying the same stream again gives the same answer (bounded buffer, not consumed).
  auto again = test::request(port_, "GET", "/mcp",
                             {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session_},
                              {"Last-Event-ID", ids.back()}},
                             "");
  EXPECT_EQ(test::sse_data(again.body).size(), 1u);
  auto unknown = test::request(port_, "GET", "/mcp",
                               {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session_},
                                {"Last-Event-ID", "p999_1"}},
                               "");
  EXPECT_EQ(unknown.status, 404);
}

TEST_F(McpHttp, CancelledRequestStopsItsHandler) {
  start();
  initialize();
  test::RawConnection call(port_);
  call.send("POST", "/mcp",
            {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"},
             {"Mcp-Session-Id", session_}},
            R"({"jsonrpc":"2.0","id":"long-1","method":"tools/call","params":{"name":"slow","_meta":{"progressToken":1}}})");
  auto first = call.read_until("notifications/progress");
  EXPECT_EQ(first.status, 200);
  auto c = post(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"long-1","reason":"user"}})");
  EXPECT_EQ(c.status, 202);
  EXPECT_TRUE(cancelled_.wait(std::chrono::seconds(10))) << "the handler never saw notifications/cancelled";
  // No response is sent for a cancelled request; the stream ends.
  auto rest = call.read_until("\"result\"");
  EXPECT_EQ(rest.body.find("\"result\""), std::string::npos);
}

TEST_F(McpHttp, ToolsListPaginatesWithOpaqueCursors) {
  start({.page_size = 2});
  initialize();
  std::vector<std::string> names;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::string params = cursor.empty() ? "{}" : R"({"cursor":")" + cursor + "\"}";
    auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":)" + params + "}");
    auto j = body_json(r.body);
    auto& tools = j.at("result").at("tools").as_array();
    EXPECT_LE(tools.size(), 2u);
    for (auto& t : tools) names.emplace_back(t.at("name").as_string());
    auto* next = j.at("result").as_object().if_contains("nextCursor");
    if (!next) break;
    cursor = std::string(next->as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"add", "progress", "slow", "reconnect", "logs", "pinger",
                                              "liar", "boom"}));
  expect_error(post(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"garbage"}})"), 200,
               -32602, "invalid cursor");
}

TEST_F(McpHttp, ResourcesReadAndNotFound) {
  start();
  initialize();
  auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"mem://hello"}})");
  EXPECT_EQ(body_json(r.body).at("result").at("contents").at(0).at("text").as_string(), "hi");
  expect_error(post(R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"mem://nope"}})"), 200,
               -32002, "Resource not found: mem://nope");
}

TEST_F(McpHttp, StandaloneStreamCarriesListChanged) {
  start();
  initialize();
  test::RawConnection get(port_);
  get.send("GET", "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session_}}, "");
  // Wait until the stream is attached (its priming event arrives), then change the registry.
  auto head = get.read_until("data:");
  ASSERT_EQ(head.status, 200);
  auto second = test::request(port_, "GET", "/mcp",
                              {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session_}}, "");
  EXPECT_EQ(second.status, 409);  // one standalone stream per session
  Tool extra;
  extra.name = "extra";
  ASSERT_TRUE(server_->add_tool(extra, [](const bj::object&, ToolContext&) -> awaitable<CallToolResult> {
    co_return CallToolResult::text("x");
  }));
  auto r = get.read_until("list_changed");
  EXPECT_NE(r.body.find("notifications/tools/list_changed"), std::string::npos) << r.body;
}

TEST_F(McpHttp, LogLevelFiltersToolLogs) {
  start();
  initialize();
  auto all = post(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"logs"}})");
  auto events = test::sse_data(all.body);
  ASSERT_EQ(events.size(), 3u) << all.body;  // debug, error, result
  EXPECT_EQ(body_json(events[0]).at("params").at("level").as_string(), "debug");

  ASSERT_EQ(post(R"({"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"warning"}})").status, 200);
  auto filtered = post(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"logs"}})");
  events = test::sse_data(filtered.body);
  ASSERT_EQ(events.size(), 2u) << filtered.body;
  auto e = body_json(events[0]);
  EXPECT_EQ(e.at("method").as_string(), "notifications/message");
  EXPECT_EQ(e.at("params").at("level").as_string(), "error");
  EXPECT_EQ(e.at("params").at("logger").as_string(), "storage");
  EXPECT_EQ(e.at("params").at("data").at("problem").as_string(), "disk full");
}

TEST_F(McpHttp, SubscribersHearResourceUpdates) {
  start();
  initialize();
  ASSERT_EQ(post(R"({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"mem://hello"}})").status, 200);
  test::RawConnection get(port_);
  get.send("GET", "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session_}}, "");
  ASSERT_EQ(get.read_until("data:").status, 200);
  server_->notify_resource_updated("mem://other");  // not subscribed: not delivered
  server_->notify_resource_updated("mem://hello");
  auto r = get.read_until("resources/updated");
  auto events = test::sse_data(r.body);
  ASSERT_EQ(events.size(), 1u) << r.body;
  EXPECT_EQ(body_json(events[0]).at("params").at("uri").as_string(), "mem://hello");

  ASSERT_EQ(post(R"({"jsonrpc":"2.0","id":2,"method":"resources/unsubscribe","params":{"uri":"mem://hello"}})").status, 200);
  server_->notify_resource_updated("mem://hello");
  Tool marker;  // a later event proves the unsubscribed update was not sent before it
  marker.name = "marker";
  ASSERT_TRUE(server_->add_tool(marker, [](const bj::object&, ToolContext&) -> awaitable<CallToolResult> {
    co_return CallToolResult::text("x");
  }));
  r = get.read_until("list_changed");
  events = test::sse_data(r.body);
  ASSERT_EQ(events.size(), 2u) << r.body;
  EXPECT_NE(events[1].find("notifications/tools/list_changed"), std::string::npos);
}

TEST_F(McpHttp, GetNeedsEventStreamAndSession) {
  start();
  initialize();
  EXPECT_EQ(test::request(port_, "GET", "/mcp", {{"Accept", "application/json"}, {"Mcp-Session-Id", session_}}, "").status,
            406);
  EXPECT_EQ(test::request(port_, "GET", "/mcp", {{"Accept", "text/event-stream"}}, "").status, 400);
  EXPECT_EQ(test::request(port_, "PUT", "/mcp", {}, "").status, 405);
  EXPECT_EQ(test::request(port_, "GET", "/elsewhere", {}, "").status, 404);
}

TEST_F(McpHttp, StatelessModeIssuesNoSessions) {
  start({.stateless = true});
  auto init = post(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",
    "capabilities":{},"clientInfo":{"name":"t","version":"1"}}})", {}, false);
  EXPECT_EQ(init.status, 200);
  EXPECT_TRUE(init.header("Mcp-Session-Id").empty());
  auto call = post(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":1}}})",
                   {}, false);
  EXPECT_EQ(body_json(call.body).at("result").at("content").at(0).at("text").as_string(), "2");
  auto get = test::request(port_, "GET", "/mcp", {{"Accept", "text/event-stream"}}, "");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("Allow"), "POST");
  EXPECT_EQ(test::request(port_, "DELETE", "/mcp", {}, "").status, 405);
}

TEST_F(McpHttp, GarbageAndDisconnectsDoNotDisturbOtherSessions) {
  start();
  initialize();
  std::atomic<bool> stop{false};
  std::thread vandal([&] {
    for (int i = 0; i < 30 && !stop; ++i) {
      try {
        test::RawConnection c(port_, std::chrono::milliseconds(500));
        if (i % 3 == 0) {
          c.send_raw("\x16\x03\x01 not http at all\r\n\r\n");
        } else if (i % 3 == 1) {
          // Start a streaming call and vanish mid-stream.
          c.send("POST", "/mcp",
                 {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"},
                  {"Mcp-Session-Id", session_}},
                 R"({"jsonrpc":"2.0","id":77,"method":"tools/call","params":{"name":"progress","_meta":{"progressToken":1}}})");
        } else {
          c.send_raw("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"");
        }
        c.close();
      } catch (const std::exception&) {
      }
    }
  });
  for (int i = 0; i < 30; ++i) {
    auto r = post(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(body_json(r.body).at("result").at("content").at(0).at("text").as_string(), "3");
  }
  stop = true;
  vandal.join();
}

TEST_F(McpHttp, StopEndsOpenStreams) {
  start({.shutdown_grace = std::chrono::minutes(10)});
  initialize();
  test::RawConnection get(port_);
  get.send("GET", "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session_}}, "");
  get.read_until("data:");
  // With a ten-minute grace, stop() returns (and the test ends) only because the transport ends
  // its open stream itself.
  http_->stop();
  http_->wait();
  get.read_until("the end of the stream");
  EXPECT_TRUE(get.closed_by_peer());
  http_.reset();
}

}  // namespace
}  // namespace idp::mcp

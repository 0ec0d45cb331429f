// The transport's request hooks on their own (no ServerGuard), over raw HTTP on 127.0.0.1: the
// observer hears of each JSON-RPC request once, before its answer, with the dispatcher's outcome
// (ok, tool_error, invalid with schema or format, error with the JSON-RPC code, denied before
// parsing), the trace id and peer that the tool's ToolContext saw; the limiter sees the method,
// tool and identity and its refusal is a 429 that never reaches the tool.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"
#include "raw_http.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;
using boost::asio::awaitable;

// A RequestEvent, copied (its views live only during the call).
struct Seen {
  std::string trace_id, peer, session_id, method, tool, arguments, detail;
  bool has_identity = false;
  RequestOutcome outcome{};
  int rpc_error = 0, http_status = 0;
};

class RequestHooksTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (http_) {
      http_->stop();
      http_->wait();
    }
  }

  void start(Authenticator authenticate = {}, RequestLimiter limit = {}) {
    server_ = std::make_unique<Server>();
    Tool echo;
    echo.name = "echo";
    echo.input_schema = bj::parse(R"({"type":"object","properties":{
        "text":{"type":"string","maxLength":10},"mail":{"type":"string","format":"email"}}})")
                            .as_object();
    ASSERT_TRUE(server_->add_tool(
        echo, [this](const bj::object& a, ToolContext& ctx) -> awaitable<CallToolResult> {
          {
            std::lock_guard lock(mu_);
            tool_trace_ = std::string(ctx.trace_id());
            tool_peer_ = std::string(ctx.peer());
          }
          ++tool_runs_;
          if (a.contains("mail")) co_return CallToolResult::error("no mail today");
          co_return CallToolResult::text("echo");
        }));
    http_ = std::make_unique<http::Server>(http::ServerOptions{});
    StreamableHttpOptions so;
    so.stateless = true;
    so.authenticate = std::move(authenticate);
    so.limit = std::move(limit);
    so.observe = [this](const RequestEvent& e) {
      Seen s{std::string(e.trace_id),
             std::string(e.peer),
             std::string(e.session_id),
             std::string(e.method),
             std::string(e.tool),
             e.arguments ? bj::serialize(*e.arguments) : std::string(),
             std::string(e.detail),
             e.identity != nullptr,
             e.outcome,
             e.rpc_error,
             e.http_status};
      std::lock_guard lock(mu_);
      seen_.push_back(std::move(s));
    };
    transport_ = std::make_unique<StreamableHttpServer>(*server_, so);
    transport_->attach(*http_);
    auto port = http_->start();
    ASSERT_TRUE(port);
    port_ = *port;
  }

  test::RawResponse post(const std::string& body) {
    return test::request(port_, "POST", "/mcp",
                         {{"Content-Type", "application/json"},
                          {"Accept", "application/json, text/event-stream"},
                          {"MCP-Protocol-Version", "2025-11-25"}},
                         body);
  }
  test::RawResponse call(const std::string& args) {
    return post(fmt::format(
        R"({{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"echo","arguments":{}}}}})",
        args));
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<StreamableHttpServer> transport_;
  std::uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::string tool_trace_, tool_peer_;
  std::atomic<int> tool_runs_{0};
};

TEST_F(RequestHooksTest, EachRequestIsObservedOnceWithTheDispatchersOutcome) {
  start();
  ASSERT_EQ(call(R"({"text":"hi"})").status, 200);
  // The observer ran before the answer went out: nothing to wait for.
  ASSERT_EQ(seen().size(), 1u);
  ASSERT_EQ(call(R"({"text":"far too long for it"})").status, 200);
  ASSERT_EQ(call(R"({"mail":"not-an-address"})").status, 200);
  ASSERT_EQ(call(R"({"mail":"ada@example.com"})").status, 200);
  ASSERT_EQ(post(R"({"jsonrpc":"2.0","id":4,"method":"nothing/here"})").status, 200);
  ASSERT_EQ(post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").status, 202);

  auto s = seen();
  ASSERT_EQ(s.size(), 5u);  // not the notification
  EXPECT_EQ(s[0].outcome, RequestOutcome::kOk);
  EXPECT_EQ(s[0].method, "tools/call");
  EXPECT_EQ(s[0].tool, "echo");
  EXPECT_EQ(s[0].arguments, R"({"text":"hi"})");
  EXPECT_EQ(s[0].http_status, 200);
  EXPECT_EQ(s[0].peer, "127.0.0.1");
  EXPECT_TRUE(s[0].has_identity);
  EXPECT_EQ(s[1].outcome, RequestOutcome::kInvalid);
  EXPECT_EQ(s[1].detail, "schema");
  EXPECT_EQ(s[2].outcome, RequestOutcome::kInvalid);
  EXPECT_EQ(s[2].detail, "format");
  EXPECT_EQ(s[3].outcome, RequestOutcome::kToolError);
  EXPECT_EQ(s[4].outcome, RequestOutcome::kError);
  EXPECT_EQ(s[4].rpc_error, -32601);
  EXPECT_EQ(s[4].method, "nothing/here");
  EXPECT_EQ(tool_runs_.load(), 2);  // the invalid calls never reached the tool
  // The tool saw the same trace id and peer as the observer.
  std::lock_guard lock(mu_);
  EXPECT_FALSE(tool_trace_.empty());
  EXPECT_EQ(tool_trace_, s[3].trace_id);
  EXPECT_EQ(tool_peer_, "127.0.0.1");
}

TEST_F(RequestHooksTest, RefusedAuthenticationIsObservedAsDeniedWithTheChallengesError) {
  start([](const http::Request&) -> awaitable<AuthResult> {
    auto r = http::Response::json(401, R"({"error":"invalid_token"})");
    r.headers.set("WWW-Authenticate", R"(Bearer error="insufficient_scope", scope="mcp")");
    co_return std::unexpected(std::move(r));
  });
  EXPECT_EQ(call(R"({"text":"hi"})").status, 401);
  auto s = seen();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].outcome, RequestOutcome::kDenied);
  EXPECT_EQ(s[0].detail, "insufficient_scope");
  EXPECT_EQ(s[0].http_status, 401);
  EXPECT_EQ(s[0].tool, "echo");
  EXPECT_FALSE(s[0].has_identity);
  EXPECT_EQ(tool_runs_.load(), 0);
}

TEST_F(RequestHooksTest, TheLimiterSeesMethodAndToolAndItsRefusalNeverReachesTheTool) {
  std::vector<std::string> asked;
  std::mutex asked_mu;
  start({}, [&](const RequestInfo& r) -> std::optional<RateRefusal> {
    {
      std::lock_guard lock(asked_mu);
      asked.push_back(fmt::format("{} {} {}", r.method, r.tool, r.peer));
    }
    if (r.method != "tools/call") return std::nullopt;
    return RateRefusal{"tool:echo", "0/min", std::chrono::seconds(42)};
  });
  auto list = post(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  EXPECT_EQ(list.status, 200);
  auto r = call(R"({"text":"hi"})");
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.header("retry-after"), "42");
  auto body = bj::parse(r.body).as_object();
  EXPECT_EQ(body.at("id"), 3);
  EXPECT_EQ(body.at("error").at("code"), kRateLimitedError);
  EXPECT_EQ(body.at("error").at("message"),
            "Rate limit exceeded: tool:echo allows 0/min; retry after 42 s");
  EXPECT_EQ(body.at("error").at("data").at("retryAfterSeconds"), 42);
  EXPECT_EQ(tool_runs_.load(), 0);
  {
    std::lock_guard lock(asked_mu);
    ASSERT_EQ(asked.size(), 2u);
    EXPECT_EQ(asked[0], "tools/list  127.0.0.1");
    EXPECT_EQ(asked[1], "tools/call echo 127.0.0.1");
  }
  auto s = seen();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].outcome, RequestOutcome::kRateLimited);
  EXPECT_EQ(s[1].detail, "tool:echo 0/min");
  EXPECT_EQ(s[1].http_status, 429);
}

}  // namespace
}  // namespace idp::mcp

// ServerGuard in a real server (in process, stateless Streamable HTTP on 127.0.0.1), through the
// transport's request hooks: rate limits answered with 429 + Retry-After before dispatch in both
// protocol eras, schema and format failures audited as `invalid`, authentication refusals
// audited as `denied`, the metrics that match (real statuses for every method), graceful drain
// of a running call with /healthz's count, and HTTPS with a local CA for our MCP client.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "idp/core/metrics.h"
#include "idp/http/local_ca.h"
#include "idp/mcp/client.h"
#include "idp/mcp/server_guard.h"
#include "raw_http.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
using boost::asio::awaitable;

std::vector<bj::object> audit_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<bj::object> out;
  for (std::string line; std::getline(in, line);) out.push_back(bj::parse(line).as_object());
  return out;
}

class ServerGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("guard-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (http_) {
      http_->stop();
      http_->wait();
    }
    fs::remove_all(dir_);
  }

  // A stateless server with one guarded tool, `register` {email: format email, age: 0..150},
  // and `wait` that runs until release_ is set.
  void start(std::optional<Rate> tool_rate, Authenticator inner = {}, http::ServerOptions ho = {}) {
    server_ = std::make_unique<Server>();
    ServerGuardOptions go;
    if (tool_rate) {
      RateLimits limits;
      limits.tool_calls = *tool_rate;
      go.rate_limiter = std::make_shared<RateLimiter>(limits);
    }
    auto audit = AuditLog::open_file((dir_ / "audit.log").string());
    ASSERT_TRUE(audit);
    go.audit = *audit;
    go.metrics = metrics_ = std::make_shared<MetricsRegistry>();
    guard_ = std::make_unique<ServerGuard>(*server_, go);
    Tool reg;
    reg.name = "register";
    reg.input_schema = bj::parse(R"({"type":"object","properties":{
        "email":{"type":"string","format":"email"},"age":{"type":"integer","minimum":0,"maximum":150}},
        "required":["email"]})")
                           .as_object();
    ASSERT_TRUE(
        guard_->add_tool(reg, [](const bj::object& a, ToolContext&) -> awaitable<CallToolResult> {
          co_return CallToolResult::text("registered " + std::string(a.at("email").as_string()));
        }));
    Tool wait;
    wait.name = "wait";
    ASSERT_TRUE(guard_->add_tool(
        wait, [this](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
          started_ = true;
          while (!release_) co_await ctx.sleep(std::chrono::milliseconds(5));
          co_return CallToolResult::text("done");
        }));
    http_ = std::make_unique<http::Server>(ho);
    http_->on_stop([this] { stop_began_ = true; });
    StreamableHttpOptions so;
    so.stateless = true;
    so.authenticate = std::move(inner);
    guard_->install(so);
    transport_ = std::make_unique<StreamableHttpServer>(*server_, so);
    transport_->attach(*http_);
    guard_->serve(*http_);
    auto port = http_->start();
    ASSERT_TRUE(port);
    port_ = *port;
  }

  test::RawResponse call(const std::string& tool, const std::string& args) {
    return test::request(
        port_, "POST", "/mcp",
        {{"Content-Type", "application/json"},
         {"Accept", "application/json, text/event-stream"},
         {"MCP-Protocol-Version", "2025-11-25"}},
        fmt::format(
            R"({{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"{}","arguments":{}}}}})",
            tool, args));
  }
  // The same call as a 2026-07-28 client sends it (no session; everything in the request).
  test::RawResponse modern_call(const std::string& tool, const std::string& args) {
    bj::object meta{
        {"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
        {"io.modelcontextprotocol/clientInfo", bj::object{{"name", "raw"}, {"version", "1"}}},
        {"io.modelcontextprotocol/clientCapabilities", bj::object{}}};
    bj::object params{{"name", tool}, {"arguments", bj::parse(args)}, {"_meta", std::move(meta)}};
    bj::object body{
        {"jsonrpc", "2.0"}, {"id", 9}, {"method", "tools/call"}, {"params", std::move(params)}};
    return test::request(port_, "POST", "/mcp",
                         {{"Content-Type", "application/json"},
                          {"Accept", "application/json, text/event-stream"},
                          {"MCP-Protocol-Version", "2026-07-28"},
                          {"Mcp-Method", "tools/call"},
                          {"Mcp-Name", tool}},
                         bj::serialize(body));
  }
  // Two calls of `register` through our MCP client (one connection): what each returned.
  std::vector<std::string> client_calls(std::chrono::milliseconds timeout) {
    boost::asio::io_context ioc;
    std::vector<std::string> out;
    boost::asio::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
          ClientOptions o;
          o.listen = false;
          o.timeout = timeout;
          Client c(ioc.get_executor(), fmt::format("http://127.0.0.1:{}/mcp", port_), o);
          auto ok = co_await c.connect();
          if (!ok) {
            out.push_back("connect: " + ok.error().message());
            co_return;
          }
          for (int i = 0; i < 2; ++i) {
            bj::object args{{"email", "retry@example.com"}};  // named: GCC 12 coroutine temporaries
            auto r = co_await c.call_tool("register", std::move(args));
            out.push_back(r ? std::string(r->content.at(0).at("text").as_string())
                            : fmt::format("error {}: {}", static_cast<int>(r.error().code()),
                                          r.error().message()));
          }
          co_await c.close();
        },
        boost::asio::detached);
    ioc.run();
    return out;
  }
  static bj::object result(const test::RawResponse& r) {
    return bj::parse(r.body).as_object().at("result").as_object();
  }

  fs::path dir_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<ServerGuard> guard_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<StreamableHttpServer> transport_;
  std::uint16_t port_ = 0;
  std::atomic<bool> started_{false}, release_{false}, stop_began_{false};
};

TEST_F(ServerGuardTest, ValidationFailuresAreToolErrorsNamingTheFieldAndAuditedAsInvalid) {
  start(std::nullopt);
  auto ok = call("register", R"({"email":"ada@example.com","age":36})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_FALSE(result(ok).contains("isError"));
  auto format = call("register", R"({"email":"ada(at)example.com"})");
  ASSERT_EQ(format.status, 200);
  EXPECT_EQ(result(format).at("isError"), true);
  EXPECT_NE(format.body.find("email: not a valid e-mail address (format email)"), std::string::npos)
      << format.body;
  auto range = call("register", R"({"email":"ada@example.com","age":400})");
  EXPECT_EQ(result(range).at("isError"), true);
  EXPECT_NE(range.body.find("age"), std::string::npos) << range.body;

  auto lines = audit_lines(dir_ / "audit.log");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].at("outcome"), "ok");
  EXPECT_EQ(lines[1].at("outcome"), "invalid");
  EXPECT_EQ(lines[1].at("detail"), "format");
  EXPECT_EQ(lines[2].at("outcome"), "invalid");
  EXPECT_EQ(lines[2].at("detail"), "schema");
  for (const auto& l : lines) {
    EXPECT_EQ(bj::serialize(l).find("ada"), std::string::npos)
        << "an argument value in " << bj::serialize(l);
  }
  std::string m = metrics_->render();
  EXPECT_NE(m.find("idp_mcp_requests_total{method=\"tools/call\",status=\"ok\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("idp_mcp_requests_total{method=\"tools/call\",status=\"invalid\"} 2\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("idp_mcp_tool_errors_total{tool=\"register\",outcome=\"invalid\"} 2\n"),
            std::string::npos)
      << m;
}

TEST_F(ServerGuardTest, UndeclaredArgumentNamesAreCountedNotWritten) {
  start(std::nullopt);
  auto r = call("register", R"({"email":"a@example.com","eyJhbGciOiJSUzI1NiJ9-smuggled":1})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto lines = audit_lines(dir_ / "audit.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(bj::serialize(lines[0].at("argument_names")), R"j(["email","(1 undeclared)"])j");
  EXPECT_EQ(bj::serialize(lines[0]).find("smuggled"), std::string::npos);
}

TEST_F(ServerGuardTest, OverTheLimitIs429WithRetryAfterAndAJsonRpcError) {
  start(*parse_rate("2/min"));
  EXPECT_EQ(call("register", R"({"email":"a@example.com"})").status, 200);
  EXPECT_EQ(call("register", R"({"email":"a@example.com"})").status, 200);
  auto r = call("register", R"({"email":"a@example.com"})");
  ASSERT_EQ(r.status, 429) << r.body;
  int retry = std::stoi(r.header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 30);
  auto body = bj::parse(r.body).as_object();
  EXPECT_EQ(body.at("id"), 3);
  const auto& err = body.at("error").as_object();
  EXPECT_EQ(err.at("code"), kRateLimitedError);
  EXPECT_EQ(err.at("data").at("limit"), "tool_calls");
  EXPECT_EQ(err.at("data").at("rate"), "2/min");
  EXPECT_EQ(err.at("data").at("retryAfterSeconds").as_int64(), retry);
  auto lines = audit_lines(dir_ / "audit.log");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2].at("outcome"), "rate_limited");
  EXPECT_EQ(lines[2].at("peer"), "127.0.0.1");  // anonymous: the principal is the peer
  EXPECT_NE(metrics_->render().find("idp_mcp_rate_limited_total{limit=\"tool_calls\"} 1\n"),
            std::string::npos);
}

TEST_F(ServerGuardTest, TheLimitAppliesToTheStatelessEraWithTheSameAnswer) {
  start(*parse_rate("1/min"));
  auto ok = modern_call("register", R"({"email":"a@example.com"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(bj::parse(ok.body).at("result").at("resultType"), "complete") << ok.body;
  auto r = modern_call("register", R"({"email":"a@example.com"})");
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_GE(std::stoi(r.header("retry-after")), 1);
  auto body = bj::parse(r.body).as_object();
  EXPECT_EQ(body.at("id"), 9);
  EXPECT_EQ(body.at("error").at("code"), kRateLimitedError);
  EXPECT_EQ(body.at("error").at("data").at("limit"), "tool_calls");
  // The handshake era shares the principal's bucket.
  EXPECT_EQ(call("register", R"({"email":"a@example.com"})").status, 429);
  auto lines = audit_lines(dir_ / "audit.log");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].at("outcome"), "ok");
  EXPECT_EQ(lines[1].at("outcome"), "rate_limited");
  EXPECT_EQ(lines[1].at("detail"), "tool_calls 1/min");
  EXPECT_EQ(lines[1].at("tool"), "register");
  EXPECT_EQ(lines[2].at("outcome"), "rate_limited");
}

TEST_F(ServerGuardTest, EveryMethodIsCountedWithItsRealStatus) {
  start(std::nullopt);
  auto list = test::request(port_, "POST", "/mcp",
                            {{"Content-Type", "application/json"},
                             {"Accept", "application/json, text/event-stream"},
                             {"MCP-Protocol-Version", "2025-11-25"}},
                            R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  ASSERT_EQ(list.status, 200) << list.body;
  auto unknown = test::request(port_, "POST", "/mcp",
                               {{"Content-Type", "application/json"},
                                {"Accept", "application/json, text/event-stream"},
                                {"MCP-Protocol-Version", "2025-11-25"}},
                               R"({"jsonrpc":"2.0","id":2,"method":"no/such/method"})");
  ASSERT_EQ(unknown.status, 200) << unknown.body;
  auto no_tool = call("nope", "{}");
  ASSERT_EQ(no_tool.status, 200) << no_tool.body;
  std::string m = metrics_->render();
  EXPECT_NE(m.find("idp_mcp_requests_total{method=\"tools/list\",status=\"ok\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("idp_mcp_requests_total{method=\"other\",status=\"error\"} 1\n"),
            std::string::npos)
      << m;
  // An unknown tool is the caller's mistake: invalid, with the tool labelled "unknown".
  EXPECT_NE(m.find("idp_mcp_requests_total{method=\"tools/call\",status=\"invalid\"} 1\n"),
            std::string::npos)
      << m;
  auto lines = audit_lines(dir_ / "audit.log");
  ASSERT_EQ(lines.size(), 1u);  // tool calls, refusals and rate limits only
  EXPECT_EQ(lines[0].at("tool"), "unknown");
  EXPECT_EQ(lines[0].at("outcome"), "invalid");
}

// Our client waits out a Retry-After that fits the call's deadline, once.
TEST_F(ServerGuardTest, OurClientHonoursRetryAfterWithinItsDeadline) {
  start(*parse_rate("1/s"));
  auto results = client_calls(std::chrono::seconds(30));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], "registered retry@example.com");
  EXPECT_EQ(results[1], "registered retry@example.com");  // after a 429 and the wait it asked for
  std::vector<std::string> outcomes;
  for (const auto& l : audit_lines(dir_ / "audit.log")) {
    outcomes.emplace_back(l.at("outcome").as_string());
  }
  EXPECT_EQ(outcomes, (std::vector<std::string>{"ok", "rate_limited", "ok"}));
}

// A wait past the deadline is not waited: the error names the limit and the wait.
TEST_F(ServerGuardTest, OurClientReportsARetryAfterPastItsDeadline) {
  start(*parse_rate("1/min"));
  auto results = client_calls(std::chrono::seconds(5));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], "registered retry@example.com");
  EXPECT_EQ(results[1].rfind(
                fmt::format("error {}: ", static_cast<int>(ErrorCode::kResourceExhausted)), 0),
            0u)
      << results[1];
  EXPECT_NE(
      results[1].find("rate limited by the server (tool_calls, 1/min); it asks to retry after "),
      std::string::npos)
      << results[1];
  EXPECT_NE(results[1].find("past this call's deadline (timeout 5000 ms)"), std::string::npos)
      << results[1];
}

TEST_F(ServerGuardTest, RefusedAuthenticationIsAuditedAsDenied) {
  Authenticator refuse = [](const http::Request&) -> awaitable<AuthResult> {
    auto r = http::Response::json(401, R"({"error":"invalid_token"})");
    r.headers.set("WWW-Authenticate",
                  R"(Bearer error="invalid_token", error_description="expired")");
    co_return std::unexpected(std::move(r));
  };
  start(std::nullopt, refuse);
  EXPECT_EQ(call("register", R"({"email":"a@example.com"})").status, 401);
  auto lines = audit_lines(dir_ / "audit.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("outcome"), "denied");
  EXPECT_EQ(lines[0].at("detail"), "invalid_token");
  EXPECT_EQ(lines[0].at("tool"), "register");
  EXPECT_NE(metrics_->render().find("idp_mcp_denied_total{reason=\"invalid_token\"} 1\n"),
            std::string::npos);
}

TEST_F(ServerGuardTest, HealthAndMetricsAreServed) {
  start(std::nullopt);
  auto h = test::request(port_, "GET", "/healthz", {});
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, R"({"status":"ok"})");
  auto m = test::request(port_, "GET", "/metrics", {});
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("# TYPE idp_mcp_tool_calls_in_flight gauge"), std::string::npos);
}

TEST_F(ServerGuardTest, StopLetsARunningCallFinishWithinTheGrace) {
  http::ServerOptions ho;
  ho.shutdown_grace = std::chrono::seconds(20);
  start(std::nullopt, {}, ho);
  auto pending = std::async(std::launch::async, [this] { return call("wait", "{}"); });
  while (!started_) std::this_thread::yield();
  EXPECT_EQ(guard_->in_flight(), 1u);
  std::thread stopper([this] { http_->stop(); });
  // The server is stopping while the call still runs; releasing it now lets it answer.
  while (!stop_began_) std::this_thread::yield();
  EXPECT_EQ(guard_->in_flight(), 1u);
  // /healthz says so, with the number of calls it waits for.
  while (guard_->health().status != 503) std::this_thread::yield();
  EXPECT_EQ(guard_->health().body, R"({"status":"stopping","in_flight":1})");
  release_ = true;
  auto r = pending.get();
  stopper.join();
  http_->wait();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("done"), std::string::npos) << r.body;
  EXPECT_EQ(guard_->in_flight(), 0u);
  auto lines = audit_lines(dir_ / "audit.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("outcome"), "ok");
}

TEST_F(ServerGuardTest, OurClientConnectsOverHttpsWithTheLocalCa) {
  auto ca = http::ensure_local_ca((dir_ / "ca").string());
  ASSERT_TRUE(ca) << ca.error().message();
  EXPECT_TRUE(ca->created_ca);
  struct stat st {};
  ASSERT_EQ(::stat(ca->ca_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A second run keeps the CA and the certificate; other names reissue only the certificate.
  auto again = http::ensure_local_ca((dir_ / "ca").string());
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created_ca);
  EXPECT_FALSE(again->issued_server);
  http::ServerOptions ho;
  ho.tls_cert_file = ca->server_cert;
  ho.tls_key_file = ca->server_key;
  start(std::nullopt, {}, ho);

  auto connect = [&](const std::string& url, const std::string& ca_file) {
    boost::asio::io_context ioc;
    std::string out;
    boost::asio::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
          ClientOptions o;
          o.listen = false;
          o.http.ca_file = ca_file;
          Client c(ioc.get_executor(), url, o);
          auto ok = co_await c.connect();
          if (!ok) {
            out = "error: " + ok.error().message();
            co_return;
          }
          bj::object args{{"email", "tls@example.com"}};  // named: GCC 12 coroutine temporaries
          auto r = co_await c.call_tool("register", std::move(args));
          out = r ? std::string(r->content.at(0).at("text").as_string())
                  : "error: " + r.error().message();
          co_await c.close();
        },
        boost::asio::detached);
    ioc.run();
    return out;
  };
  EXPECT_EQ(connect(fmt::format("https://127.0.0.1:{}/mcp", port_), ca->ca_cert),
            "registered tls@example.com");
  EXPECT_EQ(connect(fmt::format("https://localhost:{}/mcp", port_), ca->ca_cert),
            "registered tls@example.com");
  EXPECT_TRUE(connect(fmt::format("https://127.0.0.1:{}/mcp", port_), "").starts_with("error: "));

  http::LocalCaOptions other;
  other.dns_names = {"localhost", "mcp.internal.test"};
  auto reissued = http::ensure_local_ca((dir_ / "ca").string(), other);
  ASSERT_TRUE(reissued);
  EXPECT_FALSE(reissued->created_ca);
  EXPECT_TRUE(reissued->issued_server);
}

}  // namespace
}  // namespace idp::mcp

// The MCP client against our server and against deliberately broken endpoints: every fault
// gives an error that names the step and the URL, and the robustness rules hold (resume a lost
// stream, re-initialize a forgotten session, refresh a rejected token, progress resets the
// timeout up to a hard maximum, cancellation, concurrent calls never cross). Tests of 2025-era
// mechanisms pin the legacy protocol era (our server may speak both).
// McpClientModern: the 2026-07-28 era against small in-test servers that record every request:
// era negotiation (server/discover, the fallback to initialize and its memory), the request
// headers and _meta, multi round-trip requests through the hooks, the tool list's ttlMs,
// x-mcp-header mirroring, cancellation by closing the stream.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "../lib/run_coroutine.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "idp/http/server.h"
#include "idp/mcp/client.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"
#include "raw_http.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;
using boost::asio::awaitable;
using Ex = boost::asio::any_io_executor;

class McpClient : public ::testing::Test {
 protected:
  void SetUp() override {
    forget_protocol_eras();
    server_ = std::make_unique<Server>(ServerOptions{.info = {"client-test-server", "2.0"}});
    Tool add;
    add.name = "add";
    add.input_schema = ::idp::json::parse(R"({"type":"object","properties":{"a":{"type":"number"},
        "b":{"type":"number"}},"required":["a","b"]})")
                           ->as_object();
    ASSERT_TRUE(
        server_->add_tool(add, [](const bj::object& a, ToolContext&) -> awaitable<CallToolResult> {
          CallToolResult r = CallToolResult::text("sum");
          r.structured_content =
              bj::object{{"sum", a.at("a").to_number<double>() + a.at("b").to_number<double>()}};
          co_return r;
        }));
    Tool ticking;  // runs `ms`, reporting progress every 100 ms
    ticking.name = "ticking";
    ASSERT_TRUE(server_->add_tool(
        ticking, [this](const bj::object& a, ToolContext& ctx) -> awaitable<CallToolResult> {
          std::int64_t ms = a.contains("ms") ? a.at("ms").to_number<std::int64_t>() : 800;
          for (std::int64_t t = 0; t < ms; t += 100) {
            ctx.progress(static_cast<double>(t), static_cast<double>(ms));
            if (!co_await ctx.sleep(std::chrono::milliseconds(100))) {
              server_cancelled_.set();
              co_return CallToolResult::error("cancelled");
            }
          }
          co_return CallToolResult::text("ticked");
        }));
    Tool reconnect;
    reconnect.name = "reconnect";
    ASSERT_TRUE(server_->add_tool(
        reconnect, [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
          ctx.log(LogLevel::kInfo, "before the break");
          co_await ctx.sleep(std::chrono::milliseconds(20));
          ctx.close_stream();
          co_await ctx.sleep(std::chrono::milliseconds(150));
          co_return CallToolResult::text("resumed");
        }));
    Tool ask;
    ask.name = "ask";
    ASSERT_TRUE(server_->add_tool(
        ask, [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
          bj::object schema{{"type", "object"}};
          schema["properties"] =
              bj::object{{"name", bj::object{{"type", "string"}, {"default", "Ada"}}},
                         {"age", bj::object{{"type", "integer"}, {"default", 36}}}};
          bj::object params;
          params["message"] = "who are you?";
          params["requestedSchema"] = std::move(schema);
          auto r = co_await ctx.elicit(std::move(params));
          if (!r) co_return CallToolResult::error(r.error().message());
          co_return CallToolResult::text(bj::serialize(*r));
        }));

    http::ServerOptions ho;
    ho.threads = 1;
    ho.shutdown_grace = std::chrono::milliseconds(300);
    http_ = std::make_unique<http::Server>(ho);
    StreamableHttpOptions mo;
    mo.sse_retry = std::chrono::milliseconds(50);
    mo.authenticate = [this](const http::Request& req) -> awaitable<AuthResult> {
      if (lose_initialized_ > 0 &&
          req.body().find("notifications/initialized") != std::string_view::npos) {
        // As a replica behind a load balancer that never saw the session.
        --lose_initialized_;
        co_return std::unexpected(http::Response::json(
            404,
            R"({"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}})"));
      }
      if (require_token_.empty()) co_return Identity{};
      auto auth = req.header("Authorization");
      if (auth && *auth == "Bearer " + require_token_) co_return Identity{.authenticated = true};
      http::Response r = http::Response::json(401, R"({"error":"invalid_token"})");
      r.headers.add("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      co_return std::unexpected(std::move(r));
    };
    transport_ = std::make_unique<StreamableHttpServer>(*server_, mo);
    transport_->attach(*http_);
    // Broken endpoints beside the good one.
    http_->route("POST", "/html",
                 [](const http::Request&, http::Responder& res) -> awaitable<void> {
                   http::Response r;
                   r.headers.add("Content-Type", "text/html");
                   r.body = "<html><body>Login required</body></html>";
                   co_await res.send(std::move(r));
                 });
    http_->route("POST", "/notrpc",
                 [](const http::Request&, http::Responder& res) -> awaitable<void> {
                   http::Response r = http::Response::json(200, R"({"hello":"world"})");
                   co_await res.send(std::move(r));
                 });
    http_->route("POST", "/huge",
                 [](const http::Request&, http::Responder& res) -> awaitable<void> {
                   http::Response r = http::Response::json(200, std::string(3 * 1024 * 1024, ' '));
                   co_await res.send(std::move(r));
                 });
    http_->route("POST", "/silent",
                 [](const http::Request&, http::Responder& res) -> awaitable<void> {
                   boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                               std::chrono::seconds(5));
                   co_await t.async_wait(boost::asio::use_awaitable);
                   http::Response r = http::Response::empty(500);
                   co_await res.send(std::move(r));
                 });
    auto port = http_->start();
    ASSERT_TRUE(port);
    port_ = *port;
    url_ = fmt::format("http://127.0.0.1:{}/mcp", port_);
  }
  void TearDown() override {
    http_->stop();
    http_->wait();
  }
  std::string at(std::string_view path) {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<StreamableHttpServer> transport_;
  std::uint16_t port_ = 0;
  std::string url_;
  std::string require_token_;
  std::atomic<int> lose_initialized_{0};  // notifications/initialized answered 404 this often
  test::Event server_cancelled_;
};

TEST_F(McpClient, ConnectsListsAndCalls) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions legacy;
    legacy.protocol_era = ProtocolEra::kLegacy;
    Client c(ex, url_, legacy);
    auto ok = co_await c.connect();
    if (!ok) co_return ok.error().message();
    auto tools = co_await c.list_tools();
    if (!tools) co_return tools.error().message();
    bj::object args{{"a", 2}, {"b", 3}};
    auto r = co_await c.call_tool("add", std::move(args));
    co_await c.close();
    if (!r) co_return r.error().message();
    co_return fmt::format("{} {} {} tools, sum {}", c.server_info().name, c.protocol_version(),
                          tools->size(), r->structured_content->at("sum").to_number<double>());
  });
  EXPECT_EQ(text, "client-test-server 2025-11-25 4 tools, sum 5");
}

// Auto mode against our own server: 2026-07-28 when it answers server/discover, else a clean
// fallback to 2025-11-25; either way the era, the version and the calls agree.
TEST_F(McpClient, AutoEraAgainstOurServer) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    std::string out;
    for (int i = 0; i < 2; ++i) {  // the second connect uses the remembered era
      ClientOptions o;
      o.listen = false;
      Client c(ex, url_, o);
      auto ok = co_await c.connect();
      if (!ok) co_return ok.error().message();
      bj::object args{{"a", 20}, {"b", 22}};
      CallOptions defaults;
      auto r = co_await c.call_tool("add", std::move(args), defaults);
      co_await c.close();
      if (!r) co_return r.error().message();
      bool consistent = (c.era() == ProtocolEra::kModern && c.protocol_version() == "2026-07-28" &&
                         c.session_id().empty()) ||
                        (c.era() == ProtocolEra::kLegacy && c.protocol_version() == "2025-11-25");
      out += fmt::format("{}{} ", consistent ? "ok" : "inconsistent:" + c.protocol_version(),
                         r->structured_content->at("sum").to_number<double>());
    }
    co_return out;
  });
  EXPECT_EQ(text, "ok42 ok42 ");
}

TEST_F(McpClient, ReadsResourcesAndPrompts) {
  ASSERT_TRUE(server_->add_resource(
      Resource{.uri = "mem://a", .name = "a", .mime_type = "text/plain"},
      [](const std::string& uri, ToolContext&) -> awaitable<Result<std::vector<ResourceContents>>> {
        co_return std::vector<ResourceContents>{{uri, "text/plain", "alpha", std::nullopt}};
      }));
  ASSERT_TRUE(server_->add_prompt(
      Prompt{.name = "greet", .arguments = {{.name = "who", .required = true}}},
      [](const std::map<std::string, std::string>& a,
         ToolContext&) -> awaitable<Result<GetPromptResult>> {
        co_return GetPromptResult{std::nullopt,
                                  {PromptMessage{"user", content::text("hello " + a.at("who"))}}};
      }));
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions quiet;
    quiet.listen = false;
    quiet.protocol_era = ProtocolEra::kLegacy;
    Client c(ex, url_, quiet);
    (void)co_await c.connect();
    auto resources = co_await c.list_resources();
    auto contents = co_await c.read_resource("mem://a");
    auto prompts = co_await c.list_prompts();
    bj::object args{{"who", "Ada"}};
    auto prompt = co_await c.get_prompt("greet", std::move(args));
    auto missing = co_await c.read_resource("mem://missing");
    co_await c.close();
    if (!resources || !contents || !prompts || !prompt) co_return "failed";
    co_return fmt::format(
        "{} {} {} {} | {}", resources->size(), std::string(contents->at(0).at("text").as_string()),
        prompts->size(),
        std::string(prompt->at("messages").at(0).at("content").at("text").as_string()),
        missing ? "found?" : missing.error().message());
  });
  EXPECT_NE(text.find("1 alpha 1 hello Ada | resources/read " + url_ +
                      ": Resource not found: mem://missing"),
            std::string::npos)
      << text;
}

TEST_F(McpClient, ResumesALostStreamWithLastEventId) {
  std::vector<std::string> logs;
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions o;
    o.hooks.log = [&](const bj::object& p) { logs.push_back(bj::serialize(p.at("data"))); };
    o.protocol_era = ProtocolEra::kLegacy;  // Last-Event-ID resumption is a 2025-era mechanism
    Client c(ex, url_, o);
    (void)co_await c.connect();
    bj::object none;
    auto r = co_await c.call_tool("reconnect", std::move(none));
    co_await c.close();
    co_return r ? std::string(r->content.at(0).at("text").as_string()) : r.error().message();
  });
  EXPECT_EQ(text, "resumed");
  EXPECT_EQ(logs, (std::vector<std::string>{"\"before the break\""}));
}

TEST_F(McpClient, ReinitializesWhenTheServerForgetsTheSession) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions quiet;
    quiet.listen = false;
    quiet.protocol_era = ProtocolEra::kLegacy;  // sessions are a 2025-era mechanism
    Client c(ex, url_, quiet);
    (void)co_await c.connect();
    std::string old_session = c.session_id();
    // The server forgets the session (as after a restart).
    auto del = test::request(port_, "DELETE", "/mcp", {{"Mcp-Session-Id", old_session}}, "");
    if (del.status != 200) co_return "DELETE failed";
    bj::object args{{"a", 1}, {"b", 1}};
    auto r = co_await c.call_tool("add", std::move(args));
    std::string out = r ? "ok" : r.error().message();
    out +=
        c.session_id() != old_session && !c.session_id().empty() ? " new-session" : " same-session";
    co_await c.close();
    co_return out;
  });
  EXPECT_EQ(text, "ok new-session");
}

TEST_F(McpClient, InitializesAgainWhenItsNewSessionIsUnknownOnce) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions quiet;
    quiet.listen = false;
    quiet.protocol_era = ProtocolEra::kLegacy;
    std::string out;
    // Once: a new initialize, and the client works in its second session.
    lose_initialized_ = 1;
    {
      Client c(ex, url_, quiet);
      auto connected = co_await c.connect();
      if (connected) {
        bj::object args{{"a", 1}, {"b", 2}};
        auto r = co_await c.call_tool("add", std::move(args));
        out += r ? "ok" : r.error().message();
      } else {
        out += connected.error().message();
      }
      co_await c.close();
    }
    // Every time: the error says what the server answered; no endless loop.
    lose_initialized_ = 100;
    {
      Client c(ex, url_, quiet);
      auto connected = co_await c.connect();
      out += connected ? " connected" : " " + connected.error().message();
    }
    out += " left=" + std::to_string(lose_initialized_.load());
    co_return out;
  });
  EXPECT_TRUE(text.starts_with("ok ")) << text;
  EXPECT_NE(text.find("notifications/initialized"), std::string::npos) << text;
  EXPECT_NE(text.find("HTTP 404"), std::string::npos) << text;
  EXPECT_NE(text.find("left=98"), std::string::npos) << text;
}

TEST_F(McpClient, RefreshesARejectedTokenOnce) {
  require_token_ = "good";
  // Caches like a real provider: "stale" until the server's 401 makes the client refresh.
  struct Provider : TokenProvider {
    int refreshes = 0;
    std::string current = "stale";
    awaitable<Result<Secret>> token(bool refresh) override {
      if (refresh) {
        ++refreshes;
        current = "good";
      }
      co_return Secret(current);
    }
  };
  auto provider = std::make_shared<Provider>();
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions o;
    o.token_provider = provider;
    o.listen = false;
    o.protocol_era = ProtocolEra::kLegacy;
    Client c(ex, url_, o);
    auto ok = co_await c.connect();
    if (!ok) co_return ok.error().message();
    bj::object args{{"a", 1}, {"b", 2}};
    auto r = co_await c.call_tool("add", std::move(args));
    co_await c.close();
    co_return r ? "ok" : r.error().message();
  });
  EXPECT_EQ(text, "ok");
  EXPECT_EQ(provider->refreshes, 1);
}

TEST_F(McpClient, AWrongTokenIsAClearError) {
  require_token_ = "good";
  auto attempt = [&](ProtocolEra era) {
    return test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
      ClientOptions o;
      o.token_provider = std::make_shared<StaticTokenProvider>(Secret("wrong"));
      o.protocol_era = era;
      Client c(ex, url_, o);
      auto ok = co_await c.connect();
      co_return ok ? "connected" : ok.error().message();
    });
  };
  auto err = attempt(ProtocolEra::kLegacy);
  EXPECT_NE(err.find("initialize " + url_ + ": HTTP 401: the server rejected the bearer token"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("wrong"), std::string::npos) << "the token leaked into: " << err;
  // Auto: the first request is the era probe, and a 401 there is final (not a legacy sign).
  auto probed = attempt(ProtocolEra::kAuto);
  EXPECT_NE(
      probed.find("server/discover " + url_ + ": HTTP 401: the server rejected the bearer token"),
      std::string::npos)
      << probed;
  EXPECT_EQ(probed.find("wrong"), std::string::npos) << "the token leaked into: " << probed;
}

TEST_F(McpClient, ProgressResetsTheTimeoutUpToTheHardMaximum) {
  auto results = test::run_coroutine<std::vector<std::string>>(
      [&](Ex ex) -> awaitable<std::vector<std::string>> {
        ClientOptions o;
        o.listen = false;
        o.max_timeout = std::chrono::milliseconds(2000);
        o.protocol_era = ProtocolEra::kLegacy;
        Client c(ex, url_, o);
        (void)co_await c.connect();
        std::vector<std::string> out;
        int ticks = 0;
        CallOptions with_progress{
            .timeout = std::chrono::milliseconds(400),
            .on_progress = [&](double, std::optional<double>, std::string_view) { ++ticks; }};
        bj::object a_args{{"ms", 900}};
        auto a = co_await c.call_tool("ticking", std::move(a_args), with_progress);
        out.push_back(a ? "progress:ok" : "progress:" + std::string(to_string(a.error().code())));
        out.push_back(ticks >= 5 ? "ticks" : "few-ticks");
        CallOptions silent{.timeout = std::chrono::milliseconds(400)};
        bj::object b_args{{"ms", 900}};
        auto b = co_await c.call_tool("ticking", std::move(b_args), silent);
        out.push_back(b ? "silent:ok" : "silent:" + std::string(to_string(b.error().code())));
        // Progress every 100 ms keeps resetting the 400 ms timeout; the 2 s hard maximum still
        // ends a 5 s call.
        bj::object d_args{{"ms", 5000}};
        auto d = co_await c.call_tool("ticking", std::move(d_args), with_progress);
        out.push_back(d ? "hard:ok" : "hard:" + std::string(to_string(d.error().code())));
        if (!d)
          out.push_back(d.error().message().find("no answer within 400 ms") != std::string::npos
                            ? "named"
                            : d.error().message());
        auto p = co_await c.ping();
        out.push_back(p ? "ping" : p.error().message());
        co_await c.close();
        co_return out;
      });
  EXPECT_EQ(results, (std::vector<std::string>{"progress:ok", "ticks", "silent:timeout",
                                               "hard:timeout", "named", "ping"}));
}

TEST_F(McpClient, CancellationStopsTheServerSide) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions quiet;
    quiet.listen = false;
    quiet.protocol_era =
        ProtocolEra::kLegacy;  // notifications/cancelled (2026-07-28 closes the stream)
    Client c(ex, url_, quiet);
    (void)co_await c.connect();
    auto cancel = std::make_shared<CancelSignal>();
    // Cancelled from another thread once the tool is running (its first progress arrived).
    std::thread canceller;
    bj::object args{{"ms", 10000}};
    CallOptions opts{.on_progress =
                         [&](double, std::optional<double>, std::string_view) {
                           if (!canceller.joinable())
                             canceller = std::thread([cancel] { cancel->cancel(); });
                         },
                     .cancel = cancel};
    auto r = co_await c.call_tool("ticking", std::move(args), opts);
    if (canceller.joinable()) canceller.join();
    co_await c.close();
    if (r) co_return "not cancelled";
    co_return std::string(to_string(r.error().code()));
  });
  EXPECT_EQ(text, "cancelled");
  EXPECT_TRUE(server_cancelled_.wait(std::chrono::seconds(10)))
      << "the server never saw notifications/cancelled";
}

TEST_F(McpClient, ConcurrentCallsNeverCross) {
  auto mismatches = test::run_coroutine<int>([&](Ex ex) -> awaitable<int> {
    ClientOptions quiet;
    quiet.listen = false;
    Client c(ex, url_, quiet);
    (void)co_await c.connect();
    constexpr int kCalls = 24;
    std::vector<std::optional<double>> sums(kCalls);
    int pending = kCalls;
    boost::asio::steady_timer done(ex, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < kCalls; ++i) {
      boost::asio::co_spawn(
          ex,
          [&, i]() -> awaitable<void> {
            CallOptions o;
            if (i % 3 == 0) o.on_progress = [](double, std::optional<double>, std::string_view) {};
            bj::object args{{"a", i}, {"b", 1000}};
            auto r = co_await c.call_tool("add", std::move(args), o);
            if (r && r->structured_content)
              sums[i] = r->structured_content->at("sum").to_number<double>();
            if (--pending == 0) done.cancel();
          },
          boost::asio::detached);
    }
    co_await done.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_await c.close();
    int bad = 0;
    for (int i = 0; i < kCalls; ++i) bad += !(sums[i] && *sums[i] == i + 1000);
    co_return bad;
  });
  EXPECT_EQ(mismatches, 0);
}

TEST_F(McpClient, ElicitationAnswersGetSchemaDefaults) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions o;
    o.hooks.elicitation = [](const bj::object&) -> awaitable<Result<bj::value>> {
      co_return bj::value(
          bj::object{{"action", "accept"}, {"content", bj::object{{"name", "Grace"}}}});
    };
    o.protocol_era = ProtocolEra::kLegacy;  // a server-to-client request on the stream
    Client c(ex, url_, o);
    (void)co_await c.connect();
    bj::object none;
    auto r = co_await c.call_tool("ask", std::move(none));
    co_await c.close();
    co_return r ? std::string(r->content.at(0).at("text").as_string()) : r.error().message();
  });
  auto v = ::idp::json::parse(text);
  ASSERT_TRUE(v) << text;
  EXPECT_EQ(v->at("content").at("name").as_string(), "Grace");  // given: kept
  EXPECT_EQ(v->at("content").at("age").as_int64(), 36);         // omitted: default
}

TEST_F(McpClient, ToolListChangesReachTheHook) {
  std::atomic<int> changes{0};
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    // Ends early when the change arrives (the hook runs on this io_context's one thread).
    boost::asio::steady_timer arrived(ex, std::chrono::seconds(30));
    ClientOptions o;
    o.hooks.tools_changed = [&] {
      ++changes;
      arrived.cancel();
    };
    o.protocol_era = ProtocolEra::kLegacy;  // the standalone GET stream
    Client c(ex, url_, o);
    (void)co_await c.connect();  // returns once the standalone stream is open
    Tool extra;
    extra.name = "extra";
    (void)server_->add_tool(extra,
                            [](const bj::object&, ToolContext&) -> awaitable<CallToolResult> {
                              co_return CallToolResult::text("x");
                            });
    co_await arrived.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_await c.close();
    co_return "done";
  });
  EXPECT_EQ(text, "done");
  EXPECT_EQ(changes.load(), 1);
}

struct FaultCase {
  std::string path;
  std::string expected;
};

TEST_F(McpClient, BrokenEndpointsGiveErrorsNamingStepAndUrl) {
  std::vector<FaultCase> cases = {
      {"/html", "expected application/json or text/event-stream, got 'text/html'"},
      {"/notrpc", "the response is not a JSON-RPC response"},
      {"/huge", "exceeds 1048576 bytes"},
      {"/silent", "no answer within 300 ms"},
      {"/nowhere", "HTTP 404"},
  };
  for (const auto& fc : cases) {
    std::string url = at(fc.path);
    auto err = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
      ClientOptions o;
      o.timeout = std::chrono::milliseconds(300);
      o.http.max_response_bytes = 1024 * 1024;
      Client c(ex, url, o);
      auto ok = co_await c.connect();
      co_return ok ? "connected" : ok.error().message();
    });
    EXPECT_NE(err.find("initialize " + url + ": "), std::string::npos) << err;
    EXPECT_NE(err.find(fc.expected), std::string::npos) << fc.path << " -> " << err;
  }
}

TEST_F(McpClient, RefusedConnectionAndRemotePlainHttp) {
  std::string closed = "http://127.0.0.1:1/mcp";
  auto refused = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    Client c(ex, closed);
    auto ok = co_await c.connect();
    co_return ok ? "connected" : ok.error().message();
  });
  EXPECT_NE(refused.find(closed), std::string::npos) << refused;
  EXPECT_NE(refused.find("connect"), std::string::npos) << refused;

  auto insecure = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    Client c(ex, "http://mcp.example.com/mcp");
    auto ok = co_await c.connect();
    co_return ok ? "connected" : ok.error().message();
  });
  EXPECT_NE(insecure.find("refusing plain http:// to mcp.example.com"), std::string::npos)
      << insecure;
  EXPECT_TRUE(check_url_policy("https://mcp.example.com/mcp"));
  EXPECT_TRUE(check_url_policy("http://localhost:8080/mcp"));
  EXPECT_FALSE(check_url_policy("ftp://x/mcp"));
  EXPECT_FALSE(check_url_policy("http://127.attacker.example/mcp"));
  EXPECT_FALSE(check_url_policy("http://127.0.0.1.nip.io/mcp"));
  EXPECT_FALSE(check_url_policy("http://127.0.0.1@attacker.example/mcp"));
  EXPECT_TRUE(check_url_policy("http://[::1]:8080/mcp"));
}

// ---- the 2026-07-28 era -----------------------------------------------------------------------

// Small servers that record every request: /modern speaks 2026-07-28 only (/modern-live also
// says its tool list changes, and serves subscriptions/listen); /legacy400 is a
// 2025-era session server (no session: 400 with a plain-text body, as the TS SDK 1.x answers);
// /legacy-rpc is a stateless 2025-era server (an unknown method: 200 with JSON-RPC -32601).
class McpClientModern : public ::testing::Test {
 protected:
  struct Seen {
    std::string path;
    std::string http_method;
    std::string method;
    bj::value id;
    std::map<std::string, std::string> headers;  // lower-case names
    bj::object params;
    std::string header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "<none>" : it->second;
    }
  };

  void SetUp() override {
    forget_protocol_eras();
    http::ServerOptions ho;
    ho.threads = 1;
    ho.shutdown_grace = std::chrono::milliseconds(300);
    http_ = std::make_unique<http::Server>(ho);
    for (std::string path : {"/modern", "/modern-live", "/legacy400", "/legacy-rpc"}) {
      http_->route("*", path, [this](const http::Request& req, http::Responder& res) {
        return serve(req, res);
      });
    }
    auto port = http_->start();
    ASSERT_TRUE(port);
    port_ = *port;
  }
  void TearDown() override {
    http_->stop();
    http_->wait();
  }
  std::string at(std::string_view path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }

  std::vector<Seen> seen(std::string_view method = {}) {
    std::lock_guard lock(mu_);
    std::vector<Seen> out;
    for (const auto& s : seen_) {
      if (method.empty() || s.method == method) out.push_back(s);
    }
    return out;
  }

  static bj::object ok(const bj::value& id, bj::object result) {
    return bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
  }
  static bj::object fault(const bj::value& id, int code, std::string message) {
    return bj::object{{"jsonrpc", "2.0"},
                      {"id", id},
                      {"error", bj::object{{"code", code}, {"message", message}}}};
  }
  // Not a coroutine: the body is serialized before it returns, so the temporaries callers pass
  // in are not used after the co_await suspends (the GCC 12 rule).
  static awaitable<void> send(http::Responder& res, int status, const bj::object& body,
                              std::string session = {}) {
    http::Response r = http::Response::json(status, bj::serialize(body));
    if (!session.empty()) r.headers.add("Mcp-Session-Id", session);
    return res.send(std::move(r));
  }
  static bj::object complete(bj::object result) {
    result["resultType"] = "complete";
    return result;
  }
  static bj::object text_result(std::string text) {
    return complete(
        bj::object{{"content", bj::array{bj::object{{"type", "text"}, {"text", text}}}}});
  }
  static bj::object tool(std::string name, std::string schema) {
    return bj::object{{"name", name}, {"inputSchema", ::idp::json::parse(schema)->as_object()}};
  }

  awaitable<void> serve(const http::Request& req, http::Responder& res) {
    Seen s;
    s.path = std::string(req.path());
    s.http_method = std::string(req.method());
    for (const auto& [name, value] : req.headers()) {
      std::string lower(name);
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      // A field sent twice shows as "first, second".
      auto [it, fresh] = s.headers.emplace(lower, std::string(value));
      if (!fresh) it->second += ", " + std::string(value);
    }
    auto body = ::idp::json::parse(req.body());
    if (body && body->is_object()) {
      const bj::object& o = body->as_object();
      if (auto* m = ::idp::json::find_string(o, "method")) s.method = std::string(*m);
      if (auto it = o.find("id"); it != o.end()) s.id = it->value();
      if (auto* p = ::idp::json::find_object(o, "params")) s.params = *p;
    }
    {
      std::lock_guard lock(mu_);
      seen_.push_back(s);
    }
    if (s.http_method != "POST") {
      http::Response r = http::Response::empty(405);
      co_await res.send(std::move(r));
      co_return;
    }
    if (s.path.starts_with("/modern")) {
      co_await modern(s, res);
    } else {
      co_await legacy(s, res);
    }
  }

  awaitable<void> legacy(const Seen& s, http::Responder& res) {
    if (s.method == "initialize") {
      bj::object result{{"protocolVersion", s.params.at("protocolVersion")},
                        {"capabilities", bj::object{{"tools", bj::object{}}}},
                        {"serverInfo", bj::object{{"name", "fake-legacy"}, {"version", "1.0"}}}};
      co_await send(res, 200, ok(s.id, std::move(result)), s.path == "/legacy400" ? "sess-1" : "");
      co_return;
    }
    if (s.id.is_null()) {  // a notification
      http::Response r = http::Response::empty(202);
      co_await res.send(std::move(r));
      co_return;
    }
    if (s.path == "/legacy400" && s.header("mcp-session-id") != "sess-1") {
      http::Response r = http::Response::text(400, "Bad Request: No valid session ID provided");
      co_await res.send(std::move(r));
      co_return;
    }
    if (s.method == "tools/list") {
      bj::object result{{"tools", bj::array{tool("add", R"({"type":"object"})")}}};
      co_await send(res, 200, ok(s.id, std::move(result)));
      co_return;
    }
    co_await send(res, 200, fault(s.id, -32601, "Method not found"));
  }

  awaitable<void> modern(const Seen& s, http::Responder& res) {
    const std::string& m = s.method;
    if (m == "server/discover") {
      if (reject_discover_once_.exchange(false)) {
        bj::object e = fault(s.id, -32022, "Unsupported protocol version");
        e["error"].as_object()["data"] =
            bj::object{{"supported", bj::array{"2026-07-28"}},
                       {"requested", s.header("mcp-protocol-version")}};
        co_await send(res, 400, e);
        co_return;
      }
      bj::object tools_cap;
      if (s.path == "/modern-live") tools_cap["listChanged"] = true;
      bj::object result = complete(bj::object{{"supportedVersions", bj::array{"2026-07-28"}},
                                              {"capabilities", bj::object{{"tools", tools_cap}}},
                                              {"instructions", "be nice"}});
      result["_meta"] = bj::object{{"io.modelcontextprotocol/serverInfo",
                                    bj::object{{"name", "fake-modern"}, {"version", "3.0"}}}};
      co_await send(res, 200, ok(s.id, std::move(result)));
      co_return;
    }
    if (m == "tools/list") {
      bj::array tools{
          tool("add",
               R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}}})"),
          tool("region",
               R"({"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},
                                         "n":{"type":"object","properties":{"depth":{"type":"integer","x-mcp-header":"Depth"}}}}})"),
          tool("bad_number",
               R"({"type":"object","properties":{"x":{"type":"number","x-mcp-header":"X"}}})"),
          tool(
              "bad_nested",
              R"({"type":"object","properties":{"l":{"type":"array","items":{"type":"string","x-mcp-header":"L"}}}})"),
          tool(
              "bad_dup",
              R"({"type":"object","properties":{"a":{"type":"string","x-mcp-header":"Dup"},"b":{"type":"string","x-mcp-header":"dup"}}})"),
          tool("ask", R"({"type":"object"})")};
      bj::object result = complete(bj::object{
          {"tools", std::move(tools)}, {"ttlMs", ttl_ms_.load()}, {"cacheScope", "private"}});
      co_await send(res, 200, ok(s.id, std::move(result)));
      co_return;
    }
    if (m == "subscriptions/listen") {  // acknowledge, then list changes until the client leaves
      http::Response head;
      head.headers.add("Content-Type", "text/event-stream");
      bool open = co_await res.start_stream(std::move(head));
      bj::object ack{{"jsonrpc", "2.0"},
                     {"method", "notifications/subscriptions/acknowledged"},
                     {"params", bj::object{{"notifications", s.params.at("notifications")}}}};
      std::string frame = "data: " + bj::serialize(ack) + "\n\n";
      if (open) open = co_await res.write(frame);
      auto ex = co_await boost::asio::this_coro::executor;
      for (int i = 0; open && i < 400 && !res.stopping(); ++i) {
        boost::asio::steady_timer t(ex, std::chrono::milliseconds(25));
        co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        std::string out = ": keep-alive\n\n";
        if (fire_list_changed_.exchange(false)) {
          out = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n";
        }
        open = co_await res.write(out);
      }
      if (!open)
        listen_closed_.set();
      else
        co_await res.finish();
      co_return;
    }
    if (m == "resources/read") {
      bj::object result = complete(bj::object{
          {"contents", bj::array{bj::object{{"uri", s.params.at("uri")}, {"text", "hi"}}}},
          {"ttlMs", 0},
          {"cacheScope", "private"}});
      co_await send(res, 200, ok(s.id, std::move(result)));
      co_return;
    }
    if (m != "tools/call") {
      co_await send(res, 404, fault(s.id, -32601, "Method not found: " + m));
      co_return;
    }
    std::string name(s.params.at("name").as_string());
    const bj::object* args = ::idp::json::find_object(s.params, "arguments");
    const bj::object* responses = ::idp::json::find_object(s.params, "inputResponses");
    const bj::string* state = ::idp::json::find_string(s.params, "requestState");
    if (name == "add") {
      double sum = args->at("a").to_number<double>() + args->at("b").to_number<double>();
      bj::object result = text_result(fmt::format("{}", sum));
      result["structuredContent"] = bj::object{{"sum", sum}};
      co_await send(res, 200, ok(s.id, std::move(result)));
    } else if (name == "region") {
      std::string want =
          args && args->contains("region") ? std::string(args->at("region").as_string()) : "";
      std::string got = s.header("mcp-param-region");
      if (got.starts_with("=?base64?"))
        got = base64_decode(got.substr(9, got.size() - 11)).value_or("?");
      if (got != want) {
        co_await send(res, 400, fault(s.id, -32020, "Header mismatch: Mcp-Param-Region"));
      } else {
        co_await send(res, 200, ok(s.id, text_result("region=" + want)));
      }
    } else if (name == "ask") {  // three rounds: elicitation, then sampling + roots, then done
      if (!state) {
        bj::object schema{
            {"type", "object"},
            {"properties", bj::object{{"name", bj::object{{"type", "string"}}},
                                      {"age", bj::object{{"type", "integer"}, {"default", 36}}}}}};
        bj::object who{
            {"method", "elicitation/create"},
            {"params",
             bj::object{{"mode", "form"}, {"message", "Who?"}, {"requestedSchema", schema}}}};
        bj::object result{{"resultType", "input_required"},
                          {"inputRequests", bj::object{{"who", who}}},
                          {"requestState", "r1"}};
        co_await send(res, 200, ok(s.id, std::move(result)));
      } else if (*state == "r1" && responses) {
        const bj::object& who = responses->at("who").as_object().at("content").as_object();
        std::string next = fmt::format("r2:{}:{}", std::string(who.at("name").as_string()),
                                       who.at("age").as_int64());
        bj::object llm{
            {"method", "sampling/createMessage"},
            {"params", bj::object{{"messages",
                                   bj::array{bj::object{
                                       {"role", "user"},
                                       {"content", bj::object{{"type", "text"}, {"text", "hi"}}}}}},
                                  {"maxTokens", 10}}}};
        bj::object where{{"method", "roots/list"}, {"params", bj::object{}}};
        bj::object result{{"resultType", "input_required"},
                          {"inputRequests", bj::object{{"llm", llm}, {"where", where}}},
                          {"requestState", next}};
        co_await send(res, 200, ok(s.id, std::move(result)));
      } else if (state->starts_with("r2:") && responses) {
        std::string sampled(
            responses->at("llm").as_object().at("content").as_object().at("text").as_string());
        std::size_t roots = responses->at("where").as_object().at("roots").as_array().size();
        co_await send(
            res, 200,
            ok(s.id, text_result(fmt::format("{} {} {}", state->subview(3), sampled, roots))));
      } else {
        co_await send(res, 400, fault(s.id, -32602, "bad retry"));
      }
    } else if (name == "confirm") {  // inputRequests without requestState
      if (!responses) {
        bj::object c{
            {"method", "elicitation/create"},
            {"params", bj::object{{"message", "Sure?"},
                                  {"requestedSchema",
                                   bj::object{{"type", "object"}, {"properties", bj::object{}}}}}}};
        bj::object result{{"resultType", "input_required"},
                          {"inputRequests", bj::object{{"c", c}}}};
        co_await send(res, 200, ok(s.id, std::move(result)));
      } else {
        co_await send(res, 200, ok(s.id, text_result(state ? "state?!" : "confirmed")));
      }
    } else if (name == "loop") {  // never satisfied
      bj::object result{{"resultType", "input_required"}, {"requestState", "again"}};
      co_await send(res, 200, ok(s.id, std::move(result)));
    } else if (name == "slow") {  // an SSE stream that only ends when the client goes away
      http::Response head;
      head.headers.add("Content-Type", "text/event-stream");
      bool open = co_await res.start_stream(std::move(head));
      if (cancel_when_slow_starts_) cancel_when_slow_starts_->cancel();  // thread-safe
      auto ex = co_await boost::asio::this_coro::executor;
      for (int i = 0; open && i < 200 && !res.stopping(); ++i) {
        boost::asio::steady_timer t(ex, std::chrono::milliseconds(25));
        co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        std::string keepalive = ": keep-alive\n\n";
        open = co_await res.write(keepalive);
      }
      if (!open)
        slow_closed_.set();
      else
        co_await res.finish();
    } else {
      co_await send(res, 200, ok(s.id, text_result("unknown tool")));
    }
  }

  std::unique_ptr<http::Server> http_;
  std::uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::atomic<bool> reject_discover_once_{false};
  std::atomic<int> ttl_ms_{0};
  test::Event slow_closed_;
  std::shared_ptr<CancelSignal> cancel_when_slow_starts_;
  std::atomic<bool> fire_list_changed_{false};
  test::Event listen_closed_;
};

ClientOptions with_hooks() {
  ClientOptions o;
  o.hooks.elicitation = [](const bj::object&) -> awaitable<Result<bj::value>> {
    co_return bj::value(
        bj::object{{"action", "accept"}, {"content", bj::object{{"name", "Grace"}}}});
  };
  o.hooks.sampling = [](const bj::object&) -> awaitable<Result<bj::value>> {
    co_return bj::value(bj::object{{"role", "assistant"},
                                   {"content", bj::object{{"type", "text"}, {"text", "sampled"}}},
                                   {"model", "test"}});
  };
  o.hooks.roots = [](const bj::object&) -> awaitable<Result<bj::value>> {
    co_return bj::value(bj::object{{"roots", bj::array{bj::object{{"uri", "file:///tmp"}}}}});
  };
  return o;
}

TEST_F(McpClientModern, DiscoverSelectsTheModernEra) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    Client c(ex, at("/modern"));
    auto ok = co_await c.connect();
    if (!ok) co_return ok.error().message();
    auto p = co_await c.ping();  // 2026-07-28 has no ping: server/discover again
    co_await c.close();
    co_return fmt::format("{} {} {} {} {} {} ping:{}", to_string(c.era()), c.protocol_version(),
                          c.server_info().name, c.server_info().version, c.instructions(),
                          c.session_id().empty() ? "no-session" : "session",
                          p ? "ok" : p.error().message());
  });
  EXPECT_EQ(text, "modern 2026-07-28 fake-modern 3.0 be nice no-session ping:ok");
  auto discovers = seen("server/discover");
  ASSERT_EQ(discovers.size(), 2u);
  EXPECT_EQ(discovers[0].header("mcp-protocol-version"), "2026-07-28");
  EXPECT_EQ(discovers[0].header("mcp-method"), "server/discover");
  EXPECT_TRUE(seen("initialize").empty());
}

TEST_F(McpClientModern, EveryRequestCarriesTheHeadersAndMeta) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions o = with_hooks();
    o.info = {"meta-test", "9.9"};
    Client c(ex, at("/modern"), o);
    CallOptions defaults;  // named: GCC 12 and temporaries across co_await
    auto ok = co_await c.connect();
    if (!ok) co_return ok.error().message();
    auto tools = co_await c.list_tools();
    if (!tools) co_return tools.error().message();
    std::string names;
    for (const auto& t : *tools) names += t.name + ",";
    bj::object args{{"a", 2}, {"b", 40}};
    auto sum = co_await c.call_tool("add", std::move(args), defaults);
    bj::object nested{{"depth", 3}};
    bj::object region_args{{"region", "Zürich"}, {"n", nested}};
    auto region = co_await c.call_tool("region", std::move(region_args), defaults);
    const std::string uri = "mem://ä b";
    auto read = co_await c.read_resource(uri);
    co_await c.close();
    if (!sum || !region || !read) co_return "a call failed";
    co_return names + " " + std::string(region->content.at(0).at("text").as_string());
  });
  // The invalid x-mcp-header annotations (a number, inside items, duplicated) are left out.
  EXPECT_EQ(text, "add,region,ask, region=Zürich");
  auto all = seen();
  ASSERT_EQ(all.size(), 5u);
  for (const auto& s : all) {
    EXPECT_EQ(s.http_method, "POST") << "no GET stream, no DELETE";
    EXPECT_EQ(s.header("mcp-protocol-version"), "2026-07-28") << s.method;
    EXPECT_EQ(s.header("mcp-method"), s.method);
    EXPECT_EQ(s.header("mcp-session-id"), "<none>");
    const bj::object* meta = ::idp::json::find_object(s.params, "_meta");
    ASSERT_TRUE(meta) << s.method;
    EXPECT_EQ(meta->at("io.modelcontextprotocol/protocolVersion"), "2026-07-28");
    EXPECT_EQ(meta->at("io.modelcontextprotocol/clientInfo").at("name"), "meta-test");
    const bj::object& caps = meta->at("io.modelcontextprotocol/clientCapabilities").as_object();
    EXPECT_TRUE(caps.contains("elicitation") && caps.contains("sampling") && caps.contains("roots"))
        << bj::serialize(caps);
  }
  auto calls = seen("tools/call");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].header("mcp-name"), "add");
  EXPECT_EQ(calls[1].header("mcp-name"), "region");
  EXPECT_EQ(calls[1].header("mcp-param-region"), "=?base64?WsO8cmljaA==?=");  // non-ASCII: base64
  EXPECT_EQ(calls[1].header("mcp-param-depth"), "3");
  auto reads = seen("resources/read");
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].header("mcp-name"), "=?base64?" + base64_encode("mem://ä b") + "?=");
}

// The caller's own headers go with every request; one that names an era field (Mcp-Method) is
// replaced by the request's own, never sent besides it.
TEST_F(McpClientModern, CallersHeadersGoOutAndEraFieldsReplaceTheirs) {
  for (const bool clash : {false, true}) {
    {
      std::lock_guard lock(mu_);
      seen_.clear();
    }
    auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
      ClientOptions o = with_hooks();
      o.headers.add("X-Custom", "1");
      if (clash) o.headers.add("Mcp-Method", "wrong");
      Client c(ex, at("/modern"), o);
      CallOptions defaults;  // named: GCC 12 and temporaries across co_await
      auto ok = co_await c.connect();
      if (!ok) co_return ok.error().message();
      for (int i = 0; i < 2; ++i) {
        bj::object args{{"a", 2}, {"b", i}};
        auto sum = co_await c.call_tool("add", std::move(args), defaults);
        if (!sum) co_return sum.error().message();
      }
      co_await c.close();
      co_return "ok";
    });
    EXPECT_EQ(text, "ok");
    auto calls = seen("tools/call");
    ASSERT_EQ(calls.size(), 2u);
    for (const auto& s : calls) {
      EXPECT_EQ(s.header("x-custom"), "1") << clash;
      EXPECT_EQ(s.header("mcp-method"), "tools/call") << clash;
      EXPECT_EQ(s.header("mcp-name"), "add") << clash;
      EXPECT_EQ(s.header("content-type"), "application/json") << clash;
      EXPECT_EQ(s.header("mcp-protocol-version"), "2026-07-28") << clash;
    }
  }
}

TEST_F(McpClientModern, AnUnknownDiscoverFallsBackToInitializeAndIsRemembered) {
  for (std::string path : {"/legacy400", "/legacy-rpc"}) {
    auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
      std::string out;
      for (int i = 0; i < 2; ++i) {
        ClientOptions o;
        o.listen = false;
        Client c(ex, at(path), o);
        auto ok = co_await c.connect();
        if (!ok) co_return ok.error().message();
        auto tools = co_await c.list_tools();
        co_await c.close();
        out += fmt::format("{} {} {} {};", to_string(c.era()), c.protocol_version(),
                           c.server_info().name, tools ? tools->size() : 99);
      }
      co_return out;
    });
    EXPECT_EQ(text, "legacy 2025-11-25 fake-legacy 1;legacy 2025-11-25 fake-legacy 1;") << path;
  }
  // One probe per server: the second client went straight to initialize.
  int probes_400 = 0, probes_rpc = 0;
  for (const auto& s : seen("server/discover"))
    (s.path == "/legacy400" ? probes_400 : probes_rpc)++;
  EXPECT_EQ(probes_400, 1);
  EXPECT_EQ(probes_rpc, 1);
  EXPECT_EQ(seen("initialize").size(), 4u);
}

TEST_F(McpClientModern, ForcedErasDoNotNegotiate) {
  auto legacy = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions o;
    o.listen = false;
    o.protocol_era = ProtocolEra::kLegacy;
    Client c(ex, at("/legacy400"), o);
    auto ok = co_await c.connect();
    co_await c.close();
    co_return ok ? c.protocol_version() : ok.error().message();
  });
  EXPECT_EQ(legacy, "2025-11-25");
  EXPECT_TRUE(seen("server/discover").empty());
  auto modern = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions o;
    o.protocol_era = ProtocolEra::kModern;
    Client c(ex, at("/legacy400"), o);
    auto ok = co_await c.connect();
    co_return ok ? c.protocol_version() : ok.error().message();
  });
  EXPECT_NE(modern.find("server/discover " + at("/legacy400")), std::string::npos) << modern;
  EXPECT_NE(modern.find("2026-07-28"), std::string::npos) << modern;
  EXPECT_EQ(seen("initialize").size(), 1u);  // only the forced-legacy client's
}

TEST_F(McpClientModern, UnsupportedVersionGetsOneCorrectedRetry) {
  reject_discover_once_ = true;
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    Client c(ex, at("/modern"));
    auto ok = co_await c.connect();
    co_return ok ? std::string(to_string(c.era())) + " " + c.protocol_version()
                 : ok.error().message();
  });
  EXPECT_EQ(text, "modern 2026-07-28");
  EXPECT_EQ(seen("server/discover").size(), 2u);
}

TEST_F(McpClientModern, InputRequiredResultsGoThroughTheHooks) {
  int elicited = 0;
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions o = with_hooks();
    auto inner = o.hooks.elicitation;
    o.hooks.elicitation = [&, inner](const bj::object& p) -> awaitable<Result<bj::value>> {
      ++elicited;
      co_return co_await inner(p);
    };
    Client c(ex, at("/modern"), o);
    CallOptions defaults;  // named: GCC 12 and temporaries across co_await
    (void)co_await c.connect();
    bj::object none;
    auto r = co_await c.call_tool("ask", std::move(none), defaults);
    bj::object none2;
    auto confirmed = co_await c.call_tool("confirm", std::move(none2), defaults);
    co_await c.close();
    if (!r || !confirmed) co_return (r ? confirmed : r).error().message();
    co_return std::string(r->content.at(0).at("text").as_string()) + " " +
        std::string(confirmed->content.at(0).at("text").as_string());
  });
  // The elicitation answer got the schema's default age; sampling and roots answered round 2.
  EXPECT_EQ(text, "Grace:36 sampled 1 confirmed");
  EXPECT_EQ(elicited, 2);
  auto calls = seen("tools/call");
  ASSERT_EQ(calls.size(), 5u);
  std::set<std::string> ids;
  for (const auto& s : calls) ids.insert(bj::serialize(s.id));
  EXPECT_EQ(ids.size(), 5u) << "every retry is a new request";
  EXPECT_FALSE(calls[0].params.contains("inputResponses"));
  EXPECT_FALSE(calls[0].params.contains("requestState"));
  EXPECT_EQ(calls[1].params.at("requestState"), "r1");
  EXPECT_EQ(calls[1].params.at("inputResponses").at("who").at("action"), "accept");
  EXPECT_EQ(calls[2].params.at("requestState"), "r2:Grace:36");
  EXPECT_FALSE(calls[2].params.at("inputResponses").as_object().contains("who"))
      << "only this round's answers";
  EXPECT_TRUE(calls[4].params.contains("inputResponses"));
  EXPECT_FALSE(calls[4].params.contains("requestState")) << "none was given, none goes back";
  for (const auto& s : calls)
    EXPECT_EQ(s.header("mcp-name"), std::string(s.params.at("name").as_string()));
}

TEST_F(McpClientModern, InputRoundsAreBoundedAndMissingHooksFail) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    ClientOptions o;  // no hooks
    o.max_input_rounds = 3;
    Client c(ex, at("/modern"), o);
    CallOptions defaults;  // named: GCC 12 and temporaries across co_await
    (void)co_await c.connect();
    bj::object none;
    auto loop = co_await c.call_tool("loop", std::move(none), defaults);
    bj::object none2;
    auto ask = co_await c.call_tool("ask", std::move(none2), defaults);
    co_await c.close();
    co_return (loop ? "loop ok?!" : loop.error().message()) + " | " +
        (ask ? "ask ok?!" : ask.error().message());
  });
  EXPECT_NE(
      text.find("tools/call " + at("/modern") + ": the server still asks for input after 3 rounds"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("input 'who' (elicitation/create): Method not supported by this client"),
            std::string::npos)
      << text;
  EXPECT_EQ(seen("tools/call").size(), 4u + 1u);
}

TEST_F(McpClientModern, TheToolListIsCachedForItsTtl) {
  auto lists = [&](int ttl) {
    ttl_ms_ = ttl;
    std::size_t before = seen("tools/list").size();
    auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
      Client c(ex, at("/modern"));
      (void)co_await c.connect();
      auto a = co_await c.list_tools();
      auto b = co_await c.list_tools();
      co_await c.close();
      co_return a&& b && a->size() == b->size() ? "same" : "different";
    });
    EXPECT_EQ(text, "same");
    return seen("tools/list").size() - before;
  };
  EXPECT_EQ(lists(60'000), 1u);  // the second listing came from the cache
  EXPECT_EQ(lists(60'000), 1u);  // per client: a new client lists again
  EXPECT_EQ(lists(0), 2u);       // ttlMs 0: no caching
}

TEST_F(McpClientModern, AHeaderMismatchListsTheToolsAgainAndRetries) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    Client c(ex, at("/modern"));
    CallOptions defaults;  // named: GCC 12 and temporaries across co_await
    (void)co_await c.connect();
    bj::object args{{"region", "eu-west-1"}};
    auto r = co_await c.call_tool("region", std::move(args),
                                  defaults);  // not listed yet: no Mcp-Param-Region
    co_await c.close();
    co_return r ? std::string(r->content.at(0).at("text").as_string()) : r.error().message();
  });
  EXPECT_EQ(text, "region=eu-west-1");
  auto all = seen();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].method, "tools/call");
  EXPECT_EQ(all[1].header("mcp-param-region"), "<none>");
  EXPECT_EQ(all[2].method, "tools/list");
  EXPECT_EQ(all[3].header("mcp-param-region"), "eu-west-1");
}

TEST_F(McpClientModern, ListChangesArriveOnSubscriptionsListenAndEmptyTheCache) {
  ttl_ms_ = 60'000;
  std::atomic<int> changes{0};
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    boost::asio::steady_timer arrived(ex, std::chrono::seconds(30));
    ClientOptions o;
    o.hooks.tools_changed = [&] {
      ++changes;
      arrived.cancel();
    };
    Client c(ex, at("/modern-live"), o);
    auto ok = co_await c.connect();  // returns once the listen stream is open
    if (!ok) co_return ok.error().message();
    (void)co_await c.list_tools();
    (void)co_await c.list_tools();  // cached
    fire_list_changed_ = true;
    co_await arrived.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)co_await c.list_tools();  // the change emptied the cache
    co_await c.close();
    co_return "done";
  });
  EXPECT_EQ(text, "done");
  EXPECT_EQ(changes.load(), 1);
  EXPECT_EQ(seen("tools/list").size(), 2u);
  auto listens = seen("subscriptions/listen");
  ASSERT_EQ(listens.size(), 1u);
  EXPECT_EQ(listens[0].header("mcp-method"), "subscriptions/listen");
  EXPECT_EQ(listens[0].params.at("notifications").at("toolsListChanged"), true);
  EXPECT_TRUE(listen_closed_.wait(std::chrono::seconds(10))) << "close() must end the subscription";
}

TEST_F(McpClientModern, CancellingClosesTheStream) {
  auto text = test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
    Client c(ex, at("/modern"));
    (void)co_await c.connect();
    auto cancel = std::make_shared<CancelSignal>();
    cancel_when_slow_starts_ = cancel;  // the server cancels once the call's stream is open
    bj::object none;
    CallOptions opts{.cancel = cancel};
    auto r = co_await c.call_tool("slow", std::move(none), opts);
    co_await c.close();
    co_return r ? "not cancelled" : std::string(to_string(r.error().code()));
  });
  EXPECT_EQ(text, "cancelled");
  EXPECT_TRUE(slow_closed_.wait(std::chrono::seconds(10)))
      << "the server never saw the stream close";
  EXPECT_TRUE(seen("notifications/cancelled").empty())
      << "2026-07-28 cancels by closing the stream";
}

TEST(McpClientTls, UnknownCaIsRejectedAndAGivenCaIsTrusted) {
  auto dir = std::filesystem::temp_directory_path() / ("idp-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string key = (dir / "key.pem").string(), cert = (dir / "cert.pem").string();
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  Server server(ServerOptions{});
  http::ServerOptions ho;
  ho.tls_cert_file = cert;
  ho.tls_key_file = key;
  http::Server http(ho);
  StreamableHttpServer transport(server, {});
  transport.attach(http);
  auto port = http.start();
  ASSERT_TRUE(port);
  std::string url = fmt::format("https://127.0.0.1:{}/mcp", *port);
  auto attempt = [&](std::string ca) {
    return test::run_coroutine<std::string>([&](Ex ex) -> awaitable<std::string> {
      ClientOptions o;
      o.http.ca_file = ca;
      o.listen = false;
      Client c(ex, url, o);
      auto ok = co_await c.connect();
      co_await c.close();
      co_return ok ? "connected" : ok.error().message();
    });
  };
  auto unknown = attempt("");
  EXPECT_NE(unknown.find("certificate verify failed"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find(url), std::string::npos) << unknown;
  EXPECT_EQ(attempt(cert), "connected");
  http.stop();
  http.wait();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace idp::mcp

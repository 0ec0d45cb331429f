// The MCP client against our server and against deliberately broken endpoints: every fault
// gives an error that names the step and the URL, and the robustness rules hold (resume a lost
// stream, re-initialize a forgotten session, refresh a rejected token, progress resets the
// timeout up to a hard maximum, cancellation, concurrent calls never cross). Tests of 2025-era
// mechanisms pin the legacy protocol era (our server may speak both).
// McpClientTls: the client trusts only a CA it is given.
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
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "../lib/run_coroutine.h"
#include "idp/core/json_util.h"
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

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
#include <map>
#include <mutex>
#include <set>

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

}  // namespace
}  // namespace idp::mcp

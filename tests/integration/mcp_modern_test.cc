// The 2026-07-28 (stateless) era of the Streamable HTTP server, end to end over raw HTTP, as a
// client sees it: server/discover, the header and _meta rules with their exact statuses and
// JSON-RPC codes, 405 for GET and DELETE, resultType / caching hints / serverInfo on results,
// multi round-trip requests (including a tampered requestState), per-request log levels,
// subscriptions/listen, cancellation by closing the stream, and legacy clients (initialize and a
// session) on the same endpoint.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <thread>

#include "idp/core/json_util.h"
#include "idp/core/random.h"
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

constexpr const char* kVersion = "2026-07-28";

bj::value body_json(const std::string& s) {
  auto v = ::idp::json::parse(s);
  EXPECT_TRUE(v) << "not JSON: " << s;
  return v ? *v : bj::value();
}

bj::object parse_object(std::string_view text) { return ::idp::json::parse(text)->as_object(); }

// The request _meta of 2026-07-28.
bj::object meta(bj::object caps = {}, std::string_view version = kVersion) {
  return bj::object{
      {"io.modelcontextprotocol/protocolVersion", version},
      {"io.modelcontextprotocol/clientInfo", bj::object{{"name", "raw"}, {"version", "1"}}},
      {"io.modelcontextprotocol/clientCapabilities", std::move(caps)}};
}

std::string rpc(const bj::value& id, std::string_view method, bj::object params) {
  return bj::serialize(bj::object{
      {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
}

class McpModern : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions so;
    so.info = {"modern-test-server", "3.1"};
    so.cache_ttl_ms = 30'000;
    server_ = std::make_unique<Server>(so);

    Tool add;
    add.name = "add";
    add.description = "Adds two numbers";
    add.input_schema = parse_object(R"({"type":"object","properties":{"a":{"type":"number"},
        "b":{"type":"number"}},"required":["a","b"]})");
    ASSERT_TRUE(
        server_->add_tool(add, [](const bj::object& a, ToolContext&) -> awaitable<CallToolResult> {
          co_return CallToolResult::text(
              fmt::format("{}", a.at("a").to_number<double>() + a.at("b").to_number<double>()));
        }));
    // Two questions in two rounds; the answers come back through inputResponses/requestState.
    Tool greet;
    greet.name = "greet";
    greet.input_schema =
        parse_object(R"({"type":"object","properties":{"style":{"type":"string"}}})");
    ASSERT_TRUE(server_->add_tool(
        greet, [this](const bj::object& args, ToolContext& ctx) -> awaitable<CallToolResult> {
          ++greet_runs_;
          bj::object first =
              parse_object(R"({"message":"Your name?","requestedSchema":{"type":"object",
          "properties":{"name":{"type":"string"}},"required":["name"]}})");
          auto name = co_await ctx.elicit(std::move(first), "name");
          if (!name) co_return CallToolResult::error(name.error().message());
          bj::object second = parse_object(R"({"messages":[{"role":"user","content":{"type":"text",
          "text":"A greeting word"}}],"maxTokens":10})");
          auto word = co_await ctx.create_message(std::move(second));
          if (!word) co_return CallToolResult::error(word.error().message());
          std::string style =
              args.contains("style") ? std::string(args.at("style").as_string()) : "plain";
          co_return CallToolResult::text(
              fmt::format("{} {} ({}, resumed={})", word->at("content").at("text").as_string(),
                          name->at("content").at("name").as_string(), style, ctx.resumed()));
        }));
    Tool logs;
    logs.name = "logs";
    ASSERT_TRUE(server_->add_tool(
        logs, [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
          ctx.log(LogLevel::kDebug, "debug line");
          ctx.log(LogLevel::kWarning, "warning line");
          co_return CallToolResult::text("logged");
        }));
    Tool slow;
    slow.name = "slow";
    ASSERT_TRUE(server_->add_tool(
        slow, [this](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
          ctx.progress(0, 1);
          bool finished = co_await ctx.sleep(std::chrono::seconds(20));
          if (!finished) cancelled_.set();
          co_return CallToolResult::text("slept");
        }));
    Tool region;
    region.name = "region";
    region.input_schema = parse_object(R"({"type":"object","properties":{"region":{"type":"string",
        "x-mcp-header":"Region"},"count":{"type":"integer","x-mcp-header":"Count"}},"required":["region"]})");
    ASSERT_TRUE(server_->add_tool(
        region, [](const bj::object& a, ToolContext&) -> awaitable<CallToolResult> {
          co_return CallToolResult::text(std::string(a.at("region").as_string()));
        }));
    ASSERT_TRUE(server_->add_resource(
        Resource{.uri = "mem://hello", .name = "hello", .mime_type = "text/plain"},
        [](const std::string& uri,
           ToolContext&) -> awaitable<Result<std::vector<ResourceContents>>> {
          co_return std::vector<ResourceContents>{{uri, "text/plain", "hi", std::nullopt}};
        }));
    ASSERT_TRUE(server_->add_prompt(Prompt{.name = "welcome", .description = "A welcome"},
                                    [](const std::map<std::string, std::string>&,
                                       ToolContext&) -> awaitable<Result<GetPromptResult>> {
                                      co_return GetPromptResult{
                                          std::nullopt,
                                          {PromptMessage{"user", content::text("welcome")}}};
                                    }));

    http::ServerOptions ho;
    ho.threads = 2;
    ho.shutdown_grace = std::chrono::milliseconds(500);
    http_ = std::make_unique<http::Server>(ho);
    StreamableHttpOptions mo;
    mo.keepalive_interval = std::chrono::milliseconds(200);
    transport_ = std::make_unique<StreamableHttpServer>(*server_, mo);
    transport_->attach(*http_);
    auto port = http_->start();
    ASSERT_TRUE(port) << port.error().message();
    port_ = *port;
  }

  void TearDown() override {
    http_->stop();
    http_->wait();
  }

  // The headers a 2026-07-28 client sends for `method` (and Mcp-Name when given).
  static Hdrs headers(std::string_view method, std::optional<std::string> name = std::nullopt,
                      std::string_view version = kVersion) {
    Hdrs h = {{"Content-Type", "application/json"},
              {"Accept", "application/json, text/event-stream"},
              {"MCP-Protocol-Version", std::string(version)},
              {"Mcp-Method", std::string(method)}};
    if (name) h.emplace_back("Mcp-Name", *name);
    return h;
  }

  // A well-formed 2026-07-28 request: headers mirror the body, _meta carries `caps`.
  RawResponse call(const bj::value& id, std::string_view method, bj::object params,
                   bj::object caps = {}, Hdrs extra = {}) {
    std::optional<std::string> name;
    if (auto* n = ::idp::json::find_string(params, method == "resources/read" ? "uri" : "name")) {
      name = std::string(*n);
    }
    params["_meta"] = meta(std::move(caps));
    Hdrs h = headers(method, name);
    for (auto& e : extra) h.push_back(e);
    return test::request(port_, "POST", "/mcp", h, rpc(id, method, std::move(params)));
  }

  // Asserts a JSON-RPC error with that HTTP status and code, echoing the request id.
  static bj::object expect_error(const RawResponse& r, int status, int code, const bj::value& id,
                                 const std::string& text = {}) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = body_json(r.body);
    if (!j.is_object() || !j.as_object().contains("error")) {
      ADD_FAILURE() << "not an error response: " << r.body;
      return {};
    }
    EXPECT_EQ(j.at("error").at("code").as_int64(), code) << r.body;
    EXPECT_EQ(j.at("id"), id) << r.body;
    EXPECT_NE(std::string(j.at("error").at("message").as_string()).find(text), std::string::npos)
        << "message lacks '" << text << "': " << r.body;
    return j.at("error").as_object();
  }

  static bj::object result_of(const RawResponse& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = body_json(r.body);
    if (!j.is_object() || !j.as_object().contains("result")) {
      ADD_FAILURE() << "no result: " << r.body;
      return {};
    }
    return j.at("result").as_object();
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<StreamableHttpServer> transport_;
  std::uint16_t port_ = 0;
  test::Event cancelled_;
  std::atomic<int> greet_runs_{0};
};

TEST_F(McpModern, DiscoverAdvertisesVersionsCapabilitiesAndIdentity) {
  auto r = call(1, "server/discover", {});
  EXPECT_EQ(r.header("Mcp-Session-Id"), "");
  auto res = result_of(r);
  auto& versions = res.at("supportedVersions").as_array();
  EXPECT_EQ(versions.at(0).as_string(), "2026-07-28");
  EXPECT_NE(std::find(versions.begin(), versions.end(), bj::value("2025-11-25")), versions.end());
  EXPECT_TRUE(res.at("capabilities").at("tools").at("listChanged").as_bool());
  EXPECT_TRUE(res.at("capabilities").as_object().contains("resources"));
  EXPECT_TRUE(res.at("capabilities").as_object().contains("prompts"));
  EXPECT_EQ(res.at("resultType").as_string(), "complete");
  EXPECT_EQ(res.at("ttlMs").as_int64(), 30'000);
  EXPECT_EQ(res.at("cacheScope").as_string(), "private");
  EXPECT_EQ(res.at("_meta").at("io.modelcontextprotocol/serverInfo").at("name").as_string(),
            "modern-test-server");
  EXPECT_EQ(transport_->session_count(), 0u);
}

TEST_F(McpModern, ResultsCarryResultTypeCachingHintsAndServerInfo) {
  for (const char* method :
       {"tools/list", "resources/list", "resources/templates/list", "prompts/list"}) {
    auto res = result_of(call(2, method, {}));
    EXPECT_EQ(res.at("resultType").as_string(), "complete") << method;
    EXPECT_EQ(res.at("ttlMs").as_int64(), 30'000) << method;
    EXPECT_EQ(res.at("cacheScope").as_string(), "private") << method;
    EXPECT_EQ(res.at("_meta").at("io.modelcontextprotocol/serverInfo").at("version").as_string(),
              "3.1");
  }
  auto read = result_of(call(3, "resources/read", {{"uri", "mem://hello"}}));
  EXPECT_EQ(read.at("contents").at(0).at("text").as_string(), "hi");
  EXPECT_EQ(read.at("ttlMs").as_int64(), 30'000);
  EXPECT_EQ(read.at("cacheScope").as_string(), "private");

  auto sum = result_of(
      call(4, "tools/call", {{"name", "add"}, {"arguments", bj::object{{"a", 2}, {"b", 3}}}}));
  EXPECT_EQ(sum.at("content").at(0).at("text").as_string(), "5");
  EXPECT_EQ(sum.at("resultType").as_string(), "complete");
  EXPECT_FALSE(sum.contains("ttlMs"));  // not a cacheable result
  EXPECT_EQ(sum.at("_meta").at("io.modelcontextprotocol/serverInfo").at("name").as_string(),
            "modern-test-server");
  auto prompt = result_of(call(5, "prompts/get", {{"name", "welcome"}}));
  EXPECT_EQ(prompt.at("resultType").as_string(), "complete");
  EXPECT_EQ(prompt.at("messages").at(0).at("content").at("text").as_string(), "welcome");
}

TEST_F(McpModern, HeadersMustMirrorTheBody) {
  bj::object list_params{{"_meta", meta()}};
  std::string body = rpc(7, "tools/list", list_params);
  // Mcp-Method missing, or not the body's method (values are case-sensitive).
  Hdrs no_method = headers("tools/list");
  std::erase_if(no_method, [](auto& h) { return h.first == "Mcp-Method"; });
  expect_error(test::request(port_, "POST", "/mcp", no_method, body), 400, -32020, 7,
               "Mcp-Method header is missing");
  expect_error(test::request(port_, "POST", "/mcp", headers("TOOLS/LIST"), body), 400, -32020, 7,
               "does not match body method 'tools/list'");
  // Header names are case-insensitive and values may carry optional whitespace.
  Hdrs lower = {{"content-type", "application/json"},
                {"accept", "application/json, text/event-stream"},
                {"mcp-protocol-version", kVersion},
                {"mcp-method", "  tools/list "}};
  EXPECT_EQ(test::request(port_, "POST", "/mcp", lower, body).status, 200);

  // Mcp-Name for tools/call: missing, mismatched, or Base64 sentinel.
  bj::object call_params{
      {"name", "add"}, {"arguments", bj::object{{"a", 1}, {"b", 1}}}, {"_meta", meta()}};
  std::string call_body = rpc("c1", "tools/call", call_params);
  expect_error(test::request(port_, "POST", "/mcp", headers("tools/call"), call_body), 400, -32020,
               "c1", "Mcp-Name header is missing");
  expect_error(test::request(port_, "POST", "/mcp", headers("tools/call", "sub"), call_body), 400,
               -32020, "c1", "Mcp-Name header value 'sub' does not match body value 'add'");
  auto encoded =
      test::request(port_, "POST", "/mcp",
                    headers("tools/call", "=?base64?" + base64_encode("add") + "?="), call_body);
  EXPECT_EQ(result_of(encoded).at("content").at(0).at("text").as_string(), "2");
  expect_error(
      test::request(port_, "POST", "/mcp", headers("tools/call", "=?base64?YWR!?="), call_body),
      400, -32020, "c1", "malformed");

  // MCP-Protocol-Version must equal the _meta version.
  bj::object other{{"_meta", meta({}, "2099-01-01")}};
  expect_error(
      test::request(port_, "POST", "/mcp", headers("tools/list"), rpc(8, "tools/list", other)), 400,
      -32020, 8, "does not match params._meta protocolVersion '2099-01-01'");
}

TEST_F(McpModern, CustomParameterHeadersMustMirrorTheArguments) {
  auto with = [&](Hdrs extra, bj::object args) {
    return call(9, "tools/call", {{"name", "region"}, {"arguments", std::move(args)}}, {},
                std::move(extra));
  };
  EXPECT_EQ(result_of(with({{"Mcp-Param-Region", "eu-west-1"}}, {{"region", "eu-west-1"}}))
                .at("content")
                .at(0)
                .at("text")
                .as_string(),
            "eu-west-1");
  // Integers compare as numbers; Base64 sentinels are decoded first.
  EXPECT_EQ(with({{"Mcp-Param-Region", "=?base64?" + base64_encode("Zürich") + "?="},
                  {"Mcp-Param-Count", "42.0"}},
                 {{"region", "Zürich"}, {"count", 42}})
                .status,
            200);
  expect_error(with({}, {{"region", "eu-west-1"}}), 400, -32020, 9,
               "Mcp-Param-Region header is missing");
  expect_error(with({{"Mcp-Param-Region", "us-east-1"}}, {{"region", "eu-west-1"}}), 400, -32020, 9,
               "does not match arguments.region");
  expect_error(with({{"Mcp-Param-Region", "=?base64?SGVsbG8?="}}, {{"region", "Hello"}}), 400,
               -32020, 9, "malformed");

  // A tool whose x-mcp-header annotation is invalid is refused at registration.
  Tool bad;
  bad.name = "bad";
  bad.input_schema =
      parse_object(R"({"type":"object","properties":{"n":{"type":"number","x-mcp-header":"N"}}})");
  auto added =
      server_->add_tool(bad, [](const bj::object&, ToolContext&) -> awaitable<CallToolResult> {
        co_return CallToolResult::text("");
      });
  ASSERT_FALSE(added);
  EXPECT_NE(added.error().message().find("x-mcp-header"), std::string::npos)
      << added.error().message();
}

TEST_F(McpModern, VersionAndMetaErrors) {
  // An unknown version: 400 / -32022 listing what the server supports.
  bj::object p{{"_meta", meta({}, "2099-01-01")}};
  auto r =
      test::request(port_, "POST", "/mcp", headers("server/discover", std::nullopt, "2099-01-01"),
                    rpc(10, "server/discover", p));
  auto err = expect_error(r, 400, -32022, 10, "Unsupported protocol version '2099-01-01'");
  EXPECT_EQ(err.at("data").at("requested").as_string(), "2099-01-01");
  auto& supported = err.at("data").at("supported").as_array();
  EXPECT_NE(std::find(supported.begin(), supported.end(), bj::value("2026-07-28")),
            supported.end());

  // _meta without the version or the capabilities: 400 / -32602.
  expect_error(test::request(port_, "POST", "/mcp", headers("server/discover"),
                             rpc(11, "server/discover", {})),
               400, -32602, 11, "params._meta must carry");
  bj::object no_caps{{"_meta", bj::object{{"io.modelcontextprotocol/protocolVersion", kVersion}}}};
  expect_error(test::request(port_, "POST", "/mcp", headers("server/discover"),
                             rpc(12, "server/discover", no_caps)),
               400, -32602, 12, "clientCapabilities");
  // clientInfo is optional.
  bj::object no_info{
      {"_meta", bj::object{{"io.modelcontextprotocol/protocolVersion", kVersion},
                           {"io.modelcontextprotocol/clientCapabilities", bj::object{}}}}};
  EXPECT_EQ(test::request(port_, "POST", "/mcp", headers("server/discover"),
                          rpc(13, "server/discover", no_info))
                .status,
            200);
}

TEST_F(McpModern, UnknownAndRemovedMethodsAre404) {
  for (const char* method :
       {"unknown/method", "ping", "initialize", "logging/setLevel", "resources/subscribe"}) {
    auto r = call("m-1", method, {});
    expect_error(r, 404, -32601, "m-1", "Method not found");
  }
}

TEST_F(McpModern, GetAndDeleteAre405) {
  for (const char* verb : {"GET", "DELETE"}) {
    auto r =
        test::request(port_, verb, "/mcp",
                      {{"Accept", "text/event-stream"}, {"MCP-Protocol-Version", kVersion}}, "");
    EXPECT_EQ(r.status, 405) << verb << ": " << r.body;
    EXPECT_EQ(r.header("Allow"), "POST");
  }
}

TEST_F(McpModern, AStraySessionIdIsIgnored) {
  // Sessions cannot negotiate 2026-07-28: with that version header the request stands alone.
  auto r = call(16, "tools/list", {}, {}, {{"Mcp-Session-Id", "left-over-from-an-old-session"}});
  EXPECT_EQ(result_of(r).at("resultType").as_string(), "complete");
  EXPECT_EQ(r.header("Mcp-Session-Id"), "");
}

TEST_F(McpModern, ResourceNotFoundIsInvalidParams) {
  auto err = expect_error(call(14, "resources/read", {{"uri", "mem://missing"}}), 200, -32602, 14,
                          "Resource not found");
  EXPECT_EQ(err.at("data").at("uri").as_string(), "mem://missing");
}

TEST_F(McpModern, UndeclaredClientCapabilityIs32021) {
  // greet needs elicitation; this client declared none.
  auto err = expect_error(call(15, "tools/call", {{"name", "greet"}}), 400, -32021, 15,
                          "Missing required client capability");
  EXPECT_TRUE(err.at("data").at("requiredCapabilities").at("elicitation").is_object());
}

TEST_F(McpModern, InputRequiredRoundTrip) {
  bj::object caps{{"elicitation", bj::object{}}, {"sampling", bj::object{}}};
  bj::object args{{"style", "warm"}};
  // Round 1: the name is asked.
  auto r1 = result_of(call(20, "tools/call", {{"name", "greet"}, {"arguments", args}}, caps));
  ASSERT_EQ(r1.at("resultType").as_string(), "input_required") << bj::serialize(r1);
  EXPECT_EQ(r1.at("inputRequests").at("name").at("method").as_string(), "elicitation/create");
  EXPECT_EQ(r1.at("inputRequests").as_object().size(), 1u);
  std::string state1(r1.at("requestState").as_string());

  // Round 2: the name is given; the sampling question follows, with a new state.
  bj::object answers{
      {"name", bj::object{{"action", "accept"}, {"content", bj::object{{"name", "Ada"}}}}}};
  auto r2 = result_of(call(21, "tools/call",
                           {{"name", "greet"},
                            {"arguments", args},
                            {"inputResponses", answers},
                            {"requestState", state1}},
                           caps));
  ASSERT_EQ(r2.at("resultType").as_string(), "input_required") << bj::serialize(r2);
  EXPECT_EQ(r2.at("inputRequests").at("sampling-1").at("method").as_string(),
            "sampling/createMessage");
  std::string state2(r2.at("requestState").as_string());
  EXPECT_NE(state2, state1);

  // Round 3: only this round's answer; the name travels in the signed state.
  bj::object word{
      {"sampling-1", bj::object{{"role", "assistant"},
                                {"model", "m"},
                                {"content", bj::object{{"type", "text"}, {"text", "Hello"}}}}}};
  auto r3 = result_of(call(
      22, "tools/call",
      {{"name", "greet"}, {"arguments", args}, {"inputResponses", word}, {"requestState", state2}},
      caps));
  EXPECT_EQ(r3.at("resultType").as_string(), "complete");
  EXPECT_EQ(r3.at("content").at(0).at("text").as_string(), "Hello Ada (warm, resumed=true)");
  EXPECT_EQ(greet_runs_.load(), 3);

  // A tampered state, a state for other arguments or another tool: -32602, the tool never runs.
  auto tampered = call(23, "tools/call",
                       {{"name", "greet"},
                        {"arguments", args},
                        {"inputResponses", word},
                        {"requestState", state2 + "x"}},
                       caps);
  expect_error(tampered, 200, -32602, 23, "integrity");
  bj::object other_args{{"style", "cold"}};
  expect_error(call(24, "tools/call",
                    {{"name", "greet"},
                     {"arguments", other_args},
                     {"inputResponses", word},
                     {"requestState", state2}},
                    caps),
               200, -32602, 24, "other arguments");
  expect_error(call(25, "tools/call",
                    {{"name", "add"},
                     {"arguments", bj::object{{"a", 1}, {"b", 2}}},
                     {"requestState", state2}},
                    caps),
               200, -32602, 25, "another request");
  EXPECT_EQ(greet_runs_.load(), 3);

  // Malformed inputResponses are refused too.
  bj::object bad{{"name", 12345}};
  expect_error(call(26, "tools/call",
                    {{"name", "greet"}, {"arguments", args}, {"inputResponses", bad}}, caps),
               200, -32602, 26, "inputResponses['name'] must be an object");
}

TEST_F(McpModern, LogsFollowThePerRequestLevel) {
  // No logLevel: no notifications/message at all (a plain JSON answer).
  auto quiet = call(30, "tools/call", {{"name", "logs"}});
  EXPECT_EQ(quiet.header("Content-Type"), "application/json");
  EXPECT_EQ(quiet.body.find("notifications/message"), std::string::npos) << quiet.body;

  bj::object params{{"name", "logs"}};
  bj::object m = meta();
  m["io.modelcontextprotocol/logLevel"] = "info";
  params["_meta"] = m;
  auto loud = test::request(port_, "POST", "/mcp", headers("tools/call", "logs"),
                            rpc(31, "tools/call", params));
  EXPECT_EQ(loud.header("Content-Type"), "text/event-stream");
  auto events = test::sse_data(loud.body);
  ASSERT_EQ(events.size(), 2u) << loud.body;  // the warning, then the result (debug is below info)
  EXPECT_EQ(body_json(events[0]).at("params").at("level").as_string(), "warning");
  EXPECT_EQ(body_json(events[1]).at("result").at("resultType").as_string(), "complete");
  for (const auto& id : test::sse_ids(loud.body)) EXPECT_EQ(id, "");  // nothing to resume

  m["io.modelcontextprotocol/logLevel"] = "loud";
  params["_meta"] = m;
  expect_error(test::request(port_, "POST", "/mcp", headers("tools/call", "logs"),
                             rpc(32, "tools/call", params)),
               400, -32602, 32, "logLevel");
}

TEST_F(McpModern, ClosingTheResponseStreamCancelsTheRequest) {
  test::RawConnection conn(port_);
  bj::object params{{"name", "slow"}};
  bj::object m = meta();
  m["progressToken"] = "p1";
  params["_meta"] = m;
  conn.send("POST", "/mcp", headers("tools/call", "slow"), rpc(40, "tools/call", params));
  auto head = conn.read_until("notifications/progress");
  ASSERT_EQ(head.status, 200) << head.body;
  conn.close();
  EXPECT_TRUE(cancelled_.wait(std::chrono::seconds(10))) << "closing the stream did not cancel the request";
}

TEST_F(McpModern, SubscriptionsListenDeliversOnlyWhatWasAskedFor) {
  test::RawConnection conn(port_);
  bj::object params{
      {"notifications", bj::object{{"toolsListChanged", true}, {"unknownThing", true}}},
      {"_meta", meta()}};
  conn.send("POST", "/mcp", headers("subscriptions/listen"),
            rpc("sub-1", "subscriptions/listen", params));
  auto head = conn.read_until("acknowledged");
  ASSERT_EQ(head.status, 200) << head.body;
  auto ack = body_json(test::sse_data(head.body).at(0));
  EXPECT_EQ(ack.at("method").as_string(), "notifications/subscriptions/acknowledged");
  EXPECT_EQ(ack.at("params").at("notifications").as_object(),
            (bj::object{{"toolsListChanged", true}}));
  EXPECT_EQ(ack.at("params").at("_meta").at("io.modelcontextprotocol/subscriptionId").as_string(),
            "sub-1");

  // A prompt change is not delivered (not asked for); a tool change is, tagged.
  ASSERT_TRUE(server_->add_prompt(
      Prompt{.name = "later"},
      [](const std::map<std::string, std::string>&,
         ToolContext&) -> awaitable<Result<GetPromptResult>> { co_return GetPromptResult{}; }));
  Tool t;
  t.name = "late_tool";
  ASSERT_TRUE(
      server_->add_tool(t, [](const bj::object&, ToolContext&) -> awaitable<CallToolResult> {
        co_return CallToolResult::text("");
      }));
  auto rest = conn.read_until("tools/list_changed");
  EXPECT_EQ(rest.body.find("prompts/list_changed"), std::string::npos) << rest.body;
  auto events = test::sse_data(rest.body);
  ASSERT_FALSE(events.empty()) << rest.body;
  auto change = body_json(events.back());
  EXPECT_EQ(change.at("method").as_string(), "notifications/tools/list_changed");
  EXPECT_EQ(
      change.at("params").at("_meta").at("io.modelcontextprotocol/subscriptionId").as_string(),
      "sub-1");
}

TEST_F(McpModern, LegacyClientsShareTheEndpoint) {
  Hdrs legacy = {{"Content-Type", "application/json"},
                 {"Accept", "application/json, text/event-stream"}};
  auto init = test::request(
      port_, "POST", "/mcp", legacy,
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",
                              "capabilities":{},"clientInfo":{"name":"old","version":"1"}}})");
  ASSERT_EQ(init.status, 200) << init.body;
  std::string session = init.header("Mcp-Session-Id");
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(body_json(init.body).at("result").at("protocolVersion").as_string(), "2025-11-25");
  legacy.emplace_back("Mcp-Session-Id", session);
  legacy.emplace_back("MCP-Protocol-Version", "2025-11-25");
  EXPECT_EQ(test::request(port_, "POST", "/mcp", legacy,
                          R"({"jsonrpc":"2.0","method":"notifications/initialized"})")
                .status,
            202);

  // A modern request in between does not disturb the session.
  EXPECT_EQ(call(50, "tools/list", {}).status, 200);

  auto sum = test::request(
      port_, "POST", "/mcp", legacy,
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":20,"b":22}}})");
  auto res = result_of(sum);
  EXPECT_EQ(res.at("content").at(0).at("text").as_string(), "42");
  EXPECT_FALSE(res.contains("resultType"));  // 2025-11-25 results are unchanged
  auto ping =
      test::request(port_, "POST", "/mcp", legacy, R"({"jsonrpc":"2.0","id":2,"method":"ping"})");
  EXPECT_EQ(ping.status, 200);
  // The legacy era keeps its own codes: resources not found is -32002 there.
  auto missing = test::request(
      port_, "POST", "/mcp", legacy,
      R"({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"mem://missing"}})");
  EXPECT_EQ(body_json(missing.body).at("error").at("code").as_int64(), -32002);
  EXPECT_EQ(transport_->session_count(), 1u);
  // GET with the session still opens the standalone stream (not 405).
  test::RawConnection get(port_);
  get.send("GET", "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}}, "");
  EXPECT_EQ(get.read_until("data:").status, 200);
}

}  // namespace
}  // namespace idp::mcp

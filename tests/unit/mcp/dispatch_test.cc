// The server's method table: which methods exist in which protocol era (and, under
// 2026-07-28, only with their capability declared), what an unknown method gets, and how a
// request is run: its handler deadline cancels it and answers with an error naming the
// deadline; an exception's text stays in the log and the client gets a trace id.
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <future>

#include "idp/core/json_util.h"
#include "idp/mcp/server.h"
#include "server_core.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;
namespace net = boost::asio;
using net::awaitable;

class Dispatch : public ::testing::Test {
 protected:
  Dispatch() {
    Tool echo;
    echo.name = "echo";
    echo.input_schema =
        ::idp::json::parse(
            R"({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]})")
            ->as_object();
    EXPECT_TRUE(
        server_.add_tool(echo, [](const bj::object& a, ToolContext&) -> awaitable<CallToolResult> {
          co_return CallToolResult::text(std::string(a.at("text").as_string()));
        }));
  }

  // Runs one request through the table; the response (empty: none) and the request's state.
  std::pair<std::string, std::shared_ptr<RequestState>> call(std::string_view method,
                                                             bj::object params, bool modern) {
    auto rs = std::make_shared<RequestState>();
    rs->modern = modern;
    rs->id = 1;
    rs->trace_id = "trace-abc";
    jsonrpc::Message m{jsonrpc::Message::Kind::kRequest,
                       bj::value(1),
                       std::string(method),
                       std::move(params),
                       {},
                       {}};
    std::shared_ptr<ProtocolSession> session = modern ? nullptr : session_;
    auto handler = ServerAccess::core(server_).handle_request(session, rs, std::move(m));
    auto done = net::co_spawn(ioc_, std::move(handler), net::use_future);
    ioc_.run();
    ioc_.restart();
    return {done.get().value_or(""), rs};
  }

  static bj::value json(const std::string& s) {
    auto v = ::idp::json::parse(s);
    EXPECT_TRUE(v) << s;
    return v ? *v : bj::value();
  }
  static std::int64_t error_code(const std::string& s) {
    auto v = json(s);
    return v.as_object().contains("error") ? v.at("error").at("code").as_int64() : 0;
  }

  Server server_;
  net::io_context ioc_;
  std::shared_ptr<ProtocolSession> session_ = std::make_shared<ProtocolSession>();
};

TEST_F(Dispatch, HandshakeMethodsExistOnlyInTheirEra) {
  EXPECT_EQ(error_code(call("ping", {}, false).first), 0);
  auto [init, rs] = call("initialize", bj::object{{"protocolVersion", "2025-06-18"}}, false);
  EXPECT_EQ(json(init).at("result").at("protocolVersion"), "2025-06-18");
  EXPECT_EQ(session_->protocol_version, "2025-06-18") << "initialize records the negotiation";
  EXPECT_EQ(error_code(call("logging/setLevel", bj::object{{"level", "error"}}, false).first), 0);
  EXPECT_EQ(session_->min_log_level.load(), static_cast<int>(LogLevel::kError));

  for (std::string_view removed :
       {"ping", "initialize", "logging/setLevel", "resources/subscribe"}) {
    auto [r, state] = call(removed, {}, true);
    EXPECT_EQ(error_code(r), -32601) << removed;
    EXPECT_EQ(state->http_status, 404) << removed;
  }
  // server/discover is the modern era's own.
  EXPECT_EQ(error_code(call("server/discover", {}, false).first), -32601);
  auto discover = json(call("server/discover", {}, true).first);
  EXPECT_EQ(discover.at("result").at("resultType"), "complete");
  EXPECT_TRUE(discover.at("result").at("capabilities").as_object().contains("tools"));
}

TEST_F(Dispatch, ModernMethodsNeedTheirCapability) {
  auto& core = ServerAccess::core(server_);
  EXPECT_TRUE(core.modern_method_available("tools/call"));
  EXPECT_FALSE(core.modern_method_available("resources/read"));
  EXPECT_FALSE(core.modern_method_available("prompts/get"));
  EXPECT_FALSE(core.modern_method_available("completion/complete"));
  EXPECT_FALSE(core.modern_method_available("subscriptions/listen")) << "the transport's own";
  EXPECT_FALSE(core.modern_method_available("initialize"));
  ASSERT_TRUE(server_.add_resource(
      Resource{.uri = "mem://x", .name = "x"},
      [](const std::string&, ToolContext&) -> awaitable<Result<std::vector<ResourceContents>>> {
        co_return std::vector<ResourceContents>{};
      }));
  EXPECT_TRUE(core.modern_method_available("resources/read"));
  EXPECT_TRUE(core.modern_method_available("resources/templates/list"));
  server_.add_completion("ref/prompt", "p", [](std::string_view, std::string_view) {
    return std::vector<std::string>{};
  });
  EXPECT_TRUE(core.modern_method_available("completion/complete"));
}

TEST_F(Dispatch, UnknownMethodsAndBadParamsAreNamed) {
  auto [r, rs] = call("tools/frobnicate", {}, false);
  EXPECT_EQ(error_code(r), -32601);
  EXPECT_NE(r.find("Method not found: tools/frobnicate"), std::string::npos) << r;
  EXPECT_EQ(rs->http_status, 200) << "2025 era: a JSON-RPC error on HTTP 200";
  auto missing =
      call("tools/call", bj::object{{"name", "echo"}, {"arguments", bj::object{}}}, false).first;
  EXPECT_TRUE(json(missing).at("result").at("isError").as_bool());
  EXPECT_NE(missing.find("Invalid arguments for tool 'echo'"), std::string::npos) << missing;
  auto ok = call("tools/call",
                 bj::object{{"name", "echo"}, {"arguments", bj::object{{"text", "hi"}}}}, true)
                .first;
  EXPECT_EQ(json(ok).at("result").at("content").at(0).at("text"), "hi");
  EXPECT_EQ(json(ok).at("result").at("resultType"), "complete") << "2026-07-28 results say so";
}

// A handler that waits many times in a loop leaves no callbacks behind on its request.
TEST_F(Dispatch, CancelCallbacksDoNotAccumulate) {
  Tool nap;
  nap.name = "nap";
  ASSERT_TRUE(
      server_.add_tool(nap, [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
        for (int i = 0; i < 200; ++i) co_await ctx.sleep(std::chrono::milliseconds(0));
        co_return CallToolResult::text("rested");
      }));
  auto [r, rs] = call("tools/call", bj::object{{"name", "nap"}}, false);
  EXPECT_NE(r.find("rested"), std::string::npos) << r;
  EXPECT_EQ(rs->cancel_subscribers(), 0u) << "every sleep unsubscribed when it ended";
  rs->cancel();
  EXPECT_TRUE(rs->cancelled());
}

// start_request on a real executor: the deadline and the exception rule.
TEST(DispatchRun, TheHandlerDeadlineCancelsAndAnswersWithTheDeadline) {
  ServerOptions so;
  so.handler_timeout = std::chrono::milliseconds(100);
  Server server(so);
  std::promise<bool> saw_cancel;
  Tool stuck;
  stuck.name = "stuck";
  ASSERT_TRUE(
      server.add_tool(stuck, [&](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
        bool finished = co_await ctx.sleep(std::chrono::minutes(10));
        saw_cancel.set_value(!finished && ctx.cancelled());
        co_return CallToolResult::text("too late");
      }));
  net::io_context ioc;
  auto rs = std::make_shared<RequestState>();
  rs->id = "r1";
  jsonrpc::Message m{jsonrpc::Message::Kind::kRequest,
                     bj::value("r1"),
                     "tools/call",
                     bj::object{{"name", "stuck"}},
                     {},
                     {}};
  std::vector<std::optional<std::string>> answers;
  auto running = ServerAccess::core(server).start_request(
      ioc.get_executor(), std::make_shared<ProtocolSession>(), rs, std::move(m),
      [&](std::optional<std::string> r) { answers.push_back(std::move(r)); });
  running->watch();  // as the transport does once the handler had its first chance to finish
  ioc.run();
  ASSERT_EQ(answers.size(), 1u) << "done is called exactly once";
  ASSERT_TRUE(answers[0]);
  auto v = ::idp::json::parse(*answers[0]);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("error").at("code").as_int64(), -32001);
  EXPECT_NE(
      answers[0]->find("tools/call did not finish within the server's handler deadline of 100 ms"),
      std::string::npos)
      << *answers[0];
  EXPECT_TRUE(saw_cancel.get_future().get()) << "the handler's ToolContext saw the cancellation";
}

TEST(DispatchRun, ExceptionTextStaysInTheLog) {
  Server server;
  net::io_context ioc;
  auto rs = std::make_shared<RequestState>();
  rs->id = 3;
  rs->trace_id = "t-42";
  // A completion that throws escapes the tool/reader/prompt guards: start_request catches it.
  server.add_completion("ref/prompt", "p",
                        [](std::string_view, std::string_view) -> std::vector<std::string> {
                          throw std::runtime_error("secret=hunter2");
                        });
  jsonrpc::Message m{
      jsonrpc::Message::Kind::kRequest,
      bj::value(3),
      "completion/complete",
      ::idp::json::parse(
          R"({"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":""}})")
          ->as_object(),
      {},
      {}};
  std::optional<std::string> answer;
  ServerAccess::core(server).start_request(
      ioc.get_executor(), std::make_shared<ProtocolSession>(), rs, std::move(m),
      [&](std::optional<std::string> r) { answer = std::move(r); });
  ioc.run();
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->find("internal error, trace id t-42"), std::string::npos) << *answer;
  EXPECT_EQ(answer->find("hunter2"), std::string::npos) << *answer;
}

}  // namespace
}  // namespace idp::mcp

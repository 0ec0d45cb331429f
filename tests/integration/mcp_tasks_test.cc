// Tasks (idp/mcp/tasks.h) end to end over raw HTTP, as a client sees them, in both generations:
// the 2026-07-28 tasks extension (server-directed CreateTaskResult, tasks/get with the outcome
// inlined, tasks/update answering the tool's questions, idempotent tasks/cancel, -32021 without
// the extension) and the experimental tasks of 2025-11-25 sessions (params.task, tasks/result
// waiting for the end, tasks/list pages, tasks/cancel refusing a finished task). Also: a task
// belongs to the identity (or session) that created it, the per-identity limit, ttl expiry and
// progress messages as statusMessage. Tools wait on questions the test answers, never on time.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <functional>
#include <stdexcept>
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

constexpr const char* kModern = "2026-07-28";
constexpr auto kBound = std::chrono::seconds(10);  // only a failing test waits this long

bj::object parse_object(std::string_view text) { return ::idp::json::parse(text)->as_object(); }

bj::object tasks_caps() {
  return bj::object{{"elicitation", bj::object{}},
                    {"extensions", bj::object{{"io.modelcontextprotocol/tasks", bj::object{}}}}};
}

Tool task_tool(std::string name, TaskSupport support) {
  Tool t;
  t.name = std::move(name);
  t.task_support = support;
  return t;
}

const bj::object kGoForm = parse_object(
    R"({"message":"Go on?","requestedSchema":{"type":"object","properties":{"go":{"type":"boolean"}}}})");

class McpTasks : public ::testing::Test {
 protected:
  void start(TaskOptions topt = {}) {
    ServerOptions so;
    so.tasks = std::move(topt);
    server_ = std::make_unique<Server>(so);
    // Waits for the client's go-ahead (a question answered through tasks/update), reporting a
    // status message first; says whether it was cancelled.
    ASSERT_TRUE(
        server_->add_tool(task_tool("gated", TaskSupport::kOptional),
                          [this](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
                            ctx.progress(1, 2, "waiting for the go-ahead");
                            bj::object form = kGoForm;
                            auto answer = co_await ctx.elicit(std::move(form), "go");
                            if (!answer) {
                              if (answer.error().code() == ErrorCode::kCancelled)
                                tool_cancelled_.set();
                              co_return CallToolResult::error(answer.error().message());
                            }
                            co_return CallToolResult::text("went on: " + bj::serialize(*answer));
                          }));
    ASSERT_TRUE(server_->add_tool(
        task_tool("quick", TaskSupport::kRequired),
        [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
          co_return CallToolResult::text(fmt::format("done (task {})", ctx.in_task()));
        }));
    ASSERT_TRUE(server_->add_tool(task_tool("broken", TaskSupport::kOptional),
                                  [](const bj::object&, ToolContext&) -> awaitable<CallToolResult> {
                                    throw std::runtime_error("secret internals");
                                    co_return CallToolResult::text("never");
                                  }));
    ASSERT_TRUE(server_->add_tool(task_tool("refuses", TaskSupport::kOptional),
                                  [](const bj::object&, ToolContext&) -> awaitable<CallToolResult> {
                                    co_return CallToolResult::error("no, thanks");
                                  }));
    // Sleeps until cancelled (2025-11-25 tasks cannot ask questions).
    ASSERT_TRUE(
        server_->add_tool(task_tool("forever", TaskSupport::kOptional),
                          [this](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
                            if (!co_await ctx.sleep(std::chrono::hours(1))) tool_cancelled_.set();
                            co_return CallToolResult::text("woke");
                          }));
    ASSERT_TRUE(
        server_->add_tool(task_tool("reporting", TaskSupport::kOptional),
                          [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
                            ctx.progress(1, 2, "half way");
                            co_return CallToolResult::text("reported");
                          }));
    Tool plain;
    plain.name = "plain";
    ASSERT_TRUE(
        server_->add_tool(plain, [](const bj::object&, ToolContext&) -> awaitable<CallToolResult> {
          co_return CallToolResult::text("plain");
        }));

    http::ServerOptions ho;
    ho.threads = 2;
    ho.shutdown_grace = std::chrono::milliseconds(500);
    http_ = std::make_unique<http::Server>(ho);
    StreamableHttpOptions mo;
    // "Authorization: Bearer <name>" is the caller <name>; none is anonymous.
    mo.authenticate = [](const http::Request& req) -> awaitable<AuthResult> {
      Identity id;
      if (auto h = req.header("Authorization"); h && h->starts_with("Bearer ")) {
        id.authenticated = true;
        id.subject = std::string(h->substr(7));
      }
      co_return id;
    };
    transport_ = std::make_unique<StreamableHttpServer>(*server_, mo);
    transport_->attach(*http_);
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

  // ---- 2026-07-28 ----

  RawResponse modern(std::string_view method, bj::object params, bj::object caps = tasks_caps(),
                     std::string_view caller = {}) {
    std::optional<std::string> name;
    const char* field = method == "tools/call" ? "name" : "taskId";
    if (auto* n = ::idp::json::find_string(params, field)) name = std::string(*n);
    params["_meta"] = bj::object{
        {"io.modelcontextprotocol/protocolVersion", kModern},
        {"io.modelcontextprotocol/clientInfo", bj::object{{"name", "raw"}, {"version", "1"}}},
        {"io.modelcontextprotocol/clientCapabilities", std::move(caps)}};
    Hdrs h = {{"Content-Type", "application/json"},
              {"Accept", "application/json, text/event-stream"},
              {"MCP-Protocol-Version", kModern},
              {"Mcp-Method", std::string(method)}};
    if (name) h.emplace_back("Mcp-Name", *name);
    if (!caller.empty()) h.emplace_back("Authorization", "Bearer " + std::string(caller));
    bj::object body{
        {"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", std::move(params)}};
    return test::request(port_, "POST", "/mcp", h, bj::serialize(body));
  }

  bj::object modern_ok(std::string_view method, bj::object params, std::string_view caller = {}) {
    return result_of(modern(method, std::move(params), tasks_caps(), caller));
  }

  // Polls tasks/get until `done` holds for the task (or the bound passes).
  bj::object modern_until(const std::string& task_id,
                          const std::function<bool(const bj::object&)>& done,
                          std::string_view caller = {}) {
    auto deadline = std::chrono::steady_clock::now() + kBound;
    bj::object task;
    while (std::chrono::steady_clock::now() < deadline) {
      task = modern_ok("tasks/get", {{"taskId", task_id}}, caller);
      if (done(task)) return task;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "task " << task_id << " never got there: " << bj::serialize(task);
    return task;
  }

  static bool status_is(const bj::object& t, std::string_view s) {
    auto* status = ::idp::json::find_string(t, "status");
    return status && *status == s;
  }

  // ---- 2025-11-25 sessions ----

  std::string initialize(std::string_view caller = {}) {
    Hdrs h = {{"Content-Type", "application/json"},
              {"Accept", "application/json, text/event-stream"}};
    if (!caller.empty()) h.emplace_back("Authorization", "Bearer " + std::string(caller));
    auto r = test::request(
        port_, "POST", "/mcp", h,
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",
      "capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    EXPECT_EQ(r.status, 200) << r.body;
    init_result_ = result_of(r);
    std::string session = r.header("Mcp-Session-Id");
    h.emplace_back("Mcp-Session-Id", session);
    h.emplace_back("MCP-Protocol-Version", "2025-11-25");
    auto n = test::request(port_, "POST", "/mcp", h,
                           R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    EXPECT_EQ(n.status, 202);
    return session;
  }

  RawResponse legacy(const std::string& session, std::string_view method, bj::object params,
                     std::string_view caller = {}) {
    Hdrs h = {{"Content-Type", "application/json"},
              {"Accept", "application/json, text/event-stream"},
              {"Mcp-Session-Id", session},
              {"MCP-Protocol-Version", "2025-11-25"}};
    if (!caller.empty()) h.emplace_back("Authorization", "Bearer " + std::string(caller));
    bj::object body{
        {"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", std::move(params)}};
    return test::request(port_, "POST", "/mcp", h, bj::serialize(body));
  }

  // The JSON-RPC message of a response (a JSON body, or the one message of an SSE stream).
  static bj::object message_of(const RawResponse& r) {
    std::string text = r.body;
    if (auto pos = text.rfind("data: ");
        pos != std::string::npos && r.header("Content-Type").starts_with("text/event-stream")) {
      text = text.substr(pos + 6);
      text = text.substr(0, text.find('\n'));
    }
    auto v = ::idp::json::parse(text);
    if (!v || !v->is_object()) {
      ADD_FAILURE() << "not a JSON-RPC message: " << r.body;
      return {};
    }
    return v->as_object();
  }

  static bj::object result_of(const RawResponse& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    auto m = message_of(r);
    if (!m.contains("result")) {
      ADD_FAILURE() << "no result: " << r.body;
      return {};
    }
    return m.at("result").as_object();
  }

  static bj::object error_of(const RawResponse& r, int code) {
    auto m = message_of(r);
    if (!m.contains("error")) {
      ADD_FAILURE() << "not an error: " << r.body;
      return {};
    }
    EXPECT_EQ(m.at("error").at("code").as_int64(), code) << r.body;
    return m.at("error").as_object();
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<StreamableHttpServer> transport_;
  std::uint16_t port_ = 0;
  int id_ = 0;
  bj::object init_result_;
  test::Event tool_cancelled_;
};

// ---- 2026-07-28: the tasks extension ----------------------------------------------------------

TEST_F(McpTasks, ModernLifecycleWithAQuestionAnsweredThroughTasksUpdate) {
  start();
  auto discover = modern_ok("server/discover", {});
  EXPECT_TRUE(discover.at("capabilities")
                  .at("extensions")
                  .as_object()
                  .contains("io.modelcontextprotocol/tasks"));
  EXPECT_FALSE(discover.at("capabilities").as_object().contains("tasks"));

  auto created = modern_ok("tools/call", {{"name", "gated"}});
  EXPECT_EQ(created.at("resultType").as_string(), "task");
  EXPECT_FALSE(created.contains("task"));  // flat, no wrapper
  EXPECT_FALSE(created.contains("result"));
  EXPECT_GT(created.at("ttlMs").as_int64(), 0);
  EXPECT_GT(created.at("pollIntervalMs").as_int64(), 0);
  EXPECT_FALSE(created.contains("ttl"));
  const std::string id(created.at("taskId").as_string());

  // The progress message reaches the task shortly after the question (both are store writes).
  auto asking = modern_until(id, [](const bj::object& t) {
    return status_is(t, "input_required") && t.contains("statusMessage");
  });
  EXPECT_EQ(asking.at("resultType").as_string(), "complete");
  EXPECT_EQ(asking.at("inputRequests").at("go").at("method").as_string(), "elicitation/create");
  EXPECT_EQ(asking.at("statusMessage").as_string(), "waiting for the go-ahead");

  // An unknown key is ignored; the right one lets the tool go on.
  auto ignored = modern_ok(
      "tasks/update", {{"taskId", id}, {"inputResponses", bj::object{{"nope", bj::object{}}}}});
  EXPECT_EQ(ignored.at("resultType").as_string(), "complete");
  EXPECT_FALSE(ignored.contains("taskId"));
  EXPECT_TRUE(status_is(modern_ok("tasks/get", {{"taskId", id}}), "input_required"));
  bj::object go{{"action", "accept"}, {"content", bj::object{{"go", true}}}};
  modern_ok("tasks/update", {{"taskId", id}, {"inputResponses", bj::object{{"go", go}}}});

  auto done = modern_until(id, [](const bj::object& t) { return status_is(t, "completed"); });
  EXPECT_NE(
      std::string(done.at("result").at("content").at(0).at("text").as_string()).find("went on"),
      std::string::npos)
      << bj::serialize(done);
  EXPECT_FALSE(done.contains("inputRequests"));
  EXPECT_FALSE(done.at("result").as_object().contains("_meta"));
  EXPECT_EQ(done.at("result").at("resultType").as_string(), "complete");  // a 2026-07-28 result
}

TEST_F(McpTasks, ModernToolErrorCompletesAndAThrowFailsWithoutItsText) {
  start();
  auto refused = modern_ok("tools/call", {{"name", "refuses"}});
  auto r = modern_until(std::string(refused.at("taskId").as_string()),
                        [](const bj::object& t) { return status_is(t, "completed"); });
  EXPECT_TRUE(r.at("result").at("isError").as_bool());

  auto broken = modern_ok("tools/call", {{"name", "broken"}});
  auto b = modern_until(std::string(broken.at("taskId").as_string()),
                        [](const bj::object& t) { return status_is(t, "failed"); });
  EXPECT_EQ(b.at("error").at("code").as_int64(), -32603);
  EXPECT_EQ(std::string(b.at("error").at("message").as_string()).find("secret"), std::string::npos);
  EXPECT_FALSE(b.contains("result"));
}

TEST_F(McpTasks, ModernCancelStopsTheToolAndIsIdempotent) {
  start();
  auto created = modern_ok("tools/call", {{"name", "gated"}});
  const std::string id(created.at("taskId").as_string());
  auto ack = modern_ok("tasks/cancel", {{"taskId", id}});
  EXPECT_EQ(ack.at("resultType").as_string(), "complete");
  EXPECT_FALSE(ack.contains("status"));
  EXPECT_TRUE(tool_cancelled_.wait(kBound));
  EXPECT_TRUE(status_is(modern_ok("tasks/get", {{"taskId", id}}), "cancelled"));
  auto again = modern_ok("tasks/cancel", {{"taskId", id}});  // already terminal: same ack
  EXPECT_EQ(again.at("resultType").as_string(), "complete");
  error_of(modern("tasks/cancel", {{"taskId", "no-such-task"}}), -32602);
  error_of(modern("tasks/get", {{"taskId", "no-such-task"}}), -32602);
}

TEST_F(McpTasks, ModernWithoutTheExtension) {
  start();
  bj::object none;
  // A task-capable tool runs as a plain call; a task-only one and the task methods are refused.
  auto plain = result_of(modern("tools/call", {{"name", "refuses"}}, none));
  EXPECT_EQ(plain.at("resultType").as_string(), "complete");
  EXPECT_FALSE(plain.contains("taskId"));
  auto r = modern("tools/call", {{"name", "quick"}}, none);
  EXPECT_EQ(r.status, 400);
  auto e = error_of(r, -32021);
  EXPECT_TRUE(e.at("data")
                  .at("requiredCapabilities")
                  .at("extensions")
                  .as_object()
                  .contains("io.modelcontextprotocol/tasks"));
  for (const char* method : {"tasks/get", "tasks/cancel"}) {
    error_of(modern(method, {{"taskId", "x"}}, none), -32021);
  }
  // 2025-11-25 methods do not exist under 2026-07-28.
  EXPECT_EQ(modern("tasks/result", {{"taskId", "x"}}).status, 404);
  error_of(modern("tasks/list", {}), -32601);
  // A plain tool never becomes a task, whatever the request says.
  auto p = modern_ok("tools/call", {{"name", "plain"}, {"task", bj::object{{"ttl", 1000}}}});
  EXPECT_EQ(p.at("content").at(0).at("text").as_string(), "plain");
}

TEST_F(McpTasks, TasksBelongToTheirCallerAndTheLimitIsPerCaller) {
  TaskOptions topt;
  topt.max_live_per_owner = 2;
  start(topt);
  auto a1 = modern_ok("tools/call", {{"name", "gated"}}, "alice");
  modern_ok("tools/call", {{"name", "gated"}}, "alice");
  const std::string id(a1.at("taskId").as_string());
  // Bob cannot see, answer or cancel Alice's task; anonymous callers neither.
  error_of(modern("tasks/get", {{"taskId", id}}, tasks_caps(), "bob"), -32602);
  error_of(modern("tasks/cancel", {{"taskId", id}}, tasks_caps(), "bob"), -32602);
  error_of(modern("tasks/update", {{"taskId", id}, {"inputResponses", bj::object{}}}, tasks_caps(),
                  "bob"),
           -32602);
  error_of(modern("tasks/get", {{"taskId", id}}), -32602);
  // A third live task is refused for Alice, with the limit named; Bob still gets his.
  auto third = error_of(modern("tools/call", {{"name", "gated"}}, tasks_caps(), "alice"), -32600);
  EXPECT_NE(std::string(third.at("message").as_string()).find("at most 2"), std::string::npos);
  modern_ok("tools/call", {{"name", "gated"}}, "bob");
  // A finished task no longer counts.
  modern_ok("tasks/cancel", {{"taskId", id}}, "alice");
  EXPECT_EQ(modern_ok("tools/call", {{"name", "gated"}}, "alice").at("resultType").as_string(),
            "task");
}

TEST_F(McpTasks, ExpiredTasksAreGone) {
  TaskOptions topt;
  topt.default_ttl = std::chrono::milliseconds(300);
  topt.max_ttl = std::chrono::milliseconds(300);
  start(topt);
  auto created = modern_ok("tools/call", {{"name", "quick"}});
  EXPECT_EQ(created.at("ttlMs").as_int64(), 300);
  const std::string id(created.at("taskId").as_string());
  auto deadline = std::chrono::steady_clock::now() + kBound;
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    auto m = message_of(modern("tasks/get", {{"taskId", id}}));
    gone = m.contains("error");
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone) << "task " << id << " outlived its ttl";
}

TEST_F(McpTasks, MrtrQuestionsBeforeTheTaskStarts) {
  start();
  // Asks through a multi round-trip request, then becomes a task that uses the answer.
  ASSERT_TRUE(server_->add_tool(
      task_tool("ask_then_task", TaskSupport::kRequired),
      [](const bj::object&, ToolContext& ctx) -> awaitable<CallToolResult> {
        bj::object form = kGoForm;
        auto answer = co_await ctx.elicit(std::move(form), "first");
        if (!answer) co_return CallToolResult::error(answer.error().message());
        if (!co_await ctx.start_task()) co_return CallToolResult::error("no task");
        co_return CallToolResult::text(
            fmt::format("in task {}: {}", ctx.in_task(), bj::serialize(*answer)));
      },
      TaskStart::kOnRequest));
  auto round1 = modern_ok("tools/call", {{"name", "ask_then_task"}});
  EXPECT_EQ(round1.at("resultType").as_string(), "input_required");
  EXPECT_FALSE(round1.contains("taskId"));
  bj::object answer{{"action", "accept"}, {"content", bj::object{{"go", true}}}};
  bj::object retry{{"name", "ask_then_task"},
                   {"inputResponses", bj::object{{"first", answer}}},
                   {"requestState", round1.at("requestState")}};
  auto round2 = modern_ok("tools/call", std::move(retry));
  EXPECT_EQ(round2.at("resultType").as_string(), "task");
  EXPECT_FALSE(round2.contains("requestState"));
  auto done = modern_until(std::string(round2.at("taskId").as_string()),
                           [](const bj::object& t) { return status_is(t, "completed"); });
  EXPECT_NE(std::string(done.at("result").at("content").at(0).at("text").as_string())
                .find("in task true"),
            std::string::npos);
}

// ---- 2025-11-25: experimental tasks in a session ----------------------------------------------

TEST_F(McpTasks, LegacyTaskAugmentedCallAndTasksResult) {
  start();
  const std::string s = initialize();
  EXPECT_TRUE(init_result_.at("capabilities")
                  .at("tasks")
                  .at("requests")
                  .at("tools")
                  .as_object()
                  .contains("call"));
  auto tools = result_of(legacy(s, "tools/list", {}));
  for (const auto& t : tools.at("tools").as_array()) {
    if (t.at("name").as_string() == "quick") {
      EXPECT_EQ(t.at("execution").at("taskSupport").as_string(), "required");
    }
    if (t.at("name").as_string() == "plain") {
      EXPECT_FALSE(t.as_object().contains("execution"));
    }
  }
  // A task-only tool called plainly is refused.
  error_of(legacy(s, "tools/call", {{"name", "quick"}}), -32601);

  auto created =
      result_of(legacy(s, "tools/call", {{"name", "quick"}, {"task", bj::object{{"ttl", 60000}}}}));
  const auto& task = created.at("task");
  EXPECT_EQ(task.at("ttl").as_int64(), 60000);
  EXPECT_GT(task.at("pollInterval").as_int64(), 0);
  const std::string id(task.at("taskId").as_string());
  // tasks/result waits for the end.
  auto result = result_of(legacy(s, "tasks/result", {{"taskId", id}}));
  EXPECT_EQ(result.at("content").at(0).at("text").as_string(), "done (task true)");
  EXPECT_EQ(result.at("_meta").at("io.modelcontextprotocol/related-task").at("taskId").as_string(),
            id);
  auto got = result_of(legacy(s, "tasks/get", {{"taskId", id}}));
  EXPECT_EQ(got.at("status").as_string(), "completed");
  EXPECT_FALSE(got.contains("result"));
  // A finished task cannot be cancelled in this generation.
  error_of(legacy(s, "tasks/cancel", {{"taskId", id}}), -32602);
  // The failure of a throwing tool comes back from tasks/result as its JSON-RPC error.
  auto broken = result_of(legacy(s, "tools/call", {{"name", "broken"}, {"task", bj::object{}}}));
  error_of(legacy(s, "tasks/result", {{"taskId", broken.at("task").at("taskId")}}), -32603);
}

TEST_F(McpTasks, LegacyCancelListPagesAndSessionIsolation) {
  TaskOptions topt;
  topt.page_size = 2;
  start(topt);
  const std::string s = initialize();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto c = result_of(legacy(s, "tools/call", {{"name", "forever"}, {"task", bj::object{}}}));
    ids.emplace_back(c.at("task").at("taskId").as_string());
  }
  auto page1 = result_of(legacy(s, "tasks/list", {}));
  ASSERT_EQ(page1.at("tasks").as_array().size(), 2u);
  EXPECT_EQ(page1.at("tasks").at(0).at("taskId").as_string(), ids[0]);
  auto page2 = result_of(legacy(s, "tasks/list", {{"cursor", page1.at("nextCursor")}}));
  ASSERT_EQ(page2.at("tasks").as_array().size(), 1u);
  EXPECT_EQ(page2.at("tasks").at(0).at("taskId").as_string(), ids[2]);
  EXPECT_FALSE(page2.contains("nextCursor"));
  error_of(legacy(s, "tasks/list", {{"cursor", "bogus!"}}), -32602);

  // Another session sees none of them.
  const std::string other = initialize();
  EXPECT_TRUE(result_of(legacy(other, "tasks/list", {})).at("tasks").as_array().empty());
  error_of(legacy(other, "tasks/get", {{"taskId", ids[0]}}), -32602);

  auto cancelled = result_of(legacy(s, "tasks/cancel", {{"taskId", ids[0]}}));
  EXPECT_EQ(cancelled.at("status").as_string(), "cancelled");
  EXPECT_TRUE(tool_cancelled_.wait(kBound));
  for (std::size_t i = 1; i < ids.size(); ++i) legacy(s, "tasks/cancel", {{"taskId", ids[i]}});
}

TEST_F(McpTasks, LegacyProgressAndStatusNotificationsOnTheSessionStream) {
  start();
  const std::string s = initialize();
  test::RawConnection get(port_);
  get.send("GET", "/mcp",
           {{"Accept", "text/event-stream"},
            {"Mcp-Session-Id", s},
            {"MCP-Protocol-Version", "2025-11-25"}},
           "");
  ASSERT_EQ(get.read_until("data:").status, 200);  // the stream is attached
  // The call's progressToken goes on working for the task, on the session's stream.
  auto created = result_of(legacy(s, "tools/call",
                                  {{"name", "reporting"},
                                   {"task", bj::object{}},
                                   {"_meta", bj::object{{"progressToken", "p-7"}}}}));
  const std::string id(created.at("task").at("taskId").as_string());
  auto r = get.read_event("notifications/tasks/status");
  EXPECT_NE(r.body.find(R"("progressToken":"p-7")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("half way"), std::string::npos) << r.body;
  auto events = test::sse_data(r.body);
  auto it = std::find_if(events.begin(), events.end(), [](const std::string& e) {
    return e.find("notifications/tasks/status") != std::string::npos;
  });
  ASSERT_NE(it, events.end()) << r.body;
  auto note = ::idp::json::parse(*it);
  ASSERT_TRUE(note) << *it;
  EXPECT_EQ(note->at("method").as_string(), "notifications/tasks/status");
  EXPECT_EQ(note->at("params").at("taskId").as_string(), id);
  EXPECT_EQ(note->at("params").at("status").as_string(), "completed");
}

}  // namespace
}  // namespace idp::mcp

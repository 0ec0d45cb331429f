// The MCP client's tasks (idp::mcp::Client::call_tool on a task-capable server) against a small
// in-test server that records every request and runs its tasks by the number of polls, so that
// nothing here depends on time: /v1 speaks the experimental tasks of 2025-11-25 (a session,
// capabilities.tasks, execution.taskSupport, params.task, tasks/result), /v2 the 2026-07-28 tasks
// extension (server/discover, a flat CreateTaskResult, the result inline in tasks/get,
// tasks/update, Mcp-Name: <taskId>). Checked: which calls become tasks, polling to the result,
// status reports, the server's pollInterval, cancellation and the whole-task timeout sending
// tasks/cancel, polling that survives HTTP 503s, a forgotten session and a server that goes away
// and comes back on its port, input_required through the hooks.
#include "fake_task_server.h"

namespace idp::mcp::tasks_test {
namespace {

struct Called {
  Result<CallToolResult> result = make_error(ErrorCode::kInternal, "not run");
  std::vector<TaskInfo> reports;
};

std::string text_of(const CallToolResult& r) {
  if (r.content.empty()) return "";
  const bj::string* t = ::idp::json::find_string(r.content[0].as_object(), "text");
  return t ? std::string(*t) : std::string();
}

// Connects to `url`, lists the tools (as the agent registry does), calls `name`.
Called call(const std::string& url, std::string name, CallOptions options = {},
             ClientOptions client_options = {}, bool list_first = true) {
  return test::run_coroutine<Called>([&](boost::asio::any_io_executor ex) -> awaitable<Called> {
    Called out;
    Client c(ex, url, client_options);
    auto connected = co_await c.connect();
    if (!connected) {
      out.result = std::unexpected(connected.error());
      co_return out;
    }
    if (list_first) {
      auto tools = co_await c.list_tools();
      if (!tools) {
        out.result = std::unexpected(tools.error());
        co_return out;
      }
    }
    auto user_report = options.on_task_status;
    options.on_task_status = [&out, user_report](const TaskInfo& s) {
      out.reports.push_back(s);
      if (user_report) user_report(s);
    };
    bj::object arguments{{"text", "a long document"}};
    out.result = co_await c.call_tool(name, std::move(arguments), std::move(options));
    co_await c.close();
    co_return out;
  });
}

TEST_F(McpClientTasks, ARequiredToolRunsAsATaskPolledToItsResult) {
  Called out = call(at("/v1"), "slow");
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(text_of(*out.result), "done slow t-1");
  auto calls = seen("tools/call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0].params.contains("task"));
  auto gets = seen("tasks/get");
  ASSERT_EQ(gets.size(), 3u);  // working, working, completed
  for (const auto& g : gets) EXPECT_EQ(g.task_id(), "t-1");
  EXPECT_EQ(seen("tasks/result").size(), 1u);
  EXPECT_TRUE(seen("tasks/cancel").empty());
  // Every change of status or message, in order.
  std::vector<std::string> shown;
  for (const auto& r : out.reports) shown.push_back(r.status + ":" + r.status_message);
  EXPECT_EQ(shown, (std::vector<std::string>{"working:queued", "working:step 1", "working:step 2",
                                              "completed:"}));
  EXPECT_EQ(out.reports.front().task_id, "t-1");
}

TEST_F(McpClientTasks, OtherToolsStayOrdinaryCallsAndAnOptionalOneIsATaskWhenPreferred) {
  Called plain = call(at("/v1"), "plain");
  ASSERT_TRUE(plain.result);
  EXPECT_EQ(text_of(*plain.result), "at once plain");
  Called maybe = call(at("/v1"), "maybe");
  ASSERT_TRUE(maybe.result);
  EXPECT_EQ(text_of(*maybe.result), "at once maybe");
  EXPECT_TRUE(plain.reports.empty());
  EXPECT_TRUE(seen("tasks/get").empty());
  for (const auto& c : seen("tools/call")) EXPECT_FALSE(c.params.contains("task"));

  CallOptions prefer;
  prefer.task = TaskMode::kPrefer;
  prefer.task_ttl = milliseconds(120'000);
  Called preferred = call(at("/v1"), "maybe", prefer);
  ASSERT_TRUE(preferred.result) << preferred.result.error().message();
  EXPECT_EQ(text_of(*preferred.result), "done maybe t-1");
  auto calls = seen("tools/call");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(bj::serialize(calls[2].params.at("task")), R"({"ttl":120000})");

  CallOptions never;
  never.task = TaskMode::kNever;
  Called refused = call(at("/v1"), "slow", never);
  ASSERT_TRUE(refused.result);
  EXPECT_EQ(text_of(*refused.result), "at once slow");
}

TEST_F(McpClientTasks, AToolNeverListedIsListedOnceToLearnItsTaskSupport) {
  Called out = call(at("/v1"), "slow", {}, {}, /*list_first=*/false);
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(text_of(*out.result), "done slow t-1");
  EXPECT_EQ(seen("tools/list").size(), 1u);
}

TEST_F(McpClientTasks, TheServersPollIntervalIsHonoured) {
  // "timed" tasks end 1.2 s after they were created (by the server's clock). Counted: the polls.
  // A server that asks for 400 ms gets at most 4 polls (one that polled at the client's 50 ms
  // minimum would get ~24); one that asks for 50 ms gets many (the client's 1 s default would
  // give 1 or 2). Load on the machine can only lower the counts.
  done_after_ = milliseconds(1200);
  poll_ms_ = 400;
  Called slow = call(at("/v1"), "timed");
  ASSERT_TRUE(slow.result) << slow.result.error().message();
  const std::size_t slow_polls = seen("tasks/get").size();
  EXPECT_LE(slow_polls, 4u);
  EXPECT_GE(slow_polls, 1u);
  poll_ms_ = 50;
  Called quick = call(at("/v2"), "timed");
  ASSERT_TRUE(quick.result) << quick.result.error().message();
  EXPECT_GE(seen("tasks/get").size() - slow_polls, 5u);
}

TEST_F(McpClientTasks, CancellingTheCallCancelsTheTaskOnTheServer) {
  auto cancel = std::make_shared<CancelSignal>();
  CallOptions options;
  options.cancel = cancel;
  options.on_task_status = [cancel](const TaskInfo& s) {
    if (s.status_message == "step 2") cancel->cancel();
  };
  Called out = call(at("/v1"), "held", options);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().code(), ErrorCode::kCancelled);
  auto cancels = seen("tasks/cancel");
  ASSERT_EQ(cancels.size(), 1u);  // sent before call_tool returned
  EXPECT_EQ(cancels[0].task_id(), "t-1");
  std::lock_guard lock(mu_);
  EXPECT_EQ(tasks_.at("t-1").status, "cancelled");
}

TEST_F(McpClientTasks, TheWholeTaskTimeoutCancelsTheTask) {
  CallOptions options;
  options.task_timeout = milliseconds(300);
  Called out = call(at("/v1"), "held", options);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().code(), ErrorCode::kTimeout);
  EXPECT_NE(out.result.error().message().find("task t-1"), std::string::npos)
      << out.result.error().message();
  EXPECT_EQ(seen("tasks/cancel").size(), 1u);
}

TEST_F(McpClientTasks, PollingSurvivesFailedPollsAndAForgottenSession) {
  fail_gets_ = 3;
  polls_to_finish_ = 4;
  {
    std::lock_guard lock(mu_);
    forget_session_ = false;
  }
  CallOptions options;
  options.on_task_status = [this](const TaskInfo& s) {
    if (s.status_message == "step 1") {
      std::lock_guard lock(mu_);
      forget_session_ = true;  // the next request gets HTTP 404
    }
  };
  Called out = call(at("/v1"), "slow", options);
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(text_of(*out.result), "done slow t-1");
  EXPECT_EQ(seen("initialize").size(), 2u);  // the session was renewed, the task kept
  auto gets = seen("tasks/get");
  EXPECT_GE(gets.size(), 3u + 4u);
  for (const auto& g : gets) EXPECT_EQ(g.task_id(), "t-1");
  EXPECT_EQ(seen("tools/call").size(), 1u);  // never called again
}

TEST_F(McpClientTasks, PollingResumesWhenTheServerGoesAwayAndComesBack) {
  polls_to_finish_ = 4;
  CallOptions options;
  options.on_task_status = [this](const TaskInfo& s) {
    // Not on the client's thread: stopping the server waits for its connections.
    if (s.status_message == "step 2") restarter_ = std::thread([this] { restart_server(); });
  };
  Called out = call(at("/v1"), "slow", options);
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(text_of(*out.result), "done slow t-1");
  EXPECT_TRUE(restarted_.wait(std::chrono::seconds(10)));
  EXPECT_EQ(seen("tools/call").size(), 1u);
}

TEST_F(McpClientTasks, ModernServersDecideAndGiveTheResultInline) {
  Called out = call(at("/v2"), "slow");
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(text_of(*out.result), "done slow t-1");
  auto calls = seen("tools/call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0].declares_extension());
  EXPECT_FALSE(calls[0].params.contains("task"));
  auto gets = seen("tasks/get");
  ASSERT_EQ(gets.size(), 3u);
  for (const auto& g : gets) {
    EXPECT_EQ(g.header("mcp-name"), "t-1");
    EXPECT_EQ(g.header("mcp-method"), "tasks/get");
    EXPECT_TRUE(g.declares_extension());
  }
  EXPECT_TRUE(seen("tasks/result").empty());  // there is none in 2026-07-28
  EXPECT_EQ(out.reports.back().status, "completed");

  CallOptions never;
  never.task = TaskMode::kNever;
  Called plain = call(at("/v2"), "slow", never);
  ASSERT_TRUE(plain.result);
  EXPECT_EQ(text_of(*plain.result), "at once slow");
  EXPECT_FALSE(seen("tools/call").back().declares_extension());
}

TEST_F(McpClientTasks, ModernInputRequiredGoesThroughTheHooksAndTasksUpdate) {
  ClientOptions co;
  std::atomic<int> asked{0};
  co.hooks.elicitation = [&asked](const bj::object& p) -> awaitable<Result<bj::value>> {
    ++asked;
    EXPECT_EQ(bj::serialize(p.at("message")), R"("Who?")");
    co_return bj::value(bj::object{{"action", "accept"}, {"content", bj::object{{"name", "Ada"}}}});
  };
  Called out = call(at("/v2"), "ask", {}, co);
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(asked.load(), 1);
  auto updates = seen("tasks/update");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].header("mcp-name"), "t-1");
  EXPECT_EQ(bj::serialize(updates[0].params.at("inputResponses")),
            R"({"who":{"action":"accept","content":{"name":"Ada"}}})");
  bool saw_input_required = false;
  for (const auto& r : out.reports) saw_input_required |= r.status == "input_required";
  EXPECT_TRUE(saw_input_required);
}

TEST_F(McpClientTasks, FailedAndServerCancelledTasksAreClearErrors) {
  Called failed = call(at("/v2"), "broken");
  ASSERT_FALSE(failed.result);
  EXPECT_NE(failed.result.error().message().find("the task failed: the disk is full (-32603)"),
            std::string::npos)
      << failed.result.error().message();
  Called quit = call(at("/v2"), "quit");
  ASSERT_FALSE(quit.result);
  EXPECT_EQ(quit.result.error().code(), ErrorCode::kCancelled);
  EXPECT_NE(quit.result.error().message().find("the operator stopped it"), std::string::npos);
}

TEST_F(McpClientTasks, ATaskCanBeReadAndCancelledByItsId) {
  auto r = test::run_coroutine<std::string>([&](boost::asio::any_io_executor ex) -> awaitable<std::string> {
    Client c(ex, at("/v2"));
    if (!co_await c.connect()) co_return "no connect";
    CallOptions options;
    auto cancel = std::make_shared<CancelSignal>();
    options.cancel = cancel;
    std::string id;
    options.on_task_status = [&](const TaskInfo& s) {
      id = s.task_id;
      cancel->cancel();
    };
    bj::object none;
    auto called = co_await c.call_tool("held", std::move(none), std::move(options));
    if (called) co_return "not cancelled";
    auto got = co_await c.get_task(id);
    if (!got) co_return got.error().message();
    auto again = co_await c.cancel_task(id);
    co_return got->status + (again ? " ack" : " " + again.error().message());
  });
  EXPECT_EQ(r, "cancelled ack");
}

}  // namespace
}  // namespace idp::mcp::tasks_test

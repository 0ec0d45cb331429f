// Private: the server side of tasks (idp/mcp/tasks.h). TaskEngine holds the store and the tasks
// whose tool runs in this process (RunningTask: how to cancel it, its open questions, who waits
// for its end); task_methods.cc puts it on the wire (tools/call as a task, tasks/*).
// Nothing here runs for a tool that cannot be a task: the plain tools/call path never touches it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "idp/core/error.h"
#include "idp/mcp/jsonrpc.h"
#include "idp/mcp/tasks.h"
#include "idp/mcp/types.h"
#include "notifier.h"
#include "request_state.h"

namespace idp::mcp {

struct ToolEntry;
struct ServerCore;
class TaskEngine;

// A task whose tool runs in this process, from its creation until the tool returns.
struct RunningTask {
  std::string id;
  std::weak_ptr<RequestState> state;  // the background run; cancel() stops the tool
  std::weak_ptr<TaskEngine> engine;
  boost::asio::any_io_executor ex;  // the strand the tool runs on

  // One question of the tool waiting for tasks/update. The waiting coroutine owns the waker
  // (its timer belongs to the io_context that runs the tool, which may be gone before the
  // engine is).
  struct Answer {
    std::weak_ptr<Notifier> waker;
    std::optional<json::value> value;
  };

  std::mutex mu;
  bool done = false;
  json::object open;  // unanswered questions: key -> {"method": ..., "params": {...}}
  std::map<std::string, std::shared_ptr<Answer>, std::less<>> answers;
  std::vector<std::weak_ptr<Notifier>> waiters;  // tasks/result calls waiting for the end
  std::uint64_t version = 0;  // of `open`; what the store last got (see sync_inputs)
  std::uint64_t written = 0;
};

// A tools/call of a tool registered with TaskStart::kOnRequest, between its start and
// ToolContext::start_task() (or the handler's return): the tools/call waits on `waker` for one
// of `created` (reply CreateTaskResult), `refused` (reply that error) or `done` (reply the plain
// result, or the InputRequiredResult of the questions the handler asked).
struct TaskLaunch {
  std::shared_ptr<TaskEngine> engine;
  std::shared_ptr<const ToolEntry> entry;
  std::shared_ptr<ProtocolSession> session;
  std::chrono::milliseconds ttl{0};
  std::shared_ptr<Notifier> waker;

  std::mutex mu;
  std::optional<json::object> created;
  std::optional<std::string> refused;
  bool done = false;
  CallToolResult result;
  std::optional<std::string> failure;
  std::shared_ptr<RunningTask> running;    // once created
  std::shared_ptr<RequestState> task_state;  // once created
};

// What start_task_if_asked leaves for tools_call when the handler ran (kOnRequest) and returned
// without becoming a task.
struct PlainRun {
  bool done = false;
  bool cancelled = false;  // the request was cancelled while it ran: nothing to send
  CallToolResult result;
  std::optional<std::string> failure;
};

class TaskEngine : public std::enable_shared_from_this<TaskEngine> {
 public:
  explicit TaskEngine(TaskOptions options);
  ~TaskEngine();

  const TaskOptions& options() const { return options_; }
  TaskStore& store() { return *options_.store; }

  // Registered tools that can run as tasks: while none, no task capability is advertised.
  std::atomic<int> task_tools{0};

  void add(std::shared_ptr<RunningTask> task);
  std::shared_ptr<RunningTask> find(std::string_view task_id);
  // Cancels the tool of a task running here (no-op for others).
  void cancel(std::string_view task_id);
  // Cancels every tool running here (the server is going away).
  void cancel_all();
  // Removes expired tasks from the store (and stops their tools), at most once a second and at
  // most 100 at a time: called by the task methods, so no timer runs while no task is used.
  boost::asio::awaitable<void> sweep();

  // The background run of `entry` for a task; then store_outcome.
  static boost::asio::awaitable<void> run(std::shared_ptr<TaskEngine> engine,
                                          std::shared_ptr<const ToolEntry> entry, json::value args,
                                          std::shared_ptr<RequestState> state,
                                          std::shared_ptr<RunningTask> task);
  // The run of a kOnRequest tool: as a plain call until ToolContext::start_task(), as the task
  // afterwards.
  static boost::asio::awaitable<void> run_launch(std::shared_ptr<TaskLaunch> launch,
                                                 json::value args,
                                                 std::shared_ptr<RequestState> request);
  // Stores a task's outcome (completed with the CallToolResult, failed with a JSON-RPC error
  // when the tool threw, or cancelled), then wakes whoever waits in tasks/result.
  static boost::asio::awaitable<void> store_outcome(std::shared_ptr<TaskEngine> engine,
                                                    const ToolEntry& entry,
                                                    std::shared_ptr<RequestState> state,
                                                    std::shared_ptr<RunningTask> task,
                                                    CallToolResult result,
                                                    std::optional<std::string> failure);

  // Writes a running task's open questions (and status working / input_required) to the store
  // until what it wrote is the newest.
  boost::asio::awaitable<void> sync_inputs(RunningTask& task);

 private:
  void finish(const std::shared_ptr<RunningTask>& task);
  // Takes a task out of the running table (no-op when it is not there).
  void forget(const std::string& task_id);
  struct RunGuard;

  TaskOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<RunningTask>> running_;
  std::atomic<std::int64_t> last_sweep_ms_{0};
};

// A question of a task's tool (ToolContext::elicit, create_message, list_roots): under
// 2026-07-28 the task goes input_required with the question in inputRequests and the call
// waits for tasks/update to bring the answer.
boost::asio::awaitable<Result<json::value>> ask_in_task(RequestState& state,
                                                        std::string_view method,
                                                        json::object params, std::string_view key);
// ToolContext::progress in a task: the message becomes the task's statusMessage.
void report_task_status(RequestState& state, std::string_view message);
// ToolContext::start_task: creates the task of a kOnRequest call; returns the task's request
// state for the rest of the handler, or null when the call is no task (or it was refused: the
// client then gets the error).
boost::asio::awaitable<std::shared_ptr<RequestState>> start_launched_task(RequestState& request);

// ---- the wire (task_methods.cc) ---------------------------------------------------------------

// A task as the wire shows it: 2025-11-25 Task (ttl, pollInterval) or the 2026-07-28 Task
// (ttlMs, pollIntervalMs), without what its status carries.
json::object task_fields(const TaskRecord& task, bool v2);

// tools/call of a tool that can be a task: the CreateTaskResult (the tool now runs in the
// background) or an error reply when this call must be a task and cannot; nullopt when the call
// runs as a plain one: by the caller, or (kOnRequest) already here, its outcome in `plain`.
boost::asio::awaitable<std::optional<std::string>> start_task_if_asked(
    ServerCore& core, std::shared_ptr<ProtocolSession> session,
    std::shared_ptr<RequestState> request, const jsonrpc::Message& m,
    std::shared_ptr<const ToolEntry> entry, const json::value& arguments, PlainRun& plain);

// tasks/get, tasks/result, tasks/list, tasks/cancel, tasks/update; in the method table as
// TaskMethod.
using TaskMethod = boost::asio::awaitable<std::optional<std::string>> (*)(
    ServerCore& core, std::shared_ptr<ProtocolSession> session,
    std::shared_ptr<RequestState> request, const jsonrpc::Message& m);
boost::asio::awaitable<std::optional<std::string>> tasks_get(ServerCore&,
                                                             std::shared_ptr<ProtocolSession>,
                                                             std::shared_ptr<RequestState>,
                                                             const jsonrpc::Message&);
boost::asio::awaitable<std::optional<std::string>> tasks_result(ServerCore&,
                                                                std::shared_ptr<ProtocolSession>,
                                                                std::shared_ptr<RequestState>,
                                                                const jsonrpc::Message&);
boost::asio::awaitable<std::optional<std::string>> tasks_list(ServerCore&,
                                                              std::shared_ptr<ProtocolSession>,
                                                              std::shared_ptr<RequestState>,
                                                              const jsonrpc::Message&);
boost::asio::awaitable<std::optional<std::string>> tasks_cancel(ServerCore&,
                                                                std::shared_ptr<ProtocolSession>,
                                                                std::shared_ptr<RequestState>,
                                                                const jsonrpc::Message&);
boost::asio::awaitable<std::optional<std::string>> tasks_update(ServerCore&,
                                                                std::shared_ptr<ProtocolSession>,
                                                                std::shared_ptr<RequestState>,
                                                                const jsonrpc::Message&);

}  // namespace idp::mcp

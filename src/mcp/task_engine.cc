// TaskEngine: the tasks running in this process, their background run, their questions to the
// client and the expiry sweep. Coroutines here follow the GCC 12 rule (docs/architecture.md):
// no temporary with state in a co_await operand.
#include "task_engine.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/value_from.hpp>

#include <algorithm>

#include "idp/core/log.h"
#include "server_core.h"

namespace idp::mcp {

namespace net = boost::asio;
using net::awaitable;

std::string_view to_string(TaskStatus status) {
  switch (status) {
    case TaskStatus::kInputRequired:
      return "input_required";
    case TaskStatus::kCompleted:
      return "completed";
    case TaskStatus::kFailed:
      return "failed";
    case TaskStatus::kCancelled:
      return "cancelled";
    case TaskStatus::kWorking:
      break;
  }
  return "working";
}

std::optional<TaskStatus> parse_task_status(std::string_view text) {
  for (auto s : {TaskStatus::kWorking, TaskStatus::kInputRequired, TaskStatus::kCompleted,
                 TaskStatus::kFailed, TaskStatus::kCancelled}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

bool is_terminal(TaskStatus status) {
  return status == TaskStatus::kCompleted || status == TaskStatus::kFailed ||
         status == TaskStatus::kCancelled;
}

TaskEngine::TaskEngine(TaskOptions options) : options_(std::move(options)) {
  if (!options_.store) options_.store = make_memory_task_store();
  if (options_.poll_interval <= std::chrono::milliseconds::zero()) {
    options_.poll_interval = std::chrono::milliseconds(1000);
  }
  if (options_.default_ttl <= std::chrono::milliseconds::zero()) {
    options_.default_ttl = std::chrono::hours(1);
  }
  if (options_.max_ttl < options_.default_ttl) options_.max_ttl = options_.default_ttl;
  if (options_.max_live_per_owner == 0) options_.max_live_per_owner = 1;
  if (options_.page_size == 0) options_.page_size = 50;
}

TaskEngine::~TaskEngine() = default;

void TaskEngine::add(std::shared_ptr<RunningTask> task) {
  std::lock_guard lock(mu_);
  std::string id = task->id;
  running_.emplace(std::move(id), std::move(task));
}

std::shared_ptr<RunningTask> TaskEngine::find(std::string_view task_id) {
  std::lock_guard lock(mu_);
  auto it = running_.find(std::string(task_id));
  return it == running_.end() ? nullptr : it->second;
}

void TaskEngine::cancel(std::string_view task_id) {
  if (auto task = find(task_id)) {
    if (auto state = task->state.lock()) state->cancel();
  }
}

void TaskEngine::cancel_all() {
  std::vector<std::shared_ptr<RunningTask>> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, t] : running_) all.push_back(t);
  }
  for (const auto& t : all) {
    if (auto state = t->state.lock()) state->cancel();
  }
}

awaitable<void> TaskEngine::sweep() {
  const auto now = std::chrono::system_clock::now();
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::int64_t last = last_sweep_ms_.load();
  if (now_ms - last < 1000 || !last_sweep_ms_.compare_exchange_strong(last, now_ms)) co_return;
  std::vector<std::string> expired = co_await store().remove_expired(now, 100);
  for (const auto& id : expired) {
    log::debug("task {} expired", id);
    cancel(id);
  }
}

void TaskEngine::forget(const std::string& task_id) {
  std::lock_guard lock(mu_);
  running_.erase(task_id);
}

// Lives in a task's background run: when the run's coroutine is destroyed unfinished (its
// io_context went away first, e.g. the HTTP server stopped before the MCP server), the task
// leaves the running table with it, so that the table never holds a strand or timer of an
// io_context that no longer exists. A finished run has left already (finish()).
struct TaskEngine::RunGuard {
  std::weak_ptr<TaskEngine> engine;
  std::shared_ptr<TaskLaunch> launch;  // run_launch: the task, once start_task() made it
  std::string task_id;                 // run: the task
  ~RunGuard() {
    std::string id = task_id;
    if (launch) {
      std::lock_guard lock(launch->mu);
      if (launch->running) id = launch->running->id;
    }
    if (auto e = engine.lock(); e && !id.empty()) e->forget(id);
  }
};

void TaskEngine::finish(const std::shared_ptr<RunningTask>& task) {
  std::vector<std::weak_ptr<Notifier>> waiters;
  {
    std::lock_guard lock(task->mu);
    task->done = true;
    waiters.swap(task->waiters);
  }
  {
    std::lock_guard lock(mu_);
    running_.erase(task->id);
  }
  for (auto& w : waiters) {
    if (auto n = w.lock()) n->notify();
  }
}

awaitable<void> TaskEngine::run(std::shared_ptr<TaskEngine> engine,
                                std::shared_ptr<const ToolEntry> entry, json::value args,
                                std::shared_ptr<RequestState> state,
                                std::shared_ptr<RunningTask> task) {
  const RunGuard guard{engine, nullptr, task->id};
  ToolContext ctx(state);
  CallToolResult result;
  awaitable<CallToolResult> handler = entry->handler(args.as_object(), ctx);
  auto failure = co_await guarded(std::move(handler), result);
  co_await store_outcome(std::move(engine), *entry, std::move(state), std::move(task),
                         std::move(result), std::move(failure));
}

awaitable<void> TaskEngine::run_launch(std::shared_ptr<TaskLaunch> launch, json::value args,
                                       std::shared_ptr<RequestState> request) {
  const RunGuard guard{launch->engine, launch, {}};
  ToolContext ctx(request);
  CallToolResult result;
  awaitable<CallToolResult> handler = launch->entry->handler(args.as_object(), ctx);
  auto failure = co_await guarded(std::move(handler), result);
  std::shared_ptr<RunningTask> task;
  std::shared_ptr<RequestState> state;
  {
    std::lock_guard lock(launch->mu);
    task = launch->running;
    state = launch->task_state;
    if (!task) {
      launch->done = true;
      launch->result = std::move(result);
      launch->failure = std::move(failure);
    }
  }
  if (!task) {
    launch->waker->notify();
    co_return;
  }
  std::shared_ptr<TaskEngine> engine = launch->engine;
  co_await store_outcome(std::move(engine), *launch->entry, std::move(state), std::move(task),
                         std::move(result), std::move(failure));
}

awaitable<void> TaskEngine::store_outcome(std::shared_ptr<TaskEngine> engine,
                                          const ToolEntry& entry,
                                          std::shared_ptr<RequestState> state,
                                          std::shared_ptr<RunningTask> task,
                                          CallToolResult result,
                                          std::optional<std::string> failure) {
  TaskUpdate update;
  update.task_id = task->id;
  if (state->cancelled()) {
    update.status = TaskStatus::kCancelled;
  } else if (failure) {
    // A protocol-level failure: the task fails with a JSON-RPC error; the text stays in the log.
    log::error("tool '{}' of task {} threw (trace {}): {}", entry.tool.name, task->id,
               state->trace_id, *failure);
    update.status = TaskStatus::kFailed;
    update.error = TaskError{jsonrpc::kInternalError, internal_error_text(state->trace_id), {}};
  } else {
    const std::optional<std::string> none;
    result = finish_tool_result(entry, *state, none, std::move(result));
    update.status = TaskStatus::kCompleted;
    update.result = json::value_from(result).as_object();
  }
  auto stored = co_await engine->store().update(std::move(update));
  if (!stored) {
    // Gone already (it expired while the tool ran) or the store failed.
    if (stored.error().code() == ErrorCode::kNotFound) {
      log::debug("task {} ended after it expired", task->id);
    } else {
      log::warn("task {}: storing its outcome failed: {}", task->id, stored.error().message());
    }
  } else if (!state->modern) {
    // 2025-11-25: notifications/tasks/status on the session's stream, when it has one.
    if (auto session = state->session.lock()) {
      json::object params = task_fields(*stored, false);
      session->notify(jsonrpc::notification("notifications/tasks/status", params));
    }
  }
  engine->finish(task);
}

awaitable<void> TaskEngine::sync_inputs(RunningTask& task) {
  for (;;) {
    TaskUpdate update;
    update.task_id = task.id;
    std::uint64_t version;
    {
      std::lock_guard lock(task.mu);
      if (task.written >= task.version) co_return;
      version = task.version;
      update.input_requests = task.open;
      update.status = task.open.empty() ? TaskStatus::kWorking : TaskStatus::kInputRequired;
    }
    auto stored = co_await store().update(std::move(update));
    if (!stored) co_return;
    std::lock_guard lock(task.mu);
    task.written = std::max(task.written, version);
  }
}

awaitable<Result<json::value>> ask_in_task(RequestState& state, std::string_view method,
                                           json::object params, std::string_view key) {
  std::shared_ptr<RunningTask> task = state.task;
  auto engine = task->engine.lock();
  if (!engine) co_return make_error(ErrorCode::kCancelled, "the server is shutting down");
  if (!state.modern) {
    co_return make_error(ErrorCode::kUnavailable,
                         std::string(method) +
                             ": a task's tool can ask the client only under protocol 2026-07-28 "
                             "(answers come through tasks/update); this task was created in a "
                             "2025-11-25 session");
  }
  const std::string_view capability = capability_for(method);
  if (capability.empty()) {
    co_return make_error(ErrorCode::kUnavailable,
                         std::string(method) +
                             ": a task's tool may ask the client only for sampling, elicitation "
                             "and roots");
  }
  if (!state.client_capabilities || !state.client_capabilities->contains(capability)) {
    co_return make_error(ErrorCode::kUnavailable,
                         "the client does not support " + std::string(capability) +
                             " (no '" + std::string(capability) +
                             "' capability in the request that created the task)");
  }
  std::string name = key.empty() ? std::string(capability) + "-" +
                                       std::to_string(state.next_input++)
                                 : std::string(key);
  auto ex = co_await net::this_coro::executor;
  auto waker = std::make_shared<Notifier>(ex);
  auto answer = std::make_shared<RunningTask::Answer>();
  answer->waker = waker;
  {
    std::lock_guard lock(task->mu);
    task->open[name] = json::object{{"method", method}, {"params", std::move(params)}};
    task->answers[name] = answer;
    ++task->version;
  }
  co_await engine->sync_inputs(*task);
  auto wake_on_cancel = state.subscribe_cancel([w = std::weak_ptr<Notifier>(waker)] {
    if (auto n = w.lock()) n->notify();
  });
  const auto deadline = std::chrono::steady_clock::now() + engine->options().input_timeout;
  std::optional<json::value> value;
  for (;;) {
    {
      std::lock_guard lock(task->mu);
      if (answer->value) {
        value = std::move(answer->value);
        break;
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (state.cancelled() || now >= deadline) break;
    co_await waker->wait(deadline - now);
  }
  wake_on_cancel.reset();
  bool changed = false;
  {
    std::lock_guard lock(task->mu);
    task->answers.erase(name);
    if (task->open.erase(name) > 0) {
      ++task->version;
      changed = true;
    }
  }
  if (changed) co_await engine->sync_inputs(*task);
  if (value) co_return std::move(*value);
  if (state.cancelled()) co_return make_error(ErrorCode::kCancelled, "the task was cancelled");
  co_return make_error(ErrorCode::kTimeout,
                       std::string(method) + ": no answer through tasks/update within " +
                           std::to_string(engine->options().input_timeout.count()) + " ms");
}

namespace {

// One store write in the background; the engine (and so the store) lives until it is done.
awaitable<void> write_status(std::shared_ptr<TaskEngine> engine, TaskUpdate update) {
  auto stored = co_await engine->store().update(std::move(update));
  if (!stored) log::debug("task status not stored: {}", stored.error().message());
}

}  // namespace

void report_task_status(RequestState& state, std::string_view message) {
  auto engine = state.task->engine.lock();
  if (!engine || message.empty()) return;
  TaskUpdate update;
  update.task_id = state.task->id;
  update.status_message = std::string(message);
  net::co_spawn(state.task->ex, write_status(std::move(engine), std::move(update)), net::detached);
}

}  // namespace idp::mcp

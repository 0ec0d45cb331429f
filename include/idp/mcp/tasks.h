// Tasks: a tools/call that the server answers at once with a task handle while the tool runs in
// the background; the client polls tasks/get, fetches the outcome, answers the tool's questions
// (input_required) and may cancel. Two wire generations are served: the experimental tasks of
// 2025-11-25 (params.task, tasks/get, tasks/result, tasks/list, tasks/cancel) and the
// io.modelcontextprotocol/tasks extension of 2026-07-28 (server-directed creation, tasks/get with
// the result inlined, tasks/update, tasks/cancel).
//
// Task state lives behind TaskStore. The default keeps it in memory (one process); a store that
// keeps it in a database makes a task's status and outcome survive a restart and visible from
// every replica (the tool itself runs in the process that accepted the call). Every signature
// holds plain values only, so a durable store can implement it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/error.h"

namespace idp::mcp {

enum class TaskStatus { kWorking, kInputRequired, kCompleted, kFailed, kCancelled };
std::string_view to_string(TaskStatus status);  // "working", "input_required", ...
std::optional<TaskStatus> parse_task_status(std::string_view text);
bool is_terminal(TaskStatus status);  // completed, failed, cancelled

// A failed task's JSON-RPC error.
struct TaskError {
  int code = 0;
  std::string message;
  std::optional<boost::json::value> data;
};

// One task as stored.
struct TaskRecord {
  std::string task_id;
  // Whose task: "sub:<subject>" for an authenticated caller, else "session:<id>" (2025-11-25
  // sessions), else "anonymous". Only the owner sees the task.
  std::string owner;
  std::string tool;  // the tool it runs
  TaskStatus status = TaskStatus::kWorking;
  std::string status_message;
  std::chrono::system_clock::time_point created_at;
  std::chrono::system_clock::time_point last_updated_at;
  // How long after created_at the task is kept; nullopt keeps it until the server restarts.
  std::optional<std::chrono::milliseconds> ttl;
  std::chrono::milliseconds poll_interval{1000};
  // While input_required: the open questions, key -> {"method": ..., "params": {...}}.
  boost::json::object input_requests;
  std::optional<boost::json::object> result;  // completed: the CallToolResult
  std::optional<TaskError> error;             // failed
};

// A change to a task; unset members stay as they are.
struct TaskUpdate {
  std::string task_id;
  std::optional<TaskStatus> status;
  std::optional<std::string> status_message;
  std::optional<boost::json::object> input_requests;
  std::optional<boost::json::object> result;
  std::optional<TaskError> error;
};

struct TaskPage {
  std::vector<TaskRecord> tasks;
  std::optional<std::string> next_cursor;
};

class TaskStore {
 public:
  virtual ~TaskStore() = default;
  // Adds a task. kResourceExhausted when its owner already has `max_live` tasks that are not
  // terminal; kInvalidArgument when the id is taken.
  virtual boost::asio::awaitable<Result<void>> create(TaskRecord task, std::size_t max_live) = 0;
  // The task, if `owner` owns it and it has not expired; kNotFound otherwise (another owner's
  // task is indistinguishable from a missing one).
  virtual boost::asio::awaitable<Result<TaskRecord>> get(std::string owner,
                                                         std::string task_id) = 0;
  // Applies `update` unless the task is already terminal (terminal states are final: the first
  // of completion and cancellation wins). Returns the task as stored afterwards; kNotFound
  // when it does not exist.
  virtual boost::asio::awaitable<Result<TaskRecord>> update(TaskUpdate update) = 0;
  // The owner's tasks, oldest first, `limit` at a time; `cursor` is empty or a next_cursor this
  // store returned (kInvalidArgument otherwise).
  virtual boost::asio::awaitable<Result<TaskPage>> list(std::string owner, std::string cursor,
                                                        std::size_t limit) = 0;
  // Removes up to `max` tasks whose ttl has passed at `now`; returns their ids.
  virtual boost::asio::awaitable<std::vector<std::string>> remove_expired(
      std::chrono::system_clock::time_point now, std::size_t max) = 0;
};

// The default store: maps in this process (thread-safe). An owner keeps at most
// `max_per_owner` tasks: creating one more first drops the owner's oldest finished tasks, so
// memory stays bounded however fast tasks are made.
std::shared_ptr<TaskStore> make_memory_task_store(std::size_t max_per_owner = 10000);

// ServerOptions::tasks.
struct TaskOptions {
  std::shared_ptr<TaskStore> store;  // null: make_memory_task_store()
  // ttl of a task the client asked none for (2025-11-25 params.task.ttl; 2026-07-28 clients
  // cannot ask) and the longest one granted.
  std::chrono::milliseconds default_ttl{std::chrono::hours(1)};
  std::chrono::milliseconds max_ttl{std::chrono::hours(24)};
  std::chrono::milliseconds poll_interval{1000};  // advertised pollInterval(Ms)
  // Tasks that are not terminal yet, per owner; one more is refused with a JSON-RPC error.
  std::size_t max_live_per_owner = 64;
  std::size_t page_size = 50;  // tasks/list (2025-11-25)
  // How long a task's question (elicitation, sampling, roots) waits for tasks/update.
  std::chrono::milliseconds input_timeout{std::chrono::minutes(30)};
};

}  // namespace idp::mcp

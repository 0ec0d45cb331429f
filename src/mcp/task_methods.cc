// Tasks on the wire, in both generations:
//   2025-11-25 (experimental, in a session): tools/call with params.task -> {"task": Task};
//     tasks/get -> Task; tasks/result waits for the end and returns the tool's result (or its
//     JSON-RPC error); tasks/list pages the caller's tasks; tasks/cancel -> Task (-32602 for a
//     task that already ended). Fields ttl and pollInterval.
//   2026-07-28 (the io.modelcontextprotocol/tasks extension): the server creates a task for a
//     tool that supports one when the request declares the extension; CreateTaskResult is the
//     flat Task with resultType "task"; tasks/get inlines result, error or inputRequests;
//     tasks/update answers the task's questions; tasks/cancel acknowledges with an empty result,
//     also for a task that already ended. Fields ttlMs and pollIntervalMs. Without the extension,
//     the task methods and a task-only tool answer -32021.
// A task is visible only to the caller that created it (task_owner). Coroutines here follow the
// GCC 12 rule (docs/architecture.md).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/error_code.hpp>

#include <expected>

#include "idp/core/clock.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "server_core.h"
#include "task_engine.h"

namespace idp::mcp {

namespace net = boost::asio;

json::object task_fields(const TaskRecord& t, bool v2) {
  json::object o{{"taskId", t.task_id}, {"status", to_string(t.status)}};
  if (!t.status_message.empty()) o["statusMessage"] = t.status_message;
  o["createdAt"] = format_utc(t.created_at);
  o["lastUpdatedAt"] = format_utc(t.last_updated_at);
  json::value ttl = nullptr;
  if (t.ttl) ttl = t.ttl->count();
  o[v2 ? "ttlMs" : "ttl"] = std::move(ttl);
  o[v2 ? "pollIntervalMs" : "pollInterval"] = t.poll_interval.count();
  return o;
}

namespace {

using net::awaitable;
using Reply = std::optional<std::string>;

constexpr std::string_view kRelatedTask = "io.modelcontextprotocol/related-task";

// Whose task: the verified subject, else the 2025-11-25 session, else everyone unauthenticated
// without a session (2026-07-28 requests, stateless mode).
std::string task_owner(const RequestState& rs, const ProtocolSession* session) {
  if (rs.identity->authenticated && !rs.identity->subject.empty()) {
    return "sub:" + rs.identity->subject;
  }
  if (session && !session->id.empty()) return "session:" + session->id;
  return "anonymous";
}

bool declares_extension(const RequestState& rs) {
  if (!rs.client_capabilities) return false;
  const json::object* extensions = ::idp::json::find_object(*rs.client_capabilities, "extensions");
  return extensions && extensions->contains(kTasksExtension);
}

// -32021 naming the extension the request should have declared.
std::string missing_extension(RequestState& rs, const json::value& id, const std::string& what) {
  rs.http_status = 400;
  json::object extensions{{kTasksExtension, json::object{}}};
  json::object required{{"extensions", std::move(extensions)}};
  json::value data = json::object{{"requiredCapabilities", std::move(required)}};
  return fail_request(rs, id, jsonrpc::kMissingRequiredClientCapability,
                      what + ": the client did not declare the " + std::string(kTasksExtension) +
                          " extension (capabilities.extensions in the request's _meta)",
                      std::move(data));
}

std::string unknown_task(RequestState& rs, const json::value& id, std::string_view method,
                         std::string_view task_id) {
  return fail_request(rs, id, jsonrpc::kInvalidParams,
                      std::string(method) + ": unknown task '" + std::string(task_id) + "'",
                      json::value(json::object{{"taskId", task_id}}));
}

std::string store_failure(RequestState& rs, const json::value& id, std::string_view method,
                          const Error& e) {
  log::error("{} (trace {}): the task store failed: {}", method, rs.trace_id, e.message());
  return fail_request(rs, id, jsonrpc::kInternalError, internal_error_text(rs.trace_id));
}

// 2026-07-28 DetailedTask: the Task plus what its status carries.
json::object detailed_task(const TaskRecord& t) {
  json::object o = task_fields(t, true);
  if (t.status == TaskStatus::kInputRequired) o["inputRequests"] = t.input_requests;
  if (t.status == TaskStatus::kCompleted && t.result) {
    // The tool's result as a 2026-07-28 tools/call would have answered it.
    json::object result = *t.result;
    result["resultType"] = kResultComplete;
    o["result"] = std::move(result);
  }
  if (t.status == TaskStatus::kFailed && t.error) {
    json::object error{{"code", t.error->code}, {"message", t.error->message}};
    if (t.error->data) error["data"] = *t.error->data;
    o["error"] = std::move(error);
  }
  return o;
}

// The background run's request state: what the tool's ToolContext sees, copied out of the
// request (whose memory goes with it) into memory of its own.
std::shared_ptr<RequestState> task_state(const RequestState& rs,
                                         const std::shared_ptr<ProtocolSession>& session,
                                         std::shared_ptr<RunningTask> task) {
  auto st = std::make_shared<RequestState>(json::object(rs.request_meta(), json::storage_ptr()));
  st->modern = rs.modern;
  st->protocol_version = rs.protocol_version;
  if (rs.modern) {
    st->client_capabilities = ::idp::json::find_object(st->meta, meta_keys::kClientCapabilities);
    st->client_info = ::idp::json::find_object(st->meta, meta_keys::kClientInfo);
  }
  st->min_log_level = rs.min_log_level;
  st->session = session;
  st->session_id = rs.session_id;
  st->id = json::value(rs.id, json::storage_ptr());
  st->identity = rs.identity;
  st->trace_id = rs.trace_id;
  st->peer = rs.peer;
  // 2025-11-25: progress of the task goes on with the call's progressToken.
  if (!rs.modern && rs.progress_token) {
    st->progress_token = json::value(*rs.progress_token, json::storage_ptr());
  }
  st->task = std::move(task);
  return st;
}

// The caller's task `task_id`, or the error reply (unknown to this caller, a store failure).
awaitable<std::expected<TaskRecord, std::string>> owned_task(TaskEngine& engine, RequestState& rs,
                                                             const ProtocolSession* session,
                                                             const jsonrpc::Message& m,
                                                             const std::string& task_id) {
  std::string owner = task_owner(rs, session);
  std::string which = task_id;
  auto task = co_await engine.store().get(std::move(owner), std::move(which));
  if (task) co_return std::move(*task);
  if (task.error().code() != ErrorCode::kNotFound) {
    co_return std::unexpected(store_failure(rs, m.id, m.method, task.error()));
  }
  co_return std::unexpected(unknown_task(rs, m.id, m.method, task_id));
}

const json::string* task_id_param(const jsonrpc::Message& m) {
  return ::idp::json::find_string(m.params, "taskId");
}

std::string missing_task_id(RequestState& rs, const jsonrpc::Message& m) {
  return fail_request(rs, m.id, jsonrpc::kInvalidParams,
                      m.method + " needs params.taskId (a string)");
}

// A task made for a call: the Task members to answer with, and its run (not started yet).
struct NewTask {
  json::object fields;
  std::shared_ptr<RequestState> state;
  std::shared_ptr<RunningTask> running;
};

// Creates the task of `entry`'s call in the store and its run on a strand of `ex`; on failure
// the error reply (the per-caller limit, a store failure).
awaitable<std::expected<NewTask, std::string>> create_task(
    std::shared_ptr<TaskEngine> engine, RequestState& rs, std::shared_ptr<ProtocolSession> session,
    const ToolEntry& entry, std::chrono::milliseconds ttl, net::any_io_executor ex) {
  const TaskOptions& opt = engine->options();
  co_await engine->sweep();
  TaskRecord record;
  record.task_id = random_token(16);
  record.owner = task_owner(rs, session.get());
  record.tool = entry.tool.name;
  record.created_at = std::chrono::system_clock::now();
  record.last_updated_at = record.created_at;
  record.ttl = std::min(ttl, opt.max_ttl);
  record.poll_interval = opt.poll_interval;
  NewTask made;
  made.fields = task_fields(record, rs.modern);
  const std::string task_id = record.task_id;
  auto created = co_await engine->store().create(std::move(record), opt.max_live_per_owner);
  if (!created) {
    if (created.error().code() != ErrorCode::kResourceExhausted) {
      co_return std::unexpected(store_failure(rs, rs.id, "tools/call", created.error()));
    }
    co_return std::unexpected(fail_request(
        rs, rs.id, jsonrpc::kInvalidRequest,
        "tools/call of '" + entry.tool.name + "' as a task: " + created.error().message()));
  }
  made.running = std::make_shared<RunningTask>();
  made.running->id = task_id;
  made.running->engine = engine;
  made.running->ex = net::make_strand(ex);
  made.state = task_state(rs, session, made.running);
  made.running->state = made.state;
  engine->add(made.running);
  log::debug("tools/call of '{}' runs as task {} (trace {})", entry.tool.name, task_id,
             rs.trace_id);
  co_return std::move(made);
}

// The answer to a tools/call that became a task.
std::string create_task_result(const ServerCore& core, const RequestState& rs,
                               json::object fields) {
  if (!rs.modern) {
    json::object result{{"task", std::move(fields)}};
    return jsonrpc::response(rs.id, result);
  }
  fields["resultType"] = "task";
  if (core.options.server_info_in_results) {
    fields["_meta"] = json::object{{meta_keys::kServerInfo, core.server_info}};
  }
  return jsonrpc::response(rs.id, fields);
}

// A kOnRequest call: the handler runs here until it calls ToolContext::start_task() or returns.
awaitable<Reply> launch(ServerCore& core, std::shared_ptr<ProtocolSession> session,
                        std::shared_ptr<RequestState> request,
                        std::shared_ptr<const ToolEntry> entry, const json::value& arguments,
                        std::chrono::milliseconds ttl, PlainRun& plain) {
  RequestState& rs = *request;
  auto ex = co_await net::this_coro::executor;
  auto l = std::make_shared<TaskLaunch>();
  l->engine = core.tasks;
  l->entry = entry;
  l->session = session;
  l->ttl = ttl;
  l->waker = std::make_shared<Notifier>(ex);
  rs.launch = l;
  json::value args(arguments, json::storage_ptr());
  net::co_spawn(net::make_strand(ex), TaskEngine::run_launch(l, std::move(args), request),
                net::detached);
  auto wake_on_cancel = rs.subscribe_cancel([w = std::weak_ptr<Notifier>(l->waker)] {
    if (auto n = w.lock()) n->notify();
  });
  for (;;) {
    {
      std::lock_guard lock(l->mu);
      if (l->created) co_return create_task_result(core, rs, std::move(*l->created));
      if (l->refused) co_return std::move(*l->refused);
      if (l->done) {
        plain.done = true;
        plain.result = std::move(l->result);
        plain.failure = std::move(l->failure);
        co_return std::nullopt;
      }
    }
    if (rs.cancelled()) {
      plain.cancelled = true;
      co_return std::nullopt;
    }
    co_await l->waker->wait(std::chrono::hours(1));
  }
}

}  // namespace

awaitable<Reply> start_task_if_asked(ServerCore& core, std::shared_ptr<ProtocolSession> session,
                                     std::shared_ptr<RequestState> request,
                                     const jsonrpc::Message& m,
                                     std::shared_ptr<const ToolEntry> entry,
                                     const json::value& arguments, PlainRun& plain) {
  RequestState& rs = *request;
  const std::string& name = entry->tool.name;
  const bool required = entry->tool.task_support == TaskSupport::kRequired;
  std::chrono::milliseconds ttl = core.tasks->options().default_ttl;
  if (rs.modern) {
    // Server-directed: a task whenever the request declares the extension.
    if (!declares_extension(rs)) {
      if (required) {
        co_return missing_extension(rs, m.id, "tools/call of '" + name + "' (a task-only tool)");
      }
      co_return std::nullopt;
    }
    if (entry->task_start == TaskStart::kOnRequest) {
      auto run = launch(core, session, request, entry, arguments, ttl, plain);
      co_return co_await std::move(run);
    }
  } else {
    const json::object* task = ::idp::json::find_object(m.params, "task");
    if (!task) {
      if (!required) co_return std::nullopt;
      co_return fail_request(rs, m.id, jsonrpc::kMethodNotFound,
                             "tool '" + name +
                                 "' runs only as a task (execution.taskSupport \"required\"): "
                                 "call it with params.task");
    }
    if (auto it = task->find("ttl"); it != task->end() && it->value().is_number()) {
      boost::system::error_code ec;
      auto asked = it->value().to_number<std::int64_t>(ec);
      if (!ec && asked > 0) ttl = std::chrono::milliseconds(asked);
    }
  }
  auto ex = co_await net::this_coro::executor;
  auto create = create_task(core.tasks, rs, session, *entry, ttl, ex);
  auto made = co_await std::move(create);
  if (!made) co_return std::move(made.error());
  json::value args(arguments, json::storage_ptr());
  net::co_spawn(made->running->ex,
                TaskEngine::run(core.tasks, entry, std::move(args), made->state, made->running),
                net::detached);
  co_return create_task_result(core, rs, std::move(made->fields));
}

awaitable<std::shared_ptr<RequestState>> start_launched_task(RequestState& rs) {
  std::shared_ptr<TaskLaunch> l = std::move(rs.launch);
  if (!l) co_return nullptr;
  auto ex = co_await net::this_coro::executor;
  auto create = create_task(l->engine, rs, l->session, *l->entry, l->ttl, ex);
  auto made = co_await std::move(create);
  std::shared_ptr<RequestState> state;
  {
    std::lock_guard lock(l->mu);
    if (made) {
      l->created = std::move(made->fields);
      l->running = made->running;
      l->task_state = made->state;
      state = made->state;
    } else {
      l->refused = std::move(made.error());
    }
  }
  l->waker->notify();
  co_return state;
}

awaitable<Reply> tasks_get(ServerCore& core, std::shared_ptr<ProtocolSession> session,
                           std::shared_ptr<RequestState> request, const jsonrpc::Message& m) {
  RequestState& rs = *request;
  if (rs.modern && !declares_extension(rs)) co_return missing_extension(rs, m.id, m.method);
  const json::string* id = task_id_param(m);
  if (!id) co_return missing_task_id(rs, m);
  TaskEngine& engine = *core.tasks;
  co_await engine.sweep();
  const std::string task_id(*id);
  auto lookup = owned_task(engine, rs, session.get(), m, task_id);
  auto task = co_await std::move(lookup);
  if (!task) co_return std::move(task.error());
  if (rs.modern) co_return core.reply(rs, detailed_task(*task));
  co_return jsonrpc::response(rs.id, task_fields(*task, false));
}

awaitable<Reply> tasks_result(ServerCore& core, std::shared_ptr<ProtocolSession> session,
                              std::shared_ptr<RequestState> request, const jsonrpc::Message& m) {
  RequestState& rs = *request;
  const json::string* id = task_id_param(m);
  if (!id) co_return missing_task_id(rs, m);
  TaskEngine& engine = *core.tasks;
  const std::string task_id(*id);
  auto ex = co_await net::this_coro::executor;
  auto waker = std::make_shared<Notifier>(ex);
  auto wake_on_cancel = rs.subscribe_cancel([w = std::weak_ptr<Notifier>(waker)] {
    if (auto n = w.lock()) n->notify();
  });
  for (;;) {
    auto lookup = owned_task(engine, rs, session.get(), m, task_id);
    auto task = co_await std::move(lookup);
    if (!task) co_return std::move(task.error());
    if (task->status == TaskStatus::kCompleted && task->result) {
      json::object result = std::move(*task->result);
      json::value& meta = result["_meta"];
      if (!meta.is_object()) meta.emplace_object();
      meta.get_object()[kRelatedTask] = json::object{{"taskId", task_id}};
      co_return jsonrpc::response(rs.id, result);
    }
    if (task->status == TaskStatus::kFailed && task->error) {
      co_return fail_request(rs, m.id, task->error->code, task->error->message, task->error->data);
    }
    if (is_terminal(task->status)) {
      co_return fail_request(rs, m.id, jsonrpc::kInvalidParams,
                             "tasks/result: task '" + task_id + "' was " +
                                 std::string(to_string(task->status)) + "; it has no result");
    }
    if (rs.cancelled()) co_return std::nullopt;
    // Wait for the end of a task running here; poll the store for one running elsewhere.
    if (auto running = engine.find(task_id)) {
      std::lock_guard lock(running->mu);
      if (!running->done) running->waiters.push_back(waker);
    }
    co_await waker->wait(engine.options().poll_interval);
  }
}

awaitable<Reply> tasks_list(ServerCore& core, std::shared_ptr<ProtocolSession> session,
                            std::shared_ptr<RequestState> request, const jsonrpc::Message& m) {
  RequestState& rs = *request;
  std::string cursor;
  if (auto it = m.params.find("cursor"); it != m.params.end() && !it->value().is_null()) {
    auto* s = it->value().if_string();
    if (!s) co_return fail_request(rs, m.id, jsonrpc::kInvalidParams, "invalid cursor");
    cursor = std::string(*s);
  }
  TaskEngine& engine = *core.tasks;
  co_await engine.sweep();
  std::string owner = task_owner(rs, session.get());
  auto page =
      co_await engine.store().list(std::move(owner), std::move(cursor), engine.options().page_size);
  if (!page) {
    if (page.error().code() == ErrorCode::kInvalidArgument) {
      co_return fail_request(rs, m.id, jsonrpc::kInvalidParams, "invalid cursor");
    }
    co_return store_failure(rs, m.id, m.method, page.error());
  }
  json::array tasks;
  for (const auto& t : page->tasks) tasks.push_back(task_fields(t, false));
  json::object result{{"tasks", std::move(tasks)}};
  if (page->next_cursor) result["nextCursor"] = *page->next_cursor;
  co_return jsonrpc::response(rs.id, result);
}

awaitable<Reply> tasks_cancel(ServerCore& core, std::shared_ptr<ProtocolSession> session,
                              std::shared_ptr<RequestState> request, const jsonrpc::Message& m) {
  RequestState& rs = *request;
  if (rs.modern && !declares_extension(rs)) co_return missing_extension(rs, m.id, m.method);
  const json::string* id = task_id_param(m);
  if (!id) co_return missing_task_id(rs, m);
  TaskEngine& engine = *core.tasks;
  const std::string task_id(*id);
  auto lookup = owned_task(engine, rs, session.get(), m, task_id);
  auto task = co_await std::move(lookup);
  if (!task) co_return std::move(task.error());
  if (is_terminal(task->status)) {
    // 2026-07-28 acknowledges again; 2025-11-25 refuses.
    if (rs.modern) co_return core.reply(rs, json::object{});
    co_return fail_request(rs, m.id, jsonrpc::kInvalidParams,
                           "tasks/cancel: task '" + task_id + "' is already " +
                               std::string(to_string(task->status)) +
                               "; only a working or input_required task can be cancelled");
  }
  TaskUpdate update;
  update.task_id = task_id;
  update.status = TaskStatus::kCancelled;
  update.status_message = "Cancelled by the client.";
  auto updated = co_await engine.store().update(std::move(update));
  if (!updated) co_return store_failure(rs, m.id, m.method, updated.error());
  engine.cancel(task_id);
  if (rs.modern) co_return core.reply(rs, json::object{});
  co_return jsonrpc::response(rs.id, task_fields(*updated, false));
}

awaitable<Reply> tasks_update(ServerCore& core, std::shared_ptr<ProtocolSession> session,
                              std::shared_ptr<RequestState> request, const jsonrpc::Message& m) {
  RequestState& rs = *request;
  if (!declares_extension(rs)) co_return missing_extension(rs, m.id, m.method);
  const json::string* id = task_id_param(m);
  if (!id) co_return missing_task_id(rs, m);
  const json::object* responses = ::idp::json::find_object(m.params, "inputResponses");
  if (!responses) {
    co_return fail_request(rs, m.id, jsonrpc::kInvalidParams,
                           "tasks/update needs params.inputResponses (an object of answers by "
                           "inputRequests key)");
  }
  TaskEngine& engine = *core.tasks;
  const std::string task_id(*id);
  auto lookup = owned_task(engine, rs, session.get(), m, task_id);
  auto task = co_await std::move(lookup);
  if (!task) co_return std::move(task.error());
  // Answers to questions that are open here wake the tool; other keys are ignored.
  if (auto running = engine.find(task_id)) {
    bool changed = false;
    {
      std::lock_guard lock(running->mu);
      for (const auto& [key, value] : *responses) {
        auto answer = running->answers.find(std::string_view(key));
        if (answer == running->answers.end() || !running->open.contains(key)) continue;
        answer->second->value = json::value(value, json::storage_ptr());
        if (auto waker = answer->second->waker.lock()) waker->notify();
        running->open.erase(key);
        ++running->version;
        changed = true;
      }
    }
    if (changed) co_await engine.sync_inputs(*running);
  }
  co_return core.reply(rs, json::object{});
}

}  // namespace idp::mcp

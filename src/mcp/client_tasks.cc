// tools/call as a task (the experimental tasks of 2025-11-25, "v1", and the 2026-07-28 tasks
// extension io.modelcontextprotocol/tasks, "v2"): whether a call becomes one, then the task
// until its result: polls of tasks/get at the server's pollInterval, status reports, the input a
// task asks for (v2: the hooks' answers go back with tasks/update; v1: tasks/result, on whose
// stream the server sends its requests, which on_message answers through the same hooks), the
// result (v2: inline in tasks/get; v1: tasks/result), and tasks/cancel when the caller cancels
// or the whole-task timeout passes. A poll that fails for want of a connection (refused, reset,
// timed out, HTTP 5xx from a proxy) is retried: the task id survives a dropped connection and a
// forgotten session (send_request re-initializes), so polling resumes.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <boost/json/serialize.hpp>

#include <set>

#include "client_impl.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"

namespace idp::mcp {

namespace net = boost::asio;
using net::awaitable;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Coroutines here follow the GCC 12 rule (docs/architecture.md).

namespace {

constexpr std::string_view kResultTypeTask = "task";  // resultType of a v2 CreateTaskResult

bool task_over(std::string_view status) {
  return status == "completed" || status == "failed" || status == "cancelled";
}

// The listing's execution.taskSupport of a tool ("" when absent), read from the listing itself.
std::string task_support_of(const json::value& listed) {
  const json::object* tool = listed.if_object();
  const json::object* execution = tool ? ::idp::json::find_object(*tool, "execution") : nullptr;
  const json::string* support =
      execution ? ::idp::json::find_string(*execution, "taskSupport") : nullptr;
  return support ? std::string(*support) : std::string();
}

// A task in a CreateTaskResult (v1: under "task"; v2: flat) or a tasks/get answer (flat).
struct Parsed {
  TaskInfo status;
  json::object raw;
};

std::optional<Parsed> parse_task(const json::object& o) {
  const json::object* t = ::idp::json::find_object(o, "task");
  if (!t || ::idp::json::find_string(o, "taskId")) t = &o;
  const json::string* id = ::idp::json::find_string(*t, "taskId");
  const json::string* status = ::idp::json::find_string(*t, "status");
  if (!id || !status || id->empty()) return std::nullopt;
  Parsed p;
  p.status.task_id = std::string(*id);
  p.status.status = std::string(*status);
  if (auto* m = ::idp::json::find_string(*t, "statusMessage")) p.status.status_message = *m;
  p.raw = *t;
  return p;
}

bool is_task_answer(const json::object& o) {
  const json::string* type = ::idp::json::find_string(o, "resultType");
  if (type) return *type == kResultTypeTask;
  return ::idp::json::find_object(o, "task") != nullptr && !o.contains("content");
}

// A poll (a read, safe to repeat) that failed for want of a connection: refused, reset, timed
// out, a stream cut before its answer, HTTP 5xx from a proxy whose server is restarting. Not:
// an answer of the server's own (a JSON-RPC error, HTTP 4xx), credentials, cancellation.
bool worth_retrying(const Error& e, const ReplyInfo& info) {
  if (info.rpc) return false;
  if (info.status >= 400 && info.status < 500) return false;
  switch (e.code()) {
    case ErrorCode::kCancelled:
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kInvalidArgument:
      return false;
    default:
      return true;
  }
}

// Why a pause ended.
enum class Woke { kElapsed, kCancelled, kDeadline };

awaitable<Woke> pause(milliseconds delay, std::shared_ptr<CancelSignal> cancel,
                      Clock::time_point deadline) {
  if (cancel && cancel->cancelled()) co_return Woke::kCancelled;
  auto ex = co_await net::this_coro::executor;
  auto timer = std::make_shared<net::steady_timer>(ex);
  CancelSignal::Subscription sub;
  if (cancel) {
    std::weak_ptr<net::steady_timer> weak = timer;
    sub = cancel->subscribe([weak, ex] {
      net::post(ex, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    });
  }
  timer->expires_at(std::min(Clock::now() + delay, deadline));
  co_await timer->async_wait(net::as_tuple(net::use_awaitable));
  if (cancel && cancel->cancelled()) co_return Woke::kCancelled;
  if (Clock::now() >= deadline) co_return Woke::kDeadline;
  co_return Woke::kElapsed;
}

// A tool result, its members moved out of the answer with the storage they were parsed into
// (the answer's arena, which the result then keeps alive): converting into members of the
// default storage (json::value_to) copied the whole answer, ≈ 4k instructions and a dozen
// allocations per call. The same rules as value_to<CallToolResult>: members of the wrong kind
// are left out. `where` names the request, for the error only.
template <class Where>
Result<CallToolResult> to_call_tool_result(json::value v, const Where& where) {
  json::object* o = v.if_object();
  if (!o) {
    return make_error(ErrorCode::kProtocol,
                      where() + ": malformed result: tool result must be a JSON object");
  }
  json::array* content = nullptr;
  json::object* structured = nullptr;
  json::object* meta = nullptr;
  if (auto it = o->find("content"); it != o->end()) content = it->value().if_array();
  if (auto it = o->find("structuredContent"); it != o->end()) {
    structured = it->value().if_object();
  }
  const bool is_error = ::idp::json::find_bool(*o, "isError").value_or(false);
  if (auto it = o->find("_meta"); it != o->end()) meta = it->value().if_object();
  // Constructed from the moved members, never assigned: assignment across storages copies.
  return CallToolResult{
      content ? json::array(std::move(*content)) : json::array(),
      structured ? std::optional<json::object>(std::move(*structured)) : std::nullopt, is_error,
      meta ? std::optional<json::object>(std::move(*meta)) : std::nullopt};
}

}  // namespace

TaskWire Client::Impl::wire_of(const json::object& caps, bool modern_era) {
  const json::object* ext = ::idp::json::find_object(caps, "extensions");
  const bool extension = ext && ::idp::json::find_object(*ext, kTasksExtension);
  if (modern_era) return extension ? TaskWire::kV2 : TaskWire::kNone;
  const json::object* tasks = ::idp::json::find_object(caps, "tasks");
  const json::object* requests = tasks ? ::idp::json::find_object(*tasks, "requests") : nullptr;
  const json::object* tools = requests ? ::idp::json::find_object(*requests, "tools") : nullptr;
  if (tools && tools->contains("call")) return TaskWire::kV1;
  return extension ? TaskWire::kV2 : TaskWire::kNone;
}

awaitable<Result<json::value>> Client::Impl::task_request(std::string_view method,
                                                          const std::string& task_id, TaskWire wire,
                                                          CallOptions options, json::object more,
                                                          ReplyInfo* info) {
  json::object params = std::move(more);
  params["taskId"] = task_id;
  CallOptions o;
  o.timeout = options.timeout;
  o.cancel = options.cancel;
  SendOptions send;
  send.info = info;
  send.tasks_extension = wire == TaskWire::kV2;
  auto r = co_await send_request(method, params, std::move(o), std::move(send));
  co_return r;
}

awaitable<void> Client::Impl::cancel_on_server(const std::string& task_id, TaskWire wire) {
  CallOptions o;
  o.timeout = std::min(opt.timeout, milliseconds(5'000));
  const std::string_view method = "tasks/cancel";
  json::object none;
  auto r = co_await task_request(method, task_id, wire, std::move(o), std::move(none));
  if (!r) {
    log::info("{}: could not cancel task {}: {}", url, task_id, r.error().message());
  } else {
    log::debug("{}: cancelled task {}", url, task_id);
  }
}

awaitable<Result<CallToolResult>> Client::Impl::call_tool(std::string name, json::object arguments,
                                                          CallOptions options) {
  const std::string_view method = "tools/call";
  {
    std::lock_guard lock(mu);
    if (!connected)
      co_return make_error(ErrorCode::kInvalidArgument, where(method) + ": call connect() first");
  }
  json::object params{{"name", name}, {"arguments", std::move(arguments)}};
  TaskWire wire = TaskWire::kNone;
  bool declare = false;  // the tasks extension, in the request's client capabilities
  if (opt.tasks && options.task != TaskMode::kNever) wire = task_wire.load();
  if (wire == TaskWire::kV1) {
    // 2025-11-25: the client decides, from the tool's listing (listed once if it never was).
    bool listed = false;
    {
      std::lock_guard lock(mu);
      listed = tools_listed;
    }
    if (!listed) {
      auto tools = co_await list_tools(true);
      if (!tools) log::debug("{}: {}", url, tools.error().message());
    }
    std::string support;
    {
      std::lock_guard lock(mu);
      auto it = task_support.find(name);
      if (it != task_support.end()) support = it->second;
    }
    const bool as_task =
        support == "required" || (support == "optional" && options.task == TaskMode::kPrefer);
    if (as_task) {
      json::object task;
      if (options.task_ttl) task["ttl"] = options.task_ttl->count();
      params["task"] = std::move(task);
    } else {
      wire = TaskWire::kNone;
    }
  } else if (wire == TaskWire::kV2) {
    declare = true;  // 2026-07-28: the server decides
  }
  // The first round is sent from here, the multi round-trip loop (request()) entered only for
  // an answer that asks for input: one coroutine frame less for the usual answer.
  const Clock::time_point started = Clock::now();
  // The ordinary call's request has the call's options; a task call's those that concern it.
  CallOptions first;
  if (wire != TaskWire::kNone) {
    first.timeout = options.timeout;
    first.on_progress = options.on_progress;
    first.cancel = options.cancel;
  }
  const CallOptions& request_options = wire == TaskWire::kNone ? options : first;
  SendOptions send;
  send.tasks_extension = declare;
  CallOptions first_round = request_options;
  auto r = co_await send_request(method, params, std::move(first_round), std::move(send));
  if (needs_rounds(r, method)) {
    r = co_await request(method, std::move(params), request_options, declare, std::move(r));
  }
  if (!r) co_return std::unexpected(r.error());
  if (wire == TaskWire::kNone) {
    co_return to_call_tool_result(std::move(*r), [&] { return where(method); });
  }
  const json::object* o = r->if_object();
  if (!o || !is_task_answer(*o))
    co_return to_call_tool_result(std::move(*r), [&] { return where(method); });
  auto created = parse_task(*o);
  if (!created) {
    co_return make_error(ErrorCode::kProtocol, where(method) +
                                                   ": a task answer without taskId or status: " +
                                                   excerpt(json::serialize(*o)));
  }
  // The whole task is bounded from the call's start.
  const Clock::time_point deadline =
      started + std::max(options.task_timeout.value_or(opt.max_timeout), milliseconds(1));
  auto done = co_await follow_task(std::move(created->status), std::move(created->raw), wire,
                                   std::move(options), deadline);
  co_return done;
}

awaitable<Result<CallToolResult>> Client::Impl::follow_task(TaskInfo current, json::object raw,
                                                            TaskWire wire, CallOptions options,
                                                            Clock::time_point deadline) {
  const std::string id = current.task_id;
  const std::string where_task = url + " task " + id;
  const milliseconds per_request = options.timeout.value_or(opt.timeout);
  // A poll's bound: its own timeout, never past the task's deadline.
  auto bounded = [&]() {
    CallOptions o;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    o.timeout = std::clamp(left, milliseconds(1), per_request);
    o.cancel = options.cancel;
    return o;
  };
  auto report = [&](const TaskInfo& s) {
    if (options.on_task_status) options.on_task_status(s);
  };
  auto poll_every = [&](const json::object& task) {
    auto hint = ::idp::json::find_number(task, "pollIntervalMs");
    if (!hint) hint = ::idp::json::find_number(task, "pollInterval");
    milliseconds d = hint && *hint >= 0 && *hint < 86'400'000.0
                         ? milliseconds(static_cast<long>(*hint))
                         : opt.task_poll_default;
    return std::clamp(d, opt.task_poll_min, std::max(opt.task_poll_min, opt.task_poll_max));
  };
  auto stopped = [&](Woke why) -> Error {
    if (why == Woke::kCancelled) return Error(ErrorCode::kCancelled, where_task + ": cancelled");
    return Error(ErrorCode::kTimeout,
                 where_task + ": not done within " +
                     std::to_string(options.task_timeout.value_or(opt.max_timeout).count()) +
                     " ms (cancelled on the server)");
  };
  report(current);
  std::set<std::string> answered;  // v2 input requests already answered, by key
  milliseconds every = poll_every(raw);
  int failures = 0;
  std::optional<Woke> stop;
  while (!task_over(current.status)) {
    if (current.status == "input_required" && wire == TaskWire::kV1) {
      // 2025-11-25: tasks/result brings the task's requests on its stream (answered through the
      // hooks by on_message) and then its result.
      ReplyInfo info;
      const std::string_view result_method = "tasks/result";
      CallOptions o = bounded();
      o.timeout = std::max(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()),
                           milliseconds(1));
      json::object none;
      auto r = co_await task_request(result_method, id, wire, std::move(o), std::move(none), &info);
      if (r) {
        report(TaskInfo{id, "completed", {}});
        co_return to_call_tool_result(std::move(*r), [&] { return where_task; });
      }
      if (options.cancel && options.cancel->cancelled()) {
        stop = Woke::kCancelled;
        break;
      }
      if (info.rpc) co_return std::unexpected(r.error());
      // Lost on the way: back to polling.
    } else if (current.status == "input_required" && wire == TaskWire::kV2) {
      const json::object* requests = ::idp::json::find_object(raw, "inputRequests");
      json::object responses;
      if (requests) {
        for (const auto& [key, value] : *requests) {
          if (answered.contains(std::string(key))) continue;
          const json::object* ask = value.if_object();
          const json::string* ask_method = ask ? ::idp::json::find_string(*ask, "method") : nullptr;
          if (!ask_method) {
            co_await cancel_on_server(id, wire);
            co_return make_error(ErrorCode::kProtocol, where_task + ": input request '" +
                                                           std::string(key) + "' has no method");
          }
          const json::object* ask_params = ::idp::json::find_object(*ask, "params");
          json::object given = ask_params ? *ask_params : json::object{};
          std::string asked(*ask_method);
          bool handled = false;
          auto answer = co_await fulfil(asked, std::move(given), handled);
          if (!answer && asked == "elicitation/create") {
            answer = json::value(json::object{{"action", "cancel"}});
          }
          if (!answer) {
            co_await cancel_on_server(id, wire);
            co_return make_error(ErrorCode::kProtocol, where_task + ": the task asked for input '" +
                                                           std::string(key) + "' (" + asked +
                                                           "): " + answer.error().message());
          }
          responses[key] = std::move(*answer);
        }
      }
      if (!responses.empty()) {
        std::vector<std::string> keys;
        for (const auto& kv : responses) keys.emplace_back(kv.key());
        json::object more{{"inputResponses", std::move(responses)}};
        const std::string_view update_method = "tasks/update";
        CallOptions o = bounded();
        auto sent = co_await task_request(update_method, id, wire, std::move(o), std::move(more));
        if (!sent) {
          if (options.cancel && options.cancel->cancelled()) {
            stop = Woke::kCancelled;
            break;
          }
          co_await cancel_on_server(id, wire);
          co_return std::unexpected(sent.error().with_context(where_task));
        }
        answered.insert(keys.begin(), keys.end());
      }
    }
    Woke woke = co_await pause(every, options.cancel, deadline);
    if (woke != Woke::kElapsed) {
      stop = woke;
      break;
    }
    ReplyInfo info;
    const std::string_view get_method = "tasks/get";
    CallOptions get_options = bounded();
    json::object none;
    auto got =
        co_await task_request(get_method, id, wire, std::move(get_options), std::move(none), &info);
    if (!got) {
      if (options.cancel && options.cancel->cancelled()) {
        stop = Woke::kCancelled;
        break;
      }
      if (Clock::now() >= deadline) {
        stop = Woke::kDeadline;
        break;
      }
      if (worth_retrying(got.error(), info) && ++failures <= opt.task_max_poll_failures) {
        log::info("{}: polling failed ({}); polling again", where_task, got.error().message());
        every = std::min(std::max(every * 2, opt.task_poll_min), opt.task_poll_max);
        continue;
      }
      co_return std::unexpected(got.error().with_context("task " + id));
    }
    failures = 0;
    const json::object* o = got->if_object();
    auto parsed = o ? parse_task(*o) : std::nullopt;
    if (!parsed || parsed->status.task_id != id) {
      co_return make_error(ErrorCode::kProtocol,
                           where_task + ": tasks/get answered something else than the task: " +
                               excerpt(json::serialize(*got)));
    }
    if (parsed->status.status != current.status ||
        parsed->status.status_message != current.status_message) {
      report(parsed->status);
    }
    current = std::move(parsed->status);
    raw = std::move(parsed->raw);
    every = poll_every(raw);
  }
  if (stop) {
    co_await cancel_on_server(id, wire);
    co_return std::unexpected(stopped(*stop));
  }
  if (current.status == "cancelled") {
    co_return make_error(ErrorCode::kCancelled,
                         where_task + ": the server cancelled the task" +
                             (current.status_message.empty() ? "" : ": " + current.status_message));
  }
  if (wire == TaskWire::kV2) {
    if (current.status == "completed") {
      const json::value* result = raw.if_contains("result");
      if (!result) {
        co_return make_error(ErrorCode::kProtocol,
                             where_task + ": a completed task without its result");
      }
      co_return to_call_tool_result(*result, [&] { return where_task; });
    }
    const json::object* error = ::idp::json::find_object(raw, "error");
    const json::string* message = error ? ::idp::json::find_string(*error, "message") : nullptr;
    auto code = error ? ::idp::json::find_number(*error, "code") : std::nullopt;
    std::string why = message ? std::string(*message) : current.status_message;
    co_return make_error(ErrorCode::kUnavailable,
                         where_task + ": the task failed: " + (why.empty() ? "no reason" : why) +
                             (code ? " (" + std::to_string(static_cast<long>(*code)) + ")" : ""));
  }
  // 2025-11-25: the result (or the request's error) comes from tasks/result.
  for (int attempt = 0;; ++attempt) {
    ReplyInfo info;
    const std::string_view result_method = "tasks/result";
    CallOptions o = bounded();
    json::object none;
    auto r = co_await task_request(result_method, id, wire, std::move(o), std::move(none), &info);
    if (r) co_return to_call_tool_result(std::move(*r), [&] { return where_task; });
    if (options.cancel && options.cancel->cancelled()) co_return std::unexpected(r.error());
    if (!worth_retrying(r.error(), info) || attempt >= opt.task_max_poll_failures ||
        Clock::now() >= deadline) {
      co_return std::unexpected(r.error().with_context("task " + id));
    }
    Woke woke = co_await pause(every, options.cancel, deadline);
    if (woke != Woke::kElapsed) co_return std::unexpected(stopped(woke));
  }
}

// ---- the public task calls ----------------------------------------------------------------------

namespace {

// One tasks/* request about a task, with the default call options and no other params.
awaitable<Result<json::value>> ask_about_task(Client::Impl& impl, std::string_view method,
                                              std::string_view task_id) {
  TaskWire wire = impl.task_wire.load();
  std::string id(task_id);
  CallOptions defaults;
  json::object none;
  auto r = co_await impl.task_request(method, id, wire, std::move(defaults), std::move(none));
  co_return r;
}

}  // namespace

awaitable<Result<TaskInfo>> Client::get_task(std::string_view task_id) {
  const std::string_view method = "tasks/get";
  auto r = co_await ask_about_task(*impl_, method, task_id);
  if (!r) co_return std::unexpected(r.error());
  const json::object* o = r->if_object();
  auto parsed = o ? parse_task(*o) : std::nullopt;
  if (!parsed) {
    co_return make_error(
        ErrorCode::kProtocol,
        impl_->where(method) + ": the answer is not a task: " + excerpt(json::serialize(*r)));
  }
  co_return parsed->status;
}

awaitable<Result<void>> Client::cancel_task(std::string_view task_id) {
  auto r = co_await ask_about_task(*impl_, "tasks/cancel", task_id);
  if (!r) co_return std::unexpected(r.error());
  co_return Result<void>{};
}

void remember_task_support(std::map<std::string, std::string, std::less<>>& into,
                           const std::string& name, const json::value& listed) {
  std::string support = task_support_of(listed);
  if (support == "required" || support == "optional") into[name] = std::move(support);
}

}  // namespace idp::mcp

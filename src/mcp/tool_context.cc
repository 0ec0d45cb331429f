#include "idp/mcp/tool_context.h"

#include <boost/asio/this_coro.hpp>

#include "idp/core/random.h"
#include "request_state.h"
#include "task_engine.h"

namespace idp::mcp {

ToolContext::ToolContext(std::shared_ptr<State> state) : state_(std::move(state)) {}
ToolContext::~ToolContext() = default;

void ToolContext::progress(double progress, std::optional<double> total, std::string_view message) {
  if (state_->task) report_task_status(*state_, message);
  if (!state_->progress_token) return;
  json::object params{{"progressToken", *state_->progress_token}, {"progress", progress}};
  if (total) params["total"] = *total;
  if (!message.empty()) params["message"] = message;
  if (state_->task) {
    // A 2025-11-25 task keeps its call's progressToken; the call's stream is gone, so the
    // notification takes the session's standalone stream.
    if (auto session = state_->session.lock()) {
      session->notify(jsonrpc::notification("notifications/progress", params));
    }
    return;
  }
  state_->push(jsonrpc::notification("notifications/progress", params));
}

void ToolContext::log(LogLevel level, json::value data, std::string_view logger) {
  if (state_->modern) {
    // 2026-07-28: only at or above the request's _meta logLevel, and nothing without one.
    if (static_cast<int>(level) < state_->min_log_level) return;
  } else if (auto session = state_->session.lock();
             session && static_cast<int>(level) < session->min_log_level.load()) {
    return;
  }
  json::object params{{"level", to_string(level)}, {"data", std::move(data)}};
  if (!logger.empty()) params["logger"] = logger;
  state_->push(jsonrpc::notification("notifications/message", params));
}

bool ToolContext::cancelled() const {
  if (state_->cancelled()) return true;
  // A task outlives its session: only tasks/cancel, its expiry or the server's end stop it.
  if (state_->modern || state_->task) return false;
  auto session = state_->session.lock();
  return session && session->closed;
}

boost::asio::awaitable<bool> ToolContext::sleep(std::chrono::milliseconds duration) {
  if (cancelled()) co_return false;
  auto ex = co_await boost::asio::this_coro::executor;
  auto waker = std::make_shared<Notifier>(ex);
  // Unsubscribed when this sleep ends: a handler that sleeps in a loop does not grow the request.
  auto wake_on_cancel = state_->subscribe_cancel([w = std::weak_ptr<Notifier>(waker)] {
    if (auto p = w.lock()) p->notify();
  });
  auto deadline = std::chrono::steady_clock::now() + duration;
  while (!cancelled()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    co_await waker->wait(deadline - now);
  }
  co_return !cancelled();
}

std::string_view capability_for(std::string_view method) {
  if (method == "sampling/createMessage") return "sampling";
  if (method == "elicitation/create") return "elicitation";
  if (method == "roots/list") return "roots";
  return {};
}

namespace {

std::string_view key_prefix(std::string_view method) {
  if (method == "sampling/createMessage") return "sampling";
  if (method == "elicitation/create") return "elicitation";
  return "roots";
}

// 2026-07-28 (multi round-trip requests): the answer the request brought under the question's
// key, or the question is recorded for the InputRequiredResult and the handler gets an error.
Result<json::value> ask(RequestState& rs, std::string_view method, json::object params,
                        std::string_view key) {
  std::string_view capability = capability_for(method);
  if (capability.empty()) {
    return make_error(ErrorCode::kUnavailable,
                      std::string(method) +
                          " is not available under protocol 2026-07-28: servers "
                          "may ask only for sampling, elicitation and roots");
  }
  const json::object* caps = rs.client_capabilities;
  if (!caps || !caps->contains(capability)) {
    rs.missing_capabilities[capability] = json::object{};
    return make_error(ErrorCode::kUnavailable,
                      "the client does not support " + std::string(capability) + " (no '" +
                          std::string(capability) + "' capability in the request's _meta)");
  }
  std::string name = key.empty()
                         ? std::string(key_prefix(method)) + "-" + std::to_string(rs.next_input++)
                         : std::string(key);
  if (auto it = rs.input_responses.find(name); it != rs.input_responses.end()) {
    rs.used_responses[name] = it->value();
    return it->value();
  }
  json::object question{{"method", method}, {"params", std::move(params)}};
  rs.input_requests[name] = std::move(question);
  return make_error(ErrorCode::kUnavailable, "input required: the client is asked for '" + name +
                                                 "' and retries the request with the answer");
}

}  // namespace

boost::asio::awaitable<Result<json::value>> ToolContext::request(
    std::string_view method, json::object params, std::chrono::milliseconds timeout) {
  if (state_->task) {
    auto answer = ask_in_task(*state_, method, std::move(params), {});
    co_return co_await std::move(answer);
  }
  if (state_->modern) co_return ask(*state_, method, std::move(params), {});
  if (!state_->can_push() || !state_->pending) {
    co_return make_error(ErrorCode::kUnavailable,
                         "this request cannot carry server-to-client requests (JSON response "
                         "mode)");
  }
  if (cancelled()) co_return make_error(ErrorCode::kCancelled, "the request was cancelled");
  auto ex = co_await boost::asio::this_coro::executor;
  auto pending = std::make_shared<PendingReply>();
  pending->waker = std::make_shared<Notifier>(ex);
  std::string id = "srv-" + random_token(12);
  state_->pending->add(id, state_->session_id, pending);
  auto wake_on_cancel = state_->subscribe_cancel([w = std::weak_ptr<Notifier>(pending->waker)] {
    if (auto p = w.lock()) p->notify();
  });
  state_->push(jsonrpc::request(json::value(id), method, params));

  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool done = false;
  for (;;) {
    {
      std::lock_guard lock(pending->mu);
      done = pending->done;
    }
    if (done || cancelled()) break;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    co_await pending->waker->wait(deadline - now);
  }
  state_->pending->remove(id);
  wake_on_cancel.reset();
  std::lock_guard lock(pending->mu);
  if (!pending->done) {
    if (cancelled()) co_return make_error(ErrorCode::kCancelled, "the request was cancelled");
    co_return make_error(ErrorCode::kTimeout, std::string(method) +
                                                  ": the client did not answer within " +
                                                  std::to_string(timeout.count()) + " ms");
  }
  if (!pending->ok) {
    co_return make_error(ErrorCode::kProtocol,
                         std::string(method) + " failed on the client: " + pending->error.message,
                         "code " + std::to_string(pending->error.code));
  }
  co_return std::move(pending->result);
}

boost::asio::awaitable<Result<json::value>> ToolContext::create_message(json::object params,
                                                                        std::string_view key) {
  const std::string_view method = "sampling/createMessage";
  if (state_->task) {
    auto answer = ask_in_task(*state_, method, std::move(params), key);
    co_return co_await std::move(answer);
  }
  if (state_->modern) co_return ask(*state_, method, std::move(params), key);
  if (!client_capabilities().contains("sampling")) {
    co_return make_error(ErrorCode::kUnavailable,
                         "the client does not support sampling (no 'sampling' capability)");
  }
  auto answer = co_await request(method, std::move(params));
  co_return answer;
}

boost::asio::awaitable<Result<json::value>> ToolContext::elicit(json::object params,
                                                                std::string_view key) {
  const std::string_view method = "elicitation/create";
  if (state_->task) {
    auto answer = ask_in_task(*state_, method, std::move(params), key);
    co_return co_await std::move(answer);
  }
  if (state_->modern) co_return ask(*state_, method, std::move(params), key);
  if (!client_capabilities().contains("elicitation")) {
    co_return make_error(ErrorCode::kUnavailable,
                         "the client does not support elicitation (no 'elicitation' capability)");
  }
  auto answer = co_await request(method, std::move(params));
  co_return answer;
}

boost::asio::awaitable<Result<json::value>> ToolContext::list_roots(std::string_view key) {
  const std::string_view method = "roots/list";
  if (state_->task) {
    auto answer = ask_in_task(*state_, method, json::object{}, key);
    co_return co_await std::move(answer);
  }
  if (state_->modern) co_return ask(*state_, method, json::object{}, key);
  if (!client_capabilities().contains("roots")) {
    co_return make_error(ErrorCode::kUnavailable,
                         "the client does not support roots (no 'roots' capability)");
  }
  json::object none;
  auto answer = co_await request(method, std::move(none));
  co_return answer;
}

bool ToolContext::input_required() const { return !state_->input_requests.empty(); }
bool ToolContext::in_task() const { return state_->task != nullptr; }

boost::asio::awaitable<bool> ToolContext::start_task() {
  if (state_->task) co_return true;
  auto start = start_launched_task(*state_);
  std::shared_ptr<State> task_state = co_await std::move(start);
  if (!task_state) co_return false;
  state_ = std::move(task_state);
  co_return true;
}
std::string_view ToolContext::task_id() const {
  return state_->task ? std::string_view(state_->task->id) : std::string_view{};
}
bool ToolContext::resumed() const { return state_->resumed; }
bool ToolContext::stateless_protocol() const { return state_->modern; }

void ToolContext::close_stream() {
  if (state_->modern) return;  // 2026-07-28 streams cannot be resumed
  state_->close_stream();
}

const Identity& ToolContext::identity() const { return *state_->identity; }

const Identity& SharedIdentity::unauthenticated() noexcept {
  static const Identity none;
  return none;
}
std::string_view ToolContext::trace_id() const { return state_->trace_id; }
std::string_view ToolContext::peer() const { return state_->peer; }

const json::object& ToolContext::client_capabilities() const {
  static const json::object kEmpty;
  if (state_->modern) return state_->client_capabilities ? *state_->client_capabilities : kEmpty;
  auto session = state_->session.lock();
  return session ? session->client_capabilities : kEmpty;
}

const json::object& ToolContext::client_info() const {
  static const json::object kEmpty;
  if (state_->modern) return state_->client_info ? *state_->client_info : kEmpty;
  auto session = state_->session.lock();
  return session ? session->client_info : kEmpty;
}

std::string_view ToolContext::protocol_version() const {
  if (state_->modern) return state_->protocol_version;
  auto session = state_->session.lock();
  return session ? std::string_view(session->protocol_version) : kLatestProtocolVersion;
}

std::string_view ToolContext::session_id() const {
  if (state_->modern) return {};
  auto session = state_->session.lock();
  return session ? std::string_view(session->id) : std::string_view{};
}

const json::value& ToolContext::request_id() const { return state_->id; }
const json::object& ToolContext::meta() const { return state_->request_meta(); }

}  // namespace idp::mcp

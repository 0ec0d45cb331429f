#include "idp/mcp/tool_context.h"

#include <boost/asio/this_coro.hpp>

#include "core.h"
#include "idp/core/random.h"

namespace idp::mcp {

using detail::RequestState;

ToolContext::ToolContext(std::shared_ptr<RequestState> state) : state_(std::move(state)) {}
ToolContext::~ToolContext() = default;

void ToolContext::progress(double progress, std::optional<double> total, std::string_view message) {
  if (!state_->progress_token) return;
  json::object params{{"progressToken", *state_->progress_token}, {"progress", progress}};
  if (total) params["total"] = *total;
  if (!message.empty()) params["message"] = message;
  state_->push(jsonrpc::notification("notifications/progress", params));
}

void ToolContext::log(LogLevel level, json::value data, std::string_view logger) {
  auto session = state_->session.lock();
  if (session && static_cast<int>(level) < session->min_log_level.load()) return;
  json::object params{{"level", to_string(level)}, {"data", std::move(data)}};
  if (!logger.empty()) params["logger"] = logger;
  state_->push(jsonrpc::notification("notifications/message", params));
}

bool ToolContext::cancelled() const {
  if (state_->cancelled) return true;
  auto session = state_->session.lock();
  return session && session->closed;
}

boost::asio::awaitable<bool> ToolContext::sleep(std::chrono::milliseconds duration) {
  if (cancelled()) co_return false;
  auto ex = co_await boost::asio::this_coro::executor;
  auto waker = std::make_shared<detail::Notifier>(ex);
  std::size_t slot;
  {
    std::lock_guard lock(state_->mu);
    slot = state_->on_cancel.size();
    state_->on_cancel.push_back([w = std::weak_ptr<detail::Notifier>(waker)] {
      if (auto p = w.lock()) p->notify();
    });
  }
  auto deadline = std::chrono::steady_clock::now() + duration;
  while (!cancelled()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    co_await waker->wait(deadline - now);
  }
  {
    std::lock_guard lock(state_->mu);
    state_->on_cancel[slot] = [] {};
  }
  co_return !cancelled();
}

boost::asio::awaitable<Result<json::value>> ToolContext::request(std::string_view method,
                                                                 json::object params,
                                                                 std::chrono::milliseconds timeout) {
  if (!state_->stream || !state_->pending) {
    co_return make_error(ErrorCode::kUnavailable,
                         "this request cannot carry server-to-client requests (JSON response "
                         "mode)");
  }
  if (cancelled()) co_return make_error(ErrorCode::kCancelled, "the request was cancelled");
  auto ex = co_await boost::asio::this_coro::executor;
  auto pending = std::make_shared<detail::PendingReply>();
  pending->waker = std::make_shared<detail::Notifier>(ex);
  std::string id = "srv-" + random_token(12);
  state_->pending->add(id, state_->session_id, pending);
  std::size_t slot;
  {
    std::lock_guard lock(state_->mu);
    slot = state_->on_cancel.size();
    state_->on_cancel.push_back([w = std::weak_ptr<detail::Notifier>(pending->waker)] {
      if (auto p = w.lock()) p->notify();
    });
  }
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
  {
    std::lock_guard lock(state_->mu);
    state_->on_cancel[slot] = [] {};
  }
  std::lock_guard lock(pending->mu);
  if (!pending->done) {
    if (cancelled()) co_return make_error(ErrorCode::kCancelled, "the request was cancelled");
    co_return make_error(ErrorCode::kTimeout, std::string(method) + ": the client did not answer within " +
                                                  std::to_string(timeout.count()) + " ms");
  }
  if (!pending->ok) {
    co_return make_error(ErrorCode::kProtocol, std::string(method) + " failed on the client: " +
                                                   pending->error.message,
                         "code " + std::to_string(pending->error.code));
  }
  co_return std::move(pending->result);
}

boost::asio::awaitable<Result<json::value>> ToolContext::create_message(json::object params) {
  if (!client_capabilities().contains("sampling")) {
    co_return make_error(ErrorCode::kUnavailable,
                         "the client does not support sampling (no 'sampling' capability)");
  }
  co_return co_await request("sampling/createMessage", std::move(params));
}

boost::asio::awaitable<Result<json::value>> ToolContext::elicit(json::object params) {
  if (!client_capabilities().contains("elicitation")) {
    co_return make_error(ErrorCode::kUnavailable,
                         "the client does not support elicitation (no 'elicitation' capability)");
  }
  co_return co_await request("elicitation/create", std::move(params));
}

void ToolContext::close_stream() {
  auto session = state_->session.lock();
  if (!session || session->id.empty() || !state_->stream) return;
  state_->stream->request_close();
}

const Identity& ToolContext::identity() const { return state_->identity; }

const json::object& ToolContext::client_capabilities() const {
  static const json::object kEmpty;
  auto session = state_->session.lock();
  return session ? session->client_capabilities : kEmpty;
}

const json::object& ToolContext::client_info() const {
  static const json::object kEmpty;
  auto session = state_->session.lock();
  return session ? session->client_info : kEmpty;
}

std::string_view ToolContext::protocol_version() const {
  auto session = state_->session.lock();
  return session ? std::string_view(session->protocol_version) : kLatestProtocolVersion;
}

std::string_view ToolContext::session_id() const {
  auto session = state_->session.lock();
  return session ? std::string_view(session->id) : std::string_view{};
}

const json::value& ToolContext::request_id() const { return state_->id; }
const json::object& ToolContext::meta() const { return state_->meta; }

}  // namespace idp::mcp

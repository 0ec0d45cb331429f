// ToolContext is what a tool, resource or prompt handler gets besides its arguments: the caller's
// identity and capabilities, progress and log notifications tied to the request, cancellation,
// and questions to the client (sampling, elicitation, roots). One context per request; it is
// valid for the duration of the handler. Its methods may be called from the handler's coroutine
// only.
//
// Questions work in both protocol eras. Up to 2025-11-25 they are server-to-client requests on
// the call's stream, answered while the handler waits. Under 2026-07-28 (multi round-trip
// requests) a question the request did not bring an answer for is collected, the handler's
// coroutine gets an error (input_required() is then true; return early), and the client receives
// an InputRequiredResult listing every question of this round. It retries with the answers and a
// signed requestState, and the handler runs again from the start: this time the same question
// (same key) returns the answer at once. Keys default to "<kind>-<n>" in call order, so a
// handler must ask in the same order on every round, or pass its own keys.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/mcp/types.h"

namespace idp::mcp {

// Who called: filled by the transport's authenticator (see StreamableHttpOptions).
struct Identity {
  bool authenticated = false;
  std::string subject;  // "sub" of a verified token
  json::object claims;  // all verified claims
};

// An Identity shared, read-only, by every request of the same caller: an authenticator that
// caches verified tokens hands out the same one each time, and a request holds a reference
// rather than a copy of the claims. An Identity converts to it; empty, it is the
// unauthenticated identity.
class SharedIdentity {
 public:
  SharedIdentity() = default;
  // NOLINTNEXTLINE(google-explicit-constructor): authenticators may return a plain Identity
  SharedIdentity(Identity identity) : p_(std::make_shared<const Identity>(std::move(identity))) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  SharedIdentity(std::shared_ptr<const Identity> identity) : p_(std::move(identity)) {}

  const Identity& operator*() const noexcept { return p_ ? *p_ : unauthenticated(); }
  const Identity* operator->() const noexcept { return &**this; }

 private:
  static const Identity& unauthenticated() noexcept;
  std::shared_ptr<const Identity> p_;
};

class ToolContext {
 public:
  // A request's state; defined inside the SDK (src/mcp/request_state.h). The server makes one
  // context per request and hands it to the handler by reference.
  struct State;
  explicit ToolContext(std::shared_ptr<State> state);
  ~ToolContext();

  // notifications/progress to the caller; a no-op unless the request carried a progressToken.
  // In a task, a non-empty message also becomes the task's statusMessage (tasks/get).
  void progress(double progress, std::optional<double> total = std::nullopt,
                std::string_view message = {});
  // notifications/message, filtered by the level the client set with logging/setLevel
  // (2026-07-28: by the request's _meta logLevel; nothing is sent when the request set none).
  void log(LogLevel level, json::value data, std::string_view logger = {});

  // True once the client sent notifications/cancelled for this request, the session ended, the
  // 2026-07-28 response stream closed, or the server's handler deadline passed.
  bool cancelled() const;
  // Sleeps, waking early on cancellation. Returns false if cancelled.
  boost::asio::awaitable<bool> sleep(std::chrono::milliseconds duration);

  // A request to the client on this request's stream; waits for its answer or the timeout.
  // Errors: kUnavailable when the session cannot carry it, kTimeout, kProtocol for a JSON-RPC
  // error answer, kCancelled. Under 2026-07-28 only sampling/createMessage, elicitation/create
  // and roots/list exist (as MRTR questions, see above); anything else is kUnavailable.
  boost::asio::awaitable<Result<json::value>> request(
      std::string_view method, json::object params,
      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // sampling/createMessage; fails with kUnavailable if the client did not declare sampling.
  // Under 2026-07-28 an undeclared capability also fails the whole request with
  // MissingRequiredClientCapability (-32021): check client_capabilities() first to degrade
  // gracefully instead. `key` names the question in an InputRequiredResult (default
  // "sampling-<n>"); the string must outlive the call.
  boost::asio::awaitable<Result<json::value>> create_message(json::object params,
                                                             std::string_view key = {});
  // elicitation/create; as create_message, with the elicitation capability ("elicitation-<n>").
  boost::asio::awaitable<Result<json::value>> elicit(json::object params,
                                                     std::string_view key = {});
  // roots/list; as create_message, with the roots capability ("roots-<n>").
  boost::asio::awaitable<Result<json::value>> list_roots(std::string_view key = {});

  // 2026-07-28: true once this round asked the client something it has no answer for yet; the
  // handler's result will be replaced by an InputRequiredResult, so it may return at once.
  bool input_required() const;
  // 2026-07-28: true when the request came back with a verified requestState (a retry).
  bool resumed() const;
  // True for 2026-07-28 requests (no session; everything came with this request).
  bool stateless_protocol() const;
  // True when this handler runs as a task (idp/mcp/tasks.h): the client already has the task
  // handle. Questions (elicit, create_message, list_roots) then wait for the client's answer
  // through tasks/update (2026-07-28; in a 2025-11-25 task they fail with kUnavailable), and
  // cancelled() turns true on tasks/cancel or when the task expires.
  bool in_task() const;
  std::string_view task_id() const;  // empty unless in_task()
  // For a tool registered with TaskStart::kOnRequest: the call becomes a task now; the client
  // gets the task handle and the handler goes on in the background (in_task() is true from
  // here). False when the call does not run as a task (no tasks extension declared, or the
  // caller's task limit refused it: the client then got that error and the handler should
  // return). True when the handler already runs as a task.
  boost::asio::awaitable<bool> start_task();

  // Ends this request's SSE stream now, keeping the request running; the client resumes with
  // GET and Last-Event-ID and receives what follows (SEP-1699 polling). No-op without sessions.
  void close_stream();

  const Identity& identity() const;
  // The HTTP request's trace id (as in the server's log and the audit line) and the caller's
  // remote address; empty where no transport set them.
  std::string_view trace_id() const;
  std::string_view peer() const;
  const json::object& client_capabilities() const;
  const json::object& client_info() const;
  std::string_view protocol_version() const;
  std::string_view session_id() const;  // empty in stateless mode and under 2026-07-28
  const json::value& request_id() const;
  const json::object& meta() const;  // the request's "_meta" (empty if none)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace idp::mcp

// Private: what the dispatcher (server_core.h) and ToolContext know about one client request and
// about the handshake-era session it belongs to. Transports own both and derive from them to add
// delivery: the Streamable HTTP transport's request carries its SSE event stream, its session
// the session id, the owner and the replay buffers (streamable_http_session.h).
//
// Thread-safety: a request's fields are written by the transport before the handler starts and
// by the handler's coroutine while it runs (MRTR bookkeeping); cancel(), cancelled() and
// subscribe_cancel() may be called from any thread. A session's atomics and the members under
// `mu` may be touched from any thread; its negotiated fields are written once by initialize,
// before the session id reaches the client.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "idp/core/cancel.h"
#include "idp/mcp/jsonrpc.h"
#include "idp/mcp/request_hooks.h"
#include "idp/mcp/tool_context.h"
#include "idp/mcp/types.h"
#include "notifier.h"

namespace idp::mcp {

using RequestState = ToolContext::State;
struct RunningTask;  // task_engine.h
struct TaskLaunch;   // task_engine.h
struct ToolEntry;    // server_core.h

// The client capability a question to the client needs: "sampling", "elicitation" or "roots";
// empty for a method that is no such question (tool_context.cc).
std::string_view capability_for(std::string_view method);

// Log level meaning "send no notifications/message" (2026-07-28 request without logLevel).
inline constexpr int kNoLogs = 1000;

// A client of the initialize handshake, from initialize to DELETE or expiry. Stateless mode
// makes a fresh one (with an empty id) for every POST.
struct ProtocolSession {
  virtual ~ProtocolSession() = default;
  // A server-initiated message to the client outside any request (the transport's standalone
  // stream); dropped where there is none. For a task's status notifications.
  virtual void notify(std::string message) { (void)message; }

  std::string id;  // empty for the one-shot sessions of stateless mode
  std::string protocol_version{kLatestProtocolVersion};
  json::object client_capabilities;
  json::object client_info;
  std::atomic<int> min_log_level{0};
  std::atomic<bool> closed{false};
  std::size_t max_subscriptions = 1000;  // resources/subscribe URIs at once

  std::mutex mu;
  bool initialized = false;
  std::set<std::string, std::less<>> subscriptions;
  std::unordered_map<std::string, std::weak_ptr<RequestState>> in_flight;  // by id_key
};

// An answer to a server-to-client request (ToolContext::request), filled in by the transport
// when the client POSTs it.
struct PendingReply {
  std::mutex mu;
  bool done = false;
  bool ok = false;
  json::value result;
  jsonrpc::RpcError error;
  std::shared_ptr<Notifier> waker;
};

// Server-to-client requests awaiting their answer, by request id; shared by a transport's
// sessions (an answer counts only from the session the request went to).
class PendingRegistry {
 public:
  void add(const std::string& id, std::string session_id, std::shared_ptr<PendingReply> reply);
  void remove(const std::string& id);
  // The waiting reply for `id` if it belongs to `session_id`.
  std::shared_ptr<PendingReply> find(const std::string& id, const std::string& session_id);
  // Hands a response (or error) the client posted to the request waiting for it in
  // `session_id`, and wakes it; false when none waits for that id there.
  bool deliver(const jsonrpc::Message& m, const std::string& session_id);

 private:
  struct Entry {
    std::string session_id;
    std::shared_ptr<PendingReply> reply;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

struct ToolContext::State {
  // `request_meta` is moved in, keeping its storage (the request's parse arena): no copy.
  explicit State(json::object request_meta = {}) : meta(std::move(request_meta)) {}
  virtual ~State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // A message tied to this request (progress, log, server-to-client request) to the client;
  // dropped when the transport cannot carry it (JSON response mode).
  virtual void push(std::string message) { (void)message; }
  // Whether push() reaches the client.
  virtual bool can_push() const { return false; }
  // Ends the HTTP response now while the request goes on (SEP-1699 polling); a no-op where the
  // client cannot resume.
  virtual void close_stream() {}

  json::object meta;  // the request's "_meta", unless it is shared (then empty)
  // The request's "_meta" when it is a client's envelope shared between requests
  // (request_body.h); `request_meta()` reads whichever holds it.
  std::shared_ptr<const json::object> shared_meta;
  const json::object& request_meta() const { return shared_meta ? *shared_meta : meta; }

  // 2026-07-28 ("modern") requests have no session: what a session would hold comes from this
  // request's _meta. The pointers point into request_meta() (set once, never modified
  // afterwards).
  bool modern = false;
  std::string protocol_version;
  const json::object* client_capabilities = nullptr;
  const json::object* client_info = nullptr;
  int min_log_level = kNoLogs;
  // HTTP status of a JSON answer (modern: 400 for -32021, 404 for -32601; else 200).
  int http_status = 200;

  // Multi round-trip requests (modern only). Answers by key: verified ones from requestState
  // plus this request's inputResponses; the ones the handler used go into the next requestState.
  json::object input_responses;
  json::object used_responses;
  json::object input_requests;        // asked this round and not answered, by key
  json::object missing_capabilities;  // capability name -> {} (answered with -32021)
  int next_input = 1;                 // for default keys
  bool resumed = false;

  std::weak_ptr<ProtocolSession> session;
  std::shared_ptr<PendingRegistry> pending;  // null when the transport cannot carry requests
  std::string session_id;
  json::value id;
  std::optional<json::value> progress_token;
  SharedIdentity identity;  // unauthenticated when empty
  // A tools/call's tool when the transport already looked it up (the 2026-07-28 header checks).
  std::shared_ptr<const ToolEntry> tool;
  std::string trace_id;  // of the HTTP request, for logs
  std::string peer;      // the remote address
  // Set for the background run of a task's tool (task_engine.h): questions wait for
  // tasks/update, progress messages become the task's statusMessage.
  std::shared_ptr<RunningTask> task;
  // Set while a TaskStart::kOnRequest tool may still turn its call into a task.
  std::shared_ptr<TaskLaunch> launch;

  // How the dispatcher ended the request, for the transport's observer (request_hooks.h).
  RequestOutcome outcome = RequestOutcome::kOk;
  int rpc_error = 0;        // the answer's JSON-RPC error code
  const char* detail = "";  // "schema", "format", "timeout": a fixed word

  // Cancellation: notifications/cancelled, the session's end, a closed 2026-07-28 stream or the
  // handler deadline. Callbacks are unsubscribed when their Subscription goes, so a handler
  // that sleeps or asks many times in a loop does not grow the request.
  void cancel();
  bool cancelled() const { return cancelled_.load(); }
  [[nodiscard]] CancelSignal::Subscription subscribe_cancel(std::function<void()> callback);
  std::size_t cancel_subscribers() const;  // live callbacks (tests)

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex cancel_mu_;
  std::shared_ptr<CancelSignal> cancel_signal_;  // made on the first subscription
};

}  // namespace idp::mcp

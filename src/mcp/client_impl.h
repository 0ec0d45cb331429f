// Private: the inside of idp::mcp::Client, shared by the files that implement it (modelled on
// the TypeScript SDK's split of client session and transports):
//
//   client.cc                  the public facade and the one pagination loop of list methods
//   client_session.cc          one request end to end: ids, headers and token, timeout with
//                              progress and cancellation, retries (HTTP 404: one re-initialize
//                              for all concurrent callers; 401: one token refresh for all;
//                              -32020: list the tools again), messages from the server
//   client_negotiation.cc      connect(): server/discover or initialize, the era cache
//   client_envelope.cc         capabilities, the 2026-07-28 _meta envelope and Mcp-* headers
//   client_streamable_http.cc  the Streamable HTTP exchange (POST, JSON or SSE, resumption with
//                              Last-Event-ID), notification POSTs, the standalone GET and
//                              subscriptions/listen streams, DELETE
//   client_legacy_sse.cc       the 2024-11-05 HTTP+SSE transport
//   client_mrtr.cc             the multi round-trip loop (InputRequiredResult) and the hooks
//   client_tools.cc            tools/list with its cache and x-mcp-header annotations
//   client_tasks.cc            tools/call as a task: create, poll, input, result, cancel
//
// Thread-safety: the state every request reads (session, era, token, tool cache, the legacy
// transport's waiters, the listening flags) is under `mu`, held only for short copies, never
// across co_await. A request's own Call is touched by its coroutine (and, for progress that
// arrives on another stream, through atomics and a post to the call's executor).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "idp/mcp/client.h"
#include "idp/mcp/jsonrpc.h"
#include "single_flight.h"
#include "x_mcp_header.h"

namespace idp::mcp {

// Everything the session negotiated, copied out under the lock for one request.
struct SessionView {
  std::string protocol_version;
  std::string session_id;
  std::uint64_t generation = 0;  // bumped whenever a new session is published
  bool modern = false;
};

// What one request sends besides its body, when it is not the session's current state (the
// handshake itself, the era probe, the notification that completes a new session).
struct Envelope {
  bool with_session = true;
  std::optional<bool> modern;
  std::optional<std::string> protocol_version;  // "" sends no MCP-Protocol-Version
  std::optional<std::string> session_id;
};

// What the headers of one attempt were built from (for the retry rules).
struct Sent {
  std::string session_id;
  std::uint64_t session_generation = 0;
  std::uint64_t token_generation = 0;
  bool had_token = false;
};

// Besides the result: what the answer of a request looked like.
struct ReplyInfo {
  int status = 0;                        // the HTTP status, when one arrived
  std::optional<jsonrpc::RpcError> rpc;  // a JSON-RPC error answer (any status)
  std::string session_id;                // Mcp-Session-Id of an initialize answer
};

struct SendOptions {
  bool allow_reinit = true;  // HTTP 404 with a session: re-initialize and retry once
  Envelope envelope;
  ReplyInfo* info = nullptr;
  // Declare the tasks extension in the request's client capabilities (a task call's; 2026-07-28:
  // through the cached envelope that declares it, not by adding _meta to the params).
  bool tasks_extension = false;
};

// One request in flight.
struct Call {
  json::value id;
  // Modern era, per attempt (the exchange takes them): Mcp-Method, Mcp-Name and Mcp-Param-*,
  // or only the Mcp-Param-* ones when the attempt's fixed fields hold the others.
  http::Headers extra;
  std::optional<json::value> progress_token;
  CallOptions options;
  boost::asio::any_io_executor executor;  // the caller's: on_progress runs there
  std::chrono::milliseconds timeout{0};
  std::chrono::steady_clock::time_point hard_deadline;
  // Progress moves the deadline (from this call's stream or another one).
  std::atomic<std::chrono::steady_clock::rep> deadline_ticks{0};
  std::atomic<bool> timed_out{false};
  std::atomic<bool> cancelled{false};
  // Without progress or cancellation the deadline never moves: the HTTP layer enforces it and
  // no watchdog coroutine is needed (the common, fast case).
  bool watchdog = false;
  std::optional<json::value> result;
  std::optional<jsonrpc::RpcError> rpc_error;

  std::chrono::steady_clock::time_point deadline() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(deadline_ticks.load()));
  }
  void set_deadline(std::chrono::steady_clock::time_point t) {
    deadline_ticks.store(t.time_since_epoch().count());
  }
  std::chrono::milliseconds remaining() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline() - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::milliseconds(1));
  }
};

// What one request's exchange ended with.
struct Outcome {
  // kUnauthorized: HTTP 401, or 403 with error="insufficient_scope" (auth_status says which).
  enum Kind { kDone, kAccepted, kSessionGone, kUnauthorized, kRateLimited, kFailed } kind = kFailed;
  // kDone. Optional so that the answer is moved in with the storage it was parsed into (an
  // arena): assigning it to a value of another storage would copy it whole.
  std::optional<json::value> result;
  int auth_status = 0;    // kUnauthorized
  std::string challenge;  // kUnauthorized: the WWW-Authenticate header
  Error error{ErrorCode::kInternal, "no outcome"};
  ReplyInfo info;
  std::optional<std::chrono::seconds> retry_after;  // kRateLimited: the server's Retry-After
};

// Which task protocol a server speaks (set when it describes itself): none, the experimental
// tasks of 2025-11-25 (capabilities.tasks.requests.tools.call, params.task, tasks/result), or
// the tasks extension (capabilities.extensions["io.modelcontextprotocol/tasks"], a flat
// CreateTaskResult, the result inline in tasks/get, tasks/update).
enum class TaskWire { kNone, kV1, kV2 };

// Notes a listed tool's execution.taskSupport when it allows tasks (client_tasks.cc).
void remember_task_support(std::map<std::string, std::string, std::less<>>& into,
                           const std::string& name, const json::value& listed);

// Declares the tasks extension in params._meta's client capabilities (2026-07-28 merges it into
// the envelope's; a 2025 session that speaks the extension reads it per request).
void declare_extension(json::object& params);

// What auto negotiation learned about servers, by URL, for the life of the process.
std::optional<ProtocolEra> remembered_era(const std::string& url);
void remember_era(const std::string& url, ProtocolEra era);
void forget_era(const std::string& url);

// The caller's headers, then Content-Type, Accept, the protocol version and the session.
http::Headers base_headers(const http::Headers& given, std::string version, const std::string& sid);

// A body excerpt for error messages (200 characters, one line).
std::string excerpt(std::string_view body);

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  Impl(boost::asio::any_io_executor ex, std::string u, ClientOptions o);

  const boost::asio::any_io_executor executor;
  const std::string url;
  const ClientOptions opt;
  http::Client http;

  // ---- state under mu ----
  mutable std::mutex mu;
  std::string protocol_version;
  std::string session_id;
  std::uint64_t session_generation = 0;
  Implementation server_info;
  json::object server_capabilities;
  std::string instructions;
  bool connected = false;
  bool modern = false;  // the era in use: true once server/discover found 2026-07-28
  ProtocolEra era = ProtocolEra::kAuto;
  std::optional<Secret> token;  // the last token the provider gave
  std::uint64_t token_generation = 0;
  // list_tools() results within their ttlMs, and the x-mcp-header annotations of the last
  // listing (modern era), by tool name.
  std::optional<std::vector<Tool>> tools_cache;
  std::chrono::steady_clock::time_point tools_cache_until;
  std::map<std::string, std::vector<xheader::ParamHeader>, std::less<>> tool_headers;
  // execution.taskSupport of the last listing ("required", "optional"), by tool name.
  std::map<std::string, std::string, std::less<>> task_support;
  bool tools_listed = false;
  std::atomic<TaskWire> task_wire{TaskWire::kNone};  // of the last server description
  // Calls waiting for progress, by progress token: progress may arrive on another stream (the
  // standalone one) than the call's own.
  std::map<std::string, std::weak_ptr<Call>> progress_calls;
  // Background streams.
  bool closing = false;
  bool listening = false;
  std::shared_ptr<Notifier> listen_stop;   // raised by close()
  std::shared_ptr<Notifier> listen_ready;  // raised when the stream's request got its answer
  // The legacy HTTP+SSE transport.
  std::string post_url;  // from the stream's `endpoint` event
  bool legacy_lost = false;
  int legacy_status = 0;
  std::string legacy_error;
  struct LegacyWaiter {
    std::optional<json::value> result;
    std::optional<jsonrpc::RpcError> rpc_error;
    std::shared_ptr<Notifier> wake;
  };
  std::map<std::string, std::shared_ptr<LegacyWaiter>> waiters;  // by id_key of the request

  SingleFlight session_renewal;  // re-initialize after HTTP 404
  SingleFlight token_refresh;    // ask the provider for a fresh token after HTTP 401
  std::atomic<std::int64_t> next_id{1};
  // The serialized envelope (the 2026-07-28 _meta) of the last protocol version, under mu:
  // [0] plain, [1] declaring the tasks extension (a task call's).
  mutable std::string envelope_version;
  mutable std::string envelope_json[2];
  // The fixed fields of a request (the caller's headers, Content-Type, Accept, the protocol
  // version, the session and, in the 2026-07-28 era, Mcp-Method and Mcp-Name), checked and
  // rendered once per route (method and name) for the version and session they carry, all
  // dropped when either changes; under mu. Used unless a token provider adds Authorization (or
  // the legacy transport posts), and only when no caller's header could clash with a request's
  // own Mcp-* fields (fixed_ok).
  struct FixedRoute {
    std::shared_ptr<const http::FixedFields> unnamed;
    std::map<std::string, std::shared_ptr<const http::FixedFields>, std::less<>> named;
  };
  mutable std::string fixed_version;
  mutable std::string fixed_session;
  mutable std::map<std::string, FixedRoute, std::less<>> fixed_routes;  // by method
  mutable std::size_t fixed_count = 0;
  bool fixed_ok = true;

  SessionView view() const;
  bool legacy() const { return opt.transport == ClientOptions::Transport::kLegacySse; }
  std::string where(std::string_view method) const { return std::string(method) + " " + url; }

  // ---- client_session.cc ----
  // The headers of a request: Content-Type, Accept, the protocol version and session, then the
  // token from the provider (asked every time).
  boost::asio::awaitable<http::Headers> headers(Envelope envelope, Sent* sent);
  // The same without the token (nothing to await).
  http::Headers plain_headers(const Envelope& envelope, Sent* sent) const;
  // `params` must outlive the request (callers co_await it at once): members are added to a
  // copy, made only when the request needs them (progress, a task declaration, given _meta).
  boost::asio::awaitable<Result<json::value>> send_request(std::string_view method,
                                                           const json::object& params,
                                                           CallOptions options,
                                                           SendOptions send = {});
  // The same with params of its own (for a caller that hands over the awaitable).
  boost::asio::awaitable<Result<json::value>> send_owned(std::string_view method,
                                                         json::object params, CallOptions options);
  boost::asio::awaitable<void> watchdog(std::shared_ptr<Call> call);
  boost::asio::awaitable<Result<void>> renew_session(std::uint64_t seen_generation);
  boost::asio::awaitable<Result<void>> refresh_token(std::uint64_t seen_generation, int status,
                                                     std::string challenge);
  boost::asio::awaitable<Result<void>> fetch_fresh_token(int status, std::string challenge);
  void on_message(Call& call, std::string_view text, bool modern_era);
  void on_notification(Call& stream_call, const jsonrpc::Message& m);
  Error unauthorized(std::string_view method, std::string_view challenge, bool had_token) const;

  // ---- client_envelope.cc ----
  json::object capabilities(bool modern_era) const;
  void add_envelope(json::object& params, std::string_view version) const;
  // jsonrpc::request(id, method, params) with the envelope of add_envelope() added to params,
  // the envelope serialized once per protocol version (params must not have "_meta");
  // tasks_extension: the envelope declares the tasks extension, as a task call's does.
  std::string request_with_envelope(const json::value& id, std::string_view method,
                                    const json::object& params, std::string_view version,
                                    bool tasks_extension = false) const;
  // True when params' _meta holds only what a task call declares (the tasks extension in the
  // client capabilities): then it is taken out, for request_with_envelope(..., true).
  static bool take_tasks_declaration(json::object& params);
  http::Headers modern_headers(std::string_view method, const json::object& params) const;
  // The Mcp-Param-* fields of modern_headers() alone.
  http::Headers param_headers(std::string_view method, const json::object& params) const;
  // plain_headers() and, when modern_era, the route's fields of modern_headers() as fixed fields
  // (see fixed_routes); null when the caller's headers cannot be sent.
  std::shared_ptr<const http::FixedFields> fixed_fields(const Envelope& envelope, Sent& sent,
                                                        bool modern_era, std::string_view method,
                                                        const json::object& params) const;

  // ---- client_negotiation.cc ----
  boost::asio::awaitable<Result<void>> connect();
  boost::asio::awaitable<Result<void>> initialize(bool renewing);
  boost::asio::awaitable<Result<bool>> discover(bool fallback, bool& definitive);
  void apply_server_description(const json::object& result, bool modern_era);

  // ---- client_streamable_http.cc ----
  // `headers` follow `fixed` (if any) on the wire.
  boost::asio::awaitable<Outcome> exchange(const std::string& body,
                                           std::shared_ptr<const http::FixedFields> fixed,
                                           http::Headers headers, const Sent& sent, Call& call,
                                           std::string_view method, bool modern_era);
  // `status`, when given, receives the HTTP status of an answer (0 when none came).
  boost::asio::awaitable<Result<void>> post_message(
      std::string body, std::string what, std::optional<std::chrono::milliseconds> timeout = {},
      Envelope envelope = {}, int* status = nullptr);
  boost::asio::awaitable<void> start_listening();
  static boost::asio::awaitable<void> listen(std::shared_ptr<Impl> self);
  static boost::asio::awaitable<void> listen_modern(std::shared_ptr<Impl> self);
  void stop_listening();
  boost::asio::awaitable<void> wait_stop(std::shared_ptr<Notifier> stop);
  // A background stream's request until it ends or close() stops it (then nullopt).
  boost::asio::awaitable<std::optional<Result<int>>> stream_unless_stopped(
      http::ClientRequest request, std::function<void(const http::ClientResponse&)> on_head,
      std::function<bool(std::string_view)> on_chunk, std::shared_ptr<Notifier> stop);
  // The pause before a background stream reconnects; false when close() stopped it.
  boost::asio::awaitable<bool> pause_unless_stopped(std::chrono::milliseconds delay,
                                                    std::shared_ptr<Notifier> stop);
  boost::asio::awaitable<void> delete_session(std::string session);
  boost::asio::awaitable<void> close();

  // ---- client_legacy_sse.cc ----
  boost::asio::awaitable<Result<void>> legacy_open();
  static boost::asio::awaitable<void> legacy_listen(std::shared_ptr<Impl> self,
                                                    std::shared_ptr<Notifier> ready);
  void legacy_message(std::string_view text);
  std::string resolve_endpoint(std::string_view endpoint) const;
  boost::asio::awaitable<Outcome> exchange_legacy(const std::string& body, http::Headers headers,
                                                  Call& call, std::string_view method);

  // ---- client_mrtr.cc ----
  // `first`: the answer of a first round already sent (call_tool sends it itself: one coroutine
  // frame less for the usual answer, complete at once; see needs_rounds).
  boost::asio::awaitable<Result<json::value>> request(
      std::string_view method, json::object params, CallOptions options,
      bool tasks_extension = false, std::optional<Result<json::value>> first = std::nullopt);
  // False when `r` is what request() returns as it is (an error, a complete result, a task).
  bool needs_rounds(const Result<json::value>& r, std::string_view method) const;
  boost::asio::awaitable<Result<json::value>> fulfil(std::string method, json::object params,
                                                     bool& handled);
  void answer_server_request(jsonrpc::Message m);
  static boost::asio::awaitable<void> answer(std::shared_ptr<Impl> self, jsonrpc::Message m);

  // ---- client_tools.cc ----
  boost::asio::awaitable<Result<std::vector<Tool>>> list_tools(bool use_cache);

  // ---- client_tasks.cc ----
  boost::asio::awaitable<Result<CallToolResult>> call_tool(std::string name, json::object arguments,
                                                           CallOptions options);
  boost::asio::awaitable<Result<CallToolResult>> follow_task(
      TaskInfo created, json::object raw, TaskWire wire, CallOptions options,
      std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<Result<json::value>> task_request(std::string_view method,
                                                           const std::string& task_id,
                                                           TaskWire wire, CallOptions options,
                                                           json::object more,
                                                           ReplyInfo* info = nullptr);
  boost::asio::awaitable<void> cancel_on_server(const std::string& task_id, TaskWire wire);
  static TaskWire wire_of(const json::object& capabilities, bool modern_era);
};

// Follows nextCursor of a paginated list method to the end (at most 10000 pages; a repeated
// cursor is an error), calling `on_page` with each result object. One loop for every list.
using PageRequest = std::function<boost::asio::awaitable<Result<json::value>>(json::object params)>;
boost::asio::awaitable<Result<void>> for_each_page(
    std::string_view method, const std::string& url, PageRequest request,
    std::function<Result<void>(const json::object& page)> on_page);

}  // namespace idp::mcp

// idp::mcp::Client is an MCP client over Streamable HTTP. It speaks both protocol eras and picks
// one automatically (ClientOptions::protocol_era):
//  - modern, 2026-07-28 (stateless): connect() sends `server/discover`; every request then carries
//    the `_meta` envelope (protocol version, client capabilities, client info) and the
//    MCP-Protocol-Version / Mcp-Method / Mcp-Name (and x-mcp-header Mcp-Param-*) headers; no
//    session, no GET stream, no DELETE; cancelling closes the response stream; an
//    InputRequiredResult (multi round-trip requests) is answered through the hooks and the
//    request retried with the input responses and requestState; tools/list honours ttlMs.
//  - legacy, 2025-11-25 (falling back to 2025-06-18 and 2025-03-26): initialize and version
//    negotiation, a session, the standalone GET stream, server-to-client requests through hooks.
// In auto mode a server that does not know `server/discover` (HTTP 4xx without a modern JSON-RPC
// error, -32601, ...) gets `initialize` instead, and the answer is remembered per URL for the
// process. Both eras: tools (all pages), calls with progress, a timeout that progress resets (up
// to a hard maximum) and cancellation (legacy: notifications/cancelled). It is robust where the
// reference SDKs are not: a lost SSE stream is resumed with Last-Event-ID after the server's
// `retry:` delay (legacy); a forgotten session (HTTP 404) is re-initialized once and the request
// retried once; an HTTP 401 asks the token provider for a fresh token once and retries once,
// and an HTTP 403 with error="insufficient_scope" lets a provider that is also a
// ChallengeHandler (idp/mcp/challenge.h) step up.
// Both renewals are shared: when many calls see the 404 (or the 401) at once, one initialize
// (one token refresh) serves them all, and calls that start meanwhile wait for the new session
// instead of sending a session id that is known to be gone.
// Remote URLs must be https://; http:// only for loopback (idp/http/url_policy.h).
//
// Tasks (long-running tool calls; the experimental tasks of 2025-11-25 and the 2026-07-28 tasks
// extension, io.modelcontextprotocol/tasks): call_tool runs a tool as a task when the server
// supports tasks and the tool's listing says taskSupport "required" (or "optional" and the
// caller prefers tasks; 2026-07-28: whenever the server answers with a task), polls tasks/get
// at the server's pollInterval (clamped, 1 s when absent), fetches the result (tasks/result in
// 2025-11-25, inline in 2026-07-28) and reports status changes (CallOptions::on_task_status).
// Polling survives a dropped connection or a forgotten session (the task id is kept, polling
// resumes); cancelling the call (or its whole-task timeout) sends tasks/cancel. Input the task
// asks for (status input_required) goes through the hooks: 2026-07-28 answers it with
// tasks/update; 2025-11-25 calls tasks/result, on whose stream the server sends its requests.
//
// Thread-safety and executors: after connect() has returned, any number of requests
// (list_tools, call_tool, request, ping, notify, the list and read methods) may run at once, in
// coroutines on any executors and threads; their answers never cross. The executor given to
// the constructor runs the client's own work (the standalone stream, answers to server
// requests, notifications/cancelled): it must keep running while the client is used (an
// io_context's executor, or a strand of it). connect() and close() must not overlap other
// calls of the same client; destroy the client after its calls have finished. The accessors
// return copies and may be called from any thread. Hooks run on the constructor's executor, or
// on the executor of the call whose stream brought the message, possibly concurrently:
// they must be thread-safe. A call's on_progress runs on that call's executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/cancel.h"
#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "idp/http/client.h"
#include "idp/http/message.h"
#include "idp/mcp/types.h"

namespace idp::mcp {

// Supplies the bearer token sent as "Authorization: Bearer ...". Implementations cache tokens;
// `refresh` is true after the server rejected the last one (HTTP 401), unless the provider is
// also a ChallengeHandler (idp/mcp/challenge.h), which then hears the challenge instead. An empty
// token sends no Authorization header.
class TokenProvider {
 public:
  virtual ~TokenProvider() = default;
  virtual boost::asio::awaitable<Result<Secret>> token(bool refresh) = 0;
};

// A fixed token (the secret's {"type":"bearer"} auth).
class StaticTokenProvider final : public TokenProvider {
 public:
  explicit StaticTokenProvider(Secret token) : token_(std::move(token)) {}
  boost::asio::awaitable<Result<Secret>> token(bool) override;

 private:
  Secret token_;
};

// Cancels one call from anywhere (any thread). Share it with the call through CallOptions.
using CancelSignal = ::idp::CancelSignal;

using RequestHook =
    std::function<boost::asio::awaitable<Result<json::value>>(const json::object& params)>;

// Server-to-client requests: legacy-era requests on the SSE streams, and the input requests of a
// modern-era InputRequiredResult (MRTR), both go to the same hooks.
struct ClientHooks {
  RequestHook sampling;     // sampling/createMessage; declares the "sampling" capability
  RequestHook elicitation;  // elicitation/create; schema defaults are filled into an accepted
                            // answer's missing fields. Declares "elicitation".
  RequestHook roots;        // roots/list; declares "roots"
  std::function<void()> tools_changed;           // notifications/tools/list_changed
  std::function<void(const json::object&)> log;  // notifications/message params (modern
                                                 // era: asked for with log_level)
};

// kAuto: 2026-07-28 when the server answers `server/discover`, else the initialize handshake.
enum class ProtocolEra { kAuto, kModern, kLegacy };
// "auto", "modern", "legacy".
std::string_view to_string(ProtocolEra era);

struct ClientOptions {
  Implementation info{"idp-agents", "0.1.0"};
  ProtocolEra protocol_era = ProtocolEra::kAuto;
  int max_input_rounds = 10;  // InputRequiredResult rounds per request (modern era)
  // Modern era, with hooks.log set: the `_meta` logLevel of every request (debug, info, notice,
  // warning, error, critical, alert, emergency); empty: ask for no log messages.
  std::string log_level = "debug";
  http::Headers headers;  // sent with every request (e.g. custom auth headers)
  std::shared_ptr<TokenProvider> token_provider;
  std::chrono::milliseconds timeout{60'000};       // per request; progress resets it
  std::chrono::milliseconds max_timeout{600'000};  // hard maximum per request
  int max_reconnects = 5;                          // SSE resumptions per request
  // Keep the standalone GET stream open for server-initiated requests and notifications
  // (servers that answer the GET with 405 are fine).
  bool listen = true;
  // kLegacySse: the 2024-11-05 HTTP+SSE transport (GET an SSE stream, read its `endpoint`
  // event, POST messages there; answers come on the stream), for servers of that era and the
  // secret's "transport": "sse".
  enum class Transport { kStreamableHttp, kLegacySse };
  Transport transport = Transport::kStreamableHttp;
  std::chrono::milliseconds default_retry{1000};  // when the server sent no retry:
  // Tasks: false never creates one (2026-07-28: the tasks extension is not declared).
  bool tasks = true;
  std::chrono::milliseconds task_poll_default{1000};  // when the server gives no pollInterval
  std::chrono::milliseconds task_poll_min{50};        // bounds of the server's pollInterval
  std::chrono::milliseconds task_poll_max{30'000};
  int task_max_poll_failures = 30;  // polls in a row that may fail (connection lost) in a task
  http::ClientOptions http;
  ClientHooks hooks;
};

// How call_tool uses tasks. kAuto: when the tool requires one (2026-07-28: when the server
// creates one); kPrefer: also when the tool allows one (taskSupport "optional"); kNever: never
// (2026-07-28: the request does not declare the tasks extension).
enum class TaskMode { kAuto, kPrefer, kNever };

// A task as the server last described it.
struct TaskInfo {
  std::string task_id;
  std::string status;          // working, input_required, completed, failed, cancelled
  std::string status_message;  // may be empty
};

struct CallOptions {
  // Per request (a task's tools/call and each of its polls).
  std::optional<std::chrono::milliseconds> timeout;
  // Called for each notifications/progress of this call (a progress token is sent when set).
  std::function<void(double progress, std::optional<double> total, std::string_view message)>
      on_progress;
  std::shared_ptr<CancelSignal> cancel;
  // call_tool only.
  TaskMode task = TaskMode::kAuto;
  // The whole task, from tools/call to its result (default ClientOptions::max_timeout); when it
  // passes, the task is cancelled on the server and the call fails with kTimeout.
  std::optional<std::chrono::milliseconds> task_timeout;
  // How long the server should keep the task after it ends (sent as ttl / ttlMs hint).
  std::optional<std::chrono::milliseconds> task_ttl;
  // Called on the call's executor when the call became a task and whenever its status or
  // status message changes.
  std::function<void(const TaskInfo&)> on_task_status;
};

class Client {
 public:
  Client(boost::asio::any_io_executor executor, std::string url, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Modern era: server/discover. Legacy era: initialize + notifications/initialized. Auto: the
  // first, falling back to the second. Errors name the step and the URL.
  boost::asio::awaitable<Result<void>> connect();
  // tools/list, following nextCursor to the end. A result with ttlMs > 0 (on every page) is
  // served from this client's cache until it expires or the server says the list changed.
  // Modern era: tools whose x-mcp-header annotations are invalid are left out (with a warning).
  boost::asio::awaitable<Result<std::vector<Tool>>> list_tools();
  boost::asio::awaitable<Result<CallToolResult>> call_tool(std::string_view name,
                                                           json::object arguments,
                                                           CallOptions options = {});
  // tasks/get: a task of this client's identity (the poll call_tool does by itself).
  boost::asio::awaitable<Result<TaskInfo>> get_task(std::string_view task_id);
  // tasks/cancel (on a task that already ended, 2026-07-28 servers acknowledge, 2025-11-25
  // servers answer an error).
  boost::asio::awaitable<Result<void>> cancel_task(std::string_view task_id);
  // Legacy: ping. Modern (which has no ping): server/discover.
  boost::asio::awaitable<Result<void>> ping();
  // Resources and prompts; each follows nextCursor to the end. Results are the spec's objects
  // (Resource, ResourceContents, Prompt, GetPromptResult) as JSON.
  boost::asio::awaitable<Result<json::array>> list_resources();
  boost::asio::awaitable<Result<json::array>> read_resource(std::string_view uri);  // contents
  boost::asio::awaitable<Result<json::array>> list_prompts();
  boost::asio::awaitable<Result<json::object>> get_prompt(std::string_view name,
                                                          json::object arguments = {});
  // Any request; the result object. Modern era: an InputRequiredResult is answered through the
  // hooks and the request retried (up to max_input_rounds), so the result is the final one.
  boost::asio::awaitable<Result<json::value>> request(std::string_view method, json::object params,
                                                      CallOptions options = {});
  boost::asio::awaitable<Result<void>> notify(std::string_view method, json::object params);
  // Ends the session (HTTP DELETE) and closes idle connections.
  boost::asio::awaitable<void> close();

  const std::string& url() const;
  std::string protocol_version() const;  // negotiated; empty before connect()
  ProtocolEra era() const;  // of the last connect(): kModern or kLegacy; kAuto before one
  Implementation server_info() const;
  json::object server_capabilities() const;
  std::string instructions() const;
  std::string session_id() const;  // changes when a forgotten session is renewed
  http::ClientStats http_stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Forgets every server era remembered by auto negotiation (the next connect() probes again).
void forget_protocol_eras();

// The URL policy of idp/http/url_policy.h (https://, or http:// to a loopback host; no
// userinfo) for an MCP server URL. The error says what to do.
Result<void> check_url_policy(std::string_view url);

}  // namespace idp::mcp

// Private: the inside of idp::mcp::Server, as its transports use it: the registry (tools,
// resources, templates, prompts, completions), the method table that dispatches a request
// (dispatch.cc), and start_request(), which runs a request's handler with its deadline and turns
// what it throws into an error with a trace id. Transport-free: sessions, streams and replay
// belong to the transport (streamable_http_session.h, event_stream.h).
// Thread-safety: the registry is under `mu` (shared for reads); everything else is set at
// construction.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "idp/mcp/jsonrpc.h"
#include "idp/mcp/schema.h"
#include "idp/mcp/server.h"
#include "mrtr.h"
#include "request_state.h"
#include "x_mcp_header.h"

namespace idp::mcp {

class TaskEngine;  // task_engine.h

struct ToolEntry {
  std::uint64_t seq;
  Tool tool;
  json::value listing;  // cached value_from(tool)
  std::optional<SchemaValidator> input;
  std::optional<SchemaValidator> output;
  std::vector<xheader::ParamHeader> param_headers;
  ToolHandler handler;
  TaskStart task_start = TaskStart::kAtOnce;
};

struct ResourceEntry {
  std::uint64_t seq;
  Resource resource;
  ResourceReader reader;
};

struct TemplateEntry {
  std::uint64_t seq;
  ResourceTemplate tmpl;
  TemplateReader reader;
};

struct PromptEntry {
  std::uint64_t seq;
  Prompt prompt;
  PromptHandler handler;
};

struct ServerCore {
  explicit ServerCore(ServerOptions o);

  ServerOptions options;
  // Precomputed for 2026-07-28 results (the options never change after construction).
  json::value server_info;      // value_from(options.info)
  std::string complete_suffix;  // "resultType":"complete","_meta":{serverInfo}
  std::string cache_fields;     // "ttlMs":N,"cacheScope":"..."
  std::string state_key;        // HMAC key of requestState

  mutable std::shared_mutex mu;
  std::uint64_t next_seq = 1;
  std::map<std::string, std::shared_ptr<const ToolEntry>, std::less<>> tools;
  // Tools with x-mcp-header parameters: while none, tools/call skips the Mcp-Param-* lookup.
  std::atomic<int> tools_with_param_headers{0};
  std::map<std::string, std::shared_ptr<const ResourceEntry>, std::less<>> resources;
  std::vector<std::shared_ptr<const TemplateEntry>> templates;
  std::map<std::string, std::shared_ptr<const PromptEntry>, std::less<>> prompts;
  std::map<std::pair<std::string, std::string>, Completer> completers;

  // Requests whose handler started and whose answer is not decided yet (Server::in_flight), and
  // the tools/call among them.
  std::atomic<std::size_t> running{0};
  std::atomic<std::size_t> running_tool_calls{0};

  // Transports register here to hear about list changes and resource updates.
  using Listener = std::function<void(std::string_view method, const json::object& params,
                                      std::string_view only_subscribed_uri)>;
  std::mutex listeners_mu;
  std::vector<Listener> listeners;
  void broadcast(std::string_view method, const json::object& params,
                 std::string_view only_subscribed_uri = {});

  // Builds the InitializeResult for a requested version; records it in the session.
  json::object initialize(ProtocolSession& session, const json::object& params);

  // The capabilities advertised by initialize (modern false) and server/discover (true): the
  // same but for tasks (2025-11-25 "tasks"; 2026-07-28 extensions["io.modelcontextprotocol/tasks"]).
  json::object capabilities(bool modern) const;

  // Tasks (task_engine.h): the store and the tasks running here.
  std::shared_ptr<TaskEngine> tasks;
  // Whether a 2026-07-28 request for `method` is served (in the method table for that era and
  // its capability declared); the transport answers 404 / -32601 otherwise.
  // subscriptions/listen is the transport's own.
  bool modern_method_available(std::string_view method) const;
  std::shared_ptr<const ToolEntry> find_tool(std::string_view name) const;

  // A 2026-07-28 result: the serialized result object plus resultType, _meta serverInfo and,
  // for cacheable results, ttlMs and cacheScope. `result_json` must not contain "_meta".
  std::string modern_result(std::string result_json, bool cacheable) const;
  // The MRTR round settings (requestState key and lifetime, serverInfo).
  Round round() const {
    return Round{state_key, options.request_state_ttl,
                 options.server_info_in_results ? &server_info : nullptr};
  }
  // The JSON-RPC response for `result`, shaped for the request's era.
  std::string reply(const RequestState& request, json::object result, bool cacheable = false) const;

  // Runs one request on `ex` (a strand, or an executor of one thread): the method table's
  // handler, bounded by options.handler_timeout. `done` is called exactly once, on `ex`: with
  // the response; with nullopt when the request was cancelled (nothing is sent); or, when the
  // deadline passes first, with a -32001 error naming it (the request is cancelled, so the
  // handler's ToolContext sees it, and its late result is dropped). An exception from a handler
  // is logged with the request's trace id and answered with "internal error, trace id X": its
  // text never reaches the client. The session is null for 2026-07-28 requests.
  //
  // The deadline's timer starts with watch() on the returned handle, which the caller makes on
  // `ex` once the handler has had its first chance to run: a handler that finishes at once (the
  // common case) costs no timer.
  using Done = std::function<void(std::optional<std::string> response)>;
  class Running;
  std::shared_ptr<Running> start_request(boost::asio::any_io_executor ex,
                                         std::shared_ptr<ProtocolSession> session,
                                         std::shared_ptr<RequestState> request,
                                         jsonrpc::Message message, Done done);

  // Dispatches one request through the method table; nullopt when the request was cancelled.
  boost::asio::awaitable<std::optional<std::string>> handle_request(
      std::shared_ptr<ProtocolSession> session, std::shared_ptr<RequestState> request,
      jsonrpc::Message message);
  // Handles one notification from the client.
  void handle_notification(ProtocolSession& session, const jsonrpc::Message& message);
};

class ServerCore::Running {
 public:
  // Arms the handler deadline unless the handler has finished. Call on the request's executor.
  void watch();

 private:
  friend struct ServerCore;
  boost::asio::any_io_executor ex_;
  std::chrono::milliseconds limit_{0};
  Done done_;
  std::weak_ptr<RequestState> request_;
  json::value id_;
  std::string method_;
  std::string trace_id_;
  std::atomic<std::size_t>* running_ = nullptr;       // the core's counts
  std::atomic<std::size_t>* running_tools_ = nullptr;  // null unless a tools/call
  bool finished_ = false;  // touched on the request's executor only
  std::unique_ptr<boost::asio::steady_timer> deadline_;
  std::weak_ptr<Running> self_;

  void finish(std::optional<std::string> response);
};

struct Server::Impl {
  explicit Impl(ServerOptions o) : core(std::move(o)) {}
  ServerCore core;
};

// The transports' way to a Server's inside.
struct ServerAccess {
  static ServerCore& core(Server& server) { return server.impl_->core; }
};

// "internal error, trace id X": what a client is told about a failure whose details stay in the
// server's log.
std::string internal_error_text(std::string_view trace_id);

// Runs a handler, catching what it throws: the exception's text, or nothing when it returned.
template <class T>
boost::asio::awaitable<std::optional<std::string>> guarded(boost::asio::awaitable<T> handler,
                                                           T& out) {
  try {
    out = co_await std::move(handler);
  } catch (const std::exception& e) {
    co_return std::string(e.what());
  } catch (...) {
    co_return std::string("an exception that is not a std::exception");
  }
  co_return std::nullopt;
}

// A JSON-RPC error answer to `request`, recorded for the transport's observer.
std::string fail_request(RequestState& request, const json::value& id, int code,
                         std::string message, std::optional<json::value> data = std::nullopt);

// What a tools/call handler's outcome becomes (dispatch.cc): the exception's text (`failure`)
// is logged and replaced by an internal error with the trace id; a result that breaks the tool's
// outputSchema becomes an error result. Records a tool error in the request's outcome.
CallToolResult finish_tool_result(const ToolEntry& entry, RequestState& request,
                                  const std::optional<std::string>& failure,
                                  CallToolResult result);

}  // namespace idp::mcp

// Private: the state shared by the MCP server's registry, its dispatcher and its transports.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "idp/mcp/jsonrpc.h"
#include "idp/mcp/schema.h"
#include "idp/mcp/server.h"
#include "idp/mcp/tool_context.h"
#include "notifier.h"

namespace idp::mcp::detail {

// One SSE stream's events, kept for delivery and for Last-Event-ID replay. A POST stream ends
// with its request's response; the session's standalone stream never ends by itself.
class EventStream {
 public:
  EventStream(std::string id, std::size_t capacity) : id_(std::move(id)), capacity_(capacity) {}

  const std::string& id() const { return id_; }

  // Appends a message; wakes the attached writer. Returns false once the stream is complete.
  bool push(std::string message);
  // Appends the final message (the response) and marks the stream complete.
  void complete(std::optional<std::string> final_message);
  // Asks the attached writer to end the HTTP response now (the stream itself goes on).
  void request_close();

  struct Batch {
    std::vector<std::pair<std::uint64_t, std::string>> events;
    bool complete = false;       // nothing more will come and all is in `events`
    bool close_requested = false;
    bool lost = false;           // events after `after` were evicted from the buffer
  };
  // Events with sequence numbers greater than `after`.
  Batch take(std::uint64_t after, bool consume_close);
  // Moves out the final message of a complete stream that was never delivered as SSE.
  std::optional<std::string> take_final();

  // The writer currently delivering the stream (at most one).
  bool attach(std::shared_ptr<Notifier> waker);
  void detach();
  bool attached() const;
  bool is_complete() const;
  bool has_pending_events() const;  // anything pushed before completion
  std::uint64_t last_seq() const;

 private:
  const std::string id_;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  // A vector, not a deque: most streams hold one event, and a deque allocates on construction.
  std::vector<std::pair<std::uint64_t, std::string>> events_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t first_retained_ = 1;
  bool complete_ = false;
  bool has_final_ = false;
  bool close_requested_ = false;
  bool ever_pushed_ = false;
  std::shared_ptr<Notifier> waker_;
};

struct PendingReply {
  std::mutex mu;
  bool done = false;
  bool ok = false;
  json::value result;
  jsonrpc::RpcError error;
  std::shared_ptr<Notifier> waker;
};

struct Session;

// Server-to-client requests awaiting their answer, by request id; shared by a transport's
// sessions (an answer must come from the session the request went to).
class PendingRegistry {
 public:
  void add(const std::string& id, std::string session_id, std::shared_ptr<PendingReply> reply);
  void remove(const std::string& id);
  // The waiting reply for `id` if it belongs to `session_id`.
  std::shared_ptr<PendingReply> find(const std::string& id, const std::string& session_id);

 private:
  struct Entry {
    std::string session_id;
    std::shared_ptr<PendingReply> reply;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

// Log level meaning "send no notifications/message" (2026-07-28 request without logLevel).
inline constexpr int kNoLogs = 1000;

// One in-flight client request. It owns its event stream (one allocation for both; the stream is
// shared through an aliasing shared_ptr).
struct RequestState {
  // `request_meta` is moved in, keeping its storage (the request's parse arena): no copy.
  RequestState(std::string stream_id, std::size_t capacity, json::object request_meta = {})
      : own_stream(std::move(stream_id), capacity), meta(std::move(request_meta)) {}
  EventStream own_stream;
  json::object meta;  // the request's "_meta"

  // 2026-07-28 ("modern") requests have no Session: what a session would hold comes from this
  // request's _meta. The pointers point into `meta` (set once, never modified afterwards).
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

  std::weak_ptr<Session> session;
  EventStream* stream = nullptr;  // &own_stream, or null when nothing can be streamed (JSON mode)
  std::shared_ptr<PendingRegistry> pending;  // null when the transport cannot carry requests
  std::string session_id;
  json::value id;
  std::optional<json::value> progress_token;
  Identity identity;
  std::atomic<bool> cancelled{false};

  std::mutex mu;
  std::vector<std::function<void()>> on_cancel;  // wake sleepers and waiters

  void cancel();
  void push(std::string message);  // to this request's stream, if any
};

struct Session : std::enable_shared_from_this<Session> {
  std::string id;  // empty for the ephemeral sessions of stateless mode
  std::string protocol_version{kLatestProtocolVersion};
  json::object client_capabilities;
  json::object client_info;
  std::atomic<int> min_log_level{0};
  std::atomic<bool> closed{false};
  std::atomic<std::int64_t> last_used_ns{0};

  std::mutex mu;
  bool initialized = false;
  std::set<std::string, std::less<>> subscriptions;
  std::shared_ptr<EventStream> standalone;
  // Streams a client has seen (SSE), by stream id, for Last-Event-ID; oldest evicted first.
  std::map<std::string, std::shared_ptr<EventStream>, std::less<>> streams;
  std::deque<std::string> stream_order;
  std::unordered_map<std::string, std::weak_ptr<RequestState>> in_flight;  // by id_key
  std::uint64_t next_stream = 1;

  // Sends a message on the standalone stream (server-initiated, unrelated to a request).
  void notify(std::string message);
};

// A tool parameter mirrored into an Mcp-Param-<header> HTTP header (x-mcp-header, 2026-07-28).
struct ParamHeader {
  std::vector<std::string> path;  // "properties" chain from the schema root
  std::string header;             // the x-mcp-header value
};

struct ToolEntry {
  std::uint64_t seq;
  Tool tool;
  json::value listing;  // cached value_from(tool)
  std::optional<SchemaValidator> input;
  std::optional<SchemaValidator> output;
  std::vector<ParamHeader> param_headers;
  ToolHandler handler;
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

  // Transports register here to hear about list changes and resource updates.
  std::mutex listeners_mu;
  std::vector<std::function<void(std::string_view method, const json::object& params,
                                 std::string_view only_subscribed_uri)>>
      listeners;
  void broadcast(std::string_view method, const json::object& params,
                 std::string_view only_subscribed_uri = {});

  // Builds the InitializeResult for a requested version; records it in the session.
  json::object initialize(Session& session, const json::object& params);

  // The capabilities both eras advertise (initialize, server/discover).
  json::object capabilities() const;
  // Whether a 2026-07-28 request for `method` is served (its capability is declared); the
  // transport answers 404 / -32601 otherwise. subscriptions/listen is the transport's own.
  bool modern_method_available(std::string_view method) const;
  std::shared_ptr<const ToolEntry> find_tool(std::string_view name) const;

  // A 2026-07-28 result: the serialized result object plus resultType, _meta serverInfo and,
  // for cacheable results, ttlMs and cacheScope. `result_json` must not contain "_meta".
  std::string modern_result(std::string result_json, bool cacheable) const;
  // The JSON-RPC response for `result`, shaped for the request's era.
  std::string reply(const RequestState& request, json::object result, bool cacheable = false) const;

  // Handles one request; nullopt when the request was cancelled (no response is sent). The
  // session is null for 2026-07-28 requests.
  boost::asio::awaitable<std::optional<std::string>> handle_request(
      std::shared_ptr<Session> session, std::shared_ptr<RequestState> request,
      jsonrpc::Message message);
  // Handles one notification from the client.
  void handle_notification(Session& session, const jsonrpc::Message& message);
};

}  // namespace idp::mcp::detail

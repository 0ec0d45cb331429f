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

// One in-flight client request. It owns its event stream (one allocation for both; the stream is
// shared through an aliasing shared_ptr).
struct RequestState {
  RequestState(std::string stream_id, std::size_t capacity)
      : own_stream(std::move(stream_id), capacity) {}
  EventStream own_stream;

  std::weak_ptr<Session> session;
  EventStream* stream = nullptr;  // &own_stream, or null when nothing can be streamed (JSON mode)
  std::shared_ptr<PendingRegistry> pending;  // null when the transport cannot carry requests
  std::string session_id;
  json::value id;
  json::object meta;
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

struct ToolEntry {
  std::uint64_t seq;
  Tool tool;
  json::value listing;  // cached value_from(tool)
  std::optional<SchemaValidator> input;
  std::optional<SchemaValidator> output;
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
  explicit ServerCore(ServerOptions o) : options(std::move(o)) {}

  ServerOptions options;
  mutable std::shared_mutex mu;
  std::uint64_t next_seq = 1;
  std::map<std::string, std::shared_ptr<const ToolEntry>, std::less<>> tools;
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

  // Handles one request; nullopt when the request was cancelled (no response is sent).
  boost::asio::awaitable<std::optional<std::string>> handle_request(
      std::shared_ptr<Session> session, std::shared_ptr<RequestState> request,
      jsonrpc::Message message);
  // Handles one notification from the client.
  void handle_notification(Session& session, const jsonrpc::Message& message);
};

}  // namespace idp::mcp::detail

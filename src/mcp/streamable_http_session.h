// Private: the Streamable HTTP transport's sessions and requests. A Session is a handshake-era
// client from initialize to DELETE or expiry: its unguessable id, the identity that opened it
// (its owner: another identity presenting the id is told the session does not exist), its
// standalone GET stream and the POST streams a client may still resume (Last-Event-ID). The
// SessionTable holds them by id, bounded in number. An HttpRequest is one request with the SSE
// stream that carries its notifications and its answer.
// Thread-safety: the table and each session lock their own state; every method may be called
// from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "event_stream.h"
#include "request_state.h"

namespace idp::mcp {

// Who may use a session: "" for unauthenticated callers, else the verified subject and client id
// (a Cognito access token's "client_id", else "azp", else a string "aud").
std::string session_owner(const Identity& identity);

struct Session : ProtocolSession {
  std::string owner;
  std::atomic<std::int64_t> last_used_ns{0};

  // Under `mu` (ProtocolSession's).
  std::shared_ptr<EventStream> standalone;
  // Streams a client has seen (SSE), by stream id, for Last-Event-ID; oldest evicted first.
  std::map<std::string, std::shared_ptr<EventStream>, std::less<>> streams;
  std::deque<std::string> stream_order;
  std::uint64_t next_stream = 1;

  // Sends a message on the standalone stream (server-initiated, unrelated to a request).
  void notify(std::string message) override;
  // Keeps a stream the client has seen replayable until `retained` newer ones push it out.
  void remember_stream(const std::shared_ptr<EventStream>& stream, std::size_t retained);
  // The stream a Last-Event-ID names ("g" is the standalone one); null when unknown.
  std::shared_ptr<EventStream> find_stream(std::string_view stream_id);
  // Whether a request runs or the standalone stream is open (an idle session may expire).
  bool busy();
  // Marks the session closed, cancels its requests and ends its streams.
  void end();
};

class SessionTable {
 public:
  SessionTable(std::size_t max_sessions, std::size_t replay_events, std::size_t max_subscriptions)
      : max_sessions_(max_sessions),
        replay_events_(replay_events),
        max_subscriptions_(max_subscriptions) {}

  // A new session owned by `owner`; null when the table is full.
  std::shared_ptr<Session> create(std::string owner);
  // A one-shot session for stateless mode (not in the table).
  std::shared_ptr<Session> ephemeral() const;
  // The session `id` if it exists and belongs to `owner`; null otherwise (the caller cannot tell
  // the two apart, and neither can the client).
  std::shared_ptr<Session> find(std::string_view id, std::string_view owner);
  // Removes and returns the session (null when it was not there).
  std::shared_ptr<Session> remove(std::string_view id);
  // Removes the sessions idle since before `limit_ns` (steady clock) and not busy.
  std::vector<std::shared_ptr<Session>> remove_idle(std::int64_t limit_ns);
  std::vector<std::shared_ptr<Session>> all() const;
  std::size_t size() const;

  static std::int64_t now_ns();

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Sessions are partitioned by a hash of their id, each part under its own lock, so that
  // requests of different sessions on different server threads do not wait for each other.
  static constexpr std::size_t kShards = 16;
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<Session>, StringHash, std::equal_to<>> sessions;
  };
  Shard& shard_of(std::string_view id) { return shards_[StringHash{}(id) % kShards]; }

  const std::size_t max_sessions_;
  const std::size_t replay_events_;
  const std::size_t max_subscriptions_;
  std::atomic<std::size_t> count_{0};  // sessions in all shards
  std::array<Shard, kShards> shards_;
};

// One request on the Streamable HTTP transport: its protocol state plus the SSE stream of its
// POST response (one allocation for both; the stream is shared through an aliasing pointer).
struct HttpRequest final : RequestState {
  HttpRequest(std::string stream_id, std::size_t capacity, bool streaming, json::object meta)
      : RequestState(std::move(meta)),
        own_stream(std::move(stream_id), capacity),
        streaming(streaming) {}

  void push(std::string message) override {
    if (streaming) own_stream.push(std::move(message));
  }
  bool can_push() const override { return streaming; }
  void close_stream() override;

  EventStream own_stream;
  const bool streaming;  // false in JSON response mode: nothing but the answer is sent
};

}  // namespace idp::mcp

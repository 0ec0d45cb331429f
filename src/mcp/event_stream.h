// Private: the Streamable HTTP transport's event store. One EventStream per SSE stream (a POST's
// response stream, a session's standalone GET stream, a 2026-07-28 subscriptions/listen
// stream) keeps its events in order with sequence numbers, delivers them to the one writer
// attached at a time, and keeps the last `capacity` of them so that a client can resume with
// GET + Last-Event-ID ("<stream id>_<seq>") after losing the connection. A POST stream ends with
// its request's response; the standalone stream never ends by itself.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "notifier.h"

namespace idp::mcp {

class EventStream {
 public:
  EventStream(std::string id, std::size_t capacity) : id_(std::move(id)), capacity_(capacity) {}

  const std::string& id() const { return id_; }

  // Appends a message; wakes the attached writer. Returns false once the stream is complete.
  bool push(std::string message);
  // Appends the final message (the response) and marks the stream complete; a no-op when it
  // already is (the first answer wins: a handler that finishes after its deadline is ignored).
  // Returns whether this call completed the stream.
  bool complete(std::optional<std::string> final_message);
  // Asks the attached writer to end the HTTP response now (the stream itself goes on).
  void request_close();

  struct Batch {
    std::vector<std::pair<std::uint64_t, std::string>> events;
    bool complete = false;  // nothing more will come and all is in `events`
    bool close_requested = false;
    bool lost = false;  // events after `after` were evicted from the buffer
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
  bool close_requested() const;
  std::uint64_t last_seq() const;

  // "<stream id>_<seq>", the SSE id of an event.
  std::string event_id(std::uint64_t seq) const { return id_ + "_" + std::to_string(seq); }
  // Splits a Last-Event-ID into stream id and sequence number; nullopt when malformed.
  static std::optional<std::pair<std::string_view, std::uint64_t>> parse_event_id(
      std::string_view last_event_id);

 private:
  void trim(std::size_t keep);  // under mu_

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

}  // namespace idp::mcp

// idp::http::SseParser is an incremental parser of the WHATWG "text/event-stream" format
// (HTML, "server-sent events"): bytes go in as they arrive, in chunks of any size, and
// completed events come out. It handles every line ending (CRLF, CR, LF, also split across
// chunks), comments, multi-line data, the persistent last event id, `retry`, and a leading BOM,
// and it bounds the size of one event. Not thread-safe: one parser per stream.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/error.h"

namespace idp::http {

struct SseEvent {
  std::string event = "message";  // the `event` field, or "message" when absent
  std::string data;               // `data` lines joined by '\n'
  std::string id;                 // the last event id at dispatch (it persists across events)
  std::optional<int> retry_ms;    // a valid `retry` field seen in this event's block
};

class SseParser {
 public:
  static constexpr std::size_t kDefaultMaxEventBytes = 8 * 1024 * 1024;

  explicit SseParser(std::size_t max_event_bytes = kDefaultMaxEventBytes)
      : max_event_bytes_(max_event_bytes) {}

  // Parses `bytes` and returns the events they complete (possibly none). After an error
  // (see error()) it returns nothing until reset().
  std::vector<SseEvent> feed(std::string_view bytes);

  // The id of the last event that had one ("" if none): what to send as Last-Event-ID.
  const std::string& last_event_id() const { return last_event_id_; }
  // The latest valid `retry` value of the stream (a reconnection delay), if any was sent,
  // including in blocks that dispatched no event.
  std::optional<int> retry_ms() const { return retry_ms_; }

  // Set when an event grew past the limit; the stream cannot be parsed further.
  const std::optional<Error>& error() const { return error_; }
  bool failed() const { return error_.has_value(); }

  // For a new connection of the same stream: drops a partial event and the error, keeps
  // last_event_id() and retry_ms() (the spec keeps them across reconnections).
  void reset();

 private:
  void process_line(std::string_view line, std::vector<SseEvent>& out);
  void dispatch(std::vector<SseEvent>& out);
  std::size_t pending_bytes() const { return line_.size() + data_.size() + event_.size(); }
  void fail();

  std::size_t max_event_bytes_;
  bool started_ = false;  // past the optional BOM
  std::string bom_prefix_;  // BOM bytes seen so far at the start of the stream
  bool after_cr_ = false;   // the last byte was a CR: a following LF belongs to it
  std::string line_;        // the incomplete line
  std::string data_;
  std::string event_;
  bool has_data_ = false;
  std::optional<int> event_retry_;
  std::string last_event_id_;
  std::optional<int> retry_ms_;
  std::optional<Error> error_;
};

}  // namespace idp::http

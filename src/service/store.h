// idp::service::Store is where the service keeps everything a user can come back to: chat
// sessions, their messages, every event of every turn (with a per-session sequence number the
// store assigns), the model-facing conversation history, and jobs. One interface, two engines:
// SQLite (sqlite_store.h, the default) and PostgreSQL (pg_store.h) for several replicas. The
// contract below is the whole of what the service relies on, so it says nothing about SQL.
//
// Rules every implementation keeps:
// - A call that returns success has made its change durable (it survives a crash of the
//   process, and with the default settings a crash of the machine): the service acknowledges
//   nothing before that.
// - Ownership is checked inside the store: a session or job of another owner is kNotFound,
//   exactly as one that does not exist.
// - Event `seq` numbers are per session, start at 1 and strictly increase, also across turns
//   and restarts; they are assigned at append time, in the order of the calls.
// - begin_turn/finish_turn and the other multi-row changes are atomic.
//
// Thread-safety: every member may be called from any executor at once; an implementation does
// its blocking work off the caller's thread (the SQLite store on its own thread) and resumes
// the caller on the caller's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idp/core/error.h"
#include "wakeup.h"

namespace idp::service {

using TimePoint = std::chrono::system_clock::time_point;

struct SessionRecord {
  std::string id;
  std::string owner;  // the verified `sub` of the user who created it
  std::string title;  // the first user message, shortened; empty before the first message
  std::vector<std::string> agent_ids;
  TimePoint created_at{};
  TimePoint updated_at{};
  std::int64_t message_count = 0;
  std::string last_message;  // text of the newest message, shortened
  bool running = false;      // a turn is running now
  std::string last_status;   // of the newest turn: "" (none), running, complete, error,
                             // cancelled, interrupted
};

struct MessageRecord {
  std::string id;
  std::string role;  // "user" | "assistant"
  std::string text;  // the user's text, or the answer (the text so far while running)
  std::string turn_id;
  std::string status;  // complete | running | error | cancelled | interrupted
  std::optional<boost::json::object> structured;  // {"responseType","data"}
  TimePoint created_at{};
};

struct EventRecord {
  std::int64_t seq = 0;
  std::string turn_id;
  boost::json::object event;  // as streamed: with "seq" and "ts"
  // `event` serialized, when the store has that text at hand (what it wrote), so that it is
  // serialized once; null otherwise.
  std::shared_ptr<const std::string> json;
};

// A session with its messages and, per turn, its events (in seq order).
struct SessionDetail {
  SessionRecord session;
  std::vector<MessageRecord> messages;
  std::vector<EventRecord> events;
};

struct TurnBegun;

struct TurnStart {
  std::string session_id;
  std::string owner;
  std::string turn_id;
  std::string user_message_id;
  std::string assistant_message_id;
  std::string text;                                   // the user's message
  std::optional<std::vector<std::string>> agent_ids;  // absent: keep the session's
  std::string title;                                  // used when the session has none yet
  std::string preview;                                // the session's new last_message
  // Optional: called (on the store's thread, quickly) once the start is written, before it is
  // durable, so that work that acknowledges nothing (the agent's first model call) overlaps the
  // commit. If begin_turn then fails, that work must be undone. A store may not call it.
  std::function<void(const TurnBegun&)> on_written;
};

struct TurnBegun {
  bool busy = false;  // another turn of the session is running: nothing was written
  std::vector<std::string> agent_ids;  // the session's agents for this turn
  // The model-facing conversation so far (llm stored message form), oldest first.
  boost::json::array history;
};

struct TurnEnd {
  std::string session_id;
  std::string turn_id;
  std::string assistant_message_id;
  std::string status;  // complete | error | cancelled | interrupted
  std::string text;    // the final answer (or what went wrong)
  std::optional<boost::json::object> structured;
  // Events of the turn not yet stored (they arrived while the previous ones were written),
  // appended before the terminal event.
  std::vector<boost::json::object> events;
  boost::json::object terminal_event;  // final or error; appended after them
  boost::json::array new_messages;     // appended to the history
  std::string preview;                 // the session's new last_message
};

struct TurnEnded {
  std::vector<EventRecord> events;  // TurnEnd::events as stored
  EventRecord terminal;
};

struct TurnEvents {
  std::string turn_id;  // empty when the session has no turn
  std::string status;   // of that turn's assistant message
  std::vector<EventRecord> events;
};

struct JobRecord {
  std::string id;
  std::string owner;
  std::string query;
  std::vector<std::string> agent_ids;
  std::string status;  // PENDING | PROCESSING | COMPLETED | FAILED
  TimePoint created_at{};
  TimePoint updated_at{};
  std::optional<TimePoint> completed_at;
  std::string result_text;
  std::optional<boost::json::object> structured;
  std::string error;
  std::vector<boost::json::object> steps;  // the run's events (only from get_job)
};

struct JobEnd {
  std::string job_id;
  std::string status;  // COMPLETED | FAILED
  std::string result_text;
  std::optional<boost::json::object> structured;
  std::string error;
  std::vector<boost::json::object> steps;
};

// What one round of lease keeping did (replicas; see Store::keep_leases).
struct LeaseSweep {
  // Sessions whose turn runs in this process and that a replica was asked to cancel.
  std::vector<std::string> cancel_requested;
  std::int64_t turns_interrupted = 0;  // of replicas that stopped renewing their lease
  std::int64_t jobs_failed = 0;        // likewise
};

struct Swept {
  std::int64_t sessions = 0;
  std::int64_t jobs = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Answers when the store can be used (readiness).
  virtual boost::asio::awaitable<Result<void>> ping() = 0;

  // --- chat sessions ---
  // Creates `session`; kResourceExhausted (naming the limit) when the owner already has
  // `max_per_owner` sessions.
  virtual boost::asio::awaitable<Result<void>> create_session(SessionRecord session,
                                                              std::int64_t max_per_owner) = 0;
  // The owner's sessions, most recently updated first.
  virtual boost::asio::awaitable<Result<std::vector<SessionRecord>>> list_sessions(
      std::string owner) = 0;
  virtual boost::asio::awaitable<Result<SessionRecord>> get_session(std::string owner,
                                                                    std::string session_id) = 0;
  virtual boost::asio::awaitable<Result<SessionDetail>> session_detail(std::string owner,
                                                                       std::string session_id) = 0;
  // Deletes the session with its messages, events and history.
  virtual boost::asio::awaitable<Result<void>> delete_session(std::string owner,
                                                              std::string session_id) = 0;

  // --- turns ---
  // Stores the user's message and a running assistant message and marks the session running;
  // `busy` (and no change) when a turn of the session is running already.
  virtual boost::asio::awaitable<Result<TurnBegun>> begin_turn(TurnStart start) = 0;
  // Appends events of a running turn (without seq/ts; the store adds both) and `text_append`
  // to its assistant message's text. Returns them as stored, in order.
  virtual boost::asio::awaitable<Result<std::vector<EventRecord>>> append_events(
      std::string session_id, std::string turn_id, std::string assistant_message_id,
      std::vector<boost::json::object> events, std::string text_append) = 0;
  // Ends a turn in one step: appends its last events and the terminal event, sets the
  // assistant message's text, status and structured data, appends the history, and marks the
  // session idle. Returns the events as stored.
  virtual boost::asio::awaitable<Result<TurnEnded>> finish_turn(TurnEnd end) = 0;
  // The events of one turn of the owner's session (`turn_id` empty: the newest turn) with
  // seq > after. kNotFound for an unknown session or turn id.
  virtual boost::asio::awaitable<Result<TurnEvents>> turn_events(std::string owner,
                                                                 std::string session_id,
                                                                 std::string turn_id,
                                                                 std::int64_t after) = 0;
  // After a crash: every turn still marked running gets `terminal_event` (an error event)
  // appended and the status "interrupted"; returns how many.
  virtual boost::asio::awaitable<Result<std::int64_t>> interrupt_running_turns(
      boost::json::object terminal_event) = 0;

  // --- jobs ---
  // kResourceExhausted when the owner has `max_active_per_owner` PENDING or PROCESSING jobs.
  virtual boost::asio::awaitable<Result<void>> create_job(JobRecord job,
                                                          std::int64_t max_active_per_owner) = 0;
  // The oldest PENDING job, now PROCESSING (claimed by this caller only), or nullopt.
  virtual boost::asio::awaitable<Result<std::optional<JobRecord>>> claim_job() = 0;
  virtual boost::asio::awaitable<Result<void>> finish_job(JobEnd end) = 0;
  virtual boost::asio::awaitable<Result<JobRecord>> get_job(std::string owner,
                                                            std::string job_id) = 0;
  // The owner's newest `limit` jobs, without steps.
  virtual boost::asio::awaitable<Result<std::vector<JobRecord>>> list_jobs(std::string owner,
                                                                           std::int64_t limit) = 0;
  virtual boost::asio::awaitable<Result<void>> delete_job(std::string owner,
                                                          std::string job_id) = 0;
  // After a crash: PROCESSING jobs become FAILED with `error`; returns how many.
  virtual boost::asio::awaitable<Result<std::int64_t>> fail_processing_jobs(std::string error) = 0;

  // --- retention ---
  // Deletes sessions (not running) and jobs (finished) last updated before `cutoff`.
  virtual boost::asio::awaitable<Result<Swept>> delete_expired(TimePoint cutoff) = 0;

  // --- replicas ---
  // A shared store serves several `serve` processes at once (docs/architecture.md,
  // "Replicas"): turns and jobs then carry a lease their process renews through keep_leases(),
  // and no process may treat what is running as a leftover of its own crash. The defaults
  // below are those of a store with one process.
  virtual bool shared() const { return false; }
  // Notified whenever events of `session_id` may have been stored, by any process; a store
  // without notifications returns one that is never notified (the follower polls).
  virtual std::shared_ptr<Wakeup> watch_events(const std::string& session_id);
  // Asks the process that runs the session's turn to cancel it; false when no turn runs (or
  // the store has one process: the caller cancels its own turns).
  virtual boost::asio::awaitable<Result<bool>> request_cancel(std::string owner,
                                                              std::string session_id);
  // Called (on a store thread, quickly) with the session id when another process asked to
  // cancel a turn this process may run.
  virtual void on_cancel_requested(std::function<void(const std::string& session_id)> handler);
  // Renews the leases of this process's running turns and jobs and ends those of processes
  // whose lease ran out: such a turn gets `interrupted_event` appended and the status
  // "interrupted", such a job becomes FAILED with `job_error`.
  virtual boost::asio::awaitable<Result<LeaseSweep>> keep_leases(
      boost::json::object interrupted_event, std::string job_error);
};

}  // namespace idp::service

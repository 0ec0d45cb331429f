// TurnManager runs the chat turns of the service: it stores the user's message, runs the turn
// function (the AgentRunner in production) in the background, writes every event to the store
// before anyone sees it, and fans the stored events out to every reader of the turn (the POST
// that started it, other tabs following it with ?after=N). A turn goes on when its readers go
// away; only cancel() or the service's shutdown stops it.
//
// Ordering and consistency:
// - The agent starts as soon as the user's message is written, while the store commits it (its
//   model call acknowledges nothing); start() answers only once the message is durable, and if
//   that fails the agent is cancelled and nothing of the turn is shown.
// - Events are stored in the order the runner emitted them, in batches (whatever arrived while
//   the previous batch was being written), and published to readers only once stored.
// - The terminal event (final or error) is held until the runner returns, then stored together
//   with the events not yet written, the answer, the model history and the session's idle mark
//   in one store call, made at once (not after the batch being written: the store keeps the
//   order and may commit both together); the turn leaves the manager before that event is
//   published, so a reader that has seen it can start the next turn at once. If the batch
//   being written then fails, its events are not shown; the turn still ends with its terminal
//   event.
// - follow() reaches a running turn in memory (every event stored so far, then live ones, no gap
//   and no duplicate); a turn that is not in memory has ended and is complete in the store.
//
// Cancel: the runner's CancelSignal fires and the runner ends the turn with error "cancelled".
// If it has not returned after cancel_grace, the manager ends the turn itself (error
// "cancelled") and ignores whatever the runner still emits.
// Shutdown: interrupt_all() ends every running turn at once with error "interrupted" (stored),
// then cancels the runners; the service does not wait for turns to drain, since a turn may
// take minutes.
//
// Thread-safety: every member may be called from any thread or executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "event_feed.h"
#include "idp/agents/agent_runner.h"
#include "idp/core/cancel.h"
#include "idp/core/error.h"
#include "idp/service/service.h"
#include "store.h"

namespace idp::service {

struct TurnManagerOptions {
  std::chrono::milliseconds cancel_grace{10'000};
  std::size_t max_reader_backlog = 10'000;  // events a slow reader may fall behind
  // Observers (metrics): every stored event, and every ended turn with its status.
  std::function<void(const boost::json::object& event)> on_event;
  std::function<void(std::chrono::steady_clock::duration took, const std::string& status)> on_turn;
};

struct NewTurn {
  std::string owner;
  std::string session_id;
  std::string text;
  std::optional<std::vector<std::string>> agent_ids;  // absent: the session's
};

struct StartedTurn {
  bool busy = false;  // a turn of the session is running: nothing was started
  std::string turn_id;
  std::shared_ptr<EventFeed> feed;  // every event of the new turn, from turn_start
};

class TurnManager : public std::enable_shared_from_this<TurnManager> {
 public:
  TurnManager(boost::asio::any_io_executor executor, std::shared_ptr<Store> store,
              TurnFunction turn, TurnManagerOptions options = {});
  ~TurnManager();

  // Stores the user's message and starts the turn. Errors: kNotFound (no such session of this
  // owner), the store's errors.
  boost::asio::awaitable<Result<StartedTurn>> start(NewTurn turn);
  // A feed of the session's running turn (when `turn_id` is empty or names it) with the events
  // after seq `after`; nullptr when no such turn runs here.
  std::shared_ptr<EventFeed> follow(const std::string& session_id, const std::string& turn_id,
                                    std::int64_t after);
  // Cancels the session's running turn; false when none runs.
  bool cancel(const std::string& session_id);
  // Ends every running turn with error "interrupted" (stored), cancels the runners, and returns
  // once the turns are stored or `deadline` has passed.
  boost::asio::awaitable<void> interrupt_all(std::string message,
                                             std::chrono::milliseconds deadline);
  std::size_t running() const;

  struct Turn;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// True for the events that end a turn (final, error).
bool is_terminal_event(const boost::json::object& event);
// A stored event as readers get it (serialized once).
FeedItem to_feed_item(const EventRecord& record);

}  // namespace idp::service

#include "turn_manager.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <deque>
#include <unordered_map>

#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/llm/model.h"
#include "poll_wait.h"
#include "text_util.h"

namespace idp::service {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;

namespace {

constexpr std::size_t kTitleChars = 80;
constexpr std::size_t kPreviewChars = 200;

std::string type_of(const bj::object& e) {
  auto it = e.find("type");
  return it != e.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

std::string string_field(const bj::object& e, std::string_view key) {
  auto it = e.find(key);
  return it != e.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

// The answer's own words (not a sub-agent's) in `events`: the message's text so far.
template <class Events>
std::string answer_text(const Events& events) {
  std::string text;
  for (const auto& e : events) {
    if (type_of(e) == "text_delta" && !e.contains("agent_id") && !e.contains("parent_call_id")) {
      text += string_field(e, "text");
    }
  }
  return text;
}

bj::object error_event(std::string_view code, std::string_view message) {
  return bj::object{{"type", "error"}, {"code", code}, {"message", message}};
}

// The status of an assistant message ended by `terminal`.
std::string status_of(const bj::object& terminal) {
  if (type_of(terminal) == "final") return "complete";
  auto code = string_field(terminal, "code");
  if (code == "cancelled" || code == "interrupted") return code;
  return "error";
}

}  // namespace

bool is_terminal_event(const bj::object& e) {
  auto t = type_of(e);
  return t == "final" || t == "error";
}

FeedItem to_feed_item(const EventRecord& r) {
  auto json = r.json ? r.json : std::make_shared<const std::string>(bj::serialize(r.event));
  return FeedItem{r.seq, std::move(json), is_terminal_event(r.event)};
}

struct TurnManager::Turn {
  Turn(net::any_io_executor ex) : strand(net::make_strand(ex)) {}

  std::string session_id, turn_id, owner, user_message_id, assistant_message_id, question;
  net::strand<net::any_io_executor> strand;
  std::shared_ptr<CancelSignal> cancel = std::make_shared<CancelSignal>();
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // On the strand only.
  std::deque<bj::object> pending;
  bool writing = false;
  bool finish_after_writing = false;  // the runner returned while a batch was being written
  std::optional<bj::object> terminal;  // held until the runner returns
  std::optional<agents::TurnResult> result;
  bool closed = false;         // finishing: the runner's events are ignored from now on
  std::string text_so_far;     // of the stored events
  std::string text_in_flight;  // of the events being stored
  std::unique_ptr<net::steady_timer> grace;

  // Under mu: what readers see.
  std::mutex mu;
  std::vector<FeedItem> published;
  std::vector<std::shared_ptr<EventFeed>> feeds;
  bool done = false;

  std::shared_ptr<EventFeed> subscribe(std::int64_t after, std::size_t backlog) {
    auto feed = std::make_shared<EventFeed>(backlog);
    std::lock_guard lock(mu);
    for (const auto& i : published) {
      if (i.seq > after) feed->push(i);
    }
    if (done) {
      feed->end();
    } else {
      feeds.push_back(feed);
    }
    return feed;
  }

  void publish(const std::vector<FeedItem>& items, bool last) {
    std::lock_guard lock(mu);
    std::erase_if(feeds, [](const auto& f) { return f->closed(); });
    for (const auto& i : items) {
      published.push_back(i);
      for (auto& f : feeds) f->push(i);
    }
    if (last) {
      done = true;
      for (auto& f : feeds) f->end();
      feeds.clear();
    }
  }
};

namespace {

// A session deleted while its turn ran is expected (DELETE cancels the turn); anything else is not.
void log_store_failure(const TurnManager::Turn& t, std::string_view what, const Error& e) {
  if (e.code() == ErrorCode::kNotFound) {
    log::info("turn {}: its session was deleted while it ran ({} not stored)", t.turn_id, what);
  } else {
    log::error("turn {}: storing {} failed: {}", t.turn_id, what, e.message());
  }
}

}  // namespace

struct TurnManager::State : std::enable_shared_from_this<TurnManager::State> {
  net::any_io_executor executor;
  std::shared_ptr<Store> store;
  TurnFunction fn;
  TurnManagerOptions options;
  mutable std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<Turn>> turns;  // by session id
  bool stopping = false;  // under mu: interrupt_all() began, no new turns

  void remove(const std::shared_ptr<Turn>& t) {
    std::lock_guard lock(mu);
    auto it = turns.find(t->session_id);
    if (it != turns.end() && it->second == t) turns.erase(it);
  }

  // On the turn's strand: an event from the runner.
  void on_event(const std::shared_ptr<Turn>& t, bj::object e) {
    if (t->closed || t->terminal) return;
    if (is_terminal_event(e)) {
      t->terminal = std::move(e);
      return;
    }
    if (type_of(e) == "turn_start") {
      e["message_id"] = t->user_message_id;
      e["assistant_message_id"] = t->assistant_message_id;
    }
    t->pending.push_back(std::move(e));
    if (!t->writing) {
      t->writing = true;
      net::co_spawn(t->strand, flush(t), net::detached);
    }
  }

  // On the strand: writes what is pending, batch by batch, publishing each once stored.
  awaitable<void> flush(std::shared_ptr<Turn> t) {
    auto self = shared_from_this();
    while (!t->pending.empty() && !t->closed) {
      std::vector<bj::object> batch(std::make_move_iterator(t->pending.begin()),
                                    std::make_move_iterator(t->pending.end()));
      t->pending.clear();
      std::string text = answer_text(batch);
      t->text_in_flight = text;
      auto stored = co_await store->append_events(t->session_id, t->turn_id,
                                                  t->assistant_message_id, std::move(batch), text);
      t->text_in_flight.clear();
      if (!stored) {
        if (t->closed) break;  // ended meanwhile (shutdown): expected
        log_store_failure(*t, "its events", stored.error());
        // Nothing unstored is ever shown: end the turn with the store's error (unless it has
        // ended already and only waits for this write).
        if (!t->result) {
          t->terminal = error_event("store_failed",
                                    "the answer could not be saved: " + stored.error().message());
          t->cancel->cancel();
        }
        break;
      }
      t->text_so_far += text;
      std::vector<FeedItem> items;
      items.reserve(stored->size());
      for (const auto& r : *stored) {
        if (options.on_event) options.on_event(r.event);
        items.push_back(to_feed_item(r));
      }
      t->publish(items, false);
    }
    t->writing = false;
    if (t->finish_after_writing) {
      t->finish_after_writing = false;
      net::co_spawn(t->strand, finish(t), net::detached);
    }
  }

  // On the strand: the runner returned (or the manager gave up waiting for it). The end is
  // stored once the batch being written (if any) is stored: a store may run calls on several
  // connections (PostgreSQL), so only this order keeps the terminal event after the turn's other
  // events, in seq and in what readers see. Events still pending go with the end, in one call.
  void on_result(const std::shared_ptr<Turn>& t, agents::TurnResult r) {
    if (t->closed || t->result) return;
    t->result = std::move(r);
    if (t->grace) t->grace->cancel();
    if (t->writing) {
      t->finish_after_writing = true;
    } else {
      net::co_spawn(t->strand, finish(t), net::detached);
    }
  }

  // Ends the turn without the runner, with `terminal` as its last event.
  void force_end(const std::shared_ptr<Turn>& t, bj::object terminal_event) {
    if (t->closed || t->result) return;
    t->terminal = std::move(terminal_event);
    agents::TurnResult r;
    r.ok = false;
    on_result(t, std::move(r));
  }

  // On the strand: stores the end of the turn and publishes its terminal event.
  awaitable<void> finish(std::shared_ptr<Turn> t) {
    if (t->closed) co_return;
    t->closed = true;
    auto self = shared_from_this();
    agents::TurnResult& r = *t->result;
    if (!t->terminal) {
      t->terminal =
          r.ok ? bj::object{{"type", "final"}, {"text", r.final_text}}
               : error_event(r.error ? to_string(r.error->code()) : "internal",
                             r.error ? r.error->message() : "the turn ended without an answer");
    }
    TurnEnd end;
    end.session_id = t->session_id;
    end.turn_id = t->turn_id;
    end.assistant_message_id = t->assistant_message_id;
    end.status = status_of(*t->terminal);
    if (end.status == "complete") {
      end.text = r.final_text.empty() ? string_field(*t->terminal, "text") : r.final_text;
      end.structured = r.structured;
    } else {
      end.text = t->text_so_far + t->text_in_flight + answer_text(t->pending);
    }
    std::string shown = end.text.empty() ? string_field(*t->terminal, "message") : end.text;
    end.preview = shorten(shown, kPreviewChars);
    if (!r.new_messages.empty()) {
      end.new_messages = llm::to_json(r.new_messages);
    } else {
      // Keep the history a valid alternation for the next turn's model call.
      end.new_messages.push_back(llm::to_json(llm::Message::user_text(t->question)));
      end.new_messages.push_back(llm::to_json(llm::Message::assistant_text(
          "(no answer: " + (shown.empty() ? end.status : shown) + ")")));
    }
    // Events not yet handed to the store are stored with the end, in the same store call.
    end.events.assign(std::make_move_iterator(t->pending.begin()),
                      std::make_move_iterator(t->pending.end()));
    t->pending.clear();
    end.terminal_event = *t->terminal;
    TurnEnd later = end;  // for storing the end once the store takes writes again
    auto stored = co_await store->finish_turn(std::move(end));
    remove(t);  // before the terminal event is seen: the session takes a new turn at once
    if (!stored) {
      log_store_failure(*t, "its end", stored.error());
      if (stored.error().code() == ErrorCode::kNotFound) {
        t->publish({}, true);
      } else {
        // The store refuses writes (a full or read-only disk). The reader is told why the answer
        // stops here, in an event that is not stored (no seq), and the end -- with that event --
        // is stored as soon as the store takes writes again: until then the session's turn
        // stays running there, after that the session takes new questions, no restart needed.
        bj::object shown = error_event(
            "store_failed", "the answer could not be saved: " + stored.error().message());
        later.status = status_of(shown);
        later.terminal_event = shown;
        t->publish({FeedItem{0, std::make_shared<const std::string>(bj::serialize(shown)), true}},
                   true);
        net::co_spawn(t->strand, store_end_later(t, std::move(later)), net::detached);
      }
    } else {
      std::vector<FeedItem> items;
      items.reserve(stored->events.size() + 1);
      for (const auto& r : stored->events) {
        if (options.on_event) options.on_event(r.event);
        items.push_back(to_feed_item(r));
      }
      if (options.on_event) options.on_event(stored->terminal.event);
      items.push_back(to_feed_item(stored->terminal));
      t->publish(items, true);
    }
    if (options.on_turn)
      options.on_turn(std::chrono::steady_clock::now() - t->started, status_of(*t->terminal));
  }

  // On the strand: retries storing a turn's end, backing off up to 5 s, until the store takes it,
  // the session is gone, or the manager stops (a restart then marks the turn interrupted).
  awaitable<void> store_end_later(std::shared_ptr<Turn> t, TurnEnd end) {
    auto self = shared_from_this();
    net::steady_timer timer(t->strand);
    std::chrono::milliseconds wait{100};
    for (;;) {
      timer.expires_after(wait);
      co_await timer.async_wait(net::as_tuple(net::use_awaitable));
      {
        std::lock_guard lock(mu);
        if (stopping) co_return;
      }
      TurnEnd attempt = end;
      auto stored = co_await store->finish_turn(std::move(attempt));
      if (stored) {
        log::info("turn {}: its end was stored once the store took writes again", t->turn_id);
        co_return;
      }
      if (stored.error().code() == ErrorCode::kNotFound) co_return;  // the session was deleted
      wait = std::min(wait * 2, std::chrono::milliseconds(5'000));
    }
  }

  // Starts the runner of a begun turn.
  void launch(const std::shared_ptr<Turn>& t, const TurnBegun& begun) {
    agents::TurnRequest req;
    req.question = t->question;
    req.agent_ids = begun.agent_ids;
    req.turn_id = t->turn_id;
    if (!begun.history.empty()) {
      auto history = llm::messages_from_json(bj::value(begun.history));
      if (history) {
        req.history = std::move(*history);
      } else {
        log::warn("session {}: its stored history cannot be read ({}); this turn starts without it",
                  t->session_id, history.error().message());
      }
    }
    net::co_spawn(executor, run(t, std::move(req)), net::detached);
  }

  awaitable<void> run(std::shared_ptr<Turn> t, agents::TurnRequest request) {
    auto self = shared_from_this();
    std::weak_ptr<State> weak = self;
    agents::EventSink sink = [weak, t](agents::Event e) {
      auto s = weak.lock();
      if (!s) return;
      net::post(t->strand, [s, t, e = std::move(e)]() mutable { s->on_event(t, std::move(e)); });
    };
    agents::TurnResult result;
    try {
      result = co_await fn(std::move(request), std::move(sink), t->cancel);
    } catch (const std::exception& e) {
      log::error("turn {}: the turn function failed: {}", t->turn_id, e.what());
      result = agents::TurnResult{};
      result.error = Error(ErrorCode::kInternal, std::string("the turn failed: ") + e.what());
    }
    net::post(t->strand, [self, t, result = std::move(result)]() mutable {
      self->on_result(t, std::move(result));
    });
  }
};

TurnManager::TurnManager(net::any_io_executor executor, std::shared_ptr<Store> store,
                         TurnFunction turn, TurnManagerOptions options)
    : state_(std::make_shared<State>()) {
  state_->executor = executor;
  state_->store = std::move(store);
  state_->fn = std::move(turn);
  state_->options = std::move(options);
}

TurnManager::~TurnManager() = default;

awaitable<Result<StartedTurn>> TurnManager::start(NewTurn request) {
  auto s = state_;
  auto t = std::make_shared<Turn>(s->executor);
  t->session_id = request.session_id;
  t->owner = request.owner;
  t->turn_id = "turn_" + random_token(12);
  t->user_message_id = "msg_" + random_token(12);
  t->assistant_message_id = "msg_" + random_token(12);
  t->question = request.text;
  {
    // Reserve the session first, so follow() finds the turn from its very start.
    std::lock_guard lock(s->mu);
    if (s->stopping) co_return make_error(ErrorCode::kUnavailable, "the service is stopping");
    if (s->turns.contains(t->session_id)) co_return StartedTurn{.busy = true};
    s->turns.emplace(t->session_id, t);
  }
  TurnStart ts{.session_id = t->session_id,
               .owner = t->owner,
               .turn_id = t->turn_id,
               .user_message_id = t->user_message_id,
               .assistant_message_id = t->assistant_message_id,
               .text = request.text,
               .agent_ids = request.agent_ids,
               .title = shorten(request.text, kTitleChars),
               .preview = shorten(request.text, kPreviewChars)};
  // The agent starts as soon as the start is written, while it is being committed: its model
  // call acknowledges nothing, its events are stored after the start (the store keeps the
  // order), and this call answers only once the start is durable.
  auto launched = std::make_shared<std::atomic<bool>>(false);
  ts.on_written = [s, t, launched](const TurnBegun& b) {
    if (b.busy) return;
    launched->store(true);
    net::post(s->executor, [s, t, b] { s->launch(t, b); });
  };
  auto begun = co_await s->store->begin_turn(std::move(ts));
  if (!begun || begun->busy) {
    if (launched->load()) t->cancel->cancel();  // the start was not committed after all
    s->remove(t);
    t->publish({}, true);  // a reader that found the reservation sees an empty, ended feed
    if (!begun) co_return std::unexpected(begun.error());
    co_return StartedTurn{.busy = true};
  }
  StartedTurn out{.turn_id = t->turn_id, .feed = t->subscribe(0, s->options.max_reader_backlog)};
  if (!launched->load()) s->launch(t, *begun);
  co_return out;
}

std::shared_ptr<EventFeed> TurnManager::follow(const std::string& session_id,
                                               const std::string& turn_id, std::int64_t after) {
  std::shared_ptr<Turn> t;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->turns.find(session_id);
    if (it == state_->turns.end()) return nullptr;
    t = it->second;
  }
  if (!turn_id.empty() && turn_id != t->turn_id) return nullptr;
  return t->subscribe(after, state_->options.max_reader_backlog);
}

bool TurnManager::cancel(const std::string& session_id) {
  std::shared_ptr<Turn> t;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->turns.find(session_id);
    if (it == state_->turns.end()) return false;
    t = it->second;
  }
  t->cancel->cancel();
  auto s = state_;
  net::post(t->strand, [s, t] {
    if (t->closed || t->result || t->grace) return;
    t->grace = std::make_unique<net::steady_timer>(t->strand, s->options.cancel_grace);
    t->grace->async_wait([s, t](boost::system::error_code ec) {
      if (ec) return;
      log::warn("turn {}: the agent did not stop within {} ms of the cancel; ending the turn",
                t->turn_id, s->options.cancel_grace.count());
      s->force_end(t, error_event("cancelled", "the turn was cancelled"));
    });
  });
  return true;
}

awaitable<void> TurnManager::interrupt_all(std::string message,
                                           std::chrono::milliseconds deadline) {
  auto s = state_;
  std::vector<std::shared_ptr<Turn>> all;
  {
    std::lock_guard lock(s->mu);
    s->stopping = true;
    for (auto& [id, t] : s->turns) all.push_back(t);
  }
  for (auto& t : all) {
    net::post(t->strand, [s, t, message] { s->force_end(t, error_event("interrupted", message)); });
    t->cancel->cancel();
  }
  // The ends are stored (one store call each) once no turn is left.
  // A named local: GCC 12 destroys a temporary argument of a coroutine twice.
  std::function<bool()> idle = [s] {
    std::lock_guard lock(s->mu);
    return s->turns.empty();
  };
  co_await poll_until(std::move(idle), deadline);
}

std::size_t TurnManager::running() const {
  std::lock_guard lock(state_->mu);
  return state_->turns.size();
}

}  // namespace idp::service

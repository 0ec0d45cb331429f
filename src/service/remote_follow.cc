#include "remote_follow.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>

#include "idp/core/log.h"
#include "turn_manager.h"

namespace idp::service {

namespace net = boost::asio;

namespace {

struct Follow {
  std::shared_ptr<Store> store;
  std::string owner, session_id, turn_id;
  std::int64_t after = 0;
  std::chrono::milliseconds poll{1'000};
  std::shared_ptr<EventFeed> feed;
};

net::awaitable<void> pump(Follow f) {
  // Watching first, then reading: an event stored after the read wakes the wait below.
  auto watch = f.store->watch_events(f.session_id);
  while (!f.feed->closed()) {
    auto stored = co_await f.store->turn_events(f.owner, f.session_id, f.turn_id, f.after);
    if (!stored) {
      // The session was deleted meanwhile (kNotFound), or the store is down: the reader's
      // stream ends and it reconnects (Last-Event-ID) to find out.
      if (stored.error().code() != ErrorCode::kNotFound)
        log::warn("following turn {}: {}", f.turn_id, stored.error().message());
      f.feed->end();
      co_return;
    }
    bool terminal = false;
    for (const auto& e : stored->events) {
      auto item = to_feed_item(e);
      f.after = item.seq;
      terminal = terminal || item.terminal;
      f.feed->push(std::move(item));
    }
    if (terminal || stored->status != "running") {
      f.feed->end();
      co_return;
    }
    co_await watch->wait(f.poll);
  }
}

}  // namespace

std::shared_ptr<EventFeed> follow_stored_turn(net::any_io_executor executor,
                                              std::shared_ptr<Store> store, std::string owner,
                                              std::string session_id, std::string turn_id,
                                              std::int64_t after, std::chrono::milliseconds poll,
                                              std::size_t max_backlog) {
  auto feed = std::make_shared<EventFeed>(max_backlog);
  Follow f{std::move(store),
           std::move(owner),
           std::move(session_id),
           std::move(turn_id),
           after,
           poll,
           feed};
  net::co_spawn(net::make_strand(executor), pump(std::move(f)), net::detached);
  return feed;
}

}  // namespace idp::service

// Following a turn that this process does not run (with a shared store: another replica runs it,
// or ran it until it was killed): an EventFeed of the turn's stored events after `after`, then
// of each new one as the store says events of the session were stored (Store::watch_events;
// PostgreSQL's NOTIFY), in seq order and without duplicates, until the turn's terminal event
// (`final`, or the `error` a lease keeper writes when the running replica stopped). The store is
// the truth: a missed wake-up costs at most `poll` before the next look.
//
// Thread-safety: the feed is read as any EventFeed; the pump runs on its own strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "event_feed.h"
#include "store.h"

namespace idp::service {

std::shared_ptr<EventFeed> follow_stored_turn(
    boost::asio::any_io_executor executor, std::shared_ptr<Store> store, std::string owner,
    std::string session_id, std::string turn_id, std::int64_t after,
    std::chrono::milliseconds poll = std::chrono::seconds(1), std::size_t max_backlog = 10'000);

}  // namespace idp::service

// EventFeed hands the events of one turn to one reader (an SSE response): the turn side push()es
// events as they are stored, the reader co_awaits next(). A feed made from stored events
// (replay) is complete from the start. A reader that falls more than `max_backlog` events
// behind is cut off (ended, overflowed()); it can resume with Last-Event-ID.
//
// Thread-safety: push(), end() and close() may be called from any thread. next() must be
// called by one reader at a time, from a strand (or a single-threaded executor): the wake-up it
// waits for is posted to the executor it was called from.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace idp::service {

// One stored event, serialized once for every reader.
struct FeedItem {
  std::int64_t seq = 0;
  std::shared_ptr<const std::string> json;
  bool terminal = false;  // final or error: the last event of its turn
};

class EventFeed {
 public:
  explicit EventFeed(std::size_t max_backlog = 10'000);
  // A feed of `items` that ends after them.
  static std::shared_ptr<EventFeed> replay(std::vector<FeedItem> items);

  // Adds an event; a terminal event ends the feed.
  void push(FeedItem item);
  // Ends the feed after the events already pushed.
  void end();
  // The reader is gone: pushes are dropped from now on.
  void close();

  // The events queued now; when there are none, waits up to `wait` for some. An empty result
  // with ended() true means the feed is over.
  boost::asio::awaitable<std::vector<FeedItem>> next(std::chrono::milliseconds wait);
  bool ended() const;
  bool closed() const;
  bool overflowed() const;

 private:
  void wake_locked();
  std::vector<FeedItem> take_locked();

  const std::size_t max_backlog_;
  mutable std::mutex mu_;
  std::deque<FeedItem> queue_;
  bool ended_ = false;
  bool closed_ = false;
  bool overflowed_ = false;
  bool waiting_ = false;
  std::shared_ptr<boost::asio::steady_timer> timer_;  // on the reader's executor
};

}  // namespace idp::service

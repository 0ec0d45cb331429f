#include "event_feed.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace idp::service {

namespace net = boost::asio;

EventFeed::EventFeed(std::size_t max_backlog) : max_backlog_(max_backlog) {}

std::shared_ptr<EventFeed> EventFeed::replay(std::vector<FeedItem> items) {
  auto feed = std::make_shared<EventFeed>(items.size() + 1);
  for (auto& i : items) feed->push(std::move(i));
  feed->end();
  return feed;
}

void EventFeed::push(FeedItem item) {
  std::lock_guard lock(mu_);
  if (ended_ || closed_) return;
  if (queue_.size() >= max_backlog_) {
    overflowed_ = true;
    ended_ = true;
  } else {
    if (item.terminal) ended_ = true;
    queue_.push_back(std::move(item));
  }
  wake_locked();
}

void EventFeed::end() {
  std::lock_guard lock(mu_);
  ended_ = true;
  wake_locked();
}

void EventFeed::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  ended_ = true;
  queue_.clear();
  wake_locked();
}

bool EventFeed::ended() const {
  std::lock_guard lock(mu_);
  return ended_;
}

bool EventFeed::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

bool EventFeed::overflowed() const {
  std::lock_guard lock(mu_);
  return overflowed_;
}

void EventFeed::wake_locked() {
  // The reader cancels nothing itself between checking the queue and waiting: it runs on a
  // strand, so this cancel runs only once its wait is armed (or finds no wait and is harmless).
  if (waiting_ && timer_) {
    net::post(timer_->get_executor(), [t = timer_] { t->cancel(); });
  }
}

std::vector<FeedItem> EventFeed::take_locked() {
  std::vector<FeedItem> out(std::make_move_iterator(queue_.begin()),
                            std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

net::awaitable<std::vector<FeedItem>> EventFeed::next(std::chrono::milliseconds wait) {
  std::shared_ptr<net::steady_timer> timer;
  {
    std::lock_guard lock(mu_);
    if (!queue_.empty() || ended_) co_return take_locked();
    if (!timer_) timer_ = std::make_shared<net::steady_timer>(co_await net::this_coro::executor);
    timer = timer_;
    waiting_ = true;
  }
  timer->expires_after(wait);
  co_await timer->async_wait(net::as_tuple(net::use_awaitable));
  std::lock_guard lock(mu_);
  waiting_ = false;
  co_return take_locked();
}

}  // namespace idp::service

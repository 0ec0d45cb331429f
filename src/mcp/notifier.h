// Private: a wake-up signal for one waiting coroutine, raised from any thread. The waiter and
// the timer live on one strand (the waiter's executor); notify() posts the wake-up there, so a
// wake-up that races with the start of a wait is never lost. Spurious wake-ups are possible:
// waiters re-check their condition.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <memory>

namespace idp::mcp {

class Notifier : public std::enable_shared_from_this<Notifier> {
 public:
  explicit Notifier(boost::asio::any_io_executor ex) : timer_(std::move(ex)) {}

  // Returns true when woken, false when `timeout` passed first.
  boost::asio::awaitable<bool> wait(std::chrono::steady_clock::duration timeout) {
    if (flag_.exchange(false)) co_return true;
    timer_.expires_after(timeout);
    auto [ec] = co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    flag_.store(false);
    co_return static_cast<bool>(ec);  // operation_aborted: woken
  }

  boost::asio::any_io_executor executor() { return timer_.get_executor(); }

  void notify() {
    flag_.store(true);
    boost::asio::post(timer_.get_executor(),
                      [self = shared_from_this()] { self->timer_.cancel(); });
  }

 private:
  boost::asio::steady_timer timer_;
  std::atomic<bool> flag_{false};
};

}  // namespace idp::mcp

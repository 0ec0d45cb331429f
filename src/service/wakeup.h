// Wakeup: one waiter sleeps until someone notify()s it or a time has passed. A notify() that
// comes while nobody waits is kept for the next wait, so none is lost between a reader's look
// at the store and its wait. What a follower of another replica's turn waits on (store.h).
//
// Thread-safety: notify() from any thread; wait() by one waiter at a time, from a strand or a
// single-threaded executor (the wake-up is posted to the executor it was called from).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <mutex>

namespace idp::service {

class Wakeup {
 public:
  void notify();
  // True when notified (now or earlier), false when `max_wait` passed first.
  boost::asio::awaitable<bool> wait(std::chrono::milliseconds max_wait);

 private:
  std::mutex mu_;
  bool notified_ = false;
  bool waiting_ = false;
  std::shared_ptr<boost::asio::steady_timer> timer_;  // on the waiter's executor
};

}  // namespace idp::service

// Private: coroutines that wait for one result someone else is producing (a token fetch, a JWKS
// fetch). The producer's lock guards park() and take(), so a waiter parks before the producer
// can finish; wake() may then run before or after the waiter suspends in wait(), from any
// thread: each Waiter remembers that it was woken, so no wake-up is lost, and the waiting
// coroutine resumes on its own executor. Waiters itself is not thread-safe (the caller's lock
// guards it); Waiter is.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace idp::auth::detail {

class Waiters {
 public:
  struct Waiter {
    std::mutex mu;
    bool woken = false;
    std::move_only_function<void()> resume;  // set while the coroutine is suspended
  };

  std::shared_ptr<Waiter> park() {
    parked_.push_back(std::make_shared<Waiter>());
    return parked_.back();
  }

  std::size_t size() const { return parked_.size(); }

  // Takes the parked waiters; wake() them after releasing the lock.
  std::vector<std::shared_ptr<Waiter>> take() { return std::exchange(parked_, {}); }

  static void wake(const std::vector<std::shared_ptr<Waiter>>& waiters) {
    for (const auto& w : waiters) {
      std::move_only_function<void()> resume;
      {
        std::lock_guard lock(w->mu);
        w->woken = true;
        resume = std::move(w->resume);
      }
      if (resume) resume();
    }
  }

  // Completes once `w` is woken (at once if it already was).
  static boost::asio::awaitable<void> wait(std::shared_ptr<Waiter> w) {
    namespace net = boost::asio;
    auto initiate = [w](auto handler) {
      auto executor = net::get_associated_executor(handler);
      std::unique_lock lock(w->mu);
      if (w->woken) {
        lock.unlock();
        net::post(executor, std::move(handler));
        return;
      }
      w->resume = [executor, h = std::move(handler)]() mutable {
        net::post(executor, std::move(h));
      };
    };
    co_await net::async_initiate<const net::use_awaitable_t<>&, void()>(std::move(initiate),
                                                                        net::use_awaitable);
  }

 private:
  std::vector<std::shared_ptr<Waiter>> parked_;
};

}  // namespace idp::auth::detail

// Private: a single flight for renewals. Many concurrent requests can fail for one reason at
// once (the server forgot the session: HTTP 404; it rejected the token: HTTP 401), and one
// renewal must serve them all: the first caller runs it, callers that arrive while it runs wait
// and share its result, and a caller whose failure predates a renewal that has completed since
// (its `stale()` says so) just retries. Callers are coroutines on any executors and threads;
// waiters are woken on their own executors.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "idp/core/error.h"
#include "notifier.h"

namespace idp::mcp {

class SingleFlight {
 public:
  using Renew = std::function<boost::asio::awaitable<Result<void>>()>;
  using Stale = std::function<bool()>;

  // Runs `renew` unless `stale()` (asked under the flight's lock) says a renewal already
  // happened since the caller's failure; joins the renewal in progress if there is one.
  boost::asio::awaitable<Result<void>> run(Stale stale, Renew renew) {
    auto ex = co_await boost::asio::this_coro::executor;
    std::shared_ptr<Notifier> waiter;
    std::uint64_t joined = 0;
    {
      std::lock_guard lock(mu_);
      if (running_) {
        waiter = std::make_shared<Notifier>(Strand(ex));
        waiters_.push_back(waiter);
        joined = completed_;
      } else if (stale()) {
        co_return Result<void>{};
      } else {
        running_ = true;
      }
    }
    if (waiter) {
      Result<void> shared = co_await wait_for(waiter, joined);
      co_return shared;
    }
    Result<void> result = co_await renew();
    std::vector<std::shared_ptr<Notifier>> woken;
    {
      std::lock_guard lock(mu_);
      running_ = false;
      last_ = result;
      ++completed_;
      woken.swap(waiters_);
    }
    for (auto& w : woken) w->notify();
    co_return result;
  }

  // Returns at once when no renewal runs; otherwise when it has finished (new work should not
  // start with what is being replaced).
  boost::asio::awaitable<void> wait_idle() {
    auto ex = co_await boost::asio::this_coro::executor;
    std::shared_ptr<Notifier> waiter;
    std::uint64_t joined = 0;
    {
      std::lock_guard lock(mu_);
      if (!running_) co_return;
      waiter = std::make_shared<Notifier>(Strand(ex));
      waiters_.push_back(waiter);
      joined = completed_;
    }
    (void)co_await wait_for(waiter, joined);
  }

  bool running() const {
    std::lock_guard lock(mu_);
    return running_;
  }

 private:
  using Strand = boost::asio::strand<boost::asio::any_io_executor>;

  // Waits until the renewal the waiter joined (the `joined`-th completion was the last before
  // it) has finished; its result (or a later one's). The check and the wait run on the waiter's
  // strand, where notify() posts its wake-up: on an executor of several threads (not a strand)
  // the wake-up could otherwise run between the check and the wait's start and be lost.
  boost::asio::awaitable<Result<void>> wait_for(std::shared_ptr<Notifier> waiter,
                                                std::uint64_t joined) {
    auto strand = waiter->executor();
    auto on_strand = check_and_wait(waiter, joined);  // a named local (GCC 12 rule)
    Result<void> r =
        co_await boost::asio::co_spawn(strand, std::move(on_strand), boost::asio::use_awaitable);
    co_return r;
  }

  boost::asio::awaitable<Result<void>> check_and_wait(std::shared_ptr<Notifier> waiter,
                                                      std::uint64_t joined) {
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (completed_ != joined) {
          if (last_) co_return *last_;
          co_return make_error(ErrorCode::kInternal, "a renewal ended without a result");
        }
      }
      co_await waiter->wait(std::chrono::hours(1));
    }
  }

  mutable std::mutex mu_;
  bool running_ = false;
  std::uint64_t completed_ = 0;
  std::optional<Result<void>> last_;
  std::vector<std::shared_ptr<Notifier>> waiters_;
};

}  // namespace idp::mcp

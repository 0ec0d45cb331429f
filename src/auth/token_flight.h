// Private: a cached bearer token with single-flight renewal. Callers get the cached token while
// it is fresh (more than `margin` before expiry); otherwise one of them runs `fetch` and every
// concurrent caller waits for that one result. Safe to use from coroutines on any executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <algorithm>
#include <vector>

#include "idp/core/clock.h"
#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "waiters.h"

namespace idp::auth::detail {

struct FetchedToken {
  Secret token;
  std::chrono::system_clock::time_point expires;
};

class TokenFlight {
 public:
  using Fetch = std::function<boost::asio::awaitable<Result<FetchedToken>>()>;

  // `invalidate`: the server rejected the cached token (HTTP 401): fetch a new one. `clock`
  // must outlive the call.
  boost::asio::awaitable<Result<Secret>> get(bool invalidate, std::chrono::seconds margin,
                                             Fetch fetch, const TimeSource& clock) {
    std::shared_ptr<Waiters::Waiter> wait;
    {
      std::lock_guard lock(mu_);
      auto now = clock.now();
      if (invalidate && cached_) fresh_until_ = now;
      if (cached_ && now < fresh_until_) co_return cached_->token;
      if (in_flight_) {
        wait = waiters_.park();
      } else {
        in_flight_ = true;
      }
    }
    if (wait) {
      co_await Waiters::wait(wait);
      std::lock_guard lock(mu_);
      if (last_) co_return *last_;
      co_return make_error(ErrorCode::kInternal, "the token fetch ended without a result");
    }
    auto fetched = co_await fetch();
    std::vector<std::shared_ptr<Waiters::Waiter>> waiters;
    Result<Secret> result = make_error(ErrorCode::kInternal, "unset");
    {
      std::lock_guard lock(mu_);
      in_flight_ = false;
      if (fetched) {
        cached_ = *fetched;
        // Proactive refresh `margin` before expiry, but never in the first half of a short
        // token's life (a 5 s token with a 2 min margin would otherwise be fetched every call).
        auto now = clock.now();
        auto life = std::chrono::duration_cast<std::chrono::seconds>(fetched->expires - now);
        fresh_until_ = fetched->expires - std::min(margin, std::max(life / 2, std::chrono::seconds(0)));
        result = fetched->token;
      } else {
        result = std::unexpected(fetched.error());
      }
      last_ = result;
      waiters = waiters_.take();
    }
    Waiters::wake(waiters);
    co_return result;
  }

 private:
  std::mutex mu_;
  std::optional<FetchedToken> cached_;
  std::chrono::system_clock::time_point fresh_until_;  // cached_ is served until then
  bool in_flight_ = false;
  Waiters waiters_;
  std::optional<Result<Secret>> last_;
};

}  // namespace idp::auth::detail

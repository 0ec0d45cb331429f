// Private: the signing keys of one issuer as BearerAuth holds them, with the fetch rules in one
// place (all times from the injected TimeSource):
//
//   - keys younger than `ttl` are used as they are;
//   - older keys are still used while a refresh runs in the background (no request waits for
//     it), and while refreshes fail, up to `max_age`; older than that they are dropped;
//   - without usable keys a request waits for a fetch;
//   - one fetch at a time: every request that needs keys while a fetch runs waits for that one
//     (single flight), and the fetch runs on its own, so a caller that goes away does not end it;
//   - a failed fetch is remembered: no new fetch starts before a back-off has passed (from
//     `retry_initial`, doubling up to `retry_max`), and meanwhile a request without usable keys
//     fails at once, naming the failure, instead of waiting for a fetch of its own;
//   - a token with an unknown `kid` causes a refetch at most once per `refetch_interval`.
//
// Thread-safe; coroutines on any executor may call it at once. Lives in a shared_ptr: the
// background fetch keeps it alive.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "idp/auth/jwk.h"
#include "idp/core/clock.h"
#include "idp/http/client.h"
#include "waiters.h"

namespace idp::auth::detail {

struct JwksCacheOptions {
  std::string url;
  std::chrono::seconds ttl{600};
  std::chrono::seconds max_age{3600};
  std::chrono::seconds refetch_interval{30};
  std::chrono::milliseconds retry_initial{1000};
  std::chrono::milliseconds retry_max{30'000};
  std::chrono::milliseconds fetch_timeout{10'000};
  http::ClientOptions http;
  std::shared_ptr<const TimeSource> clock;
};

struct JwksStats {
  std::size_t fetches = 0;  // successful
  std::size_t fetch_failures = 0;
  std::size_t waiting = 0;  // requests waiting for a fetch right now
};

class JwksCache : public std::enable_shared_from_this<JwksCache> {
 public:
  explicit JwksCache(JwksCacheOptions options);

  // Usable keys, or nullptr when there are none (the log says why). May wait for a fetch (see
  // above).
  boost::asio::awaitable<std::shared_ptr<const JwkSet>> keys();

  // A token's kid was not in `seen`: newer keys when a refetch was allowed (or another request
  // got newer keys meanwhile), else nullptr.
  boost::asio::awaitable<std::shared_ptr<const JwkSet>> refetch_for_unknown_kid(
      std::shared_ptr<const JwkSet> seen);

  // Usable keys without fetching (nullptr when none).
  std::shared_ptr<const JwkSet> current() const;
  // Installs keys as a successful fetch would.
  void set(JwkSet keys);
  JwksStats stats() const;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;

  std::shared_ptr<const JwkSet> usable_locked(TimePoint now) const;
  bool may_fetch_locked(TimePoint now) const;
  // Marks a fetch as running unless one runs (mu_ held); true: the caller must launch() it.
  bool begin_fetch_locked();
  void launch(const boost::asio::any_io_executor& executor);
  boost::asio::awaitable<void> fetch(boost::asio::any_io_executor executor);

  const JwksCacheOptions opt_;
  mutable std::mutex mu_;
  std::shared_ptr<const JwkSet> keys_;
  TimePoint fetched_at_{};
  TimePoint last_attempt_{};
  bool attempted_ = false;
  int failures_ = 0;  // consecutive
  TimePoint retry_at_{};
  bool in_flight_ = false;
  Waiters waiters_;
  JwksStats stats_;
};

}  // namespace idp::auth::detail

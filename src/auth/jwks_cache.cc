#include "jwks_cache.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <exception>
#include <utility>

#include "idp/core/log.h"
#include "idp/http/url_policy.h"

namespace idp::auth::detail {

namespace net = boost::asio;
using net::awaitable;

namespace {

// Downloads and parses the JWKS; the error says what failed, for the log.
awaitable<std::expected<JwkSet, std::string>> download(net::any_io_executor executor,
                                                       const JwksCacheOptions& opt) {
  if (auto checked = http::check_url(opt.url, "JWKS URL"); !checked) {
    co_return std::unexpected(checked.error().message());
  }
  // A client per fetch: fetches are minutes apart, and the client then never outlives the
  // executor it was made for.
  http::Client client(executor, opt.http);
  http::ClientRequest req;
  req.url = opt.url;
  req.headers.add("Accept", "application/json");
  req.timeout = opt.fetch_timeout;
  auto r = co_await client.request(std::move(req));
  if (!r) co_return std::unexpected(r.error().message());
  if (r->status != 200) co_return std::unexpected("HTTP " + std::to_string(r->status));
  auto set = JwkSet::parse(r->body);
  if (!set) co_return std::unexpected(set.error().message());
  co_return std::move(*set);
}

}  // namespace

JwksCache::JwksCache(JwksCacheOptions options) : opt_(std::move(options)) {}

std::shared_ptr<const JwkSet> JwksCache::usable_locked(TimePoint now) const {
  if (keys_ && now - fetched_at_ < std::max<std::chrono::seconds>(opt_.ttl, opt_.max_age)) {
    return keys_;
  }
  return nullptr;
}

bool JwksCache::may_fetch_locked(TimePoint now) const {
  return !in_flight_ && (failures_ == 0 || now >= retry_at_);
}

bool JwksCache::begin_fetch_locked() {
  if (in_flight_) return false;
  in_flight_ = true;
  attempted_ = true;
  last_attempt_ = opt_.clock->steady_now();
  return true;
}

void JwksCache::launch(const net::any_io_executor& executor) {
  // Called without mu_: co_spawn may run the fetch on this thread until its first suspension.
  auto self = shared_from_this();
  net::co_spawn(
      executor, [self, executor]() { return self->fetch(executor); }, net::detached);
}

awaitable<void> JwksCache::fetch(net::any_io_executor executor) {
  std::expected<JwkSet, std::string> fetched = std::unexpected(std::string("not fetched"));
  try {
    fetched = co_await download(executor, opt_);
  } catch (const std::exception& e) {
    fetched = std::unexpected(std::string(e.what()));
  }
  std::vector<std::shared_ptr<Waiters::Waiter>> waiters;
  std::chrono::milliseconds backoff{0};
  bool had_keys = false;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = opt_.clock->steady_now();
    in_flight_ = false;
    if (fetched) {
      keys_ = std::make_shared<const JwkSet>(std::move(*fetched));
      fetched_at_ = now;
      failures_ = 0;
      ++stats_.fetches;
    } else {
      ++failures_;
      ++stats_.fetch_failures;
      backoff = opt_.retry_initial;
      for (int i = 1; i < failures_ && backoff < opt_.retry_max; ++i) backoff *= 2;
      backoff = std::min(backoff, opt_.retry_max);
      retry_at_ = now + backoff;
      had_keys = usable_locked(now) != nullptr;
    }
    waiters = waiters_.take();
  }
  Waiters::wake(waiters);
  if (!fetched) {
    log::warn("fetching the JWKS {} failed: {}; {}next try in {} ms", opt_.url, fetched.error(),
              had_keys ? "serving the keys fetched before; " : "", backoff.count());
  }
}

awaitable<std::shared_ptr<const JwkSet>> JwksCache::keys() {
  auto executor = co_await net::this_coro::executor;
  std::shared_ptr<Waiters::Waiter> waiter;
  bool launch_fetch = false;
  std::shared_ptr<const JwkSet> usable;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = opt_.clock->steady_now();
    usable = usable_locked(now);
    if (usable) {
      // Past the TTL: refresh in the background; this request does not wait for it.
      if (now - fetched_at_ >= opt_.ttl && may_fetch_locked(now))
        launch_fetch = begin_fetch_locked();
    } else {
      if (!in_flight_ && !may_fetch_locked(now)) co_return nullptr;  // backing off: fail at once
      launch_fetch = begin_fetch_locked();
      waiter = waiters_.park();
    }
  }
  if (launch_fetch) launch(executor);
  if (usable) co_return usable;
  co_await Waiters::wait(waiter);
  std::lock_guard lock(mu_);
  co_return usable_locked(opt_.clock->steady_now());
}

awaitable<std::shared_ptr<const JwkSet>> JwksCache::refetch_for_unknown_kid(
    std::shared_ptr<const JwkSet> seen) {
  auto executor = co_await net::this_coro::executor;
  std::shared_ptr<Waiters::Waiter> waiter;
  bool launch_fetch = false;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = opt_.clock->steady_now();
    if (auto usable = usable_locked(now); usable && usable != seen) co_return usable;
    if (!in_flight_) {
      const bool recent = attempted_ && now - last_attempt_ < opt_.refetch_interval;
      if (recent || !may_fetch_locked(now)) co_return nullptr;
      launch_fetch = begin_fetch_locked();
    }
    waiter = waiters_.park();
  }
  if (launch_fetch) launch(executor);
  co_await Waiters::wait(waiter);
  std::lock_guard lock(mu_);
  auto usable = usable_locked(opt_.clock->steady_now());
  co_return usable != seen ? usable : nullptr;
}

std::shared_ptr<const JwkSet> JwksCache::current() const {
  std::lock_guard lock(mu_);
  return usable_locked(opt_.clock->steady_now());
}

void JwksCache::set(JwkSet keys) {
  std::lock_guard lock(mu_);
  keys_ = std::make_shared<const JwkSet>(std::move(keys));
  fetched_at_ = opt_.clock->steady_now();
  failures_ = 0;
}

JwksStats JwksCache::stats() const {
  std::lock_guard lock(mu_);
  JwksStats out = stats_;
  out.waiting = waiters_.size();
  return out;
}

}  // namespace idp::auth::detail

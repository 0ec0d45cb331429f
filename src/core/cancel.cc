#include "idp/core/cancel.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>
#include <mutex>
#include <vector>

#include "idp/core/cancel_wait.h"

namespace idp {

struct CancelSignal::Subscription::Shared {
  mutable std::mutex mu;
  bool cancelled = false;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, std::function<void()>> callbacks;

  void remove(std::uint64_t id) {
    std::lock_guard lock(mu);
    callbacks.erase(id);
  }
};

CancelSignal::CancelSignal() : state_(std::make_shared<Subscription::Shared>()) {}
CancelSignal::~CancelSignal() = default;

void CancelSignal::cancel() {
  std::map<std::uint64_t, std::function<void()>> callbacks;
  {
    std::lock_guard lock(state_->mu);
    if (state_->cancelled) return;
    state_->cancelled = true;
    callbacks.swap(state_->callbacks);
  }
  for (auto& [id, cb] : callbacks) cb();
}

bool CancelSignal::cancelled() const {
  std::lock_guard lock(state_->mu);
  return state_->cancelled;
}

std::size_t CancelSignal::subscriber_count() const {
  std::lock_guard lock(state_->mu);
  return state_->callbacks.size();
}

CancelSignal::Subscription CancelSignal::subscribe(std::function<void()> callback) {
  Subscription sub;
  {
    std::lock_guard lock(state_->mu);
    if (!state_->cancelled) {
      sub.state_ = state_;
      sub.id_ = state_->next_id++;
      state_->callbacks.emplace(sub.id_, std::move(callback));
      return sub;
    }
  }
  callback();
  return sub;
}

CancelSignal::Subscription::Subscription(Subscription&& other) noexcept
    : state_(std::move(other.state_)), id_(other.id_) {
  other.id_ = 0;
}

CancelSignal::Subscription& CancelSignal::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    state_ = std::move(other.state_);
    id_ = other.id_;
    other.id_ = 0;
  }
  return *this;
}

CancelSignal::Subscription::~Subscription() { reset(); }

void CancelSignal::Subscription::reset() {
  if (auto s = state_.lock(); s && id_ != 0) s->remove(id_);
  state_.reset();
  id_ = 0;
}

namespace net = boost::asio;

net::awaitable<void> wait_cancelled(std::shared_ptr<CancelSignal> signal) {
  auto ex = co_await net::this_coro::executor;
  auto timer = std::make_shared<net::steady_timer>(ex, net::steady_timer::time_point::max());
  CancelSignal::Subscription sub;
  if (signal) {
    std::weak_ptr<net::steady_timer> weak = timer;
    sub = signal->subscribe([weak, ex] {
      net::post(ex, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    });
  }
  for (;;) {
    if (signal && signal->cancelled()) co_return;
    auto [ec] = co_await timer->async_wait(net::as_tuple(net::use_awaitable));
    (void)ec;
    auto cs = co_await net::this_coro::cancellation_state;
    if (cs.cancelled() != net::cancellation_type::none) co_return;
    timer->expires_at(net::steady_timer::time_point::max());
  }
}

}  // namespace idp

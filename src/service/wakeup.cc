#include "wakeup.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace idp::service {

namespace net = boost::asio;

void Wakeup::notify() {
  std::lock_guard lock(mu_);
  notified_ = true;
  // The waiter runs on a strand: this cancel runs once its wait is armed (see EventFeed).
  if (waiting_ && timer_) net::post(timer_->get_executor(), [t = timer_] { t->cancel(); });
}

net::awaitable<bool> Wakeup::wait(std::chrono::milliseconds max_wait) {
  std::shared_ptr<net::steady_timer> timer;
  {
    std::lock_guard lock(mu_);
    if (notified_) {
      notified_ = false;
      co_return true;
    }
    if (!timer_) timer_ = std::make_shared<net::steady_timer>(co_await net::this_coro::executor);
    timer = timer_;
    waiting_ = true;
  }
  timer->expires_after(max_wait);
  co_await timer->async_wait(net::as_tuple(net::use_awaitable));
  std::lock_guard lock(mu_);
  waiting_ = false;
  bool was = notified_;
  notified_ = false;
  co_return was;
}

}  // namespace idp::service

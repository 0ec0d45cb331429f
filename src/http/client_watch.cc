// The HTTP client's step deadlines on one long-lived timer per connection (client_watch.h says
// why): a step writes its deadline; the timer is armed only when none is pending or the one
// pending wakes too late for this step.
#include "client_watch.h"

#include <algorithm>

namespace idp::http::client_detail {

void Watch::arm(boost::asio::ip::tcp::socket& socket, Clock::time_point now,
                Clock::time_point due) {
  std::lock_guard lock(mu_);
  socket_ = &socket;
  since_ = now;
  due_ = due;
  expired_ = false;
  if (wakes_ <= due) return;  // the pending wake-up comes in time: nothing to arm
  sleep_until(std::min(due, now + kTick));
}

void Watch::release() {
  std::lock_guard lock(mu_);
  socket_ = nullptr;
  due_ = Clock::time_point::max();
  // A wake-up scheduled far ahead (after a long step) would keep run() going: dropped. One due
  // within kTick stays, for the next request to use.
  if (wakes_ != Clock::time_point::max() && wakes_ > Clock::now() + kTick) {
    ++generation_;
    wakes_ = Clock::time_point::max();
    timer_.cancel();
  }
}

void Watch::detach() {
  std::lock_guard lock(mu_);
  socket_ = nullptr;
  due_ = Clock::time_point::max();
  if (wakes_ != Clock::time_point::max()) {
    ++generation_;
    wakes_ = Clock::time_point::max();
    timer_.cancel();
  }
}

bool Watch::expired() const {
  std::lock_guard lock(mu_);
  return expired_;
}

void Watch::sleep_until(Clock::time_point at) {
  ++generation_;
  wakes_ = at;
  timer_.expires_at(at);  // cancels the wait pending, if any (its generation is stale now)
  timer_.async_wait([self = shared_from_this(), generation = generation_](
                        const boost::system::error_code& ec) { self->on_wake(generation, ec); });
}

void Watch::on_wake(std::uint64_t generation, const boost::system::error_code& ec) {
  std::lock_guard lock(mu_);
  // A wait that was replaced or dropped, or one whose completion was already queued when it
  // was: the current state is not its business.
  if (generation != generation_) return;
  wakes_ = Clock::time_point::max();
  if (ec) return;
  if (due_ == Clock::time_point::max()) return;  // idle: the timer stops here
  const auto now = Clock::now();
  if (now >= due_) {
    expired_ = true;
    boost::system::error_code ignored;
    if (socket_) socket_->cancel(ignored);  // the step's operation ends with operation_aborted
    return;
  }
  // Still waiting: sleep as long as the step has waited so far (at least kTick), never past its
  // deadline, so that a long wait costs few wake-ups.
  const Clock::duration waited = now - since_;
  sleep_until(std::min(due_, now + std::max<Clock::duration>(kTick, waited)));
}

}  // namespace idp::http::client_detail

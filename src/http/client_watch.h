// Private: the deadline of a connection's exchange steps (the request's write, each read of the
// response), kept without a timer operation per step (client_watch.cc).
//
// Why: a step's deadline almost never passes, yet arming an Asio timer that becomes the
// earliest of its io_context reprograms the reactor's timerfd, one timerfd_settime per request
// (and Beast's tcp_stream arms its timer for every read). Here one timer per connection stays
// armed across steps and requests: a step only writes its deadline, and the timer, when it
// wakes, finds the deadline passed (then it cancels the socket's operations, and the step fails
// with a timeout) or sleeps again, until the deadline at most. It is re-armed ahead of time only
// when a step's deadline comes before its wake-up (a request's total deadline running out).
//
// The cost of that: a pending timer wait is work that keeps io_context::run() from returning.
// So the timer never sleeps past kTick beyond the last step's start while the connection is
// idle: after a request, run() may go on for at most kTick (then the wake-up finds the
// connection idle and stops); closing the connection (close_idle(), the client's destructor)
// stops the timer at once. While a step waits long (a slow tool, an SSE stream), the wake-ups
// space out: each sleeps as long as the step has already waited.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

namespace idp::http::client_detail {

class Watch : public std::enable_shared_from_this<Watch> {
 public:
  using Clock = std::chrono::steady_clock;
  // The longest a wake-up is scheduled ahead while requests come and go: the most run() waits
  // after the last one, and the period of the re-arming syscalls under a steady load.
  static constexpr std::chrono::milliseconds kTick{2};

  explicit Watch(const boost::asio::any_io_executor& ex) : timer_(ex) {}

  // A step on `socket` starts now and must end by `due`.
  void arm(boost::asio::ip::tcp::socket& socket, Clock::time_point now, Clock::time_point due);
  // The exchange is over: the connection goes back to the pool or is closed.
  void release();
  // The connection is gone: the timer stops, and the socket is never touched again.
  void detach();
  // The last armed step's deadline passed (its socket's operations were cancelled).
  bool expired() const;

 private:
  void sleep_until(Clock::time_point at);  // under mu_
  void on_wake(std::uint64_t generation, const boost::system::error_code& ec);

  mutable std::mutex mu_;  // the timer's handler may run on another thread of the executor
  boost::asio::steady_timer timer_;
  boost::asio::ip::tcp::socket* socket_ = nullptr;
  Clock::time_point due_ = Clock::time_point::max();    // max: no step in progress
  Clock::time_point since_;                             // the step's start
  Clock::time_point wakes_ = Clock::time_point::max();  // max: no wait pending
  std::uint64_t generation_ = 0;                        // of the wait pending
  bool expired_ = false;
};

}  // namespace idp::http::client_detail

// Waiting, at shutdown, for work that was told to stop to be done: polls `done` every 10 ms
// until it holds or `deadline` has passed. Only for the one-off waits of a stop, where a
// completion signal per piece of work would cost more than it saves.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <functional>

namespace idp::service {

inline boost::asio::awaitable<void> poll_until(std::function<bool()> done,
                                               std::chrono::milliseconds deadline) {
  namespace net = boost::asio;
  net::steady_timer timer(co_await net::this_coro::executor);
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!done() && std::chrono::steady_clock::now() < until) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
  }
}

}  // namespace idp::service

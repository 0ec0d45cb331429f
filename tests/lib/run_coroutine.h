// Test helper: runs a coroutine to completion on an io_context of its own and returns its
// result (an exception thrown by the coroutine is rethrown to the test).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <functional>
#include <optional>
#include <utility>

namespace idp::test {

template <class T>
T run_coroutine(std::function<boost::asio::awaitable<T>(boost::asio::any_io_executor)> body) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr error;
  boost::asio::co_spawn(ioc, body(ioc.get_executor()), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) out = std::move(v);
  });
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

}  // namespace idp::test

// Handing blocking store work to a worker thread and resuming the caller on its own executor:
// what the SQLite store's database thread (db_worker.h) and the PostgreSQL pool (pg_pool.h)
// share. `enqueue(run, done)` queues the work; the worker calls run(conn), then done(nullopt) once
// it is durable, or done(error) when it failed (run's result is then dropped). run signals an
// expected failure (not found, over a limit) by throwing StoreError.
//
// Thread-safety: the returned awaitable may be awaited from any executor; done() may be called
// from any thread.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "idp/core/error.h"

namespace idp::service {

// An expected failure of a store operation (not found, over a limit): rolls the operation back.
class StoreError : public std::exception {
 public:
  explicit StoreError(Error error) : error_(std::move(error)) {}
  StoreError(ErrorCode code, std::string message) : error_(code, std::move(message)) {}
  const Error& error() const { return error_; }
  const char* what() const noexcept override { return error_.message().c_str(); }

 private:
  Error error_;
};

template <class Conn>
struct WorkerTask {
  std::move_only_function<void(Conn&)> run;
  std::move_only_function<void(const std::optional<Error>&)> done;
};

// `enqueue` is called with a WorkerTask<Conn>.
template <class T, class Conn, class Enqueue>
boost::asio::awaitable<Result<T>> call_on_worker(Enqueue enqueue,
                                                 std::move_only_function<T(Conn&)> fn) {
  namespace net = boost::asio;
  auto initiate = [enqueue = std::move(enqueue)](auto handler,
                                                 std::move_only_function<T(Conn&)> op) mutable {
    auto slot = std::make_shared<std::optional<Result<T>>>();
    auto work = net::make_work_guard(net::get_associated_executor(handler));
    WorkerTask<Conn> task;
    task.run = [op = std::move(op), slot](Conn& conn) mutable {
      if constexpr (std::is_void_v<T>) {
        op(conn);
        slot->emplace();
      } else {
        slot->emplace(op(conn));
      }
    };
    task.done = [handler = std::move(handler), work = std::move(work),
                 slot](const std::optional<Error>& failed) mutable {
      Result<T> result =
          failed || !*slot
              ? Result<T>(std::unexpected(
                    failed ? *failed
                           : Error(ErrorCode::kInternal, "the store operation did not run")))
              : std::move(**slot);
      auto ex = work.get_executor();
      net::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
        std::move(handler)(std::move(result));
      });
      work.reset();
    };
    enqueue(std::move(task));
  };
  return net::async_initiate<const net::use_awaitable_t<>&, void(Result<T>)>(
      std::move(initiate), net::use_awaitable, std::move(fn));
}

}  // namespace idp::service

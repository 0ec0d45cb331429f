// PgPool runs the PostgreSQL store's work on a few threads, each owning one connection, so that
// no blocking libpq call ever runs on an HTTP or agent thread (as DbWorker does for SQLite).
// Callers co_await run(fn) from any executor and are resumed on their own executor once fn's
// transaction has committed (synchronous_commit: durable).
//
// Each operation is one transaction (READ COMMITTED; the store takes row locks where it needs
// them). A serialization failure or a deadlock rolls it back and runs fn again, up to
// `retries` times; StoreError (an expected failure) rolls it back and is the caller's error;
// anything else is kUnavailable naming PostgreSQL's message. A connection found broken is
// reconnected before the next operation. An operation that waited longer than
// `acquire_timeout` for a connection fails with kUnavailable instead of running late, and each
// statement is bounded by `statement_timeout`.
//
// Thread-safety: run() may be called from any thread; the destructor finishes the queued work.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "idp/core/error.h"
#include "pg_conn.h"
#include "worker_call.h"

namespace idp::service {

struct PgPoolOptions {
  std::string conninfo;  // postgresql://...
  int size = 4;          // connections (and threads)
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds acquire_timeout{10'000};
  std::chrono::milliseconds statement_timeout{15'000};
  int retries = 5;
};

class PgPool {
 public:
  // Opens every connection now (errors name the server, never a password).
  static Result<std::unique_ptr<PgPool>> open(PgPoolOptions options);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  template <class T>
  boost::asio::awaitable<Result<T>> run(std::move_only_function<T(PgConn&)> fn);

  // The conninfo with the connect timeout added (for the listener's own connection).
  const std::string& conninfo() const { return conninfo_; }
  std::size_t operations() const;
  std::size_t retried() const;

 private:
  struct Job {
    WorkerTask<PgConn> task;
    std::chrono::steady_clock::time_point queued;
  };
  PgPool(PgPoolOptions options, std::vector<std::unique_ptr<PgConn>> conns, std::string conninfo);
  void enqueue(WorkerTask<PgConn> task);
  void loop(PgConn& conn);
  std::optional<Error> run_one(PgConn& conn, WorkerTask<PgConn>& task);

  PgPoolOptions options_;
  std::string conninfo_;
  std::vector<std::unique_ptr<PgConn>> conns_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::size_t operations_ = 0;
  std::size_t retried_ = 0;
  std::vector<std::thread> threads_;
};

template <class T>
boost::asio::awaitable<Result<T>> PgPool::run(std::move_only_function<T(PgConn&)> fn) {
  auto enqueue = [this](WorkerTask<PgConn> task) { this->enqueue(std::move(task)); };
  return call_on_worker<T, PgConn>(std::move(enqueue), std::move(fn));
}

}  // namespace idp::service

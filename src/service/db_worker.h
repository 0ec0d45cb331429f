// DbWorker runs the SQLite store's work on one thread that owns the connection, so that no
// blocking SQLite call ever runs on an HTTP or agent thread. Callers co_await run(fn) from any
// executor and are resumed on their own executor once fn's change is durable.
//
// Group commit: the thread takes every operation queued while it was busy (up to max_batch) and
// runs them in one transaction, each inside its own savepoint, then, once no more have arrived
// meanwhile (or max_batch is reached), commits once. One fsync then
// covers many operations (the events of many concurrent turns), which is what lets the store run
// with synchronous=FULL and still keep up. An operation that fails (fn throws) is rolled back to
// its savepoint and gets its error; the others of the batch are unaffected. If the commit itself
// fails, every operation of the batch gets that error and nothing of it is acknowledged.
//
// fn signals a failure by throwing StoreError (an idp::Error, e.g. kNotFound) or SqliteError.
// Thread-safety: run() may be called from any thread; the destructor finishes the queued work.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include "idp/core/error.h"
#include "sqlite_db.h"
#include "worker_call.h"

namespace idp::service {

class DbWorker {
 public:
  explicit DbWorker(std::unique_ptr<Db> db, std::size_t max_batch = 512);
  ~DbWorker();
  DbWorker(const DbWorker&) = delete;
  DbWorker& operator=(const DbWorker&) = delete;

  template <class T>
  boost::asio::awaitable<Result<T>> run(std::move_only_function<T(Db&)> fn);

  struct Stats {
    std::size_t batches = 0;
    std::size_t operations = 0;
  };
  Stats stats() const;

 private:
  struct Job {
    std::move_only_function<void(Db&)> run;
    std::move_only_function<void(const std::optional<Error>&)> done;
  };
  void enqueue_task(Job job);
  void loop();
  bool take_locked(std::deque<Job>& batch);  // moves queued jobs into batch; false: none
  bool take_more(std::deque<Job>& batch);
  void run_batch(std::deque<Job>& batch);

  std::unique_ptr<Db> db_;
  std::size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

template <class T>
boost::asio::awaitable<Result<T>> DbWorker::run(std::move_only_function<T(Db&)> fn) {
  auto enqueue = [this](WorkerTask<Db> task) {
    enqueue_task(Job{std::move(task.run), std::move(task.done)});
  };
  return call_on_worker<T, Db>(std::move(enqueue), std::move(fn));
}

}  // namespace idp::service

#include "db_worker.h"

#include <sqlite3.h>

#include "idp/core/log.h"

namespace idp::service {

namespace {

Error from_sqlite(const SqliteError& e) {
  int primary = e.code() & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Error(ErrorCode::kUnavailable,
                 std::string("the store is locked by another process; try again: ") + e.what());
  }
  if (primary == SQLITE_FULL) {
    // The service cannot work (503), not a limit of the caller's (429).
    return Error(ErrorCode::kUnavailable,
                 std::string("the store's disk is full: free some space: ") + e.what());
  }
  if (primary == SQLITE_CONSTRAINT) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string("the store refused the change: ") + e.what());
  }
  return Error(ErrorCode::kUnavailable, std::string("the store failed: ") + e.what());
}

}  // namespace

DbWorker::DbWorker(std::unique_ptr<Db> db, std::size_t max_batch)
    : db_(std::move(db)), max_batch_(max_batch == 0 ? 1 : max_batch) {
  thread_ = std::thread([this] { loop(); });
}

DbWorker::~DbWorker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

DbWorker::Stats DbWorker::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void DbWorker::enqueue_task(Job job) {
  bool refused = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refused = true;
    } else {
      queue_.push_back(std::move(job));
    }
  }
  if (refused) {
    job.done(Error(ErrorCode::kUnavailable, "the store is closing"));
    return;
  }
  cv_.notify_one();
}

void DbWorker::loop() {
  for (;;) {
    std::deque<Job> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      ++stats_.batches;
      take_locked(batch);
    }
    run_batch(batch);
  }
}

bool DbWorker::take_locked(std::deque<Job>& batch) {
  std::size_t before = batch.size();
  while (!queue_.empty() && batch.size() < max_batch_) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  stats_.operations += batch.size() - before;
  return batch.size() > before;
}

bool DbWorker::take_more(std::deque<Job>& batch) {
  std::lock_guard lock(mu_);
  return take_locked(batch);
}

void DbWorker::run_batch(std::deque<Job>& batch) {
  std::vector<std::optional<Error>> outcome(batch.size());
  auto fail_all = [&](const Error& e) {
    for (auto& o : outcome) {
      if (!o) o = e;
    }
  };
  try {
    db_->exec("BEGIN IMMEDIATE");
  } catch (const SqliteError& e) {
    fail_all(from_sqlite(e));
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(outcome[i]);
    return;
  }
  bool transaction_lost = false;
  // Operations that arrive while the batch's statements run join it before its commit (up to
  // max_batch): the end of a turn, queued just after its last events, then shares their fsync
  // instead of waiting for a commit of its own.
  for (std::size_t i = 0; i < batch.size() || (!transaction_lost && take_more(batch)); ++i) {
    if (outcome.size() < batch.size()) outcome.resize(batch.size());
    if (transaction_lost) {
      outcome[i] = Error(ErrorCode::kUnavailable, "the store failed earlier in this transaction");
      continue;
    }
    try {
      Savepoint sp(*db_, "op");
      batch[i].run(*db_);
      sp.release();
    } catch (const StoreError& e) {
      outcome[i] = e.error();
    } catch (const SqliteError& e) {
      outcome[i] = from_sqlite(e);
    } catch (const std::exception& e) {
      outcome[i] = Error(ErrorCode::kInternal, std::string("store operation failed: ") + e.what());
    }
    // Some errors (I/O, full disk) make SQLite roll the whole transaction back by itself.
    if (outcome[i] && sqlite3_get_autocommit(db_->handle())) transaction_lost = true;
  }
  if (transaction_lost) {
    fail_all(Error(ErrorCode::kUnavailable, "the store rolled the transaction back"));
  } else {
    try {
      db_->exec("COMMIT");
    } catch (const SqliteError& e) {
      log::error("store commit failed: {}", e.what());
      try {
        db_->exec("ROLLBACK");
      } catch (const SqliteError&) {
        // Already rolled back by SQLite.
      }
      // Nothing of this batch is durable, successes included.
      for (auto& o : outcome) o = from_sqlite(e);
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(outcome[i]);
}

}  // namespace idp::service

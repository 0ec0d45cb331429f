#include "pg_pool.h"

#include "idp/core/log.h"

namespace idp::service {

namespace {

// The connect timeout as a libpq parameter of a URL or of key=value pairs.
std::string with_connect_timeout(const std::string& conninfo, std::chrono::milliseconds t) {
  auto seconds = std::to_string(std::max<long long>(1, (t.count() + 999) / 1000));
  if (conninfo.find("connect_timeout") != std::string::npos) return conninfo;
  if (conninfo.find("://") == std::string::npos) return conninfo + " connect_timeout=" + seconds;
  return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") +
         "connect_timeout=" + seconds;
}

}  // namespace

Result<std::unique_ptr<PgPool>> PgPool::open(PgPoolOptions options) {
  std::string conninfo = with_connect_timeout(options.conninfo, options.connect_timeout);
  std::vector<std::unique_ptr<PgConn>> conns;
  try {
    for (int i = 0; i < std::max(1, options.size); ++i) {
      auto c = std::make_unique<PgConn>(conninfo);
      c->exec("SET statement_timeout = " + std::to_string(options.statement_timeout.count()));
      conns.push_back(std::move(c));
    }
  } catch (const PgError& e) {
    return make_error(ErrorCode::kUnavailable, e.what());
  }
  return std::unique_ptr<PgPool>(new PgPool(std::move(options), std::move(conns), conninfo));
}

PgPool::PgPool(PgPoolOptions options, std::vector<std::unique_ptr<PgConn>> conns,
               std::string conninfo)
    : options_(std::move(options)), conninfo_(std::move(conninfo)), conns_(std::move(conns)) {
  for (auto& c : conns_) threads_.emplace_back([this, conn = c.get()] { loop(*conn); });
}

PgPool::~PgPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::size_t PgPool::operations() const {
  std::lock_guard lock(mu_);
  return operations_;
}

std::size_t PgPool::retried() const {
  std::lock_guard lock(mu_);
  return retried_;
}

void PgPool::enqueue(WorkerTask<PgConn> task) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(Job{std::move(task), std::chrono::steady_clock::now()});
      cv_.notify_one();
      return;
    }
  }
  task.done(Error(ErrorCode::kUnavailable, "the store is closing"));
}

void PgPool::loop(PgConn& conn) {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and the queue is drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    auto waited = std::chrono::steady_clock::now() - job.queued;
    if (waited > options_.acquire_timeout) {
      job.task.done(Error(ErrorCode::kUnavailable,
                          "the PostgreSQL store is overloaded: no connection was free for " +
                              std::to_string(options_.acquire_timeout.count()) + " ms; try again"));
      continue;
    }
    auto failed = run_one(conn, job.task);
    {
      std::lock_guard lock(mu_);
      ++operations_;
    }
    job.task.done(failed);
  }
}

std::optional<Error> PgPool::run_one(PgConn& conn, WorkerTask<PgConn>& task) {
  for (int attempt = 0;; ++attempt) {
    try {
      if (!conn.healthy()) {
        conn.reset();
        conn.exec("SET statement_timeout = " + std::to_string(options_.statement_timeout.count()));
      }
      conn.exec("BEGIN");
      try {
        task.run(conn);
        conn.exec("COMMIT");
        return std::nullopt;
      } catch (...) {
        if (conn.healthy()) {
          try {
            conn.exec("ROLLBACK");
          } catch (const PgError&) {
            // The connection is reset before the next operation.
          }
        }
        throw;
      }
    } catch (const StoreError& e) {
      return e.error();
    } catch (const PgError& e) {
      if (e.retryable() && attempt < options_.retries) {
        std::lock_guard lock(mu_);
        ++retried_;
        continue;
      }
      if (e.sqlstate() == "23505") {
        return Error(ErrorCode::kInvalidArgument,
                     std::string("the store refused the change: ") + e.what());
      }
      if (e.sqlstate() == "57014") {
        return Error(ErrorCode::kTimeout, std::string("the store took too long: ") + e.what());
      }
      return Error(ErrorCode::kUnavailable, std::string("the store failed: ") + e.what());
    } catch (const std::exception& e) {
      return Error(ErrorCode::kInternal, std::string("the store failed: ") + e.what());
    }
  }
}

}  // namespace idp::service

// SqliteStore: the Store (store.h) on a SQLite file, the default for one `idp-agents serve`.
//
// Durability: WAL journal with synchronous=FULL. Every acknowledged change has been fsynced, so
// neither a crash of the process (kill -9) nor one of the machine loses it. The cost of FULL
// (one fsync per commit) is paid once per group of operations, not per operation: all store
// work runs on one database thread (db_worker.h) that commits whatever queued up meanwhile in
// one transaction. SqliteOptions::sync = kNormal trades the machine-crash guarantee for fewer
// fsyncs (WAL + NORMAL still survives a process crash: a committed transaction is in the WAL
// file, and the OS has it, before the call returns).
//
// The file and its -wal/-shm companions are created with mode 0600: they hold conversations.
// Thread-safety: as Store; open() is synchronous (start-up only).
#pragma once

#include <memory>
#include <string>

#include "store.h"

namespace idp::service {

struct SqliteOptions {
  enum class Sync { kFull, kNormal };
  Sync sync = Sync::kFull;
  int busy_timeout_ms = 5000;  // another process holding the write lock
  // Only apply migrations up to this version (tests of the migrations); -1: the latest.
  int migrate_up_to = -1;
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the store at `path` and brings its schema to the latest version. Errors
  // name the file and what to do.
  static Result<std::shared_ptr<SqliteStore>> open(const std::string& path,
                                                   SqliteOptions options = {});
  ~SqliteStore() override;

  int schema_version() const;
  const std::string& path() const;
  // Operations and commit groups so far (the group commit at work).
  std::size_t batches() const;
  std::size_t operations() const;

  boost::asio::awaitable<Result<void>> ping() override;
  boost::asio::awaitable<Result<void>> create_session(SessionRecord session,
                                                      std::int64_t max_per_owner) override;
  boost::asio::awaitable<Result<std::vector<SessionRecord>>> list_sessions(
      std::string owner) override;
  boost::asio::awaitable<Result<SessionRecord>> get_session(std::string owner,
                                                            std::string session_id) override;
  boost::asio::awaitable<Result<SessionDetail>> session_detail(std::string owner,
                                                               std::string session_id) override;
  boost::asio::awaitable<Result<void>> delete_session(std::string owner,
                                                      std::string session_id) override;
  boost::asio::awaitable<Result<TurnBegun>> begin_turn(TurnStart start) override;
  boost::asio::awaitable<Result<std::vector<EventRecord>>> append_events(
      std::string session_id, std::string turn_id, std::string assistant_message_id,
      std::vector<boost::json::object> events, std::string text_append) override;
  boost::asio::awaitable<Result<TurnEnded>> finish_turn(TurnEnd end) override;
  boost::asio::awaitable<Result<TurnEvents>> turn_events(std::string owner, std::string session_id,
                                                         std::string turn_id,
                                                         std::int64_t after) override;
  boost::asio::awaitable<Result<std::int64_t>> interrupt_running_turns(
      boost::json::object terminal_event) override;
  boost::asio::awaitable<Result<void>> create_job(JobRecord job,
                                                  std::int64_t max_active_per_owner) override;
  boost::asio::awaitable<Result<std::optional<JobRecord>>> claim_job() override;
  boost::asio::awaitable<Result<void>> finish_job(JobEnd end) override;
  boost::asio::awaitable<Result<JobRecord>> get_job(std::string owner, std::string job_id) override;
  boost::asio::awaitable<Result<std::vector<JobRecord>>> list_jobs(std::string owner,
                                                                   std::int64_t limit) override;
  boost::asio::awaitable<Result<void>> delete_job(std::string owner, std::string job_id) override;
  boost::asio::awaitable<Result<std::int64_t>> fail_processing_jobs(std::string error) override;
  boost::asio::awaitable<Result<Swept>> delete_expired(TimePoint cutoff) override;

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace idp::service

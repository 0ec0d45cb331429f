// PgStore: the Store (store.h) on PostgreSQL, for several `idp-agents serve` replicas sharing
// one database (`--store postgresql://...`). Same schema as the SQLite store (schema.h), applied
// by versioned migrations, once, under an advisory lock, whichever replica starts first.
//
// Work runs on a small connection pool (pg_pool.h): each call is one transaction, retried on a
// serialization failure or deadlock; a commit is durable when the call returns. What another
// replica must see goes through the database: events (with NOTIFY idp_events to wake the
// followers, pg_notifier.h), cancel requests (a flag on the session and NOTIFY idp_cancel), job
// claims (FOR UPDATE SKIP LOCKED) and leases: the replica running a turn or a job renews its
// lease through keep_leases(); one whose lease ran out is ended by any other replica (the turn
// interrupted with an error event, the job FAILED). Retention runs on one replica at a time
// (an advisory lock held by the sweep's transaction).
//
// Thread-safety: as Store; open() is synchronous (start-up only).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "store.h"

namespace idp::service {

struct PgStoreOptions {
  std::string url;                          // postgresql://[user[:password]@]host[:port]/db[?...]
  std::string replica_id;                   // this process, in leases (random when empty)
  std::chrono::milliseconds lease{10'000};  // a turn or job of a silent replica is ended after
  int pool_size = 4;
  // Only apply migrations up to this version (tests of the migrations); -1: the latest.
  int migrate_up_to = -1;
};

class PgStore final : public Store {
 public:
  static Result<std::shared_ptr<PgStore>> open(PgStoreOptions options);
  ~PgStore() override;

  int schema_version() const;
  const std::string& replica_id() const;
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

  bool shared() const override { return true; }
  std::shared_ptr<Wakeup> watch_events(const std::string& session_id) override;
  boost::asio::awaitable<Result<bool>> request_cancel(std::string owner,
                                                      std::string session_id) override;
  void on_cancel_requested(std::function<void(const std::string&)> handler) override;
  boost::asio::awaitable<Result<LeaseSweep>> keep_leases(boost::json::object interrupted_event,
                                                         std::string job_error) override;

  struct Impl;

 private:
  explicit PgStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace idp::service

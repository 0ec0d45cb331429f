// The PostgreSQL Store's jobs, retention, leases and cancel requests (see pg_store.cc for the
// chat half). A job is claimed with FOR UPDATE SKIP LOCKED, so replicas claiming at once take
// different jobs and none waits on another; the claim records the replica and its lease.
#include <boost/json/serialize.hpp>

#include "idp/core/json_util.h"
#include "pg_store_impl.h"

namespace idp::service {

namespace bj = boost::json;
using boost::asio::awaitable;
using namespace store_detail;
using namespace pg_detail;

namespace {

const std::string kJobColumns =
    "id, owner, query, agent_ids, status, created_at, updated_at, completed_at, result_text, "
    "structured, error";

JobRecord read_job(const PgResult& r, int row) {
  JobRecord j;
  j.id = r.text(row, 0);
  j.owner = r.text(row, 1);
  j.query = r.text(row, 2);
  j.agent_ids = text_to_strings(r.text(row, 3));
  j.status = r.text(row, 4);
  j.created_at = from_ms(r.int64(row, 5));
  j.updated_at = from_ms(r.int64(row, 6));
  if (!r.is_null(row, 7)) j.completed_at = from_ms(r.int64(row, 7));
  j.result_text = r.text(row, 8);
  j.structured = text_to_object(r.text_or_null(row, 9));
  j.error = r.text(row, 10);
  return j;
}

[[noreturn]] void job_not_found(const std::string& id) {
  throw StoreError(ErrorCode::kNotFound, "job '" + id + "' was not found");
}

}  // namespace

awaitable<Result<void>> PgStore::create_job(JobRecord j, std::int64_t max_active) {
  return impl_->pool->run<void>([j = std::move(j), max_active](PgConn& db) {
    db.query("SELECT pg_advisory_xact_lock(hashtext($1))", {j.owner});
    auto count = db.query(
        "SELECT COUNT(*) FROM jobs WHERE owner = $1 AND status IN ('PENDING', 'PROCESSING')",
        {j.owner});
    std::int64_t n = count.int64(0, 0);
    if (n >= max_active) {
      throw StoreError(ErrorCode::kResourceExhausted,
                       "you have " + std::to_string(n) + " jobs waiting or running; the limit is " +
                           std::to_string(max_active) + " per user: wait for some to finish");
    }
    db.query(
        "INSERT INTO jobs (id, owner, query, agent_ids, status, created_at, updated_at, "
        "completed_at, result_text, structured, error, steps) "
        "VALUES ($1, $2, $3, $4, 'PENDING', $5, $5, NULL, '', NULL, '', '[]')",
        {j.id, j.owner, j.query, strings_to_text(j.agent_ids), to_ms(j.created_at)});
  });
}

awaitable<Result<std::optional<JobRecord>>> PgStore::claim_job() {
  return impl_->pool->run<std::optional<JobRecord>>(
      [replica = impl_->replica_id, lease = impl_->lease](PgConn& db) -> std::optional<JobRecord> {
        const std::int64_t now = now_ms();
        auto r = db.query(
            "UPDATE jobs SET status = 'PROCESSING', updated_at = $1, claimed_by = $2, "
            "lease_until = $3 WHERE id = (SELECT id FROM jobs WHERE status = "
            "'PENDING' ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
            "RETURNING " +
                kJobColumns,
            {now, replica, now + lease.count()});
        if (r.rows() == 0) return std::nullopt;
        return read_job(r, 0);
      });
}

awaitable<Result<void>> PgStore::finish_job(JobEnd e) {
  return impl_->pool->run<void>([e = std::move(e), replica = impl_->replica_id](PgConn& db) {
    bj::array steps;
    for (const auto& s : e.steps) steps.emplace_back(s);
    const std::int64_t now = now_ms();
    // A job deleted while it ran stays deleted, and one ended by another replica (this one's
    // lease ran out) keeps that end: only the claim's own PROCESSING row is updated.
    db.query(
        "UPDATE jobs SET status = $1, result_text = $2, structured = $3, error = $4, steps = $5, "
        "completed_at = $6, updated_at = $6, claimed_by = NULL, lease_until = NULL "
        "WHERE id = $7 AND status = 'PROCESSING' AND claimed_by = $8",
        {e.status, e.result_text, object_to_text(e.structured), e.error, bj::serialize(steps), now,
         e.job_id, replica});
  });
}

awaitable<Result<JobRecord>> PgStore::get_job(std::string owner, std::string id) {
  return impl_->pool->run<JobRecord>([owner = std::move(owner), id = std::move(id)](PgConn& db) {
    auto r = db.query("SELECT " + kJobColumns + ", steps FROM jobs WHERE id = $1 AND owner = $2",
                      {id, owner});
    if (r.rows() == 0) job_not_found(id);
    JobRecord j = read_job(r, 0);
    auto steps = ::idp::json::parse(r.text(0, 11));
    if (steps && steps->is_array()) {
      for (auto& v : steps->get_array()) {
        if (v.is_object()) j.steps.push_back(std::move(v.get_object()));
      }
    }
    return j;
  });
}

awaitable<Result<std::vector<JobRecord>>> PgStore::list_jobs(std::string owner,
                                                             std::int64_t limit) {
  return impl_->pool->run<std::vector<JobRecord>>([owner = std::move(owner), limit](PgConn& db) {
    auto r = db.query("SELECT " + kJobColumns +
                          " FROM jobs WHERE owner = $1 ORDER BY created_at DESC, id LIMIT $2",
                      {owner, limit});
    std::vector<JobRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_job(r, i));
    return out;
  });
}

awaitable<Result<void>> PgStore::delete_job(std::string owner, std::string id) {
  return impl_->pool->run<void>([owner = std::move(owner), id = std::move(id)](PgConn& db) {
    auto r = db.query("DELETE FROM jobs WHERE id = $1 AND owner = $2", {id, owner});
    if (r.affected() == 0) job_not_found(id);
  });
}

awaitable<Result<std::int64_t>> PgStore::fail_processing_jobs(std::string error) {
  return impl_->pool->run<std::int64_t>([error = std::move(error)](PgConn& db) {
    const std::int64_t now = now_ms();
    auto r = db.query(
        "UPDATE jobs SET status = 'FAILED', error = $1, completed_at = $2, updated_at = $2, "
        "claimed_by = NULL, lease_until = NULL WHERE status = 'PROCESSING'",
        {error, now});
    return r.affected();
  });
}

awaitable<Result<Swept>> PgStore::delete_expired(TimePoint cutoff) {
  return impl_->pool->run<Swept>([cutoff](PgConn& db) {
    Swept out;
    // One replica sweeps at a time; the others skip this round.
    auto locked =
        db.exec("SELECT pg_try_advisory_xact_lock(" + std::to_string(kRetentionLock) + ")");
    if (locked.text(0, 0) != "t") return out;
    const std::int64_t before = to_ms(cutoff);
    auto ids = db.query(
        "SELECT id FROM sessions WHERE updated_at < $1 AND running_turn IS NULL FOR UPDATE SKIP "
        "LOCKED",
        {before});
    for (int i = 0; i < ids.rows(); ++i) {
      std::string id = ids.text(i, 0);
      for (const char* sql :
           {"DELETE FROM events WHERE session_id = $1",
            "DELETE FROM messages WHERE session_id = $1",
            "DELETE FROM history WHERE session_id = $1", "DELETE FROM sessions WHERE id = $1"}) {
        db.query(sql, {id});
      }
    }
    out.sessions = ids.rows();
    auto jobs = db.query(
        "DELETE FROM jobs WHERE updated_at < $1 AND status IN ('COMPLETED', 'FAILED')", {before});
    out.jobs = jobs.affected();
    return out;
  });
}

awaitable<Result<bool>> PgStore::request_cancel(std::string owner, std::string session_id) {
  return impl_->pool->run<bool>([owner = std::move(owner),
                                 session_id = std::move(session_id)](PgConn& db) {
    auto r = db.query(
        "UPDATE sessions SET cancel_requested = $1 WHERE id = $2 AND owner = $3 AND running_turn "
        "IS NOT NULL",
        {now_ms(), session_id, owner});
    if (r.affected() == 0) return false;
    db.query(std::string("SELECT pg_notify('") + kCancelChannel + "', $1)", {session_id});
    return true;
  });
}

awaitable<Result<LeaseSweep>> PgStore::keep_leases(bj::object interrupted, std::string job_error) {
  return impl_->pool->run<LeaseSweep>([interrupted = std::move(interrupted),
                                       job_error = std::move(job_error),
                                       replica = impl_->replica_id,
                                       lease = impl_->lease](PgConn& db) {
    LeaseSweep out;
    const std::int64_t now = now_ms();
    const std::int64_t until = now + lease.count();
    auto mine = db.query(
        "UPDATE sessions SET turn_lease_until = $1 WHERE turn_owner = $2 AND running_turn IS NOT "
        "NULL RETURNING id, cancel_requested",
        {until, replica});
    for (int i = 0; i < mine.rows(); ++i) {
      if (!mine.is_null(i, 1)) out.cancel_requested.push_back(mine.text(i, 0));
    }
    db.query("UPDATE jobs SET lease_until = $1 WHERE claimed_by = $2 AND status = 'PROCESSING'",
             {until, replica});
    // Rows another replica holds now are skipped: it is alive, and the next round sees them.
    out.turns_interrupted = interrupt_turns(
        db,
        "SELECT id, running_turn, next_seq FROM sessions WHERE running_turn IS NOT NULL AND "
        "turn_lease_until < $1 FOR UPDATE SKIP LOCKED",
        {now}, interrupted);
    auto failed = db.query(
        "UPDATE jobs SET status = 'FAILED', error = $1, completed_at = $2, updated_at = $2, "
        "claimed_by = NULL, lease_until = NULL WHERE id IN (SELECT id FROM jobs WHERE status = "
        "'PROCESSING' AND lease_until < $2 FOR UPDATE SKIP LOCKED)",
        {job_error, now});
    out.jobs_failed = failed.affected();
    return out;
  });
}

}  // namespace idp::service

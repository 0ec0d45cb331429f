// The SQLite Store's jobs and retention (see sqlite_store.cc for the chat half).
#include <boost/json/serialize.hpp>

#include "idp/core/json_util.h"
#include "sqlite_store_impl.h"

namespace idp::service {

namespace bj = boost::json;
using boost::asio::awaitable;
using namespace store_detail;

namespace {

constexpr const char* kJobColumns =
    "id, owner, query, agent_ids, status, created_at, updated_at, completed_at, result_text, "
    "structured, error";

JobRecord read_job(Stmt& s) {
  JobRecord j;
  j.id = s.text(0);
  j.owner = s.text(1);
  j.query = s.text(2);
  j.agent_ids = text_to_strings(s.text(3));
  j.status = s.text(4);
  j.created_at = from_ms(s.int64(5));
  j.updated_at = from_ms(s.int64(6));
  if (!s.is_null(7)) j.completed_at = from_ms(s.int64(7));
  j.result_text = s.text(8);
  j.structured = text_to_object(s.text_or_null(9));
  j.error = s.text(10);
  return j;
}

[[noreturn]] void job_not_found(const std::string& id) {
  throw StoreError(ErrorCode::kNotFound, "job '" + id + "' was not found");
}

}  // namespace

awaitable<Result<void>> SqliteStore::create_job(JobRecord j, std::int64_t max_active) {
  return impl_->worker->run<void>([j = std::move(j), max_active](Db& db) {
    std::int64_t n = count_for_owner(
        db, "SELECT COUNT(*) FROM jobs WHERE owner = ? AND status IN ('PENDING', 'PROCESSING')",
        j.owner);
    if (n >= max_active) {
      throw StoreError(ErrorCode::kResourceExhausted,
                       "you have " + std::to_string(n) + " jobs waiting or running; the limit is " +
                           std::to_string(max_active) + " per user: wait for some to finish");
    }
    db.prepare(
          "INSERT INTO jobs (id, owner, query, agent_ids, status, created_at, updated_at, "
          "completed_at, result_text, structured, error, steps) "
          "VALUES (?, ?, ?, ?, 'PENDING', ?, ?, NULL, '', NULL, '', '[]')")
        .bind(1, j.id)
        .bind(2, j.owner)
        .bind(3, j.query)
        .bind(4, strings_to_text(j.agent_ids))
        .bind(5, to_ms(j.created_at))
        .bind(6, to_ms(j.created_at))
        .run();
  });
}

awaitable<Result<std::optional<JobRecord>>> SqliteStore::claim_job() {
  return impl_->worker->run<std::optional<JobRecord>>([](Db& db) -> std::optional<JobRecord> {
    auto& s = db.prepare(std::string("SELECT ") + kJobColumns +
                         " FROM jobs WHERE status = 'PENDING' ORDER BY created_at, id LIMIT 1");
    if (!s.step()) return std::nullopt;
    JobRecord j = read_job(s);
    s.reset();
    const std::int64_t now = now_ms();
    // The status condition makes the claim exclusive once several replicas share the store.
    db.prepare(
          "UPDATE jobs SET status = 'PROCESSING', updated_at = ? WHERE id = ? AND status = "
          "'PENDING'")
        .bind(1, now)
        .bind(2, j.id)
        .run();
    if (db.changes() != 1) return std::nullopt;
    j.status = "PROCESSING";
    j.updated_at = from_ms(now);
    return j;
  });
}

awaitable<Result<void>> SqliteStore::finish_job(JobEnd e) {
  return impl_->worker->run<void>([e = std::move(e)](Db& db) {
    bj::array steps;
    for (const auto& s : e.steps) steps.emplace_back(s);
    const std::int64_t now = now_ms();
    // A job deleted while it ran stays deleted (no row to update).
    db.prepare(
          "UPDATE jobs SET status = ?, result_text = ?, structured = ?, error = ?, steps = ?, "
          "completed_at = ?, updated_at = ? WHERE id = ?")
        .bind(1, e.status)
        .bind(2, e.result_text)
        .bind_opt(3, object_to_text(e.structured))
        .bind(4, e.error)
        .bind(5, bj::serialize(steps))
        .bind(6, now)
        .bind(7, now)
        .bind(8, e.job_id)
        .run();
  });
}

awaitable<Result<JobRecord>> SqliteStore::get_job(std::string owner, std::string id) {
  return impl_->worker->run<JobRecord>([owner = std::move(owner), id = std::move(id)](Db& db) {
    auto& s = db.prepare(std::string("SELECT ") + kJobColumns +
                         ", steps FROM jobs WHERE id = ? AND owner = ?");
    s.bind(1, id).bind(2, owner);
    if (!s.step()) job_not_found(id);
    JobRecord j = read_job(s);
    auto steps = ::idp::json::parse(s.text(11));
    if (steps && steps->is_array()) {
      for (auto& v : steps->get_array()) {
        if (v.is_object()) j.steps.push_back(std::move(v.get_object()));
      }
    }
    return j;
  });
}

awaitable<Result<std::vector<JobRecord>>> SqliteStore::list_jobs(std::string owner,
                                                                 std::int64_t limit) {
  return impl_->worker->run<std::vector<JobRecord>>([owner = std::move(owner), limit](Db& db) {
    auto& s = db.prepare(std::string("SELECT ") + kJobColumns +
                         " FROM jobs WHERE owner = ? ORDER BY created_at DESC, id LIMIT ?");
    s.bind(1, owner).bind(2, limit);
    std::vector<JobRecord> out;
    while (s.step()) out.push_back(read_job(s));
    return out;
  });
}

awaitable<Result<void>> SqliteStore::delete_job(std::string owner, std::string id) {
  return impl_->worker->run<void>([owner = std::move(owner), id = std::move(id)](Db& db) {
    db.prepare("DELETE FROM jobs WHERE id = ? AND owner = ?").bind(1, id).bind(2, owner).run();
    if (db.changes() == 0) job_not_found(id);
  });
}

awaitable<Result<std::int64_t>> SqliteStore::fail_processing_jobs(std::string error) {
  return impl_->worker->run<std::int64_t>([error = std::move(error)](Db& db) {
    const std::int64_t now = now_ms();
    db.prepare(
          "UPDATE jobs SET status = 'FAILED', error = ?, completed_at = ?, updated_at = ? "
          "WHERE status = 'PROCESSING'")
        .bind(1, error)
        .bind(2, now)
        .bind(3, now)
        .run();
    return db.changes();
  });
}

awaitable<Result<Swept>> SqliteStore::delete_expired(TimePoint cutoff) {
  return impl_->worker->run<Swept>([cutoff](Db& db) {
    Swept out;
    std::vector<std::string> ids;
    auto& s = db.prepare("SELECT id FROM sessions WHERE updated_at < ? AND running_turn IS NULL");
    s.bind(1, to_ms(cutoff));
    while (s.step()) ids.push_back(s.text(0));
    s.reset();
    for (const auto& id : ids) delete_session_rows(db, id);
    out.sessions = static_cast<std::int64_t>(ids.size());
    db.prepare("DELETE FROM jobs WHERE updated_at < ? AND status IN ('COMPLETED', 'FAILED')")
        .bind(1, to_ms(cutoff))
        .run();
    out.jobs = db.changes();
    return out;
  });
}

}  // namespace idp::service

// What the PostgreSQL store adds for replicas, with two or more PgStore objects on one database
// standing for replicas: migrations run once when replicas start together, jobs claimed from
// several replicas at once run once, a replica's lease keeps its turn and job while one that
// stopped renewing has them ended by another, cancel requests and new events reach the other
// replica, retention skips a round while another replica sweeps. Runs under
// tests/scale/with_postgres.sh (ctest unit.store_postgresql); skips without IDP_TEST_PG_URL.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "pg_conn.h"
#include "pg_pool.h"
#include "pg_store.h"
#include "schema.h"
#include "store_engines.h"
#include "store_test_support.h"

namespace idp::service {
namespace {

namespace bj = boost::json;
namespace net = boost::asio;
using namespace store_testing;
using namespace std::chrono_literals;

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>();
    if (db_->url().empty()) GTEST_SKIP() << "IDP_TEST_PG_URL is not set";
  }
  std::shared_ptr<PgStore> replica(std::string id, std::chrono::milliseconds lease = 10s) {
    auto s = PgStore::open(PgStoreOptions{.url = db_->url(), .replica_id = id, .lease = lease});
    EXPECT_TRUE(s) << s.error().message();
    return s ? *s : nullptr;
  }
  std::unique_ptr<TestDatabase> db_;
};

// One claimer, as each of a JobWorker's slots is: claims until nothing is left. A plain
// function, not a capturing lambda (GCC 12 and coroutine lambdas).
net::awaitable<void> claim_all(std::shared_ptr<PgStore> store, std::mutex& mu,
                               std::vector<std::string>& claimed) {
  for (;;) {
    auto j = co_await store->claim_job();
    EXPECT_TRUE(j);
    if (!j || !*j) co_return;
    std::lock_guard lock(mu);
    claimed.push_back((*j)->id);
  }
}

net::awaitable<void> wait_woken(std::shared_ptr<Wakeup> watch, bool& woken) {
  woken = co_await watch->wait(std::chrono::seconds(10));
}

bj::object interrupted() {
  return {{"type", "error"}, {"code", "interrupted"}, {"message", "its replica stopped"}};
}

TEST_F(PgStoreTest, ReplicasStartingTogetherMigrateOnce) {
  std::vector<std::future<std::shared_ptr<PgStore>>> starting;
  for (int i = 0; i < 3; ++i) {
    starting.push_back(
        std::async(std::launch::async, [this, i] { return replica("r" + std::to_string(i)); }));
  }
  for (auto& f : starting) {
    auto s = f.get();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), latest_schema_version());
  }
  PgConn db(db_->url());
  auto rows = db.exec("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_version");
  EXPECT_EQ(rows.int64(0, 0), latest_schema_version());  // one row per migration, none twice
  EXPECT_EQ(rows.int64(0, 1), latest_schema_version());
}

TEST_F(PgStoreTest, ANewerDatabaseIsRefusedNamingBothVersionsButNoPassword) {
  ASSERT_TRUE(replica("r1"));
  {
    PgConn db(db_->url());
    db.exec("INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'x', 0)");
  }
  std::string url = db_->url();
  url.insert(url.find('@'), ":s3cret-pw");  // trust auth: the password is not needed
  auto s = PgStore::open(PgStoreOptions{.url = url});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("schema version 99"), std::string::npos)
      << s.error().message();
  EXPECT_EQ(s.error().message().find("s3cret-pw"), std::string::npos) << s.error().message();
}

TEST_F(PgStoreTest, AnUnreachableServerIsAClearErrorWithoutThePassword) {
  auto s = PgStore::open(PgStoreOptions{.url = "postgresql://idp:s3cret-pw@127.0.0.1:1/idp"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(s.error().message().find("postgresql://idp@127.0.0.1:1/idp"), std::string::npos)
      << s.error().message();
  EXPECT_EQ(s.error().message().find("s3cret-pw"), std::string::npos);
}

TEST_F(PgStoreTest, JobsClaimedFromSeveralReplicasAtOnceRunOnce) {
  auto a = replica("a"), b = replica("b"), c = replica("c");
  auto now = std::chrono::system_clock::now();
  for (int i = 0; i < 30; ++i) {
    JobRecord j{.id = "j" + std::to_string(i),
                .owner = "u" + std::to_string(i % 3),
                .query = "q",
                .created_at = now + std::chrono::milliseconds(i)};
    ASSERT_TRUE(run(a->create_job(j, 20)));
  }
  std::mutex mu;
  std::vector<std::string> claimed;
  net::io_context ioc;
  for (auto store : {a, b, c}) {
    for (int k = 0; k < 4; ++k) {  // four claimers per replica, as a JobWorker has
      net::co_spawn(ioc, claim_all(store, mu, claimed), net::detached);
    }
  }
  ioc.run();
  std::set<std::string> unique(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed.size(), 30u);
  EXPECT_EQ(unique.size(), 30u);
}

TEST_F(PgStoreTest, AStoppedReplicasTurnAndJobAreEndedWhenItsLeaseRunsOut) {
  auto dead = replica("dead", 300ms);
  auto alive = replica("alive", 300ms);
  create(*dead, "s");
  begin(*dead, "s", "t1");
  append(*dead, "s", "t1", 2, "Hi");
  JobRecord j{
      .id = "j", .owner = "alice", .query = "q", .created_at = std::chrono::system_clock::now()};
  ASSERT_TRUE(run(dead->create_job(j, 20)));
  auto claimed = run(dead->claim_job());
  ASSERT_TRUE(claimed && *claimed);

  // While its lease holds, another replica leaves both alone.
  auto early = run(alive->keep_leases(interrupted(), "its replica stopped"));
  ASSERT_TRUE(early);
  EXPECT_EQ(early->turns_interrupted, 0);
  EXPECT_EQ(early->jobs_failed, 0);
  // The renewing replica keeps them past its first lease.
  auto deadline = std::chrono::steady_clock::now() + 600ms;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(run(dead->keep_leases(interrupted(), "x")));
    auto kept = run(alive->keep_leases(interrupted(), "its replica stopped"));
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->turns_interrupted, 0);
    std::this_thread::sleep_for(50ms);  // renewing pace, not a wait for an outcome
  }
  // It stops renewing (killed): once the lease has run out, the other replica ends both.
  LeaseSweep swept;
  for (int i = 0; i < 200 && swept.turns_interrupted == 0; ++i) {
    auto r = run(alive->keep_leases(interrupted(), "its replica stopped"));
    ASSERT_TRUE(r);
    swept = *r;
    if (swept.turns_interrupted == 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(swept.turns_interrupted, 1);
  EXPECT_EQ(swept.jobs_failed, 1);
  auto d = run(alive->session_detail("alice", "s"));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->session.running);
  EXPECT_EQ(d->messages[1].status, "interrupted");
  EXPECT_EQ(d->messages[1].text, "Hi");  // what was written before stays
  ASSERT_EQ(d->events.size(), 3u);
  EXPECT_EQ(d->events[2].seq, 3);
  EXPECT_EQ(d->events[2].event.at("code").as_string(), "interrupted");
  auto job = run(alive->get_job("alice", "j"));
  ASSERT_TRUE(job);
  EXPECT_EQ(job->status, "FAILED");
  EXPECT_EQ(job->error, "its replica stopped");
  // A late word of the stopped replica changes nothing.
  EXPECT_FALSE(run(dead->append_events("s", "t1", "t1-a", {bj::object{{"type", "x"}}}, "")));
  ASSERT_TRUE(run(dead->finish_job(JobEnd{.job_id = "j", .status = "COMPLETED"})));
  EXPECT_EQ(run(alive->get_job("alice", "j"))->status, "FAILED");
}

TEST_F(PgStoreTest, ACancelRequestAndNewEventsReachTheOtherReplica) {
  auto a = replica("a"), b = replica("b");
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> cancels;
  a->on_cancel_requested([&](const std::string& sid) {
    std::lock_guard lock(mu);
    cancels.push_back(sid);
    cv.notify_all();
  });
  create(*a, "s");
  EXPECT_FALSE(*run(b->request_cancel("alice", "s")));  // nothing runs
  begin(*a, "s", "t1");
  EXPECT_FALSE(*run(b->request_cancel("bob", "s")));  // not bob's
  EXPECT_TRUE(*run(b->request_cancel("alice", "s")));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return !cancels.empty(); }));
    EXPECT_EQ(cancels.front(), "s");
  }
  auto swept = run(a->keep_leases(interrupted(), "x"));  // the flag, for a missed notification
  ASSERT_TRUE(swept);
  EXPECT_EQ(swept->cancel_requested, std::vector<std::string>{"s"});

  // The io_context first: the Wakeup's timer (made by a wait that came before the notification)
  // must go before the io_context it was made on.
  net::io_context ioc;
  auto watch = b->watch_events("s");
  append(*a, "s", "t1", 1);
  bool woken = false;
  net::co_spawn(ioc, wait_woken(watch, woken), net::detached);
  ioc.run();
  EXPECT_TRUE(woken);
}

TEST_F(PgStoreTest, ASerializationFailureOrDeadlockRunsTheTransactionAgain) {
  auto pool = PgPool::open(PgPoolOptions{.conninfo = db_->url(), .size = 1});
  ASSERT_TRUE(pool) << pool.error().message();
  int attempts = 0;
  auto r = run((*pool)->run<int>([&attempts](PgConn& db) {
    ++attempts;
    db.exec("CREATE TABLE IF NOT EXISTS t (n BIGINT)");
    db.exec("INSERT INTO t VALUES (1)");
    if (attempts == 1) {
      db.exec(
          "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$");
    } else if (attempts == 2) {
      db.exec("DO $$ BEGIN RAISE EXCEPTION 'cycle' USING ERRCODE = 'deadlock_detected'; END $$");
    }
    return static_cast<int>(db.exec("SELECT COUNT(*) FROM t").int64(0, 0));
  }));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(*r, 1);  // the failed attempts were rolled back
  EXPECT_EQ((*pool)->retried(), 2u);
  // Any other failure is the caller's error at once, naming PostgreSQL's message.
  auto bad = run((*pool)->run<void>([](PgConn& db) { db.exec("SELECT * FROM no_such_table"); }));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(bad.error().message().find("no_such_table"), std::string::npos)
      << bad.error().message();
}

TEST_F(PgStoreTest, AStatementOverItsTimeoutFailsAsATimeout) {
  auto pool =
      PgPool::open(PgPoolOptions{.conninfo = db_->url(), .size = 1, .statement_timeout = 100ms});
  ASSERT_TRUE(pool) << pool.error().message();
  auto slow = run((*pool)->run<void>([](PgConn& db) { db.exec("SELECT pg_sleep(5)"); }));
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code(), ErrorCode::kTimeout) << slow.error().message();
  // The connection serves the next call.
  EXPECT_TRUE(run((*pool)->run<void>([](PgConn& db) { db.exec("SELECT 1"); })));
}

TEST_F(PgStoreTest, RetentionSkipsARoundWhileAnotherReplicaSweeps) {
  auto a = replica("a");
  create(*a, "old");
  auto later = std::chrono::system_clock::now() + std::chrono::hours(1);
  PgConn other(db_->url());
  other.exec("BEGIN");
  other.exec("SELECT pg_advisory_xact_lock(" + std::to_string(0x69647061'00000002) + ")");
  auto skipped = run(a->delete_expired(later));
  ASSERT_TRUE(skipped);
  EXPECT_EQ(skipped->sessions, 0);
  other.exec("COMMIT");
  auto swept = run(a->delete_expired(later));
  ASSERT_TRUE(swept);
  EXPECT_EQ(swept->sessions, 1);
}

}  // namespace
}  // namespace idp::service

// The Store contract (store.h) on every engine: per-session event numbering (also under
// concurrent appends and across restarts), the one-running-turn rule, ownership, limits, crash
// recovery of running turns and jobs, job claims, retention, and that a reopened store has
// everything an earlier one acknowledged. Each test runs on SQLite (a fresh file) and on
// PostgreSQL (a fresh database; ctest's unit.store_postgresql starts the server).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <mutex>
#include <set>

#include "sqlite_store.h"
#include "store_engines.h"
#include "store_test_support.h"

namespace idp::service {
namespace {

namespace bj = boost::json;
namespace net = boost::asio;
using net::awaitable;
using namespace store_testing;

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      dir_ = std::filesystem::temp_directory_path() /
             fmt::format("idp-contract-{}-{}", ::getpid(),
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
      std::filesystem::remove_all(dir_);
      where_ = (dir_ / "store.db").string();
    } else {
      db_ = std::make_unique<TestDatabase>();
      if (db_->url().empty()) GTEST_SKIP() << "IDP_TEST_PG_URL is not set";
      where_ = db_->url();
    }
    reopen();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    store_ = open_store(GetParam(), where_);
    ASSERT_TRUE(store_);
  }

  void create(std::string id, std::string owner = "alice") {
    store_testing::create(*store_, std::move(id), std::move(owner));
  }
  TurnBegun begin(std::string sid, std::string turn) {
    return store_testing::begin(*store_, sid, turn);
  }
  std::vector<EventRecord> append(std::string sid, std::string turn, int n, std::string text = {}) {
    return store_testing::append(*store_, sid, turn, n, text);
  }
  EventRecord finish(std::string sid, std::string turn, std::string answer) {
    return store_testing::finish(*store_, sid, turn, answer);
  }

  std::filesystem::path dir_;
  std::unique_ptr<TestDatabase> db_;
  std::string where_;
  std::shared_ptr<Store> store_;
};

TEST_P(StoreContractTest, SeqIsPerSessionAndIncreasesAcrossTurnsAndRestarts) {
  create("a");
  create("b");
  begin("a", "t1");
  begin("b", "u1");
  auto a1 = append("a", "t1", 3);
  auto b1 = append("b", "u1", 2);
  ASSERT_EQ(a1.size(), 3u);
  EXPECT_EQ(a1[0].seq, 1);
  EXPECT_EQ(a1[2].seq, 3);
  EXPECT_EQ(b1[0].seq, 1);  // b counts on its own
  EXPECT_EQ(a1[0].event.at("seq").as_int64(), 1);
  EXPECT_EQ(a1[0].event.at("turn_id").as_string(), "t1");
  EXPECT_TRUE(a1[0].event.at("ts").is_string());
  auto end = finish("a", "t1", "done");
  EXPECT_EQ(end.seq, 4);
  reopen();
  begin("a", "t2");
  auto a2 = append("a", "t2", 1);
  ASSERT_EQ(a2.size(), 1u);
  EXPECT_EQ(a2[0].seq, 5);
}

TEST_P(StoreContractTest, ConcurrentAppendsGetGaplessUniqueSeqs) {
  create("a");
  begin("a", "t1");
  net::io_context ioc;
  std::vector<std::int64_t> seqs;
  std::mutex mu;
  for (int i = 0; i < 50; ++i) {
    net::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
          std::vector<bj::object> events{{{"type", "text_delta"}, {"text", "a"}},
                                         {{"type", "text_delta"}, {"text", "b"}}};
          auto r = co_await store_->append_events("a", "t1", "t1-a", std::move(events), "ab");
          EXPECT_TRUE(r);
          std::lock_guard lock(mu);
          for (const auto& e : *r) seqs.push_back(e.seq);
        },
        net::detached);
  }
  ioc.run();
  std::set<std::int64_t> unique(seqs.begin(), seqs.end());
  EXPECT_EQ(unique.size(), 100u);
  EXPECT_EQ(*unique.begin(), 1);
  EXPECT_EQ(*unique.rbegin(), 100);
  auto d = run(store_->session_detail("alice", "a"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->messages[1].text.size(), 100u);  // the running answer's text so far
  EXPECT_EQ(d->messages[1].status, "running");
  if (auto sqlite = std::dynamic_pointer_cast<SqliteStore>(store_)) {
    EXPECT_LT(sqlite->batches(), sqlite->operations());  // grouped into fewer commits
  }
}

TEST_P(StoreContractTest, OneRunningTurnPerSession) {
  create("a");
  EXPECT_FALSE(begin("a", "t1").busy);
  auto second = begin("a", "t2");
  EXPECT_TRUE(second.busy);
  auto d = run(store_->session_detail("alice", "a"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->messages.size(), 2u);  // the refused turn wrote nothing
  EXPECT_TRUE(d->session.running);
  finish("a", "t1", "ok");
  auto third = begin("a", "t3");
  EXPECT_FALSE(third.busy);
  ASSERT_EQ(third.history.size(), 2u);  // t1's model messages come back for the next turn
  // Events of a turn that is not the running one are refused (a detached runner's late events).
  auto late =
      run(store_->append_events("a", "t1", "t1-a", {bj::object{{"type", "text_delta"}}}, ""));
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().message().find("not running"), std::string::npos);
}

TEST_P(StoreContractTest, AnotherOwnersSessionIsNotFound) {
  create("a", "alice");
  auto r = run(store_->get_session("bob", "a"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(run(store_->session_detail("bob", "a")));
  EXPECT_FALSE(run(store_->delete_session("bob", "a")));
  EXPECT_FALSE(run(store_->turn_events("bob", "a", "", 0)));
  TurnStart t{.session_id = "a", .owner = "bob", .turn_id = "t", .text = "hi"};
  EXPECT_FALSE(run(store_->begin_turn(t)));
  EXPECT_TRUE(run(store_->get_session("alice", "a")));  // still there for its owner
  auto bobs = run(store_->list_sessions("bob"));
  ASSERT_TRUE(bobs);
  EXPECT_TRUE(bobs->empty());
}

TEST_P(StoreContractTest, TheSessionLimitIsPerOwnerAndNamed) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(run(store_->create_session(session("s" + std::to_string(i)), 3)));
  }
  auto over = run(store_->create_session(session("s3"), 3));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(over.error().message().find("the limit is 3"), std::string::npos);
  EXPECT_TRUE(run(store_->create_session(session("b0", "bob"), 3)));
}

TEST_P(StoreContractTest, AReopenedStoreHasEverything) {
  create("a");
  begin("a", "t1");
  append("a", "t1", 2, "Hel");
  finish("a", "t1", "Hello");
  begin("a", "t2");
  append("a", "t2", 1, "par");
  reopen();
  auto d = run(store_->session_detail("alice", "a"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->session.title, "question of t1");
  EXPECT_EQ(d->session.message_count, 4);
  EXPECT_TRUE(d->session.running);
  ASSERT_EQ(d->messages.size(), 4u);
  EXPECT_EQ(d->messages[0].role, "user");
  EXPECT_EQ(d->messages[0].text, "question of t1");
  EXPECT_EQ(d->messages[1].text, "Hello");
  EXPECT_EQ(d->messages[1].status, "complete");
  ASSERT_TRUE(d->messages[1].structured);
  EXPECT_EQ(d->messages[1].structured->at("responseType").as_string(), "table");
  EXPECT_EQ(d->messages[3].text, "par");
  EXPECT_EQ(d->messages[3].status, "running");
  ASSERT_EQ(d->events.size(), 4u);
  EXPECT_EQ(d->events.back().seq, 4);
  auto latest = run(store_->turn_events("alice", "a", "", 0));
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->turn_id, "t2");
  EXPECT_EQ(latest->events.size(), 1u);
  auto first = run(store_->turn_events("alice", "a", "t1", 1));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->events.size(), 2u);  // seq 2 and the final (3)
  EXPECT_EQ(first->events.back().event.at("type").as_string(), "final");
}

TEST_P(StoreContractTest, RunningTurnsAreMarkedInterruptedAfterACrash) {
  create("a");
  create("b");
  begin("a", "t1");
  append("a", "t1", 2);
  begin("b", "u1");
  finish("b", "u1", "fine");
  reopen();
  auto n = run(store_->interrupt_running_turns(
      bj::object{{"type", "error"}, {"code", "interrupted"}, {"message", "restarted"}}));
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  auto d = run(store_->session_detail("alice", "a"));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->session.running);
  EXPECT_EQ(d->session.last_status, "interrupted");
  EXPECT_EQ(d->messages[1].status, "interrupted");
  ASSERT_EQ(d->events.size(), 3u);
  EXPECT_EQ(d->events[2].event.at("code").as_string(), "interrupted");
  EXPECT_EQ(d->events[2].seq, 3);
  EXPECT_FALSE(begin("a", "t2").busy);  // the session takes new turns again
}

TEST_P(StoreContractTest, JobsAreClaimedOnceInOrderAndLimited) {
  auto now = std::chrono::system_clock::now();
  for (int i = 0; i < 3; ++i) {
    JobRecord j{.id = "j" + std::to_string(i),
                .owner = "alice",
                .query = "q",
                .agent_ids = {"calc"},
                .created_at = now + std::chrono::milliseconds(i)};
    ASSERT_TRUE(run(store_->create_job(j, 3)));
  }
  JobRecord extra{.id = "j3", .owner = "alice", .query = "q", .created_at = now};
  auto over = run(store_->create_job(extra, 3));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code(), ErrorCode::kResourceExhausted);

  auto first = run(store_->claim_job());
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->id, "j0");
  EXPECT_EQ((*first)->status, "PROCESSING");
  auto second = run(store_->claim_job());
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->id, "j1");
  ASSERT_TRUE(run(store_->finish_job(JobEnd{.job_id = "j0",
                                            .status = "COMPLETED",
                                            .result_text = "42",
                                            .steps = {bj::object{{"type", "final"}}}})));
  auto done = run(store_->get_job("alice", "j0"));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, "COMPLETED");
  EXPECT_EQ(done->result_text, "42");
  EXPECT_TRUE(done->completed_at);
  ASSERT_EQ(done->steps.size(), 1u);
  EXPECT_FALSE(run(store_->get_job("bob", "j0")));

  reopen();  // j1 was PROCESSING when the process went away
  auto failed = run(store_->fail_processing_jobs("interrupted by a restart"));
  ASSERT_TRUE(failed);
  EXPECT_EQ(*failed, 1);
  auto j1 = run(store_->get_job("alice", "j1"));
  ASSERT_TRUE(j1);
  EXPECT_EQ(j1->status, "FAILED");
  EXPECT_EQ(j1->error, "interrupted by a restart");
  auto list = run(store_->list_jobs("alice", 2));
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list->front().id, "j2");  // newest first
  EXPECT_FALSE(run(store_->delete_job("bob", "j2")));
  EXPECT_TRUE(run(store_->delete_job("alice", "j2")));
  EXPECT_FALSE(run(store_->get_job("alice", "j2")));
}

TEST_P(StoreContractTest, RetentionDeletesOnlyWhatIsOldAndIdle) {
  create("old");
  create("running");
  begin("running", "t1");
  JobRecord j{
      .id = "j", .owner = "alice", .query = "q", .created_at = std::chrono::system_clock::now()};
  ASSERT_TRUE(run(store_->create_job(j, 20)));
  ASSERT_TRUE(run(store_->claim_job()));
  ASSERT_TRUE(run(store_->finish_job(JobEnd{.job_id = "j", .status = "COMPLETED"})));
  auto cutoff = std::chrono::system_clock::now() + std::chrono::hours(1);  // everything is "old"
  auto swept = run(store_->delete_expired(cutoff));
  ASSERT_TRUE(swept);
  EXPECT_EQ(swept->sessions, 1);
  EXPECT_EQ(swept->jobs, 1);
  EXPECT_FALSE(run(store_->get_session("alice", "old")));
  EXPECT_TRUE(run(store_->get_session("alice", "running")));  // a running turn is never swept
  auto none = run(store_->delete_expired(std::chrono::system_clock::now() - std::chrono::hours(1)));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->sessions, 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreContractTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) {
                           return info.param == "sqlite" ? std::string("Sqlite")
                                                         : std::string("Postgres");
                         });

}  // namespace
}  // namespace idp::service

// What only the SQLite store does, on real files: private file modes, schema migrations of a
// file, refusing a newer or a foreign file, announcing a turn's start before its commit. What
// every engine does is in store_contract_test.cc.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <mutex>
#include <set>

#include "schema.h"
#include "sqlite_db.h"
#include "sqlite_store.h"
#include "store_test_support.h"

namespace idp::service {
namespace {

namespace bj = boost::json;
namespace net = boost::asio;
using net::awaitable;

using namespace store_testing;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("idp-store-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "sub" / "store.db").string();
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen(SqliteOptions o = {}) {
    store_.reset();
    auto s = SqliteStore::open(path_, o);
    ASSERT_TRUE(s) << s.error().message();
    store_ = *s;
  }

  void create(std::string id, std::string owner = "alice") {
    store_testing::create(*store_, std::move(id), std::move(owner));
  }
  TurnBegun begin(std::string sid, std::string turn) {
    return store_testing::begin(*store_, sid, turn);
  }
  EventRecord finish(std::string sid, std::string turn, std::string answer) {
    return store_testing::finish(*store_, sid, turn, answer);
  }

  std::filesystem::path dir_;
  std::string path_;
  std::shared_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, ANewStoreIsAtTheLatestVersionAndPrivate) {
  EXPECT_EQ(store_->schema_version(), latest_schema_version());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ / "sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  reopen();
  EXPECT_EQ(store_->schema_version(), latest_schema_version());
  Db db(path_);
  auto& s = db.prepare("SELECT COUNT(*) FROM schema_version");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.int64(0), latest_schema_version());  // one row per migration, none twice
}

TEST_F(SqliteStoreTest, AVersion1StoreIsMigratedWithItsSessions) {
  store_.reset();
  std::filesystem::remove_all(dir_);
  reopen(SqliteOptions{.migrate_up_to = 1});
  EXPECT_EQ(store_->schema_version(), 1);
  create("s1");
  begin("s1", "t1");
  finish("s1", "t1", "old answer");
  // Jobs do not exist at version 1.
  JobRecord j{
      .id = "j1", .owner = "alice", .query = "q", .created_at = std::chrono::system_clock::now()};
  EXPECT_FALSE(run(store_->create_job(j, 20)));

  reopen();
  EXPECT_EQ(store_->schema_version(), latest_schema_version());
  auto d = run(store_->session_detail("alice", "s1"));
  ASSERT_TRUE(d);
  ASSERT_EQ(d->messages.size(), 2u);
  EXPECT_EQ(d->messages[1].text, "old answer");
  EXPECT_TRUE(run(store_->create_job(j, 20)));
}

TEST_F(SqliteStoreTest, AStoreOfANewerVersionIsRefusedNamingBoth) {
  store_.reset();
  {
    Db db(path_);
    db.exec(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'future', 0)");
  }
  auto s = SqliteStore::open(path_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("schema version 99"), std::string::npos)
      << s.error().message();
  EXPECT_NE(s.error().message().find(std::to_string(latest_schema_version())), std::string::npos);
  EXPECT_NE(s.error().message().find(path_), std::string::npos);
}

TEST_F(SqliteStoreTest, AFileThatIsNotAStoreIsAClearError) {
  store_.reset();
  {
    std::FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs("this is not a database, just some text long enough to be read as a header", f);
    std::fclose(f);
  }
  auto s = SqliteStore::open(path_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(path_), std::string::npos) << s.error().message();
}

TEST_F(SqliteStoreTest, ATurnsStartIsAnnouncedOnceWrittenBeforeItIsCommitted) {
  create("a");
  auto count_messages = [this] {
    Db other(path_);  // another connection sees only what is committed
    auto& s = other.prepare("SELECT COUNT(*) FROM messages WHERE session_id = 'a'");
    return s.step() ? s.int64(0) : -1;
  };
  int calls = 0;
  std::int64_t committed_then = -1;
  std::size_t agents_then = 0;
  TurnStart t{.session_id = "a",
              .owner = "alice",
              .turn_id = "t1",
              .user_message_id = "t1-u",
              .assistant_message_id = "t1-a",
              .text = "hello",
              .title = "hello",
              .preview = "hello",
              .on_written = [&](const TurnBegun& b) {
                ++calls;
                agents_then = b.agent_ids.size();
                committed_then = count_messages();
              }};
  auto r = run(store_->begin_turn(t));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(agents_then, 1u);      // what the caller needs to start the agent
  EXPECT_EQ(committed_then, 0);    // announced before the commit
  EXPECT_EQ(count_messages(), 2);  // durable once begin_turn answers
  t.turn_id = "t2";
  auto busy = run(store_->begin_turn(t));
  ASSERT_TRUE(busy);
  EXPECT_TRUE(busy->busy);
  EXPECT_EQ(calls, 1);  // a refused start is not announced
}

}  // namespace
}  // namespace idp::service

// The store's database thread (DbWorker): group commit. Writes queued while the thread is busy
// are all acknowledged, all stored, and committed in fewer transactions than there are writes;
// a write that fails is rolled back alone.
#include <functional>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <future>
#include <string>

#include "db_worker.h"
#include "sqlite_db.h"

namespace idp::service {
namespace {

namespace net = boost::asio;

class DbWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("idp-db-worker-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "store.db").string();
    auto db = std::make_unique<Db>(path_);
    db->exec("PRAGMA journal_mode=WAL");
    db->exec("PRAGMA synchronous=FULL");
    db->exec("CREATE TABLE items (n INTEGER PRIMARY KEY)");
    worker_ = std::make_unique<DbWorker>(std::move(db));
  }
  void TearDown() override {
    worker_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::int64_t stored_rows() {
    Db db(path_);
    auto& s = db.prepare("SELECT COUNT(*) FROM items");
    s.step();
    return s.int64(0);
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<DbWorker> worker_;
};

TEST_F(DbWorkerTest, WritesQueuedTogetherAreAllAcknowledgedAndShareCommits) {
  // The thread is held inside a first write until every other write is queued.
  std::promise<void> entered, release;
  auto held = release.get_future().share();
  net::io_context ioc;
  int acknowledged = 0, failed = 0;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        // A named operation, not a temporary of the co_await (the GCC 12 rule of
        // docs/architecture.md: GCC 12 destroyed the temporary lambda twice, and with it the
        // shared_future it holds).
        std::move_only_function<void(Db&)> first = [&entered, held](Db& db) {
          db.prepare("INSERT INTO items (n) VALUES (0)").run();
          entered.set_value();
          held.wait();
        };
        auto r = co_await worker_->run<void>(std::move(first));
        r ? ++acknowledged : ++failed;
      },
      net::detached);
  ioc.poll();  // queues the first write
  entered.get_future().wait();

  constexpr int kWriters = 100;
  for (int i = 1; i <= kWriters; ++i) {
    net::co_spawn(
        ioc,
        [&, i]() -> net::awaitable<void> {
          std::move_only_function<void(Db&)> write = [i](Db& db) {
            db.prepare("INSERT INTO items (n) VALUES (?)").bind(1, std::int64_t{i}).run();
            if (i == 7) throw StoreError(ErrorCode::kInvalidArgument, "write 7 is refused");
          };
          auto r = co_await worker_->run<void>(std::move(write));
          r ? ++acknowledged : ++failed;
        },
        net::detached);
  }
  ioc.poll();  // every writer has queued its write behind the held one
  release.set_value();
  ioc.run();

  EXPECT_EQ(acknowledged, kWriters);  // the held write and every other but the refused one
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(stored_rows(), kWriters);  // write 7 rolled back alone
  auto stats = worker_->stats();
  EXPECT_EQ(stats.operations, static_cast<std::size_t>(kWriters + 1));
  EXPECT_LE(stats.batches, 2u);  // group commit: the queued writes share one transaction
}

TEST_F(DbWorkerTest, AWriteAloneIsCommittedAndAcknowledged) {
  net::io_context ioc;
  bool ok = false;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        auto r = co_await worker_->run<int>([](Db& db) {
          db.prepare("INSERT INTO items (n) VALUES (1)").run();
          return 1;
        });
        ok = r && *r == 1;
      },
      net::detached);
  ioc.run();
  EXPECT_TRUE(ok);
  EXPECT_EQ(stored_rows(), 1);
  EXPECT_EQ(worker_->stats().batches, 1u);
}

// A lookup that reads its one row leaves its statement on that row. The worker ends such reads
// after each transaction: otherwise the connection's read transaction never ends (it outlives
// COMMIT), no checkpoint can copy the write-ahead log back into the database, and the log grows
// without bound. 700 commits of about two pages each pass SQLite's auto-checkpoint (1000 pages)
// well before their end.
TEST_F(DbWorkerTest, ALookupLeftOnItsRowDoesNotHoldBackCheckpoints) {
  net::io_context ioc;
  int done = 0;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        for (int i = 0; i < 700; ++i) {
          auto r = co_await worker_->run<std::int64_t>([](Db& db) {
            db.exec("CREATE TABLE IF NOT EXISTS blobs (b BLOB)");
            db.prepare("INSERT INTO blobs (b) VALUES (randomblob(3000))").run();
            auto& count = db.prepare("SELECT COUNT(*) FROM blobs");
            count.step();  // left on its row, as a lookup leaves it
            return count.int64(0);
          });
          if (r) ++done;
        }
      },
      net::detached);
  ioc.run();
  ASSERT_EQ(done, 700);
  auto wal = std::filesystem::file_size(path_ + "-wal");
  EXPECT_LT(wal, 1100u * (4096 + 24)) << "the log was never checkpointed";
  EXPECT_GT(std::filesystem::file_size(path_), 1024u * 1024) << "no page reached the database";
}

}  // namespace
}  // namespace idp::service

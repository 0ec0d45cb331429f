// The in-memory TaskStore (make_memory_task_store): the per-owner limit on live tasks, owners
// that cannot see each other's tasks, terminal states that stay final, pages in creation order
// and the removal of expired tasks.
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "idp/mcp/tasks.h"

namespace idp::mcp {
namespace {

namespace net = boost::asio;

// Runs one store call to its end (the memory store never suspends).
template <class T>
T run(net::awaitable<T> op) {
  net::io_context io;
  auto f = net::co_spawn(io, std::move(op), net::use_future);
  io.run();
  return f.get();
}

TaskRecord task(std::string id, std::string owner,
                std::optional<std::chrono::milliseconds> ttl = std::chrono::hours(1)) {
  TaskRecord t;
  t.task_id = std::move(id);
  t.owner = std::move(owner);
  t.tool = "tool";
  t.created_at = std::chrono::system_clock::now();
  t.last_updated_at = t.created_at;
  t.ttl = ttl;
  return t;
}

TEST(MemoryTaskStore, LimitCountsOnlyLiveTasksOfTheSameOwner) {
  auto store = make_memory_task_store();
  ASSERT_TRUE(run(store->create(task("a1", "alice"), 2)));
  ASSERT_TRUE(run(store->create(task("a2", "alice"), 2)));
  auto third = run(store->create(task("a3", "alice"), 2));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(third.error().message().find("at most 2"), std::string::npos);
  EXPECT_TRUE(run(store->create(task("b1", "bob"), 2)));
  // Once a task ends it no longer counts.
  TaskUpdate done{.task_id = "a1", .status = TaskStatus::kCompleted};
  ASSERT_TRUE(run(store->update(done)));
  EXPECT_TRUE(run(store->create(task("a3", "alice"), 2)));
  EXPECT_EQ(run(store->create(task("a3", "alice"), 9)).error().code(), ErrorCode::kInvalidArgument);
}

TEST(MemoryTaskStore, AnOwnerKeepsABoundedNumberOfTasksOldestFinishedFirst) {
  auto store = make_memory_task_store(3);
  ASSERT_TRUE(run(store->create(task("live", "o"), 10)));
  for (const char* id : {"f1", "f2", "f3", "f4"}) {
    ASSERT_TRUE(run(store->create(task(id, "o"), 10)));
    ASSERT_TRUE(run(store->update(TaskUpdate{.task_id = id, .status = TaskStatus::kCompleted})));
  }
  // The running task stays; the oldest finished ones made room.
  std::vector<std::string> kept;
  auto page = run(store->list("o", "", 10));
  ASSERT_TRUE(page);
  for (auto& t : page->tasks) kept.push_back(t.task_id);
  EXPECT_EQ(kept, (std::vector<std::string>{"live", "f3", "f4"}));
  EXPECT_EQ(run(store->get("o", "f1")).error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(run(store->get("o", "live")));
}

TEST(MemoryTaskStore, OwnersSeeOnlyTheirTasks) {
  auto store = make_memory_task_store();
  ASSERT_TRUE(run(store->create(task("t", "alice"), 5)));
  EXPECT_TRUE(run(store->get("alice", "t")));
  EXPECT_EQ(run(store->get("bob", "t")).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(run(store->get("alice", "nope")).error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(run(store->list("bob", "", 10))->tasks.empty());
}

TEST(MemoryTaskStore, TerminalStatesAreFinal) {
  auto store = make_memory_task_store();
  ASSERT_TRUE(run(store->create(task("t", "o"), 5)));
  TaskUpdate asking{.task_id = "t",
                    .status = TaskStatus::kInputRequired,
                    .input_requests = boost::json::object{{"k", boost::json::object{}}}};
  EXPECT_EQ(run(store->update(asking))->input_requests.size(), 1u);
  TaskUpdate cancel{.task_id = "t", .status = TaskStatus::kCancelled};
  auto cancelled = run(store->update(cancel));
  EXPECT_EQ(cancelled->status, TaskStatus::kCancelled);
  EXPECT_TRUE(cancelled->input_requests.empty());
  // The tool finishing afterwards does not undo the cancellation.
  TaskUpdate late{.task_id = "t",
                  .status = TaskStatus::kCompleted,
                  .result = boost::json::object{{"content", boost::json::array{}}}};
  auto after = run(store->update(late));
  EXPECT_EQ(after->status, TaskStatus::kCancelled);
  EXPECT_FALSE(after->result);
  EXPECT_EQ(run(store->update(TaskUpdate{.task_id = "gone"})).error().code(),
            ErrorCode::kNotFound);
}

TEST(MemoryTaskStore, ListPagesInCreationOrder) {
  auto store = make_memory_task_store();
  for (const char* id : {"t1", "t2", "t3", "t4", "t5"}) {
    ASSERT_TRUE(run(store->create(task(id, "o"), 10)));
  }
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = run(store->list("o", cursor, 2));
    ASSERT_TRUE(page);
    for (auto& t : page->tasks) seen.push_back(t.task_id);
    cursor = page->next_cursor.value_or("");
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"t1", "t2", "t3", "t4", "t5"}));
  EXPECT_EQ(run(store->list("o", "not a cursor", 2)).error().code(), ErrorCode::kInvalidArgument);
}

TEST(MemoryTaskStore, ExpiredTasksAreHiddenThenRemoved) {
  auto store = make_memory_task_store();
  auto old = task("old", "o", std::chrono::milliseconds(1000));
  old.created_at -= std::chrono::seconds(5);  // its ttl passed long ago
  ASSERT_TRUE(run(store->create(old, 5)));
  ASSERT_TRUE(run(store->create(task("kept", "o", std::nullopt), 5)));
  ASSERT_TRUE(run(store->create(task("fresh", "o"), 5)));
  EXPECT_EQ(run(store->get("o", "old")).error().code(), ErrorCode::kNotFound);
  auto removed = run(store->remove_expired(std::chrono::system_clock::now(), 100));
  EXPECT_EQ(removed, std::vector<std::string>{"old"});
  EXPECT_EQ(run(store->list("o", "", 10))->tasks.size(), 2u);
  EXPECT_TRUE(run(store->remove_expired(std::chrono::system_clock::now(), 100)).empty());
}

}  // namespace
}  // namespace idp::mcp

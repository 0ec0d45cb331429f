#include "store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "mailer.h"

namespace example {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "example.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string path_;
};

TEST_F(StoreTest, SeedsSampleClientsAndTreatsIdsAsData) {
  auto s = Store::open(path_);
  ASSERT_TRUE(s) << s.error();
  for (const char* id : {"C-1001", "C-1002", "C-1003", "C-1004", "C-1005"}) {
    auto c = (*s)->find_client(id);
    ASSERT_TRUE(c && *c) << id;
    EXPECT_EQ((**c).client_id, id);
    EXPECT_FALSE((**c).email.empty());
  }
  auto none = (*s)->find_client("C-9999");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  // SQL in an id is a string that matches no client (and drops no table).
  for (const char* hostile : {"C-1001' OR '1'='1", "C-1001; DROP TABLE clients; --", "%"}) {
    auto c = (*s)->find_client(hostile);
    ASSERT_TRUE(c) << c.error();
    EXPECT_FALSE(*c) << hostile;
  }
  EXPECT_TRUE(*(*s)->find_client("C-1001"));
}

TEST_F(StoreTest, TheOutboxSurvivesARestartAndAnIdempotentRetryQueuesOnce) {
  NewMessage m{"alice", "C-1001", "ada@example.com", "Verify", "body", "key-1", "digest-1"};
  std::string id;
  {
    auto s = Store::open(path_);
    ASSERT_TRUE(s);
    auto q = (*s)->enqueue(m);
    ASSERT_TRUE(q) << q.error();
    EXPECT_TRUE(q->created);
    id = q->message.message_id;
    auto again = (*s)->enqueue(m);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->message.message_id, id);
    NewMessage other = m;
    other.request_digest = "digest-2";
    auto clash = (*s)->enqueue(other);
    ASSERT_FALSE(clash);
    EXPECT_NE(clash.error().find("idempotency_key"), std::string::npos);
    // Another caller's key space is separate.
    NewMessage bob = m;
    bob.owner = "bob";
    auto b = (*s)->enqueue(bob);
    ASSERT_TRUE(b && b->created);
  }
  auto s = Store::open(path_);  // "restart"
  ASSERT_TRUE(s);
  auto list = (*s)->list("alice", "", 10);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].message_id, id);
  EXPECT_EQ((*list)[0].status, "queued");
  auto due = (*s)->due(INT64_MAX, 10);
  ASSERT_TRUE(due);
  EXPECT_EQ(due->size(), 2u);
  ASSERT_TRUE((*s)->mark_attempt_failed(id, "refused", 0, false));
  ASSERT_TRUE((*s)->mark_sent(id));
  EXPECT_EQ((*(*s)->list("alice", "sent", 10)).size(), 1u);
  EXPECT_EQ((*(*s)->list("alice", "queued", 10)).size(), 0u);
}

TEST(MailerTest, MessagesAreWellFormedAndUrlsChecked) {
  OutboxMessage m;
  m.message_id = "msg-1";
  m.to = "ada@example.com";
  m.subject = "Bitte bestätigen";
  m.body = "line one\nline two";
  std::string text = format_message(m, "no-reply@example.com");
  EXPECT_NE(text.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(text.find("\r\n\r\nline one\r\nline two\r\n"), std::string::npos);
  EXPECT_TRUE(check_smtp_url("smtp://127.0.0.1:2525"));
  EXPECT_TRUE(check_smtp_url("smtps://mail.example.com:465"));
  EXPECT_FALSE(check_smtp_url("http://127.0.0.1:2525"));
  EXPECT_FALSE(check_smtp_url("smtp://"));
}

}  // namespace
}  // namespace example

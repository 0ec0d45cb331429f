// The transport's event store: ordered events with ids, replay after any event id a client
// last saw (Last-Event-ID), a bounded buffer that says when a replay is incomplete, and the
// final answer of a POST stream.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "event_stream.h"

namespace idp::mcp {
namespace {

std::vector<std::string> texts(const EventStream::Batch& b) {
  std::vector<std::string> out;
  for (const auto& [seq, text] : b.events) out.push_back(text);
  return out;
}

TEST(EventStream, ReplaysEverythingAfterTheLastSeenEvent) {
  EventStream s("p7", 16);
  for (std::string m : {"a", "b", "c"}) EXPECT_TRUE(s.push(m));
  EXPECT_EQ(s.last_seq(), 3u);
  EXPECT_EQ(s.event_id(2), "p7_2");
  const std::string last_seen = s.event_id(2);  // parse_event_id returns views into it
  auto named = EventStream::parse_event_id(last_seen);
  ASSERT_TRUE(named);
  EXPECT_EQ(named->first, "p7");
  EXPECT_EQ(texts(s.take(named->second, false)), (std::vector<std::string>{"c"}));
  // Replays are not consumed: a client may lose the same stream twice.
  EXPECT_EQ(texts(s.take(1, false)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(texts(s.take(1, false)), (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(s.take(0, false).lost);
}

TEST(EventStream, ABoundedBufferReportsWhatWasLost) {
  EventStream s("g", 2);
  for (std::string m : {"1", "2", "3", "4"}) s.push(m);
  auto from_start = s.take(0, false);
  EXPECT_TRUE(from_start.lost);
  EXPECT_EQ(texts(from_start), (std::vector<std::string>{"3", "4"}));
  auto recent = s.take(2, false);
  EXPECT_FALSE(recent.lost);
  EXPECT_EQ(texts(recent), (std::vector<std::string>{"3", "4"}));
}

TEST(EventStream, TheFinalAnswerEndsTheStreamAndIsKept) {
  EventStream s("p1", 1);
  s.push("progress");
  EXPECT_TRUE(s.complete(std::string("answer")));
  EXPECT_FALSE(s.complete(std::string("late answer"))) << "the first answer wins";
  EXPECT_FALSE(s.push("after the end"));
  auto b = s.take(0, false);
  EXPECT_TRUE(b.complete);
  // The answer never pushes out the last event before it, even with capacity 1.
  EXPECT_EQ(texts(b), (std::vector<std::string>{"progress", "answer"}));
  EXPECT_EQ(s.take_final(), "answer");
}

TEST(EventStream, OneWriterAtATimeAndCloseRequests) {
  boost::asio::io_context ioc;  // first: the stream's writer (a timer) must go before it
  EventStream s("p2", 4);
  auto ex = ioc.get_executor();
  auto first = std::make_shared<Notifier>(ex);
  EXPECT_TRUE(s.attach(first));
  EXPECT_FALSE(s.attach(std::make_shared<Notifier>(ex)))
      << "a second connection may not deliver the stream";
  s.request_close();
  EXPECT_TRUE(s.close_requested());
  EXPECT_TRUE(s.take(0, true).close_requested);
  EXPECT_FALSE(s.close_requested()) << "consumed by the writer that ends its response";
  s.detach();
  EXPECT_TRUE(s.attach(first));
}

TEST(EventStream, LastEventIdsAreParsedStrictly) {
  EXPECT_FALSE(EventStream::parse_event_id(""));
  EXPECT_FALSE(EventStream::parse_event_id("p1"));
  EXPECT_FALSE(EventStream::parse_event_id("p1_"));
  EXPECT_FALSE(EventStream::parse_event_id("_3"));
  EXPECT_FALSE(EventStream::parse_event_id("p1_3x"));
  EXPECT_FALSE(EventStream::parse_event_id("p1_-3"));
  auto ok = EventStream::parse_event_id("a_b_12");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->first, "a_b");
  EXPECT_EQ(ok->second, 12u);
}

}  // namespace
}  // namespace idp::mcp

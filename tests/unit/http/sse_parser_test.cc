// idp::http::SseParser against the rules of the WHATWG event-stream format.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "idp/http/sse.h"
#include "idp/http/sse_parser.h"

namespace idp::http {
namespace {

// Feeds `chunks` one after the other and collects every event.
std::vector<SseEvent> parse(SseParser& p, const std::vector<std::string>& chunks) {
  std::vector<SseEvent> all;
  for (const auto& c : chunks) {
    auto got = p.feed(c);
    for (auto& e : got) all.push_back(std::move(e));
  }
  return all;
}

std::vector<SseEvent> parse(const std::string& text) {
  SseParser p;
  return parse(p, {text});
}

// Found by fuzz-sse_parser: a data line that arrived in pieces was counted twice against the
// limit (as the pending line and as data), so an event well within the limit was refused.
TEST(SseParser, LimitCountsADataLineInPiecesOnce) {
  const std::string line = "data: " + std::string(40, 'a') + "\n\n";  // 40 bytes of data
  SseParser whole(64);
  EXPECT_EQ(parse(whole, {line}).size(), 1u);
  SseParser pieces(64);
  auto ev = parse(pieces, {line.substr(0, 10), line.substr(10, 20), line.substr(30)});
  EXPECT_FALSE(pieces.failed());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, std::string(40, 'a'));
}

TEST(SseParser, SimpleEventDefaultsToMessage) {
  auto ev = parse("data: hello\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].event, "message");
  EXPECT_EQ(ev[0].data, "hello");
  EXPECT_EQ(ev[0].id, "");
  EXPECT_FALSE(ev[0].retry_ms);
}

TEST(SseParser, EveryLineEnding) {
  for (std::string eol : {"\n", "\r\n", "\r"}) {
    auto ev = parse("event: a" + eol + "data: 1" + eol + "data: 2" + eol + eol + "data: 3" + eol + eol);
    ASSERT_EQ(ev.size(), 2u) << "eol size " << eol.size();
    EXPECT_EQ(ev[0].event, "a");
    EXPECT_EQ(ev[0].data, "1\n2");
    EXPECT_EQ(ev[1].event, "message");
    EXPECT_EQ(ev[1].data, "3");
  }
}

TEST(SseParser, MixedLineEndingsInOneStream) {
  auto ev = parse("data: a\rdata: b\r\ndata: c\n\r\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "a\nb\nc");
}

TEST(SseParser, CrAtTheEndOfOneChunkAndLfAtTheStartOfTheNext) {
  SseParser p;
  auto ev = parse(p, {"data: x\r", "\ndata: y\r", "\n\r", "\n"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "x\ny");  // the CRLF pairs are single line ends, not blank lines
}

TEST(SseParser, LoneCrThenBlankLineAcrossChunks) {
  SseParser p;
  auto ev = parse(p, {"data: x\r", "\r"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "x");
}

TEST(SseParser, ByteByByteEqualsWholeInput) {
  const std::string text =
      "\xEF\xBB\xBF: comment\r\nid: 7\r\nevent: up\r\ndata: a\r\ndata:b\r\n\r\ndata: c\rretry: 10\r\r";
  SseParser p;
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  auto split = parse(p, bytes);
  auto whole = parse(text);
  ASSERT_EQ(split.size(), 2u);
  ASSERT_EQ(whole.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(split[i].event, whole[i].event);
    EXPECT_EQ(split[i].data, whole[i].data);
    EXPECT_EQ(split[i].id, whole[i].id);
    EXPECT_EQ(split[i].retry_ms, whole[i].retry_ms);
  }
  EXPECT_EQ(split[0].event, "up");
  EXPECT_EQ(split[0].data, "a\nb");
  EXPECT_EQ(split[1].data, "c");
  EXPECT_EQ(split[1].id, "7");
  EXPECT_EQ(split[1].retry_ms, 10);
}

TEST(SseParser, CommentsAreIgnored) {
  auto ev = parse(": keep-alive\n\n:another\ndata: x\n: inside\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "x");
}

TEST(SseParser, OnlyOneLeadingSpaceIsRemoved) {
  auto ev = parse("data:no-space\ndata:  two\ndata: \n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "no-space\n two\n");
}

TEST(SseParser, EmptyDataFieldDispatchesAnEmptyEvent) {
  auto ev = parse("id: p1\ndata:\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "");
  EXPECT_EQ(ev[0].id, "p1");
}

TEST(SseParser, BlockWithoutDataDispatchesNothingButKeepsIdAndRetry) {
  SseParser p;
  auto ev = parse(p, {"id: 5\nretry: 1500\nevent: x\n\n"});
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(p.last_event_id(), "5");
  EXPECT_EQ(p.retry_ms(), 1500);
  ev = p.feed("data: y\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].event, "message");  // the event type does not leak into the next block
  EXPECT_EQ(ev[0].id, "5");
  EXPECT_FALSE(ev[0].retry_ms);
}

TEST(SseParser, IdPersistsAcrossEventsAndCanBeCleared) {
  SseParser p;
  auto ev = parse(p, {"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"});
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].id, "1");
  EXPECT_EQ(ev[1].id, "1");
  EXPECT_EQ(ev[2].id, "");
  EXPECT_EQ(p.last_event_id(), "");
}

TEST(SseParser, IdWithNulIsIgnored) {
  SseParser p;
  std::string text = "id: good\ndata: a\n\n";
  constexpr char kNulId[] = "id: b\0d\ndata: b\n\n";
  text += std::string(kNulId, sizeof kNulId - 1);
  auto ev = parse(p, {text});
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].id, "good");
  EXPECT_EQ(p.last_event_id(), "good");
}

TEST(SseParser, RetryOnlyWhenAllDigits) {
  SseParser p;
  auto ev = parse(p, {"retry: 12a\ndata: a\n\nretry: -5\ndata: b\n\nretry:\ndata: c\n\n"
                      "retry: 250\ndata: d\n\nretry: 1.5\ndata: e\n\n"});
  ASSERT_EQ(ev.size(), 5u);
  EXPECT_FALSE(ev[0].retry_ms);
  EXPECT_FALSE(ev[1].retry_ms);
  EXPECT_FALSE(ev[2].retry_ms);
  EXPECT_EQ(ev[3].retry_ms, 250);
  EXPECT_FALSE(ev[4].retry_ms);
  EXPECT_EQ(p.retry_ms(), 250);
}

TEST(SseParser, FieldWithoutColonHasAnEmptyValue) {
  auto ev = parse("data\ndata\n\nevent\ndata: x\n\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].data, "\n");
  EXPECT_EQ(ev[1].event, "message");
}

TEST(SseParser, UnknownFieldsAreIgnored) {
  auto ev = parse("foo: bar\ndata: x\nData: y\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "x");  // field names are case-sensitive
}

TEST(SseParser, ValueMayContainColons) {
  auto ev = parse("data: {\"a\":\"b:c\"}\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "{\"a\":\"b:c\"}");
}

TEST(SseParser, LeadingBomIsSkippedEvenWhenSplit) {
  SseParser p;
  auto ev = parse(p, {"\xEF", "\xBB", "\xBF" "data: x\n\n"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "x");
}

TEST(SseParser, OnlyTheFirstBomIsSkipped) {
  auto ev = parse("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\ndata: y\n\n");
  // The second BOM makes the first field name "\xEF\xBB\xBF" "data": an unknown field.
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "y");
}

TEST(SseParser, APartialBomPrefixIsOrdinaryInput) {
  SseParser p;
  auto ev = parse(p, {"\xEF", "data: x\n\ndata: y\n\n"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "y");
}

TEST(SseParser, IncompleteEventIsNotDispatched) {
  SseParser p;
  auto ev = parse(p, {"data: a\n", "data: b"});
  EXPECT_TRUE(ev.empty());
  ev = p.feed("\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "a\nb");
}

TEST(SseParser, OversizedEventIsAnError) {
  SseParser p(64);
  auto ev = p.feed("data: small\n\n");
  ASSERT_EQ(ev.size(), 1u);
  std::string big(50, 'x');
  ev = p.feed("data: " + big + "\ndata: " + big + "\n\n");
  EXPECT_TRUE(ev.empty());
  ASSERT_TRUE(p.failed());
  EXPECT_EQ(p.error()->code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(p.error()->message().find("64 bytes"), std::string::npos);
  EXPECT_TRUE(p.feed("data: x\n\n").empty());  // stays failed
  p.reset();
  EXPECT_EQ(p.feed("data: x\n\n").size(), 1u);
}

TEST(SseParser, OversizedLineWithoutEndIsAnError) {
  SseParser p(16);
  p.feed("data: ");
  p.feed(std::string(20, 'x'));
  EXPECT_TRUE(p.failed());
}

TEST(SseParser, ResetKeepsLastEventIdAndDropsPartialEvent) {
  SseParser p;
  p.feed("id: 9\ndata: a\n\ndata: partial");
  p.reset();
  auto ev = p.feed("data: b\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "b");
  EXPECT_EQ(ev[0].id, "9");
}

TEST(SseParser, RoundTripsTheFormatter) {
  std::string text = format_sse_event("line1\nline2", "e1", 300, "note") + format_sse_comment("ka") +
                     format_sse_event("{}", "e2");
  auto ev = parse(text);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].event, "note");
  EXPECT_EQ(ev[0].data, "line1\nline2");
  EXPECT_EQ(ev[0].id, "e1");
  EXPECT_EQ(ev[0].retry_ms, 300);
  EXPECT_EQ(ev[1].data, "{}");
  EXPECT_EQ(ev[1].id, "e2");
}

}  // namespace
}  // namespace idp::http

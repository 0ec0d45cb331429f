#include "idp/llm/event_stream.h"

#include <gtest/gtest.h>

namespace idp::llm::eventstream {
namespace {

Message event(std::string type, std::string payload) {
  Message m;
  m.headers.push_back(Header::string(":event-type", std::move(type)));
  m.headers.push_back(Header::string(":content-type", "application/json"));
  m.headers.push_back(Header::string(":message-type", "event"));
  m.payload = std::move(payload);
  return m;
}

std::vector<Message> decode_all(std::string_view bytes, std::size_t piece) {
  EventStreamDecoder d;
  std::vector<Message> out;
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    auto r = d.feed(bytes.substr(at, piece));
    EXPECT_TRUE(r) << r.error().message();
    if (!r) return out;
    for (auto& m : *r) out.push_back(std::move(m));
  }
  EXPECT_EQ(d.pending_bytes(), 0u);
  return out;
}

TEST(EventStream, Crc32MatchesTheIeeeCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  // Continuing a CRC over a split input gives the CRC of the whole.
  EXPECT_EQ(crc32("6789", crc32("12345")), 0xCBF43926u);
}

// A known frame: the Smithy spec's example of an empty message is 16 bytes, lengths 16 and 0.
TEST(EventStream, EmptyMessageIsSixteenBytesWithBothCrcs) {
  std::string bytes = encode(Message{});
  ASSERT_EQ(bytes.size(), 16u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\0\0\0\x10\0\0\0\0", 8));
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x05\xc2\x48\xeb", 4));  // crc32 of the prelude
  EXPECT_EQ(bytes.substr(12, 4), std::string("\x7d\x98\xc8\xff", 4));
  auto messages = decode_all(bytes, 16);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0].headers.empty());
  EXPECT_TRUE(messages[0].payload.empty());
}

TEST(EventStream, GoodFramesDecodeWholeAndByteByByte) {
  std::string bytes =
      encode(event("messageStart", R"({"role":"assistant","p":"abc"})")) +
      encode(event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})")) +
      encode(event("messageStop", R"({"stopReason":"end_turn"})"));
  for (std::size_t piece : {bytes.size(), std::size_t(1), std::size_t(7), std::size_t(13)}) {
    auto messages = decode_all(bytes, piece);
    ASSERT_EQ(messages.size(), 3u) << "piece " << piece;
    EXPECT_EQ(messages[0].string_header(":event-type"), "messageStart");
    EXPECT_EQ(messages[1].payload, R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})");
    EXPECT_EQ(messages[2].string_header(":message-type"), "event");
  }
}

TEST(EventStream, SplitReadsHoldTheRestUntilTheFrameIsWhole) {
  std::string bytes = encode(event("messageStart", "{}"));
  EventStreamDecoder d;
  auto first = d.feed(std::string_view(bytes).substr(0, 10));  // inside the prelude
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->empty());
  EXPECT_EQ(d.pending_bytes(), 10u);
  auto second = d.feed(std::string_view(bytes).substr(10, bytes.size() - 11));
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->empty());
  auto third = d.feed(std::string_view(bytes).substr(bytes.size() - 1));
  ASSERT_TRUE(third);
  ASSERT_EQ(third->size(), 1u);
  EXPECT_EQ(d.pending_bytes(), 0u);
  EXPECT_EQ(d.messages(), 1u);
}

TEST(EventStream, EveryHeaderTypeRoundTrips) {
  Message m;
  auto add = [&](std::string name, HeaderType type, std::int64_t i, std::string b = {}) {
    Header h;
    h.name = std::move(name);
    h.type = type;
    h.integer = i;
    h.bytes = std::move(b);
    m.headers.push_back(h);
  };
  add("t", HeaderType::kTrue, 1);
  add("f", HeaderType::kFalse, 0);
  add("byte", HeaderType::kByte, -3);
  add("short", HeaderType::kShort, -1234);
  add("int", HeaderType::kInteger, 2'000'000'000);
  add("long", HeaderType::kLong, -9'000'000'000'000'000'000LL);
  add("bytes", HeaderType::kBytes, 0, std::string("\0\x01\xff", 3));
  add("str", HeaderType::kString, 0, "h\xc3\xa9llo");
  add("ts", HeaderType::kTimestamp, 1'700'000'000'123LL);
  add("uuid", HeaderType::kUuid, 0, std::string("0123456789abcdef"));
  m.payload = std::string("\0binary\0", 8);
  auto out = decode_all(encode(m), 5);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].headers.size(), m.headers.size());
  for (std::size_t i = 0; i < m.headers.size(); ++i) {
    EXPECT_EQ(out[0].headers[i].name, m.headers[i].name);
    EXPECT_EQ(out[0].headers[i].type, m.headers[i].type) << m.headers[i].name;
    EXPECT_EQ(out[0].headers[i].integer, m.headers[i].integer) << m.headers[i].name;
    EXPECT_EQ(out[0].headers[i].bytes, m.headers[i].bytes) << m.headers[i].name;
  }
  EXPECT_EQ(out[0].payload, m.payload);
}

TEST(EventStream, BadPreludeCrcIsAClearErrorAndSticks) {
  std::string bytes = encode(event("messageStart", "{}"));
  bytes[9] ^= 0x01;
  EventStreamDecoder d;
  auto r = d.feed(bytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kProtocol);
  EXPECT_NE(r.error().message().find("prelude CRC"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("message 1 at byte 0"), std::string::npos);
  // Later bytes do not resynchronize a broken stream.
  auto again = d.feed(encode(event("messageStop", "{}")));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(), r.error().message());
}

TEST(EventStream, BadMessageCrcNamesTheMessageAndOffset) {
  std::string good = encode(event("messageStart", "{}"));
  std::string bad = encode(event("contentBlockDelta", R"({"delta":{"text":"x"}})"));
  bad[bad.size() - 6] ^= 0x20;  // a payload byte
  EventStreamDecoder d;
  auto r = d.feed(good + bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kProtocol);
  EXPECT_NE(r.error().message().find("message CRC mismatch"), std::string::npos);
  EXPECT_NE(r.error().message().find("message 2 at byte " + std::to_string(good.size())),
            std::string::npos)
      << r.error().message();
}

TEST(EventStream, OversizeMessageIsRefusedBeforeItIsBuffered) {
  Limits limits;
  limits.max_message_bytes = 1024;
  EventStreamDecoder d(limits);
  Message big = event("contentBlockDelta", std::string(2000, 'x'));
  std::string bytes = encode(big);
  // Only the prelude is fed: the decoder refuses from the declared length alone.
  auto r = d.feed(std::string_view(bytes).substr(0, 12));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(r.error().message().find("more than the limit of 1024"), std::string::npos);
}

TEST(EventStream, OversizeHeadersAreRefused) {
  Limits limits;
  limits.max_headers_bytes = 16;
  EventStreamDecoder d(limits);
  auto r = d.feed(encode(event("messageStart", "{}")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(r.error().message().find("headers are"), std::string::npos);
}

// Builds a frame around raw header bytes, with correct CRCs.
std::string frame_with_raw_headers(std::string headers, std::string payload) {
  std::string out;
  auto put32 = [&](std::uint32_t v) {
    for (int i = 3; i >= 0; --i) out.push_back(char((v >> (8 * i)) & 0xff));
  };
  put32(static_cast<std::uint32_t>(16 + headers.size() + payload.size()));
  put32(static_cast<std::uint32_t>(headers.size()));
  put32(crc32(out));
  out += headers + payload;
  put32(crc32(out));
  return out;
}

TEST(EventStream, UnknownHeaderTypeIsNamed) {
  std::string headers = std::string("\x04") + "abcd" + "\x0c" + "xyz";  // type 12
  auto r = EventStreamDecoder().feed(frame_with_raw_headers(headers, "{}"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kProtocol);
  EXPECT_NE(r.error().message().find("header 'abcd' has the unknown value type 12"),
            std::string::npos)
      << r.error().message();
}

TEST(EventStream, HeaderRunningPastItsSectionIsRefused) {
  // A string header that claims 200 bytes in a 10-byte section.
  std::string headers = std::string("\x01") + "a" + "\x07" + std::string("\x00\xc8", 2) + "abcde";
  auto r = EventStreamDecoder().feed(frame_with_raw_headers(headers, ""));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("runs past the headers section"), std::string::npos)
      << r.error().message();
}

TEST(EventStream, DuplicateHeaderNamesAreRefused) {
  Message m = event("a", "{}");
  m.headers.push_back(Header::string(":event-type", "b"));
  auto r = EventStreamDecoder().feed(encode(m));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("':event-type' appears twice"), std::string::npos);
}

TEST(EventStream, ImpossibleLengthsAreRefused) {
  std::string out;
  auto put32 = [&](std::uint32_t v) {
    for (int i = 3; i >= 0; --i) out.push_back(char((v >> (8 * i)) & 0xff));
  };
  put32(20);
  put32(10);  // headers longer than the 4 bytes the total leaves
  put32(crc32(out));
  out += std::string(8, '\0');
  auto r = EventStreamDecoder().feed(out);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("impossible lengths"), std::string::npos);
}

}  // namespace
}  // namespace idp::llm::eventstream

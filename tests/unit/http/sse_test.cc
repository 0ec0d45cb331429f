#include <gtest/gtest.h>

#include "idp/http/message.h"
#include "idp/http/sse.h"

namespace idp::http {
namespace {

TEST(SseFormat, SingleLineEventWithIdAndRetry) {
  EXPECT_EQ(format_sse_event("{\"a\":1}", "p1_3", 500), "id: p1_3\nretry: 500\ndata: {\"a\":1}\n\n");
}

TEST(SseFormat, EmptyDataIsAPrimingEvent) {
  EXPECT_EQ(format_sse_event("", "p1_0"), "id: p1_0\ndata:\n\n");
}

TEST(SseFormat, EveryLineEndingSplitsData) {
  EXPECT_EQ(format_sse_event("a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
}

TEST(SseFormat, IdsWithLineBreaksAreDropped) {
  EXPECT_EQ(format_sse_event("x", "bad\nid"), "data: x\n\n");
}

TEST(SseFormat, CommentsCannotInjectFields) {
  EXPECT_EQ(format_sse_comment("keep\nalive"), ": keep alive\n\n");
}

TEST(Headers, CaseInsensitiveGetAndSet) {
  Headers h;
  h.add("Content-Type", "text/plain");
  h.set("content-type", "application/json");
  ASSERT_EQ(h.items().size(), 1u);
  EXPECT_EQ(h.get("CONTENT-TYPE"), "application/json");
  EXPECT_FALSE(h.get("Accept").has_value());
  EXPECT_TRUE(iequals("Mcp-Session-Id", "mcp-session-id"));
  EXPECT_FALSE(iequals("abc", "abd"));
}

}  // namespace
}  // namespace idp::http

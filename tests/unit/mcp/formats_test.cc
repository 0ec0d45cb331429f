#include "idp/mcp/formats.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace idp::mcp {
namespace {

namespace bj = boost::json;

TEST(FormatTest, Email) {
  for (const char* ok : {"ada@example.com", "a.b+tag@mail.example.co.uk", "x_y-z@ex-ample.org"}) {
    EXPECT_FALSE(check_format("email", ok)) << ok;
  }
  for (const char* bad : {"", "ada", "@example.com", "ada@", "ada@example", "a..b@example.com",
                          ".a@example.com", "ada@-example.com", "ada@example..com",
                          "ada example@example.com", "ada@example.com\r\nBcc: x@y.z",
                          "\"quoted\"@example.com", "ada@[127.0.0.1]", "a@b@example.com"}) {
    EXPECT_TRUE(check_format("email", bad)) << bad;
  }
}

TEST(FormatTest, DatesAndTimes) {
  EXPECT_FALSE(check_format("date", "2024-02-29"));
  EXPECT_TRUE(check_format("date", "2023-02-29"));  // not a leap year
  EXPECT_TRUE(check_format("date", "2024-13-01"));
  EXPECT_TRUE(check_format("date", "2024-1-01"));
  EXPECT_FALSE(check_format("date-time", "2026-05-01T12:00:00Z"));
  EXPECT_FALSE(check_format("date-time", "2026-05-01t12:00:00.250+02:00"));
  EXPECT_TRUE(check_format("date-time", "2026-05-01T12:00:00"));  // the offset is required
  EXPECT_TRUE(check_format("date-time", "2026-05-01 12:00:00Z"));
  EXPECT_TRUE(check_format("date-time", "2026-05-01T24:00:00Z"));
}

TEST(FormatTest, UriUuidIpv4) {
  EXPECT_FALSE(check_format("uri", "https://example.com/a?b=c#d"));
  EXPECT_FALSE(check_format("uri", "urn:isbn:0451450523"));
  EXPECT_TRUE(check_format("uri", "/relative/path"));
  EXPECT_TRUE(check_format("uri", "http://exa mple.com/"));
  EXPECT_FALSE(check_format("uuid", "123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_TRUE(check_format("uuid", "123e4567e89b12d3a456426614174000"));
  EXPECT_FALSE(check_format("ipv4", "192.168.0.1"));
  for (const char* bad : {"256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.", "a.b.c.d"}) {
    EXPECT_TRUE(check_format("ipv4", bad)) << bad;
  }
  EXPECT_FALSE(check_format("hostname-of-my-own", "anything"));  // unknown formats annotate only
}

TEST(FormatCheckerTest, NamesTheFieldAndTheRuleThroughNestingAndRefs) {
  bj::object schema = bj::parse(R"({
    "type": "object",
    "properties": {
      "email": {"type": "string", "format": "email"},
      "visits": {"type": "array", "items": {"$ref": "#/$defs/visit"}},
      "note": {"type": "string"}
    },
    "$defs": {"visit": {"type": "object", "properties": {"on": {"type": "string", "format": "date"}}}}
  })")
                          .as_object();
  auto checker = FormatChecker::compile(schema);
  EXPECT_FALSE(checker.empty());
  EXPECT_FALSE(
      checker.check(bj::parse(R"({"email":"a@example.com","visits":[{"on":"2024-01-02"}]})")));
  auto e = checker.check(bj::parse(R"({"email":"not-an-address"})"));
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, "email: not a valid e-mail address (format email)");
  e = checker.check(bj::parse(R"({"visits":[{"on":"2024-01-02"},{"on":"yesterday"}]})"));
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, "visits[1].on: not a date (YYYY-MM-DD) (format date)");
  // A value's text never appears in the message.
  e = checker.check(bj::parse(R"({"email":"secret-value"})"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->find("secret-value"), std::string::npos);
}

TEST(FormatCheckerTest, SchemasWithoutFormatsAreEmpty) {
  auto checker = FormatChecker::compile(
      bj::parse(R"({"type":"object","properties":{"a":{"type":"string"}}})").as_object());
  EXPECT_TRUE(checker.empty());
  EXPECT_FALSE(checker.check(bj::parse(R"({"a":"x"})")));
}

}  // namespace
}  // namespace idp::mcp

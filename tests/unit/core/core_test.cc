#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "idp/core/error.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "idp/core/secret.h"

namespace idp {
namespace {

TEST(Secret, NeverPrintsItsValue) {
  Secret s("hunter2-password");
  EXPECT_EQ(fmt::format("{}", s), "***");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "***");
  EXPECT_EQ(fmt::format("password={}", s).find("hunter2"), std::string::npos);
  EXPECT_EQ(s.reveal(), "hunter2-password");
}

// The bytes of a secret do not outlive it. A short value sits in the string's own buffer
// (small-string optimisation), inside storage this test owns, so what is left there after the
// destructor can be read without touching freed memory.
TEST(Secret, ItsBytesAreZeroedWhenItIsDestroyed) {
  constexpr std::string_view kValue = "hunter2-pw";  // short: stays inside the object
  alignas(Secret) unsigned char storage[sizeof(Secret)];
  auto* s = new (storage) Secret(std::string(kValue));
  ASSERT_EQ(s->reveal(), kValue);
  const auto* inside = reinterpret_cast<const unsigned char*>(s->reveal().data());
  ASSERT_TRUE(inside >= storage && inside + kValue.size() <= storage + sizeof storage)
      << "the value is not stored inline; this check needs the small-string buffer";
  s->~Secret();
  std::string_view left(reinterpret_cast<const char*>(storage), sizeof storage);
  // clear() alone would only put a NUL over the first byte: look for the rest.
  EXPECT_EQ(left.find("unter2-pw"), std::string_view::npos);
}

TEST(Secret, MovedFromIsEmptyAndComparisonWorks) {
  Secret a("token");
  Secret b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the move wipes on purpose
  EXPECT_EQ(b, Secret("token"));
  EXPECT_FALSE(b == Secret("tokem"));
}

TEST(Base64, RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 40; ++i) {
    data.push_back(static_cast<char>(i * 37));
    auto enc = base64_encode(data);
    auto url = base64url_encode(data);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(url.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(base64_decode(enc), data);
    EXPECT_EQ(base64_decode(url), data);
  }
}

TEST(Base64, KnownVectorsAndRejectsGarbage) {
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_FALSE(base64_decode("Zm9v!mFy").has_value());
  EXPECT_FALSE(base64_decode("Z").has_value());
}

TEST(Base64Url, StrictDecoderRefusesEveryOtherSpelling) {
  EXPECT_EQ(base64url_decode("aGk"), "hi");
  EXPECT_EQ(base64url_decode("_-8"), "\xff\xef");
  EXPECT_EQ(base64url_decode(""), "");
  EXPECT_FALSE(base64url_decode("aGl").has_value());   // non-canonical trailing bits
  EXPECT_FALSE(base64url_decode("aGk=").has_value());  // padding
  EXPECT_FALSE(base64url_decode("a+/b").has_value());  // standard alphabet
  EXPECT_FALSE(base64url_decode("a").has_value());     // impossible length
  EXPECT_FALSE(base64url_decode("aG k").has_value());
  std::string data;
  for (int i = 0; i < 40; ++i) {
    data.push_back(static_cast<char>(i * 53));
    EXPECT_EQ(base64url_decode(base64url_encode(data)), data);
    EXPECT_EQ(base64url_decoded_size(base64url_encode(data).size()), data.size());
  }
}

TEST(RandomToken, IsUrlSafeLongAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto t = random_token();
    EXPECT_EQ(t.size(), 43u);  // 32 bytes, base64url without padding
    for (char c : t) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Error, CarriesCodeMessageAndContext) {
  Error e(ErrorCode::kNotFound, "cognito_client_id is missing");
  Error c = e.with_context("secret entry 2");
  EXPECT_EQ(c.message(), "secret entry 2: cognito_client_id is missing");
  EXPECT_EQ(c.code(), ErrorCode::kNotFound);
  EXPECT_STREQ(to_string(c.code()), "not_found");
  EXPECT_EQ(Error(ErrorCode::kTimeout, "late", "after 60 s").to_string(), "late (after 60 s)");
}

TEST(JsonParse, ReportsWhereTheTextBreaks) {
  auto ok = json::parse(R"({"a":1})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->at("a").as_int64(), 1);

  auto bad = json::parse(R"({"a":})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("invalid JSON at byte 5"), std::string::npos)
      << bad.error().message();

  auto trailing = json::parse(R"({"a":1} x)");
  ASSERT_FALSE(trailing);

  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(json::parse(deep));  // depth limit 64
}

// Found by fuzz-jsonrpc: Boost.JSON reads 1e999 as infinity and writes it back as "Infinity",
// which no JSON reader takes; such a number is refused at the door.
TEST(JsonParse, RefusesNumbersBeyondTheDoubleRange) {
  for (const char* text : {R"({"x":1e999})", R"([1, [-11e308]])", "1e400"}) {
    auto v = json::parse(text);
    ASSERT_FALSE(v) << text;
    EXPECT_NE(v.error().message().find("out of range"), std::string::npos) << v.error().message();
  }
  auto big = json::parse(R"({"x":1.7e308,"y":-1e-400})");
  ASSERT_TRUE(big);
  EXPECT_EQ(json::parse(json::serialize(*big))->at("x").as_double(), 1.7e308);
}

TEST(JsonHelpers, TypedLookups) {
  auto v = json::parse(R"({"s":"x","n":2.5,"b":true,"o":{},"a":[1]})");
  ASSERT_TRUE(v);
  const auto& o = v->as_object();
  EXPECT_EQ(*json::find_string(o, "s"), "x");
  EXPECT_EQ(json::find_number(o, "n"), 2.5);
  EXPECT_EQ(json::find_bool(o, "b"), true);
  EXPECT_NE(json::find_object(o, "o"), nullptr);
  EXPECT_NE(json::find_array(o, "a"), nullptr);
  EXPECT_EQ(json::find_string(o, "n"), nullptr);
  EXPECT_STREQ(json::kind_name(o.at("a")), "array");
}

}  // namespace
}  // namespace idp

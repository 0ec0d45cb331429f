#include "idp/mcp/rate_limit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace idp::mcp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(RateTest, ParsesTheUsualForms) {
  auto r = parse_rate("5/min");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, 5);
  EXPECT_EQ(r->period, 60s);
  EXPECT_EQ(r->text(), "5/min");
  EXPECT_EQ(parse_rate("10/s")->period, 1s);
  EXPECT_EQ(parse_rate("100/hour")->period, 1h);
  EXPECT_EQ(parse_rate("3/30s")->period, 30s);
  EXPECT_EQ(parse_rate("3/30s")->text(), "3/30s");
}

TEST(RateTest, RefusesMalformedRatesAndSaysWhatItExpects) {
  for (const char* bad :
       {"", "5", "5/", "/min", "0/min", "-1/min", "5/fortnight", "x/min", "1e12/s"}) {
    auto r = parse_rate(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find("e.g. 5/min"), std::string::npos) << r.error().message();
  }
}

TEST(RateLimiterTest, TheSixthCallInAMinuteIsRefusedWithTheTimeToWait) {
  RateLimits limits;
  limits.tool_calls = *parse_rate("5/min");
  RateLimiter limiter(limits);
  auto t = Clock::now();
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(limiter.check("alice", "tools/call", "calculator", t).allowed) << i;
  auto d = limiter.check("alice", "tools/call", "calculator", t + 1s);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, "tool_calls");
  EXPECT_EQ(d.rate, "5/min");
  // One token comes back every 12 s; one second has passed.
  EXPECT_EQ(d.retry_after_seconds(), 11);
  // Another user is unaffected, and so are other methods (no limit set for them).
  EXPECT_TRUE(limiter.check("bob", "tools/call", "calculator", t + 1s).allowed);
  EXPECT_TRUE(limiter.check("alice", "tools/list", "", t + 1s).allowed);
  // After the wait, alice may call once more, and not twice.
  EXPECT_TRUE(limiter.check("alice", "tools/call", "calculator", t + 12s).allowed);
  EXPECT_FALSE(limiter.check("alice", "tools/call", "calculator", t + 12s).allowed);
}

TEST(RateLimiterTest, PerToolLimitsApplyOnTopAndARefusalTakesNoToken) {
  RateLimits limits;
  limits.tool_calls = *parse_rate("10/min");
  limits.per_tool.emplace("send_verification_email", *parse_rate("1/min"));
  RateLimiter limiter(limits);
  auto t = Clock::now();
  EXPECT_TRUE(limiter.check("a", "tools/call", "send_verification_email", t).allowed);
  auto d = limiter.check("a", "tools/call", "send_verification_email", t);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, "tool:send_verification_email");
  // The refused call did not use one of the 10 general tokens: 9 are left.
  for (int i = 0; i < 9; ++i)
    EXPECT_TRUE(limiter.check("a", "tools/call", "calculator", t).allowed) << i;
  EXPECT_FALSE(limiter.check("a", "tools/call", "calculator", t).allowed);
}

TEST(RateLimiterTest, OtherMethodsHaveTheirOwnBucket) {
  RateLimits limits;
  limits.tool_calls = *parse_rate("1/min");
  limits.other_methods = *parse_rate("2/min");
  RateLimiter limiter(limits);
  auto t = Clock::now();
  EXPECT_TRUE(limiter.check("a", "tools/call", "x", t).allowed);
  EXPECT_TRUE(limiter.check("a", "tools/list", "", t).allowed);
  EXPECT_TRUE(limiter.check("a", "initialize", "", t).allowed);
  auto d = limiter.check("a", "ping", "", t);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, "other_methods");
}

TEST(RateLimiterTest, IdleBucketsAreDroppedAndTheCapHolds) {
  RateLimits limits;
  limits.tool_calls = *parse_rate("10/s");
  limits.max_buckets = 16 * 8;  // 8 per shard
  RateLimiter limiter(limits);
  auto t = Clock::now();
  for (int i = 0; i < 1000; ++i) limiter.check("user-" + std::to_string(i), "tools/call", "x", t);
  EXPECT_LE(limiter.bucket_count(), limits.max_buckets);
  // Two seconds later every bucket has refilled: the next sweep drops them all.
  for (int i = 0; i < 2048; ++i)
    limiter.check("late", "tools/call", "x", t + 2s + std::chrono::milliseconds(i));
  EXPECT_LE(limiter.bucket_count(), 2u);
}

TEST(PrincipalTest, SubThenClientIdThenPeer) {
  Identity id;
  id.authenticated = true;
  id.subject = "sub-1";
  id.claims = {{"client_id", "app"}};
  EXPECT_EQ(principal_of(id, "127.0.0.1"), "sub-1");
  id.subject.clear();
  EXPECT_EQ(principal_of(id, "127.0.0.1"), "app");
  EXPECT_EQ(principal_of(Identity{}, "10.0.0.7"), "peer:10.0.0.7");
}

TEST(RateLimitFileTest, ReadsLimitsAndNamesTheBadKey) {
  auto dir = std::filesystem::temp_directory_path() / ("rl-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "limits.json").string();
  std::ofstream(path)
      << R"({"tool_calls":"5/min","other_methods":"50/min","tools":{"calculator":"2/s"}})";
  auto ok = load_rate_limits(path);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->tool_calls->text(), "5/min");
  EXPECT_EQ(ok->per_tool.at("calculator").text(), "2/s");
  std::ofstream(path) << R"({"tool_call":"5/min"})";
  auto bad = load_rate_limits(path);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("unknown key 'tool_call'"), std::string::npos);
  std::ofstream(path) << R"({"tools":{"calculator":"fast"}})";
  bad = load_rate_limits(path);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("tools.calculator"), std::string::npos)
      << bad.error().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace idp::mcp

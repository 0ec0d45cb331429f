#include "idp/mcp/audit.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "idp/core/crypto.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("audit-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST(CanonicalJsonTest, MemberOrderDoesNotChangeTheText) {
  auto a = bj::parse(R"({"b":1,"a":{"y":[1,{"d":2,"c":3}],"x":"s"}})");
  auto b = bj::parse(R"({"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1})");
  EXPECT_EQ(canonical_json(a), canonical_json(b));
  EXPECT_EQ(canonical_json(a), R"({"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1})");
}

// Strings are escaped as Boost.JSON's serializer escapes them, so a digest of the canonical text
// does not depend on which of the two wrote it.
TEST(CanonicalJsonTest, StringsAreEscapedAsTheJsonSerializerDoesIt) {
  std::string every;
  for (int c = 1; c < 128; ++c) every += static_cast<char>(c);
  every += "\xc3\xa9\xe2\x82\xac";  // UTF-8 passes through
  const bj::value v = bj::object{{every, every}, {"list", bj::array{every, 1, 2.5, true, nullptr}}};
  // Sorted, the key starting with \x01 comes first.
  EXPECT_EQ(canonical_json(v), bj::serialize(bj::value(bj::object{
                                   {every, every},
                                   {"list", bj::array{every, 1, 2.5, true, nullptr}}})));
}

TEST(AuditLineTest, IsOneJsonObjectWithEscapedValuesAndMilliseconds) {
  AuditRecord r;
  r.trace_id = "t1";
  r.username = "ada \"the\" \n countess";
  r.method = "tools/call";
  r.tool = "calculator";
  r.argument_names = {"expression", "(1 undeclared)"};
  r.duration = std::chrono::microseconds(97);
  const std::string line = to_json_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto o = bj::parse(line).as_object();
  EXPECT_EQ(o.at("username"), "ada \"the\" \n countess");
  EXPECT_EQ(bj::serialize(o.at("argument_names")), R"j(["expression","(1 undeclared)"])j");
  EXPECT_NE(line.find(R"("duration_ms":0.097})"), std::string::npos) << line;
  EXPECT_EQ(o.at("time").as_string().size(), 27u);  // 2026-12-04T19:05:20.827164Z
}

TEST_F(AuditLogTest, OneLinePerRecordWithTheFieldsAndNoValues) {
  auto log = AuditLog::open_file((dir_ / "audit.log").string());
  ASSERT_TRUE(log) << log.error().message();
  AuditRecord r;
  r.trace_id = "t-1";
  r.sub = "sub-1";
  r.username = "alice";
  r.client_id = "app";
  r.session = "s-1";
  r.method = "tools/call";
  r.tool = "get_client_address";
  bj::value args = bj::parse(R"({"client_id":"C-1001"})");
  r.argument_names = {"client_id"};
  r.arguments_sha256 = crypto::sha256_hex(canonical_json(args));
  r.outcome = AuditOutcome::kOk;
  r.duration = std::chrono::microseconds(1500);
  (*log)->write(r);
  r.outcome = AuditOutcome::kRateLimited;
  r.detail = "tool_calls 5/min";
  (*log)->write(r);
  auto lines = lines_of(dir_ / "audit.log");
  ASSERT_EQ(lines.size(), 2u);
  auto o = bj::parse(lines[0]).as_object();
  for (const char* key : {"time", "trace_id", "sub", "username", "client_id", "session", "method",
                          "tool", "argument_names", "arguments_sha256", "outcome", "duration_ms"}) {
    EXPECT_TRUE(o.contains(key)) << key;
  }
  EXPECT_EQ(o["outcome"], "ok");
  EXPECT_EQ(o["duration_ms"].as_double(), 1.5);
  EXPECT_EQ(o["arguments_sha256"].as_string().size(), 64u);
  EXPECT_EQ(bj::parse(lines[1]).as_object()["outcome"], "rate_limited");
  EXPECT_EQ(lines[0].find("C-1001"), std::string::npos);
  EXPECT_EQ((*log)->lines_written(), 2u);
  EXPECT_EQ(fs::status(dir_ / "audit.log").permissions() & fs::perms::others_read, fs::perms::none);
}

TEST_F(AuditLogTest, RotatesBySizeAndKeepsTheNewestFiles) {
  auto log = AuditLog::open_file((dir_ / "audit.log").string(), {.max_bytes = 1000, .keep = 2});
  ASSERT_TRUE(log);
  AuditRecord r;
  r.method = "tools/call";
  r.tool = "calculator";
  for (int i = 0; i < 40; ++i) {
    r.trace_id = "trace-" + std::to_string(i);
    (*log)->write(r);
  }
  EXPECT_TRUE(fs::exists(dir_ / "audit.log"));
  EXPECT_TRUE(fs::exists(dir_ / "audit.log.1"));
  EXPECT_TRUE(fs::exists(dir_ / "audit.log.2"));
  EXPECT_FALSE(fs::exists(dir_ / "audit.log.3"));
  for (const char* f : {"audit.log", "audit.log.1", "audit.log.2"}) {
    EXPECT_LE(fs::file_size(dir_ / f), 1000u) << f;
  }
  // The newest line is in the live file, and every kept line is whole JSON.
  auto live = lines_of(dir_ / "audit.log");
  ASSERT_FALSE(live.empty());
  EXPECT_NE(live.back().find("trace-39"), std::string::npos);
  for (const char* f : {"audit.log", "audit.log.1", "audit.log.2"}) {
    for (const auto& line : lines_of(dir_ / f)) EXPECT_NO_THROW(bj::parse(line)) << line;
  }
}

TEST_F(AuditLogTest, ConcurrentWritersNeverInterleaveLines) {
  auto log = AuditLog::open_file((dir_ / "audit.log").string());
  ASSERT_TRUE(log);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      AuditRecord r;
      r.method = "tools/call";
      r.tool = "calculator";
      r.trace_id = std::string(200, static_cast<char>('a' + t));
      for (int i = 0; i < 250; ++i) (*log)->write(r);
    });
  }
  for (auto& th : threads) th.join();
  auto lines = lines_of(dir_ / "audit.log");
  ASSERT_EQ(lines.size(), 1000u);
  for (const auto& line : lines) ASSERT_NO_THROW(bj::parse(line));
}

TEST_F(AuditLogTest, AnUnwritableFolderIsAClearError) {
  auto log = AuditLog::open_file((dir_ / "missing" / "audit.log").string());
  ASSERT_FALSE(log);
  EXPECT_NE(log.error().message().find("cannot open audit log"), std::string::npos);
  EXPECT_NE(log.error().message().find("missing/audit.log"), std::string::npos);
}

}  // namespace
}  // namespace idp::mcp

// Secret URIs and the file, environment and memory sources: what an operator types, what they
// are told when it is wrong, and versions that change exactly when the value does.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "idp/agents/secret_source.h"

namespace idp::agents {
namespace {

using boost::asio::awaitable;

template <class T>
T run(std::function<awaitable<T>()> body) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  boost::asio::co_spawn(ioc, body(), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  ioc.run();
  return std::move(*out);
}

Result<SecretValue> read(SecretSource& s) {
  return run<Result<SecretValue>>([&]() -> awaitable<Result<SecretValue>> {
    auto v = co_await s.read();
    co_return v;
  });
}

Result<std::string> version(SecretSource& s) {
  return run<Result<std::string>>([&]() -> awaitable<Result<std::string>> {
    auto v = co_await s.version();
    co_return v;
  });
}

TEST(SecretUriTest, ParsesTheThreeForms) {
  auto aws =
      parse_secret_uri("aws-secretsmanager://IDP/external-mcp-agents/credentials?region=eu-west-1");
  ASSERT_TRUE(aws) << aws.error().message();
  EXPECT_EQ(aws->kind, SecretUri::Kind::kAwsSecretsManager);
  EXPECT_EQ(aws->name, "IDP/external-mcp-agents/credentials");
  EXPECT_EQ(aws->region, "eu-west-1");

  auto arn = parse_secret_uri(
      "aws-secretsmanager://arn:aws:secretsmanager:us-west-2:123456789012:secret:x/y-AbCdEf");
  ASSERT_TRUE(arn);
  EXPECT_EQ(arn->name, "arn:aws:secretsmanager:us-west-2:123456789012:secret:x/y-AbCdEf");
  EXPECT_EQ(arn->region, "us-west-2");  // taken from the ARN

  auto plain = parse_secret_uri("aws-secretsmanager://name");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->region, "");

  auto abs = parse_secret_uri("file:///etc/idp/agents.json");
  ASSERT_TRUE(abs);
  EXPECT_EQ(abs->kind, SecretUri::Kind::kFile);
  EXPECT_EQ(abs->path, "/etc/idp/agents.json");
  auto rel = parse_secret_uri("file://conf/agents.json");
  ASSERT_TRUE(rel);
  EXPECT_EQ(rel->path, "conf/agents.json");

  auto env = parse_secret_uri(" env://IDP_AGENTS_SECRET\n");  // pasted with spaces
  ASSERT_TRUE(env);
  EXPECT_EQ(env->kind, SecretUri::Kind::kEnv);
  EXPECT_EQ(env->name, "IDP_AGENTS_SECRET");
  EXPECT_STREQ(to_string(env->kind), "env");
}

TEST(SecretUriTest, MistakesAreExplained) {
  struct Case {
    std::string uri;
    std::string says;
  };
  std::vector<Case> cases = {
      {"", "empty"},
      {"/etc/idp/agents.json", "not a URI; for a file write file:///etc/idp/agents.json"},
      {"s3://bucket/key", "unsupported scheme 's3://'"},
      {"file://", "the file path is empty"},
      {"env://1BAD", "'1BAD' is not an environment variable name"},
      {"env://A-B", "'A-B' is not an environment variable name"},
      {"aws-secretsmanager://", "the secret name is empty"},
      {"aws-secretsmanager://x?regoin=us-east-1",
       "unknown parameter 'regoin'; only region= is accepted"},
      {"aws-secretsmanager://x?region=US East", "'US East' is not an AWS region"},
  };
  for (const auto& c : cases) {
    auto r = parse_secret_uri(c.uri);
    ASSERT_FALSE(r) << c.uri;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.says), std::string::npos)
        << c.uri << " -> " << r.error().message();
    EXPECT_NE(
        r.error().message().find("aws-secretsmanager://NAME[?region=R], file://PATH or env://VAR"),
        std::string::npos)
        << r.error().message();
  }
}

TEST(SecretUriTest, DefaultComesFromTheStackName) {
  std::map<std::string, std::string> env;
  GetEnv getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  EXPECT_EQ(default_secret_uri(getenv), std::nullopt);
  auto none = resolve_secret_uri("", getenv);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("pass --secret"), std::string::npos);
  EXPECT_NE(none.error().message().find("set AWS_STACK_NAME"), std::string::npos);

  env["AWS_STACK_NAME"] = "";
  EXPECT_EQ(default_secret_uri(getenv), std::nullopt);
  env["AWS_STACK_NAME"] = "IDP-prod";
  EXPECT_EQ(default_secret_uri(getenv),
            "aws-secretsmanager://IDP-prod/external-mcp-agents/credentials");
  auto def = resolve_secret_uri("", getenv);
  ASSERT_TRUE(def);
  EXPECT_EQ(def->name, "IDP-prod/external-mcp-agents/credentials");
  auto given = resolve_secret_uri("env://X", getenv);  // the option wins
  ASSERT_TRUE(given);
  EXPECT_EQ(given->kind, SecretUri::Kind::kEnv);
}

class FileSecretSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("idp-secret-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "agents.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(std::string_view text, mode_t mode = 0600) {
    std::ofstream(path_, std::ios::trunc) << text;
    ::chmod(path_.c_str(), mode);
  }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(FileSecretSourceTest, VersionChangesWhenTheFileIsEdited) {
  write("[]");
  FileSecretSource src(path_);
  auto v1 = read(src);
  ASSERT_TRUE(v1) << v1.error().message();
  EXPECT_EQ(v1->text.reveal(), "[]");
  EXPECT_EQ(v1->version, sha256_hex("[]"));
  EXPECT_EQ(v1->version, "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945");
  EXPECT_EQ(version(src).value(), v1->version);
  EXPECT_TRUE(src.warnings().empty());
  EXPECT_EQ(src.describe(), "file " + path_);

  write(R"([{"mcp_url": "https://a.example.com/mcp"}])");
  auto v2 = version(src);
  ASSERT_TRUE(v2);
  EXPECT_NE(*v2, v1->version);
  EXPECT_EQ(read(src)->version, *v2);
  write("[]");  // back to the first content: back to the first version
  EXPECT_EQ(version(src).value(), v1->version);
}

TEST_F(FileSecretSourceTest, WarnsWhenOthersCanReadIt) {
  write("[]", 0644);
  FileSecretSource src(path_);
  ASSERT_TRUE(read(src));
  auto w = src.warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(
      w[0],
      fmt::format("secret file {} is readable by other users (mode 0644); restrict it with chmod "
                  "600 {}",
                  path_, path_));
  ::chmod(path_.c_str(), 0640);
  ASSERT_TRUE(read(src));
  EXPECT_EQ(src.warnings().size(), 1u);  // group-readable too
  ::chmod(path_.c_str(), 0600);
  ASSERT_TRUE(read(src));
  EXPECT_TRUE(src.warnings().empty());
}

TEST_F(FileSecretSourceTest, MissingTooLargeAndDirectory) {
  FileSecretSource missing(path_);
  auto r = read(missing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(), "secret file " + path_ + " does not exist");
  EXPECT_FALSE(version(missing));

  write(std::string(2000, ' '));
  FileSecretSource small(path_, 1000);
  auto big = read(small);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), ErrorCode::kResourceExhausted);

  FileSecretSource dir(dir_.string());
  auto d = read(dir);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("is not a regular file"), std::string::npos);
}

TEST(EnvSecretSourceTest, ReadsTheVariableEachTime) {
  const char* name = "IDP_AGENTS_TEST_SECRET";
  ::unsetenv(name);
  EnvSecretSource src(name);
  EXPECT_EQ(src.describe(), "environment variable IDP_AGENTS_TEST_SECRET");
  auto missing = read(src);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "environment variable IDP_AGENTS_TEST_SECRET is not set");

  ::setenv(name, "[]", 1);
  auto v1 = read(src);
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->text.reveal(), "[]");
  ::setenv(name, "[ ]", 1);
  EXPECT_NE(version(src).value(), v1->version);
  ::unsetenv(name);

  std::string fake = "[1]";
  EnvSecretSource injected("ANY", [&](const char*) { return fake.c_str(); });
  EXPECT_EQ(read(injected)->text.reveal(), "[1]");
}

TEST(MemorySecretSourceTest, SetChangesTheVersion) {
  MemorySecretSource src("[]");
  auto v1 = version(src).value();
  src.set("[]");
  EXPECT_EQ(version(src).value(), v1);
  src.set("[{}]");
  EXPECT_NE(version(src).value(), v1);
  EXPECT_EQ(read(src)->text.reveal(), "[{}]");
}

TEST(MakeSecretSourceTest, AwsNeedsAFactory) {
  boost::asio::io_context ioc;
  auto none = make_secret_source("aws-secretsmanager://IDP/external-mcp-agents/credentials",
                                 ioc.get_executor());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(none.error().message().find("use file://PATH or env://VAR"), std::string::npos);

  SecretUri seen;
  AwsSecretSourceFactory fake =
      [&](const SecretUri& uri,
          boost::asio::any_io_executor) -> Result<std::shared_ptr<SecretSource>> {
    seen = uri;
    return std::shared_ptr<SecretSource>(
        std::make_shared<MemorySecretSource>("[]", "fake secrets manager"));
  };
  auto made =
      make_secret_source("aws-secretsmanager://s?region=us-east-2", ioc.get_executor(), fake);
  ASSERT_TRUE(made);
  EXPECT_EQ((*made)->describe(), "fake secrets manager");
  EXPECT_EQ(seen.name, "s");
  EXPECT_EQ(seen.region, "us-east-2");

  auto file = make_secret_source("file:///tmp/x.json", ioc.get_executor());
  ASSERT_TRUE(file);
  EXPECT_EQ((*file)->describe(), "file /tmp/x.json");
  auto env = make_secret_source("env://X", ioc.get_executor());
  ASSERT_TRUE(env);
  EXPECT_EQ((*env)->describe(), "environment variable X");
  EXPECT_FALSE(make_secret_source("nope", ioc.get_executor()));
}

}  // namespace
}  // namespace idp::agents

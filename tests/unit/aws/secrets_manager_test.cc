// SecretsManagerClient against the fake-secretsmanager fixture (started as a process on
// 127.0.0.1, stopped by its pid), which verifies every SigV4 signature: success, a new version
// after a file edit, the documented errors and their advice, throttling.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "idp/aws/secrets_manager.h"
#include "idp/http/server.h"
#include "test_util.h"

namespace idp::aws {
namespace {

namespace net = boost::asio;
using std::chrono::milliseconds;
using testing::ChildServer;
using testing::run;
using testing::TempDir;

constexpr const char* kAgentsSecret =
    R"([{"agent_name":"Calculator","mcp_url":"https://mcp.example.com/mcp","cognito_user_pool_id":"us-east-1_AbC123"}])";

class SecretsManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    secrets_.write("idp/external-mcp-agents.json", kAgentsSecret);
    secrets_.write("binary-secret.bin", std::string("\x00\x01\x02", 3));
    secrets_.write("doomed.json", "[]");
    secrets_.write("doomed.deleted", "");
  }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {IDP_FAKE_SECRETSMANAGER,
                                     "--port",
                                     "0",
                                     "--secrets-dir",
                                     secrets_.path().string(),
                                     "--access-key-id",
                                     "AKIDTEST",
                                     "--secret-access-key",
                                     "test-secret",
                                     "--region",
                                     "us-east-1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string error;
    ASSERT_TRUE(fake_.start(argv, &error)) << error;
  }

  SecretsManagerOptions options(std::string key_id = "AKIDTEST",
                                std::string secret = "test-secret") {
    SecretsManagerOptions o;
    o.region = "us-east-1";
    o.endpoint = fake_.url();
    Credentials c;
    c.access_key_id = std::move(key_id);
    c.secret_access_key = Secret(std::move(secret));
    c.source = "test";
    o.credentials = std::make_shared<StaticCredentialsProvider>(std::move(c));
    o.retry.delay = [](int, milliseconds) { return milliseconds(5); };
    o.environment = Environment::from_map({});
    return o;
  }

  Result<SecretValue> get(SecretsManagerClient& client, std::string id) {
    return run(ioc_, client.get_secret_value(std::move(id)));
  }
  Result<SecretDescription> describe(SecretsManagerClient& client, std::string id) {
    return run(ioc_, client.describe_secret(std::move(id)));
  }

  net::io_context ioc_;
  TempDir secrets_{"secrets"};
  ChildServer fake_;
};

TEST_F(SecretsManagerTest, GetSecretValue) {
  start();
  SecretsManagerClient client(ioc_.get_executor(), options());
  auto v = get(client, "idp/external-mcp-agents");
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_EQ(v->value.reveal(), kAgentsSecret);
  EXPECT_EQ(v->name, "idp/external-mcp-agents");
  EXPECT_TRUE(v->arn.starts_with(
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:idp/external-mcp-agents-"))
      << v->arn;
  EXPECT_EQ(v->version_id.size(), 36u);
  EXPECT_EQ(v->version_stages, (std::vector<std::string>{"AWSCURRENT"}));
  ASSERT_TRUE(v->created_date);
  EXPECT_LT(std::chrono::abs(*v->created_date - std::chrono::system_clock::now()),
            std::chrono::minutes(5));

  // By ARN too, and DescribeSecret names the same current version.
  auto by_arn = get(client, v->arn);
  ASSERT_TRUE(by_arn) << by_arn.error().to_string();
  EXPECT_EQ(by_arn->version_id, v->version_id);
  auto d = describe(client, "idp/external-mcp-agents");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->current_version_id, v->version_id);
  EXPECT_EQ(d->arn, v->arn);
  EXPECT_TRUE(d->last_changed_date);
  EXPECT_FALSE(d->deleted_date);
}

TEST_F(SecretsManagerTest, EditingTheSecretMakesANewVersion) {
  start();
  SecretsManagerClient client(ioc_.get_executor(), options());
  auto v1 = get(client, "idp/external-mcp-agents");
  ASSERT_TRUE(v1);
  auto d1 = describe(client, "idp/external-mcp-agents");
  ASSERT_TRUE(d1);
  EXPECT_EQ(d1->current_version_id, v1->version_id);

  secrets_.write("idp/external-mcp-agents.json", "[]");
  auto d2 = describe(client, "idp/external-mcp-agents");
  ASSERT_TRUE(d2);
  EXPECT_NE(d2->current_version_id, v1->version_id);
  auto v2 = get(client, "idp/external-mcp-agents");
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->value.reveal(), "[]");
  EXPECT_EQ(v2->version_id, d2->current_version_id);
}

TEST_F(SecretsManagerTest, MissingSecret) {
  start();
  SecretsManagerClient client(ioc_.get_executor(), options());
  auto v = get(client, "nope");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(v.error().message(),
            "no secret named nope in region us-east-1; check the stack name (AWS_STACK_NAME) or "
            "the --secret option");
  EXPECT_EQ(v.error().details(),
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.");
  auto d = describe(client, "nope");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), ErrorCode::kNotFound);
}

TEST_F(SecretsManagerTest, BinarySecretIsAClearError) {
  start();
  SecretsManagerClient client(ioc_.get_executor(), options());
  auto v = get(client, "binary-secret");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(v.error().message(),
            "secret binary-secret holds binary data; store the JSON array as SecretString");
}

TEST_F(SecretsManagerTest, SecretScheduledForDeletion) {
  start();
  SecretsManagerClient client(ioc_.get_executor(), options());
  auto v = get(client, "doomed");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(v.error().message().find("restore-secret --secret-id doomed"), std::string::npos)
      << v.error().message();
  EXPECT_TRUE(v.error().details().starts_with("InvalidRequestException: "));
  auto d = describe(client, "doomed");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->deleted_date);
}

TEST_F(SecretsManagerTest, UnknownAccessKey) {
  start();
  SecretsManagerClient client(ioc_.get_executor(), options("AKIDWRONG", "test-secret"));
  auto v = get(client, "idp/external-mcp-agents");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(v.error().details().starts_with("UnrecognizedClientException: "))
      << v.error().details();
  EXPECT_NE(v.error().message().find("AWS does not recognize access key AKIDWRONG (from test)"),
            std::string::npos)
      << v.error().message();
}

TEST_F(SecretsManagerTest, WrongSecretKey) {
  start();
  SecretsManagerClient client(ioc_.get_executor(), options("AKIDTEST", "wrong-secret-value"));
  auto v = get(client, "idp/external-mcp-agents");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(v.error().details().starts_with(
      "InvalidSignatureException: The request signature we calculated does not match"))
      << v.error().details();
  EXPECT_NE(v.error().message().find("secret access key does not belong to the access key id"),
            std::string::npos);
  EXPECT_EQ(v.error().to_string().find("wrong-secret-value"), std::string::npos);
}

TEST_F(SecretsManagerTest, ClockSkew) {
  start();
  SecretsManagerOptions o = options();
  o.clock = [] { return std::chrono::system_clock::now() - std::chrono::minutes(20); };
  SecretsManagerClient client(ioc_.get_executor(), o);
  auto v = get(client, "idp/external-mcp-agents");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(v.error().details().starts_with("InvalidSignatureException: Signature expired: "))
      << v.error().details();
  EXPECT_NE(v.error().message().find("clock"), std::string::npos) << v.error().message();
}

TEST_F(SecretsManagerTest, ThrottledThenServed) {
  start({"--throttle-first", "2"});
  SecretsManagerClient client(ioc_.get_executor(), options());
  auto v = get(client, "idp/external-mcp-agents");
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_EQ(v->value.reveal(), kAgentsSecret);
}

TEST_F(SecretsManagerTest, ThrottledUntilRetriesRunOut) {
  start({"--throttle-first", "100"});
  SecretsManagerClient client(ioc_.get_executor(), options());
  auto v = get(client, "idp/external-mcp-agents");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(v.error().message().find("kept throttling"), std::string::npos) << v.error().message();
  EXPECT_TRUE(v.error().details().starts_with("ThrottlingException: "));
}

TEST_F(SecretsManagerTest, SessionTokenIsSigned) {
  start();
  SecretsManagerOptions o = options();
  Credentials c;
  c.access_key_id = "AKIDTEST";
  c.secret_access_key = Secret("test-secret");
  c.session_token = Secret("FwoGZXIvYXdzEJr//////////wEaDExampleSessionToken+/=");
  o.credentials = std::make_shared<StaticCredentialsProvider>(c);
  SecretsManagerClient client(ioc_.get_executor(), o);
  auto v = get(client, "idp/external-mcp-agents");
  ASSERT_TRUE(v) << v.error().to_string();
}

TEST_F(SecretsManagerTest, EverythingFromTheEnvironment) {
  start();
  TempDir home("home");
  SecretsManagerOptions o;
  o.environment = Environment::from_map({{"HOME", home.path().string()},
                                         {"AWS_REGION", "us-east-1"},
                                         {"AWS_ENDPOINT_URL_SECRETS_MANAGER", fake_.url()},
                                         {"AWS_ACCESS_KEY_ID", "AKIDTEST"},
                                         {"AWS_SECRET_ACCESS_KEY", "test-secret"}});
  SecretsManagerClient client(ioc_.get_executor(), o);
  EXPECT_EQ(client.region(), "us-east-1");
  EXPECT_EQ(client.endpoint(), fake_.url());
  auto v = get(client, "idp/external-mcp-agents");
  ASSERT_TRUE(v) << v.error().to_string();
}

TEST_F(SecretsManagerTest, NoRegion) {
  TempDir home("home");
  SecretsManagerOptions o;
  o.environment = Environment::from_map({{"HOME", home.path().string()}});
  SecretsManagerClient client(ioc_.get_executor(), o);
  auto v = get(client, "x");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message().find("no AWS region"), std::string::npos) << v.error().message();
}

TEST_F(SecretsManagerTest, UnreachableEndpoint) {
  SecretsManagerOptions o = options();
  o.endpoint = "http://127.0.0.1:1";
  SecretsManagerClient client(ioc_.get_executor(), o);
  auto v = get(client, "x");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(v.error().message().find("cannot reach Secrets Manager at http://127.0.0.1:1"),
            std::string::npos)
      << v.error().message();
}

TEST_F(SecretsManagerTest, NoCredentials) {
  start();
  TempDir home("home");
  SecretsManagerOptions o;
  o.environment = Environment::from_map({{"HOME", home.path().string()},
                                         {"AWS_REGION", "us-east-1"},
                                         {"AWS_ENDPOINT_URL", fake_.url()},
                                         {"AWS_EC2_METADATA_DISABLED", "true"}});
  SecretsManagerClient client(ioc_.get_executor(), o);
  auto v = get(client, "idp/external-mcp-agents");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(v.error().message().starts_with(
      "cannot read secret idp/external-mcp-agents in region us-east-1: "))
      << v.error().message();
  EXPECT_NE(v.error().message().find("no AWS credentials: tried environment"), std::string::npos);
}

// The errors the fake does not produce, from a scripted endpoint: each gets its advice.
TEST(SecretsManagerAdvice, DocumentedErrors) {
  struct Case {
    std::string type;
    int status;
    ErrorCode code;
    std::string advice;
  };
  std::vector<Case> cases = {
      {"AccessDeniedException", 400, ErrorCode::kPermissionDenied,
       "allow secretsmanager:GetSecretValue"},
      {"DecryptionFailure", 400, ErrorCode::kPermissionDenied, "allow kms:Decrypt on the key"},
      {"InvalidParameterException", 400, ErrorCode::kInvalidArgument,
       "check the secret name or ARN"},
      {"InvalidRequestException", 400, ErrorCode::kInvalidArgument, "restore-secret"},
      {"ExpiredTokenException", 400, ErrorCode::kUnauthenticated,
       "session token of access key AKIDTEST"},
      {"InternalServiceError", 500, ErrorCode::kUnavailable,
       "failed internally (InternalServiceError)"},
      {"IncompleteSignature", 400, ErrorCode::kUnauthenticated, "request signature"},
      {"SomethingNew", 400, ErrorCode::kInvalidArgument,
       "cannot read secret s in region us-east-1: "},
  };
  std::mutex mu;
  std::string type;
  int status = 400;
  http::Server server{http::ServerOptions{}};
  server.route("POST", "/",
               [&](const http::Request&, http::Responder& res) -> net::awaitable<void> {
                 http::Response r;
                 {
                   std::lock_guard lock(mu);
                   r.status = status;
                   r.body = R"({"__type":")" + type + R"(","Message":"aws says no"})";
                 }
                 co_await res.send(std::move(r));
               });
  auto port = server.start();
  ASSERT_TRUE(port);
  net::io_context ioc;
  SecretsManagerOptions o;
  o.region = "us-east-1";
  o.endpoint = "http://127.0.0.1:" + std::to_string(*port);
  Credentials c;
  c.access_key_id = "AKIDTEST";
  c.secret_access_key = Secret("test-secret");
  c.source = "test";
  o.credentials = std::make_shared<StaticCredentialsProvider>(c);
  o.retry.delay = [](int, milliseconds) { return milliseconds(1); };
  SecretsManagerClient client(ioc.get_executor(), o);
  for (const auto& k : cases) {
    {
      std::lock_guard lock(mu);
      type = k.type;
      status = k.status;
    }
    auto v = run(ioc, client.get_secret_value("s"));
    ASSERT_FALSE(v) << k.type;
    EXPECT_EQ(v.error().code(), k.code) << k.type;
    EXPECT_NE(v.error().message().find(k.advice), std::string::npos)
        << k.type << ": " << v.error().message();
    EXPECT_EQ(v.error().details(), k.type + ": aws says no");
    EXPECT_EQ(v.error().to_string().find("test-secret"), std::string::npos);
  }
}

}  // namespace
}  // namespace idp::aws

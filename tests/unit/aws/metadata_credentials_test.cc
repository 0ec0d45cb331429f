// The credential chain's network sources against fake ECS/EKS container and EC2 IMDS endpoints
// served by idp::http::Server on 127.0.0.1.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>

#include "../../lib/reserved_port.h"
#include "idp/aws/credentials.h"
#include "idp/http/server.h"
#include "test_util.h"

namespace idp::aws {
namespace {

namespace net = boost::asio;
using http::Request;
using http::Responder;
using http::Response;
using net::awaitable;
using std::chrono::system_clock;
using testing::run;
using testing::TempDir;

std::string iso(system_clock::time_point t) {
  std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string creds_json(const std::string& key, system_clock::time_point expires) {
  return R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":")" + key +
         R"(","SecretAccessKey":"metadata-secret","Token":"metadata-token","Expiration":")" +
         iso(expires) + R"(","LastUpdated":"2024-01-01T00:00:00Z"})";
}

class MetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vars_["HOME"] = home_.path().string();  // no ~/.aws files
  }
  void start() {
    auto p = server_.start();
    ASSERT_TRUE(p) << p.error().message();
    base_ = "http://127.0.0.1:" + std::to_string(*p);
  }
  Result<Credentials> get(const Environment& env) {
    DefaultCredentialsChain chain(ioc_.get_executor(), env);
    return run(ioc_, chain.get());
  }

  net::io_context ioc_;
  TempDir home_{"home"};
  std::map<std::string, std::string> vars_;
  std::atomic<int> hits_{0};  // before server_: handlers use it until the server stops
  http::Server server_{http::ServerOptions{}};
  std::string base_;
};

TEST_F(MetadataTest, ContainerRelativeUri) {
  auto expires = system_clock::now() + std::chrono::hours(6);
  server_.route("GET", "/v2/credentials/task-123",
                [&](const Request& req, Responder& res) -> awaitable<void> {
                  ++hits_;
                  Response r = req.header("Authorization")
                                   ? Response::json(400, "{}")
                                   : Response::json(200, creds_json("ASIACONTAINER", expires));
                  co_await res.send(std::move(r));
                });
  start();
  vars_["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/task-123";
  vars_["AWS_EC2_METADATA_DISABLED"] = "true";
  Environment env = Environment::from_map(vars_);
  env.container_endpoint = base_;
  auto c = get(env);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->access_key_id, "ASIACONTAINER");
  EXPECT_EQ(c->secret_access_key.reveal(), "metadata-secret");
  EXPECT_EQ(c->session_token->reveal(), "metadata-token");
  ASSERT_TRUE(c->expiration);
  EXPECT_LE(std::chrono::abs(*c->expiration - expires), std::chrono::seconds(1));
  EXPECT_EQ(c->source, "container credentials");
  EXPECT_EQ(hits_.load(), 1);
}

TEST_F(MetadataTest, ContainerFullUriWithAuthorizationTokenFile) {
  auto expires = system_clock::now() + std::chrono::hours(6);
  server_.route("GET", "/pod-identity", [&](const Request& req, Responder& res) -> awaitable<void> {
    ++hits_;
    bool ok = req.header("Authorization").value_or("") == "file-token";
    Response r = ok ? Response::json(200, creds_json("ASIAPOD", expires))
                    : Response::json(401, R"({"code":"AccessDenied","message":"bad token"})");
    co_await res.send(std::move(r));
  });
  start();
  vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = base_ + "/pod-identity";
  vars_["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "env-token";
  vars_["AWS_EC2_METADATA_DISABLED"] = "true";
  // The file wins over the variable.
  vars_["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = home_.write("token", "file-token\n").string();
  auto c = get(Environment::from_map(vars_));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->access_key_id, "ASIAPOD");

  // A rejected token stops the chain with the endpoint's words, never the token.
  vars_["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = home_.write("token", "stale-token").string();
  auto bad = get(Environment::from_map(vars_));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(bad.error().message().find("HTTP 401: bad token"), std::string::npos)
      << bad.error().message();
  EXPECT_EQ(bad.error().message().find("stale-token"), std::string::npos);
}

TEST_F(MetadataTest, ContainerServerErrorsAreRetriedOnceThenReported) {
  server_.route("GET", "/creds", [&](const Request&, Responder& res) -> awaitable<void> {
    ++hits_;
    Response r = Response::json(500, R"({"message":"agent restarting"})");
    co_await res.send(std::move(r));
  });
  start();
  vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = base_ + "/creds";
  auto c = get(Environment::from_map(vars_));
  ASSERT_FALSE(c);
  EXPECT_EQ(hits_.load(), 2);
  EXPECT_NE(
      c.error().message().find("container credentials at " + base_ + "/creds answered HTTP 500"),
      std::string::npos)
      << c.error().message();
}

TEST_F(MetadataTest, UnreachableContainerEndpointStopsTheChain) {
  test::ReservedPort closed;  // nothing listens on it
  vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] =
      "http://127.0.0.1:" + std::to_string(closed.port()) + "/creds";
  auto c = get(Environment::from_map(vars_));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(c.error().message().find("container credentials at"), std::string::npos);
}

void imds_routes(http::Server& s, std::atomic<int>* creds_hits,
                 std::function<system_clock::time_point()> expiry, bool v2 = true) {
  if (v2) {
    s.route("PUT", "/latest/api/token", [](const Request& req, Responder& res) -> awaitable<void> {
      bool ok = req.header("X-aws-ec2-metadata-token-ttl-seconds").value_or("") == "21600";
      Response r = ok ? Response::text(200, "TOKEN-123") : Response::text(400, "missing ttl");
      co_await res.send(std::move(r));
    });
  }
  auto token_ok = [v2](const Request& req) {
    return !v2 || req.header("X-aws-ec2-metadata-token").value_or("") == "TOKEN-123";
  };
  s.route("GET", "/latest/meta-data/iam/security-credentials/",
          [token_ok](const Request& req, Responder& res) -> awaitable<void> {
            Response r =
                token_ok(req) ? Response::text(200, "idp-role\n") : Response::text(401, "");
            co_await res.send(std::move(r));
          });
  s.route("GET", "/latest/meta-data/iam/security-credentials/idp-role",
          [token_ok, creds_hits, expiry](const Request& req, Responder& res) -> awaitable<void> {
            ++*creds_hits;
            Response r = token_ok(req) ? Response::json(200, creds_json("ASIAIMDS", expiry()))
                                       : Response::text(401, "");
            co_await res.send(std::move(r));
          });
}

TEST_F(MetadataTest, ImdsV2TokenRoleCredentials) {
  imds_routes(server_, &hits_, [] { return system_clock::now() + std::chrono::hours(6); });
  start();
  Environment env = Environment::from_map(vars_);
  env.imds_endpoint = base_;
  auto c = get(env);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS");
  EXPECT_EQ(c->session_token->reveal(), "metadata-token");
  EXPECT_EQ(c->source, "EC2 instance metadata (role idp-role)");

  // The endpoint variable works too.
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = base_ + "/";
  auto c2 = get(Environment::from_map(vars_));
  ASSERT_TRUE(c2) << c2.error().message();
  EXPECT_EQ(c2->access_key_id, "ASIAIMDS");
}

TEST_F(MetadataTest, ImdsCredentialsAreRefreshedBeforeTheyExpire) {
  std::atomic<int> minutes{3};
  imds_routes(server_, &hits_,
              [&] { return system_clock::now() + std::chrono::minutes(minutes.load()); });
  start();
  Environment env = Environment::from_map(vars_);
  env.imds_endpoint = base_;
  DefaultCredentialsChain chain(ioc_.get_executor(), env);
  ASSERT_TRUE(run(ioc_, chain.get()));
  ASSERT_TRUE(run(ioc_, chain.get()));  // 3 minutes left: inside the 5 minute margin
  EXPECT_EQ(hits_.load(), 2);
  minutes = 60;
  ASSERT_TRUE(run(ioc_, chain.get()));
  ASSERT_TRUE(run(ioc_, chain.get()));
  ASSERT_TRUE(run(ioc_, chain.get()));
  EXPECT_EQ(hits_.load(), 3);
  EXPECT_EQ(chain.fetches(), 3);
}

TEST_F(MetadataTest, ImdsV1FallbackUnlessDisabled) {
  imds_routes(
      server_, &hits_, [] { return system_clock::now() + std::chrono::hours(6); }, /*v2=*/false);
  start();
  Environment env = Environment::from_map(vars_);
  env.imds_endpoint = base_;
  auto c = get(env);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS");

  vars_["AWS_EC2_METADATA_V1_DISABLED"] = "true";
  Environment strict = Environment::from_map(vars_);
  strict.imds_endpoint = base_;
  auto refused = get(strict);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("IMDSv1 is disabled"), std::string::npos)
      << refused.error().message();
}

TEST_F(MetadataTest, ImdsWithoutRole) {
  server_.route("PUT", "/latest/api/token", [](const Request&, Responder& res) -> awaitable<void> {
    Response r = Response::text(200, "TOKEN");
    co_await res.send(std::move(r));
  });
  start();
  Environment env = Environment::from_map(vars_);
  env.imds_endpoint = base_;
  auto c = get(env);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(c.error().message().find("no IAM role is attached to this instance"), std::string::npos)
      << c.error().message();
}

TEST_F(MetadataTest, UnreachableImdsFailsFast) {
  Environment env = Environment::from_map(vars_);
  test::ReservedPort closed;  // nothing listens on it
  env.imds_endpoint = "http://127.0.0.1:" + std::to_string(closed.port());
  auto c = get(env);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().message().starts_with("no AWS credentials: tried environment"))
      << c.error().message();
  EXPECT_NE(c.error().message().find("EC2 instance metadata at " + env.imds_endpoint + " ("),
            std::string::npos)
      << c.error().message();
}

}  // namespace
}  // namespace idp::aws

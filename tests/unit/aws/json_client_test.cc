// JsonClient against a scripted AWS JSON 1.1 endpoint on 127.0.0.1: the request it sends (signed,
// the right headers), error decoding in all the shapes AWS uses, retries with backoff, and a
// fresh credentials fetch after ExpiredTokenException.
#include <gtest/gtest.h>

#include <set>

#include <boost/json/object.hpp>

#include <atomic>
#include <deque>
#include <mutex>

#include "idp/aws/json_client.h"
#include "idp/aws/sigv4.h"
#include "idp/http/server.h"
#include "test_util.h"

namespace idp::aws {
namespace {

namespace net = boost::asio;
namespace bj = boost::json;
using http::Request;
using http::Responder;
using http::Response;
using net::awaitable;
using std::chrono::milliseconds;
using testing::run;

struct Scripted {
  int status;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};
};

struct Seen {
  std::string target;
  std::string content_type;
  std::string authorization;
  std::string amz_date;
  std::string token;
  std::string host;
  std::string body;
};

// Counts fetches and invalidations; hands out a new session token after each invalidation.
class CountingProvider final : public CredentialsProvider {
 public:
  awaitable<Result<Credentials>> get() override {
    ++gets;
    Credentials c;
    c.access_key_id = "AKIDTEST";
    c.secret_access_key = Secret("test-secret");
    c.session_token = Secret("token-" + std::to_string(invalidations.load()));
    c.source = "test";
    co_return c;
  }
  void invalidate() override { ++invalidations; }
  std::atomic<int> gets{0};
  std::atomic<int> invalidations{0};
};

class JsonClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.route("POST", "/", [this](const Request& req, Responder& res) -> awaitable<void> {
      Scripted next{200, "{}"};
      {
        std::lock_guard lock(mu_);
        Seen s;
        s.target = std::string(req.header("X-Amz-Target").value_or(""));
        s.content_type = std::string(req.header("Content-Type").value_or(""));
        s.authorization = std::string(req.header("Authorization").value_or(""));
        s.amz_date = std::string(req.header("X-Amz-Date").value_or(""));
        s.token = std::string(req.header("X-Amz-Security-Token").value_or(""));
        s.host = std::string(req.header("Host").value_or(""));
        s.body = std::string(req.body());
        seen_.push_back(std::move(s));
        if (!script_.empty()) {
          next = script_.front();
          script_.pop_front();
        }
      }
      Response r;
      r.status = next.status;
      r.body = next.body;
      r.headers.add("Content-Type", "application/x-amz-json-1.1");
      for (auto& [k, v] : next.headers) r.headers.add(k, v);
      co_await res.send(std::move(r));
    });
    auto p = server_.start();
    ASSERT_TRUE(p) << p.error().message();
    endpoint_ = "http://127.0.0.1:" + std::to_string(*p);
  }

  void script(std::vector<Scripted> items) {
    std::lock_guard lock(mu_);
    for (auto& i : items) script_.push_back(std::move(i));
  }

  JsonClientOptions options(std::string endpoint = "") {
    JsonClientOptions o;
    o.region = "us-east-1";
    o.endpoint = endpoint.empty() ? endpoint_ : endpoint;
    o.credentials = provider_;
    o.retry.delay = [this](int retry, milliseconds ceiling) {
      std::lock_guard lock(mu_);
      ceilings_.push_back({retry, ceiling.count()});
      return milliseconds(1);
    };
    return o;
  }

  Result<bj::object> call(JsonClient& client,
                          std::string target = "secretsmanager.GetSecretValue") {
    bj::object body;
    body["SecretId"] = "my-secret";
    std::string service = "secretsmanager";
    return run(ioc_, client.call(std::move(service), std::move(target), std::move(body)));
  }

  net::io_context ioc_;
  std::shared_ptr<CountingProvider> provider_ = std::make_shared<CountingProvider>();
  std::mutex mu_;
  std::deque<Scripted> script_;
  std::vector<Seen> seen_;
  std::vector<std::pair<int, long long>> ceilings_;
  http::Server server_{http::ServerOptions{}};
  std::string endpoint_;
};

TEST_F(JsonClientTest, SendsASignedJson11Request) {
  script({{200, R"({"Name":"my-secret","SecretString":"[]"})"}});
  JsonClient client(ioc_.get_executor(), options());
  auto r = call(client);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->at("Name").as_string(), "my-secret");
  ASSERT_EQ(seen_.size(), 1u);
  const Seen& s = seen_[0];
  EXPECT_EQ(s.target, "secretsmanager.GetSecretValue");
  EXPECT_EQ(s.content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(s.body, R"({"SecretId":"my-secret"})");
  EXPECT_EQ(s.token, "token-0");
  EXPECT_EQ(s.host, endpoint_.substr(7));
  auto auth = parse_authorization(s.authorization);
  ASSERT_TRUE(auth) << s.authorization;
  EXPECT_EQ(auth->access_key_id, "AKIDTEST");
  EXPECT_EQ(auth->region, "us-east-1");
  EXPECT_EQ(auth->service, "secretsmanager");
  EXPECT_EQ(auth->signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-amz-date", "x-amz-security-token",
                                      "x-amz-target"}));
  EXPECT_EQ(auth->date, s.amz_date.substr(0, 8));
}

TEST_F(JsonClientTest, DecodesErrorShapes) {
  script({
      {400,
       R"({"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","Message":"not here"})",
       {{"x-amzn-RequestId", "req-1"}}},
      {403,
       R"({"message":"sig"})",
       {{"X-Amzn-ErrorType",
         "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/"}}},
      {400, R"({"code":"AccessDeniedException","message":"no way"})"},
      {400, R"({"__type":"ValidationException","message":"bad input"})"},
  });
  JsonClient client(ioc_.get_executor(), options());

  auto a = call(client);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), ErrorCode::kNotFound);
  auto se = service_error(a.error());
  ASSERT_TRUE(se);
  EXPECT_EQ(se->type, "ResourceNotFoundException");
  EXPECT_EQ(se->message, "not here");
  EXPECT_NE(a.error().message().find("secretsmanager.GetSecretValue at 127.0.0.1:"),
            std::string::npos);
  EXPECT_NE(a.error().message().find("HTTP 400 ResourceNotFoundException (request id req-1)"),
            std::string::npos)
      << a.error().message();

  auto b = call(client);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(service_error(b.error())->type, "InvalidSignatureException");
  EXPECT_EQ(service_error(b.error())->message, "sig");

  auto c = call(client);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(service_error(c.error())->type, "AccessDeniedException");

  auto d = call(client);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(seen_.size(), 4u);  // none of these is retried
}

TEST_F(JsonClientTest, RetriesThrottlingWithExponentialCeilings) {
  script({{400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"},
          {429, R"({"__type":"TooManyRequestsException","message":"slow down"})"},
          {200, R"({"ok":true})"}});
  JsonClient client(ioc_.get_executor(), options());
  auto r = call(client);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(seen_.size(), 3u);
  EXPECT_EQ(client.stats().attempts, 3);
  EXPECT_EQ(client.stats().retries, 2);
  ASSERT_EQ(ceilings_.size(), 2u);
  EXPECT_EQ(ceilings_[0], (std::pair<int, long long>{1, 100}));
  EXPECT_EQ(ceilings_[1], (std::pair<int, long long>{2, 200}));
  // Each attempt is signed afresh.
  EXPECT_FALSE(seen_[0].authorization.empty());
  EXPECT_FALSE(seen_[2].authorization.empty());
}

TEST_F(JsonClientTest, GivesUpAfterThreeAttempts) {
  script({{400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"},
          {400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"},
          {400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"},
          {200, "{}"}});
  JsonClient client(ioc_.get_executor(), options());
  auto r = call(client);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("gave up after 3 attempts"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(service_error(r.error())->type, "ThrottlingException");
  EXPECT_EQ(seen_.size(), 3u);
}

TEST_F(JsonClientTest, CapsTheBackoff) {
  script({{500, R"({"__type":"InternalServiceError","message":"oops"})"},
          {503, "<html>Service Unavailable</html>"},
          {502, "<html>Bad Gateway</html>"},
          {502, "<html>Bad Gateway</html>"},
          {502, "<html>Bad Gateway</html>"}});
  JsonClientOptions o = options();
  o.retry.max_attempts = 5;
  o.retry.base = milliseconds(1500);
  JsonClient client(ioc_.get_executor(), o);
  auto r = call(client);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("HTTP 502: <html>Bad Gateway</html>"), std::string::npos)
      << r.error().message();
  EXPECT_FALSE(service_error(r.error()));
  ASSERT_EQ(ceilings_.size(), 4u);
  EXPECT_EQ(ceilings_[0].second, 1500);
  EXPECT_EQ(ceilings_[1].second, 2000);
  EXPECT_EQ(ceilings_[3].second, 2000);
}

TEST_F(JsonClientTest, DefaultBackoffStaysUnderItsCeiling) {
  script({{400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"},
          {400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"},
          {200, "{}"}});
  JsonClientOptions o = options();
  o.retry.delay = nullptr;  // the real full jitter, with small numbers
  o.retry.base = milliseconds(20);
  o.retry.cap = milliseconds(30);
  JsonClient client(ioc_.get_executor(), o);
  ASSERT_TRUE(call(client));
  EXPECT_EQ(seen_.size(), 3u);
  // The real jitter: every pause within [0, ceiling], and not always the same.
  std::set<long long> pauses;
  for (int i = 0; i < 2000; ++i) {
    const auto d = full_jitter(1 + i % 3, milliseconds(30)).count();
    ASSERT_GE(d, 0);
    ASSERT_LE(d, 30);
    pauses.insert(d);
  }
  EXPECT_GT(pauses.size(), 10u);
  EXPECT_EQ(full_jitter(1, milliseconds(0)).count(), 0);
}

TEST_F(JsonClientTest, ConnectionFailuresAreRetried) {
  http::Server gone{http::ServerOptions{}};
  auto p = gone.start();
  ASSERT_TRUE(p);
  gone.stop();
  gone.wait();
  JsonClient client(ioc_.get_executor(), options("http://127.0.0.1:" + std::to_string(*p)));
  auto r = call(client);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client.stats().attempts, 3);
  EXPECT_FALSE(service_error(r.error()));
}

TEST_F(JsonClientTest, ExpiredTokenFetchesNewCredentialsOnce) {
  script(
      {{400,
        R"({"__type":"ExpiredTokenException","message":"The security token included in the request is expired"})"},
       {200, "{}"}});
  JsonClient client(ioc_.get_executor(), options());
  auto r = call(client);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(provider_->invalidations.load(), 1);
  EXPECT_EQ(provider_->gets.load(), 2);
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].token, "token-0");
  EXPECT_EQ(seen_[1].token, "token-1");
}

TEST_F(JsonClientTest, BadConfiguration) {
  JsonClientOptions o = options("not a url");
  JsonClient client(ioc_.get_executor(), o);
  auto r = call(client);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  JsonClientOptions none = options();
  none.credentials = nullptr;
  JsonClient client2(ioc_.get_executor(), none);
  EXPECT_FALSE(call(client2));
}

}  // namespace
}  // namespace idp::aws

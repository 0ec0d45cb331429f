// BearerAuth's JWKS rules, one test each, driven by a ManualTime: keys cached for the TTL and
// then refreshed in the background, one fetch shared by every waiting request, back-off after a
// failed fetch, the last good keys served while the issuer is down (up to jwks_max_age), the
// unknown-kid refetch limit, and the URL policy of the JWKS URL. The issuer is a real HTTP server
// on 127.0.0.1 that counts the fetches it answers.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "../../lib/digest_sign.h"
#include "idp/auth/bearer_auth.h"
#include "idp/core/cancel.h"
#include "idp/core/cancel_wait.h"
#include "idp/core/clock.h"
#include "idp/core/random.h"
#include "idp/http/server.h"

namespace idp::auth {
namespace {

namespace net = boost::asio;
namespace bj = boost::json;
using namespace std::chrono_literals;
using net::awaitable;

constexpr std::string_view kIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Jwks";
constexpr std::chrono::seconds kEventTimeout{20};  // a guard against hangs, not a time limit

struct Key {
  std::shared_ptr<EVP_PKEY> pkey;
  std::string kid;

  static Key make(std::string kid) {
    return Key{std::shared_ptr<EVP_PKEY>(
                   EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}), EVP_PKEY_free),
               std::move(kid)};
  }
  std::string param(const char* name) const {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(pkey.get(), name, &bn);
    std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    BN_free(bn);
    return out;
  }
  bj::object jwk() const {
    return {{"kty", "RSA"},
            {"kid", kid},
            {"use", "sig"},
            {"alg", "RS256"},
            {"n", base64url_encode(param(OSSL_PKEY_PARAM_RSA_N))},
            {"e", base64url_encode(param(OSSL_PKEY_PARAM_RSA_E))}};
  }
  std::string sign(std::string_view input) const {
    return test::digest_sign(pkey.get(), "SHA256", input);
  }
};

// The issuer's JWKS endpoint: answers with the published keys or a status, counts what it
// answers, and can hold its answers until the test opens the gate.
class Issuer {
 public:
  Issuer() {
    server_.route("GET", "/jwks.json",
                  [this](const http::Request&, http::Responder& res) -> awaitable<void> {
                    std::shared_ptr<CancelSignal> gate;
                    {
                      std::lock_guard lock(mu_);
                      gate = gate_;
                    }
                    co_await wait_cancelled(gate);  // at once when the gate is open
                    http::Response r;
                    {
                      std::lock_guard lock(mu_);
                      r = status_ == 200 ? http::Response::json(200, bj::serialize(jwks_))
                                         : http::Response::text(status_, "down for maintenance");
                      ++answered_;
                    }
                    cv_.notify_all();
                    co_await res.send(std::move(r));
                  });
    port_ = server_.start().value();
  }
  ~Issuer() {
    open_gate();
    server_.stop();
    server_.wait();
  }

  std::string url() const { return fmt::format("http://127.0.0.1:{}/jwks.json", port_); }
  std::uint16_t port() const { return port_; }

  void publish(const std::vector<const Key*>& keys) {
    bj::array a;
    for (const Key* k : keys) a.push_back(k->jwk());
    std::lock_guard lock(mu_);
    jwks_ = bj::object{{"keys", std::move(a)}};
  }
  void set_status(int status) {
    std::lock_guard lock(mu_);
    status_ = status;
  }
  void close_gate() {
    std::lock_guard lock(mu_);
    gate_ = std::make_shared<CancelSignal>();
  }
  void open_gate() {  // a cancelled signal lets every wait through
    std::shared_ptr<CancelSignal> gate;
    {
      std::lock_guard lock(mu_);
      gate = gate_;
    }
    gate->cancel();
  }
  int answered() const {
    std::lock_guard lock(mu_);
    return answered_;
  }
  // Waits until `n` fetches were answered.
  bool wait_answered(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kEventTimeout, [&] { return answered_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bj::object jwks_{{"keys", bj::array{}}};
  int status_ = 200;
  int answered_ = 0;
  std::shared_ptr<CancelSignal> gate_ = [] {
    auto open = std::make_shared<CancelSignal>();
    open->cancel();
    return open;
  }();
  http::Server server_{http::ServerOptions{}};
  std::uint16_t port_ = 0;
};

class BearerAuthJwksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    k1_ = new Key(Key::make("k1"));
    k2_ = new Key(Key::make("k2"));
  }
  static void TearDownTestSuite() {
    delete k1_;
    delete k2_;
  }

  void SetUp() override {
    issuer_.publish({k1_});
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  void TearDown() override {
    auth_.reset();
    work_.reset();
    for (auto& t : threads_) t.join();
  }

  BearerAuth& auth(std::string jwks_url = {}) {
    BearerAuthOptions o;
    o.rules.issuer = kIssuer;
    o.rules.client_ids = {"client-a"};
    o.jwks_url = jwks_url.empty() ? issuer_.url() : jwks_url;
    o.clock = clock_;
    auth_ = std::make_unique<BearerAuth>(o);
    return *auth_;
  }

  // A fresh access token (a new jti each time, so the verified-token cache never answers).
  std::string token(const Key& key) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count();
    bj::object claims{{"sub", "alice"},        {"iss", kIssuer}, {"client_id", "client-a"},
                      {"token_use", "access"}, {"iat", now},     {"exp", now + 48 * 3600},
                      {"jti", random_token(9)}};
    std::string input =
        base64url_encode(bj::serialize(bj::object{{"alg", "RS256"}, {"kid", key.kid}})) + "." +
        base64url_encode(bj::serialize(claims));
    return input + "." + base64url_encode(key.sign(input));
  }

  std::future<std::expected<std::shared_ptr<const mcp::Identity>, JwtError>> start_check(
      std::string t) {
    return net::co_spawn(ioc_, auth_->check(std::move(t)), net::use_future);
  }
  // Accepted (true) or refused for want of keys (false); any other outcome fails the test.
  bool accepted(std::string t) {
    auto r = start_check(std::move(t)).get();
    if (r) return true;
    EXPECT_EQ(r.error().failure, JwtFailure::kUnknownKey) << r.error().message;
    return false;
  }
  // Waits until `done` holds (for state that has no event to wait on, such as a parked request).
  template <class F>
  bool eventually(F done) {
    const auto limit = std::chrono::steady_clock::now() + kEventTimeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > limit) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

  static Key* k1_;
  static Key* k2_;
  std::shared_ptr<ManualTime> clock_ = std::make_shared<ManualTime>();
  Issuer issuer_;
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{
      ioc_.get_executor()};
  std::vector<std::thread> threads_;
  std::unique_ptr<BearerAuth> auth_;
};

Key* BearerAuthJwksTest::k1_ = nullptr;
Key* BearerAuthJwksTest::k2_ = nullptr;

TEST_F(BearerAuthJwksTest, KeysAreFetchedOnceAndUsedForTheTtl) {
  auth();
  EXPECT_TRUE(accepted(token(*k1_)));
  clock_->advance(9min);
  EXPECT_TRUE(accepted(token(*k1_)));
  EXPECT_TRUE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 1);
  EXPECT_EQ(auth_->stats().jwks_fetches, 1u);
}

TEST_F(BearerAuthJwksTest, AfterTheTtlKeysAreRefreshedWithoutMakingTheRequestWait) {
  auth();
  EXPECT_TRUE(accepted(token(*k1_)));
  clock_->advance(11min);
  issuer_.close_gate();  // the refresh cannot finish until the gate opens
  // Served with the keys held while the refresh is held at the issuer.
  EXPECT_TRUE(accepted(token(*k1_)));
  EXPECT_TRUE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 1);
  issuer_.open_gate();
  ASSERT_TRUE(issuer_.wait_answered(2));
  EXPECT_TRUE(eventually([&] { return auth_->stats().jwks_fetches == 2; }));
  EXPECT_TRUE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 2);
}

TEST_F(BearerAuthJwksTest, ConcurrentRequestsShareOneFetch) {
  auth();
  issuer_.close_gate();
  std::vector<std::future<std::expected<std::shared_ptr<const mcp::Identity>, JwtError>>> calls;
  for (int i = 0; i < 8; ++i) calls.push_back(start_check(token(*k1_)));
  // Every request is parked on the one fetch, which the issuer holds.
  ASSERT_TRUE(eventually([&] { return auth_->stats().jwks_waiting == 8; }))
      << auth_->stats().jwks_waiting;
  issuer_.open_gate();
  for (auto& c : calls) {
    auto r = c.get();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ((*r)->subject, "alice");
  }
  EXPECT_EQ(issuer_.answered(), 1);
  EXPECT_EQ(auth_->stats().jwks_fetches, 1u);
  EXPECT_EQ(auth_->stats().jwks_waiting, 0u);
}

TEST_F(BearerAuthJwksTest, AFailedFetchIsRememberedWithBackOff) {
  auth();
  issuer_.set_status(503);
  EXPECT_FALSE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 1);
  // While backing off, requests fail at once: none of them reaches the issuer or waits for it.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 1);
  clock_->advance(1s);  // the first back-off (1 s) has passed
  EXPECT_FALSE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 2);
  clock_->advance(1s);  // the second one is 2 s
  EXPECT_FALSE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 2);
  clock_->advance(1s);
  EXPECT_FALSE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 3);
  EXPECT_EQ(auth_->stats().jwks_fetch_failures, 3u);
  // The back-off doubles up to jwks_retry_max (30 s) and no further.
  for (int i = 0; i < 6; ++i) {
    clock_->advance(30s);
    EXPECT_FALSE(accepted(token(*k1_)));
  }
  EXPECT_EQ(issuer_.answered(), 9);
  issuer_.set_status(200);
  clock_->advance(30s);
  EXPECT_TRUE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 10);
}

TEST_F(BearerAuthJwksTest, LastGoodKeysServeWhileTheIssuerIsDownUpToTheMaxAge) {
  auth();
  EXPECT_TRUE(accepted(token(*k1_)));
  issuer_.set_status(503);
  clock_->advance(11min);
  EXPECT_TRUE(accepted(token(*k1_)));  // stale keys; the refresh fails in the background
  ASSERT_TRUE(issuer_.wait_answered(2));
  EXPECT_TRUE(eventually([&] { return auth_->stats().jwks_fetch_failures == 1; }));
  clock_->advance(48min);  // 59 minutes old
  EXPECT_TRUE(accepted(token(*k1_)));
  clock_->advance(1min + 1s);  // past jwks_max_age (1 h): the keys are no longer trusted
  EXPECT_FALSE(accepted(token(*k1_)));
  issuer_.set_status(200);
  clock_->advance(1min);
  EXPECT_TRUE(accepted(token(*k1_)));
}

TEST_F(BearerAuthJwksTest, UnknownKidRefetchesAtMostOncePerInterval) {
  auth();
  EXPECT_TRUE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 1);
  // k2 is not published: within 30 s of the last fetch no refetch happens.
  EXPECT_FALSE(accepted(token(*k2_)));
  EXPECT_EQ(issuer_.answered(), 1);
  clock_->advance(31s);
  EXPECT_FALSE(accepted(token(*k2_)));
  EXPECT_EQ(issuer_.answered(), 2);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(accepted(token(*k2_)));  // a flood of unknown kids
  EXPECT_EQ(issuer_.answered(), 2);
  issuer_.publish({k1_, k2_});  // the pool rotates its keys
  clock_->advance(31s);
  EXPECT_TRUE(accepted(token(*k2_)));
  EXPECT_TRUE(accepted(token(*k1_)));
  EXPECT_EQ(issuer_.answered(), 3);
}

TEST_F(BearerAuthJwksTest, JwksUrlMustBeHttpsOrTrueLoopback) {
  // Each of these looks like loopback to a prefix test; several resolve to 127.0.0.1 (the
  // issuer's address) and would reach its port if the policy let them through.
  const std::uint16_t port = issuer_.port();
  for (const char* host :
       {"localhost.attacker.example", "127.attacker.example", "127.0.0.1@attacker.example",
        "127.0.0.1@localhost", "127.0.0.1.nip.io", "2130706433", "0x7f000001", "0177.0.0.1",
        "127.1", "[::ffff:127.0.0.1]", "localhost.", "127.0.0.1."}) {
    const std::string url = fmt::format("http://{}:{}/jwks.json", host, port);
    auth(url);
    EXPECT_FALSE(accepted(token(*k1_))) << url;
    EXPECT_EQ(auth_->stats().jwks_fetch_failures, 1u) << url;
  }
  EXPECT_EQ(issuer_.answered(), 0);
  // The true loopback spellings, in any letter case, are fetched over plain http.
  for (const char* host : {"LOCALHOST", "127.0.0.1"}) {
    const std::string url = fmt::format("http://{}:{}/jwks.json", host, port);
    auth(url);
    EXPECT_TRUE(accepted(token(*k1_))) << url;
  }
  EXPECT_EQ(issuer_.answered(), 2);
}

}  // namespace
}  // namespace idp::auth

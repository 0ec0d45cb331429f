// Issue 4's bad-token matrix, through the whole server: every case is a POST /mcp with one
// Authorization header against an MCP server whose BearerAuth trusts a JWKS served by this test,
// and asserts the HTTP status and the `error` of the WWW-Authenticate challenge (none when no
// token was presented, as RFC 6750 section 3.1 asks). The matrix runs against an in-process
// server and against the example server, idp-mcp-server, started as its own process with
// --jwt-issuer/--jwt-jwks-url/--cognito-client-id/--required-scope. Then a key rotation: a token
// signed with a key that only appears in the JWKS later is accepted without a restart.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "../lib/digest_sign.h"
#include "idp/auth/bearer_auth.h"
#include "idp/core/random.h"
#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"
#include "child_process.h"
#include "raw_http.h"
#include "test_rsa_key.h"

namespace idp::auth {
namespace {

namespace bj = boost::json;
using boost::asio::awaitable;
using std::chrono::seconds;

constexpr const char* kIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Matrix";

using Key = test::RsaKey;
using test::rsa_sign;

std::string hmac256(std::string_view key, std::string_view data) {
  unsigned char out[32];
  std::size_t len = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string b64(std::string_view s) { return base64url_encode(s); }
std::string b64j(const bj::object& o) { return b64(bj::serialize(o)); }

std::int64_t now_s() {
  return std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class BadTokenMatrix : public ::testing::Test {
 protected:
  virtual bool example_server() const { return false; }

  static void SetUpTestSuite() {
    // Once for both suites (this one and the example server's): the keys are static.
    for (auto* k : {&k1_, &k2_, &stranger_}) k->generate();
    k1_.kid = "k1";
    k2_.kid = "k2";
    stranger_.kid = "k1";  // claims to be k1, signed by another key
  }

  void SetUp() override {
    set_jwks({k1_.jwk()});
    jwks_server_ = std::make_unique<http::Server>(http::ServerOptions{});
    jwks_server_->route("GET", "/jwks.json", [this](const http::Request&, http::Responder& res) -> awaitable<void> {
      ++jwks_fetches_;
      http::Response r;
      {
        std::lock_guard lock(mu_);
        r.body = jwks_;
      }
      r.headers.set("Content-Type", "application/json");
      co_await res.send(std::move(r));
    });
    auto jp = jwks_server_->start();
    ASSERT_TRUE(jp);
    const std::string jwks_url = fmt::format("http://127.0.0.1:{}/jwks.json", *jp);
    if (example_server()) {
      db_ = fmt::format("{}/bad-token-matrix-{}.db", ::testing::TempDir(), ::getpid());
      auto child = ChildProcess::start(
          {test::bin_dir() + "/idp-mcp-server", "--listen", "127.0.0.1:0", "--jwt-issuer", kIssuer,
           "--jwt-jwks-url", jwks_url, "--cognito-client-id", "client-a", "--required-scope",
           "mcp/tools", "--db", db_, "--log-level", "warn"},
          "http://127\\.0\\.0\\.1:[0-9]+/mcp");
      ASSERT_TRUE(child) << child.error().message();
      child_ = std::move(*child);
      const std::string& url = child_->match();
      port_ = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
      return;
    }

    mcp_ = std::make_unique<mcp::Server>();
    BearerAuthOptions ao;
    ao.rules.issuer = kIssuer;
    ao.rules.client_ids = {"client-a"};
    ao.rules.required_scopes = {"mcp/tools"};
    ao.rules.max_token_bytes = 8 * 1024;  // below the server's 16 KiB header limit
    ao.jwks_url = jwks_url;
    ao.refetch_interval = seconds(0);  // the rotation case refetches at once
    auth_ = std::make_unique<BearerAuth>(ao);
    http_ = std::make_unique<http::Server>(http::ServerOptions{});
    mcp::StreamableHttpOptions mo;
    mo.authenticate = auth_->authenticator();
    transport_ = std::make_unique<mcp::StreamableHttpServer>(*mcp_, mo);
    transport_->attach(*http_);
    auth_->serve_metadata(*http_);
    auto p = http_->start();
    ASSERT_TRUE(p);
    port_ = *p;
  }
  void TearDown() override {
    if (http_) {
      http_->stop();
      http_->wait();
    }
    child_.reset();
    if (!db_.empty()) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db_ + suffix).c_str());
    }
    jwks_server_->stop();
    jwks_server_->wait();
  }

  void set_jwks(std::initializer_list<bj::object> keys) {
    bj::array a;
    for (const auto& k : keys) a.push_back(k);
    std::lock_guard lock(mu_);
    jwks_ = bj::serialize(bj::object{{"keys", a}});
  }

  static bj::object claims() {
    return {{"sub", "user-1"},     {"iss", kIssuer},         {"client_id", "client-a"},
            {"token_use", "access"}, {"scope", "mcp/tools openid"}, {"auth_time", now_s() - 5},
            {"iat", now_s() - 5},  {"exp", now_s() + 3600}, {"jti", "j"}, {"username", "alice"}};
  }
  static std::string rs256(const bj::object& c, const Key& key = k1_, std::string_view kid = "k1") {
    std::string input = b64j({{"alg", "RS256"}, {"kid", kid}, {"typ", "JWT"}}) + "." + b64j(c);
    return input + "." + b64(rsa_sign(key.pkey, "SHA256", input));
  }
  template <class F>
  static std::string with(F change) {
    auto c = claims();
    change(c);
    return rs256(c);
  }

  struct Outcome {
    int status;
    std::string error;  // the challenge's error="..." or "" when absent
  };
  Outcome send(const std::optional<std::string>& authorization) {
    std::vector<std::pair<std::string, std::string>> h{{"Content-Type", "application/json"},
                                                       {"Accept", "application/json, text/event-stream"}};
    if (authorization) h.emplace_back("Authorization", *authorization);
    test::RawConnection c(port_);
    c.send("POST", "/mcp", h,
           R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"m","version":"1"}}})");
    auto r = c.read();
    std::string challenge = r.header("www-authenticate");
    std::string error;
    if (auto at = challenge.find("error=\""); at != std::string::npos) {
      auto end = challenge.find('"', at + 7);
      error = challenge.substr(at + 7, end - at - 7);
    }
    if (r.status == 401 || r.status == 403) {
      EXPECT_NE(challenge.find("resource_metadata=\""), std::string::npos) << challenge;
    }
    return {r.status, error};
  }

  static inline Key k1_, k2_, stranger_;
  std::mutex mu_;
  std::string jwks_;
  std::atomic<int> jwks_fetches_{0};
  std::unique_ptr<http::Server> jwks_server_, http_;
  std::unique_ptr<mcp::Server> mcp_;
  std::unique_ptr<BearerAuth> auth_;
  std::unique_ptr<mcp::StreamableHttpServer> transport_;
  std::unique_ptr<ChildProcess> child_;
  std::string db_;
  std::uint16_t port_ = 0;

  void run_matrix();
};

// The same cases against idp-mcp-server (its tokens are limited to 8 KiB as well).
class BadTokenMatrixExampleServer : public BadTokenMatrix {
 protected:
  bool example_server() const override { return true; }
};

TEST_F(BadTokenMatrix, EveryCaseHasItsStatusAndError) { run_matrix(); }
TEST_F(BadTokenMatrixExampleServer, EveryCaseHasItsStatusAndError) { run_matrix(); }

void BadTokenMatrix::run_matrix() {
  const std::string good = rs256(claims());
  const std::string head = good.substr(0, good.find('.'));
  const std::string body = good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1);
  const std::string sig = good.substr(good.rfind('.') + 1);
  std::string tampered_claims = b64j([] { auto c = claims(); c["sub"] = "admin"; return c; }());
  std::string none_input = b64j({{"alg", "none"}, {"typ", "JWT"}}) + "." + b64j(claims());
  std::string hs_input = b64j({{"alg", "HS256"}, {"kid", "k1"}, {"typ", "JWT"}}) + "." + b64j(claims());
  std::string rs384_input = b64j({{"alg", "RS384"}, {"kid", "k1"}}) + "." + b64j(claims());
  std::string es_input = b64j({{"alg", "ES256"}, {"kid", "k1"}}) + "." + b64j(claims());
  std::string nokid_input = b64j({{"alg", "RS256"}, {"typ", "JWT"}}) + "." + b64j(claims());

  struct Case {
    const char* name;
    std::optional<std::string> authorization;
    int status;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"valid token", "Bearer " + good, 200, ""},
      {"scheme in lower case", "bearer " + good, 200, ""},
      {"expired 30 s ago, inside the 60 s skew", "Bearer " + with([](auto& c) { c["exp"] = now_s() - 30; }), 200, ""},
      {"no Authorization header", std::nullopt, 401, ""},
      {"Basic scheme", "Basic YWxpY2U6c2VjcmV0", 401, ""},
      {"empty token (no credentials presented)", "Bearer ", 401, ""},
      {"two segments", "Bearer " + head + "." + body, 401, "invalid_token"},
      {"four segments", "Bearer " + good + ".x", 401, "invalid_token"},
      {"bad base64url in the payload", "Bearer " + head + ".eyJ*c3ViIjoi." + sig, 401, "invalid_token"},
      {"padding in base64url", "Bearer " + head + "." + body + "==." + sig, 401, "invalid_token"},
      {"header not JSON", "Bearer " + b64("not json") + "." + body + "." + sig, 401, "invalid_token"},
      {"alg none without signature", "Bearer " + none_input + ".", 401, "invalid_token"},
      {"alg none with the RS256 signature", "Bearer " + none_input + "." + sig, 401, "invalid_token"},
      {"HS256 keyed with the RSA public key (PEM)",
       "Bearer " + hs_input + "." + b64(hmac256(k1_.pem_public(), hs_input)), 401, "invalid_token"},
      {"RS384 not allowed", "Bearer " + rs384_input + "." + b64(rsa_sign(k1_.pkey, "SHA384", rs384_input)), 401, "invalid_token"},
      {"ES256 header on an RSA key", "Bearer " + es_input + "." + sig, 401, "invalid_token"},
      {"no kid", "Bearer " + nokid_input + "." + b64(rsa_sign(k1_.pkey, "SHA256", nokid_input)), 401, "invalid_token"},
      {"unknown kid", "Bearer " + rs256(claims(), k1_, "nope"), 401, "invalid_token"},
      {"signature from another key", "Bearer " + rs256(claims(), stranger_, "k1"), 401, "invalid_token"},
      {"tampered payload", "Bearer " + head + "." + tampered_claims + "." + sig, 401, "invalid_token"},
      {"truncated signature", "Bearer " + good.substr(0, good.size() - 10), 401, "invalid_token"},
      {"expired 2 minutes ago", "Bearer " + with([](auto& c) { c["exp"] = now_s() - 120; }), 401, "invalid_token"},
      {"nbf 5 minutes ahead", "Bearer " + with([](auto& c) { c["nbf"] = now_s() + 300; }), 401, "invalid_token"},
      {"iat 5 minutes ahead", "Bearer " + with([](auto& c) { c["iat"] = now_s() + 300; }), 401, "invalid_token"},
      {"wrong iss", "Bearer " + with([](auto& c) { c["iss"] = "https://evil.example/us-east-1_Matrix"; }), 401, "invalid_token"},
      {"iss with a trailing slash", "Bearer " + with([](auto& c) { c["iss"] = std::string(kIssuer) + "/"; }), 401, "invalid_token"},
      {"ID token used as an access token", "Bearer " + with([](auto& c) { c["token_use"] = "id"; }), 401, "invalid_token"},
      {"wrong client_id", "Bearer " + with([](auto& c) { c["client_id"] = "client-z"; }), 401, "invalid_token"},
      {"missing exp", "Bearer " + with([](auto& c) { c.erase("exp"); }), 401, "invalid_token"},
      {"exp as a string", "Bearer " + with([](auto& c) { c["exp"] = "tomorrow"; }), 401, "invalid_token"},
      {"missing sub", "Bearer " + with([](auto& c) { c.erase("sub"); }), 401, "invalid_token"},
      {"missing client_id", "Bearer " + with([](auto& c) { c.erase("client_id"); }), 401, "invalid_token"},
      {"missing scope", "Bearer " + with([](auto& c) { c["scope"] = "openid"; }), 403, "insufficient_scope"},
      {"no scope claim", "Bearer " + with([](auto& c) { c.erase("scope"); }), 403, "insufficient_scope"},
      {"token over the 8 KiB token limit",
       "Bearer " + with([](auto& c) { c["pad"] = std::string(7000, 'a'); }), 401, "invalid_token"},
      {"token over the 16 KiB header limit",
       "Bearer " + with([](auto& c) { c["pad"] = std::string(13000, 'a'); }), 431, ""},
      {"token with a space inside", "Bearer " + head + ". " + body + "." + sig, 401, "invalid_token"},
  };
  ASSERT_GE(cases.size(), 25u);
  for (const auto& c : cases) {
    auto got = send(c.authorization);
    EXPECT_EQ(got.status, c.status) << c.name;
    EXPECT_EQ(got.error, c.error) << c.name;
  }
}

TEST_F(BadTokenMatrix, ANewKeyInTheJwksIsPickedUpWithoutRestart) {
  EXPECT_EQ(send("Bearer " + rs256(claims())).status, 200);
  std::string rotated = rs256(claims(), k2_, "k2");
  EXPECT_EQ(send("Bearer " + rotated).error, "invalid_token");  // not published yet
  set_jwks({k1_.jwk(), k2_.jwk()});                              // the pool rotates its keys
  auto got = send("Bearer " + rotated);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(send("Bearer " + rs256(claims())).status, 200);  // the old key still works
  EXPECT_GE(jwks_fetches_.load(), 2);
}

}  // namespace
}  // namespace idp::auth

// Who may call the service: /api/config without a token, sign-in and refresh through the
// service against the local identity provider, every other route refused without a valid access
// token of the users' pool, a Reviewer refused as in the reference, and the agents list.
#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "service_env.h"
#include "test_rsa_key.h"

namespace idp::service::test {
namespace {

namespace bj = boost::json;
using boost::asio::awaitable;

TEST_F(ServiceTest, ConfigNeedsNoTokenAndNamesThePoolAndTheLimits) {
  auto r = call("GET", "/api/config", "");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json(r);
  EXPECT_EQ(v.at("auth").at("user_pool_id").as_string(), pool_);
  EXPECT_EQ(v.at("auth").at("client_id").as_string(), client_);
  EXPECT_EQ(v.at("auth").at("region").as_string(), "us-east-1");
  EXPECT_EQ(v.at("model").at("spec").as_string(), "scripted");
  EXPECT_EQ(v.at("limits").at("max_message_chars").as_int64(), 100000);
  EXPECT_EQ(r.header("cache-control"), "no-store");
}

TEST_F(ServiceTest, EveryOtherApiRouteNeedsAValidAccessToken) {
  std::string sid = new_session();
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/api/me"},
      {"GET", "/api/agents"},
      {"POST", "/api/agents/refresh"},
      {"GET", "/api/chat/sessions"},
      {"POST", "/api/chat/sessions"},
      {"GET", "/api/chat/sessions/" + sid},
      {"DELETE", "/api/chat/sessions/" + sid},
      {"POST", "/api/chat/sessions/" + sid + "/messages"},
      {"GET", "/api/chat/sessions/" + sid + "/events"},
      {"POST", "/api/chat/sessions/" + sid + "/cancel"},
      {"GET", "/api/jobs"},
      {"POST", "/api/jobs"},
      {"GET", "/api/jobs/job_x"},
      {"DELETE", "/api/jobs/job_x"},
  };
  std::string id_token;
  {
    auto login =
        call("POST", "/api/auth/login", "", R"({"username":"alice","password":"alice-Passw0rd!"})");
    id_token = std::string(json(login).at("id_token").as_string());
  }
  std::string forged = token();
  forged[forged.find('.') + 5] ^= 1;
  for (const auto& [method, path] : routes) {
    for (const std::string& t : {std::string(), std::string("not-a-jwt"), id_token, forged}) {
      auto r = call(method, path, t, std::string("{}"));
      EXPECT_EQ(r.status, 401) << method << " " << path << " with '" << t.substr(0, 12)
                               << "': " << r.body;
      auto v = json(r);
      ASSERT_TRUE(v.is_object()) << r.body;
      EXPECT_EQ(v.at("error").at("code").as_string(), "unauthenticated");
      EXPECT_TRUE(r.header("www-authenticate").starts_with("Bearer"))
          << r.header("www-authenticate");
    }
  }
  // The session is still there: nothing was done without a token.
  EXPECT_EQ(call("GET", "/api/chat/sessions/" + sid, token()).status, 200);
}

TEST_F(ServiceTest, SignInAndRefreshGoThroughTheService) {
  auto r =
      call("POST", "/api/auth/login", "", R"({"username":"alice","password":"alice-Passw0rd!"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json(r);
  EXPECT_EQ(v.at("token_type").as_string(), "Bearer");
  EXPECT_GT(v.at("expires_in").as_int64(), 0);
  std::string access(v.at("access_token").as_string());
  std::string refresh(v.at("refresh_token").as_string());
  auto me = call("GET", "/api/me", access);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json(me).at("username").as_string(), "alice");
  EXPECT_TRUE(json(me).at("groups").as_array().empty());

  auto renewed =
      call("POST", "/api/auth/refresh", "", bj::serialize(bj::object{{"refresh_token", refresh}}));
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  auto rv = json(renewed);
  EXPECT_FALSE(rv.as_object().contains("refresh_token"));
  EXPECT_EQ(call("GET", "/api/me", std::string(rv.at("access_token").as_string())).status, 200);
}

TEST_F(ServiceTest, SignInFailuresSayWhatIsWrongAndNoMore) {
  for (std::string body : {R"({"username":"alice","password":"wrong-Passw0rd!"})",
                           R"({"username":"nobody","password":"alice-Passw0rd!"})"}) {
    auto r = call("POST", "/api/auth/login", "", body);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(json(r).at("error").at("code").as_string(), "unauthenticated");
    EXPECT_EQ(json(r).at("error").at("message").as_string(), "incorrect username or password");
  }
  auto missing = call("POST", "/api/auth/login", "", R"({"username":"alice"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(json(missing).at("error").at("message").as_string(), "password is required");
  auto wrong_type = call("POST", "/api/auth/login", "", R"({"username":7,"password":"x"})");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_EQ(json(wrong_type).at("error").at("message").as_string(),
            "username must be a string, not number");
  auto not_json = call("POST", "/api/auth/login", "", "{username");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_NE(json(not_json).at("error").at("message").as_string().find("not JSON"),
            std::string::npos);
  auto bad_refresh = call("POST", "/api/auth/refresh", "", R"({"refresh_token":"no-such-token"})");
  EXPECT_EQ(bad_refresh.status, 401) << bad_refresh.body;
  EXPECT_EQ(json(bad_refresh).at("error").at("code").as_string(), "unauthenticated");
  auto get = call("GET", "/api/auth/login", "");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("allow"), "POST");
}

TEST_F(ServiceTest, AgentsListStatusToolsEntriesAndFixes) {
  wait_agent_ready("echoer");
  auto r = call("GET", "/api/agents", token());
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json(r).as_object();
  EXPECT_FALSE(v.at("version").as_string().empty());
  std::map<std::string, bj::object> by_id;
  for (const auto& a : v.at("agents").as_array())
    by_id[std::string(a.at("agent_id").as_string())] = a.as_object();
  ASSERT_TRUE(by_id.contains("echoer"));
  ASSERT_TRUE(by_id.contains("gone"));
  const auto& echoer = by_id["echoer"];
  EXPECT_EQ(echoer.at("entry").as_int64(), 1);  // as a person counts
  EXPECT_EQ(echoer.at("tools").as_array().at(0).as_string(), "echo_text");
  EXPECT_EQ(echoer.at("sample_queries").as_array().at(0).as_string(), "hello");
  EXPECT_EQ(echoer.at("fix").as_string(), "");
  const auto& gone = by_id["gone"];
  EXPECT_EQ(gone.at("status").as_string(), "unavailable");
  EXPECT_EQ(gone.at("entry").as_int64(), 2);
  EXPECT_FALSE(gone.at("reason").as_string().empty());
  EXPECT_NE(gone.at("fix").as_string().find("reachable"), std::string::npos) << gone.at("fix");
  bool broken = false;
  for (const auto& f : v.at("findings").as_array()) {
    if (f.at("entry").is_int64() && f.at("entry").as_int64() == 3 &&
        f.at("severity").as_string() == "error") {
      broken = true;
      EXPECT_FALSE(f.at("fix").as_string().empty());
    }
  }
  EXPECT_TRUE(broken) << bj::serialize(v.at("findings"));
  EXPECT_EQ(r.body.find("Passw0rd"), std::string::npos);

  auto refreshed = call("POST", "/api/agents/refresh", token(), std::string("{}"));
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(json(refreshed).at("agents").as_array().size(), 2u);
}

TEST_F(ServiceTest, UnknownApiRoutesAndMethodsAreJsonErrors) {
  auto r = call("GET", "/api/nothing", token());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json(r).at("error").at("code").as_string(), "not_found");
  auto m = call("PUT", "/api/chat/sessions", token(), std::string("{}"));
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.header("allow"), "GET, POST");
  auto deep = call("GET", "/api/chat/sessions/a/b/c", token());
  EXPECT_EQ(deep.status, 404);
  auto odd = call("GET", "/api/chat/sessions/..%2f", token());
  EXPECT_EQ(odd.status, 404);
}

// A Reviewer's token: signed by a key of this test, whose JWKS a server of this test serves at
// the issuer a second service trusts (the local identity provider has no groups yet).
class ReviewerTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    key_.kid = "k1";
    key_.generate();
    bj::object jwk = key_.jwk();
    std::string jwks = bj::serialize(bj::object{{"keys", bj::array{jwk}}});
    jwks_http_ = std::make_unique<http::Server>(http::ServerOptions{});
    jwks_http_->route("GET", "/us-east-1_Rev/.well-known/jwks.json",
                      [jwks](const http::Request&, http::Responder& res) -> awaitable<void> {
                        http::Response r = http::Response::json(200, jwks);
                        co_await res.send(std::move(r));
                      });
    auto p = jwks_http_->start();
    ASSERT_TRUE(p);
    issuer_base_ = fmt::format("http://127.0.0.1:{}", *p);
    stop_service();
    start_service([&](ServiceOptions& o) {
      o.user_pool_id = "us-east-1_Rev";
      o.user_client_id = "rev-client";
      o.cognito_endpoint = issuer_base_;
      o.store_path = (dir_ / "reviewer.db").string();
    });
  }
  void TearDown() override {
    ServiceTest::TearDown();
    jwks_http_->stop();
    jwks_http_->wait();
  }
  std::string signed_token(const bj::array& groups) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    bj::object claims{{"sub", "sub-rita"},         {"iss", issuer_base_ + "/us-east-1_Rev"},
                      {"client_id", "rev-client"}, {"token_use", "access"},
                      {"username", "rita"},        {"iat", now},
                      {"exp", now + 600},          {"cognito:groups", groups}};
    std::string input = base64url_encode(bj::serialize(
                            bj::object{{"alg", "RS256"}, {"kid", "k1"}, {"typ", "JWT"}})) +
                        "." + base64url_encode(bj::serialize(claims));
    std::string sig = idp::test::rsa_sign(key_.pkey, "SHA256", input);
    return input + "." + base64url_encode(sig);
  }
  idp::test::RsaKey key_;
  std::unique_ptr<http::Server> jwks_http_;
  std::string issuer_base_;
};

TEST_F(ReviewerTest, AReviewerIsRefusedEverywhereButMe) {
  std::string reviewer = signed_token(bj::array{"Reviewer"});
  std::string analyst = signed_token(bj::array{"Analysts"});
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/api/agents"},
                                                        {"GET", "/api/chat/sessions"},
                                                        {"POST", "/api/chat/sessions"},
                                                        {"GET", "/api/jobs"}}) {
    auto r = call(method, path, reviewer, std::string("{}"));
    EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.body;
    EXPECT_EQ(json(r).at("error").at("code").as_string(), "permission_denied");
    EXPECT_NE(json(r).at("error").at("message").as_string().find("Reviewer"), std::string::npos);
    EXPECT_NE(call(method, path, analyst, std::string("{}")).status, 403) << method << " " << path;
  }
  auto me = call("GET", "/api/me", reviewer);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json(me).at("groups").as_array().at(0).as_string(), "Reviewer");
  EXPECT_EQ(json(me).at("sub").as_string(), "sub-rita");
}

}  // namespace
}  // namespace idp::service::test

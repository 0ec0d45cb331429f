// idp::auth::LocalCognito seen from a client: the AWS JSON 1.1 operations over HTTP, Cognito's
// error shapes, the tokens (claims and an RS256 signature checked with OpenSSL against the JWKS),
// and state that survives a restart.
#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <sys/stat.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <atomic>

#include "idp/auth/local_cognito.h"
#include "idp/core/clock.h"
#include "idp/core/random.h"
#include "idp/http/server.h"
#include "local_cognito_fixture.h"
#include "raw_http.h"

namespace idp::auth {
namespace {

namespace bj = boost::json;

std::string secret_hash(const std::string& secret, const std::string& username,
                        const std::string& client_id) {
  std::string msg = username + client_id;
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
            reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, sizeof out, &len);
  return base64_encode(std::string(reinterpret_cast<char*>(out), len));
}

// Verifies an RS256 JWT against one JWK {n, e} with OpenSSL directly.
bool verify_rs256(const std::string& jwt, const bj::object& jwk) {
  auto n = base64_decode(std::string_view(jwk.at("n").as_string()));
  auto e = base64_decode(std::string_view(jwk.at("e").as_string()));
  if (!n || !e) return false;
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  bool ok = EVP_PKEY_fromdata_init(pctx) == 1 &&
            EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  std::size_t dot2 = jwt.rfind('.');
  auto sig = base64_decode(jwt.substr(dot2 + 1));
  if (ok && sig) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    ok = EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                          reinterpret_cast<const unsigned char*>(jwt.data()), dot2) == 1;
    EVP_MD_CTX_free(md);
  } else {
    ok = false;
  }
  EVP_PKEY_free(key);
  EVP_PKEY_CTX_free(pctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LocalCognitoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "local-cognito-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Creates a pool and a client (with a secret when asked); fills pool_, client_, secret_.
  void create_pool_and_client(Instance& a, bool with_secret) {
    bj::object pool_in{{"PoolName", "test-pool"}};
    auto pool = a.call("CreateUserPool", pool_in);
    ASSERT_EQ(pool.status, 200) << pool.raw;
    pool_ = pool.str({"UserPool", "Id"});
    ASSERT_TRUE(pool_.starts_with("us-east-1_")) << pool_;
    EXPECT_EQ(pool_.size(), std::string("us-east-1_").size() + 9);

    bj::object client_in{{"UserPoolId", pool_},
                         {"ClientName", "agent"},
                         {"GenerateSecret", with_secret},
                         {"ExplicitAuthFlows", bj::array{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}}};
    auto client = a.call("CreateUserPoolClient", client_in);
    ASSERT_EQ(client.status, 200) << client.raw;
    client_ = client.str({"UserPoolClient", "ClientId"});
    secret_ = client.str({"UserPoolClient", "ClientSecret"});
    ASSERT_FALSE(client_.empty());
    EXPECT_EQ(secret_.empty(), !with_secret);
  }

  void create_user(Instance& a, const std::string& username, const std::string& temp) {
    bj::object in{{"UserPoolId", pool_},
                  {"Username", username},
                  {"TemporaryPassword", temp},
                  {"MessageAction", "SUPPRESS"},
                  {"UserAttributes", bj::array{bj::object{{"Name", "email"}, {"Value", username + "@example.com"}},
                                               bj::object{{"Name", "email_verified"}, {"Value", "true"}}}}};
    auto r = a.call("AdminCreateUser", in);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.str({"User", "UserStatus"}), "FORCE_CHANGE_PASSWORD");
    EXPECT_EQ(r.str({"User", "Username"}), username);
  }

  void set_password(Instance& a, const std::string& username, const std::string& pw, bool permanent) {
    bj::object in{{"UserPoolId", pool_}, {"Username", username}, {"Password", pw}, {"Permanent", permanent}};
    auto r = a.call("AdminSetUserPassword", in);
    ASSERT_EQ(r.status, 200) << r.raw;
  }

  Call sign_in(const Instance& a, const std::string& username, const std::string& pw,
               std::optional<std::string> hash = std::nullopt) {
    bj::object params{{"USERNAME", username}, {"PASSWORD", pw}};
    if (hash) params["SECRET_HASH"] = *hash;
    bj::object in{{"AuthFlow", "USER_PASSWORD_AUTH"}, {"ClientId", client_}, {"AuthParameters", params}};
    return a.call("InitiateAuth", in);
  }

  Call refresh(const Instance& a, const std::string& token, std::optional<std::string> hash = std::nullopt) {
    bj::object params{{"REFRESH_TOKEN", token}};
    if (hash) params["SECRET_HASH"] = *hash;
    bj::object in{{"AuthFlow", "REFRESH_TOKEN_AUTH"}, {"ClientId", client_}, {"AuthParameters", params}};
    return a.call("InitiateAuth", in);
  }

  std::string dir_;
  std::string pool_, client_, secret_;
};

void expect_error(const Call& c, const std::string& type, const std::string& message = {}) {
  EXPECT_EQ(c.status, 400) << c.raw;
  EXPECT_EQ(c.type(), type) << c.raw;
  EXPECT_TRUE(c.body.contains("message")) << c.raw;
  if (!message.empty()) {
    EXPECT_EQ(c.message(), message) << c.raw;
  }
}

TEST_F(LocalCognitoTest, TemporaryPasswordChallengeThenTokensRefreshAndPersistence) {
  std::string access1, refresh1, sub;
  {
    Instance a(dir_);
    create_pool_and_client(a, false);
    create_user(a, "alice", "Temp0rary1");

    auto challenge = sign_in(a, "alice", "Temp0rary1");
    ASSERT_EQ(challenge.status, 200) << challenge.raw;
    EXPECT_EQ(challenge.str({"ChallengeName"}), "NEW_PASSWORD_REQUIRED");
    std::string session = challenge.str({"Session"});
    ASSERT_FALSE(session.empty());
    EXPECT_FALSE(challenge.body.contains("AuthenticationResult"));

    // A weak new password fails the policy.
    bj::object weak{{"ClientId", client_},
                    {"ChallengeName", "NEW_PASSWORD_REQUIRED"},
                    {"Session", session},
                    {"ChallengeResponses", bj::object{{"USERNAME", "alice"}, {"NEW_PASSWORD", "short"}}}};
    expect_error(a.call("RespondToAuthChallenge", weak), "InvalidPasswordException");

    bj::object respond{{"ClientId", client_},
                       {"ChallengeName", "NEW_PASSWORD_REQUIRED"},
                       {"Session", session},
                       {"ChallengeResponses", bj::object{{"USERNAME", "alice"}, {"NEW_PASSWORD", "NewPassw0rd"}}}};
    auto tokens = a.call("RespondToAuthChallenge", respond);
    ASSERT_EQ(tokens.status, 200) << tokens.raw;
    EXPECT_FALSE(tokens.str({"AuthenticationResult", "AccessToken"}).empty());
    EXPECT_FALSE(tokens.str({"AuthenticationResult", "IdToken"}).empty());
    EXPECT_FALSE(tokens.str({"AuthenticationResult", "RefreshToken"}).empty());
    // The session is single use.
    expect_error(a.call("RespondToAuthChallenge", respond), "NotAuthorizedException");

    bj::object get_in{{"UserPoolId", pool_}, {"Username", "alice"}};
    auto got = a.call("AdminGetUser", get_in);
    ASSERT_EQ(got.status, 200) << got.raw;
    EXPECT_EQ(got.str({"UserStatus"}), "CONFIRMED");

    // Permanent password from the admin: InitiateAuth returns tokens at once.
    set_password(a, "alice", "Passw0rdLab", true);
    expect_error(sign_in(a, "alice", "NewPassw0rd"), "NotAuthorizedException", "Incorrect username or password.");
    auto ok = sign_in(a, "alice", "Passw0rdLab");
    ASSERT_EQ(ok.status, 200) << ok.raw;
    const auto& result = ok.body.at("AuthenticationResult").as_object();
    EXPECT_EQ(result.at("ExpiresIn").to_number<int>(), 3600);
    EXPECT_EQ(result.at("TokenType").as_string(), "Bearer");
    access1 = std::string(result.at("AccessToken").as_string());
    refresh1 = std::string(result.at("RefreshToken").as_string());

    // Access token claims.
    auto header = json_part(access1, 0);
    EXPECT_EQ(header.at("alg").as_string(), "RS256");
    EXPECT_FALSE(header.at("kid").as_string().empty());
    auto claims = json_part(access1, 1);
    EXPECT_EQ(claims.at("token_use").as_string(), "access");
    EXPECT_EQ(claims.at("client_id").as_string(), client_);
    EXPECT_FALSE(claims.contains("aud"));
    EXPECT_EQ(claims.at("scope").as_string(), "aws.cognito.signin.user.admin");
    EXPECT_EQ(claims.at("username").as_string(), "alice");
    EXPECT_EQ(claims.at("iss").as_string(), "http://127.0.0.1:" + std::to_string(a.port) + "/" + pool_);
    EXPECT_EQ(claims.at("exp").to_number<std::int64_t>() - claims.at("iat").to_number<std::int64_t>(), 3600);
    EXPECT_TRUE(claims.contains("jti"));
    EXPECT_TRUE(claims.contains("auth_time"));
    sub = std::string(claims.at("sub").as_string());
    EXPECT_EQ(sub.size(), 36u);

    auto id = json_part(std::string(result.at("IdToken").as_string()), 1);
    EXPECT_EQ(id.at("token_use").as_string(), "id");
    EXPECT_EQ(id.at("aud").as_string(), client_);
    EXPECT_EQ(id.at("email").as_string(), "alice@example.com");
    EXPECT_EQ(id.at("cognito:username").as_string(), "alice");

    // GetUser with the access token.
    bj::object gu{{"AccessToken", access1}};
    auto me = a.call("GetUser", gu);
    ASSERT_EQ(me.status, 200) << me.raw;
    EXPECT_EQ(me.str({"Username"}), "alice");
    bool has_email = false;
    for (const auto& attr : me.body.at("UserAttributes").as_array()) {
      if (attr.at("Name") == "email") has_email = attr.at("Value") == "alice@example.com";
    }
    EXPECT_TRUE(has_email);
    bj::object bad_gu{{"AccessToken", access1 + "x"}};
    expect_error(a.call("GetUser", bad_gu), "NotAuthorizedException");

    // Refresh: new access and ID tokens, no new refresh token.
    auto r = refresh(a, refresh1);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_FALSE(r.str({"AuthenticationResult", "AccessToken"}).empty());
    EXPECT_FALSE(r.str({"AuthenticationResult", "IdToken"}).empty());
    EXPECT_FALSE(r.body.at("AuthenticationResult").as_object().contains("RefreshToken"));
    EXPECT_EQ(r.body.at("AuthenticationResult").at("ExpiresIn").to_number<int>(), 3600);
    expect_error(refresh(a, "not-a-refresh-token"), "NotAuthorizedException");
  }

  // The data file: mode 0600, no password or refresh token in clear.
  std::string file = dir_ + "/local-cognito.json";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::string data = read_file(file);
  for (const char* pw : {"Temp0rary1", "NewPassw0rd", "Passw0rdLab"}) {
    EXPECT_EQ(data.find(pw), std::string::npos) << pw;
  }
  EXPECT_EQ(data.find(refresh1), std::string::npos);

  // A second instance over the same directory: same user, same key, refresh token still valid.
  Instance b(dir_);
  auto discovery = b.get("/" + pool_ + "/.well-known/openid-configuration");
  ASSERT_EQ(discovery.status, 200) << discovery.raw;
  std::string issuer = discovery.str({"issuer"});
  EXPECT_EQ(issuer, "http://127.0.0.1:" + std::to_string(b.port) + "/" + pool_);
  EXPECT_EQ(discovery.str({"jwks_uri"}), issuer + "/.well-known/jwks.json");
  EXPECT_EQ(discovery.body.at("id_token_signing_alg_values_supported").as_array().at(0), "RS256");

  auto jwks = b.get("/" + pool_ + "/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200) << jwks.raw;
  const auto& keys = jwks.body.at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  const auto& jwk = keys.at(0).as_object();
  EXPECT_EQ(jwk.at("kty").as_string(), "RSA");
  EXPECT_EQ(jwk.at("alg").as_string(), "RS256");
  EXPECT_EQ(jwk.at("use").as_string(), "sig");
  EXPECT_EQ(jwk.at("e").as_string(), "AQAB");
  EXPECT_EQ(jwk.at("kid"), json_part(access1, 0).at("kid"));

  // The token from the first instance verifies with the second one's JWKS; a tampered one fails.
  EXPECT_TRUE(verify_rs256(access1, jwk));
  std::string tampered = access1;
  tampered[tampered.find('.') + 5] ^= 1;
  EXPECT_FALSE(verify_rs256(tampered, jwk));

  auto again = sign_in(b, "alice", "Passw0rdLab");
  ASSERT_EQ(again.status, 200) << again.raw;
  std::string access2 = again.str({"AuthenticationResult", "AccessToken"});
  EXPECT_TRUE(verify_rs256(access2, jwk));
  EXPECT_TRUE(verify_rs256(again.str({"AuthenticationResult", "IdToken"}), jwk));
  auto claims2 = json_part(access2, 1);
  EXPECT_EQ(claims2.at("iss").as_string(), issuer);
  EXPECT_EQ(claims2.at("sub").as_string(), sub);
  auto r2 = refresh(b, refresh1);
  EXPECT_EQ(r2.status, 200) << r2.raw;
  EXPECT_EQ(json_part(r2.str({"AuthenticationResult", "AccessToken"}), 1).at("iss").as_string(), issuer);

  // A third instance serves the very same JWKS.
  {
    LocalCognito c(dir_);
    auto jwks3 = c.handle_well_known("/" + pool_ + "/.well-known/jwks.json");
    ASSERT_TRUE(jwks3);
    EXPECT_EQ(jwks3->body, jwks.raw);
  }
}

TEST_F(LocalCognitoTest, ClientWithSecretNeedsSecretHash) {
  Instance a(dir_);
  create_pool_and_client(a, true);
  create_user(a, "bob", "Temp0rary1");
  set_password(a, "bob", "Passw0rdBob", true);

  expect_error(sign_in(a, "bob", "Passw0rdBob"), "NotAuthorizedException",
               "Client " + client_ + " is configured with secret but SECRET_HASH was not received");
  expect_error(sign_in(a, "bob", "Passw0rdBob", secret_hash("wrong", "bob", client_)),
               "NotAuthorizedException", "Unable to verify secret hash for client " + client_);
  auto ok = sign_in(a, "bob", "Passw0rdBob", secret_hash(secret_, "bob", client_));
  ASSERT_EQ(ok.status, 200) << ok.raw;
  std::string refresh_token = ok.str({"AuthenticationResult", "RefreshToken"});
  std::string sub = std::string(json_part(ok.str({"AuthenticationResult", "AccessToken"}), 1).at("sub").as_string());

  expect_error(refresh(a, refresh_token), "NotAuthorizedException");
  expect_error(refresh(a, refresh_token, secret_hash(secret_, "someone", client_)), "NotAuthorizedException");
  auto r = refresh(a, refresh_token, secret_hash(secret_, sub, client_));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_FALSE(r.str({"AuthenticationResult", "AccessToken"}).empty());

  // The data file holds no password in clear.
  ASSERT_TRUE(a.idp->flush());
  std::string data = read_file(a.idp->data_file());
  EXPECT_EQ(data.find("Passw0rdBob"), std::string::npos);
  EXPECT_EQ(data.find("Temp0rary1"), std::string::npos);
}

TEST_F(LocalCognitoTest, ErrorsAreShapedLikeCognitos) {
  Instance a(dir_);
  create_pool_and_client(a, false);
  create_user(a, "carol", "Temp0rary1");
  set_password(a, "carol", "Passw0rdCarol", true);

  expect_error(sign_in(a, "carol", "wrong"), "NotAuthorizedException", "Incorrect username or password.");
  expect_error(sign_in(a, "nobody", "Passw0rdCarol"), "UserNotFoundException", "User does not exist.");

  bj::object unknown_client{{"AuthFlow", "USER_PASSWORD_AUTH"},
                            {"ClientId", "nosuchclient"},
                            {"AuthParameters", bj::object{{"USERNAME", "carol"}, {"PASSWORD", "x"}}}};
  expect_error(a.call("InitiateAuth", unknown_client), "ResourceNotFoundException");

  bj::object unknown_pool{{"UserPoolId", "us-east-1_nosuchpoo"}, {"Username", "carol"}};
  expect_error(a.call("AdminGetUser", unknown_pool), "ResourceNotFoundException");
  bj::object unknown_user{{"UserPoolId", pool_}, {"Username", "dave"}};
  expect_error(a.call("AdminGetUser", unknown_user), "UserNotFoundException");

  bj::object missing_client{{"AuthFlow", "USER_PASSWORD_AUTH"}};
  expect_error(a.call("InitiateAuth", missing_client), "InvalidParameterException");
  bj::object missing_password{{"AuthFlow", "USER_PASSWORD_AUTH"},
                              {"ClientId", client_},
                              {"AuthParameters", bj::object{{"USERNAME", "carol"}}}};
  expect_error(a.call("InitiateAuth", missing_password), "InvalidParameterException");
  bj::object missing_name{{"UserPoolId", pool_}};
  expect_error(a.call("CreateUserPoolClient", missing_name), "InvalidParameterException");

  bj::object weak{{"UserPoolId", pool_}, {"Username", "carol"}, {"Password", "alllowercase1"}, {"Permanent", true}};
  expect_error(a.call("AdminSetUserPassword", weak), "InvalidPasswordException");
  bj::object weak_temp{{"UserPoolId", pool_}, {"Username", "erin"}, {"TemporaryPassword", "Short1"}};
  expect_error(a.call("AdminCreateUser", weak_temp), "InvalidPasswordException");
  bj::object dup{{"UserPoolId", pool_}, {"Username", "carol"}, {"TemporaryPassword", "Temp0rary1"}};
  expect_error(a.call("AdminCreateUser", dup), "UsernameExistsException");

  expect_error(a.call("DeleteUserPool", bj::object{}), "UnknownOperationException");
  expect_error(a.call_raw("", "{}"), "UnknownOperationException");
  expect_error(a.call_raw("AWSCognitoIdentityProviderService.InitiateAuth", "{not json"), "SerializationException");

  // The password flow can be left out of a client.
  bj::object srp_only{{"UserPoolId", pool_},
                      {"ClientName", "srp"},
                      {"ExplicitAuthFlows", bj::array{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}}};
  auto srp = a.call("CreateUserPoolClient", srp_only);
  ASSERT_EQ(srp.status, 200);
  client_ = srp.str({"UserPoolClient", "ClientId"});
  expect_error(sign_in(a, "carol", "Passw0rdCarol"), "InvalidParameterException");

  // Error responses carry the AWS JSON content type.
  auto r = test::request(a.port, "POST", "/",
                         {{"Content-Type", "application/x-amz-json-1.1"},
                          {"X-Amz-Target", "AWSCognitoIdentityProviderService.Nope"}},
                         "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.header("content-type"), "application/x-amz-json-1.1");

  // Unknown pool on the well-known paths.
  EXPECT_EQ(a.get("/us-east-1_nosuchpoo/.well-known/jwks.json").status, 404);
}

TEST_F(LocalCognitoTest, PoolsCreatedAfterStartServeTheirDocumentsThroughHandleWellKnown) {
  Instance a(dir_);
  create_pool_and_client(a, false);
  auto doc = a.idp->handle_well_known("/" + pool_ + "/.well-known/openid-configuration");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->status, 200);
  auto v = bj::parse(doc->body).as_object();
  EXPECT_EQ(v.at("issuer").as_string(), a.idp->issuer(pool_));
  EXPECT_FALSE(a.idp->handle_well_known("/" + pool_ + "/other"));
}

TEST_F(LocalCognitoTest, ConcurrentSignInsOnSeveralServerThreads) {
  auto idp = std::make_unique<LocalCognito>(dir_);
  http::ServerOptions opt;
  opt.threads = 4;
  auto server = std::make_unique<http::Server>(opt);
  idp->attach(*server, "http://idp.test");
  auto port = server->start();
  ASSERT_TRUE(port);
  auto call = [&](const std::string& op, const bj::object& in) {
    auto r = test::request(*port, "POST", "/",
                           {{"Content-Type", "application/x-amz-json-1.1"},
                            {"X-Amz-Target", "AWSCognitoIdentityProviderService." + op}},
                           bj::serialize(in));
    return std::pair{r.status, bj::parse(r.body).as_object()};
  };
  bj::object pool_in{{"PoolName", "p"}};
  auto [s1, pool] = call("CreateUserPool", pool_in);
  ASSERT_EQ(s1, 200);
  std::string pool_id(pool.at("UserPool").at("Id").as_string());
  bj::object client_in{{"UserPoolId", pool_id}, {"ClientName", "c"}};
  auto [s2, client] = call("CreateUserPoolClient", client_in);
  ASSERT_EQ(s2, 200);
  std::string client_id(client.at("UserPoolClient").at("ClientId").as_string());
  for (int i = 0; i < 4; ++i) {
    bj::object u{{"UserPoolId", pool_id}, {"Username", "u" + std::to_string(i)}, {"TemporaryPassword", "Temp0rary1"}};
    ASSERT_EQ(call("AdminCreateUser", u).first, 200);
    bj::object p{{"UserPoolId", pool_id}, {"Username", "u" + std::to_string(i)}, {"Password", "Passw0rdX"}, {"Permanent", true}};
    ASSERT_EQ(call("AdminSetUserPassword", p).first, 200);
  }
  std::atomic<int> ok{0};
  // While the sign-ins run, whoever reads the state file finds a whole one (it is replaced
  // atomically, never written in place).
  std::atomic<bool> signing_in{true};
  std::atomic<int> reads{0}, torn{0};
  std::thread reader([&] {
    while (signing_in.load()) {
      std::string text = read_file(idp->data_file());
      if (text.empty()) continue;  // not written yet
      ++reads;
      boost::system::error_code ec;
      auto v = bj::parse(text, ec);
      if (ec || !v.is_object() || !v.as_object().contains("pools")) ++torn;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 3; ++k) {
        bj::object in{{"AuthFlow", "USER_PASSWORD_AUTH"},
                      {"ClientId", client_id},
                      {"AuthParameters", bj::object{{"USERNAME", "u" + std::to_string(t % 4)}, {"PASSWORD", "Passw0rdX"}}}};
        auto [status, body] = call("InitiateAuth", in);
        if (status != 200) continue;
        std::string token(body.at("AuthenticationResult").at("AccessToken").as_string());
        std::string expected_iss = "http://idp.test/" + pool_id;
        if (json_part(token, 1).at("iss").as_string() == expected_iss) {
          ++ok;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  signing_in = false;
  reader.join();
  EXPECT_EQ(ok.load(), 24);
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";
  server->stop();
  server->wait();
  ASSERT_TRUE(idp->flush());
  // No temporary files are left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename(), "local-cognito.json");
  }
}

TEST_F(LocalCognitoTest, GetUserChecksTheTokenAsAResourceServerWould) {
  auto clock = std::make_shared<ManualTime>();
  Instance a(dir_, clock);
  create_pool_and_client(a, false);
  create_user(a, "dana", "Temp0rary1");
  set_password(a, "dana", "Passw0rdDana", true);
  auto ok = sign_in(a, "dana", "Passw0rdDana");
  ASSERT_EQ(ok.status, 200) << ok.raw;
  const std::string access = ok.str({"AuthenticationResult", "AccessToken"});
  const std::string id = ok.str({"AuthenticationResult", "IdToken"});
  auto get_user = [&](const std::string& token) {
    bj::object in{{"AccessToken", token}};
    return a.call("GetUser", in);
  };
  auto me = get_user(access);
  ASSERT_EQ(me.status, 200) << me.raw;
  EXPECT_EQ(me.str({"Username"}), "dana");
  // An ID token is signed by the same key, but it is not an access token.
  expect_error(get_user(id), "NotAuthorizedException", "Invalid Access Token");
  // Another spelling of the same signature (padding): the strict decoder refuses it.
  expect_error(get_user(access + "="), "NotAuthorizedException", "Invalid Access Token");
  expect_error(get_user("x.y.z"), "NotAuthorizedException", "Invalid Access Token");
  // An hour later (the token's lifetime) it has expired: no skew for its own tokens.
  clock->advance(std::chrono::seconds(3599));
  EXPECT_EQ(get_user(access).status, 200);
  clock->advance(std::chrono::seconds(1));
  expect_error(get_user(access), "NotAuthorizedException", "Access Token has expired");
}

TEST_F(LocalCognitoTest, RequestsDoNotWaitForTheDiskAndFlushReportsAFailedWrite) {
  Instance a(dir_);
  create_pool_and_client(a, false);
  ASSERT_TRUE(a.idp->flush());
  // A directory where the state file should be: no write can replace it.
  const std::string file = a.idp->data_file();
  std::filesystem::remove(file);
  std::filesystem::create_directory(file);
  create_user(a, "erin", "Temp0rary1");  // the requests succeed: the state is kept in memory
  set_password(a, "erin", "Passw0rdErin", true);
  auto signed_in = sign_in(a, "erin", "Passw0rdErin");
  EXPECT_EQ(signed_in.status, 200) << signed_in.raw;
  auto failed = a.idp->flush();
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message().find("cannot rename onto " + file), std::string::npos)
      << failed.error().message();
  // Once the path is free again, a flush writes everything that happened meanwhile.
  std::filesystem::remove(file);
  auto written = a.idp->flush();
  ASSERT_TRUE(written) << written.error().message();
  EXPECT_NE(read_file(file).find("\"username\":\"erin\""), std::string::npos);
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename(), "local-cognito.json");  // no temporary file left behind
  }
}

TEST_F(LocalCognitoTest, CorruptDataFileIsAnError) {
  {
    std::ofstream out(dir_ + "/local-cognito.json");
    out << "{broken";
  }
  auto r = LocalCognito::open(dir_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("local-cognito.json"), std::string::npos);
}

}  // namespace
}  // namespace idp::auth

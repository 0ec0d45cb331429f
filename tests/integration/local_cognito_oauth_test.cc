// idp::auth::LocalCognito as an OAuth authorization server, seen from a client over HTTP:
// resource servers and the OAuth settings of app clients (checked as Cognito checks them), the
// pool's /oauth2/token (client_credentials with client_secret_basic and client_secret_post,
// refresh_token) with RFC 6749 errors, machine-to-machine tokens that the resource-server
// verifier accepts, the metadata at every well-known path, and state that survives a restart.
#include <gtest/gtest.h>

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <filesystem>

#include "idp/auth/jwk.h"
#include "idp/auth/jwt.h"
#include "local_cognito_fixture.h"

namespace idp::auth {
namespace {

std::string form_value(std::string_view v) { return boost::urls::encode(v, boost::urls::unreserved_chars); }

std::string basic(const std::string& id, const std::string& secret) {
  return "Basic " + base64_encode(form_value(id) + ":" + form_value(secret));
}

class LocalCognitoOAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "local-cognito-oauth-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    a_ = std::make_unique<Instance>(dir_);
    auto pool = a_->call("CreateUserPool", {{"PoolName", "m2m"}});
    ASSERT_EQ(pool.status, 200) << pool.raw;
    pool_ = pool.str({"UserPool", "Id"});
    auto rs = a_->call("CreateResourceServer",
                       {{"UserPoolId", pool_},
                        {"Identifier", "mcp"},
                        {"Name", "MCP"},
                        {"Scopes", bj::array{bj::object{{"ScopeName", "read"}, {"ScopeDescription", "r"}},
                                             bj::object{{"ScopeName", "write"}, {"ScopeDescription", "w"}}}}});
    ASSERT_EQ(rs.status, 200) << rs.raw;
    auto c = m2m_client({"mcp/read", "mcp/write"});
    ASSERT_EQ(c.status, 200) << c.raw;
    client_ = c.str({"UserPoolClient", "ClientId"});
    secret_ = c.str({"UserPoolClient", "ClientSecret"});
  }
  void TearDown() override {
    a_.reset();
    std::filesystem::remove_all(dir_);
  }

  Call m2m_client(std::vector<std::string> scopes, bool secret = true, bj::array flows = {"client_credentials"},
                  bool enabled = true) {
    bj::array s;
    for (auto& x : scopes) s.push_back(bj::string(x));
    return a_->call("CreateUserPoolClient", {{"UserPoolId", pool_},
                                             {"ClientName", "m2m"},
                                             {"GenerateSecret", secret},
                                             {"AllowedOAuthFlows", std::move(flows)},
                                             {"AllowedOAuthScopes", std::move(s)},
                                             {"AllowedOAuthFlowsUserPoolClient", enabled}});
  }
  std::string token_path() const { return "/" + pool_ + "/oauth2/token"; }
  Call token_basic(const std::string& form, const std::string& id, const std::string& secret) const {
    return a_->post_form(token_path(), form, {{"Authorization", basic(id, secret)}});
  }
  static std::string error(const Call& c) { return c.str({"error"}); }

  std::string dir_;
  std::unique_ptr<Instance> a_;
  std::string pool_, client_, secret_;
};

TEST_F(LocalCognitoOAuthTest, ResourceServersAreListedPagedDescribedAndDeleted) {
  auto second = a_->call("CreateResourceServer", {{"UserPoolId", pool_}, {"Identifier", "https://api.example.com"},
                                                  {"Name", "API"}});
  ASSERT_EQ(second.status, 200) << second.raw;
  auto page1 = a_->call("ListResourceServers", {{"UserPoolId", pool_}, {"MaxResults", 1}});
  ASSERT_EQ(page1.status, 200) << page1.raw;
  ASSERT_EQ(page1.body.at("ResourceServers").as_array().size(), 1u);
  EXPECT_EQ(page1.body.at("ResourceServers").at(0).at("Identifier").as_string(), "https://api.example.com");
  auto page2 = a_->call("ListResourceServers", {{"UserPoolId", pool_}, {"MaxResults", 1},
                                                {"NextToken", page1.str({"NextToken"})}});
  ASSERT_EQ(page2.body.at("ResourceServers").as_array().size(), 1u);
  EXPECT_EQ(page2.body.at("ResourceServers").at(0).at("Identifier").as_string(), "mcp");
  EXPECT_FALSE(page2.body.contains("NextToken"));

  auto dup = a_->call("CreateResourceServer", {{"UserPoolId", pool_}, {"Identifier", "mcp"}, {"Name", "again"}});
  EXPECT_EQ(dup.type(), "InvalidParameterException");
  EXPECT_NE(dup.message().find("mcp already exists"), std::string::npos) << dup.raw;
  auto slash = a_->call("CreateResourceServer", {{"UserPoolId", pool_}, {"Identifier", "x"}, {"Name", "x"},
                                                 {"Scopes", bj::array{bj::object{{"ScopeName", "a/b"}, {"ScopeDescription", ""}}}}});
  EXPECT_EQ(slash.type(), "InvalidParameterException");
  EXPECT_NE(slash.message().find("ScopeName a/b"), std::string::npos) << slash.raw;

  EXPECT_EQ(a_->call("DeleteResourceServer", {{"UserPoolId", pool_}, {"Identifier", "https://api.example.com"}}).status, 200);
  auto gone = a_->call("DescribeResourceServer", {{"UserPoolId", pool_}, {"Identifier", "https://api.example.com"}});
  EXPECT_EQ(gone.type(), "ResourceNotFoundException");
}

TEST_F(LocalCognitoOAuthTest, AppClientOAuthSettingsAreCheckedAsCognitoDoes) {
  auto no_secret = m2m_client({"mcp/read"}, false);
  EXPECT_EQ(no_secret.type(), "InvalidOAuthFlowException");
  EXPECT_NE(no_secret.message().find("does not have a client secret"), std::string::npos) << no_secret.raw;
  auto mixed = m2m_client({"mcp/read"}, true, {"client_credentials", "code"});
  EXPECT_EQ(mixed.type(), "InvalidOAuthFlowException");
  auto unknown = m2m_client({"mcp/delete"});
  EXPECT_EQ(unknown.type(), "ScopeDoesNotExistException");
  EXPECT_EQ(unknown.message(), "Invalid scope requested: mcp/delete");
  auto standard = m2m_client({"openid"});
  EXPECT_EQ(standard.type(), "InvalidOAuthFlowException");
  auto bad_flow = m2m_client({"mcp/read"}, true, {"password"});
  EXPECT_EQ(bad_flow.type(), "InvalidParameterException");

  auto described = a_->call("DescribeUserPoolClient", {{"UserPoolId", pool_}, {"ClientId", client_}});
  ASSERT_EQ(described.status, 200) << described.raw;
  EXPECT_EQ(described.str({"UserPoolClient", "ClientSecret"}), secret_);
  EXPECT_EQ(described.body.at("UserPoolClient").at("AllowedOAuthFlows"), (bj::array{"client_credentials"}));
  EXPECT_EQ(described.body.at("UserPoolClient").at("AllowedOAuthScopes"), (bj::array{"mcp/read", "mcp/write"}));
  EXPECT_EQ(described.body.at("UserPoolClient").at("AllowedOAuthFlowsUserPoolClient"), true);

  // UpdateUserPoolClient replaces the settings, as Cognito does: what is not given is reset.
  auto narrowed = a_->call("UpdateUserPoolClient", {{"UserPoolId", pool_}, {"ClientId", client_},
                                                   {"AllowedOAuthFlows", bj::array{"client_credentials"}},
                                                   {"AllowedOAuthScopes", bj::array{"mcp/read"}},
                                                   {"AllowedOAuthFlowsUserPoolClient", true}});
  ASSERT_EQ(narrowed.status, 200) << narrowed.raw;
  EXPECT_EQ(narrowed.body.at("UserPoolClient").at("AllowedOAuthScopes"), (bj::array{"mcp/read"}));
  EXPECT_EQ(error(token_basic("grant_type=client_credentials&scope=mcp%2Fwrite", client_, secret_)), "invalid_scope");
  auto off = a_->call("UpdateUserPoolClient", {{"UserPoolId", pool_}, {"ClientId", client_}});
  ASSERT_EQ(off.status, 200) << off.raw;
  EXPECT_EQ(off.body.at("UserPoolClient").at("AllowedOAuthFlowsUserPoolClient"), false);
  EXPECT_EQ(error(token_basic("grant_type=client_credentials", client_, secret_)), "unauthorized_client");
  EXPECT_EQ(a_->call("UpdateUserPoolClient", {{"UserPoolId", pool_}, {"ClientId", "nope"}}).type(),
            "ResourceNotFoundException");
}

TEST_F(LocalCognitoOAuthTest, ClientCredentialsGiveCognitoShapedTokensTheVerifierAccepts) {
  auto t = token_basic("grant_type=client_credentials&scope=mcp%2Fread", client_, secret_);
  ASSERT_EQ(t.status, 200) << t.raw;
  EXPECT_EQ(t.headers["cache-control"], "no-store");
  EXPECT_EQ(t.str({"token_type"}), "Bearer");
  EXPECT_EQ(t.body.at("expires_in").to_number<int>(), 3600);
  EXPECT_FALSE(t.body.contains("refresh_token"));  // Cognito gives M2M clients none
  const std::string access = t.str({"access_token"});

  JwtRules rules;
  rules.issuer = a_->idp->issuer(pool_);
  rules.client_ids = {client_};
  rules.required_scopes = {"mcp/read"};
  auto keys = JwkSet::parse(a_->get("/" + pool_ + "/.well-known/jwks.json").raw);
  ASSERT_TRUE(keys);
  auto v = verify_jwt(access, rules, *keys, std::chrono::system_clock::now());
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->subject, client_);
  EXPECT_EQ(v->claims.at("token_use"), "access");
  EXPECT_EQ(v->claims.at("scope"), "mcp/read");
  EXPECT_FALSE(v->claims.contains("username"));
  EXPECT_FALSE(v->claims.contains("aud"));

  // client_secret_post; no scope asked for: every scope the client is allowed.
  auto post = a_->post_form(token_path(), "grant_type=client_credentials&client_id=" + client_ +
                                              "&client_secret=" + form_value(secret_));
  ASSERT_EQ(post.status, 200) << post.raw;
  EXPECT_EQ(json_part(post.str({"access_token"}), 1).at("scope"), "mcp/read mcp/write");
}

TEST_F(LocalCognitoOAuthTest, TokenEndpointErrorsAreOAuthErrorsThatNameTheProblem) {
  auto wrong_basic = token_basic("grant_type=client_credentials", client_, "not-the-secret");
  EXPECT_EQ(wrong_basic.status, 401);
  EXPECT_EQ(error(wrong_basic), "invalid_client");
  EXPECT_EQ(wrong_basic.headers["www-authenticate"], "Basic realm=\"" + pool_ + "\"");
  auto wrong_post = a_->post_form(token_path(), "grant_type=client_credentials&client_id=" + client_ + "&client_secret=x");
  EXPECT_EQ(wrong_post.status, 400);
  EXPECT_EQ(error(wrong_post), "invalid_client");
  EXPECT_EQ(error(token_basic("grant_type=client_credentials", "nosuchclient", "x")), "invalid_client");

  auto read_only = m2m_client({"mcp/read"});
  const std::string ro = read_only.str({"UserPoolClient", "ClientId"});
  const std::string ro_secret = read_only.str({"UserPoolClient", "ClientSecret"});
  auto not_allowed = token_basic("grant_type=client_credentials&scope=mcp%2Fwrite", ro, ro_secret);
  EXPECT_EQ(not_allowed.status, 400);
  EXPECT_EQ(error(not_allowed), "invalid_scope");
  EXPECT_NE(not_allowed.str({"error_description"}).find("scope mcp/write is not allowed"), std::string::npos);

  auto disabled = m2m_client({"mcp/read"}, true, {"client_credentials"}, false);
  auto off = token_basic("grant_type=client_credentials", disabled.str({"UserPoolClient", "ClientId"}),
                         disabled.str({"UserPoolClient", "ClientSecret"}));
  EXPECT_EQ(error(off), "unauthorized_client");

  EXPECT_EQ(error(token_basic("scope=mcp%2Fread", client_, secret_)), "invalid_request");  // no grant_type
  EXPECT_EQ(error(token_basic("grant_type=password", client_, secret_)), "unsupported_grant_type");
  EXPECT_EQ(error(token_basic("grant_type=client_credentials&grant_type=client_credentials", client_, secret_)),
            "invalid_request");
  auto twice = a_->post_form(token_path(), "grant_type=client_credentials&client_secret=" + form_value(secret_),
                             {{"Authorization", basic(client_, secret_)}});
  EXPECT_EQ(error(twice), "invalid_request");
  auto json = Instance::to_call(test::request(a_->port, "POST", token_path(), {{"Content-Type", "application/json"}},
                                              R"({"grant_type":"client_credentials"})"));
  EXPECT_EQ(error(json), "invalid_request");

  // A deleted resource server takes its scopes with it.
  ASSERT_EQ(a_->call("DeleteResourceServer", {{"UserPoolId", pool_}, {"Identifier", "mcp"}}).status, 200);
  auto deleted = token_basic("grant_type=client_credentials&scope=mcp%2Fread", client_, secret_);
  EXPECT_EQ(error(deleted), "invalid_scope");
  for (const Call* c : {&wrong_basic, &wrong_post, &not_allowed, &twice, &deleted}) {
    EXPECT_EQ(c->raw.find(secret_), std::string::npos) << c->raw;
  }
  EXPECT_EQ(a_->post_form("/us-east-1_nope/oauth2/token", "grant_type=client_credentials").status, 404);
}

TEST_F(LocalCognitoOAuthTest, RefreshTokensOfASignInWorkAtTheTokenEndpoint) {
  auto web = a_->call("CreateUserPoolClient", {{"UserPoolId", pool_}, {"ClientName", "web"},
                                               {"ExplicitAuthFlows", bj::array{"ALLOW_USER_PASSWORD_AUTH"}}});
  const std::string web_id = web.str({"UserPoolClient", "ClientId"});
  ASSERT_EQ(a_->call("AdminCreateUser", {{"UserPoolId", pool_}, {"Username", "alice"}, {"TemporaryPassword", "Temp0rary!"}}).status, 200);
  ASSERT_EQ(a_->call("AdminSetUserPassword", {{"UserPoolId", pool_}, {"Username", "alice"},
                                              {"Password", "Passw0rd!Lab"}, {"Permanent", true}}).status, 200);
  auto signed_in = a_->call("InitiateAuth", {{"AuthFlow", "USER_PASSWORD_AUTH"}, {"ClientId", web_id},
                                             {"AuthParameters", bj::object{{"USERNAME", "alice"}, {"PASSWORD", "Passw0rd!Lab"}}}});
  const std::string refresh = signed_in.str({"AuthenticationResult", "RefreshToken"});
  ASSERT_FALSE(refresh.empty()) << signed_in.raw;

  auto r = a_->post_form(token_path(), "grant_type=refresh_token&client_id=" + web_id + "&refresh_token=" + form_value(refresh));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(json_part(r.str({"access_token"}), 1).at("username"), "alice");
  EXPECT_EQ(json_part(r.str({"id_token"}), 1).at("aud").as_string(), web_id);
  EXPECT_FALSE(r.body.contains("refresh_token"));
  auto other = token_basic("grant_type=refresh_token&refresh_token=" + form_value(refresh), client_, secret_);
  EXPECT_EQ(error(other), "invalid_grant");  // another client's refresh token
  EXPECT_EQ(error(a_->post_form(token_path(), "grant_type=refresh_token&client_id=" + web_id + "&refresh_token=nope")),
            "invalid_grant");
}

TEST_F(LocalCognitoOAuthTest, MetadataIsServedAtEveryWellKnownPathAndSurvivesARestart) {
  const std::string iss = a_->idp->issuer(pool_);
  const std::vector<std::string> paths = {"/" + pool_ + "/.well-known/openid-configuration",
                                          "/.well-known/openid-configuration/" + pool_,
                                          "/.well-known/oauth-authorization-server/" + pool_,
                                          "/" + pool_ + "/.well-known/oauth-authorization-server"};
  for (const auto& p : paths) {
    auto doc = a_->get(p);
    ASSERT_EQ(doc.status, 200) << p;
    EXPECT_EQ(doc.str({"issuer"}), iss);
    EXPECT_EQ(doc.str({"token_endpoint"}), iss + "/oauth2/token");
    EXPECT_EQ(doc.body.at("grant_types_supported"), (bj::array{"client_credentials", "refresh_token"}));
    EXPECT_EQ(doc.body.at("token_endpoint_auth_methods_supported"),
              (bj::array{"client_secret_basic", "client_secret_post"}));
    const auto& scopes = doc.body.at("scopes_supported").as_array();
    EXPECT_NE(std::find(scopes.begin(), scopes.end(), bj::value("mcp/write")), scopes.end()) << doc.raw;
  }
  EXPECT_EQ(a_->get("/.well-known/oauth-authorization-server/us-east-1_nope").status, 404);

  // Resource servers and the clients' OAuth settings are in the state file.
  ASSERT_TRUE(a_->idp->flush());
  a_.reset();
  a_ = std::make_unique<Instance>(dir_);
  auto t = token_basic("grant_type=client_credentials&scope=mcp%2Fwrite", client_, secret_);
  ASSERT_EQ(t.status, 200) << t.raw;
  auto rs = a_->call("DescribeResourceServer", {{"UserPoolId", pool_}, {"Identifier", "mcp"}});
  EXPECT_EQ(rs.body.at("ResourceServer").at("Scopes").as_array().size(), 2u) << rs.raw;
}

}  // namespace
}  // namespace idp::auth

// LocalCognito's groups, through its AWS JSON 1.1 entry point (handle()) as Cognito's clients
// call it: CreateGroup and AdminAddUserToGroup with Cognito's errors, the `cognito:groups` claim
// in the access and ID tokens (also after a refresh), and groups that survive a restart.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <string>

#include "idp/auth/jwt.h"
#include "idp/auth/local_cognito.h"

namespace idp::auth {
namespace {

namespace bj = boost::json;

struct Answer {
  int status = 0;
  bj::object body;
  std::string type() const {
    auto* t = body.if_contains("__type");
    return t && t->is_string() ? std::string(t->get_string()) : std::string();
  }
  std::string message() const {
    auto* m = body.if_contains("message");
    return m && m->is_string() ? std::string(m->get_string()) : std::string();
  }
};

Answer call(LocalCognito& idp, std::string_view op, const bj::object& in) {
  http::Response r =
      idp.handle("AWSCognitoIdentityProviderService." + std::string(op), bj::serialize(in));
  Answer a;
  a.status = r.status;
  boost::system::error_code ec;
  bj::value v = bj::parse(r.body, ec);
  if (!ec && v.is_object()) a.body = v.as_object();
  return a;
}

class LocalCognitoGroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cognito-groups-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    idp_ = std::make_unique<LocalCognito>(dir_);
    idp_->set_issuer_base("http://127.0.0.1:9229");
    auto pool = call(*idp_, "CreateUserPool", {{"PoolName", "web"}});
    ASSERT_EQ(pool.status, 200);
    pool_ = std::string(pool.body.at("UserPool").at("Id").as_string());
    auto client = call(
        *idp_, "CreateUserPoolClient",
        {{"UserPoolId", pool_},
         {"ClientName", "ui"},
         {"ExplicitAuthFlows", bj::array{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}}});
    ASSERT_EQ(client.status, 200);
    client_ = std::string(client.body.at("UserPoolClient").at("ClientId").as_string());
    for (const char* name : {"rita", "alice"}) {
      ASSERT_EQ(call(*idp_, "AdminCreateUser", {{"UserPoolId", pool_}, {"Username", name}}).status,
                200);
      ASSERT_EQ(call(*idp_, "AdminSetUserPassword",
                     {{"UserPoolId", pool_},
                      {"Username", name},
                      {"Password", kPassword},
                      {"Permanent", true}})
                    .status,
                200);
    }
  }
  void TearDown() override {
    idp_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The tokens of a password sign-in.
  bj::object sign_in(const std::string& username) {
    auto r = call(*idp_, "InitiateAuth",
                  {{"AuthFlow", "USER_PASSWORD_AUTH"},
                   {"ClientId", client_},
                   {"AuthParameters", {{"USERNAME", username}, {"PASSWORD", kPassword}}}});
    EXPECT_EQ(r.status, 200) << r.message();
    auto* result = r.body.if_contains("AuthenticationResult");
    return result && result->is_object() ? result->as_object() : bj::object{};
  }
  static bj::object claims(const bj::object& tokens, std::string_view which) {
    auto* t = tokens.if_contains(which);
    return t && t->is_string() ? unverified_claims(t->get_string()) : bj::object{};
  }

  static constexpr const char* kPassword = "Groups-Passw0rd";
  std::string dir_, pool_, client_;
  std::unique_ptr<LocalCognito> idp_;
};

TEST_F(LocalCognitoGroupsTest, CreateGroupAnswersLikeCognitoAndRefusesADuplicate) {
  auto created = call(*idp_, "CreateGroup",
                      {{"UserPoolId", pool_},
                       {"GroupName", "Reviewer"},
                       {"Description", "reviews documents"},
                       {"Precedence", 5}});
  ASSERT_EQ(created.status, 200) << created.message();
  const auto& g = created.body.at("Group").as_object();
  EXPECT_EQ(g.at("GroupName"), "Reviewer");
  EXPECT_EQ(std::string(g.at("UserPoolId").as_string()), pool_);
  EXPECT_EQ(g.at("Description"), "reviews documents");
  EXPECT_EQ(g.at("Precedence"), 5);
  EXPECT_TRUE(g.contains("CreationDate"));

  auto again = call(*idp_, "CreateGroup", {{"UserPoolId", pool_}, {"GroupName", "Reviewer"}});
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.type(), "GroupExistsException");
  EXPECT_EQ(again.message(), "A group with the name Reviewer already exists.");

  auto no_pool =
      call(*idp_, "CreateGroup", {{"UserPoolId", "us-east-1_Nope"}, {"GroupName", "Reviewer"}});
  EXPECT_EQ(no_pool.type(), "ResourceNotFoundException");
  auto no_name = call(*idp_, "CreateGroup", {{"UserPoolId", pool_}});
  EXPECT_EQ(no_name.type(), "InvalidParameterException");
  EXPECT_NE(no_name.message().find("groupName"), std::string::npos) << no_name.message();
  auto spaced = call(*idp_, "CreateGroup", {{"UserPoolId", pool_}, {"GroupName", "two words"}});
  EXPECT_EQ(spaced.type(), "InvalidParameterException");
  EXPECT_NE(spaced.message().find("'two words' at 'groupName'"), std::string::npos);
  auto negative = call(*idp_, "CreateGroup",
                       {{"UserPoolId", pool_}, {"GroupName", "Admins"}, {"Precedence", -1}});
  EXPECT_EQ(negative.type(), "InvalidParameterException");
  EXPECT_NE(negative.message().find("precedence"), std::string::npos) << negative.message();
}

TEST_F(LocalCognitoGroupsTest, AMembersTokensCarryTheGroupsOthersHaveNoClaim) {
  ASSERT_EQ(call(*idp_, "CreateGroup",
                 {{"UserPoolId", pool_}, {"GroupName", "Reviewer"}, {"Precedence", 10}})
                .status,
            200);
  ASSERT_EQ(call(*idp_, "CreateGroup",
                 {{"UserPoolId", pool_}, {"GroupName", "Admins"}, {"Precedence", 1}})
                .status,
            200);
  ASSERT_EQ(call(*idp_, "CreateGroup", {{"UserPoolId", pool_}, {"GroupName", "Auditors"}}).status,
            200);

  auto no_group = call(*idp_, "AdminAddUserToGroup",
                       {{"UserPoolId", pool_}, {"Username", "rita"}, {"GroupName", "Nobody"}});
  EXPECT_EQ(no_group.type(), "ResourceNotFoundException");
  EXPECT_EQ(no_group.message(), "Group not found.");
  auto no_user = call(*idp_, "AdminAddUserToGroup",
                      {{"UserPoolId", pool_}, {"Username", "nobody"}, {"GroupName", "Reviewer"}});
  EXPECT_EQ(no_user.type(), "UserNotFoundException");

  for (const char* group : {"Auditors", "Reviewer", "Admins", "Reviewer"}) {  // twice: no change
    auto added = call(*idp_, "AdminAddUserToGroup",
                      {{"UserPoolId", pool_}, {"Username", "rita"}, {"GroupName", group}});
    ASSERT_EQ(added.status, 200) << added.message();
    EXPECT_TRUE(added.body.empty());
  }

  // By precedence, a group without one last.
  const bj::array expected{"Admins", "Reviewer", "Auditors"};
  bj::object rita = sign_in("rita");
  EXPECT_EQ(claims(rita, "AccessToken").at("cognito:groups"), expected);
  EXPECT_EQ(claims(rita, "IdToken").at("cognito:groups"), expected);

  bj::object alice = sign_in("alice");
  EXPECT_FALSE(claims(alice, "AccessToken").contains("cognito:groups"));
  EXPECT_FALSE(claims(alice, "IdToken").contains("cognito:groups"));

  // A refresh issues tokens with the groups the user has now.
  ASSERT_EQ(call(*idp_, "AdminAddUserToGroup",
                 {{"UserPoolId", pool_}, {"Username", "alice"}, {"GroupName", "Auditors"}})
                .status,
            200);
  auto refreshed = call(*idp_, "InitiateAuth",
                        {{"AuthFlow", "REFRESH_TOKEN_AUTH"},
                         {"ClientId", client_},
                         {"AuthParameters", {{"REFRESH_TOKEN", alice.at("RefreshToken")}}}});
  ASSERT_EQ(refreshed.status, 200) << refreshed.message();
  EXPECT_EQ(claims(refreshed.body.at("AuthenticationResult").as_object(), "AccessToken")
                .at("cognito:groups"),
            (bj::array{"Auditors"}));
}

TEST_F(LocalCognitoGroupsTest, GroupsAndMembershipsSurviveARestart) {
  ASSERT_EQ(call(*idp_, "CreateGroup", {{"UserPoolId", pool_}, {"GroupName", "Reviewer"}}).status,
            200);
  ASSERT_EQ(call(*idp_, "AdminAddUserToGroup",
                 {{"UserPoolId", pool_}, {"Username", "rita"}, {"GroupName", "Reviewer"}})
                .status,
            200);
  ASSERT_TRUE(idp_->flush());
  idp_ = std::make_unique<LocalCognito>(dir_);
  idp_->set_issuer_base("http://127.0.0.1:9229");

  EXPECT_EQ(claims(sign_in("rita"), "AccessToken").at("cognito:groups"), (bj::array{"Reviewer"}));
  auto again = call(*idp_, "CreateGroup", {{"UserPoolId", pool_}, {"GroupName", "Reviewer"}});
  EXPECT_EQ(again.type(), "GroupExistsException");
}

}  // namespace
}  // namespace idp::auth

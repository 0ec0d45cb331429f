#include "demo_setup.h"

#include <fmt/format.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "idp/core/json_util.h"
#include "idp/core/random.h"

namespace idp::cli {

namespace bj = boost::json;

namespace {

Result<bj::object> cognito_call(auth::LocalCognito& idp, std::string_view op,
                                const bj::object& body) {
  auto r = idp.handle("AWSCognitoIdentityProviderService." + std::string(op), bj::serialize(body));
  auto v = ::idp::json::parse(r.body);
  if (r.status != 200 || !v || !v->is_object()) {
    return make_error(ErrorCode::kInternal,
                      fmt::format("local identity provider: {} failed: {}", op, r.body));
  }
  return v->get_object();
}

}  // namespace

Result<DemoPool> make_demo_pool(auth::LocalCognito& idp, std::string_view pool_name,
                                std::string_view client_name, std::string_view username,
                                const Secret& password) {
  DemoPool out;
  auto pool = cognito_call(idp, "CreateUserPool", {{"PoolName", pool_name}});
  if (!pool) return std::unexpected(pool.error());
  out.id = std::string(pool->at("UserPool").at("Id").as_string());
  auto client = cognito_call(
      idp, "CreateUserPoolClient",
      {{"UserPoolId", out.id},
       {"ClientName", client_name},
       {"ExplicitAuthFlows", bj::array{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}}});
  if (!client) return std::unexpected(client.error());
  out.client_id = std::string(client->at("UserPoolClient").at("ClientId").as_string());
  // Created with a temporary password, then given the real one for good (as an administrator
  // of a real pool does), so that the first sign-in needs no new password.
  auto user =
      cognito_call(idp, "AdminCreateUser",
                   {{"UserPoolId", out.id}, {"Username", username}, {"MessageAction", "SUPPRESS"}});
  if (!user) return std::unexpected(user.error());
  auto set = cognito_call(idp, "AdminSetUserPassword",
                          {{"UserPoolId", out.id},
                           {"Username", username},
                           {"Password", password.reveal()},
                           {"Permanent", true}});
  if (!set) return std::unexpected(set.error());
  return out;
}

Secret demo_password() {
  static constexpr std::string_view kLetters = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
  static constexpr std::string_view kDigits = "23456789";
  // A byte below the largest multiple of the alphabet's size picks uniformly.
  auto pick = [](std::string_view alphabet) {
    const unsigned limit = 256 - 256 % alphabet.size();
    for (;;) {
      auto b = static_cast<unsigned char>(random_bytes(1)[0]);
      if (b < limit) return alphabet[b % alphabet.size()];
    }
  };
  std::string pw;
  // Four groups of four: easy to type from the screen; the fixed "a", "Z", digit and "-" meet
  // any policy of upper, lower, digit and symbol.
  for (int group = 0; group < 4; ++group) {
    if (group > 0) pw += '-';
    for (int i = 0; i < 4; ++i) {
      std::string_view alphabet = (group == 3 && i == 3) ? kDigits : kLetters;
      pw += pick(alphabet);
    }
  }
  return Secret(pw + "aZ");
}

Result<void> write_secret_file(const std::string& path, const bj::array& secret) {
  std::string text = bj::serialize(secret) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  std::string why = std::strerror(errno);
  if (fd >= 0) ::close(fd);
  if (!ok) return make_error(ErrorCode::kUnavailable, "cannot write " + path + ": " + why);
  return {};
}

}  // namespace idp::cli

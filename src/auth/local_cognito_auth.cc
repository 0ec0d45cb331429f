// The sign-in side of LocalCognito's API: InitiateAuth (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH),
// RespondToAuthChallenge (NEW_PASSWORD_REQUIRED), GetUser, and the tokens they hand out.
#include <boost/json/array.hpp>

#include "idp/auth/jwt.h"
#include "idp/core/crypto.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "local_cognito_api.h"

namespace idp::auth::local {

namespace bj = boost::json;

namespace {

constexpr std::int64_t kRefreshLifetime = 30 * 24 * 3600;  // Cognito's default: 30 days
constexpr std::int64_t kSessionLifetime = 180;             // challenge sessions: 3 min

bool flow_allowed(const Client& c, std::string_view flow) {
  if (c.flows.empty()) return true;  // lenient: a client created without flows allows all
  for (const auto& f : c.flows) {
    if (f == flow || f == "ALLOW_" + std::string(flow)) return true;
  }
  return false;
}

}  // namespace

// SECRET_HASH = base64(HMAC-SHA256(secret, username + client_id)); any of `names` may match.
ApiResult<void> Api::check_secret_hash(const Client& c, const std::optional<std::string>& given,
                                       std::initializer_list<std::string_view> names) {
  if (!c.secret) return {};
  if (!given) {
    return std::unexpected(not_authorized(
        "Client " + c.id + " is configured with secret but SECRET_HASH was not received"));
  }
  for (std::string_view name : names) {
    std::string msg = std::string(name) + c.id;
    std::string expected = base64_encode(crypto::hmac_sha256(c.secret->reveal(), msg));
    if (constant_time_equal(expected, *given)) return {};
  }
  return std::unexpected(not_authorized("Unable to verify secret hash for client " + c.id));
}

bj::object Api::issue_locked(const Pool& p, const Client& c, const User& u, std::int64_t auth_time,
                             bool with_refresh) {
  std::int64_t iat = now_s();
  std::string iss = issuer_locked(p.id);
  std::string origin = uuid4();
  // Cognito puts the groups in both tokens, and leaves the claim out for a user in none.
  bj::array groups = groups_claim(p, u);

  bj::object access;
  access["sub"] = u.sub;
  if (!groups.empty()) access["cognito:groups"] = groups;
  access["iss"] = iss;
  access["client_id"] = c.id;
  access["origin_jti"] = origin;
  access["event_id"] = uuid4();
  access["token_use"] = "access";
  access["scope"] = "aws.cognito.signin.user.admin";
  access["auth_time"] = auth_time;
  access["exp"] = iat + token_lifetime_;
  access["iat"] = iat;
  access["jti"] = uuid4();
  access["username"] = u.username;

  bj::object id;
  id["sub"] = u.sub;
  if (!groups.empty()) id["cognito:groups"] = std::move(groups);
  for (const auto& [n, v] : u.attributes) {
    if (n == "sub") continue;
    if (n == "email_verified" || n == "phone_number_verified") {
      id[n] = (v == "true");
    } else {
      id[n] = v;
    }
  }
  id["iss"] = iss;
  id["cognito:username"] = u.username;
  id["origin_jti"] = origin;
  id["aud"] = c.id;
  id["event_id"] = access["event_id"];
  id["token_use"] = "id";
  id["auth_time"] = auth_time;
  id["exp"] = iat + token_lifetime_;
  id["iat"] = iat;
  id["jti"] = uuid4();

  bj::object result;
  result["AccessToken"] = p.key->sign_jwt(access);
  result["ExpiresIn"] = token_lifetime_;
  result["TokenType"] = "Bearer";
  if (with_refresh) {
    std::erase_if(state_.refresh, [iat](const auto& kv) { return kv.second.expires <= iat; });
    std::string token = random_token(64);
    state_.refresh[crypto::sha256(token)] =
        RefreshEntry{p.id, c.id, u.username, auth_time, iat + kRefreshLifetime};
    result["RefreshToken"] = token;
  }
  result["IdToken"] = p.key->sign_jwt(id);
  return result;
}

std::string Api::new_session_locked(const Pool& p, const Client& c, const User& u) {
  std::int64_t now = now_s();
  std::erase_if(sessions_, [now](const auto& kv) { return kv.second.expires <= now; });
  std::string s = random_token(96);
  sessions_[crypto::sha256(s)] = Session{p.id, c.id, u.username, now + kSessionLifetime};
  return s;
}

ApiResult<bj::object> Api::initiate_auth(const bj::object& in) {
  auto flow = required_string(in, "AuthFlow");
  if (!flow) return std::unexpected(flow.error());
  auto client_id = required_string(in, "ClientId");
  if (!client_id) return std::unexpected(client_id.error());
  const bj::object* params = json::find_object(in, "AuthParameters");
  if (*flow == "USER_PASSWORD_AUTH") return password_auth(*client_id, params);
  if (*flow == "REFRESH_TOKEN_AUTH" || *flow == "REFRESH_TOKEN")
    return refresh_auth(*client_id, params);
  {
    std::lock_guard lock(mu_);
    auto c = client_locked(*client_id);
    if (!c) return std::unexpected(c.error());
  }
  return std::unexpected(invalid("Initiate Auth method not supported."));
}

ApiResult<bj::object> Api::password_auth(const std::string& client_id, const bj::object* params) {
  std::optional<std::string> username = param(params, "USERNAME");
  std::optional<std::string> pw = param(params, "PASSWORD");
  std::optional<std::string> secret_hash = param(params, "SECRET_HASH");
  PasswordHash stored;
  std::string pool_id;
  {
    std::lock_guard lock(mu_);
    auto c = client_locked(client_id);
    if (!c) return std::unexpected(c.error());
    if (!flow_allowed(**c, "USER_PASSWORD_AUTH")) {
      return std::unexpected(invalid("USER_PASSWORD_AUTH flow not enabled for this client"));
    }
    if (!username) return std::unexpected(invalid("Missing required parameter USERNAME"));
    if (!pw) return std::unexpected(invalid("Missing required parameter PASSWORD"));
    auto h = check_secret_hash(**c, secret_hash, {*username});
    if (!h) return std::unexpected(h.error());
    pool_id = (*c)->pool_id;
    auto p = pool_locked(pool_id);
    if (!p) return std::unexpected(p.error());
    User* u = find_user(**p, *username);
    if (!u) {
      if ((*c)->prevent_user_existence_errors) {
        return std::unexpected(not_authorized("Incorrect username or password."));
      }
      return std::unexpected(ApiError{"UserNotFoundException", "User does not exist."});
    }
    stored = u->password;
  }
  Secret password(std::move(*pw));
  bool ok = check_password(stored, password.reveal());
  if (!ok) return std::unexpected(not_authorized("Incorrect username or password."));

  std::lock_guard lock(mu_);
  auto c = client_locked(client_id);
  if (!c) return std::unexpected(c.error());
  auto p = pool_locked(pool_id);
  if (!p) return std::unexpected(p.error());
  auto u = user_locked(**p, *username);
  if (!u) return std::unexpected(u.error());
  if ((*u)->password.hash != stored.hash) {  // changed meanwhile
    return std::unexpected(not_authorized("Incorrect username or password."));
  }
  if (!(*u)->enabled) return std::unexpected(not_authorized("User is disabled."));
  if ((*u)->status == "FORCE_CHANGE_PASSWORD") {
    bj::object out;
    out["ChallengeName"] = "NEW_PASSWORD_REQUIRED";
    out["Session"] = new_session_locked(**p, **c, **u);
    bj::object attrs;
    for (const auto& [n, v] : (*u)->attributes) {
      if (n != "email_verified" && n != "phone_number_verified") attrs[n] = v;
    }
    bj::object cp;
    cp["USER_ID_FOR_SRP"] = (*u)->username;
    cp["requiredAttributes"] = "[]";
    cp["userAttributes"] = json::serialize(attrs);
    out["ChallengeParameters"] = std::move(cp);
    return out;
  }
  bj::object out;
  out["ChallengeParameters"] = bj::object{};
  out["AuthenticationResult"] = issue_locked(**p, **c, **u, now_s(), true);
  writer_->changed();
  return out;
}

ApiResult<bj::object> Api::refresh_auth(const std::string& client_id, const bj::object* params) {
  std::optional<std::string> token = param(params, "REFRESH_TOKEN");
  std::optional<std::string> secret_hash = param(params, "SECRET_HASH");
  std::lock_guard lock(mu_);
  auto c = client_locked(client_id);
  if (!c) return std::unexpected(c.error());
  if (!token) return std::unexpected(invalid("Missing required parameter REFRESH_TOKEN"));
  auto it = state_.refresh.find(crypto::sha256(*token));
  if (it == state_.refresh.end() || it->second.client_id != client_id ||
      it->second.expires <= now_s()) {
    return std::unexpected(not_authorized("Invalid Refresh Token"));
  }
  auto p = pool_locked(it->second.pool_id);
  if (!p) return std::unexpected(not_authorized("Invalid Refresh Token"));
  User* u = find_user(**p, it->second.username);
  if (!u) return std::unexpected(not_authorized("Invalid Refresh Token"));
  // Cognito computes it over the internal username (the sub); accept the username too.
  auto h = check_secret_hash(**c, secret_hash, {u->sub, u->username});
  if (!h) return std::unexpected(h.error());
  if (!u->enabled) return std::unexpected(not_authorized("User is disabled."));
  bj::object out;
  out["ChallengeParameters"] = bj::object{};
  out["AuthenticationResult"] = issue_locked(**p, **c, *u, it->second.auth_time, false);
  return out;
}

ApiResult<bj::object> Api::respond_to_auth_challenge(const bj::object& in) {
  auto client_id = required_string(in, "ClientId");
  if (!client_id) return std::unexpected(client_id.error());
  auto name = required_string(in, "ChallengeName");
  if (!name) return std::unexpected(name.error());
  const bj::object* responses = json::find_object(in, "ChallengeResponses");
  std::optional<std::string> username = param(responses, "USERNAME");
  std::optional<std::string> new_pw = param(responses, "NEW_PASSWORD");
  std::optional<std::string> secret_hash = param(responses, "SECRET_HASH");
  const bj::string* session = json::find_string(in, "Session");
  std::string session_key;
  {
    std::lock_guard lock(mu_);
    auto c = client_locked(*client_id);
    if (!c) return std::unexpected(c.error());
    if (*name != "NEW_PASSWORD_REQUIRED") {
      return std::unexpected(invalid("Challenge " + *name + " is not supported"));
    }
    if (!username) return std::unexpected(invalid("Missing required parameter USERNAME"));
    if (!new_pw) return std::unexpected(invalid("Missing required parameter NEW_PASSWORD"));
    if (!session) return std::unexpected(invalid("Missing required parameter Session"));
    auto h = check_secret_hash(**c, secret_hash, {*username});
    if (!h) return std::unexpected(h.error());
    session_key = crypto::sha256(*session);
    auto it = sessions_.find(session_key);
    if (it == sessions_.end() || it->second.expires <= now_s() ||
        it->second.client_id != *client_id) {
      return std::unexpected(not_authorized("Invalid session for the user, session is expired."));
    }
    auto p = pool_locked(it->second.pool_id);
    if (!p) return std::unexpected(p.error());
    User* u = find_user(**p, *username);
    if (!u || u->username != it->second.username) {
      return std::unexpected(not_authorized("Invalid session for the user."));
    }
  }
  Secret password(std::move(*new_pw));
  if (auto why = password_policy_violation(password.reveal())) {
    return std::unexpected(
        ApiError{"InvalidPasswordException", "Password does not conform to policy: " + *why});
  }
  PasswordHash h = hash_password(password.reveal());
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session_key);
  if (it == sessions_.end()) {
    return std::unexpected(not_authorized("Invalid session for the user, session is expired."));
  }
  Session s = it->second;
  sessions_.erase(it);
  auto c = client_locked(*client_id);
  if (!c) return std::unexpected(c.error());
  auto p = pool_locked(s.pool_id);
  if (!p) return std::unexpected(p.error());
  auto u = user_locked(**p, s.username);
  if (!u) return std::unexpected(u.error());
  (*u)->password = std::move(h);
  (*u)->status = "CONFIRMED";
  (*u)->modified = now_s();
  bj::object out;
  out["ChallengeParameters"] = bj::object{};
  out["AuthenticationResult"] = issue_locked(**p, **c, **u, now_s(), true);
  writer_->changed();
  return out;
}

ApiResult<bj::object> Api::get_user(const bj::object& in) {
  auto token = required_string(in, "AccessToken");
  if (!token) return std::unexpected(token.error());
  std::lock_guard lock(mu_);
  auto v = verify_access_token_locked(*token);
  if (!v) return std::unexpected(v.error());
  bj::object out;
  out["Username"] = (*v)->username;
  out["UserAttributes"] = attributes_json(**v);
  return out;
}

// The pool is the one the (unverified) `iss` names; everything else is the verifier's job, with
// the rules a resource server applies to this pool's tokens.
ApiResult<User*> Api::verify_access_token_locked(const std::string& token) {
  const auto invalid_token = [] { return std::unexpected(not_authorized("Invalid Access Token")); };
  const bj::object claims = unverified_claims(token);
  const bj::string* iss = json::find_string(claims, "iss");
  if (!iss) return invalid_token();
  const std::string_view iss_v(*iss);
  const auto slash = iss_v.rfind('/');
  if (slash == std::string_view::npos) return invalid_token();
  auto pit = state_.pools.find(std::string(iss_v.substr(slash + 1)));
  if (pit == state_.pools.end()) return invalid_token();
  Pool& pool = pit->second;
  JwtRules rules;
  rules.issuer = issuer_locked(pool.id);
  rules.skew = std::chrono::seconds(0);  // our own clock issued it
  for (const auto& [id, c] : state_.clients) {
    if (c.pool_id == pool.id) rules.client_ids.push_back(id);
  }
  auto verified = verify_jwt(token, rules, pool.key->verification_keys(), clock_->now());
  if (!verified) {
    if (verified.error().failure == JwtFailure::kExpired) {
      return std::unexpected(not_authorized("Access Token has expired"));
    }
    return invalid_token();
  }
  const bj::string* username = json::find_string(verified->claims, "username");
  if (!username) return invalid_token();
  User* u = find_user(pool, std::string(*username));
  if (!u) return std::unexpected(ApiError{"UserNotFoundException", "User does not exist."});
  return u;
}

}  // namespace idp::auth::local

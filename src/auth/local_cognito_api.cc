// The administration side of LocalCognito's API (CreateUserPool, CreateUserPoolClient,
// DescribeUserPoolClient, UpdateUserPoolClient, AdminCreateUser, AdminSetUserPassword,
// AdminGetUser), its state and the pool's JWKS.
#include "local_cognito_api.h"

#include <boost/json/array.hpp>

#include <algorithm>
#include <stdexcept>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/http/server.h"

namespace idp::auth::local {

namespace bj = boost::json;

ApiError invalid(std::string message) { return {"InvalidParameterException", std::move(message)}; }
ApiError not_authorized(std::string message) {
  return {"NotAuthorizedException", std::move(message)};
}

// Cognito's default policy, reduced: at least 8 characters with upper, lower and digit.
std::optional<std::string> password_policy_violation(std::string_view p) {
  if (p.size() < 8) return "Password not long enough";
  bool upper = false, lower = false, digit = false;
  for (char c : p) {
    upper |= (c >= 'A' && c <= 'Z');
    lower |= (c >= 'a' && c <= 'z');
    digit |= (c >= '0' && c <= '9');
  }
  if (!lower) return "Password must have lowercase characters";
  if (!upper) return "Password must have uppercase characters";
  if (!digit) return "Password must have numeric characters";
  return std::nullopt;
}

bj::array attributes_json(const User& u) {
  bj::array a;
  bj::object sub;
  sub["Name"] = "sub";
  sub["Value"] = u.sub;
  a.push_back(std::move(sub));
  for (const auto& [n, v] : u.attributes) {
    bj::object o;
    o["Name"] = n;
    o["Value"] = v;
    a.push_back(std::move(o));
  }
  return a;
}

// Cognito reports a missing member as a validation error in lowerCamel case.
static std::string lower_camel(std::string_view name) {
  std::string s(name);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

ApiResult<std::string> required_string(const bj::object& in, std::string_view name) {
  const bj::string* s = json::find_string(in, name);
  if (!s) {
    return std::unexpected(invalid("1 validation error detected: Value null at '" +
                                   lower_camel(name) +
                                   "' failed to satisfy constraint: Member must not be null"));
  }
  if (s->empty()) {
    return std::unexpected(
        invalid("1 validation error detected: Value '' at '" + lower_camel(name) +
                "' failed to satisfy constraint: Member must have length greater "
                "than or equal to 1"));
  }
  return std::string(*s);
}

std::optional<std::string> param(const bj::object* map, std::string_view name) {
  if (!map) return std::nullopt;
  const bj::string* s = json::find_string(*map, name);
  if (!s) return std::nullopt;
  return std::string(*s);
}

namespace {

constexpr std::int64_t kDefaultTokenLifetime = 3600;  // access and ID tokens: 1 h

bj::object user_json(const User& u, bool attributes_key_is_user_attributes) {
  bj::object o;
  o["Username"] = u.username;
  o[attributes_key_is_user_attributes ? "UserAttributes" : "Attributes"] = attributes_json(u);
  o["UserCreateDate"] = u.created;
  o["UserLastModifiedDate"] = u.modified;
  o["Enabled"] = u.enabled;
  o["UserStatus"] = u.status;
  return o;
}

}  // namespace

Api::Api(std::string data_dir, std::string region)
    : region_(std::move(region)),
      file_(data_dir + "/local-cognito.json"),
      token_lifetime_(kDefaultTokenLifetime) {
  if (auto text = read_state_file(data_dir, file_)) {
    auto parsed = json::parse(*text);
    if (!parsed || !parsed->is_object()) {
      throw std::runtime_error(
          file_ + ": " + (parsed ? std::string("not a JSON object") : parsed.error().message()));
    }
    try {
      state_ = from_json(parsed->as_object(), now_s());
    } catch (const std::exception& e) {
      throw std::runtime_error(file_ + ": invalid state file: " + e.what());
    }
  }
  writer_ = std::make_unique<StateWriter>(file_, [this] {
    bj::object snapshot;
    {
      std::lock_guard lock(mu_);
      snapshot = to_json(state_, now_s());
    }
    return Secret(json::serialize(snapshot));  // holds the private keys and client secrets
  });
}

Api::~Api() { writer_.reset(); }

Result<void> Api::flush() { return writer_->flush(); }

std::int64_t Api::now_s() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count();
}

void Api::set_clock(std::shared_ptr<const TimeSource> clock) { clock_ = std::move(clock); }

void Api::set_token_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(mu_);
  token_lifetime_ = std::max<std::int64_t>(1, lifetime.count());
}

void Api::set_issuer_base(std::string base) {
  std::lock_guard lock(mu_);
  issuer_base_ = std::move(base);
}

void Api::set_server(const http::Server* server) {
  std::lock_guard lock(mu_);
  server_ = server;
}

std::string Api::issuer(std::string_view pool_id) const {
  std::lock_guard lock(mu_);
  return issuer_locked(pool_id);
}

std::string Api::issuer_locked(std::string_view pool_id) const {
  std::string base = issuer_base_;
  if (base.empty()) {
    std::uint16_t port = server_ ? server_->port() : 0;
    base = "http://127.0.0.1:" + std::to_string(port);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + std::string(pool_id);
}

ApiResult<Pool*> Api::pool_locked(const std::string& id) {
  auto it = state_.pools.find(id);
  if (it == state_.pools.end()) {
    return std::unexpected(
        ApiError{"ResourceNotFoundException", "User pool " + id + " does not exist."});
  }
  return &it->second;
}

ApiResult<Client*> Api::client_locked(const std::string& id) {
  auto it = state_.clients.find(id);
  if (it == state_.clients.end()) {
    return std::unexpected(
        ApiError{"ResourceNotFoundException", "User pool client " + id + " does not exist."});
  }
  return &it->second;
}

User* Api::find_user(Pool& p, const std::string& name) {
  if (auto it = p.users.find(name); it != p.users.end()) return &it->second;
  for (auto& [n, u] : p.users) {  // sign-in by sub works too, as in Cognito
    if (u.sub == name) return &u;
  }
  return nullptr;
}

ApiResult<User*> Api::user_locked(Pool& p, const std::string& name) {
  User* u = find_user(p, name);
  if (!u) return std::unexpected(ApiError{"UserNotFoundException", "User does not exist."});
  return u;
}

ApiResult<bj::object> Api::create_user_pool(const bj::object& in) {
  auto name = required_string(in, "PoolName");
  if (!name) return std::unexpected(name.error());
  Pool p;
  p.name = *name;
  p.created = now_s();
  p.key = SigningKey::generate();
  std::lock_guard lock(mu_);
  do {
    p.id = region_ + "_" + random_string(9, kAlnum);
  } while (state_.pools.contains(p.id));
  bj::object up;
  up["Id"] = p.id;
  up["Name"] = p.name;
  up["Arn"] = "arn:aws:cognito-idp:" + region_ + ":000000000000:userpool/" + p.id;
  up["CreationDate"] = p.created;
  up["LastModifiedDate"] = p.created;
  up["MfaConfiguration"] = "OFF";
  up["EstimatedNumberOfUsers"] = 0;
  bj::object policy;
  policy["MinimumLength"] = 8;
  policy["RequireUppercase"] = true;
  policy["RequireLowercase"] = true;
  policy["RequireNumbers"] = true;
  policy["RequireSymbols"] = false;
  policy["TemporaryPasswordValidityDays"] = 7;
  bj::object policies;
  policies["PasswordPolicy"] = std::move(policy);
  up["Policies"] = std::move(policies);
  std::string id = p.id;
  state_.pools.emplace(id, std::move(p));
  writer_->changed();
  log::info("local-cognito: created user pool {} ({})", id, std::string_view(*name));
  bj::object out;
  out["UserPool"] = std::move(up);
  return out;
}

// What CreateUserPoolClient and DescribeUserPoolClient answer (the secret included, as Cognito
// does for a caller allowed the admin API).
bj::object Api::client_json(const Client& c) {
  bj::object uc;
  uc["UserPoolId"] = c.pool_id;
  uc["ClientName"] = c.name;
  uc["ClientId"] = c.id;
  if (c.secret) uc["ClientSecret"] = c.secret->reveal();
  uc["CreationDate"] = c.created;
  uc["LastModifiedDate"] = c.created;
  uc["RefreshTokenValidity"] = 30;
  uc["AccessTokenValidity"] = 60;
  uc["IdTokenValidity"] = 60;
  bj::object units;
  units["AccessToken"] = "minutes";
  units["IdToken"] = "minutes";
  units["RefreshToken"] = "days";
  uc["TokenValidityUnits"] = std::move(units);
  bj::array fs;
  for (const auto& f : c.flows) fs.push_back(bj::string(f));
  uc["ExplicitAuthFlows"] = std::move(fs);
  uc["PreventUserExistenceErrors"] = c.prevent_user_existence_errors ? "ENABLED" : "LEGACY";
  if (!c.oauth_flows.empty()) {
    bj::array flows, scopes;
    for (const auto& f : c.oauth_flows) flows.push_back(bj::string(f));
    for (const auto& s : c.oauth_scopes) scopes.push_back(bj::string(s));
    uc["AllowedOAuthFlows"] = std::move(flows);
    uc["AllowedOAuthScopes"] = std::move(scopes);
  }
  uc["AllowedOAuthFlowsUserPoolClient"] = c.oauth_enabled;
  return uc;
}

ApiResult<bj::object> Api::create_user_pool_client(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto name = required_string(in, "ClientName");
  if (!name) return std::unexpected(name.error());
  Client c;
  c.pool_id = *pool_id;
  c.name = *name;
  c.created = now_s();
  if (auto g = json::find_bool(in, "GenerateSecret"); g && *g) {
    c.secret = Secret(random_string(51, kLowerAlnum));
  }
  if (const bj::array* flows = json::find_array(in, "ExplicitAuthFlows")) {
    for (const auto& f : *flows) {
      if (!f.is_string()) return std::unexpected(invalid("ExplicitAuthFlows must be strings"));
      c.flows.emplace_back(f.as_string());
    }
  }
  if (const bj::string* pue = json::find_string(in, "PreventUserExistenceErrors")) {
    c.prevent_user_existence_errors = (*pue == "ENABLED");
  }
  auto oauth = read_oauth_settings(in, c);
  if (!oauth) return std::unexpected(oauth.error());
  std::lock_guard lock(mu_);
  auto p = pool_locked(c.pool_id);
  if (!p) return std::unexpected(p.error());
  if (auto ok = check_oauth_settings_locked(**p, c); !ok) return std::unexpected(ok.error());
  do {
    c.id = random_string(26, kLowerAlnum);
  } while (state_.clients.contains(c.id));
  bj::object uc = client_json(c);
  std::string id = c.id;
  state_.clients.emplace(id, std::move(c));
  writer_->changed();
  log::info("local-cognito: created app client {} in pool {}", id, *pool_id);
  bj::object out;
  out["UserPoolClient"] = std::move(uc);
  return out;
}

ApiResult<bj::object> Api::describe_user_pool_client(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto client_id = required_string(in, "ClientId");
  if (!client_id) return std::unexpected(client_id.error());
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  auto c = client_locked(*client_id);
  if (!c || (*c)->pool_id != *pool_id) {
    return std::unexpected(
        ApiError{"ResourceNotFoundException", "User pool client " + *client_id + " does not exist."});
  }
  bj::object out;
  out["UserPoolClient"] = client_json(**c);
  return out;
}

// Cognito's semantics: the settings not given go back to their defaults (the name and the secret
// stay).
ApiResult<bj::object> Api::update_user_pool_client(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto client_id = required_string(in, "ClientId");
  if (!client_id) return std::unexpected(client_id.error());
  std::vector<std::string> flows;
  if (const bj::array* fs = json::find_array(in, "ExplicitAuthFlows")) {
    for (const auto& f : *fs) {
      if (!f.is_string()) return std::unexpected(invalid("ExplicitAuthFlows must be strings"));
      flows.emplace_back(f.as_string());
    }
  }
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  auto c = client_locked(*client_id);
  if (!c || (*c)->pool_id != *pool_id) {
    return std::unexpected(
        ApiError{"ResourceNotFoundException", "User pool client " + *client_id + " does not exist."});
  }
  Client updated = **c;
  if (const bj::string* name = json::find_string(in, "ClientName")) updated.name = std::string(*name);
  updated.flows = std::move(flows);
  const bj::string* pue = json::find_string(in, "PreventUserExistenceErrors");
  updated.prevent_user_existence_errors = pue && *pue == "ENABLED";
  if (auto ok = read_oauth_settings(in, updated); !ok) return std::unexpected(ok.error());
  if (auto ok = check_oauth_settings_locked(**p, updated); !ok) return std::unexpected(ok.error());
  **c = std::move(updated);
  writer_->changed();
  bj::object out;
  out["UserPoolClient"] = client_json(**c);
  return out;
}

ApiResult<bj::object> Api::admin_create_user(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto username = required_string(in, "Username");
  if (!username) return std::unexpected(username.error());
  Secret temp;
  if (const bj::string* t = json::find_string(in, "TemporaryPassword")) {
    temp = Secret(std::string(*t));
    if (auto why = password_policy_violation(temp.reveal())) {
      return std::unexpected(
          ApiError{"InvalidPasswordException", "Password did not conform with policy: " + *why});
    }
  } else {
    // Cognito would mail a generated one; MessageAction is ignored here.
    temp = Secret("Aa1" + random_string(13, kAlnum));
  }
  User u;
  u.username = *username;
  u.sub = uuid4();
  u.status = "FORCE_CHANGE_PASSWORD";
  u.created = u.modified = now_s();
  if (const bj::array* attrs = json::find_array(in, "UserAttributes")) {
    for (const auto& a : *attrs) {
      const bj::object* ao = a.if_object();
      const bj::string* n = ao ? json::find_string(*ao, "Name") : nullptr;
      const bj::string* v = ao ? json::find_string(*ao, "Value") : nullptr;
      if (!n || !v) return std::unexpected(invalid("UserAttributes entries need Name and Value"));
      if (*n == "sub") continue;
      u.attributes.emplace_back(std::string(*n), std::string(*v));
    }
  }
  {
    std::lock_guard lock(mu_);  // fail fast before hashing
    auto p = pool_locked(*pool_id);
    if (!p) return std::unexpected(p.error());
  }
  u.password = hash_password(temp.reveal());
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  if (find_user(**p, u.username)) {
    return std::unexpected(ApiError{"UsernameExistsException", "User account already exists"});
  }
  bj::object out;
  out["User"] = user_json(u, false);
  (*p)->users.emplace(u.username, std::move(u));
  writer_->changed();
  log::info("local-cognito: created user {} in pool {}", *username, *pool_id);
  return out;
}

ApiResult<bj::object> Api::admin_set_user_password(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto username = required_string(in, "Username");
  if (!username) return std::unexpected(username.error());
  auto pw = required_string(in, "Password");
  if (!pw) return std::unexpected(pw.error());
  Secret password(std::move(*pw));
  bool permanent = json::find_bool(in, "Permanent").value_or(false);
  {
    std::lock_guard lock(mu_);
    auto p = pool_locked(*pool_id);
    if (!p) return std::unexpected(p.error());
    auto u = user_locked(**p, *username);
    if (!u) return std::unexpected(u.error());
  }
  if (auto why = password_policy_violation(password.reveal())) {
    return std::unexpected(
        ApiError{"InvalidPasswordException", "Password did not conform with policy: " + *why});
  }
  PasswordHash h = hash_password(password.reveal());
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  auto u = user_locked(**p, *username);
  if (!u) return std::unexpected(u.error());
  (*u)->password = std::move(h);
  (*u)->status = permanent ? "CONFIRMED" : "FORCE_CHANGE_PASSWORD";
  (*u)->modified = now_s();
  writer_->changed();
  return bj::object{};
}

ApiResult<bj::object> Api::admin_get_user(const bj::object& in) {
  auto pool_id = required_string(in, "UserPoolId");
  if (!pool_id) return std::unexpected(pool_id.error());
  auto username = required_string(in, "Username");
  if (!username) return std::unexpected(username.error());
  std::lock_guard lock(mu_);
  auto p = pool_locked(*pool_id);
  if (!p) return std::unexpected(p.error());
  auto u = user_locked(**p, *username);
  if (!u) return std::unexpected(u.error());
  return user_json(**u, true);
}

ApiResult<bj::object> Api::dispatch(std::string_view op, const bj::object& in) {
  if (op == "CreateUserPool") return create_user_pool(in);
  if (op == "CreateUserPoolClient") return create_user_pool_client(in);
  if (op == "DescribeUserPoolClient") return describe_user_pool_client(in);
  if (op == "UpdateUserPoolClient") return update_user_pool_client(in);
  if (op == "CreateResourceServer") return create_resource_server(in);
  if (op == "DescribeResourceServer") return describe_resource_server(in);
  if (op == "ListResourceServers") return list_resource_servers(in);
  if (op == "DeleteResourceServer") return delete_resource_server(in);
  if (op == "AdminCreateUser") return admin_create_user(in);
  if (op == "AdminSetUserPassword") return admin_set_user_password(in);
  if (op == "AdminGetUser") return admin_get_user(in);
  if (op == "CreateGroup") return create_group(in);
  if (op == "AdminAddUserToGroup") return admin_add_user_to_group(in);
  if (op == "InitiateAuth") return initiate_auth(in);
  if (op == "RespondToAuthChallenge") return respond_to_auth_challenge(in);
  if (op == "GetUser") return get_user(in);
  return std::unexpected(
      ApiError{"UnknownOperationException", "Unknown operation " + std::string(op), 400});
}

bool Api::has_pool(std::string_view pool_id) const {
  std::lock_guard lock(mu_);
  return state_.pools.contains(std::string(pool_id));
}

std::optional<bj::object> Api::jwks(std::string_view pool_id) const {
  std::lock_guard lock(mu_);
  auto it = state_.pools.find(std::string(pool_id));
  if (it == state_.pools.end()) return std::nullopt;
  return bj::object{{"keys", bj::array{it->second.key->public_jwk()}}};
}

}  // namespace idp::auth::local

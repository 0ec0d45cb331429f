// Private to LocalCognito: the Cognito user-pool operations (CreateUserPool ... GetUser) over
// the provider's state, with Cognito's error types and messages (the administration in
// local_cognito_api.cc, groups in local_cognito_groups.cc, the sign-in flows in
// local_cognito_auth.cc, resource servers and the clients' OAuth settings in
// local_cognito_resources.cc, the pools' token endpoint and metadata in local_cognito_token.cc).
// One lock guards the state; the
// slow parts run outside it: PBKDF2 password hashing (the operations copy what they need,
// unlock, hash, and lock again to commit) and the state file (a StateWriter thread writes a
// snapshot after each change). Access tokens handed back (GetUser) are checked with the same
// verifier resource servers use (verify_jwt: exact issuer, the pool's key, a client of the pool,
// token_use access, not expired). Thread-safe.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <expected>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/clock.h"
#include "idp/core/error.h"
#include "local_cognito_state.h"

namespace idp::http {
class Server;
}

namespace idp::auth::local {

struct ApiError {
  std::string type;  // "NotAuthorizedException"
  std::string message;
  int status = 400;
};
template <class T>
using ApiResult = std::expected<T, ApiError>;

// Shared by the operations (local_cognito_api.cc: pools, clients, users; local_cognito_auth.cc:
// sign-in, refresh, challenges, GetUser), with Cognito's error types and messages.
ApiError invalid(std::string message);         // InvalidParameterException
ApiError not_authorized(std::string message);  // NotAuthorizedException
// Cognito's default password policy, reduced: 8+ characters with upper, lower and digit.
std::optional<std::string> password_policy_violation(std::string_view password);
// [{"Name":"sub","Value":...}, ...]
boost::json::array attributes_json(const User& u);
// A member that must be a non-empty string ("1 validation error detected: ...").
ApiResult<std::string> required_string(const boost::json::object& in, std::string_view name);
// A string member of an optional map (AuthParameters, ChallengeResponses).
std::optional<std::string> param(const boost::json::object* map, std::string_view name);
// The `cognito:groups` claim of `u`: its groups by precedence (lowest first, groups without one
// last), then by name; empty when the user is in no group (the claim is then left out).
boost::json::array groups_claim(const Pool& pool, const User& u);
// The pool's custom scopes, "<resource server identifier>/<scope name>".
std::vector<std::string> custom_scopes(const Pool& pool);

// What the token endpoint answers: the status and the JSON body (a token response, or
// {"error","error_description"}).
struct TokenReply {
  int status = 200;
  boost::json::object body;
};

class Api {
 public:
  // Loads `<data_dir>/local-cognito.json` when it exists; throws std::runtime_error naming the
  // file when it cannot be read or parsed.
  Api(std::string data_dir, std::string region);
  ~Api();  // writes what is not written yet

  // One operation ("InitiateAuth") with its JSON input. Throws only on internal failures.
  ApiResult<boost::json::object> dispatch(std::string_view op, const boost::json::object& in);

  // The pool's JWKS and its metadata document (OpenID discovery and RFC 8414 alike); nullopt
  // for an unknown pool.
  std::optional<boost::json::object> jwks(std::string_view pool_id) const;
  std::optional<boost::json::object> discovery(std::string_view pool_id) const;
  bool has_pool(std::string_view pool_id) const;
  // One request to the pool's token endpoint: `authorization` is the Authorization header if
  // any, `content_type` and `body` the request's.
  TokenReply token(std::string_view pool_id, std::optional<std::string_view> authorization,
                   std::string_view content_type, std::string_view body);

  std::string issuer(std::string_view pool_id) const;
  void set_issuer_base(std::string base);
  void set_server(const http::Server* server);  // for the default issuer base
  void set_token_lifetime(std::chrono::seconds lifetime);
  void set_clock(std::shared_ptr<const TimeSource> clock);
  const std::string& file() const { return file_; }
  Result<void> flush();

 private:
  std::int64_t now_s() const;
  std::string issuer_locked(std::string_view pool_id) const;
  ApiResult<Pool*> pool_locked(const std::string& id);
  ApiResult<Client*> client_locked(const std::string& id);
  ApiResult<User*> user_locked(Pool& pool, const std::string& name);
  static User* find_user(Pool& pool, const std::string& name);
  static ApiResult<void> check_secret_hash(const Client& c, const std::optional<std::string>& given,
                                           std::initializer_list<std::string_view> names);
  boost::json::object issue_locked(const Pool& p, const Client& c, const User& u,
                                   std::int64_t auth_time, bool with_refresh);
  boost::json::object issue_m2m_locked(const Pool& p, const Client& c, const std::string& scope);
  static boost::json::object client_json(const Client& c);
  static ApiResult<void> read_oauth_settings(const boost::json::object& in, Client& c);
  static ApiResult<void> check_oauth_settings_locked(const Pool& p, const Client& c);
  std::string new_session_locked(const Pool& p, const Client& c, const User& u);
  ApiResult<User*> verify_access_token_locked(const std::string& token);

  ApiResult<boost::json::object> create_user_pool(const boost::json::object& in);
  ApiResult<boost::json::object> create_user_pool_client(const boost::json::object& in);
  ApiResult<boost::json::object> describe_user_pool_client(const boost::json::object& in);
  ApiResult<boost::json::object> update_user_pool_client(const boost::json::object& in);
  ApiResult<boost::json::object> create_resource_server(const boost::json::object& in);
  ApiResult<boost::json::object> describe_resource_server(const boost::json::object& in);
  ApiResult<boost::json::object> list_resource_servers(const boost::json::object& in);
  ApiResult<boost::json::object> delete_resource_server(const boost::json::object& in);
  ApiResult<boost::json::object> admin_create_user(const boost::json::object& in);
  ApiResult<boost::json::object> admin_set_user_password(const boost::json::object& in);
  ApiResult<boost::json::object> admin_get_user(const boost::json::object& in);
  ApiResult<boost::json::object> create_group(const boost::json::object& in);
  ApiResult<boost::json::object> admin_add_user_to_group(const boost::json::object& in);
  ApiResult<boost::json::object> initiate_auth(const boost::json::object& in);
  ApiResult<boost::json::object> password_auth(const std::string& client_id,
                                               const boost::json::object* params);
  ApiResult<boost::json::object> refresh_auth(const std::string& client_id,
                                              const boost::json::object* params);
  ApiResult<boost::json::object> respond_to_auth_challenge(const boost::json::object& in);
  ApiResult<boost::json::object> get_user(const boost::json::object& in);

  struct Session {
    std::string pool_id;
    std::string client_id;
    std::string username;
    std::int64_t expires = 0;
  };

  const std::string region_;
  const std::string file_;
  std::shared_ptr<const TimeSource> clock_ = real_time();  // set before serving
  mutable std::mutex mu_;
  std::int64_t token_lifetime_;              // guarded by mu_
  std::string issuer_base_;                  // guarded by mu_
  const http::Server* server_ = nullptr;     // guarded by mu_
  State state_;                              // guarded by mu_
  std::map<std::string, Session> sessions_;  // by SHA-256 of the session; guarded by mu_
  std::unique_ptr<StateWriter> writer_;      // last: stops before the state goes
};

}  // namespace idp::auth::local

// The authorization-server side of LocalCognito: each pool's token endpoint
// (`POST /<poolId>/oauth2/token`, where Cognito has `https://<domain>/oauth2/token`) with the
// client_credentials grant (custom scopes of the pool's resource servers; client_secret_basic or
// client_secret_post) and the refresh_token grant (refresh tokens from InitiateAuth), and the
// pool's metadata document (OpenID discovery and RFC 8414 share it). Errors are RFC 6749 §5.2
// `{"error","error_description"}`, as Cognito names them.
#include <boost/json/array.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>

#include <algorithm>
#include <map>
#include <sstream>

#include "idp/core/crypto.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/http/message.h"
#include "local_cognito_api.h"

namespace idp::auth::local {

namespace bj = boost::json;

namespace {

using Form = std::map<std::string, std::string, std::less<>>;

TokenReply oauth_error(int status, std::string error, std::string description) {
  TokenReply r;
  r.status = status;
  r.body = bj::object{{"error", std::move(error)}, {"error_description", std::move(description)}};
  return r;
}

TokenReply invalid_request(std::string description) {
  return oauth_error(400, "invalid_request", std::move(description));
}

// application/x-www-form-urlencoded ('+' is a space). A parameter given twice is an error
// (RFC 6749 §3.2).
std::expected<Form, std::string> decode_form(std::string_view body) {
  Form out;
  if (body.empty()) return out;
  auto parsed = boost::urls::parse_query(body);
  if (!parsed) return std::unexpected(std::string("the body is not a valid form"));
  boost::urls::encoding_opts opt;
  opt.space_as_plus = true;
  for (auto p : *parsed) {
    std::string key = p.key.decode(opt);
    if (key.empty()) continue;
    std::string value = p.has_value ? p.value.decode(opt) : std::string();
    if (out.contains(key)) return std::unexpected("the parameter " + key + " is given twice");
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

std::string param(const Form& f, std::string_view name) {
  auto it = f.find(name);
  return it == f.end() ? std::string() : it->second;
}

// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
std::expected<std::pair<std::string, Secret>, std::string> basic_credentials(std::string_view header) {
  if (header.size() < 6 || !http::iequals(header.substr(0, 6), "Basic ")) {
    return std::unexpected(std::string("the Authorization header must use the Basic scheme"));
  }
  std::string_view b64 = header.substr(6);
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  auto decoded = base64_decode(b64);
  const auto colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) {
    return std::unexpected(std::string("the Basic credentials are not base64 of id:secret"));
  }
  auto unescape = [](std::string_view s) -> std::optional<std::string> {
    const std::string query = "k=" + std::string(s);  // outlives the view parsed from it
    auto q = boost::urls::parse_query(query);
    if (!q || q->empty()) return std::nullopt;
    boost::urls::encoding_opts opt;
    opt.space_as_plus = true;
    return (*q->begin()).value.decode(opt);
  };
  auto id = unescape(std::string_view(*decoded).substr(0, colon));
  auto secret = unescape(std::string_view(*decoded).substr(colon + 1));
  if (!id || !secret) return std::unexpected(std::string("the Basic credentials are not URL-encoded"));
  return std::pair{std::move(*id), Secret(std::move(*secret))};
}

std::vector<std::string> split_scopes(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) {
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(std::move(w));
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace

std::optional<bj::object> Api::discovery(std::string_view pool_id) const {
  std::lock_guard lock(mu_);
  auto it = state_.pools.find(std::string(pool_id));
  if (it == state_.pools.end()) return std::nullopt;
  const std::string iss = issuer_locked(it->first);
  bj::array scopes{"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"};
  for (const auto& s : custom_scopes(it->second)) scopes.push_back(bj::string(s));
  bj::object out;
  out["issuer"] = iss;
  out["jwks_uri"] = iss + "/.well-known/jwks.json";
  out["token_endpoint"] = iss + "/oauth2/token";
  out["grant_types_supported"] = bj::array{"client_credentials", "refresh_token"};
  out["token_endpoint_auth_methods_supported"] =
      bj::array{"client_secret_basic", "client_secret_post"};
  out["scopes_supported"] = std::move(scopes);
  // No authorization endpoint here (sign-in is InitiateAuth): no response types to offer.
  out["response_types_supported"] = bj::array{};
  out["id_token_signing_alg_values_supported"] = bj::array{"RS256"};
  out["subject_types_supported"] = bj::array{"public"};
  return out;
}

// A Cognito machine-to-machine access token: `sub` and `client_id` are the app client, `scope`
// the granted custom scopes, no `username`, no `aud`.
bj::object Api::issue_m2m_locked(const Pool& p, const Client& c, const std::string& scope) {
  const std::int64_t iat = now_s();
  bj::object access;
  access["sub"] = c.id;
  access["token_use"] = "access";
  access["scope"] = scope;
  access["auth_time"] = iat;
  access["iss"] = issuer_locked(p.id);
  access["exp"] = iat + token_lifetime_;
  access["iat"] = iat;
  access["version"] = 2;
  access["jti"] = uuid4();
  access["client_id"] = c.id;
  return bj::object{{"access_token", p.key->sign_jwt(access)},
                    {"expires_in", token_lifetime_},
                    {"token_type", "Bearer"}};
}

TokenReply Api::token(std::string_view pool_id, std::optional<std::string_view> authorization,
                      std::string_view content_type, std::string_view body) {
  const std::string_view kForm = "application/x-www-form-urlencoded";
  if (content_type.size() < kForm.size() || !http::iequals(content_type.substr(0, kForm.size()), kForm)) {
    return invalid_request("the token request must be " + std::string(kForm));
  }
  auto form = decode_form(body);
  if (!form) return invalid_request(form.error());
  const std::string grant = param(*form, "grant_type");
  if (grant.empty()) return invalid_request("grant_type is missing");

  // Who the client says it is: Basic, or client_id (+ client_secret) in the form, not both.
  std::string client_id = param(*form, "client_id");
  std::optional<Secret> secret;
  if (form->contains("client_secret")) secret = Secret(param(*form, "client_secret"));
  const bool basic = authorization.has_value();
  if (basic) {
    auto creds = basic_credentials(*authorization);
    if (!creds) return oauth_error(401, "invalid_client", creds.error());
    if (secret) {
      return invalid_request("the client authenticated twice (Authorization header and client_secret)");
    }
    if (!client_id.empty() && client_id != creds->first) {
      return invalid_request("client_id differs from the client of the Authorization header");
    }
    client_id = std::move(creds->first);
    secret = std::move(creds->second);
  }
  const int client_status = basic ? 401 : 400;  // RFC 6749 §5.2: 401 after HTTP authentication
  if (client_id.empty()) return oauth_error(client_status, "invalid_client", "no client_id given");

  std::lock_guard lock(mu_);
  auto p = state_.pools.find(std::string(pool_id));
  auto c = state_.clients.find(client_id);
  if (p == state_.pools.end() || c == state_.clients.end() || c->second.pool_id != p->first) {
    return oauth_error(client_status, "invalid_client",
                       "client " + client_id + " is not an app client of this user pool");
  }
  Client& client = c->second;
  if (client.secret) {
    if (!secret) {
      return oauth_error(client_status, "invalid_client",
                         "client " + client_id + " has a secret: authenticate with it "
                         "(client_secret_basic or client_secret_post)");
    }
    if (!constant_time_equal(client.secret->reveal(), secret->reveal())) {
      return oauth_error(client_status, "invalid_client",
                         "the client secret of " + client_id + " is wrong");
    }
  } else if (secret) {
    return oauth_error(client_status, "invalid_client", "client " + client_id + " has no secret");
  }

  if (grant == "client_credentials") {
    if (!client.secret) {
      return oauth_error(400, "invalid_client",
                         "client_credentials needs a client with a secret (GenerateSecret)");
    }
    if (!client.oauth_enabled || !contains(client.oauth_flows, "client_credentials")) {
      return oauth_error(400, "unauthorized_client",
                         "client " + client_id + " is not allowed the client_credentials flow "
                         "(AllowedOAuthFlows, AllowedOAuthFlowsUserPoolClient)");
    }
    // No scope asked for: every custom scope the client is allowed (Cognito's rule).
    const std::vector<std::string> existing = custom_scopes(p->second);
    std::vector<std::string> want = split_scopes(param(*form, "scope"));
    if (want.empty()) {
      for (const auto& s : client.oauth_scopes) {
        if (contains(existing, s)) want.push_back(s);
      }
      if (want.empty()) return oauth_error(400, "invalid_scope", "the client is allowed no scope");
    }
    for (const auto& s : want) {
      if (!contains(client.oauth_scopes, s)) {
        return oauth_error(400, "invalid_scope",
                           "scope " + s + " is not allowed for client " + client_id +
                               " (AllowedOAuthScopes)");
      }
      if (!contains(existing, s)) {
        return oauth_error(400, "invalid_scope",
                           "scope " + s + " is not a scope of this pool's resource servers");
      }
    }
    log::info("local-cognito: client_credentials token for client {} (scope {})", client_id, join(want));
    return TokenReply{200, issue_m2m_locked(p->second, client, join(want))};
  }

  if (grant == "refresh_token") {
    const std::string token = param(*form, "refresh_token");
    if (token.empty()) return invalid_request("refresh_token is missing");
    auto it = state_.refresh.find(crypto::sha256(token));
    if (it == state_.refresh.end() || it->second.client_id != client_id ||
        it->second.pool_id != p->first || it->second.expires <= now_s()) {
      return oauth_error(400, "invalid_grant", "the refresh token is not valid for this client");
    }
    User* u = find_user(p->second, it->second.username);
    if (!u || !u->enabled) return oauth_error(400, "invalid_grant", "the user is disabled or gone");
    bj::object issued = issue_locked(p->second, client, *u, it->second.auth_time, false);
    bj::object out{{"access_token", issued["AccessToken"]},
                   {"id_token", issued["IdToken"]},
                   {"expires_in", issued["ExpiresIn"]},
                   {"token_type", "Bearer"}};
    return TokenReply{200, std::move(out)};
  }
  return oauth_error(400, "unsupported_grant_type",
                     "grant_type " + grant + " is not supported here (client_credentials, "
                     "refresh_token)");
}

}  // namespace idp::auth::local

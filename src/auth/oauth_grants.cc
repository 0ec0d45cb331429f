#include "oauth_grants.h"

#include <boost/json/object.hpp>

#include "idp/auth/oauth.h"
#include "idp/core/crypto.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "idp/http/url_policy.h"
#include "jws_sign.h"

namespace idp::auth::detail {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;

namespace {

// "invalid_client: description (hint)" from an OAuth error answer.
std::string oauth_error(const http::ClientResponse& r) {
  auto parsed = ::idp::json::parse(r.body);
  const bj::object* o = parsed && parsed->is_object() ? &parsed->get_object() : nullptr;
  const bj::string* code = o ? ::idp::json::find_string(*o, "error") : nullptr;
  const bj::string* desc = o ? ::idp::json::find_string(*o, "error_description") : nullptr;
  std::string out = code ? std::string(*code) : "HTTP " + std::to_string(r.status);
  if (desc) out += ": " + std::string(std::string_view(*desc).substr(0, 200));
  if (code && *code == "invalid_client") out += " (check the client id, its secret or key, and the client auth method)";
  if (code && *code == "invalid_scope") out += " (the client may not request that scope)";
  if (code && *code == "unauthorized_client") out += " (the client is not allowed this grant)";
  return out;
}

}  // namespace

std::string encode_form(const Form& form) {
  std::string out;
  for (const auto& [k, v] : form) {
    if (!out.empty()) out += '&';
    out += form_encode(k) + "=" + form_encode(v);
  }
  return out;
}

awaitable<Result<TokenAnswer>> request_token(http::Client& http, std::string token_endpoint,
                                             std::string audience, Form form,
                                             const ClientIdentity& client) {
  auto policy = http::check_url(token_endpoint, "OAuth token endpoint");
  if (!policy) co_return std::unexpected(policy.error());
  std::string grant;
  for (const auto& [k, v] : form) {
    if (k == "grant_type") grant = v;
  }
  const std::string where =
      "OAuth token endpoint " + token_endpoint + " (" + grant + ", client " + client.client_id + ")";
  http::ClientRequest req;
  req.method = "POST";
  req.url = token_endpoint;
  req.headers.add("Content-Type", "application/x-www-form-urlencoded");
  req.headers.add("Accept", "application/json");
  const std::string& m = client.auth_method;
  if (m == "client_secret_basic") {
    req.headers.add("Authorization", "Basic " + base64_encode(form_encode(client.client_id) + ":" +
                                                              form_encode(client.client_secret.reveal())));
  } else if (m == "client_secret_post") {
    form.emplace_back("client_id", client.client_id);
    form.emplace_back("client_secret", client.client_secret.reveal());
  } else if (m == "private_key_jwt") {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    bj::object claims{{"iss", client.client_id}, {"sub", client.client_id}, {"aud", audience},
                      {"iat", now},              {"exp", now + 300},        {"jti", random_token(16)}};
    auto assertion = sign_jwt_pem(client.private_key, client.signing_alg, claims);
    if (!assertion) co_return std::unexpected(assertion.error().with_context(where));
    form.emplace_back("client_id", client.client_id);
    form.emplace_back("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    form.emplace_back("client_assertion", *assertion);
  } else {
    form.emplace_back("client_id", client.client_id);
  }
  req.body = encode_form(form);
  req.timeout = std::chrono::seconds(30);
  auto r = co_await http.request(std::move(req));
  if (!r) co_return std::unexpected(r.error().with_context(where));
  if (r->status != 200) {
    co_return make_error(r->status == 400 || r->status == 401 ? ErrorCode::kUnauthenticated
                                                              : ErrorCode::kUnavailable,
                         where + " refused: " + oauth_error(*r));
  }
  auto parsed = ::idp::json::parse(r->body);
  const bj::object* o = parsed && parsed->is_object() ? &parsed->get_object() : nullptr;
  const bj::string* token = o ? ::idp::json::find_string(*o, "access_token") : nullptr;
  if (!token) co_return make_error(ErrorCode::kProtocol, where + ": the answer has no access_token");
  TokenAnswer a;
  a.access_token = Secret(std::string(*token));
  if (const bj::string* rt = ::idp::json::find_string(*o, "refresh_token")) {
    a.refresh_token = Secret(std::string(*rt));
  }
  a.expires_in = std::chrono::seconds(
      static_cast<long>(::idp::json::find_number(*o, "expires_in").value_or(3600)));
  if (const bj::string* s = ::idp::json::find_string(*o, "scope")) a.scope = std::string(*s);
  co_return a;
}

awaitable<Result<ClientIdentity>> register_client(http::Client& http, std::string endpoint,
                                                  std::string metadata_json,
                                                  std::string preferred_method) {
  auto policy = http::check_url(endpoint, "OAuth registration endpoint");
  if (!policy) co_return std::unexpected(policy.error());
  const std::string where = "OAuth dynamic client registration at " + endpoint;
  http::ClientRequest req;
  req.method = "POST";
  req.url = endpoint;
  req.headers.add("Content-Type", "application/json");
  req.headers.add("Accept", "application/json");
  req.body = std::move(metadata_json);
  req.timeout = std::chrono::seconds(30);
  auto r = co_await http.request(std::move(req));
  if (!r) co_return std::unexpected(r.error().with_context(where));
  if (r->status != 200 && r->status != 201) {
    co_return make_error(ErrorCode::kUnauthenticated, where + " refused: " + oauth_error(*r));
  }
  auto parsed = ::idp::json::parse(r->body);
  const bj::object* o = parsed && parsed->is_object() ? &parsed->get_object() : nullptr;
  const bj::string* id = o ? ::idp::json::find_string(*o, "client_id") : nullptr;
  if (!id) co_return make_error(ErrorCode::kProtocol, where + ": the answer has no client_id");
  ClientIdentity c;
  c.client_id = std::string(*id);
  if (const bj::string* s = ::idp::json::find_string(*o, "client_secret")) {
    c.client_secret = Secret(std::string(*s));
  }
  const bj::string* method = ::idp::json::find_string(*o, "token_endpoint_auth_method");
  if (method) {
    c.auth_method = std::string(*method);
  } else if (!c.client_secret.empty()) {
    c.auth_method = preferred_method == "none" ? "client_secret_basic" : preferred_method;
  } else {
    c.auth_method = "none";
  }
  co_return c;
}

Pkce make_pkce() {
  Pkce p;
  p.verifier = random_token(32);
  p.challenge = base64url_encode(crypto::sha256(p.verifier));
  return p;
}

}  // namespace idp::auth::detail

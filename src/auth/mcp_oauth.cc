#include "idp/auth/mcp_oauth.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <map>
#include <sstream>

#include "idp/auth/oauth_discovery.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/http/url_policy.h"
#include "oauth_grants.h"

namespace idp::auth {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;
using Clock = std::chrono::system_clock;

namespace {

std::vector<std::string> split_scopes(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) {
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The query parameter `name` of `url` ("" when absent).
std::string query_param(std::string_view url, std::string_view name) {
  auto u = boost::urls::parse_uri_reference(url);
  if (!u) return {};
  auto it = u->params().find(name);
  return it == u->params().end() ? std::string() : std::string((*it).value);
}

}  // namespace

struct McpOAuthProvider::Impl {
  Impl(net::any_io_executor ex, std::string url, McpOAuthConfig c)
      : server_url(std::move(url)), config(std::move(c)), http(ex, config.http) {}

  const std::string server_url;
  const McpOAuthConfig config;
  http::Client http;

  mutable std::mutex mu;  // guards the fields below
  std::optional<ProtectedResourceMetadata> prm;
  std::optional<AuthServerMetadata> as;
  std::optional<detail::ClientIdentity> client;
  std::string scope;  // requested with the current token
  Secret access, refresh;
  Clock::time_point expires{};
  int grants = 0;
  std::map<std::string, int> step_ups;  // scope set -> step-ups asked for it

  bool authorization_code() const {
    return config.grant == McpOAuthConfig::Grant::kAuthorizationCode;
  }

  bj::array grant_types() const {
    switch (config.grant) {
      case McpOAuthConfig::Grant::kAuthorizationCode:
        return bj::array{"authorization_code", "refresh_token"};
      case McpOAuthConfig::Grant::kClientCredentials:
        return bj::array{"client_credentials"};
      case McpOAuthConfig::Grant::kIdentityAssertion:
        return bj::array{"urn:ietf:params:oauth:grant-type:jwt-bearer"};
    }
    return {};
  }

  // `again`: the server refused a token it had accepted metadata for; read everything again
  // (the resource may have moved to another authorization server).
  awaitable<Result<void>> discover(std::string resource_metadata, bool again) {
    {
      std::lock_guard lock(mu);
      if (as && !again && (resource_metadata.empty() || (prm && prm->url == resource_metadata))) {
        co_return Result<void>{};
      }
    }
    auto found = co_await discover_protected_resource(http, server_url, resource_metadata);
    if (!found) co_return std::unexpected(found.error());
    Result<AuthServerMetadata> meta = make_error(ErrorCode::kInternal, "unset");
    if (!config.token_endpoint.empty()) {
      AuthServerMetadata given;
      given.token_endpoint = config.token_endpoint;
      meta = std::move(given);
    } else if (*found) {
      meta = co_await discover_authorization_server(http, (*found)->authorization_servers.front(),
                                                    true, false);
    } else {
      // 2025-03-26: the server's origin is the authorization server.
      meta = co_await discover_authorization_server(http, url_origin(server_url), false, true);
    }
    if (!meta) co_return std::unexpected(meta.error());
    if (authorization_code() && !meta->url.empty() &&
        !contains(meta->code_challenge_methods_supported, "S256")) {
      co_return make_error(ErrorCode::kPermissionDenied,
                           "authorization server metadata at " + meta->url +
                               ": \"code_challenge_methods_supported\" does not list S256 "
                               "(PKCE is required; refused)");
    }
    std::lock_guard lock(mu);
    if (as && as->issuer != meta->issuer) {
      // Another authorization server: its clients and tokens are its own.
      log::info("{}: the authorization server is now {} (was {})", server_url, meta->issuer, as->issuer);
      client.reset();
      access = Secret();
      refresh = Secret();
    }
    prm = std::move(*found);
    as = std::move(*meta);
    co_return Result<void>{};
  }

  // The token endpoint auth method for a client with a secret, from what the server offers.
  std::string secret_method() const {
    const auto& offered = as->token_endpoint_auth_methods_supported;
    if (offered.empty() || contains(offered, "client_secret_basic")) return "client_secret_basic";
    if (contains(offered, "client_secret_post")) return "client_secret_post";
    return "client_secret_basic";
  }

  awaitable<Result<void>> ensure_client() {
    {
      std::lock_guard lock(mu);
      if (client) co_return Result<void>{};
    }
    detail::ClientIdentity c;
    if (!config.client_id.empty()) {
      c.client_id = config.client_id;
      c.client_secret = config.client_secret;
      c.private_key = config.private_key;
      c.signing_alg = config.signing_alg;
      c.auth_method = !config.private_key.empty()    ? "private_key_jwt"
                      : !config.client_secret.empty() ? secret_method()
                                                      : "none";
    } else if (authorization_code() && as->client_id_metadata_document_supported &&
               !config.client_metadata_url.empty()) {
      c.client_id = config.client_metadata_url;
      c.auth_method = "none";
    } else if (!as->registration_endpoint.empty()) {
      const auto& offered = as->token_endpoint_auth_methods_supported;
      std::string method = offered.empty() ? "client_secret_basic" : offered.front();
      bj::object meta{{"client_name", config.client_name},
                      {"application_type", "native"},  // a loopback redirect, a command line
                      {"redirect_uris", bj::array{bj::value(config.redirect_uri)}},
                      {"grant_types", grant_types()},
                      {"response_types", bj::array{"code"}},
                      {"token_endpoint_auth_method", method}};
      auto reg = co_await detail::register_client(http, as->registration_endpoint,
                                                  ::idp::json::serialize(meta), method);
      if (!reg) co_return std::unexpected(reg.error());
      c = std::move(*reg);
    } else {
      co_return make_error(ErrorCode::kUnauthenticated,
                           "the authorization server " + as->issuer +
                               " offers neither dynamic client registration nor client ID "
                               "metadata documents: give a pre-registered client id "
                               "(--oauth-client-id)");
    }
    std::lock_guard lock(mu);
    client = std::move(c);
    co_return Result<void>{};
  }

  // The scopes to ask for: on a step-up those held plus the challenge's; else configured, else
  // the challenge's, else the resource's scopes_supported; offline_access when the server lists
  // it.
  std::string choose_scope(const BearerChallenge& ch, bool step_up) const {
    std::vector<std::string> s;
    if (step_up && !ch.scope.empty()) {
      s = split_scopes(scope);
      for (auto& w : split_scopes(ch.scope)) {
        if (!contains(s, w)) s.push_back(w);
      }
    } else if (!config.scope.empty()) {
      s = split_scopes(config.scope);
    } else if (!ch.scope.empty()) {
      for (auto& w : split_scopes(ch.scope)) {
        if (!contains(s, w)) s.push_back(w);
      }
    } else if (prm && !prm->scopes_supported.empty()) {
      s = prm->scopes_supported;
    }
    if (authorization_code() && !s.empty() && contains(as->scopes_supported, "offline_access") &&
        !contains(s, "offline_access")) {
      s.push_back("offline_access");
    }
    return join(s);
  }

  awaitable<Result<detail::TokenAnswer>> grant(std::string want) {
    std::string resource, token_endpoint, authorize_endpoint, issuer, exact_issuer;
    bool iss_required = false;
    detail::ClientIdentity who;
    {
      std::lock_guard lock(mu);
      if (!as || !client) {
        co_return make_error(ErrorCode::kUnavailable,
                             server_url + ": the authorization server changed during the sign-in; try again");
      }
      ++grants;
      exact_issuer = as->issuer;
      iss_required = as->authorization_response_iss_parameter_supported;
      resource = prm ? prm->resource : "";
      token_endpoint = as->token_endpoint;
      authorize_endpoint = as->authorization_endpoint;
      issuer = as->issuer.empty() ? url_origin(token_endpoint) : as->issuer;
      who = *client;
    }
    detail::Form form;
    if (config.grant == McpOAuthConfig::Grant::kIdentityAssertion) {
      co_return co_await identity_assertion_grant(want, resource, token_endpoint, issuer, who);
    }
    if (!authorization_code()) {
      form.emplace_back("grant_type", "client_credentials");
      if (!want.empty()) form.emplace_back("scope", want);
      if (!resource.empty()) form.emplace_back("resource", resource);
      co_return co_await detail::request_token(http, token_endpoint, issuer, std::move(form), who);
    }
    if (!config.authorize) {
      co_return make_error(ErrorCode::kUnauthenticated,
                           "the MCP server " + server_url +
                               " needs a user sign-in (authorization code): run `idp-agents auth "
                               "login " + server_url + "`, or give a client id and secret");
    }
    auto policy = http::check_url(authorize_endpoint, "OAuth authorization endpoint");
    if (!policy) co_return std::unexpected(policy.error());
    auto pkce = detail::make_pkce();
    const std::string state = random_token(16);
    boost::urls::url u(authorize_endpoint);
    u.params().append({"response_type", "code"});
    u.params().append({"client_id", who.client_id});
    u.params().append({"redirect_uri", config.redirect_uri});
    u.params().append({"code_challenge", pkce.challenge});
    u.params().append({"code_challenge_method", "S256"});
    u.params().append({"state", state});
    if (!want.empty()) u.params().append({"scope", want});
    if (!resource.empty()) u.params().append({"resource", resource});
    auto back = co_await config.authorize(std::string(u.buffer()));
    if (!back) co_return std::unexpected(back.error());
    const std::string where = "OAuth authorization at " + authorize_endpoint;
    if (std::string e = query_param(*back, "error"); !e.empty()) {
      co_return make_error(ErrorCode::kUnauthenticated, where + " was refused: " + e);
    }
    // RFC 9207: the redirect names who issued the code, compared exactly (no normalization).
    const std::string iss = query_param(*back, "iss");
    if (iss.empty() && iss_required) {
      co_return make_error(ErrorCode::kPermissionDenied,
                           where + ": the redirect has no iss although the server advertises "
                                   "authorization_response_iss_parameter_supported (refused)");
    }
    if (!iss.empty() && iss != exact_issuer) {
      co_return make_error(ErrorCode::kPermissionDenied,
                           where + ": the redirect's iss \"" + iss + "\" is not the issuer \"" +
                               exact_issuer + "\" (a mix-up; refused)");
    }
    if (query_param(*back, "state") != state) {
      co_return make_error(ErrorCode::kPermissionDenied,
                           where + ": the redirect's state does not match the request (refused)");
    }
    std::string code = query_param(*back, "code");
    if (code.empty()) co_return make_error(ErrorCode::kProtocol, where + ": the redirect has no code");
    form.emplace_back("grant_type", "authorization_code");
    form.emplace_back("code", code);
    form.emplace_back("redirect_uri", config.redirect_uri);
    form.emplace_back("code_verifier", pkce.verifier);
    if (!resource.empty()) form.emplace_back("resource", resource);
    co_return co_await detail::request_token(http, token_endpoint, issuer, std::move(form), who);
  }

  // SEP-990: the ID token -> an ID-JAG at the IdP (RFC 8693) -> an access token here (RFC 7523).
  awaitable<Result<detail::TokenAnswer>> identity_assertion_grant(std::string want, std::string resource,
                                                                  std::string token_endpoint,
                                                                  std::string issuer,
                                                                  detail::ClientIdentity who) {
    const auto& id = config.identity;
    if (id.idp_token_endpoint.empty() || id.id_token.empty()) {
      co_return make_error(ErrorCode::kInvalidArgument,
                           "enterprise-managed authorization needs the IdP token endpoint and an ID token");
    }
    detail::Form exchange{{"grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"},
                          {"requested_token_type", "urn:ietf:params:oauth:token-type:id-jag"},
                          {"audience", issuer},
                          {"subject_token", id.id_token.reveal()},
                          {"subject_token_type", "urn:ietf:params:oauth:token-type:id_token"}};
    if (!resource.empty()) exchange.emplace_back("resource", resource);
    if (!want.empty()) exchange.emplace_back("scope", want);
    detail::ClientIdentity idp_client;
    idp_client.client_id = id.idp_client_id;
    auto jag = co_await detail::request_token(http, id.idp_token_endpoint, "", std::move(exchange),
                                              idp_client);
    if (!jag) co_return std::unexpected(jag.error().with_context("token exchange at the enterprise IdP"));
    detail::Form form{{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
                      {"assertion", jag->access_token.reveal()}};
    if (!want.empty()) form.emplace_back("scope", want);
    co_return co_await detail::request_token(http, token_endpoint, issuer, std::move(form), who);
  }

  awaitable<Result<Secret>> store(Result<detail::TokenAnswer> got, std::string want) {
    if (!got) co_return std::unexpected(got.error());
    std::lock_guard lock(mu);
    access = got->access_token;
    if (!got->refresh_token.empty()) refresh = got->refresh_token;
    expires = Clock::now() + got->expires_in;
    scope = std::move(want);
    co_return access;
  }

  awaitable<Result<Secret>> renew() {
    std::string resource, token_endpoint, issuer, want;
    Secret rt;
    detail::ClientIdentity who;
    {
      std::lock_guard lock(mu);
      if (!as || !client) co_return Secret();
      rt = refresh;
      want = scope;
      resource = prm ? prm->resource : "";
      token_endpoint = as->token_endpoint;
      issuer = as->issuer.empty() ? url_origin(token_endpoint) : as->issuer;
      who = *client;
    }
    if (!rt.empty()) {
      detail::Form form{{"grant_type", "refresh_token"}, {"refresh_token", rt.reveal()}};
      if (!resource.empty()) form.emplace_back("resource", resource);
      auto got = co_await detail::request_token(http, token_endpoint, issuer, std::move(form), who);
      if (got) co_return co_await store(std::move(got), want);
      log::info("{}: the refresh token was refused ({}); asking for a new grant", server_url,
                got.error().message());
      std::lock_guard lock(mu);
      refresh = Secret();
    }
    auto got = co_await grant(want);
    co_return co_await store(std::move(got), want);
  }
};

McpOAuthProvider::McpOAuthProvider(net::any_io_executor executor, std::string server_url,
                                   McpOAuthConfig config)
    : impl_(std::make_shared<Impl>(executor, std::move(server_url), std::move(config))) {}
McpOAuthProvider::~McpOAuthProvider() = default;

int McpOAuthProvider::authorizations() const {
  std::lock_guard lock(impl_->mu);
  return impl_->grants;
}

McpOAuthProvider::TokenInfo McpOAuthProvider::info() const {
  std::lock_guard lock(impl_->mu);
  TokenInfo t;
  if (impl_->as) t.authorization_server = impl_->as->issuer;
  if (impl_->client) t.client_id = impl_->client->client_id;
  t.scope = impl_->scope;
  t.expires = impl_->expires;
  t.refreshable = !impl_->refresh.empty();
  t.access_token = impl_->access;
  return t;
}

std::optional<McpOAuthProvider::SavedTokens> McpOAuthProvider::saved() const {
  std::lock_guard lock(impl_->mu);
  if (impl_->access.empty() || !impl_->as || !impl_->client) return std::nullopt;
  SavedTokens t;
  t.server_url = impl_->server_url;
  if (impl_->prm) t.resource = impl_->prm->resource;
  t.issuer = impl_->as->issuer;
  t.token_endpoint = impl_->as->token_endpoint;
  t.client_id = impl_->client->client_id;
  t.auth_method = impl_->client->auth_method;
  if (impl_->config.client_id.empty()) t.client_secret = impl_->client->client_secret;
  t.scope = impl_->scope;
  t.access_token = impl_->access;
  t.refresh_token = impl_->refresh;
  t.expires = impl_->expires;
  return t;
}

Result<void> McpOAuthProvider::restore(SavedTokens saved) {
  const auto& cfg = impl_->config;
  if (saved.server_url != impl_->server_url) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the saved tokens are for " + saved.server_url + ", not " + impl_->server_url);
  }
  if (!cfg.client_id.empty() && saved.client_id != cfg.client_id) {
    return make_error(ErrorCode::kInvalidArgument, "the saved tokens are for client " + saved.client_id +
                                                       ", not " + cfg.client_id);
  }
  if (saved.token_endpoint.empty() || saved.access_token.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "the saved tokens have no token endpoint or access token");
  }
  detail::ClientIdentity c;
  c.client_id = saved.client_id;
  c.auth_method = saved.auth_method.empty() ? "none" : saved.auth_method;
  if (cfg.client_id.empty()) {
    c.client_secret = saved.client_secret;
  } else {
    c.client_secret = cfg.client_secret;
    c.private_key = cfg.private_key;
    c.signing_alg = cfg.signing_alg;
  }
  AuthServerMetadata as;
  as.issuer = saved.issuer;
  as.token_endpoint = saved.token_endpoint;
  std::lock_guard lock(impl_->mu);
  if (!saved.resource.empty()) {
    ProtectedResourceMetadata prm;
    prm.resource = saved.resource;
    prm.authorization_servers = {saved.issuer};
    impl_->prm = std::move(prm);
  }
  impl_->as = std::move(as);
  impl_->client = std::move(c);
  impl_->scope = std::move(saved.scope);
  impl_->access = std::move(saved.access_token);
  impl_->refresh = std::move(saved.refresh_token);
  impl_->expires = saved.expires;
  return {};
}

awaitable<Result<Secret>> McpOAuthProvider::token(bool refresh) {
  auto self = impl_;
  {
    std::lock_guard lock(self->mu);
    if (self->access.empty()) co_return Secret();  // the server has not asked yet
    if (!refresh && Clock::now() + std::chrono::seconds(60) < self->expires) co_return self->access;
  }
  co_return co_await self->renew();
}

awaitable<Result<Secret>> McpOAuthProvider::on_challenge(int status, std::string header) {
  auto self = impl_;
  BearerChallenge ch = parse_bearer_challenge(header);
  const bool step_up = status == 403;
  if (step_up && ch.error != "insufficient_scope") {
    co_return make_error(ErrorCode::kPermissionDenied,
                         self->server_url + ": HTTP 403" +
                             (ch.error.empty() ? std::string() : " (" + ch.error + ")"));
  }
  bool had_token;
  {
    std::lock_guard lock(self->mu);
    had_token = !self->access.empty();
  }
  auto found = co_await self->discover(ch.resource_metadata, status == 401 && had_token);
  if (!found) co_return std::unexpected(found.error().with_context(self->server_url));
  auto registered = co_await self->ensure_client();
  if (!registered) co_return std::unexpected(registered.error().with_context(self->server_url));
  std::string want;
  {
    std::lock_guard lock(self->mu);
    want = self->choose_scope(ch, step_up);
    if (step_up && ++self->step_ups[want] > self->config.max_step_ups) {
      co_return make_error(ErrorCode::kPermissionDenied,
                           self->server_url + ": HTTP 403 insufficient_scope for \"" + want +
                               "\" again after " + std::to_string(self->config.max_step_ups) +
                               " step-ups (giving up: the authorization server does not grant it)");
    }
  }
  auto got = co_await self->grant(want);
  co_return co_await self->store(std::move(got), want);
}

Authorizer follow_redirect_authorizer(net::any_io_executor executor, std::string redirect_uri,
                                      http::ClientOptions options) {
  auto client = std::make_shared<http::Client>(executor, std::move(options));
  return [client, redirect_uri](std::string url) -> awaitable<Result<std::string>> {
    return [](std::shared_ptr<http::Client> c, std::string back,
              std::string u) -> awaitable<Result<std::string>> {
      http::ClientRequest req;
      req.url = u;
      req.timeout = std::chrono::seconds(30);
      auto r = co_await c->request(std::move(req));
      if (!r) co_return std::unexpected(r.error().with_context("OAuth authorization request"));
      auto location = r->headers.get("Location");
      if (r->status < 300 || r->status >= 400 || !location) {
        co_return make_error(ErrorCode::kUnauthenticated,
                             "OAuth authorization request: HTTP " + std::to_string(r->status) +
                                 " without a redirect (the server wants a user to sign in)");
      }
      if (!location->starts_with(back)) {
        co_return make_error(ErrorCode::kPermissionDenied,
                             "OAuth authorization request: redirected somewhere other than the "
                             "redirect URI (refused)");
      }
      co_return std::string(*location);
    }(client, redirect_uri, std::move(url));
  };
}

}  // namespace idp::auth

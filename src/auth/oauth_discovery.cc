#include "idp/auth/oauth_discovery.h"

#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include <cctype>

#include "idp/core/json_util.h"
#include "idp/http/url_policy.h"

namespace idp::auth {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct UrlParts {
  std::string scheme, host, port, path;
  bool fragment = false;
};

std::optional<UrlParts> split_url(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || !u->has_authority()) return std::nullopt;
  UrlParts p;
  p.scheme = lower(u->scheme());
  p.host = lower(u->encoded_host_address());
  p.port = std::string(u->port());
  if (p.port.empty()) p.port = p.scheme == "https" ? "443" : p.scheme == "http" ? "80" : "";
  p.path = std::string(u->encoded_path());
  while (!p.path.empty() && p.path.back() == '/') p.path.pop_back();
  p.fragment = u->has_fragment();
  return p;
}

std::vector<std::string> strings(const bj::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const bj::array* a = ::idp::json::find_array(o, key)) {
    for (const auto& v : *a) {
      if (v.is_string()) out.emplace_back(v.get_string());
    }
  }
  return out;
}

std::string string_of(const bj::object& o, std::string_view key) {
  const bj::string* s = ::idp::json::find_string(o, key);
  return s ? std::string(*s) : std::string();
}

// GET a JSON object. nullopt: not there (any 4xx/5xx); an error for a refused URL, a redirect
// or an answer that is not a JSON object.
awaitable<Result<std::optional<bj::object>>> get_json(http::Client& http, std::string url,
                                                      std::string what) {
  auto policy = http::check_url(url, what);
  if (!policy) co_return std::unexpected(policy.error());
  http::ClientRequest req;
  req.url = url;
  req.headers.add("Accept", "application/json");
  req.timeout = std::chrono::seconds(30);
  auto r = co_await http.request(std::move(req));
  if (!r) co_return std::unexpected(r.error().with_context(what));
  if (r->status >= 300 && r->status < 400) {
    co_return make_error(ErrorCode::kProtocol,
                         what + " at " + url + " answered HTTP " + std::to_string(r->status) +
                             " (a redirect); metadata must be served at its well-known URL");
  }
  if (r->status != 200) co_return std::optional<bj::object>{};
  auto parsed = ::idp::json::parse(r->body);
  if (!parsed || !parsed->is_object()) {
    co_return make_error(ErrorCode::kProtocol, what + " at " + url + " is not a JSON object");
  }
  co_return std::optional<bj::object>(std::move(parsed->as_object()));
}

}  // namespace

BearerChallenge parse_bearer_challenge(std::string_view h) {
  BearerChallenge c;
  // Find the Bearer scheme (case-insensitive), then read auth-params until the next scheme.
  std::string low = lower(h);
  std::size_t at = 0;
  for (;;) {
    at = low.find("bearer", at);
    if (at == std::string::npos) return c;
    bool start = at == 0 || low[at - 1] == ' ' || low[at - 1] == ',';
    bool end = at + 6 == low.size() || low[at + 6] == ' ';
    if (start && end) break;
    at += 6;
  }
  std::size_t i = at + 6;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ',')) ++i;
    std::size_t k = i;
    while (i < h.size() && h[i] != '=' && h[i] != ' ' && h[i] != ',') ++i;
    std::string key = lower(h.substr(k, i - k));
    if (i >= h.size() || h[i] != '=') {
      if (!key.empty() && i < h.size() && h[i] == ' ') break;  // the next scheme begins
      continue;
    }
    ++i;
    std::string value;
    if (i < h.size() && h[i] == '"') {
      ++i;
      while (i < h.size() && h[i] != '"') {
        if (h[i] == '\\' && i + 1 < h.size()) ++i;
        value += h[i++];
      }
      ++i;
    } else {
      while (i < h.size() && h[i] != ',' && h[i] != ' ') value += h[i++];
    }
    if (key == "error") c.error = value;
    if (key == "scope") c.scope = value;
    if (key == "resource_metadata") c.resource_metadata = value;
    if (key == "error_description") c.error_description = value;
  }
  return c;
}

std::string url_origin(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || !u->has_authority()) return {};
  return std::string(u->scheme()) + "://" + std::string(u->encoded_authority());
}

bool resource_matches(std::string_view resource, std::string_view server_url) {
  auto r = split_url(resource);
  auto s = split_url(server_url);
  if (!r || !s || r->fragment) return false;
  if (r->scheme != s->scheme || r->host != s->host || r->port != s->port) return false;
  if (r->path.empty()) return true;
  return s->path == r->path || s->path.starts_with(r->path + "/");
}

std::vector<std::string> protected_resource_metadata_urls(std::string_view server_url,
                                                          std::string_view from_challenge) {
  std::vector<std::string> out;
  if (!from_challenge.empty()) out.emplace_back(from_challenge);
  auto p = split_url(server_url);
  std::string origin = url_origin(server_url);
  if (!p || origin.empty()) return out;
  if (!p->path.empty()) out.push_back(origin + "/.well-known/oauth-protected-resource" + p->path);
  out.push_back(origin + "/.well-known/oauth-protected-resource");
  return out;
}

std::vector<std::string> authorization_server_metadata_urls(std::string_view issuer) {
  std::vector<std::string> out;
  auto p = split_url(issuer);
  std::string origin = url_origin(issuer);
  if (!p || origin.empty()) return out;
  if (p->path.empty()) {
    out.push_back(origin + "/.well-known/oauth-authorization-server");
    out.push_back(origin + "/.well-known/openid-configuration");
  } else {
    out.push_back(origin + "/.well-known/oauth-authorization-server" + p->path);
    out.push_back(origin + "/.well-known/openid-configuration" + p->path);
    out.push_back(origin + p->path + "/.well-known/openid-configuration");
  }
  return out;
}

awaitable<Result<std::optional<ProtectedResourceMetadata>>> discover_protected_resource(
    http::Client& http, std::string server_url, std::string resource_metadata_url) {
  for (const std::string& url : protected_resource_metadata_urls(server_url, resource_metadata_url)) {
    const std::string what = "protected resource metadata";
    auto got = co_await get_json(http, url, what);
    if (!got) co_return std::unexpected(got.error());
    if (!*got) continue;
    const bj::object& o = **got;
    ProtectedResourceMetadata m;
    m.url = url;
    m.resource = string_of(o, "resource");
    m.authorization_servers = strings(o, "authorization_servers");
    m.scopes_supported = strings(o, "scopes_supported");
    const std::string where = what + " at " + url;
    if (m.resource.empty()) {
      co_return make_error(ErrorCode::kProtocol, where + " has no \"resource\"");
    }
    if (!resource_matches(m.resource, server_url)) {
      co_return make_error(ErrorCode::kPermissionDenied,
                           where + " names the resource \"" + m.resource +
                               "\", which is not the MCP server " + server_url +
                               " (refused: a token for it could be replayed elsewhere)");
    }
    if (m.authorization_servers.empty()) {
      co_return make_error(ErrorCode::kProtocol, where + " lists no \"authorization_servers\"");
    }
    co_return std::optional<ProtectedResourceMetadata>(std::move(m));
  }
  co_return std::optional<ProtectedResourceMetadata>{};
}

awaitable<Result<AuthServerMetadata>> discover_authorization_server(http::Client& http,
                                                                    std::string issuer,
                                                                    bool check_issuer,
                                                                    bool default_endpoints) {
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  auto policy = http::check_url(issuer, "authorization server URL");
  if (!policy) co_return std::unexpected(policy.error());
  for (const std::string& url : authorization_server_metadata_urls(issuer)) {
    const std::string what = "authorization server metadata";
    auto got = co_await get_json(http, url, what);
    if (!got) co_return std::unexpected(got.error());
    if (!*got) continue;
    const bj::object& o = **got;
    AuthServerMetadata m;
    m.url = url;
    m.issuer = string_of(o, "issuer");
    m.authorization_endpoint = string_of(o, "authorization_endpoint");
    m.token_endpoint = string_of(o, "token_endpoint");
    m.registration_endpoint = string_of(o, "registration_endpoint");
    m.grant_types_supported = strings(o, "grant_types_supported");
    m.token_endpoint_auth_methods_supported = strings(o, "token_endpoint_auth_methods_supported");
    m.scopes_supported = strings(o, "scopes_supported");
    m.code_challenge_methods_supported = strings(o, "code_challenge_methods_supported");
    m.client_id_metadata_document_supported =
        ::idp::json::find_bool(o, "client_id_metadata_document_supported").value_or(false);
    m.authorization_response_iss_parameter_supported =
        ::idp::json::find_bool(o, "authorization_response_iss_parameter_supported").value_or(false);
    const std::string where = what + " at " + url;
    std::string issuer_seen = m.issuer;
    while (!issuer_seen.empty() && issuer_seen.back() == '/') issuer_seen.pop_back();
    if (check_issuer && issuer_seen != issuer) {
      co_return make_error(ErrorCode::kPermissionDenied,
                           where + " names the issuer \"" + m.issuer + "\", not " + issuer +
                               " (RFC 8414 §3.3: refused)");
    }
    if (!m.issuer.empty()) {
      auto ok = http::check_url(m.issuer, where + ": \"issuer\"");
      if (!ok) co_return std::unexpected(ok.error());
    }
    if (m.token_endpoint.empty()) {
      co_return make_error(ErrorCode::kProtocol, where + " has no \"token_endpoint\"");
    }
    for (auto [field, value] : {std::pair<const char*, const std::string*>{"token_endpoint", &m.token_endpoint},
                                {"authorization_endpoint", &m.authorization_endpoint},
                                {"registration_endpoint", &m.registration_endpoint}}) {
      if (value->empty()) continue;
      auto ok = http::check_url(*value, where + ": \"" + field + "\"");
      if (!ok) co_return std::unexpected(ok.error());
    }
    co_return m;
  }
  if (!default_endpoints) {
    co_return make_error(ErrorCode::kNotFound,
                         "no authorization server metadata for " + issuer + " (tried " +
                             authorization_server_metadata_urls(issuer).front() + " and the "
                             "OpenID Connect discovery locations)");
  }
  AuthServerMetadata m;
  m.issuer = issuer;
  m.authorization_endpoint = issuer + "/authorize";
  m.token_endpoint = issuer + "/token";
  m.registration_endpoint = issuer + "/register";
  co_return m;
}

}  // namespace idp::auth

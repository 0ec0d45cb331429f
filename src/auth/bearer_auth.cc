#include "idp/auth/bearer_auth.h"

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/sha.h>

#include <mutex>
#include <unordered_map>

#include "idp/core/log.h"
#include "idp/core/random.h"

namespace idp::auth {

namespace net = boost::asio;
using net::awaitable;
namespace bj = boost::json;

namespace {

std::string token_digest(std::string_view token) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

bool loopback_url(std::string_view url) {
  for (std::string_view prefix : {"http://127.", "http://localhost", "http://[::1]"}) {
    if (url.starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace

struct BearerAuth::Impl : std::enable_shared_from_this<BearerAuth::Impl> {
  explicit Impl(BearerAuthOptions o) : opt(std::move(o)) {
    if (opt.jwks_url.empty()) opt.jwks_url = opt.rules.issuer + "/.well-known/jwks.json";
  }

  BearerAuthOptions opt;
  mutable std::mutex mu;
  std::shared_ptr<const JwkSet> keys;
  std::chrono::steady_clock::time_point fetched_at{};
  std::chrono::steady_clock::time_point last_attempt{};
  std::unique_ptr<http::Client> client;  // created on the first fetch, on a server executor
  struct Cached {
    mcp::Identity identity;
    std::chrono::system_clock::time_point expires;
  };
  std::unordered_map<std::string, Cached> verified;
  Stats stats;

  // Fetches the JWKS; keeps the old keys when the fetch fails.
  awaitable<void> fetch() {
    {
      std::lock_guard lock(mu);
      last_attempt = std::chrono::steady_clock::now();
      if (!client) client = std::make_unique<http::Client>(co_await net::this_coro::executor, opt.http);
    }
    if (!opt.jwks_url.starts_with("https://") && !loopback_url(opt.jwks_url)) {
      log::error("JWKS URL {} is neither https:// nor loopback http://; refusing to fetch", opt.jwks_url);
      co_return;
    }
    http::ClientRequest req;
    req.url = opt.jwks_url;
    req.headers.add("Accept", "application/json");
    req.timeout = std::chrono::seconds(10);
    auto r = co_await client->request(std::move(req));
    std::string problem;
    if (!r) {
      problem = r.error().message();
    } else if (r->status != 200) {
      problem = "HTTP " + std::to_string(r->status);
    } else {
      auto set = JwkSet::parse(r->body);
      if (!set) {
        problem = set.error().message();
      } else {
        std::lock_guard lock(mu);
        keys = std::make_shared<const JwkSet>(std::move(*set));
        fetched_at = std::chrono::steady_clock::now();
        ++stats.jwks_fetches;
        co_return;
      }
    }
    log::warn("fetching the JWKS {} failed: {}{}", opt.jwks_url, problem,
              keys ? " (keeping the keys fetched before)" : "");
  }

  http::Response reject(const JwtError& e, const http::Request& req) {
    http::Response r = http::Response::json(
        e.http_status(), bj::serialize(bj::object{{"error", e.oauth_error()},
                                                  {"error_description", e.message}}));
    std::string scope;
    for (const auto& s : opt.rules.required_scopes) scope += (scope.empty() ? "" : " ") + s;
    r.headers.add("WWW-Authenticate", www_authenticate(e, metadata_url(req), scope));
    return r;
  }

  std::string resource_url(const http::Request& req) const {
    if (!opt.resource.empty()) return opt.resource;
    std::string host(req.header("Host").value_or("localhost"));
    return std::string(req.is_tls() ? "https://" : "http://") + host + std::string(req.path());
  }

  std::string metadata_url(const http::Request& req) const {
    std::string resource = resource_url(req);
    auto scheme_end = resource.find("://");
    auto path_start = resource.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
    std::string origin = path_start == std::string::npos ? resource : resource.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "" : resource.substr(path_start);
    return origin + "/.well-known/oauth-protected-resource" + path;
  }

  awaitable<std::expected<mcp::Identity, http::Response>> authenticate(const http::Request& req) {
    auto header = req.header("Authorization");
    std::string_view token;
    if (header && header->size() > 7 && http::iequals(header->substr(0, 7), "Bearer ")) {
      token = header->substr(7);
      while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    }
    if (token.empty()) {
      http::Response r = http::Response::json(
          401, R"({"error":"invalid_token","error_description":"a bearer token is required"})");
      r.headers.add("WWW-Authenticate", www_authenticate_missing_token(metadata_url(req)));
      co_return std::unexpected(std::move(r));
    }
    auto now = std::chrono::system_clock::now();
    std::string digest = token_digest(token);
    {
      std::lock_guard lock(mu);
      auto it = verified.find(digest);
      if (it != verified.end() && it->second.expires > now) {
        ++stats.cache_hits;
        co_return it->second.identity;
      }
    }
    std::shared_ptr<const JwkSet> current;
    bool stale;
    {
      std::lock_guard lock(mu);
      current = keys;
      stale = !keys || std::chrono::steady_clock::now() - fetched_at > opt.jwks_ttl;
    }
    if (stale) {
      co_await fetch();
      std::lock_guard lock(mu);
      current = keys;
    }
    if (!current) {
      JwtError e{JwtFailure::kUnknownKey, "the issuer's signing keys are not available"};
      co_return std::unexpected(reject(e, req));
    }
    auto v = verify_jwt(token, opt.rules, *current, now);
    if (!v && v.error().failure == JwtFailure::kUnknownKey) {
      // Keys may have rotated: refetch, but at most once per refetch_interval.
      bool may_refetch;
      {
        std::lock_guard lock(mu);
        may_refetch = std::chrono::steady_clock::now() - last_attempt >= opt.refetch_interval;
      }
      if (may_refetch) {
        co_await fetch();
        {
          std::lock_guard lock(mu);
          current = keys;
        }
        v = verify_jwt(token, opt.rules, *current, now);
      }
    }
    if (!v) co_return std::unexpected(reject(v.error(), req));
    mcp::Identity id{.authenticated = true, .subject = v->subject, .claims = v->claims};
    {
      std::lock_guard lock(mu);
      if (verified.size() >= opt.verified_cache_entries) verified.clear();  // bounded
      verified[digest] = Cached{id, v->expires};
    }
    co_return id;
  }
};

BearerAuth::BearerAuth(BearerAuthOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}
BearerAuth::~BearerAuth() = default;

mcp::Authenticator BearerAuth::authenticator() {
  auto impl = impl_;
  return [impl](const http::Request& req) { return impl->authenticate(req); };
}

void BearerAuth::serve_metadata(http::Server& server, const std::string& mcp_path) {
  auto impl = impl_;
  auto handler = [impl, mcp_path](const http::Request& req, http::Responder& res) -> awaitable<void> {
    std::string resource = impl->opt.resource;
    if (resource.empty()) {
      std::string host(req.header("Host").value_or("localhost"));
      resource = std::string(req.is_tls() ? "https://" : "http://") + host + mcp_path;
    }
    bj::array scopes;
    for (const auto& s : impl->opt.scopes_supported) scopes.emplace_back(s);
    bj::object doc{{"resource", resource},
                   {"authorization_servers", bj::array{bj::value(impl->opt.rules.issuer)}},
                   {"bearer_methods_supported", bj::array{"header"}}};
    if (!scopes.empty()) doc["scopes_supported"] = std::move(scopes);
    http::Response r = http::Response::json(200, bj::serialize(doc));
    co_await res.send(std::move(r));
  };
  server.route("GET", "/.well-known/oauth-protected-resource", handler);
  server.route("GET", "/.well-known/oauth-protected-resource" + mcp_path, handler);
}

BearerAuth::Stats BearerAuth::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace idp::auth

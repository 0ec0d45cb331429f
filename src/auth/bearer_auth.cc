#include "idp/auth/bearer_auth.h"

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "jwks_cache.h"

namespace idp::auth {

namespace net = boost::asio;
using net::awaitable;
namespace bj = boost::json;

namespace {

// Bucket hash of the verified-token cache, whose keys are whole tokens compared exactly (so a
// hash collision costs a comparison, never a wrong identity). It hashes only the length and the
// last bytes: in a JWT those are signature bytes, which differ between any two tokens the issuer
// signed and cannot be chosen by anyone else; and only verified tokens are ever stored, so no one
// can fill a bucket on purpose. Hashing 48 bytes instead of the ~1 KB token is most of what makes
// a cache hit cheap.
struct TokenTailHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view token) const noexcept {
    constexpr std::size_t kTail = 48;
    const std::string_view tail = token.size() > kTail ? token.substr(token.size() - kTail) : token;
    return std::hash<std::string_view>{}(tail) ^ (token.size() * 0x9E3779B97F4A7C15ULL);
  }
};

}  // namespace

struct BearerAuth::Impl : std::enable_shared_from_this<BearerAuth::Impl> {
  explicit Impl(BearerAuthOptions o) : opt(std::move(o)) {
    if (opt.jwks_url.empty()) opt.jwks_url = opt.rules.issuer + "/.well-known/jwks.json";
    if (!opt.clock) opt.clock = real_time();
    jwks = std::make_shared<detail::JwksCache>(
        detail::JwksCacheOptions{.url = opt.jwks_url,
                                 .ttl = opt.jwks_ttl,
                                 .max_age = opt.jwks_max_age,
                                 .refetch_interval = opt.refetch_interval,
                                 .retry_initial = opt.jwks_retry_initial,
                                 .retry_max = opt.jwks_retry_max,
                                 .fetch_timeout = opt.jwks_fetch_timeout,
                                 .http = opt.http,
                                 .clock = opt.clock});
  }

  BearerAuthOptions opt;
  std::shared_ptr<detail::JwksCache> jwks;

  // Verified tokens (the exact token text) -> their shared identity, until `exp`.
  struct Cached {
    std::shared_ptr<const mcp::Identity> identity;
    std::chrono::system_clock::time_point expires;
  };
  mutable std::shared_mutex cache_mu;
  std::unordered_map<std::string, Cached, TokenTailHash, std::equal_to<>> verified;
  std::atomic<std::size_t> cache_hits{0};

  std::shared_ptr<const mcp::Identity> lookup(std::string_view token,
                                              std::chrono::system_clock::time_point now) {
    std::shared_lock lock(cache_mu);
    auto it = verified.find(token);
    if (it == verified.end() || it->second.expires <= now) return nullptr;
    cache_hits.fetch_add(1, std::memory_order_relaxed);
    return it->second.identity;
  }

  void remember(std::string_view token, std::shared_ptr<const mcp::Identity> identity,
                std::chrono::system_clock::time_point expires,
                std::chrono::system_clock::time_point now) {
    if (opt.verified_cache_entries == 0) return;
    std::unique_lock lock(cache_mu);
    if (verified.size() >= opt.verified_cache_entries) {
      std::erase_if(verified, [&](const auto& entry) { return entry.second.expires <= now; });
      if (verified.size() >= opt.verified_cache_entries) verified.clear();  // bounded
    }
    verified.insert_or_assign(std::string(token), Cached{std::move(identity), expires});
  }

  // verify_jwt, then the identity of a valid token, shared with the cache.
  std::expected<std::shared_ptr<const mcp::Identity>, JwtError> check(
      std::string_view token, const JwkSet& keys, std::chrono::system_clock::time_point now) {
    auto v = verify_jwt(token, opt.rules, keys, now);
    if (!v) return std::unexpected(std::move(v.error()));
    auto identity = std::make_shared<const mcp::Identity>(mcp::Identity{
        .authenticated = true, .subject = std::move(v->subject), .claims = std::move(v->claims)});
    remember(token, identity, v->expires, now);
    return identity;
  }

  // The token's identity: from the verified cache, else verified with the issuer's keys (see
  // JwksCache for when they are fetched).
  awaitable<std::expected<std::shared_ptr<const mcp::Identity>, JwtError>> check_token(
      std::string_view token) {
    const auto now = opt.clock->now();
    if (auto hit = lookup(token, now)) co_return hit;
    std::shared_ptr<const JwkSet> keys = co_await jwks->keys();
    if (!keys) {
      co_return std::unexpected(
          JwtError{JwtFailure::kUnknownKey, "the issuer's signing keys are not available"});
    }
    auto v = check(token, *keys, now);
    if (!v && v.error().failure == JwtFailure::kUnknownKey) {
      // Keys may have rotated (the cache refetches at most once per refetch_interval).
      if (auto newer = co_await jwks->refetch_for_unknown_kid(keys)) v = check(token, *newer, now);
    }
    co_return v;
  }

  http::Response reject(const JwtError& e, const http::Request& req,
                        const std::vector<std::string>& needed) {
    http::Response r = http::Response::json(
        e.http_status(),
        bj::serialize(bj::object{{"error", e.oauth_error()}, {"error_description", e.message}}));
    std::string scope;
    for (const auto& s : needed) scope += (scope.empty() ? "" : " ") + s;
    r.headers.add("WWW-Authenticate", www_authenticate(e, metadata_url(req), scope));
    return r;
  }

  // tool_scopes: the refusal of a tools/call (in a JSON-RPC message or batch) whose tool needs a
  // scope `identity` was not granted. A body that does not parse is the transport's to answer.
  std::optional<http::Response> check_tool_scopes(const http::Request& req,
                                                  const mcp::Identity& identity) {
    if (req.method() != "POST") return std::nullopt;
    auto parsed = ::idp::json::parse(req.body());
    if (!parsed) return std::nullopt;
    std::vector<const bj::object*> messages;
    if (parsed->is_object()) messages.push_back(&parsed->as_object());
    if (parsed->is_array()) {
      for (const auto& m : parsed->as_array()) {
        if (m.is_object()) messages.push_back(&m.as_object());
      }
    }
    const std::vector<std::string> granted = granted_scopes(identity.claims);
    for (const bj::object* m : messages) {
      const bj::string* method = ::idp::json::find_string(*m, "method");
      const bj::object* params = ::idp::json::find_object(*m, "params");
      const bj::string* name = params ? ::idp::json::find_string(*params, "name") : nullptr;
      if (!method || *method != "tools/call" || !name) continue;
      auto it = opt.tool_scopes.find(std::string(*name));
      if (it == opt.tool_scopes.end()) continue;
      std::vector<std::string> missing;
      for (const auto& s : it->second) {
        if (std::find(granted.begin(), granted.end(), s) == granted.end()) missing.push_back(s);
      }
      if (missing.empty()) continue;
      std::vector<std::string> needed = opt.rules.required_scopes;
      for (const auto& s : it->second) {
        if (std::find(needed.begin(), needed.end(), s) == needed.end()) needed.push_back(s);
      }
      std::string what;
      for (const auto& s : missing) what += (what.empty() ? "" : " ") + s;
      return reject(JwtError{JwtFailure::kInsufficientScope,
                             "the tool " + it->first + " needs the scope " + what},
                    req, needed);
    }
    return std::nullopt;
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
    std::string origin =
        path_start == std::string::npos ? resource : resource.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "" : resource.substr(path_start);
    return origin + "/.well-known/oauth-protected-resource" + path;
  }

  // Every request of a known token gets the cached identity itself (no copy of its claims) and,
  // on a cache hit, no nested coroutine.
  awaitable<mcp::AuthResult> authenticate(const http::Request& req) {
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
    std::expected<std::shared_ptr<const mcp::Identity>, JwtError> v =
        lookup(token, opt.clock->now());
    if (!*v) v = co_await check_token(token);
    if (!v) co_return std::unexpected(reject(v.error(), req, opt.rules.required_scopes));
    if (!opt.tool_scopes.empty()) {
      if (auto refused = check_tool_scopes(req, **v))
        co_return std::unexpected(std::move(*refused));
    }
    co_return mcp::SharedIdentity(std::move(*v));
  }
};

BearerAuth::BearerAuth(BearerAuthOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}
BearerAuth::~BearerAuth() = default;

mcp::Authenticator BearerAuth::authenticator() {
  auto impl = impl_;
  return [impl](const http::Request& req) { return impl->authenticate(req); };
}

void BearerAuth::serve_metadata(http::Server& server, const std::string& mcp_path) {
  auto impl = impl_;
  auto handler = [impl, mcp_path](const http::Request& req,
                                  http::Responder& res) -> awaitable<void> {
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

void BearerAuth::set_keys(JwkSet keys) { impl_->jwks->set(std::move(keys)); }

awaitable<std::expected<std::shared_ptr<const mcp::Identity>, JwtError>> BearerAuth::check(
    std::string token) {
  auto impl = impl_;
  co_return co_await impl->check_token(token);
}

std::expected<std::shared_ptr<const mcp::Identity>, JwtError> BearerAuth::verify(
    std::string_view token, std::chrono::system_clock::time_point now) {
  if (auto hit = impl_->lookup(token, now)) return hit;
  std::shared_ptr<const JwkSet> current = impl_->jwks->current();
  if (!current) {
    return std::unexpected(
        JwtError{JwtFailure::kUnknownKey, "the issuer's signing keys are not available"});
  }
  return impl_->check(token, *current, now);
}

BearerAuth::Stats BearerAuth::stats() const {
  const detail::JwksStats jwks = impl_->jwks->stats();
  Stats out;
  out.jwks_fetches = jwks.fetches;
  out.jwks_fetch_failures = jwks.fetch_failures;
  out.jwks_waiting = jwks.waiting;
  out.cache_hits = impl_->cache_hits.load(std::memory_order_relaxed);
  return out;
}

}  // namespace idp::auth

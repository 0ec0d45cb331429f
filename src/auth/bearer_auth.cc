#include "idp/auth/bearer_auth.h"

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "idp/core/log.h"
#include "idp/core/random.h"

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
  std::size_t jwks_fetches = 0;          // guarded by mu

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

  std::shared_ptr<const JwkSet> current_keys() const {
    std::lock_guard lock(mu);
    return keys;
  }

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
        ++jwks_fetches;
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
    const auto now = std::chrono::system_clock::now();
    if (auto hit = lookup(token, now)) co_return *hit;  // the hook hands out a copy
    std::shared_ptr<const JwkSet> current;
    bool stale;
    {
      std::lock_guard lock(mu);
      current = keys;
      stale = !keys || std::chrono::steady_clock::now() - fetched_at > opt.jwks_ttl;
    }
    if (stale) {
      co_await fetch();
      current = current_keys();
    }
    if (!current) {
      JwtError e{JwtFailure::kUnknownKey, "the issuer's signing keys are not available"};
      co_return std::unexpected(reject(e, req));
    }
    auto v = check(token, *current, now);
    if (!v && v.error().failure == JwtFailure::kUnknownKey) {
      // Keys may have rotated: refetch, but at most once per refetch_interval.
      bool may_refetch;
      {
        std::lock_guard lock(mu);
        may_refetch = std::chrono::steady_clock::now() - last_attempt >= opt.refetch_interval;
      }
      if (may_refetch) {
        co_await fetch();
        current = current_keys();
        v = check(token, *current, now);
      }
    }
    if (!v) co_return std::unexpected(reject(v.error(), req));
    co_return **v;
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

void BearerAuth::set_keys(JwkSet keys) {
  std::lock_guard lock(impl_->mu);
  impl_->keys = std::make_shared<const JwkSet>(std::move(keys));
  impl_->fetched_at = std::chrono::steady_clock::now();
}

std::expected<std::shared_ptr<const mcp::Identity>, JwtError> BearerAuth::verify(
    std::string_view token, std::chrono::system_clock::time_point now) {
  if (auto hit = impl_->lookup(token, now)) return hit;
  std::shared_ptr<const JwkSet> current = impl_->current_keys();
  if (!current) {
    return std::unexpected(
        JwtError{JwtFailure::kUnknownKey, "the issuer's signing keys are not available"});
  }
  return impl_->check(token, *current, now);
}

BearerAuth::Stats BearerAuth::stats() const {
  Stats out;
  {
    std::lock_guard lock(impl_->mu);
    out.jwks_fetches = impl_->jwks_fetches;
  }
  out.cache_hits = impl_->cache_hits.load(std::memory_order_relaxed);
  return out;
}

}  // namespace idp::auth

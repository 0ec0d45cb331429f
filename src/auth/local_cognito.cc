#include "idp/auth/local_cognito.h"

#include <boost/json/object.hpp>

#include <stdexcept>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/http/server.h"
#include "local_cognito_api.h"

namespace idp::auth {

namespace bj = boost::json;
using boost::asio::awaitable;
using local::ApiError;
using local::ApiResult;

namespace {

constexpr std::string_view kTargetPrefix = "AWSCognitoIdentityProviderService.";

http::Response error_response(const ApiError& e) {
  bj::object o{{"__type", e.type}, {"message", e.message}};
  http::Response r;
  r.status = e.status;
  r.body = json::serialize(o);
  r.headers.add("Content-Type", "application/x-amz-json-1.1");
  r.headers.add("x-amzn-ErrorType", e.type + ":");
  r.headers.add("x-amzn-RequestId", trace_id());
  return r;
}

}  // namespace

struct LocalCognito::Impl {
  Impl(std::string data_dir, std::string region) : api(std::move(data_dir), std::move(region)) {}
  local::Api api;
};

LocalCognito::LocalCognito(std::string data_dir, std::string region)
    : impl_(std::make_unique<Impl>(std::move(data_dir), std::move(region))) {}

Result<std::unique_ptr<LocalCognito>> LocalCognito::open(std::string data_dir, std::string region) {
  try {
    return std::make_unique<LocalCognito>(std::move(data_dir), std::move(region));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, std::string("local cognito: ") + e.what());
  }
}

LocalCognito::~LocalCognito() = default;

const std::string& LocalCognito::data_file() const { return impl_->api.file(); }

Result<void> LocalCognito::flush() { return impl_->api.flush(); }

void LocalCognito::set_token_lifetime(std::chrono::seconds lifetime) {
  impl_->api.set_token_lifetime(lifetime);
}

void LocalCognito::set_clock(std::shared_ptr<const TimeSource> clock) {
  impl_->api.set_clock(std::move(clock));
}

void LocalCognito::set_issuer_base(std::string issuer_base) {
  impl_->api.set_issuer_base(std::move(issuer_base));
}

std::string LocalCognito::issuer(std::string_view pool_id) const {
  return impl_->api.issuer(pool_id);
}

http::Response LocalCognito::handle(std::string_view target, std::string_view body) {
  if (!target.starts_with(kTargetPrefix)) {
    std::string what = target.empty() ? std::string("Missing X-Amz-Target header")
                                      : "Unknown operation " + std::string(target);
    return error_response(ApiError{"UnknownOperationException", what, 400});
  }
  std::string_view op = target.substr(kTargetPrefix.size());
  std::string_view text = body.empty() ? std::string_view("{}") : body;
  auto parsed = json::parse(text);
  if (!parsed || !parsed->is_object()) {
    return error_response(ApiError{"SerializationException", "Start of structure or map found where not expected.", 400});
  }
  ApiResult<bj::object> out;
  try {
    out = impl_->api.dispatch(op, parsed->as_object());
  } catch (const std::exception& e) {
    log::error("local-cognito: {} failed: {}", op, e.what());
    return error_response(ApiError{"InternalErrorException", "Internal error", 500});
  }
  if (!out) return error_response(out.error());
  http::Response r;
  r.status = 200;
  r.body = json::serialize(*out);
  r.headers.add("Content-Type", "application/x-amz-json-1.1");
  r.headers.add("x-amzn-RequestId", trace_id());
  return r;
}

namespace {

constexpr std::string_view kJwks = "/.well-known/jwks.json";
constexpr std::string_view kOidc = "/.well-known/openid-configuration";
constexpr std::string_view kOauth = "/.well-known/oauth-authorization-server";
constexpr std::string_view kToken = "/oauth2/token";

// The pool id of `/<pool><suffix>`, or empty.
std::string_view pool_before(std::string_view path, std::string_view suffix) {
  if (!path.starts_with("/") || !path.ends_with(suffix)) return {};
  std::string_view pool = path.substr(1, path.size() - 1 - suffix.size());
  return pool.find('/') == std::string_view::npos ? pool : std::string_view();
}

// The pool id of `<prefix>/<pool>`, or empty.
std::string_view pool_after(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix) || path.size() <= prefix.size() + 1 || path[prefix.size()] != '/') {
    return {};
  }
  std::string_view pool = path.substr(prefix.size() + 1);
  return pool.find('/') == std::string_view::npos ? pool : std::string_view();
}

http::Response unknown_pool(std::string_view pool_id) {
  bj::object o{{"__type", "ResourceNotFoundException"},
               {"message", "User pool " + std::string(pool_id) + " does not exist."}};
  return http::Response::json(404, json::serialize(o));
}

}  // namespace

std::optional<http::Response> LocalCognito::handle_well_known(std::string_view path) const {
  std::string_view pool_id;
  bool jwks = false;
  if (pool_id = pool_before(path, kJwks); !pool_id.empty()) {
    jwks = true;
  } else if (pool_id = pool_before(path, kOidc); !pool_id.empty()) {
  } else if (pool_id = pool_before(path, kOauth); !pool_id.empty()) {
  } else if (pool_id = pool_after(path, kOidc); !pool_id.empty()) {
  } else if (pool_id = pool_after(path, kOauth); !pool_id.empty()) {
  } else {
    return std::nullopt;
  }
  std::optional<bj::object> doc = jwks ? impl_->api.jwks(pool_id) : impl_->api.discovery(pool_id);
  if (!doc) return unknown_pool(pool_id);
  return http::Response::json(200, json::serialize(*doc));
}

std::optional<http::Response> LocalCognito::handle_token(std::string_view path,
                                                         std::optional<std::string_view> authorization,
                                                         std::string_view content_type,
                                                         std::string_view body) {
  std::string_view pool_id = pool_before(path, kToken);
  if (pool_id.empty()) return std::nullopt;
  if (!impl_->api.has_pool(pool_id)) return unknown_pool(pool_id);
  local::TokenReply reply = impl_->api.token(pool_id, authorization, content_type, body);
  http::Response r = http::Response::json(reply.status, json::serialize(reply.body));
  r.headers.add("Cache-Control", "no-store");
  r.headers.add("Pragma", "no-cache");
  if (reply.status == 401) r.headers.add("WWW-Authenticate", "Basic realm=\"" + std::string(pool_id) + "\"");
  return r;
}

void LocalCognito::attach(http::Server& server, std::string issuer_base) {
  impl_->api.set_server(&server);
  if (!issuer_base.empty()) impl_->api.set_issuer_base(std::move(issuer_base));
  server.route("POST", "/", [this](const http::Request& req, http::Responder& res) -> awaitable<void> {
    std::string target(req.header("X-Amz-Target").value_or(""));
    http::Response r = handle(target, req.body());
    co_await res.send(std::move(r));
  });
  // Every pool's token endpoint, JWKS and metadata, also of pools created while serving.
  server.route_prefix("POST", "/", [this](const http::Request& req, http::Responder& res) -> awaitable<void> {
    std::optional<http::Response> found = handle_token(req.path(), req.header("Authorization"),
                                                       req.header("Content-Type").value_or(""), req.body());
    http::Response r = found ? std::move(*found) : http::Response::text(404, "not found");
    co_await res.send(std::move(r));
  });
  server.route_prefix("GET", "/", [this](const http::Request& req, http::Responder& res) -> awaitable<void> {
    std::optional<http::Response> found = handle_well_known(req.path());
    http::Response r = found ? std::move(*found) : http::Response::text(404, "not found");
    co_await res.send(std::move(r));
  });
}

}  // namespace idp::auth

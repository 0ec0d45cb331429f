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

std::optional<http::Response> LocalCognito::handle_well_known(std::string_view path) const {
  static constexpr std::string_view kJwks = "/.well-known/jwks.json";
  static constexpr std::string_view kOidc = "/.well-known/openid-configuration";
  if (!path.starts_with("/")) return std::nullopt;
  bool jwks = path.ends_with(kJwks);
  bool oidc = path.ends_with(kOidc);
  if (!jwks && !oidc) return std::nullopt;
  std::string_view pool_id = path.substr(1, path.size() - 1 - (jwks ? kJwks.size() : kOidc.size()));
  if (pool_id.empty() || pool_id.find('/') != std::string_view::npos) return std::nullopt;
  std::optional<bj::object> doc = jwks ? impl_->api.jwks(pool_id) : impl_->api.discovery(pool_id);
  if (!doc) {
    bj::object o{{"__type", "ResourceNotFoundException"},
                 {"message", "User pool " + std::string(pool_id) + " does not exist."}};
    return http::Response::json(404, json::serialize(o));
  }
  return http::Response::json(200, json::serialize(*doc));
}

void LocalCognito::attach(http::Server& server, std::string issuer_base) {
  impl_->api.set_server(&server);
  if (!issuer_base.empty()) impl_->api.set_issuer_base(std::move(issuer_base));
  server.route("POST", "/", [this](const http::Request& req, http::Responder& res) -> awaitable<void> {
    std::string target(req.header("X-Amz-Target").value_or(""));
    http::Response r = handle(target, req.body());
    co_await res.send(std::move(r));
  });
  // Every pool's JWKS and OIDC discovery, also of pools created while serving.
  server.route_prefix("GET", "/", [this](const http::Request& req, http::Responder& res) -> awaitable<void> {
    std::optional<http::Response> found = handle_well_known(req.path());
    http::Response r = found ? std::move(*found) : http::Response::text(404, "not found");
    co_await res.send(std::move(r));
  });
}

}  // namespace idp::auth

#include "idp/aws/secrets_manager.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cmath>

#include "idp/core/json_util.h"

namespace idp::aws {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;
using Clock = std::chrono::system_clock;

namespace {

std::optional<Clock::time_point> epoch_seconds(const bj::object& o, std::string_view key) {
  auto v = ::idp::json::find_number(o, key);
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*v)));
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    if (v == n) return true;
  }
  return false;
}

bool is_credentials_error(std::string_view type) {
  return one_of(type, {"UnrecognizedClientException", "InvalidClientTokenId",
                       "InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignature",
                       "IncompleteSignatureException", "ExpiredTokenException", "ExpiredToken",
                       "RequestExpired", "MissingAuthenticationToken",
                       "MissingAuthenticationTokenException", "AccessDeniedException"});
}

}  // namespace

struct SecretsManagerClient::Impl {
  std::string region;
  std::string endpoint;
  std::optional<Error> config_error;
  std::shared_ptr<CredentialsProvider> credentials;
  std::unique_ptr<JsonClient> json;

  // What the operator should do about an error of `operation` on `secret_id`.
  Error advise(const Error& e, std::string_view operation, const std::string& secret_id,
               const std::string& who) const {
    const std::string in_region = " in region " + region;
    auto se = service_error(e);
    if (!se) {
      if (e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kTimeout) {
        return Error(
            e.code(),
            "cannot reach Secrets Manager at " + endpoint + " to " + std::string(operation) +
                " secret " + secret_id + ": " + e.message() +
                "; check the network and proxy (HTTPS_PROXY), or AWS_ENDPOINT_URL_SECRETS_MANAGER",
            e.details());
      }
      return e.with_context("cannot " + std::string(operation) + " secret " + secret_id +
                            in_region);
    }
    const std::string& type = se->type;
    const std::string& details = e.details();
    std::string identity = who.empty() ? std::string("the AWS credentials") : who;
    if (type == "ResourceNotFoundException") {
      return Error(ErrorCode::kNotFound,
                   "no secret named " + secret_id + in_region +
                       "; check the stack name (AWS_STACK_NAME) or the --secret option",
                   details);
    }
    if (type == "AccessDeniedException" || type == "AccessDenied") {
      return Error(
          ErrorCode::kPermissionDenied,
          identity + " may not " + std::string(operation) + " secret " + secret_id + in_region +
              ": allow secretsmanager:GetSecretValue and secretsmanager:DescribeSecret on it "
              "(and kms:Decrypt when it uses a customer managed KMS key)",
          details);
    }
    if (type == "UnrecognizedClientException" || type == "InvalidClientTokenId") {
      return Error(
          ErrorCode::kUnauthenticated,
          "AWS does not recognize " + identity + in_region +
              ": check the access key id (aws sts get-caller-identity), AWS_PROFILE, or the "
              "session token of temporary credentials",
          details);
    }
    if (type == "InvalidSignatureException" || type == "SignatureDoesNotMatch" ||
        type == "IncompleteSignature" || type == "IncompleteSignatureException" ||
        type == "RequestExpired") {
      if (type == "RequestExpired" || se->message.find("expired") != std::string::npos) {
        return Error(
            ErrorCode::kUnauthenticated,
            "AWS rejected the request time: this machine's clock is more than 15 minutes off; "
            "synchronize it (NTP) and try again",
            details);
      }
      return Error(ErrorCode::kUnauthenticated,
                   "AWS rejected the request signature of " + identity +
                       ": the secret access key does not belong to the access key id; check "
                       "AWS_SECRET_ACCESS_KEY or the profile's aws_secret_access_key",
                   details);
    }
    if (type == "ExpiredTokenException" || type == "ExpiredToken") {
      return Error(ErrorCode::kUnauthenticated,
                   "the session token of " + identity +
                       " has expired: renew the temporary credentials (aws sso login, a new STS "
                       "session, or the role's credentials)",
                   details);
    }
    if (type == "DecryptionFailure") {
      return Error(ErrorCode::kPermissionDenied,
                   "Secrets Manager cannot decrypt secret " + secret_id + in_region +
                       " with its KMS key: allow kms:Decrypt on the key for " + identity +
                       " and check that the key is enabled",
                   details);
    }
    if (type == "InvalidRequestException") {
      return Error(ErrorCode::kInvalidArgument,
                   "secret " + secret_id + in_region + " cannot be read now (" + se->message +
                       "); if it is scheduled for deletion, restore it with `aws secretsmanager "
                       "restore-secret --secret-id " +
                       secret_id + "`",
                   details);
    }
    if (type == "InvalidParameterException") {
      return Error(ErrorCode::kInvalidArgument,
                   "Secrets Manager rejected the request for secret " + secret_id + ": " +
                       se->message + "; check the secret name or ARN",
                   details);
    }
    if (is_throttling_error(type)) {
      return Error(ErrorCode::kUnavailable,
                   "Secrets Manager" + in_region + " kept throttling the requests for secret " +
                       secret_id + " after retries; try again later or read the secret less often",
                   details);
    }
    if (e.code() == ErrorCode::kUnavailable) {
      return Error(ErrorCode::kUnavailable,
                   "Secrets Manager" + in_region + " failed internally (" + type +
                       ") while reading secret " + secret_id +
                       ", even after retries; try again later",
                   details);
    }
    return Error(e.code(),
                 "cannot " + std::string(operation) + " secret " + secret_id + in_region + ": " +
                     e.message(),
                 details);
  }

  awaitable<Result<bj::object>> call(std::string operation, std::string verb,
                                     std::string secret_id) {
    if (config_error) co_return std::unexpected(*config_error);
    if (secret_id.empty()) {
      co_return make_error(ErrorCode::kInvalidArgument,
                           "no secret name: pass a secret name or ARN");
    }
    bj::object body;
    body["SecretId"] = secret_id;
    std::string service = "secretsmanager";
    std::string target = "secretsmanager." + operation;
    auto r = co_await json->call(std::move(service), std::move(target), std::move(body));
    if (r) co_return std::move(*r);
    std::string who;
    auto se = service_error(r.error());
    if (se && is_credentials_error(se->type)) {
      auto c = co_await credentials->get();
      if (c) who = "access key " + c->access_key_id + " (from " + c->source + ")";
    }
    co_return std::unexpected(advise(r.error(), verb, secret_id, who));
  }
};

SecretsManagerClient::SecretsManagerClient(net::any_io_executor executor,
                                           SecretsManagerOptions options)
    : impl_(std::make_shared<Impl>()) {
  Impl& impl = *impl_;
  if (!options.region.empty()) {
    impl.region = options.region;
  } else if (auto r = resolve_region(options.environment)) {
    impl.region = *r;
  } else {
    impl.config_error = r.error().with_context("Secrets Manager");
  }
  if (!options.endpoint.empty()) {
    impl.endpoint = options.endpoint;
  } else if (!impl.region.empty()) {
    impl.endpoint =
        resolve_endpoint(options.environment, "Secrets Manager", "secretsmanager", impl.region);
  }
  impl.credentials = options.credentials
                         ? options.credentials
                         : std::make_shared<DefaultCredentialsChain>(executor, options.environment);
  JsonClientOptions jo;
  jo.region = impl.region;
  jo.endpoint = impl.endpoint;
  jo.credentials = impl.credentials;
  jo.http = std::move(options.http);
  jo.retry = std::move(options.retry);
  jo.timeout = options.timeout;
  jo.clock = std::move(options.clock);
  impl.json = std::make_unique<JsonClient>(executor, std::move(jo));
}

SecretsManagerClient::~SecretsManagerClient() = default;

const std::string& SecretsManagerClient::region() const { return impl_->region; }
const std::string& SecretsManagerClient::endpoint() const { return impl_->endpoint; }

awaitable<Result<SecretValue>> SecretsManagerClient::get_secret_value(std::string secret_id) {
  auto self = impl_;
  std::string operation = "GetSecretValue";
  std::string verb = "read";
  std::string id = secret_id;
  auto r = co_await self->call(std::move(operation), std::move(verb), std::move(id));
  if (!r) co_return std::unexpected(r.error());
  const bj::object& o = *r;
  SecretValue v;
  if (auto* s = ::idp::json::find_string(o, "Name")) v.name = std::string(*s);
  if (auto* s = ::idp::json::find_string(o, "ARN")) v.arn = std::string(*s);
  if (auto* s = ::idp::json::find_string(o, "VersionId")) v.version_id = std::string(*s);
  if (auto* a = ::idp::json::find_array(o, "VersionStages")) {
    for (const auto& stage : *a) {
      if (stage.is_string()) v.version_stages.emplace_back(stage.get_string());
    }
  }
  v.created_date = epoch_seconds(o, "CreatedDate");
  if (auto* s = ::idp::json::find_string(o, "SecretString")) {
    v.value = Secret(std::string(*s));
    co_return v;
  }
  if (o.contains("SecretBinary")) {
    co_return make_error(
        ErrorCode::kInvalidArgument,
        "secret " + secret_id + " holds binary data; store the JSON array as SecretString");
  }
  co_return make_error(ErrorCode::kProtocol, "Secrets Manager answered GetSecretValue for secret " +
                                                 secret_id +
                                                 " without SecretString or SecretBinary");
}

awaitable<Result<SecretDescription>> SecretsManagerClient::describe_secret(std::string secret_id) {
  auto self = impl_;
  std::string operation = "DescribeSecret";
  std::string verb = "describe";
  std::string id = secret_id;
  auto r = co_await self->call(std::move(operation), std::move(verb), std::move(id));
  if (!r) co_return std::unexpected(r.error());
  const bj::object& o = *r;
  SecretDescription d;
  if (auto* s = ::idp::json::find_string(o, "Name")) d.name = std::string(*s);
  if (auto* s = ::idp::json::find_string(o, "ARN")) d.arn = std::string(*s);
  d.last_changed_date = epoch_seconds(o, "LastChangedDate");
  d.deleted_date = epoch_seconds(o, "DeletedDate");
  if (auto* stages = ::idp::json::find_object(o, "VersionIdsToStages")) {
    for (const auto& [version, labels] : *stages) {
      if (!labels.is_array()) continue;
      for (const auto& label : labels.get_array()) {
        if (label.is_string() && label.get_string() == "AWSCURRENT")
          d.current_version_id = std::string(version);
      }
    }
  }
  co_return d;
}

}  // namespace idp::aws

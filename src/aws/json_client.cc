#include "idp/aws/json_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <mutex>
#include <random>

#include "idp/aws/sigv4.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"

namespace idp::aws {

namespace net = boost::asio;
namespace bj = boost::json;
using net::awaitable;
using std::chrono::milliseconds;

namespace {

bool one_of(std::string_view v, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), v) != names.end();
}

// Retried whatever the status: the service said "try again".
bool is_transient_error(std::string_view type) {
  return one_of(
      type, {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
             "InternalError", "InternalFailure", "InternalServiceError", "InternalServerException",
             "ServiceUnavailable", "ServiceUnavailableException"});
}

bool is_expired_token(std::string_view type) {
  return one_of(type, {"ExpiredTokenException", "ExpiredToken"});
}

ErrorCode code_for(std::string_view type, int status) {
  if (is_throttling_error(type) || is_transient_error(type) || status >= 500)
    return ErrorCode::kUnavailable;
  if (type == "ResourceNotFoundException" || status == 404) return ErrorCode::kNotFound;
  if (one_of(type, {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})) {
    return ErrorCode::kPermissionDenied;
  }
  if (one_of(
          type,
          {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
           "SignatureDoesNotMatch", "IncompleteSignature", "IncompleteSignatureException",
           "ExpiredTokenException", "ExpiredToken", "RequestExpired", "MissingAuthenticationToken",
           "MissingAuthenticationTokenException", "NotAuthorizedException", "AuthFailure"})) {
    return ErrorCode::kUnauthenticated;
  }
  if (status == 403) return ErrorCode::kPermissionDenied;
  if (status == 401) return ErrorCode::kUnauthenticated;
  return ErrorCode::kInvalidArgument;
}

// A short printable excerpt of a non-JSON error body (a proxy's HTML page, ...).
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  if (body.size() > 200) out += "...";
  return out;
}

}  // namespace

milliseconds full_jitter(int, milliseconds ceiling) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<long long> dist(0, std::max<long long>(0, ceiling.count()));
  return milliseconds(dist(rng));
}

std::string sanitize_error_type(std::string_view raw) {
  std::string_view t = raw;
  if (auto colon = t.find(':'); colon != std::string_view::npos) t = t.substr(0, colon);
  if (auto hash = t.rfind('#'); hash != std::string_view::npos) t = t.substr(hash + 1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return std::string(t);
}

bool is_throttling_error(std::string_view type) {
  return one_of(
      type, {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
             "TooManyRequestsException", "ProvisionedThroughputExceededException",
             "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
             "LimitExceededException", "RequestThrottled", "SlowDown", "EC2ThrottledException"});
}

std::optional<ServiceError> service_error(const Error& error) {
  std::string_view d = error.details();
  std::size_t sep = d.find(": ");
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  std::string_view type = d.substr(0, sep);
  for (char c : type) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.')) {
      return std::nullopt;
    }
  }
  return ServiceError{std::string(type), std::string(d.substr(sep + 2))};
}

struct JsonClient::Impl {
  Impl(net::any_io_executor ex, JsonClientOptions o)
      : options(std::move(o)), http(ex, options.http) {
    auto u = boost::urls::parse_uri(options.endpoint);
    if (!u || (u->scheme() != "https" && u->scheme() != "http") || u->encoded_host().empty()) {
      endpoint_error = "the AWS endpoint '" + options.endpoint + "' is not an http(s) URL";
      return;
    }
    host = std::string(u->encoded_host_and_port());
    path = u->encoded_path().empty() ? std::string("/") : std::string(u->encoded_path());
    query = std::string(u->encoded_query());
    url = std::string(u->scheme()) + "://" + host + path + (query.empty() ? "" : "?" + query);
  }

  JsonClientOptions options;
  http::Client http;
  Signer signer;
  std::string endpoint_error;
  std::string host, path, query, url;

  mutable std::mutex mu;
  Stats stats;

  std::chrono::system_clock::time_point now() const {
    return options.clock ? options.clock() : std::chrono::system_clock::now();
  }

  milliseconds pause_before(int retry) const {
    const RetryOptions& r = options.retry;
    long long ceiling = r.base.count();
    for (int i = 1; i < retry && ceiling < r.cap.count(); ++i) ceiling *= 2;
    milliseconds c(std::min<long long>(ceiling, r.cap.count()));
    return r.delay ? r.delay(retry, c) : full_jitter(retry, c);
  }
};

JsonClient::JsonClient(net::any_io_executor executor, JsonClientOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {}
JsonClient::~JsonClient() = default;

const JsonClientOptions& JsonClient::options() const { return impl_->options; }

JsonClient::Stats JsonClient::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

awaitable<Result<bj::object>> JsonClient::call(std::string signing_name, std::string target,
                                               bj::object body) {
  auto self = impl_;
  const JsonClientOptions& opt = self->options;
  if (!self->endpoint_error.empty())
    co_return make_error(ErrorCode::kInvalidArgument, self->endpoint_error);
  if (!opt.credentials) {
    co_return make_error(ErrorCode::kInvalidArgument,
                         target + ": no AWS credentials provider configured");
  }
  if (opt.region.empty())
    co_return make_error(ErrorCode::kInvalidArgument, target + ": no AWS region configured");
  std::string payload = bj::serialize(body);
  const std::string where = target + " at " + self->host;
  const int max_attempts = std::max(1, opt.retry.max_attempts);
  bool refetched_credentials = false;

  for (int attempt = 1;; ++attempt) {
    auto creds = co_await opt.credentials->get();
    if (!creds) co_return std::unexpected(creds.error().with_context(where));

    SigningRequest sreq;
    sreq.method = "POST";
    sreq.path = self->path;
    sreq.query = self->query;
    sreq.headers = {{"Host", self->host},
                    {"Content-Type", "application/x-amz-json-1.1"},
                    {"X-Amz-Target", target}};
    sreq.body = payload;
    auto signed_request = self->signer.sign(sreq, *creds, opt.region, signing_name, self->now());
    if (!signed_request) co_return std::unexpected(signed_request.error().with_context(where));

    http::ClientRequest req;
    req.method = "POST";
    req.url = self->url;
    for (auto& [name, value] : sreq.headers) req.headers.add(name, value);
    for (auto& [name, value] : signed_request->headers) req.headers.add(name, std::move(value));
    req.headers.add("Accept", "application/json");
    req.body = payload;
    req.timeout = opt.timeout;
    auto r = co_await self->http.request(std::move(req));
    {
      std::lock_guard lock(self->mu);
      ++self->stats.attempts;
    }

    std::optional<Error> error;
    bool retryable = false;
    std::string reason;  // for the retry log line
    if (!r) {
      ErrorCode code = r.error().code();
      retryable = code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout;
      std::string message = r.error().message();
      if (!r.error().details().empty()) message += " (" + r.error().details() + ")";
      error = Error(code, where + ": " + message);
      reason = message;
    } else if (r->status >= 200 && r->status < 300) {
      if (r->body.empty()) co_return bj::object{};
      auto parsed = ::idp::json::parse(r->body);
      if (!parsed || !parsed->is_object()) {
        co_return make_error(ErrorCode::kProtocol, where + ": the answer is not a JSON object");
      }
      co_return std::move(parsed->get_object());
    } else {
      ServiceError se;
      auto parsed = ::idp::json::parse(r->body);
      const bj::object* o = parsed && parsed->is_object() ? &parsed->get_object() : nullptr;
      if (o) {
        if (auto* t = ::idp::json::find_string(*o, "__type")) se.type = std::string(*t);
        if (auto* t = ::idp::json::find_string(*o, "code"); t && se.type.empty())
          se.type = std::string(*t);
        if (auto* m = ::idp::json::find_string(*o, "message")) se.message = std::string(*m);
        if (auto* m = ::idp::json::find_string(*o, "Message"); m && se.message.empty())
          se.message = std::string(*m);
      }
      if (auto h = r->headers.get("X-Amzn-ErrorType"); se.type.empty() && h)
        se.type = std::string(*h);
      se.type = sanitize_error_type(se.type);
      std::string message = where + " failed: HTTP " + std::to_string(r->status);
      if (!se.type.empty()) message += " " + se.type;
      if (auto id = r->headers.get("x-amzn-RequestId"))
        message += " (request id " + std::string(*id) + ")";
      std::string details;
      if (!se.type.empty()) {
        details = se.type + ": " + se.message;
      } else if (!o && !r->body.empty()) {
        message += ": " + excerpt(r->body);
      }
      error = Error(code_for(se.type, r->status), std::move(message), std::move(details));
      retryable = is_throttling_error(se.type) || is_transient_error(se.type) || r->status >= 500 ||
                  r->status == 429;
      reason = se.type.empty() ? "HTTP " + std::to_string(r->status) : se.type;
      if (is_expired_token(se.type) && !refetched_credentials) {
        // Temporary credentials ran out under us: fetch new ones once, right away.
        refetched_credentials = true;
        opt.credentials->invalidate();
        if (attempt < max_attempts) {
          log::debug("{}: {}; fetching new credentials", where, se.type);
          std::lock_guard lock(self->mu);
          ++self->stats.retries;
          continue;
        }
      }
    }
    if (!retryable || attempt >= max_attempts) {
      if (retryable && attempt > 1) {
        co_return make_error(
            error->code(),
            error->message() + " (gave up after " + std::to_string(attempt) + " attempts)",
            error->details());
      }
      co_return std::unexpected(std::move(*error));
    }
    milliseconds pause = self->pause_before(attempt);
    log::debug("{}: {}; retry {} in {} ms", where, reason, attempt, pause.count());
    {
      std::lock_guard lock(self->mu);
      ++self->stats.retries;
    }
    auto executor = co_await net::this_coro::executor;
    net::steady_timer timer(executor, pause);
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
  }
}

}  // namespace idp::aws

// A caller of AWS JSON 1.1 services (Secrets Manager, Cognito's signed operations, ...):
// POST / with Content-Type application/x-amz-json-1.1 and X-Amz-Target, signed with SigV4 using
// credentials from a CredentialsProvider, one timestamp per attempt. Error answers are decoded the
// way the SDKs do (type from `__type`, `code` or X-Amzn-ErrorType, cut at ':' and after '#';
// message from `message` or `Message`). Throttling, 5xx and connection failures are retried with
// full-jitter exponential backoff; an expired or unknown token makes the provider refetch once.
// Thread-safety: JsonClient may be shared by coroutines on any executor; it must outlive the calls
// it runs.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "idp/aws/credentials.h"
#include "idp/core/error.h"
#include "idp/http/client.h"

namespace idp::aws {

struct RetryOptions {
  int max_attempts = 3;  // including the first one
  std::chrono::milliseconds base{100};
  std::chrono::milliseconds cap{2000};
  // The pause before retry `retry` (1, 2, ...) given its ceiling min(cap, base * 2^(retry-1)).
  // Default: uniformly random in [0, ceiling] ("full jitter"). Tests pass a fixed one.
  std::function<std::chrono::milliseconds(int retry, std::chrono::milliseconds ceiling)> delay;
};

// The default RetryOptions::delay: uniformly random in [0, ceiling].
std::chrono::milliseconds full_jitter(int retry, std::chrono::milliseconds ceiling);

struct JsonClientOptions {
  std::string region;    // signing region, required
  std::string endpoint;  // "https://secretsmanager.us-east-1.amazonaws.com" (see resolve_endpoint)
  std::shared_ptr<CredentialsProvider> credentials;  // required
  http::ClientOptions http;
  RetryOptions retry;
  std::chrono::milliseconds timeout{30'000};  // per attempt
  // The signing time; default system_clock::now (tests skew it).
  std::function<std::chrono::system_clock::time_point()> clock;
};

// An error answer of an AWS service, decoded.
struct ServiceError {
  std::string type;     // "ResourceNotFoundException"
  std::string message;  // AWS's own words
};

// "aws.protocoltests#FooError:http://internal.amazon.com/..." -> "FooError".
std::string sanitize_error_type(std::string_view raw);
// ThrottlingException, TooManyRequestsException, RequestLimitExceeded, ...
bool is_throttling_error(std::string_view type);
// The AWS error type and message of an Error that JsonClient::call returned because the service
// answered with an error (its details() are "<Type>: <message>"); nullopt for other errors.
std::optional<ServiceError> service_error(const Error& error);

class JsonClient {
 public:
  JsonClient(boost::asio::any_io_executor executor, JsonClientOptions options);
  ~JsonClient();
  JsonClient(const JsonClient&) = delete;
  JsonClient& operator=(const JsonClient&) = delete;

  // Calls `target` ("secretsmanager.GetSecretValue") with `body`, signing for `signing_name`
  // ("secretsmanager"). The answer's JSON object, or an Error: for service errors the code follows
  // the type (kNotFound, kPermissionDenied, kUnauthenticated, kUnavailable for throttling and 5xx,
  // kInvalidArgument for other 4xx) and details() is "<Type>: <message>" (see service_error());
  // transport errors keep the HTTP client's code.
  boost::asio::awaitable<Result<boost::json::object>> call(std::string signing_name,
                                                           std::string target,
                                                           boost::json::object body);

  const JsonClientOptions& options() const;

  struct Stats {
    int attempts = 0;  // HTTP requests sent
    int retries = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::aws

// How a model provider's call fails and is retried, written once for Bedrock and the
// OpenAI-compatible model: an ApiFailure (what the service or the transport said) becomes an
// idp::Error whose message tells the user what to do ("enable access to model X in region R in
// the Bedrock console", "set OPENAI_API_KEY", "start vLLM with --enable-auto-tool-choice") and a
// verdict on whether trying again can help (throttling, 5xx, lost connections); run_attempts()
// repeats an attempt with full-jitter exponential backoff and gives up early on cancellation.
// Pure functions and a coroutine; thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/cancel.h"
#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "idp/llm/model.h"

namespace idp::llm {

enum class Provider { kBedrock, kOpenAi };

struct ApiFailure {
  Provider provider = Provider::kBedrock;
  std::string model;     // the model id as configured
  std::string location;  // bedrock: the region; openai: the base URL
  int status = 0;        // HTTP status; 0 for an exception inside a stream or a transport failure
  std::string type;      // AWS error type ("ThrottlingException"); OpenAI error code or type
  std::string message;   // the service's own words (secrets already removed)
  std::string request_id;
  bool api_key_sent = false;       // an API key went out (OPENAI_API_KEY, AWS_BEARER_TOKEN_BEDROCK)
  std::optional<Error> transport;  // set when no answer came (connect, TLS, timeout, reset)
};

struct Advice {
  Error error;
  bool retryable = false;
};

// The user-facing error and whether a retry may help.
Advice advise(const ApiFailure& failure);

// `text` with every occurrence of each non-empty secret replaced by "***" (service messages
// sometimes echo a key back).
std::string redact(std::string text, std::initializer_list<const Secret*> secrets);

struct RetryPolicy {
  int max_attempts = 4;  // including the first
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{8'000};
  // The pause before retry `retry` (1, 2, ...) given its ceiling; default: uniform in
  // [0, ceiling] ("full jitter"). Tests pass a recorder.
  std::function<std::chrono::milliseconds(int retry, std::chrono::milliseconds ceiling)> delay;

  static RetryPolicy from(const ModelOptions& options);
};

// min(max, initial * 2^(retry-1)).
std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, int retry);

struct Attempt {
  Result<ModelResponse> result = make_error(ErrorCode::kInternal, "no attempt ran");
  bool retryable = false;  // only meaningful on error
};

// An attempt that failed with `failure`: retryable when the advice says so and no words reached
// the handlers yet (a retry would show them twice).
Attempt failed_attempt(const ApiFailure& failure, bool delivered);
// An attempt that ended without a service error: its result, an error given the context
// `where`; never retried.
Attempt final_attempt(Result<ModelResponse> result, std::string_view where);

// Runs attempt(1), attempt(2), ... until one succeeds, fails for good, or max_attempts ran,
// sleeping the backoff between them. A cancelled signal ends the attempt in flight or the
// sleep at once with kCancelled. The last error of a call that was retried says how many
// attempts were made.
boost::asio::awaitable<Result<ModelResponse>> run_attempts(
    const RetryPolicy& policy, std::shared_ptr<CancelSignal> cancel,
    std::function<boost::asio::awaitable<Attempt>(int attempt)> attempt);

}  // namespace idp::llm

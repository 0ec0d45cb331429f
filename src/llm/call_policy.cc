#include "idp/llm/call_policy.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <random>

#include "idp/aws/json_client.h"
#include "idp/core/cancel_wait.h"
#include "idp/core/log.h"

namespace idp::llm {

namespace net = boost::asio;
using namespace net::experimental::awaitable_operators;
using std::chrono::milliseconds;

namespace {

bool one_of(std::string_view v, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), v) != names.end();
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

bool contains_nocase(std::string_view text, std::string_view part) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
  return std::search(text.begin(), text.end(), part.begin(), part.end(),
                     [&](char a, char b) { return lower(a) == lower(b); }) != text.end();
}

// "(ThrottlingException: Too many requests, request id 1f2e)" or "" when there is nothing.
std::string said(const ApiFailure& f) {
  std::string s = f.type;
  if (!f.message.empty()) s += (s.empty() ? "" : ": ") + f.message;
  if (!f.request_id.empty())
    s += (s.empty() ? "" : ", ") + std::string("request id ") + f.request_id;
  if (f.status != 0) {
    std::string sep = f.type.empty() ? ": " : " ";
    s = "HTTP " + std::to_string(f.status) + (s.empty() ? "" : sep + s);
  }
  return s.empty() ? s : " (" + s + ")";
}

Advice bedrock_advice(const ApiFailure& f) {
  const std::string model = "'" + f.model + "'";
  const std::string head = "bedrock model " + model + " in " + f.location + ": ";
  const std::string& t = f.type;
  auto make = [&](ErrorCode code, std::string text, bool retry = false) {
    return Advice{Error(code, head + text), retry};
  };
  if (t == "AccessDeniedException" || t == "AccessDenied") {
    return make(ErrorCode::kPermissionDenied,
                "access denied" + said(f) + "; enable access to model " + f.model + " in region " +
                    f.location +
                    " in the Bedrock console (Model access), and allow bedrock:InvokeModel and "
                    "bedrock:InvokeModelWithResponseStream on it in your IAM policy");
  }
  if (one_of(t, {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
                 "SignatureDoesNotMatch", "IncompleteSignature", "IncompleteSignatureException",
                 "MissingAuthenticationToken", "MissingAuthenticationTokenException",
                 "ExpiredToken", "ExpiredTokenException", "RequestExpired"})) {
    std::string fix =
        one_of(t, {"ExpiredToken", "ExpiredTokenException"})
            ? "the temporary credentials expired: refresh them (aws sso login, a new session token)"
        : one_of(t, {"InvalidSignatureException", "SignatureDoesNotMatch"})
            ? "the signature did not match: check AWS_SECRET_ACCESS_KEY (or the profile's "
              "aws_secret_access_key) and that this machine's clock is right"
        : t == "RequestExpired"
            ? "the request time is off: check this machine's clock"
            : "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or AWS_PROFILE";
    if (f.api_key_sent) {
      return make(ErrorCode::kUnauthenticated,
                  "the Bedrock API key was refused" + said(f) +
                      "; check or renew AWS_BEARER_TOKEN_BEDROCK, or unset it to sign with AWS "
                      "credentials");
    }
    return make(ErrorCode::kUnauthenticated,
                "the AWS credentials were refused" + said(f) + "; " + fix);
  }
  if (t == "ResourceNotFoundException" ||
      (t == "ValidationException" && (contains_nocase(f.message, "model identifier is invalid") ||
                                      contains_nocase(f.message, "invalid model identifier")))) {
    return make(ErrorCode::kNotFound,
                "unknown model id " + model + said(f) +
                    "; list the models with `aws bedrock list-foundation-models --region " +
                    f.location + "` and the inference profiles with `aws bedrock " +
                    "list-inference-profiles --region " + f.location + "`");
  }
  if (t == "ValidationException" && contains_nocase(f.message, "on-demand throughput")) {
    return make(ErrorCode::kInvalidArgument,
                "this model cannot be called by its plain id here" + said(f) +
                    "; use an inference profile id instead (e.g. us." + f.model +
                    ", or see `aws bedrock list-inference-profiles --region " + f.location + "`)");
  }
  if (t == "ValidationException") {
    return make(ErrorCode::kInvalidArgument,
                "Bedrock refused the request: " + (f.message.empty() ? t : f.message));
  }
  if (aws::is_throttling_error(t)) {
    return make(ErrorCode::kUnavailable,
                "throttled" + said(f) +
                    "; wait and retry, use a cross-region inference profile, or ask for a higher "
                    "quota in Service Quotas",
                true);
  }
  if (t == "ServiceQuotaExceededException") {
    return make(ErrorCode::kResourceExhausted,
                "a quota was exceeded" + said(f) + "; ask for a higher quota in Service Quotas");
  }
  if (t == "ModelTimeoutException") {
    return make(ErrorCode::kTimeout,
                "the model took too long" + said(f) + "; retry, or send a shorter conversation");
  }
  if (t == "ModelErrorException") {
    return make(ErrorCode::kUnavailable, "the model failed to answer" + said(f));
  }
  if (one_of(t, {"ModelNotReadyException", "ModelStreamErrorException", "InternalServerException",
                 "ServiceUnavailableException"}) ||
      f.status >= 500 || f.status == 429) {
    return make(
        ErrorCode::kUnavailable,
        (f.status == 0 ? "the answer stream broke off" : "the service is not available right now") +
            said(f) + "; try again",
        true);
  }
  if (f.status == 403) {
    return make(ErrorCode::kPermissionDenied, "access denied" + said(f));
  }
  return make(f.status == 0 ? ErrorCode::kProtocol : ErrorCode::kInvalidArgument,
              "the call failed" + said(f));
}

Advice openai_advice(const ApiFailure& f) {
  const std::string head = "openai model '" + f.model + "' at " + f.location + ": ";
  auto make = [&](ErrorCode code, std::string text, bool retry = false) {
    return Advice{Error(code, head + text), retry};
  };
  const std::string& m = f.message;
  if (f.status == 401) {
    return make(ErrorCode::kUnauthenticated,
                f.api_key_sent ? "the API key in OPENAI_API_KEY was refused" + said(f) +
                                     "; check the key (and that OPENAI_BASE_URL is the server it "
                                     "belongs to)"
                               : "the server wants an API key" + said(f) + "; set OPENAI_API_KEY");
  }
  if (f.status == 403) {
    return make(ErrorCode::kPermissionDenied,
                "access denied" + said(f) +
                    "; check that the key's project or organization may use this model");
  }
  if (f.status == 404) {
    if (f.type == "model_not_found" || contains_nocase(m, "model")) {
      return make(ErrorCode::kNotFound,
                  "unknown model '" + f.model + "'" + said(f) + "; check the name (GET " +
                      f.location + "/models lists them; for Ollama: ollama pull " + f.model + ")");
    }
    return make(ErrorCode::kNotFound,
                "there is no chat completions endpoint" + said(f) +
                    "; check OPENAI_BASE_URL (most servers want it to end in /v1)");
  }
  if (f.status == 429) {
    if (f.type == "insufficient_quota") {
      return make(ErrorCode::kResourceExhausted,
                  "the account has no quota left" + said(f) + "; check the plan and billing");
    }
    return make(ErrorCode::kUnavailable, "rate limited" + said(f) + "; wait and retry", true);
  }
  if (f.status == 408 || f.status >= 500) {
    return make(f.status == 408 ? ErrorCode::kTimeout : ErrorCode::kUnavailable,
                "the server failed" + said(f), true);
  }
  if (f.status == 400 || f.status == 422) {
    std::string hint;
    if (contains(m, "enable-auto-tool-choice") || contains(m, "tool-call-parser")) {
      hint =
          "; start vLLM with --enable-auto-tool-choice --tool-call-parser <parser for the model>";
    } else if (contains(m, "--jinja") || contains_nocase(m, "tools param requires")) {
      hint = "; start llama-server with --jinja so that it accepts tools";
    } else if (contains_nocase(m, "does not support tools")) {
      hint = "; this model cannot call tools: pick one that can (e.g. llama3.1, qwen2.5)";
    } else if (f.type == "context_length_exceeded" || contains_nocase(m, "context length")) {
      hint = "; the conversation is longer than the model's context: start a new one";
    }
    return make(ErrorCode::kInvalidArgument,
                "the server refused the request: " + (m.empty() ? said(f) : m) + hint);
  }
  if (f.status == 0) {
    return make(ErrorCode::kProtocol, "the answer was broken" + said(f));
  }
  return make(ErrorCode::kInvalidArgument, "the call failed" + said(f));
}

}  // namespace

Advice advise(const ApiFailure& f) {
  if (f.transport) {
    const Error& e = *f.transport;
    std::string where = f.provider == Provider::kBedrock
                            ? "bedrock model '" + f.model + "' in " + f.location
                            : "openai model '" + f.model + "' at " + f.location;
    std::string hint =
        f.provider == Provider::kBedrock
            ? "; check the network (and AWS_ENDPOINT_URL_BEDROCK_RUNTIME when set)"
            : "; is the server running and OPENAI_BASE_URL right (ollama serve, vllm serve, "
              "llama-server)?";
    bool retry = e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kTimeout;
    if (e.code() == ErrorCode::kCancelled) return Advice{e, false};
    return Advice{Error(e.code(), where + ": " + e.to_string() + (retry ? hint : "")), retry};
  }
  return f.provider == Provider::kBedrock ? bedrock_advice(f) : openai_advice(f);
}

std::string redact(std::string text, std::initializer_list<const Secret*> secrets) {
  for (const Secret* s : secrets) {
    if (!s || s->empty()) continue;
    const std::string& v = s->reveal();
    for (std::size_t at = text.find(v); at != std::string::npos; at = text.find(v, at + 3)) {
      text.replace(at, v.size(), "***");
    }
  }
  return text;
}

Attempt failed_attempt(const ApiFailure& failure, bool delivered) {
  Advice a = advise(failure);
  return Attempt{std::unexpected(std::move(a.error)), a.retryable && !delivered};
}

Attempt final_attempt(Result<ModelResponse> result, std::string_view where) {
  if (!result) return Attempt{std::unexpected(result.error().with_context(where)), false};
  return Attempt{std::move(result), false};
}

RetryPolicy RetryPolicy::from(const ModelOptions& options) {
  RetryPolicy p;
  p.max_attempts = std::max(1, options.max_attempts);
  p.initial = options.backoff_initial;
  p.max = options.backoff_max;
  return p;
}

milliseconds backoff_ceiling(const RetryPolicy& policy, int retry) {
  long long c = std::max<long long>(0, policy.initial.count());
  for (int i = 1; i < retry && c < policy.max.count(); ++i) c *= 2;
  return milliseconds(std::min<long long>(c, policy.max.count()));
}

net::awaitable<Result<ModelResponse>> run_attempts(
    const RetryPolicy& policy, std::shared_ptr<CancelSignal> cancel,
    std::function<net::awaitable<Attempt>(int attempt)> attempt) {
  auto cancelled = [] { return make_error(ErrorCode::kCancelled, "the model call was cancelled"); };
  auto executor = co_await net::this_coro::executor;
  const int max_attempts = std::max(1, policy.max_attempts);
  for (int n = 1;; ++n) {
    if (cancel && cancel->cancelled()) co_return cancelled();
    auto op = attempt(n);
    auto stop = wait_cancelled(cancel);
    auto raced = co_await (std::move(op) || std::move(stop));
    if (raced.index() == 1) co_return cancelled();
    Attempt a = std::move(std::get<0>(raced));
    if (a.result || !a.retryable || n >= max_attempts) {
      if (!a.result && a.retryable && n > 1) {
        const Error& e = a.result.error();
        co_return make_error(e.code(),
                             e.message() + " (gave up after " + std::to_string(n) + " attempts)",
                             e.details());
      }
      co_return std::move(a.result);
    }
    milliseconds ceiling = backoff_ceiling(policy, n);
    milliseconds pause;
    if (policy.delay) {
      pause = policy.delay(n, ceiling);
    } else {
      thread_local std::mt19937_64 rng{std::random_device{}()};
      pause = milliseconds(std::uniform_int_distribution<long long>(
          0, std::max<long long>(0, ceiling.count()))(rng));
    }
    log::debug("{}; retry {} of {} in {} ms", a.result.error().message(), n, max_attempts - 1,
               pause.count());
    net::steady_timer timer(executor, pause);
    auto sleep = timer.async_wait(net::as_tuple(net::use_awaitable));
    auto stop_sleep = wait_cancelled(cancel);
    auto slept = co_await (std::move(sleep) || std::move(stop_sleep));
    if (slept.index() == 1) co_return cancelled();
  }
}

}  // namespace idp::llm

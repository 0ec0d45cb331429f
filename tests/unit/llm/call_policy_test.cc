#include "idp/llm/call_policy.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace idp::llm {
namespace {

namespace net = boost::asio;
using std::chrono::milliseconds;

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

ApiFailure bedrock(int status, std::string type, std::string message) {
  ApiFailure f;
  f.provider = Provider::kBedrock;
  f.model = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";
  f.location = "eu-west-3";
  f.status = status;
  f.type = std::move(type);
  f.message = std::move(message);
  return f;
}

ApiFailure openai(int status, std::string type, std::string message, bool key = true) {
  ApiFailure f;
  f.provider = Provider::kOpenAi;
  f.model = "llama3.1";
  f.location = "http://127.0.0.1:11434/v1";
  f.status = status;
  f.type = std::move(type);
  f.message = std::move(message);
  f.api_key_sent = key;
  return f;
}

TEST(Advice, BedrockAccessDeniedSaysWhereToEnableTheModel) {
  Advice a = advise(bedrock(403, "AccessDeniedException",
                            "You don't have access to the model with the specified model ID."));
  EXPECT_EQ(a.error.code(), ErrorCode::kPermissionDenied);
  EXPECT_FALSE(a.retryable);
  EXPECT_TRUE(has(a.error.message(),
                  "enable access to model us.anthropic.claude-3-7-sonnet-20250219-v1:0 in region "
                  "eu-west-3 in the Bedrock console"))
      << a.error.message();
  EXPECT_TRUE(has(a.error.message(), "You don't have access"));
}

TEST(Advice, BedrockValidationShowsTheModelsOwnMessage) {
  Advice a = advise(bedrock(400, "ValidationException", "messages.0: blank text is not allowed"));
  EXPECT_EQ(a.error.code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(has(a.error.message(), "messages.0: blank text is not allowed"));
}

TEST(Advice, BedrockUnknownModelIsNamed) {
  for (auto f : {bedrock(400, "ValidationException", "The provided model identifier is invalid."),
                 bedrock(404, "ResourceNotFoundException", "Model not found")}) {
    Advice a = advise(f);
    EXPECT_EQ(a.error.code(), ErrorCode::kNotFound);
    EXPECT_TRUE(
        has(a.error.message(), "unknown model id 'us.anthropic.claude-3-7-sonnet-20250219-v1:0'"))
        << a.error.message();
    EXPECT_TRUE(has(a.error.message(), "list-foundation-models --region eu-west-3"));
  }
}

TEST(Advice, BedrockOnDemandThroughputPointsToInferenceProfiles) {
  ApiFailure f = bedrock(400, "ValidationException",
                         "Invocation of model ID anthropic.claude-3-7 with on-demand throughput "
                         "isn't supported.");
  f.model = "anthropic.claude-3-7";
  Advice a = advise(f);
  EXPECT_TRUE(has(a.error.message(), "inference profile id instead (e.g. us.anthropic.claude-3-7"))
      << a.error.message();
}

TEST(Advice, BedrockCredentialProblems) {
  Advice sig = advise(bedrock(403, "InvalidSignatureException", "signature does not match"));
  EXPECT_EQ(sig.error.code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(has(sig.error.message(), "check AWS_SECRET_ACCESS_KEY"));
  Advice unknown = advise(bedrock(403, "UnrecognizedClientException", "invalid token"));
  EXPECT_EQ(unknown.error.code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(has(unknown.error.message(), "AWS_ACCESS_KEY_ID"));
  ApiFailure key = bedrock(403, "UnrecognizedClientException", "invalid key");
  key.api_key_sent = true;
  EXPECT_TRUE(has(advise(key).error.message(), "check or renew AWS_BEARER_TOKEN_BEDROCK"));
  Advice expired = advise(bedrock(403, "ExpiredTokenException", "expired"));
  EXPECT_TRUE(has(expired.error.message(), "expired: refresh them"));
}

TEST(Advice, BedrockRetryableAndNot) {
  EXPECT_TRUE(advise(bedrock(429, "ThrottlingException", "slow down")).retryable);
  EXPECT_TRUE(
      has(advise(bedrock(429, "ThrottlingException", "")).error.message(), "Service Quotas"));
  EXPECT_TRUE(advise(bedrock(503, "ServiceUnavailableException", "")).retryable);
  EXPECT_TRUE(advise(bedrock(500, "InternalServerException", "")).retryable);
  EXPECT_TRUE(advise(bedrock(429, "ModelNotReadyException", "")).retryable);
  EXPECT_TRUE(advise(bedrock(0, "ModelStreamErrorException", "broke")).retryable);
  EXPECT_TRUE(has(advise(bedrock(0, "ModelStreamErrorException", "broke")).error.message(),
                  "the answer stream broke off"));
  EXPECT_TRUE(advise(bedrock(0, "ThrottlingException", "")).retryable);
  EXPECT_FALSE(advise(bedrock(424, "ModelErrorException", "")).retryable);
  EXPECT_EQ(advise(bedrock(408, "ModelTimeoutException", "")).error.code(), ErrorCode::kTimeout);
  EXPECT_EQ(advise(bedrock(400, "ServiceQuotaExceededException", "")).error.code(),
            ErrorCode::kResourceExhausted);
  EXPECT_FALSE(advise(bedrock(400, "ValidationException", "bad")).retryable);
}

TEST(Advice, OpenAiKeys) {
  Advice refused = advise(openai(401, "invalid_api_key", "Incorrect API key provided."));
  EXPECT_EQ(refused.error.code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(has(refused.error.message(), "the API key in OPENAI_API_KEY was refused"));
  Advice missing = advise(openai(401, "", "", false));
  EXPECT_TRUE(has(missing.error.message(), "set OPENAI_API_KEY")) << missing.error.message();
}

TEST(Advice, OpenAiLocalServerHints) {
  EXPECT_TRUE(has(advise(openai(400, "BadRequestError",
                                "\"auto\" tool choice requires --enable-auto-tool-choice and "
                                "--tool-call-parser to be set"))
                      .error.message(),
                  "start vLLM with --enable-auto-tool-choice"));
  EXPECT_TRUE(has(advise(openai(500, "", "tools param requires --jinja flag")).error.message(),
                  "the server failed"));
  EXPECT_TRUE(has(advise(openai(400, "", "tools param requires --jinja flag")).error.message(),
                  "start llama-server with --jinja"));
  EXPECT_TRUE(has(advise(openai(400, "", "registry.ollama.ai/library/gemma does not support tools"))
                      .error.message(),
                  "this model cannot call tools"));
  Advice nf = advise(openai(404, "", "model \"llama3.1\" not found, try pulling it first"));
  EXPECT_EQ(nf.error.code(), ErrorCode::kNotFound);
  EXPECT_TRUE(has(nf.error.message(), "ollama pull llama3.1"));
  EXPECT_TRUE(has(advise(openai(404, "", "")).error.message(), "check OPENAI_BASE_URL"));
}

TEST(Advice, OpenAiRetryable) {
  EXPECT_TRUE(advise(openai(429, "rate_limit_exceeded", "slow")).retryable);
  Advice quota = advise(openai(429, "insufficient_quota", "You exceeded your current quota"));
  EXPECT_FALSE(quota.retryable);
  EXPECT_EQ(quota.error.code(), ErrorCode::kResourceExhausted);
  EXPECT_TRUE(advise(openai(502, "", "bad gateway")).retryable);
  EXPECT_FALSE(advise(openai(400, "", "bad")).retryable);
}

TEST(Advice, TransportFailuresAreRetriedWithAHint) {
  ApiFailure f = openai(0, "", "");
  f.transport =
      Error(ErrorCode::kUnavailable, "connect to 127.0.0.1:11434 failed: Connection refused");
  Advice a = advise(f);
  EXPECT_TRUE(a.retryable);
  EXPECT_EQ(a.error.code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(has(a.error.message(), "Connection refused"));
  EXPECT_TRUE(has(a.error.message(), "ollama serve"));
  f.transport = Error(ErrorCode::kInvalidArgument, "bad URL");
  EXPECT_FALSE(advise(f).retryable);
}

TEST(Redact, RemovesEverySecretOccurrence) {
  Secret key("sk-live-abc123");
  Secret empty;
  EXPECT_EQ(redact("Incorrect API key provided: sk-live-abc123 (sk-live-abc123)", {&key, &empty}),
            "Incorrect API key provided: *** (***)");
}

TEST(Backoff, CeilingDoublesUpToTheMaximum) {
  RetryPolicy p;
  p.initial = milliseconds(500);
  p.max = milliseconds(8000);
  EXPECT_EQ(backoff_ceiling(p, 1), milliseconds(500));
  EXPECT_EQ(backoff_ceiling(p, 2), milliseconds(1000));
  EXPECT_EQ(backoff_ceiling(p, 4), milliseconds(4000));
  EXPECT_EQ(backoff_ceiling(p, 5), milliseconds(8000));
  EXPECT_EQ(backoff_ceiling(p, 40), milliseconds(8000));
}

struct Outcome {
  Result<ModelResponse> result = make_error(ErrorCode::kInternal, "not run");
  int attempts = 0;
  std::vector<std::pair<int, milliseconds>> pauses;
};

// Runs run_attempts with `outcome(n)` deciding attempt n; pauses are recorded, not slept.
Outcome run_with(int max_attempts, std::function<Attempt(int)> outcome,
                 std::shared_ptr<CancelSignal> cancel = nullptr,
                 std::function<net::awaitable<void>(int)> before = nullptr,
                 milliseconds pause = {}) {
  Outcome run;
  net::io_context ioc;
  RetryPolicy p;
  p.max_attempts = max_attempts;
  p.initial = milliseconds(100);
  p.max = milliseconds(1000);
  p.delay = [&](int retry, milliseconds ceiling) {
    run.pauses.emplace_back(retry, ceiling);
    return pause;
  };
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        run.result = co_await run_attempts(p, cancel, [&](int n) -> net::awaitable<Attempt> {
          ++run.attempts;
          if (before) co_await before(n);
          co_return outcome(n);
        });
      },
      net::detached);
  ioc.run();
  return run;
}

Attempt failure(bool retryable) {
  return Attempt{make_error(ErrorCode::kUnavailable, "throttled"), retryable};
}
Attempt success() {
  ModelResponse r;
  r.message = Message::assistant_text("done");
  return Attempt{std::move(r), false};
}

TEST(RunAttempts, RetriesRetryableFailuresWithGrowingBackoff) {
  Outcome run = run_with(4, [](int n) { return n < 3 ? failure(true) : success(); });
  ASSERT_TRUE(run.result) << run.result.error().message();
  EXPECT_EQ(run.result->message.text(), "done");
  EXPECT_EQ(run.attempts, 3);
  ASSERT_EQ(run.pauses.size(), 2u);
  EXPECT_EQ(run.pauses[0], std::make_pair(1, milliseconds(100)));
  EXPECT_EQ(run.pauses[1], std::make_pair(2, milliseconds(200)));
}

TEST(RunAttempts, GivesUpAfterMaxAttemptsAndSaysSo) {
  Outcome run = run_with(3, [](int) { return failure(true); });
  ASSERT_FALSE(run.result);
  EXPECT_EQ(run.attempts, 3);
  EXPECT_EQ(run.result.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(has(run.result.error().message(), "throttled (gave up after 3 attempts)"));
}

TEST(RunAttempts, StopsAtTheFirstFinalError) {
  Outcome run = run_with(5, [](int) { return failure(false); });
  EXPECT_EQ(run.attempts, 1);
  EXPECT_TRUE(run.pauses.empty());
  EXPECT_EQ(run.result.error().message(), "throttled");
}

TEST(RunAttempts, CancelDuringTheBackoffEndsTheCall) {
  // The first attempt fails and asks for a pause of an hour; the signal fires meanwhile.
  auto cancel = std::make_shared<CancelSignal>();
  Outcome run = run_with(
      4, [](int) { return failure(true); }, cancel,
      [cancel](int) -> net::awaitable<void> {
        auto ex = co_await net::this_coro::executor;
        net::post(ex, [cancel] { cancel->cancel(); });
        co_return;
      },
      std::chrono::hours(1));
  ASSERT_FALSE(run.result);
  EXPECT_EQ(run.result.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(run.attempts, 1);
}

TEST(RunAttempts, CancelDuringAnAttemptEndsIt) {
  auto cancel = std::make_shared<CancelSignal>();
  Outcome run = run_with(
      4, [](int) { return success(); }, cancel,
      [cancel](int) -> net::awaitable<void> {
        auto ex = co_await net::this_coro::executor;
        net::post(ex, [cancel] { cancel->cancel(); });
        net::steady_timer forever(ex, std::chrono::hours(1));
        co_await forever.async_wait(net::as_tuple(net::use_awaitable));
      });
  ASSERT_FALSE(run.result);
  EXPECT_EQ(run.result.error().code(), ErrorCode::kCancelled);
}

TEST(RunAttempts, AnAlreadyCancelledSignalRunsNothing) {
  auto cancel = std::make_shared<CancelSignal>();
  cancel->cancel();
  Outcome run = run_with(
      4, [](int) { return success(); }, cancel);
  EXPECT_EQ(run.attempts, 0);
  EXPECT_EQ(run.result.error().code(), ErrorCode::kCancelled);
}

}  // namespace
}  // namespace idp::llm

// Decoding AWS JSON error types and carrying them in idp::Error.
#include <gtest/gtest.h>

#include "idp/aws/json_client.h"

namespace idp::aws {
namespace {

TEST(JsonErrors, SanitizeType) {
  EXPECT_EQ(sanitize_error_type("ResourceNotFoundException"), "ResourceNotFoundException");
  EXPECT_EQ(sanitize_error_type("aws.protocoltests.restjson#FooError"), "FooError");
  EXPECT_EQ(sanitize_error_type("aws.protocoltests.restjson#FooError:http://internal.amazon.com/"
                                "coral/com.amazon.coral.validate/"),
            "FooError");
  EXPECT_EQ(
      sanitize_error_type(
          "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/"),
      "InvalidSignatureException");
  EXPECT_EQ(sanitize_error_type("com.amazonaws.secretsmanager#ResourceNotFoundException"),
            "ResourceNotFoundException");
  EXPECT_EQ(sanitize_error_type(""), "");
}

TEST(JsonErrors, Throttling) {
  for (const char* t : {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
                        "Throttling", "ProvisionedThroughputExceededException", "SlowDown"}) {
    EXPECT_TRUE(is_throttling_error(t)) << t;
  }
  for (const char* t : {"ResourceNotFoundException", "AccessDeniedException", ""}) {
    EXPECT_FALSE(is_throttling_error(t)) << t;
  }
}

TEST(JsonErrors, ServiceErrorFromDetails) {
  Error e(ErrorCode::kNotFound, "no secret",
          "ResourceNotFoundException: Secrets Manager can't find the specified secret.");
  auto se = service_error(e);
  ASSERT_TRUE(se);
  EXPECT_EQ(se->type, "ResourceNotFoundException");
  EXPECT_EQ(se->message, "Secrets Manager can't find the specified secret.");
  EXPECT_FALSE(service_error(Error(ErrorCode::kUnavailable, "connect failed")));
  EXPECT_FALSE(service_error(Error(ErrorCode::kUnavailable, "x", "some free text: with a colon")));
  auto empty_message =
      service_error(Error(ErrorCode::kInvalidArgument, "x", "ValidationException: "));
  ASSERT_TRUE(empty_message);
  EXPECT_EQ(empty_message->type, "ValidationException");
}

}  // namespace
}  // namespace idp::aws

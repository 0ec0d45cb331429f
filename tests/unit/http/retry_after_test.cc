// Retry-After values as a client meets them: delay-seconds, an IMF-fixdate in the future or the
// past, and the forms it must refuse rather than guess.
#include <gtest/gtest.h>

#include "idp/http/retry_after.h"

namespace idp::http {
namespace {

using std::chrono::seconds;

// Sun, 06 Nov 1994 08:49:37 GMT
const auto kNow = std::chrono::system_clock::from_time_t(784111777);

TEST(RetryAfter, DelaySeconds) {
  EXPECT_EQ(parse_retry_after("120", kNow), seconds(120));
  EXPECT_EQ(parse_retry_after(" 0 ", kNow), seconds(0));
}

TEST(RetryAfter, HttpDateIsTheWaitFromNow) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", kNow), seconds(30));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), seconds(0));
  EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", kNow), seconds(0));  // past
}

TEST(RetryAfter, AnythingElseIsRefused) {
  for (const char* bad : {"", "-5", "1.5", "12s", "soon", "Sunday, 06-Nov-94 08:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Nov 1994 08:49:37 GMTX"}) {
    EXPECT_FALSE(parse_retry_after(bad, kNow)) << bad;
  }
}

}  // namespace
}  // namespace idp::http

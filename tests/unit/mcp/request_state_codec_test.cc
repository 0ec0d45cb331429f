// The requestState of multi round-trip requests: what it carries comes back only to the same
// server (key), for the same request (method, target, arguments) and caller, before it expires;
// any change to its bytes is detected.
#include <gtest/gtest.h>

#include <string>

#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "mrtr.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;

constexpr std::int64_t kNow = 1'800'000'000;

struct Fixture {
  bj::object params =
      ::idp::json::parse(R"({"name":"greet","arguments":{"style":"warm"}})")->as_object();
  Identity alice{.authenticated = true, .subject = "alice"};
  bj::object answers =
      ::idp::json::parse(R"({"name-1":{"action":"accept","content":{"n":"Ada"}}})")->as_object();
  RoundTarget target() const { return RoundTarget{"tools/call", "greet", &params, &alice}; }
};

TEST(RequestStateCodec, RoundTripsTheAnswers) {
  Fixture f;
  std::string state = encode_request_state("key", f.target(), f.answers, kNow + 60);
  auto back = decode_request_state("key", f.target(), state, kNow);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, f.answers);
  // The payload is signed, not encrypted: nothing secret may go into it.
  EXPECT_EQ(state.find("Ada"), std::string::npos) << "answers travel base64url-encoded";
}

TEST(RequestStateCodec, AnyChangedByteFailsIntegrity) {
  Fixture f;
  std::string state = encode_request_state("key", f.target(), f.answers, kNow + 60);
  for (std::size_t i = 0; i < state.size(); i += 7) {
    std::string tampered = state;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    auto r = decode_request_state("key", f.target(), tampered, kNow);
    ASSERT_FALSE(r) << "byte " << i;
  }
  auto other_key = decode_request_state("another key", f.target(), state, kNow);
  ASSERT_FALSE(other_key);
  EXPECT_NE(other_key.error().find("integrity"), std::string::npos) << other_key.error();
  EXPECT_FALSE(decode_request_state("key", f.target(), "no-dot-at-all", kNow));
}

TEST(RequestStateCodec, IsBoundToTheRequestAndTheCaller) {
  Fixture f;
  std::string state = encode_request_state("key", f.target(), f.answers, kNow + 60);

  RoundTarget other_tool = f.target();
  other_tool.target = "farewell";
  auto r = decode_request_state("key", other_tool, state, kNow);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("belongs to another request (tools/call greet)"), std::string::npos)
      << r.error();

  RoundTarget other_method = f.target();
  other_method.method = "prompts/get";
  EXPECT_FALSE(decode_request_state("key", other_method, state, kNow));

  bj::object changed = f.params;
  changed["arguments"] = bj::object{{"style", "cold"}};
  RoundTarget other_args = f.target();
  other_args.params = &changed;
  r = decode_request_state("key", other_args, state, kNow);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("other arguments"), std::string::npos) << r.error();

  Identity mallory{.authenticated = true, .subject = "mallory"};
  RoundTarget other_caller = f.target();
  other_caller.identity = &mallory;
  r = decode_request_state("key", other_caller, state, kNow);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("another caller"), std::string::npos) << r.error();

  Identity anonymous;
  RoundTarget unauthenticated = f.target();
  unauthenticated.identity = &anonymous;
  EXPECT_FALSE(decode_request_state("key", unauthenticated, state, kNow));
}

TEST(RequestStateCodec, Expires) {
  Fixture f;
  std::string state = encode_request_state("key", f.target(), f.answers, kNow + 60);
  EXPECT_TRUE(decode_request_state("key", f.target(), state, kNow + 60));
  auto late = decode_request_state("key", f.target(), state, kNow + 61);
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().find("expired; send the request again without it"), std::string::npos)
      << late.error();
}

TEST(RequestStateCodec, ARoundReadsAnswersAndSignsWhatTheHandlerUsed) {
  Fixture f;
  Round round{"key", std::chrono::seconds(600), nullptr};
  RequestState rs;
  rs.modern = true;
  rs.id = 5;
  rs.identity = f.alice;
  rs.used_responses = f.answers;
  rs.input_requests["color-2"] =
      bj::object{{"method", "elicitation/create"}, {"params", bj::object{}}};
  auto asked = round.end(rs, f.target());
  ASSERT_TRUE(asked);
  auto reply = ::idp::json::parse(*asked);
  ASSERT_TRUE(reply) << *asked;
  const bj::object& result = reply->at("result").as_object();
  EXPECT_EQ(result.at("resultType"), "input_required");
  EXPECT_TRUE(result.at("inputRequests").as_object().contains("color-2"));

  // The retry: the state plus this round's answer.
  bj::object retry = f.params;
  retry["requestState"] = result.at("requestState");
  retry["inputResponses"] = bj::object{{"color-2", bj::object{{"action", "accept"}}}};
  RequestState again;
  again.identity = f.alice;
  RoundTarget t{"tools/call", "greet", &retry, &*again.identity};
  EXPECT_FALSE(round.begin(again, t, retry));
  EXPECT_TRUE(again.resumed);
  EXPECT_TRUE(again.input_responses.contains("name-1"));
  EXPECT_TRUE(again.input_responses.contains("color-2"));

  bj::object bad = retry;
  bad["inputResponses"] = bj::object{{"color-2", "yes"}};
  RequestState malformed;
  malformed.identity = f.alice;
  auto problem = round.begin(malformed, t, bad);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("params.inputResponses['color-2'] must be an object"), std::string::npos)
      << *problem;
}

}  // namespace
}  // namespace idp::mcp

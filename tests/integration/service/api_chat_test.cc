// Chat through the API: sessions and their owners, a message answered as a stream of stored,
// numbered events, following a running turn from another connection (?after=N, Last-Event-ID)
// without gap or duplicate, one running turn per session, cancel, and the input limits.
#include <boost/json/serialize.hpp>

#include <set>

#include "idp/core/json_util.h"
#include "service_env.h"

namespace idp::service::test {
namespace {

namespace bj = boost::json;

std::vector<std::int64_t> seqs(const std::vector<bj::object>& events) {
  std::vector<std::int64_t> out;
  for (const auto& e : events) out.push_back(e.at("seq").as_int64());
  return out;
}

std::string type(const bj::object& e) { return std::string(e.at("type").as_string()); }

std::string message(const std::string& text) { return bj::serialize(bj::object{{"text", text}}); }

class ChatTest : public ServiceTest {
 protected:
  // Opens a POST .../messages stream and reads until `needle` shows in it.
  std::unique_ptr<idp::test::RawConnection> open_turn(const std::string& sid,
                                                      const std::string& text,
                                                      const std::string& needle) {
    auto c = std::make_unique<idp::test::RawConnection>(port_);
    c->send("POST", "/api/chat/sessions/" + sid + "/messages",
            {{"Authorization", "Bearer " + token()},
             {"Content-Type", "application/json"},
             {"Accept", "text/event-stream"}},
            message(text));
    auto r = c->read_event(needle);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(needle), std::string::npos) << r.body;
    return c;
  }
};

TEST_F(ChatTest, SessionsBelongToTheirOwner) {
  std::string mine = new_session("alice", R"({"agent_ids":["echoer"]})");
  std::string other = new_session("bob");
  auto list = call("GET", "/api/chat/sessions", token("alice"));
  ASSERT_EQ(list.status, 200);
  auto sessions = json(list).at("sessions").as_array();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].at("session_id").as_string(), mine);
  EXPECT_EQ(sessions[0].at("agent_ids").as_array().at(0).as_string(), "echoer");
  EXPECT_EQ(sessions[0].at("running").as_bool(), false);

  std::string alice = token("alice");
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/chat/sessions/" + other},
           {"DELETE", "/api/chat/sessions/" + other},
           {"POST", "/api/chat/sessions/" + other + "/messages"},
           {"GET", "/api/chat/sessions/" + other + "/events"},
           {"POST", "/api/chat/sessions/" + other + "/cancel"},
           {"GET", "/api/chat/sessions/ses_doesnotexist"}}) {
    auto r = call(method, path, alice, message("hello"));
    EXPECT_EQ(r.status, 404) << method << " " << path << ": " << r.body;
    EXPECT_EQ(json(r).at("error").at("code").as_string(), "not_found");
  }
  EXPECT_EQ(call("GET", "/api/chat/sessions/" + other, token("bob")).status, 200);  // untouched
  EXPECT_EQ(call("DELETE", "/api/chat/sessions/" + mine, alice).status, 204);
  EXPECT_EQ(call("GET", "/api/chat/sessions/" + mine, alice).status, 404);
}

TEST_F(ChatTest, SessionInputIsChecked) {
  auto unknown = call("POST", "/api/chat/sessions", token(), R"({"agent_ids":["echoer","nope"]})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(json(unknown).at("error").at("message").as_string(),
            "agent_ids[1]: there is no agent 'nope' (GET /api/agents lists them)");
  auto wrong = call("POST", "/api/chat/sessions", token(), R"({"agent_ids":"echoer"})");
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(json(wrong).at("error").at("message").as_string(),
            "agent_ids must be an array of agent ids, not string");
  auto twice = call("POST", "/api/chat/sessions", token(), R"({"agent_ids":["echoer","echoer"]})");
  EXPECT_EQ(twice.status, 400);
  auto array = call("POST", "/api/chat/sessions", token(), "[1]");
  EXPECT_EQ(array.status, 400);
  EXPECT_EQ(json(array).at("error").at("message").as_string(),
            "the request body must be a JSON object, not array");
  // The per-user limit (5 in these tests): the sixth is refused, naming the limit.
  for (int i = 0; i < 5; ++i) new_session();
  auto over = call("POST", "/api/chat/sessions", token(), std::string("{}"));
  EXPECT_EQ(over.status, 429);
  EXPECT_NE(json(over).at("error").at("message").as_string().find("the limit is 5"),
            std::string::npos);
  EXPECT_EQ(call("POST", "/api/chat/sessions", token("bob"), std::string("{}")).status, 201);
}

TEST_F(ChatTest, AMessageIsAnsweredAsAStreamOfStoredNumberedEvents) {
  std::string sid = new_session();
  auto r = call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("hello there"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream; charset=utf-8");
  auto evs = events(r.body);
  ASSERT_EQ(evs.size(), 5u) << r.body;
  EXPECT_EQ(seqs(evs), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  auto ids = idp::test::sse_ids(r.body);
  EXPECT_EQ(ids.front(), "1");
  EXPECT_EQ(ids.back(), "5");
  EXPECT_EQ(type(evs.front()), "turn_start");
  EXPECT_TRUE(evs.front().at("message_id").is_string());
  EXPECT_TRUE(evs.front().at("assistant_message_id").is_string());
  EXPECT_EQ(type(evs.back()), "final");
  std::string turn_id(evs.front().at("turn_id").as_string());
  for (const auto& e : evs) {
    EXPECT_EQ(e.at("turn_id").as_string(), turn_id);
    EXPECT_TRUE(e.at("ts").as_string().ends_with("Z"));
  }

  auto s = call("GET", "/api/chat/sessions/" + sid, token());
  ASSERT_EQ(s.status, 200);
  auto detail = json(s).as_object();
  EXPECT_EQ(detail.at("title").as_string(), "hello there");
  auto msgs = detail.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].at("role").as_string(), "user");
  EXPECT_EQ(msgs[0].at("text").as_string(), "hello there");
  EXPECT_EQ(msgs[0].at("message_id"), evs.front().at("message_id"));
  EXPECT_EQ(msgs[1].at("role").as_string(), "assistant");
  EXPECT_EQ(msgs[1].at("message_id"), evs.front().at("assistant_message_id"));
  EXPECT_EQ(msgs[1].at("text").as_string(), "Hello");
  EXPECT_EQ(msgs[1].at("status").as_string(), "complete");
  ASSERT_EQ(msgs[1].at("events").as_array().size(), 5u);  // every event of the turn, as streamed
  EXPECT_EQ(msgs[1].at("events").as_array()[4], bj::value(evs[4]));

  auto list = json(call("GET", "/api/chat/sessions", token())).at("sessions").as_array();
  EXPECT_EQ(list[0].at("message_count").as_int64(), 2);
  EXPECT_EQ(list[0].at("last_message").as_string(), "Hello");
  EXPECT_EQ(list[0].at("last_status").as_string(), "complete");

  // The next turn continues the numbering and gets the first turn's history.
  auto second =
      call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("table please"));
  auto evs2 = events(second.body);
  ASSERT_FALSE(evs2.empty());
  EXPECT_EQ(evs2.front().at("seq").as_int64(), 6);
  bool structured = false;
  for (const auto& e : evs2) structured |= type(e) == "structured_data";
  EXPECT_TRUE(structured);
  auto requests = turns_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].history.size(), 2u);
  EXPECT_EQ(requests[1].history[0].text(), "hello there");
  auto msgs2 = json(call("GET", "/api/chat/sessions/" + sid, token())).at("messages").as_array();
  EXPECT_EQ(msgs2[3].at("structured").at("responseType").as_string(), "table");
  // The answer's text does not carry the data: it travels in structured (docs/api.md).
  EXPECT_EQ(msgs2[3].at("text").as_string(), "Here is the table.");
}

TEST_F(ChatTest, MessageInputIsCheckedAgainstItsLimits) {
  std::string sid = new_session();
  auto at_limit = std::string(100000, 'x');
  auto over =
      call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message(at_limit + "y"));
  EXPECT_EQ(over.status, 413);
  EXPECT_EQ(json(over).at("error").at("message").as_string(),
            "text: 100001 characters; the limit is 100000");
  // Characters, not bytes: 100000 two-byte characters are fine.
  std::string wide;
  for (int i = 0; i < 100000; ++i) wide += "\xC3\xA9";
  auto ok = call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message(wide));
  EXPECT_EQ(ok.status, 200) << ok.body.substr(0, 200);
  auto blank = call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("  \n "));
  EXPECT_EQ(blank.status, 400);
  EXPECT_EQ(json(blank).at("error").at("message").as_string(), "text is empty");
  auto none = call("POST", "/api/chat/sessions/" + sid + "/messages", token(), std::string("{}"));
  EXPECT_EQ(none.status, 400);
  // A body over 1 MiB is refused from its Content-Length, before it is read.
  idp::test::RawConnection big(port_);
  big.send_raw("POST /api/chat/sessions/" + sid +
               "/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token() +
               "\r\nContent-Type: application/json\r\nContent-Length: 1100000\r\n\r\n");
  auto huge = big.read();
  EXPECT_EQ(huge.status, 413);
  EXPECT_NE(huge.body.find("1048576"), std::string::npos) << huge.body;
  auto detail = json(call("GET", "/api/chat/sessions/" + sid, token()));
  EXPECT_EQ(detail.at("messages").as_array().size(), 2u);  // only the accepted one
}

TEST_F(ChatTest, ARunningTurnIsFollowedFromAnotherConnectionWithoutGapOrDuplicate) {
  std::string sid = new_session();
  auto first = open_turn(sid, "gate g1", "step1");
  // Another tab: from the start, and from after event 1 (Last-Event-ID as EventSource sends it).
  idp::test::RawConnection all(port_), later(port_);
  all.send("GET", "/api/chat/sessions/" + sid + "/events?after=0",
           {{"Authorization", "Bearer " + token()}}, "");
  later.send("GET", "/api/chat/sessions/" + sid + "/events",
             {{"Authorization", "Bearer " + token()}, {"Last-Event-ID", "1"}}, "");
  auto a = all.read_event("step1");
  auto l = later.read_event("step1");
  EXPECT_EQ(seqs(events(a.body)), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(seqs(events(l.body)), (std::vector<std::int64_t>{2}));
  // A second message meanwhile: one running turn per session.
  auto busy = call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("hello"));
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(json(busy).at("error").at("code").as_string(), "conflict");
  auto running = json(call("GET", "/api/chat/sessions", token())).at("sessions").at(0);
  EXPECT_TRUE(running.at("running").as_bool());
  EXPECT_EQ(running.at("last_status").as_string(), "running");
  auto partial = json(call("GET", "/api/chat/sessions/" + sid, token())).at("messages").at(1);
  EXPECT_EQ(partial.at("status").as_string(), "running");
  EXPECT_EQ(partial.at("text").as_string(), "step1");  // the text so far

  turns_.open("g1");
  auto f = first->read_event("\"final\"");
  a = all.read_event("\"final\"");
  l = later.read_event("\"final\"");
  EXPECT_EQ(seqs(events(f.body)), (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(seqs(events(a.body)), (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(seqs(events(l.body)), (std::vector<std::int64_t>{2, 3, 4}));

  // After the end: a replay from the store that ends by itself.
  auto replay = call("GET", "/api/chat/sessions/" + sid + "/events?after=2", token());
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(seqs(events(replay.body)), (std::vector<std::int64_t>{3, 4}));
  std::string turn_id(events(f.body).front().at("turn_id").as_string());
  auto by_id =
      call("GET", "/api/chat/sessions/" + sid + "/events?turn_id=" + turn_id + "&after=3", token());
  EXPECT_EQ(seqs(events(by_id.body)), (std::vector<std::int64_t>{4}));
  // And the session takes the next message at once.
  EXPECT_EQ(
      call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("hello")).status,
      200);
}

TEST_F(ChatTest, FollowingAnswersForEveryKindOfSession) {
  std::string sid = new_session();
  auto none = call("GET", "/api/chat/sessions/" + sid + "/events?after=0", token());
  EXPECT_EQ(none.status, 204);  // no turn yet: nothing to follow (EventSource stops there)
  auto bad = call("GET", "/api/chat/sessions/" + sid + "/events?after=abc", token());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json(bad).at("error").at("message").as_string(),
            "after must be an event number (0, 1, 2...)");
  auto unknown = call("GET", "/api/chat/sessions/" + sid + "/events?turn_id=turn_nope", token());
  EXPECT_EQ(unknown.status, 404);
}

TEST_F(ChatTest, CancelEndsTheRunningTurnWithCancelled) {
  std::string sid = new_session();
  auto stream = open_turn(sid, "wait for it", "working");
  auto c = call("POST", "/api/chat/sessions/" + sid + "/cancel", token(), std::string("{}"));
  EXPECT_EQ(c.status, 202);
  EXPECT_TRUE(json(c).at("cancelled").as_bool());
  auto rest = stream->read_event("\"error\"");
  auto evs = events(rest.body);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(type(evs.back()), "error");
  EXPECT_EQ(evs.back().at("code").as_string(), "cancelled");
  auto msg = json(call("GET", "/api/chat/sessions/" + sid, token())).at("messages").at(1);
  EXPECT_EQ(msg.at("status").as_string(), "cancelled");
  auto again = call("POST", "/api/chat/sessions/" + sid + "/cancel", token(), std::string("{}"));
  EXPECT_FALSE(json(again).at("cancelled").as_bool());
  // The cancelled turn left a valid history for the next one.
  EXPECT_EQ(
      call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("hello")).status,
      200);
  EXPECT_EQ(turns_.requests().back().history.size(), 2u);
}

TEST_F(ChatTest, AnAgentThatIgnoresTheCancelIsEndedAfterTheGrace) {
  std::string sid = new_session();
  auto stream = open_turn(sid, "stuck forever", "turn_start");
  EXPECT_TRUE(
      json(call("POST", "/api/chat/sessions/" + sid + "/cancel", token(), std::string("{}")))
          .at("cancelled")
          .as_bool());
  auto rest = stream->read_event("\"error\"");
  auto evs = events(rest.body);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.back().at("code").as_string(), "cancelled");
  turns_.open("stuck");  // the runner comes back late: what it says is ignored
  auto detail = json(call("GET", "/api/chat/sessions/" + sid, token()));
  EXPECT_EQ(detail.at("messages").at(1).at("status").as_string(), "cancelled");
  EXPECT_EQ(
      call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("hello")).status,
      200);
}

TEST_F(ChatTest, AFailedTurnIsStoredAsAnError) {
  std::string sid = new_session();
  auto r = call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("fail now"));
  auto evs = events(r.body);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.back().at("code").as_string(), "unavailable");
  auto detail = json(call("GET", "/api/chat/sessions/" + sid, token()));
  EXPECT_EQ(detail.at("messages").at(1).at("status").as_string(), "error");
  EXPECT_EQ(detail.at("last_status").as_string(), "error");
}

TEST_F(ChatTest, DeletingASessionWithARunningTurnCancelsIt) {
  std::string sid = new_session();
  auto stream = open_turn(sid, "wait here", "working");
  EXPECT_EQ(call("DELETE", "/api/chat/sessions/" + sid, token()).status, 204);
  stream->read_event("\"error\"");  // returns once the stream has ended
  EXPECT_EQ(call("GET", "/api/chat/sessions/" + sid, token()).status, 404);
}

}  // namespace
}  // namespace idp::service::test

// The service across its own end: a restart keeps every session, message, event and job; a
// graceful stop (SIGTERM) ends running turns with error "interrupted" and stores that; and a
// `kill -9` in the middle of a turn loses nothing that was acknowledged: after a restart the
// session, the user's message and every event streamed before the kill are there, and the turn
// is marked interrupted with a stored error event. The killed process is service-test-server
// (this Service with the scripted turns), started and stopped by its pid.
#include <signal.h>

#include <boost/json/serialize.hpp>

#include <thread>

#include "idp/core/child_process.h"
#include "idp/core/json_util.h"
#include "service_env.h"
#include "sqlite_db.h"

namespace idp::service::test {
namespace {

namespace bj = boost::json;

std::string message(const std::string& text) { return bj::serialize(bj::object{{"text", text}}); }

class LifecycleTest : public ServiceTest {
 protected:
  // service-test-server in a child process, once it says where it listens.
  std::unique_ptr<ChildProcess> spawn() {
    auto p =
        ChildProcess::start({SERVICE_TEST_SERVER, "--store", store_path_, "--user-pool-id", pool_,
                             "--user-client-id", client_, "--cognito-endpoint", idp_url_},
                            "listening on http://127\\.0\\.0\\.1:[0-9]+");
    if (!p) throw std::runtime_error(p.error().message());
    const std::string& said = (*p)->match();
    port_ = static_cast<std::uint16_t>(std::stoi(said.substr(said.rfind(':') + 1)));
    wait_ready();
    return std::move(*p);
  }
  std::unique_ptr<idp::test::RawConnection> open_turn(const std::string& sid,
                                                      const std::string& text,
                                                      const std::string& needle) {
    auto c = std::make_unique<idp::test::RawConnection>(port_);
    c->send("POST", "/api/chat/sessions/" + sid + "/messages",
            {{"Authorization", "Bearer " + token()}, {"Content-Type", "application/json"}},
            message(text));
    auto r = c->read_event(needle);
    EXPECT_NE(r.body.find(needle), std::string::npos) << r.body;
    return c;
  }
};

TEST_F(LifecycleTest, ARestartKeepsEverything) {
  std::string sid = new_session();
  ASSERT_EQ(
      call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("hello")).status,
      200);
  ASSERT_EQ(
      call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("table")).status,
      200);
  auto job =
      json(call("POST", "/api/jobs", token(), R"({"query":"hello"})")).at("job_id").as_string();
  auto before = call("GET", "/api/chat/sessions/" + sid, token()).body;
  stop_service();
  start_service();
  EXPECT_EQ(call("GET", "/api/chat/sessions/" + sid, token()).body, before);
  EXPECT_EQ(call("GET", "/api/jobs/" + std::string(job), token()).status, 200);
  auto next = events(
      call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("hello")).body);
  ASSERT_FALSE(next.empty());
  EXPECT_GT(next.front().at("seq").as_int64(), 7);  // numbering goes on after the restart
}

TEST_F(LifecycleTest, SessionsAndJobsPastTheRetentionAreSwept) {
  std::string old_session = new_session(), fresh_session = new_session();
  ASSERT_EQ(
      call("POST", "/api/chat/sessions/" + old_session + "/messages", token(), message("hello"))
          .status,
      200);
  auto job = std::string(
      json(call("POST", "/api/jobs", token(), R"({"query":"hello"})")).at("job_id").as_string());
  stop_service();
  {
    // 31 days ago, as far as the store can tell (the job may not have finished: it then stays).
    Db db(store_path_);
    auto month_ago =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            (std::chrono::system_clock::now() - std::chrono::hours(24 * 31)).time_since_epoch())
            .count();
    db.prepare("UPDATE sessions SET updated_at = ? WHERE id = ?")
        .bind(1, std::int64_t{month_ago})
        .bind(2, old_session)
        .run();
    db.prepare("UPDATE jobs SET updated_at = ?, status = 'COMPLETED' WHERE id = ?")
        .bind(1, std::int64_t{month_ago})
        .bind(2, job)
        .run();
  }
  start_service();  // the first sweep runs at start
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (call("GET", "/api/chat/sessions/" + old_session, token()).status != 404) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the old session was not swept";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(call("GET", "/api/jobs/" + job, token()).status, 404);
  EXPECT_EQ(call("GET", "/api/chat/sessions/" + fresh_session, token()).status, 200);
}

TEST_F(LifecycleTest, AGracefulStopEndsRunningTurnsAsInterrupted) {
  std::string sid = new_session();
  auto stream = open_turn(sid, "gate never", "step1");
  stop_service();
  auto rest = stream->read_event("interrupted");
  auto evs = events(rest.body);
  ASSERT_FALSE(evs.empty()) << rest.body;
  EXPECT_EQ(evs.back().at("type").as_string(), "error");
  EXPECT_EQ(evs.back().at("code").as_string(), "interrupted");
  start_service();
  auto detail = json(call("GET", "/api/chat/sessions/" + sid, token()));
  EXPECT_EQ(detail.at("messages").at(1).at("status").as_string(), "interrupted");
  EXPECT_EQ(detail.at("messages").at(1).at("events").as_array().back().at("code").as_string(),
            "interrupted");
}

TEST_F(LifecycleTest, SigtermOfTheProcessInterruptsItsTurnsAndExitsCleanly) {
  stop_service();
  auto server = spawn();
  std::string sid = new_session();
  auto stream = open_turn(sid, "wait for the end", "working");
  EXPECT_EQ(server->signal_and_wait(SIGTERM), 0);
  auto rest = stream->read_event("interrupted");
  EXPECT_NE(rest.body.find("\"code\":\"interrupted\""), std::string::npos) << rest.body;
}

TEST_F(LifecycleTest, AKillDuringATurnLosesNothingAcknowledged) {
  stop_service();
  auto server = spawn();
  std::string sid = new_session();
  auto stream = open_turn(sid, "wait while I crash", "working");
  auto seen = events(stream->read_event("working").body);
  ASSERT_EQ(seen.size(), 2u);  // turn_start and text_delta reached the browser
  EXPECT_EQ(server->signal_and_wait(SIGKILL), 128 + SIGKILL);

  start_service();  // the same store, in this process
  auto detail = json(call("GET", "/api/chat/sessions/" + sid, token()));
  ASSERT_TRUE(detail.is_object());
  EXPECT_FALSE(detail.at("running").as_bool());
  EXPECT_EQ(detail.at("last_status").as_string(), "interrupted");
  auto msgs = detail.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].at("text").as_string(), "wait while I crash");
  EXPECT_EQ(msgs[1].at("status").as_string(), "interrupted");
  EXPECT_EQ(msgs[1].at("text").as_string(), "working");
  auto stored = msgs[1].at("events").as_array();
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[0], bj::value(seen[0]));  // exactly what was streamed before the kill
  EXPECT_EQ(stored[1], bj::value(seen[1]));
  EXPECT_EQ(stored[2].at("type").as_string(), "error");
  EXPECT_EQ(stored[2].at("code").as_string(), "interrupted");
  EXPECT_EQ(stored[2].at("seq").as_int64(), 3);
  // Following the turn now replays it to its stored end.
  auto follow = call("GET", "/api/chat/sessions/" + sid + "/events?after=0", token());
  EXPECT_EQ(events(follow.body).size(), 3u);
  // And the session goes on.
  EXPECT_EQ(
      call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("hello")).status,
      200);
}

}  // namespace
}  // namespace idp::service::test

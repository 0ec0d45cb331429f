// The service across its own end: a restart keeps every session, message, event and job; a
// graceful stop (SIGTERM) ends running turns with error "interrupted" and stores that; and a
// `kill -9` in the middle of a turn loses nothing that was acknowledged: after a restart the
// session, the user's message and every event streamed before the kill are there, and the turn
// is marked interrupted with a stored error event. The killed process is service-test-server
// (this Service with the scripted turns), started and stopped by its pid.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <regex>
#include <thread>

#include "idp/core/json_util.h"
#include "service_env.h"
#include "sqlite_db.h"

namespace idp::service::test {
namespace {

namespace bj = boost::json;

std::string message(const std::string& text) { return bj::serialize(bj::object{{"text", text}}); }

// service-test-server in a child process, its stdout read through a pipe.
class ServerProcess {
 public:
  ServerProcess(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<char*> argv;
    std::vector<std::string> all{SERVICE_TEST_SERVER};
    all.insert(all.end(), args.begin(), args.end());
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::dup2(fds[1], 1);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
  }
  // Reads stdout until `re` matches (30 s at most); returns its first group.
  std::string wait_for(const std::regex& re) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::smatch m;
    while (!std::regex_search(text_, m, re)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) throw std::runtime_error("service-test-server said only: " + text_);
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[512];
      auto n = ::read(out_, buf, sizeof buf);
      if (n <= 0) throw std::runtime_error("service-test-server exited; it said: " + text_);
      text_.append(buf, static_cast<std::size_t>(n));
    }
    return m[1];
  }
  // Sends `signo` and returns the exit status (or 128 + the signal that ended it).
  int signal_and_wait(int signo) {
    ::kill(pid_, signo);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string text_;
};

class LifecycleTest : public ServiceTest {
 protected:
  std::unique_ptr<ServerProcess> spawn() {
    auto p = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--store", store_path_, "--user-pool-id", pool_,
                                 "--user-client-id", client_, "--cognito-endpoint", idp_url_});
    port_ = static_cast<std::uint16_t>(
        std::stoi(p->wait_for(std::regex("listening on http://127\\.0\\.0\\.1:(\\d+)"))));
    wait_ready();
    return p;
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

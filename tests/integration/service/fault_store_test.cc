// The store's disk failing under a running service (fault_disk.h: a full disk, a file system gone
// read-only; the store's code runs unchanged). What the user sees: a new message is refused with
// a JSON error that says the store failed and why; a turn that was running when the disk filled
// ends with an error event rather than hanging; what was stored before stays readable and intact,
// also after a restart; once the disk works again the service goes on without a restart.
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <thread>

#include "fault_disk.h"
#include "service_env.h"

namespace idp::service::test {
namespace {

namespace bj = boost::json;

std::string message(const std::string& text) { return bj::serialize(bj::object{{"text", text}}); }

class FaultStore : public ServiceTest {
 protected:
  static void SetUpTestSuite() {
    install_fault_disk();
    // Every store of this process lives under this prefix (ServiceTest's folders).
    set_disk_fault(DiskFault::kNone, (std::filesystem::temp_directory_path() /
                                      ("idp-service-" + std::to_string(::getpid())))
                                         .string());
  }
  void TearDown() override {
    set_disk_fault(DiskFault::kNone);
    ServiceTest::TearDown();
  }
  std::string ask(const std::string& sid, const std::string& text, int want = 200) {
    auto r = call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message(text));
    EXPECT_EQ(r.status, want) << r.body;
    return r.body;
  }
  std::string detail(const std::string& sid) {
    auto r = call("GET", "/api/chat/sessions/" + sid, token());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }

  // A message while the disk refuses writes: a JSON error naming the store; nothing changed.
  void refused_while(DiskFault fault, int status, const std::string& code, const std::string& why) {
    std::string sid = new_session();
    ask(sid, "hello");
    std::string before = detail(sid);
    int refused = refused_writes();
    set_disk_fault(fault);
    auto r = call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("hello"));
    EXPECT_EQ(r.status, status) << r.body;
    auto v = json(r);
    ASSERT_TRUE(v.is_object()) << r.body;
    EXPECT_EQ(v.at("error").at("code").as_string(), code) << r.body;
    std::string text(v.at("error").at("message").as_string());
    EXPECT_NE(text.find("store"), std::string::npos) << text;
    EXPECT_NE(text.find(why), std::string::npos) << text;
    EXPECT_GT(refused_writes(), refused);  // the disk did refuse
    EXPECT_EQ(detail(sid), before);        // reads work; nothing half-written shows
    EXPECT_EQ(call("POST", "/api/chat/sessions", token(), "{}").status, status);

    set_disk_fault(DiskFault::kNone);  // the disk works again: no restart needed
    auto next = events(ask(sid, "hello"));
    ASSERT_FALSE(next.empty());
    EXPECT_EQ(next.back().at("type").as_string(), "final");
    stop_service();
    start_service();
    auto after = json(call("GET", "/api/chat/sessions/" + sid, token()));
    auto msgs = after.at("messages").as_array();
    ASSERT_EQ(msgs.size(), 4u) << bj::serialize(after);  // two questions, two answers
    EXPECT_EQ(msgs[1].at("status").as_string(), "complete");
    EXPECT_EQ(msgs[3].at("status").as_string(), "complete");
  }
};

TEST_F(FaultStore, AFullDiskRefusesNewWorkWithAClearErrorAndKeepsWhatWasStored) {
  refused_while(DiskFault::kFull, 503, "unavailable", "disk is full");
}

TEST_F(FaultStore, AReadOnlyDiskRefusesNewWorkWithAClearErrorAndKeepsWhatWasStored) {
  refused_while(DiskFault::kReadOnly, 503, "unavailable", "I/O error");
}

TEST_F(FaultStore, ATurnRunningWhenTheDiskFillsEndsWithAnErrorAndKeepsItsStoredEvents) {
  std::string sid = new_session();
  idp::test::RawConnection stream(port_);
  stream.send("POST", "/api/chat/sessions/" + sid + "/messages",
              {{"Authorization", "Bearer " + token()}, {"Content-Type", "application/json"}},
              message("gate full"));
  auto first = events(stream.read_event("step1").body);
  ASSERT_EQ(first.size(), 2u);  // turn_start, text_delta "step1": stored, then streamed
  set_disk_fault(DiskFault::kFull);
  turns_.open("full");
  auto rest = stream.read_event("\"type\":\"error\"");  // the stream ends; it does not hang
  auto seen = events(rest.body);
  ASSERT_FALSE(seen.empty()) << rest.body;
  EXPECT_EQ(seen.back().at("type").as_string(), "error") << rest.body;
  EXPECT_NE(bj::serialize(seen.back()).find("disk is full"), std::string::npos) << rest.body;

  EXPECT_EQ(seen.back().at("code").as_string(), "store_failed");
  EXPECT_FALSE(seen.back().contains("seq"));  // not stored (yet): no id to resume from

  set_disk_fault(DiskFault::kNone);
  // The end is stored once the disk takes writes again; the session is free then.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (json(call("GET", "/api/chat/sessions/" + sid, token())).at("running").as_bool()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the turn's end was never stored";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto again = call("POST", "/api/chat/sessions/" + sid + "/messages", token(), message("hello"));
  EXPECT_EQ(again.status, 200) << again.body;  // no restart needed
  stop_service();
  start_service();
  auto after = json(call("GET", "/api/chat/sessions/" + sid, token()));
  auto msgs = after.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 4u) << bj::serialize(after);
  EXPECT_EQ(msgs[0].at("text").as_string(), "gate full");
  EXPECT_NE(msgs[1].at("status").as_string(), "running");
  auto stored = msgs[1].at("events").as_array();
  ASSERT_GE(stored.size(), 2u);
  EXPECT_EQ(stored[0], bj::value(first[0]));  // what the user saw before the disk filled
  EXPECT_EQ(stored[1], bj::value(first[1]));
  EXPECT_EQ(stored.back().at("type").as_string(), "error");
  EXPECT_EQ(stored.back().at("code").as_string(), "store_failed");  // as the user saw it
  EXPECT_EQ(msgs[3].at("status").as_string(), "complete");
}

}  // namespace
}  // namespace idp::service::test

// Jobs (PENDING -> PROCESSING -> COMPLETED | FAILED, run by the worker inside the service), the
// static web UI with its security headers, and /healthz and /readyz.
#include <boost/json/serialize.hpp>

#include <thread>

#include "idp/core/json_util.h"
#include "service_env.h"
#include "static_files.h"

namespace idp::service::test {
namespace {

namespace bj = boost::json;

class JobsTest : public ServiceTest {
 protected:
  // Polls the job until it has left PENDING and PROCESSING; returns it.
  bj::object finished(const std::string& id, const std::string& user = "alice") {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto r = call("GET", "/api/jobs/" + id, token(user));
      auto v = json(r);
      EXPECT_EQ(r.status, 200) << r.body;
      if (!v.is_object()) return {};
      auto status = v.at("status").as_string();
      if (status != "PENDING" && status != "PROCESSING") return v.as_object();
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "job " << id << " still " << status;
        return v.as_object();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::string submit(const std::string& query, const std::string& user = "alice") {
    auto r = call("POST", "/api/jobs", token(user), bj::serialize(bj::object{{"query", query}}));
    EXPECT_EQ(r.status, 202) << r.body;
    auto v = json(r);
    EXPECT_EQ(v.at("status").as_string(), "PENDING");
    return std::string(v.at("job_id").as_string());
  }
};

TEST_F(JobsTest, AJobRunsInTheBackgroundToItsAnswer) {
  std::string id = submit("table of things");
  auto job = finished(id);
  EXPECT_EQ(job.at("status").as_string(), "COMPLETED");
  EXPECT_EQ(job.at("result").at("text").as_string(), "Here is the table.");
  EXPECT_EQ(job.at("result").at("structured").at("responseType").as_string(), "table");
  EXPECT_TRUE(job.at("completed_at").is_string());
  auto steps = job.at("steps").as_array();
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].at("type").as_string(), "turn_start");
  EXPECT_EQ(steps[2].at("type").as_string(), "final");

  auto list = json(call("GET", "/api/jobs", token())).at("jobs").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_FALSE(list[0].as_object().contains("steps"));
  EXPECT_EQ(call("GET", "/api/jobs/" + id, token("bob")).status, 404);
  EXPECT_EQ(call("DELETE", "/api/jobs/" + id, token("bob")).status, 404);
  EXPECT_TRUE(json(call("GET", "/api/jobs", token("bob"))).at("jobs").as_array().empty());
  EXPECT_EQ(call("DELETE", "/api/jobs/" + id, token()).status, 204);
  EXPECT_EQ(call("GET", "/api/jobs/" + id, token()).status, 404);
}

TEST_F(JobsTest, AFailedJobSaysWhy) {
  auto job = finished(submit("fail please"));
  EXPECT_EQ(job.at("status").as_string(), "FAILED");
  EXPECT_EQ(job.at("error").as_string(), "no agent is ready");
  EXPECT_FALSE(job.contains("result"));
}

TEST_F(JobsTest, JobInputAndTheActiveLimitAreChecked) {
  auto empty = call("POST", "/api/jobs", token(), R"({"query":""})");
  EXPECT_EQ(empty.status, 400);
  auto unknown = call("POST", "/api/jobs", token(), R"({"query":"x","agent_ids":["nope"]})");
  EXPECT_EQ(unknown.status, 400);
  // Two may wait or run at once per user (in these tests); the third is refused until one ends.
  std::string a = submit("gate j1"), b = submit("gate j2");
  auto third = call("POST", "/api/jobs", token(), R"({"query":"hello"})");
  EXPECT_EQ(third.status, 429) << third.body;
  EXPECT_NE(json(third).at("error").at("message").as_string().find("the limit is 2"),
            std::string::npos);
  EXPECT_EQ(call("POST", "/api/jobs", token("bob"), R"({"query":"hello"})").status, 202);
  turns_.open("j1");
  turns_.open("j2");
  EXPECT_EQ(finished(a).at("status").as_string(), "COMPLETED");
  EXPECT_EQ(finished(b).at("status").as_string(), "COMPLETED");
  EXPECT_EQ(call("POST", "/api/jobs", token(), R"({"query":"hello"})").status, 202);
}

TEST_F(ServiceTest, TheWebUiIsServedWithItsSecurityHeaders) {
  auto index = call("GET", "/", "");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>IDP agents</title>");
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("content-security-policy"), kContentSecurityPolicy);
  EXPECT_EQ(index.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(index.header("cache-control"), "no-cache");
  auto app = call("GET", "/app.js", "");
  EXPECT_EQ(app.status, 200);
  EXPECT_EQ(app.header("content-type"), "text/javascript; charset=utf-8");
  auto chunk = call("GET", "/chunks/chart-ABC123.js", "");
  EXPECT_EQ(chunk.status, 200);
  EXPECT_EQ(chunk.header("cache-control"), "public, max-age=31536000, immutable");
  for (std::string path : {"/missing.js", "/../secret.txt", "/chunks/../../secret.txt", "/.hidden",
                           "/chunks/", "/%2e%2e/secret.txt"}) {
    auto r = call("GET", path, "");
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body.find("not for the web"), std::string::npos) << path;
  }
}

TEST_F(ServiceTest, HealthAndReadiness) {
  auto h = call("GET", "/healthz", "");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok\n");
  auto r = call("GET", "/readyz", "");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json(r);
  EXPECT_TRUE(v.at("ready").as_bool());
  EXPECT_EQ(v.at("store").as_string(), "ok");
  EXPECT_EQ(v.at("agents").at("total").as_int64(), 2);
}

TEST_F(ServiceTest, MetricsCountRequestsTurnsToolsTokensAndAgents) {
  wait_agent_ready("echoer");
  std::string sid = new_session();
  auto body = [](const std::string& text) { return bj::serialize(bj::object{{"text", text}}); };
  ASSERT_EQ(call("POST", "/api/chat/sessions/" + sid + "/messages", token(), body("hello")).status,
            200);
  ASSERT_EQ(
      call("POST", "/api/chat/sessions/" + sid + "/messages", token(), body("tools please")).status,
      200);
  ASSERT_EQ(call("GET", "/api/chat/sessions/nope", token()).status, 404);
  auto m = call("GET", "/metrics", "");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  for (std::string line : {
           "idp_http_requests_total{route=\"/api/chat/sessions/{id}/messages\",status=\"200\"} 2",
           "idp_http_requests_total{route=\"/api/chat/sessions/{id}\",status=\"404\"} 1",
           "idp_http_requests_total{route=\"/api/chat/sessions\",status=\"201\"} 1",
           "idp_turn_duration_seconds_count{status=\"complete\"} 2",
           "idp_tool_call_duration_seconds_count{agent=\"echoer\",tool=\"echo_text\"} 2",
           "idp_tool_call_errors_total{agent=\"echoer\",tool=\"echo_text\"} 1",
           "idp_model_tokens_total{kind=\"input\"} 12",
           "idp_model_tokens_total{kind=\"output\"} 2",
           "idp_agents_ready 1",
           "idp_agents_unavailable 1",
           "idp_turns_running 0",
       }) {
    EXPECT_NE(m.body.find(line + "\n"), std::string::npos) << line << "\nin:\n" << m.body;
  }
  // The store's group commit: every store call counted, committed in no more transactions.
  auto value = [&](const std::string& name) {
    auto at = m.body.find("\n" + name + " ");
    EXPECT_NE(at, std::string::npos) << name << " in:\n" << m.body;
    return at == std::string::npos ? -1.0 : std::stod(m.body.substr(at + name.size() + 2));
  };
  double operations = value("idp_store_operations");
  double transactions = value("idp_store_transactions");
  EXPECT_GE(operations, 6);  // at least a session, two turns' starts and ends, and a read
  EXPECT_GE(transactions, 1);
  EXPECT_LE(transactions, operations);
}

}  // namespace
}  // namespace idp::service::test

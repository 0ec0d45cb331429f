#include "service_env.h"

#include <unistd.h>

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include <fstream>
#include <thread>

#include "idp/agents/secret_source.h"
#include "idp/core/json_util.h"

namespace idp::service::test {

namespace bj = boost::json;
using boost::asio::awaitable;

namespace {

bj::object cognito(auth::LocalCognito& idp, std::string_view op, const bj::object& body) {
  auto r = idp.handle(std::string("AWSCognitoIdentityProviderService.") + std::string(op),
                      bj::serialize(body));
  EXPECT_EQ(r.status, 200) << op << ": " << r.body;
  auto v = ::idp::json::parse(r.body);
  return v && v->is_object() ? v->get_object() : bj::object{};
}

// Polls `ready` until it holds (each poll waits for the service's answer); fails after 30 s.
void wait_for(const std::function<bool()>& ready, const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!ready()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "timed out waiting for " << what;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

void ServiceTest::SetUp() {
  dir_ = std::filesystem::temp_directory_path() /
         fmt::format("idp-service-{}-{}", ::getpid(),
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);

  idp_ = std::make_unique<auth::LocalCognito>((dir_ / "cognito").string());
  idp_http_ = std::make_unique<http::Server>(http::ServerOptions{});
  idp_->attach(*idp_http_);
  auto idp_port = idp_http_->start();
  ASSERT_TRUE(idp_port);
  idp_url_ = fmt::format("http://127.0.0.1:{}", *idp_port);
  idp_->set_issuer_base(idp_url_);
  pool_ = std::string(
      cognito(*idp_, "CreateUserPool", {{"PoolName", "web"}}).at("UserPool").at("Id").as_string());
  client_ = std::string(cognito(*idp_, "CreateUserPoolClient",
                                {{"UserPoolId", pool_},
                                 {"ClientName", "web-ui"},
                                 {"ExplicitAuthFlows", bj::array{"ALLOW_USER_PASSWORD_AUTH",
                                                                 "ALLOW_REFRESH_TOKEN_AUTH"}}})
                            .at("UserPoolClient")
                            .at("ClientId")
                            .as_string());
  for (std::string user : {"alice", "bob"}) {
    cognito(*idp_, "AdminCreateUser",
            {{"UserPoolId", pool_}, {"Username", user}, {"TemporaryPassword", "Temp0rary!x"}});
    cognito(*idp_, "AdminSetUserPassword",
            {{"UserPoolId", pool_},
             {"Username", user},
             {"Password", user + "-Passw0rd!"},
             {"Permanent", true}});
  }

  mcp_ = std::make_unique<mcp::Server>();
  mcp::Tool echo;
  echo.name = "echo_text";
  echo.description = "Echoes the text";
  ASSERT_TRUE(mcp_->add_tool(
      echo, [](const bj::object&, mcp::ToolContext&) -> awaitable<mcp::CallToolResult> {
        co_return mcp::CallToolResult::text("echo");
      }));
  mcp_http_ = std::make_unique<http::Server>(http::ServerOptions{});
  mcp_transport_ = std::make_unique<mcp::StreamableHttpServer>(*mcp_);
  mcp_transport_->attach(*mcp_http_);
  auto mcp_port = mcp_http_->start();
  ASSERT_TRUE(mcp_port);
  bj::array secret{bj::object{{"mcp_url", fmt::format("http://127.0.0.1:{}/mcp", *mcp_port)},
                              {"agent_id", "echoer"},
                              {"agent_name", "Echoer"},
                              {"agent_description", "Echoes text."},
                              {"auth", bj::object{{"type", "none"}}},
                              {"sample_queries", bj::array{"hello"}}},
                   // Nothing listens on port 9 of loopback: unavailable, with a fix.
                   bj::object{{"mcp_url", "http://127.0.0.1:9/mcp"},
                              {"agent_id", "gone"},
                              {"agent_name", "Gone"},
                              {"auth", bj::object{{"type", "none"}}},
                              {"timeout_seconds", 2}},
                   bj::object{{"agent_name", "Broken"}}};
  secret_ = bj::serialize(secret);

  store_path_ = (dir_ / "data" / "idp-agents.db").string();
  ui_dir_ = (dir_ / "ui").string();
  std::filesystem::create_directories(dir_ / "ui" / "chunks");
  std::ofstream(dir_ / "ui" / "index.html") << "<!doctype html><title>IDP agents</title>";
  std::ofstream(dir_ / "ui" / "app.js") << "console.log('app')";
  std::ofstream(dir_ / "ui" / "chunks" / "chart-ABC123.js") << "export{}";
  std::ofstream(dir_ / "secret.txt") << "not for the web";
  start_service();
}

void ServiceTest::TearDown() {
  turns_.open("stuck");  // let a stuck scripted turn end
  stop_service();
  mcp_http_->stop();
  mcp_http_->wait();
  idp_http_->stop();
  idp_http_->wait();
  std::filesystem::remove_all(dir_);
}

void ServiceTest::start_service(const std::function<void(ServiceOptions&)>& tweak) {
  ServiceOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.store_path = store_path_;
  o.user_pool_id = pool_;
  o.user_client_id = client_;
  o.cognito_endpoint = idp_url_;
  o.ui_dir = ui_dir_;
  o.model = llm::ModelInfo{.spec = "scripted", .provider = "test", .offline = true};
  o.cancel_grace = std::chrono::milliseconds(300);
  o.job_poll_interval = std::chrono::milliseconds(200);
  o.limits.max_sessions_per_user = 5;
  o.limits.max_active_jobs_per_user = 2;
  o.registry.refresh_interval = std::chrono::milliseconds(500);
  o.registry.retry_max = std::chrono::milliseconds(500);
  if (tweak) tweak(o);
  std::string secret = secret_;
  SecretFactory source =
      [secret](boost::asio::any_io_executor) -> Result<std::shared_ptr<agents::SecretSource>> {
    return std::make_shared<agents::MemorySecretSource>(secret, "test secret");
  };
  auto fn = turns_.function();
  service_ = std::make_unique<Service>(o, source,
                                       [fn](std::shared_ptr<agents::AgentRegistry>) { return fn; });
  auto port = service_->start();
  ASSERT_TRUE(port) << port.error().message();
  port_ = *port;
  wait_ready();
}

void ServiceTest::stop_service() {
  if (service_) service_->stop();
  service_.reset();
}

void ServiceTest::wait_ready() {
  wait_for([&] { return idp::test::request(port_, "GET", "/readyz", {}).status == 200; },
           "/readyz");
}

void ServiceTest::wait_agent_ready(const std::string& id) {
  std::string t = token();
  wait_for(
      [&] {
        auto r = call("GET", "/api/agents", t);
        auto v = json(r);
        if (!v.is_object()) return false;
        for (const auto& a : v.at("agents").as_array()) {
          if (a.at("agent_id").as_string() == id) return a.at("status").as_string() == "ready";
        }
        return false;
      },
      "agent " + id + " to be ready");
}

std::string ServiceTest::token(const std::string& user) {
  auto out = cognito(
      *idp_, "InitiateAuth",
      {{"AuthFlow", "USER_PASSWORD_AUTH"},
       {"ClientId", client_},
       {"AuthParameters", bj::object{{"USERNAME", user}, {"PASSWORD", user + "-Passw0rd!"}}}});
  return std::string(out.at("AuthenticationResult").at("AccessToken").as_string());
}

idp::test::RawResponse ServiceTest::call(const std::string& method, const std::string& target,
                                         const std::string& token,
                                         const std::optional<std::string>& body,
                                         std::vector<std::pair<std::string, std::string>> headers) {
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  if (body) headers.emplace_back("Content-Type", "application/json");
  return idp::test::request(port_, method, target, headers, body.value_or(""));
}

bj::value ServiceTest::json(const idp::test::RawResponse& r) {
  auto v = ::idp::json::parse(r.body);
  return v ? *v : bj::value();
}

std::string ServiceTest::new_session(const std::string& user, const std::string& body) {
  auto r = call("POST", "/api/chat/sessions", token(user), body);
  EXPECT_EQ(r.status, 201) << r.body;
  auto v = json(r);
  return v.is_object() ? std::string(v.at("session_id").as_string()) : "";
}

std::vector<bj::object> ServiceTest::events(const std::string& sse_body) {
  std::vector<bj::object> out;
  for (const auto& d : idp::test::sse_data(sse_body)) {
    auto v = ::idp::json::parse(d);
    if (v && v->is_object()) out.push_back(v->get_object());
  }
  return out;
}

}  // namespace idp::service::test

// The agent registry against real MCP servers started in this process on 127.0.0.1 (and the
// local Cognito-compatible identity provider): what a user of `agents list` would see. Agents
// become ready with their tools, unreachable servers are unavailable with a reason and recover
// on their own, edits of the secret show up, filters and prefixes hold, and tool-list changes
// are picked up.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "../../lib/reserved_port.h"
#include "idp/agents/registry.h"
#include "idp/auth/bearer_auth.h"
#include "idp/auth/local_cognito.h"
#include "idp/core/cancel.h"
#include "idp/core/cancel_wait.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"

namespace idp::agents {
namespace {

namespace bj = boost::json;
namespace net = boost::asio;
using net::awaitable;
using namespace std::chrono_literals;
using namespace net::experimental::awaitable_operators;

constexpr auto kEventGuard = 20s;  // how long a test waits for an event before it fails

// Holds the tools/list requests of the servers that share it until `release_at` of them are in
// flight at once (0: until release()), and records the most that were in flight together: the
// evidence that discovery asks its servers in parallel.
class ListGate {
 public:
  explicit ListGate(int release_at = 0) : release_at_(release_at) {}

  awaitable<void> pass() {
    std::shared_ptr<CancelSignal> open;
    {
      std::lock_guard lock(mu_);
      max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
      if (release_at_ > 0 && in_flight_ >= release_at_) open_->cancel();
      open = open_;
    }
    auto ex = co_await net::this_coro::executor;
    net::steady_timer guard(ex, kEventGuard);
    auto released = wait_cancelled(open);
    auto guard_fired = guard.async_wait(net::use_awaitable);
    co_await (std::move(released) || std::move(guard_fired));
    std::lock_guard lock(mu_);
    --in_flight_;
  }
  void release() { open_->cancel(); }
  int max_in_flight() const {
    std::lock_guard lock(mu_);
    return max_in_flight_;
  }

 private:
  const int release_at_;
  const std::shared_ptr<CancelSignal> open_ = std::make_shared<CancelSignal>();
  mutable std::mutex mu_;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
};

// An MCP server on 127.0.0.1 with tools that answer their own name ("add" adds a and b).
// tools/list can be held by a ListGate (through the authenticate hook, which sees every request).
class TestServer {
 public:
  explicit TestServer(std::vector<std::string> tools, mcp::Authenticator auth = {},
                      std::uint16_t port = 0)
      : gate_(std::make_shared<GateSlot>()) {
    server_ =
        std::make_unique<mcp::Server>(mcp::ServerOptions{.info = {"registry-test-server", "1.0"}});
    for (const auto& t : tools) add_tool(t);
    http::ServerOptions ho;
    ho.port = port;
    ho.shutdown_grace = 300ms;
    http_ = std::make_unique<http::Server>(ho);
    mcp::StreamableHttpOptions mo;
    mo.authenticate = [slot = gate_, inner = std::move(auth)](
                          const http::Request& req) -> awaitable<mcp::AuthResult> {
      std::shared_ptr<ListGate> gate = slot->get();
      if (gate && req.body().find("\"tools/list\"") != std::string_view::npos) {
        co_await gate->pass();
      }
      if (inner) {
        auto r = co_await inner(req);
        co_return r;
      }
      co_return mcp::Identity{};
    };
    transport_ = std::make_unique<mcp::StreamableHttpServer>(*server_, mo);
    transport_->attach(*http_);
    auto p = http_->start();
    if (!p) throw std::runtime_error(p.error().message());
    port_ = *p;
  }
  ~TestServer() { stop(); }

  void stop() {
    if (auto gate = gate_->get()) gate->release();
    if (stopped_) return;
    stopped_ = true;
    http_->stop();
    http_->wait();
  }

  void add_tool(const std::string& name) {
    mcp::Tool t;
    t.name = name;
    t.description = "the " + name + " tool";
    if (name == "add") {
      t.input_schema = ::idp::json::parse(R"({"type":"object","properties":{"a":{"type":"number"},
          "b":{"type":"number"}},"required":["a","b"]})")
                           ->as_object();
    }
    auto r = server_->add_tool(
        t, [name](const bj::object& args, mcp::ToolContext&) -> awaitable<mcp::CallToolResult> {
          if (name == "add") {
            double sum = args.at("a").to_number<double>() + args.at("b").to_number<double>();
            co_return mcp::CallToolResult::text(fmt::format("{}", sum));
          }
          co_return mcp::CallToolResult::text(name);
        });
    if (!r) throw std::runtime_error(r.error().message());
  }
  void remove_tool(const std::string& name) { server_->remove_tool(name); }
  void hold_tools_list(std::shared_ptr<ListGate> gate) { gate_->set(std::move(gate)); }

  std::uint16_t port() const { return port_; }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/mcp", port_); }

 private:
  struct GateSlot {
    std::shared_ptr<ListGate> get() {
      std::lock_guard lock(mu);
      return gate;
    }
    void set(std::shared_ptr<ListGate> g) {
      std::lock_guard lock(mu);
      gate = std::move(g);
    }
    std::mutex mu;
    std::shared_ptr<ListGate> gate;
  };
  std::shared_ptr<GateSlot> gate_;
  std::unique_ptr<mcp::Server> server_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<mcp::StreamableHttpServer> transport_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

// The 2024-11-05 HTTP+SSE transport, just enough for discovery: GET /sse streams an `endpoint`
// event and then the answers; POST /messages takes requests and answers 202.
class LegacySseServer {
 public:
  LegacySseServer() : state_(std::make_shared<Shared>()) {
    http::ServerOptions ho;
    ho.shutdown_grace = 300ms;
    http_ = std::make_unique<http::Server>(ho);
    http_->route("GET", "/sse",
                 [st = state_](const http::Request&, http::Responder& res) -> awaitable<void> {
                   http::Response head;
                   head.headers.add("Content-Type", "text/event-stream");
                   bool started = co_await res.start_stream(std::move(head));
                   if (!started) co_return;
                   std::string endpoint = "event: endpoint\ndata: /messages\n\n";
                   bool sent = co_await res.write(endpoint);
                   if (!sent) co_return;
                   auto ex = co_await net::this_coro::executor;
                   while (!res.stopping()) {
                     std::vector<std::string> out;
                     {
                       std::lock_guard lock(st->mu);
                       out.swap(st->queue);
                     }
                     for (const auto& m : out) {
                       std::string frame = "event: message\ndata: " + m + "\n\n";
                       bool ok = co_await res.write(frame);
                       if (!ok) co_return;
                     }
                     net::steady_timer tick(ex, 20ms);
                     co_await tick.async_wait(net::as_tuple(net::use_awaitable));
                   }
                   co_await res.finish();
                 });
    http_->route(
        "POST", "/messages",
        [st = state_](const http::Request& req, http::Responder& res) -> awaitable<void> {
          auto msg = ::idp::json::parse(req.body());
          if (msg && msg->is_object() && msg->as_object().contains("id")) {
            std::string method(msg->as_object().at("method").as_string());
            bj::object result;
            if (method == "initialize") {
              result =
                  ::idp::json::parse(R"({"protocolVersion":"2024-11-05","capabilities":{"tools":{}},
              "serverInfo":{"name":"legacy","version":"1"}})")
                      ->as_object();
            } else if (method == "tools/list") {
              result = ::idp::json::parse(
                           R"({"tools":[{"name":"legacy_tool","inputSchema":{"type":"object"}}]})")
                           ->as_object();
            }
            bj::object answer{{"jsonrpc", "2.0"},
                              {"id", msg->as_object().at("id")},
                              {"result", std::move(result)}};
            std::lock_guard lock(st->mu);
            st->queue.push_back(bj::serialize(answer));
          }
          http::Response accepted = http::Response::empty(202);
          co_await res.send(std::move(accepted));
        });
    port_ = http_->start().value();
  }
  ~LegacySseServer() {
    http_->stop();
    http_->wait();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/sse", port_); }

 private:
  struct Shared {
    std::mutex mu;
    std::vector<std::string> queue;
  };
  std::shared_ptr<Shared> state_;
  std::unique_ptr<http::Server> http_;
  std::uint16_t port_ = 0;
};

// An entry for a loopback server without credentials; `extra` is spliced in (",\"k\": v").
std::string open_entry(const std::string& url, std::string_view extra = {}) {
  return fmt::format(R"({{"mcp_url": "{}", "auth": {{"type": "none"}}{}}})", url, extra);
}

std::vector<std::string> names(const std::vector<mcp::Tool>& tools) {
  std::vector<std::string> out;
  for (const auto& t : tools) out.push_back(t.name);
  return out;
}

class AgentRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init(log::Level::kWarn);
    work_.emplace(ioc_.get_executor());
    runner_ = std::thread([this] { ioc_.run(); });
    options_.retry_initial = 100ms;
    options_.retry_max = 400ms;
    options_.refresh_interval = 30s;  // tests that want the periodic check shorten it
  }
  void TearDown() override {
    if (registry_) {
      await(registry_->stop());
      registry_.reset();
    }
    servers_.clear();
    work_.reset();
    ioc_.stop();
    runner_.join();
  }

  template <class T>
  T await(awaitable<T> op) {
    return net::co_spawn(ioc_, std::move(op), net::use_future).get();
  }
  void await(awaitable<void> op) { net::co_spawn(ioc_, std::move(op), net::use_future).get(); }

  TestServer& server(std::vector<std::string> tools, std::uint16_t port = 0) {
    servers_.push_back(std::make_unique<TestServer>(std::move(tools), mcp::Authenticator{}, port));
    return *servers_.back();
  }

  AgentRegistry& make(std::shared_ptr<SecretSource> source) {
    registry_ = std::make_unique<AgentRegistry>(ioc_.get_executor(), std::move(source), options_);
    return *registry_;
  }
  AgentRegistry& make(std::string secret) {
    return make(std::make_shared<MemorySecretSource>(std::move(secret)));
  }

  AgentInfo info(std::string_view id) {
    auto a = registry_->agent(id);
    EXPECT_TRUE(a.has_value()) << "no agent " << id << " in "
                               << bj::serialize(registry_->agents_json());
    return a.value_or(AgentInfo{});
  }

  // Polls until `cond` holds; `limit` only guards against a hang.
  static bool eventually(const std::function<bool()>& cond,
                         std::chrono::milliseconds limit = kEventGuard) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return cond();
  }

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::thread runner_;
  RegistryOptions options_;
  std::vector<std::unique_ptr<TestServer>> servers_;
  std::unique_ptr<AgentRegistry> registry_;
};

bj::object call_idp(auth::LocalCognito& idp, std::string_view op, const bj::object& body) {
  auto r = idp.handle(std::string("AWSCognitoIdentityProviderService.") + std::string(op),
                      bj::serialize(body));
  EXPECT_EQ(r.status, 200) << op << ": " << r.body;
  auto v = ::idp::json::parse(r.body);
  return v && v->is_object() ? v->get_object() : bj::object{};
}

TEST_F(AgentRegistryTest, CognitoProtectedServerIsReadyWithToolsAndDescription) {
  // The seed's set-up: a user pool, an app client with USER_PASSWORD_AUTH, a service user.
  auto dir = std::filesystem::temp_directory_path() / fmt::format("idp-registry-{}", ::getpid());
  std::filesystem::remove_all(dir);
  auth::LocalCognito idp(dir.string());
  http::Server idp_http(http::ServerOptions{});
  idp.attach(idp_http);
  auto idp_port = idp_http.start();
  ASSERT_TRUE(idp_port);
  idp.set_issuer_base(fmt::format("http://127.0.0.1:{}", *idp_port));
  std::string pool(
      call_idp(idp, "CreateUserPool", {{"PoolName", "mcp"}}).at("UserPool").at("Id").as_string());
  std::string client_id(
      call_idp(idp, "CreateUserPoolClient", {{"UserPoolId", pool}, {"ClientName", "idp"}})
          .at("UserPoolClient")
          .at("ClientId")
          .as_string());
  call_idp(idp, "AdminCreateUser",
           {{"UserPoolId", pool},
            {"Username", "mcp-service-user"},
            {"TemporaryPassword", "Temp0rary!"}});
  call_idp(idp, "AdminSetUserPassword",
           {{"UserPoolId", pool},
            {"Username", "mcp-service-user"},
            {"Password", "SecurePassword123!"},
            {"Permanent", true}});

  // The MCP server accepts only that pool's access tokens.
  auth::BearerAuthOptions ao;
  ao.rules.issuer = idp.issuer(pool);
  ao.rules.client_ids = {client_id};
  auth::BearerAuth bearer(ao);
  servers_.push_back(std::make_unique<TestServer>(std::vector<std::string>{"add", "echo"},
                                                  bearer.authenticator()));
  TestServer& protected_server = *servers_.back();

  std::string wrong = "Wr0ng-Password-Value";
  std::string secret = fmt::format(R"([
    {{"mcp_url": "{0}", "cognito_user_pool_id": "{1}", "cognito_client_id": "{2}",
      "cognito_username": "mcp-service-user", "cognito_password": "SecurePassword123!",
      "agent_name": "Calculator Agent", "agent_description": "Adds numbers."}},
    {{"mcp_url": "{0}", "cognito_user_pool_id": "{1}", "cognito_client_id": "{2}",
      "cognito_username": "mcp-service-user", "cognito_password": "{3}"}}
  ])",
                                   protected_server.url(), pool, client_id, wrong);
  options_.cognito_endpoint = fmt::format("http://127.0.0.1:{}/", *idp_port);
  options_.retry_initial = 5s;  // one attempt for the wrong password during this test
  auto& reg = make(secret);
  auto started = await(reg.start());
  ASSERT_TRUE(started) << started.error().message();

  auto calc = info("calculator_agent");
  EXPECT_EQ(calc.status, AgentStatus::kReady) << calc.reason;
  EXPECT_EQ(calc.agent_name, "Calculator Agent");
  EXPECT_EQ(calc.tools, (std::vector<std::string>{"add", "echo"}));
  EXPECT_EQ(calc.agent_description, "Adds numbers. The tools available are: add, echo.");
  EXPECT_EQ(calc.sample_queries, default_sample_queries());
  EXPECT_EQ(calc.auth, AuthType::kCognito);
  EXPECT_TRUE(calc.last_checked.has_value());
  ASSERT_NE(reg.client("calculator_agent"), nullptr);

  // The second entry (no name: numbered from 0 by position) cannot sign in.
  auto other = info("external-mcp-agent-1");
  EXPECT_EQ(other.agent_name, "External MCP Agent 2");
  EXPECT_EQ(other.status, AgentStatus::kUnavailable);
  EXPECT_NE(other.reason.find("Cognito rejected the username or password"), std::string::npos)
      << other.reason;
  EXPECT_TRUE(other.tools.empty());
  EXPECT_EQ(
      other.agent_description,
      "Agent which connects to external MCP servers to provide additional tools and capabilities.");
  EXPECT_EQ(reg.client("external-mcp-agent-1"), nullptr);

  // A tool call goes through with the agent's token.
  bj::object args{{"a", 2}, {"b", 3}};
  auto sum = await(reg.call_tool("calculator_agent", "add", std::move(args)));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->content.at(0).at("text").as_string(), "5");

  // No password anywhere a user could look.
  std::string everything = bj::serialize(reg.agents_json()) + bj::serialize(reg.findings_json());
  EXPECT_EQ(everything.find("SecurePassword123!"), std::string::npos);
  EXPECT_EQ(everything.find(wrong), std::string::npos);
  EXPECT_NE(everything.find("\"status\":\"ready\""), std::string::npos);

  await(reg.stop());
  idp_http.stop();
  idp_http.wait();
  std::filesystem::remove_all(dir);
}

TEST_F(AgentRegistryTest, ServersAreDiscoveredInParallel) {
  auto& a = server({"alpha"});
  auto& b = server({"beta"});
  // Each server holds tools/list until both are asked at once: discovery that asked one server
  // after the other would never get there.
  auto both = std::make_shared<ListGate>(2);
  a.hold_tools_list(both);
  b.hold_tools_list(both);
  auto& reg = make("[" + open_entry(a.url(), R"(, "agent_id": "a")") + "," +
                   open_entry(b.url(), R"(, "agent_id": "b")") + "]");
  ASSERT_TRUE(await(reg.start()));
  EXPECT_EQ(both->max_in_flight(), 2) << "the servers were not asked in parallel";
  EXPECT_EQ(info("a").status, AgentStatus::kReady) << info("a").reason;
  EXPECT_EQ(info("b").status, AgentStatus::kReady) << info("b").reason;
  EXPECT_EQ(reg.stats().discovery_attempts, 2u);
}

TEST_F(AgentRegistryTest, EachDiscoveryIsBoundedByItsTimeout) {
  auto& slow = server({"slow"});
  auto& fast = server({"fast"});
  slow.hold_tools_list(std::make_shared<ListGate>());  // never answers while the test runs
  options_.retry_initial = 10s;
  auto& reg = make("[" + open_entry(slow.url(), R"(, "agent_id": "slow", "timeout_seconds": 0.5)") +
                   "," + open_entry(fast.url(), R"(, "agent_id": "fast")") + "]");
  ASSERT_TRUE(await(reg.start()));  // returns although the slow server is still silent
  auto s = info("slow");
  EXPECT_EQ(s.status, AgentStatus::kUnavailable);
  // Whichever notices first (the request timeout or the discovery bound) says so with the URL.
  EXPECT_NE(s.reason.find(slow.url()), std::string::npos) << s.reason;
  EXPECT_TRUE(s.reason.find("no answer within 500 ms") != std::string::npos ||
              s.reason.find("no answer from " + slow.url() + " within 0.5 s") != std::string::npos)
      << s.reason;
  EXPECT_EQ(info("fast").status, AgentStatus::kReady);
}

TEST_F(AgentRegistryTest, AServerThatNeverAnswersIsCutOffByTheDefaultTimeout) {
  // Accepts the connection and the request, then says nothing: only the discovery bound ends it
  // (the MCP client's own request timeout is the 60 s default here).
  http::ServerOptions ho;
  ho.shutdown_grace = 200ms;
  http::Server silent(ho);
  auto hang_up = std::make_shared<CancelSignal>();  // the server answers only once the test ends
  silent.route("*", "/mcp",
               [hang_up](const http::Request&, http::Responder& res) -> awaitable<void> {
                 co_await wait_cancelled(hang_up);
                 http::Response r = http::Response::empty(500);
                 co_await res.send(std::move(r));
               });
  auto port = silent.start();
  ASSERT_TRUE(port);
  std::string url = fmt::format("http://127.0.0.1:{}/mcp", *port);
  options_.default_timeout = 500ms;
  options_.retry_initial = 10s;
  auto& reg = make("[" + open_entry(url, R"(, "agent_id": "silent")") + "]");
  ASSERT_TRUE(await(reg.start()));  // returns although the server never answers
  EXPECT_EQ(info("silent").reason, "no answer from " + url + " within 0.5 s (timeout_seconds)");
  await(reg.stop());
  hang_up->cancel();
  silent.stop();
  silent.wait();
}

TEST_F(AgentRegistryTest, DeadPortIsUnavailableThenReadyWithoutRestart) {
  test::ReservedPort late_port;   // comes up during the test
  test::ReservedPort never_port;  // stays down: its retries show time passing
  std::string url = fmt::format("http://127.0.0.1:{}/mcp", late_port.port());
  std::string never = fmt::format("http://127.0.0.1:{}/mcp", never_port.port());
  auto& reg = make("[" + open_entry(url, R"(, "agent_name": "Late Server")") + "," +
                   open_entry(never, R"(, "agent_id": "never")") + "]");
  ASSERT_TRUE(await(reg.start()));
  auto down = info("late_server");
  EXPECT_EQ(down.status, AgentStatus::kUnavailable);
  EXPECT_NE(down.reason.find(url), std::string::npos) << down.reason;
  EXPECT_NE(down.reason.find("connect"), std::string::npos) << down.reason;
  EXPECT_TRUE(down.last_checked.has_value());

  // The background retries keep failing quietly...
  ASSERT_TRUE(eventually([&] { return reg.stats().discovery_attempts >= 5; }));
  EXPECT_EQ(info("late_server").status, AgentStatus::kUnavailable);
  // ...until the server is there.
  late_port.release();
  server({"late_tool"}, late_port.port());
  ASSERT_TRUE(eventually([&] { return info("late_server").status == AgentStatus::kReady; }))
      << info("late_server").reason;
  EXPECT_EQ(info("late_server").tools, (std::vector<std::string>{"late_tool"}));
  EXPECT_EQ(info("late_server").reason, "");
  // No more attempts once ready, while the other agent is retried twice more.
  auto ready_checked = info("late_server").last_checked;
  auto never_checked = info("never").last_checked;
  ASSERT_TRUE(eventually([&] { return info("never").last_checked != never_checked; }));
  never_checked = info("never").last_checked;
  ASSERT_TRUE(eventually([&] { return info("never").last_checked != never_checked; }));
  EXPECT_EQ(info("late_server").last_checked, ready_checked);
  EXPECT_EQ(info("late_server").status, AgentStatus::kReady);
}

TEST_F(AgentRegistryTest, FileEditsShowAfterRefreshAndUnchangedAgentsKeepTheirConnection) {
  auto& one = server({"one_tool"});
  auto& two = server({"two_tool"});
  auto dir =
      std::filesystem::temp_directory_path() / fmt::format("idp-registry-file-{}", ::getpid());
  std::filesystem::create_directories(dir);
  std::string path = (dir / "agents.json").string();
  auto write = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
    ::chmod(path.c_str(), 0600);
  };
  std::string first = open_entry(one.url(), R"(, "agent_name": "First")");
  write("[" + first + "]");
  auto& reg = make(std::make_shared<FileSecretSource>(path));
  ASSERT_TRUE(await(reg.start()));
  ASSERT_EQ(reg.list_available_agents().size(), 1u);
  auto first_client = reg.client("first");
  ASSERT_NE(first_client, nullptr);
  auto v1 = reg.version();

  write("[" + first + "," + open_entry(two.url(), R"(, "agent_name": "Second")") + "]");
  ASSERT_TRUE(await(reg.refresh()));
  auto agents = reg.list_available_agents();
  ASSERT_EQ(agents.size(), 2u);
  EXPECT_EQ(agents[1].agent_id, "second");
  EXPECT_EQ(agents[1].status, AgentStatus::kReady) << agents[1].reason;
  EXPECT_EQ(agents[1].tools, (std::vector<std::string>{"two_tool"}));
  EXPECT_NE(reg.version(), v1);
  EXPECT_EQ(reg.client("first"), first_client);  // unchanged entry: same session, no reconnect
  EXPECT_EQ(reg.stats().discovery_attempts, 2u);

  // Removing the first entry removes its agent; refresh() without a change does nothing.
  write("[" + open_entry(two.url(), R"(, "agent_name": "Second")") + "]");
  ASSERT_TRUE(await(reg.refresh()));
  ASSERT_EQ(reg.list_available_agents().size(), 1u);
  EXPECT_EQ(reg.list_available_agents()[0].agent_id, "second");
  EXPECT_EQ(reg.client("first"), nullptr);
  ASSERT_TRUE(await(reg.refresh()));
  EXPECT_EQ(reg.stats().discovery_attempts, 2u);
  EXPECT_EQ(reg.stats().reloads, 3u);
  std::filesystem::remove_all(dir);
}

TEST_F(AgentRegistryTest, AnUnusableSecretKeepsThePreviousAgents) {
  auto& s = server({"t"});
  auto source = std::make_shared<MemorySecretSource>(
      "[" + open_entry(s.url(), R"(, "agent_id": "kept")") + "]");
  auto& reg = make(source);
  ASSERT_TRUE(await(reg.start()));
  auto client = reg.client("kept");
  ASSERT_NE(client, nullptr);

  source->set("[" + open_entry(s.url(), R"(, "agent_id": "kept")"));  // the closing ] is missing
  ASSERT_TRUE(await(reg.refresh()));
  EXPECT_EQ(info("kept").status, AgentStatus::kReady);
  EXPECT_EQ(reg.client("kept"), client);
  auto findings = reg.findings();
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_NE(findings[0].message.find("the secret is not valid JSON"), std::string::npos)
      << findings[0].message;
  EXPECT_EQ(findings[1].message,
            "keeping the 1 agent(s) of the previous version of the secret until it is fixed");

  // An empty array is a deliberate change: the agents go.
  source->set("[]");
  ASSERT_TRUE(await(reg.refresh()));
  EXPECT_TRUE(reg.list_available_agents().empty());
  EXPECT_TRUE(reg.findings().empty());
}

TEST_F(AgentRegistryTest, ChangesShowWithinOneRefreshInterval) {
  auto& s = server({"t"});
  auto dir =
      std::filesystem::temp_directory_path() / fmt::format("idp-registry-poll-{}", ::getpid());
  std::filesystem::create_directories(dir);
  std::string path = (dir / "agents.json").string();
  options_.refresh_interval = 300ms;
  // The file does not exist yet: start() reports it, the registry keeps looking.
  auto& reg = make(std::make_shared<FileSecretSource>(path));
  auto started = await(reg.start());
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().message(), "secret file " + path + " does not exist");
  auto findings = reg.findings();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].message, "cannot read the secret from file " + path + ": secret file " +
                                     path + " does not exist");

  std::ofstream(path) << "["
                      << open_entry(s.url(),
                                    R"(, "agent_id": "polled", "agent_description": "Old.")")
                      << "]";
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(eventually([&] { return reg.agent("polled").has_value(); }));
  EXPECT_TRUE(eventually([&] { return info("polled").status == AgentStatus::kReady; }));
  // The world-readable file is reported.
  findings = reg.findings();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, Severity::kWarning);
  EXPECT_NE(findings[0].message.find("readable by other users"), std::string::npos);

  std::ofstream(path, std::ios::trunc)
      << "[" << open_entry(s.url(), R"(, "agent_id": "polled", "agent_description": "New.")")
      << "]";
  EXPECT_TRUE(eventually([&] {
    return info("polled").agent_description == "New. The tools available are: t.";
  })) << info("polled").agent_description;
  std::filesystem::remove_all(dir);
}

TEST_F(AgentRegistryTest, AllowDenyAndPrefixShapeTheToolsAndTheCalls) {
  auto& s = server({"add", "subtract", "multiply", "get_report", "secret_admin"});
  auto& reg = make(
      "[" +
      open_entry(s.url(),
                 R"(, "agent_id": "calc", "tools_allow": ["add", "sub*", "secret_*", "get_?eport"],
      "tools_deny": ["secret_*"], "tool_prefix": "calc_")") +
      "]");
  ASSERT_TRUE(await(reg.start()));
  auto a = info("calc");
  ASSERT_EQ(a.status, AgentStatus::kReady) << a.reason;
  EXPECT_EQ(a.tools, (std::vector<std::string>{"calc_add", "calc_subtract", "calc_get_report"}));
  EXPECT_NE(a.agent_description.find(
                "The tools available are: calc_add, calc_subtract, calc_get_report."),
            std::string::npos);
  auto tools = reg.tools("calc");
  ASSERT_TRUE(tools);
  EXPECT_EQ(names(*tools), a.tools);
  EXPECT_TRUE((*tools)[0].input_schema.contains("properties"));  // the server's schema, unchanged

  bj::object args{{"a", 40}, {"b", 2}};
  auto ok = await(reg.call_tool("calc", "calc_add", std::move(args)));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->content.at(0).at("text").as_string(), "42");
  auto sub = await(reg.call_tool("calc", "calc_subtract", bj::object{}));
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->content.at(0).at("text").as_string(), "subtract");

  // Filtered or unprefixed names cannot be called.
  for (std::string name : {"calc_secret_admin", "calc_multiply", "add"}) {
    auto r = await(reg.call_tool("calc", name, bj::object{}));
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(r.error().message(), "agent 'calc' has no tool '" + name +
                                       "' (its tools: calc_add, calc_subtract, calc_get_report)");
  }
  auto unknown = await(reg.call_tool("nope", "calc_add", bj::object{}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(), "no agent 'nope' (known: calc)");
}

TEST_F(AgentRegistryTest, ToolListChangesAreListedAgain) {
  auto& s = server({"first"});
  auto& reg = make("[" + open_entry(s.url(), R"(, "agent_id": "live")") + "]");
  ASSERT_TRUE(await(reg.start()));
  ASSERT_EQ(info("live").tools, (std::vector<std::string>{"first"}));
  s.add_tool("second");
  ASSERT_TRUE(eventually([&] { return info("live").tools.size() == 2; }))
      << bj::serialize(reg.agents_json());
  EXPECT_EQ(info("live").agent_description,
            "Agent which connects to external MCP servers to provide additional tools and "
            "capabilities. The "
            "tools available are: first, second.");
  s.remove_tool("first");
  ASSERT_TRUE(eventually([&] { return info("live").tools == std::vector<std::string>{"second"}; }));
  EXPECT_GE(reg.stats().relists, 2u);
  EXPECT_EQ(reg.stats().discovery_attempts, 1u);  // the same session throughout
}

TEST_F(AgentRegistryTest, InvalidAndDisabledEntriesAndTheJsonView) {
  auto& s = server({"x"});
  std::string secret =
      "[" + open_entry(s.url(), R"(, "agent_name": "Good", "sample_queries": ["Do x"])") + "," +
      R"({"mcp_url": "http://remote.example.com/mcp", "cognito_password": "NotShownAnywhere"})" +
      "," + open_entry(s.url(), R"(, "agent_name": "Off", "enabled": false)") + "]";
  auto& reg = make(secret);
  ASSERT_TRUE(await(reg.start()));
  auto agents = reg.list_available_agents();
  ASSERT_EQ(agents.size(), 2u);
  EXPECT_EQ(agents[0].status, AgentStatus::kReady);
  EXPECT_EQ(agents[1].agent_id, "off");
  EXPECT_EQ(agents[1].status, AgentStatus::kDisabled);
  EXPECT_EQ(reg.stats().discovery_attempts, 1u);  // the disabled one is not contacted

  auto findings = reg.findings();
  ASSERT_FALSE(findings.empty());
  for (const auto& f : findings) EXPECT_EQ(f.index, 1) << f.message;
  EXPECT_NE(bj::serialize(reg.findings_json()).find("secret entry 2: mcp_url must use https://"),
            std::string::npos);

  auto json = reg.agents_json();
  ASSERT_EQ(json.size(), 2u);
  const auto& good = json[0].as_object();
  EXPECT_EQ(good.at("agent_id").as_string(), "good");
  EXPECT_EQ(good.at("agent_name").as_string(), "Good");
  EXPECT_EQ(good.at("agent_description").as_string(),
            "Agent which connects to external MCP servers to provide additional tools and "
            "capabilities. The "
            "tools available are: x.");
  EXPECT_EQ(good.at("sample_queries").as_array().at(0).as_string(), "Do x");
  EXPECT_EQ(good.at("status").as_string(), "ready");
  EXPECT_EQ(good.at("tools").as_array().at(0).as_string(), "x");
  std::string checked(good.at("last_checked").as_string());
  EXPECT_EQ(checked.size(), 20u) << checked;  // 2025-01-02T03:04:05Z
  EXPECT_EQ(checked.back(), 'Z');
  EXPECT_EQ(good.at("entry").as_int64(), 1);
  EXPECT_EQ(good.at("server").as_string(), s.url());
  EXPECT_EQ(json[1].as_object().at("status").as_string(), "disabled");
  EXPECT_TRUE(json[1].as_object().at("last_checked").is_null());
  std::string all = bj::serialize(json) + bj::serialize(reg.findings_json());
  EXPECT_EQ(all.find("NotShownAnywhere"), std::string::npos);

  auto off = await(reg.call_tool("off", "x", bj::object{}));
  ASSERT_FALSE(off);
  EXPECT_EQ(off.error().message(), "agent 'off' is disabled");
}

TEST_F(AgentRegistryTest, BearerTokensAndHeadersReachTheServer) {
  auto seen_header = std::make_shared<std::string>();
  auto mu = std::make_shared<std::mutex>();
  mcp::Authenticator check = [seen_header,
                              mu](const http::Request& req) -> awaitable<mcp::AuthResult> {
    {
      std::lock_guard lock(*mu);
      *seen_header = std::string(req.header("X-Team").value_or(""));
    }
    if (req.header("Authorization").value_or("") == "Bearer Static-Token-123")
      co_return mcp::Identity{};
    http::Response r = http::Response::json(401, R"({"error":"invalid_token"})");
    r.headers.add("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    co_return std::unexpected(std::move(r));
  };
  servers_.push_back(std::make_unique<TestServer>(std::vector<std::string>{"t"}, check));
  std::string url = servers_.back()->url();
  options_.retry_initial = 10s;
  auto& reg = make(fmt::format(R"([
      {{"mcp_url": "{0}", "agent_id": "good", "auth": {{"type": "bearer", "token": "Static-Token-123"}},
        "headers": {{"X-Team": "docs"}}}},
      {{"mcp_url": "{0}", "agent_id": "bad", "auth": {{"type": "bearer", "token": "Wrong-Token-456"}}}}])",
                               url));
  ASSERT_TRUE(await(reg.start()));
  EXPECT_EQ(info("good").status, AgentStatus::kReady) << info("good").reason;
  EXPECT_EQ(info("good").auth, AuthType::kBearer);
  auto bad = info("bad");
  EXPECT_EQ(bad.status, AgentStatus::kUnavailable);
  EXPECT_NE(bad.reason.find("HTTP 401"), std::string::npos) << bad.reason;
  EXPECT_EQ(bad.reason.find("Wrong-Token-456"), std::string::npos) << bad.reason;
  std::string all = bj::serialize(reg.agents_json());
  EXPECT_EQ(all.find("Static-Token-123"), std::string::npos);
  await(reg.stop());
  std::lock_guard lock(*mu);
  EXPECT_EQ(*seen_header, "docs");
}

TEST_F(AgentRegistryTest, SseEntriesUseTheLegacyTransportWithoutCognito) {
  LegacySseServer legacy;
  auto& reg = make(R"([{"mcp_url": ")" + legacy.url() +
                   R"(", "transport": "sse", "agent_name": "Old Server"}])");
  ASSERT_TRUE(await(reg.start()));
  auto a = info("old_server");
  EXPECT_EQ(a.status, AgentStatus::kReady) << a.reason;
  EXPECT_EQ(a.transport, Transport::kSse);
  EXPECT_EQ(a.auth, AuthType::kNone);
  EXPECT_EQ(a.tools, (std::vector<std::string>{"legacy_tool"}));
  EXPECT_TRUE(reg.findings().empty());
  await(reg.stop());
}

TEST_F(AgentRegistryTest, DestroyingARunningRegistryEndsItsBackgroundWork) {
  // A ready agent with an open stream, one in its retry loop, and the refresh loop: all of them
  // end when the registry goes away without stop() (LeakSanitizer checks the rest).
  auto& s = server({"x"});
  options_.refresh_interval = 200ms;
  auto& reg = make("[" + open_entry(s.url(), R"(, "agent_id": "up")") + "," +
                   open_entry("http://127.0.0.1:1/mcp", R"(, "agent_id": "down")") + "]");
  ASSERT_TRUE(await(reg.start()));
  ASSERT_EQ(info("up").status, AgentStatus::kReady);
  ASSERT_EQ(info("down").status, AgentStatus::kUnavailable);
  std::weak_ptr<mcp::Client> client = reg.client("up");
  registry_.reset();
  EXPECT_TRUE(eventually([&] { return client.expired(); }));
}

TEST_F(AgentRegistryTest, StopClosesSessionsAndCallsFailAfterwards) {
  auto& s = server({"x"});
  auto& reg = make("[" + open_entry(s.url(), R"(, "agent_id": "a")") + "]");
  ASSERT_TRUE(await(reg.start()));
  ASSERT_EQ(info("a").status, AgentStatus::kReady);
  await(reg.stop());
  EXPECT_EQ(info("a").status, AgentStatus::kUnavailable);
  EXPECT_EQ(info("a").reason, "the registry stopped");
  EXPECT_EQ(reg.client("a"), nullptr);
  auto r = await(reg.call_tool("a", "x", bj::object{}));
  EXPECT_FALSE(r);
}

}  // namespace
}  // namespace idp::agents

// bench-service-chat: what `idp-agents serve` adds to a chat turn, under load. N users at once,
// each signed in through the service (POST /api/auth/login against the local identity provider),
// each sending M messages one after the other in a new chat session and reading every turn's
// event stream to its end. Every turn is a real one: the service's turn manager and store, the
// agent loop (agents::AgentRunner) over the registry, two tool calls to an MCP server, and a fake
// model that answers each call after D ms (first the two tool uses, then the final text). For
// bench/service_chat.
//
//   bench-service-chat [--users 100] [--messages 5] [--model-delay-ms 20] [--rounds 3]
//
// Everything runs in this process on 127.0.0.1: the identity provider, the MCP server (one tool,
// `lookup`, answering at once), the service (its own threads) and the users (coroutines on one
// client thread). Per turn, the time the service adds is the turn's wall time as the user sees it
// (POST until the `final` event) minus the model's own time (measured inside the fake model for
// that question) minus the tools' own time (the longer of the two parallel calls, from their
// `tool_end` events). turns_per_s is the round's turns over its wall time. rss_kb_per_session is
// the growth of this process's resident memory over the whole run divided by the sessions it
// made (each with M answered turns, then idle): an upper bound, since the clients live in the
// same process.
//
// Premise, checked for every turn (else `BENCH service_chat INVALID <why>`, exit status 3): it
// ended with `final`, it made exactly two tool calls, the model spent at least two delays on it,
// and the added time is not negative.
//
// Last line (medians over the rounds; spread is that of added_p99_ms):
//   BENCH service_chat users=N turns_per_s=T added_p50_ms=A added_p99_ms=B rss_kb_per_session=R
//         model_delay_ms=D messages=M rounds=R spread=MIN-MAX
// Targets (reported, never enforced): added p99 under 5 ms, under 100 KB per idle session.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench_report.h"
#include "chat_client.h"
#include "idp/agents/agent_runner.h"
#include "idp/agents/secret_source.h"
#include "idp/auth/local_cognito.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/client.h"
#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"
#include "idp/service/service.h"

namespace bj = boost::json;
namespace net = boost::asio;
namespace llm = idp::llm;
using net::awaitable;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

constexpr std::string_view kBench = "service_chat";
using Client = idp::bench::ChatClient;
using Turn = idp::bench::ChatTurn;
constexpr const char* kPassword = "Bench-Passw0rd";

struct Options {
  int users = 100;
  int messages = 5;
  int delay_ms = 20;
  int rounds = 3;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "bench-service-chat: error: %s\n", why.c_str());
  std::exit(1);
}

// The model: each call waits the delay, then asks for two `lookup` calls when the newest user
// message is the question, else answers. Records its own time per question.
class FakeModel final : public llm::Model {
 public:
  explicit FakeModel(std::chrono::milliseconds delay) : delay_(delay) {
    info_.spec = "fake";
    info_.provider = "fake";
  }

  awaitable<idp::Result<llm::ModelResponse>> converse(const llm::ModelRequest& request,
                                                      const llm::StreamHandlers& handlers,
                                                      std::shared_ptr<idp::CancelSignal>) override {
    const auto start = Clock::now();
    net::steady_timer wait(co_await net::this_coro::executor, delay_);
    co_await wait.async_wait(net::use_awaitable);
    std::string question;
    bool has_results = false;
    for (const auto& m : request.messages) {
      if (m.role != llm::Role::kUser) continue;
      bool results = false;
      for (const auto& b : m.content) results |= std::holds_alternative<llm::ToolResultBlock>(b);
      if (!results) question = m.text();
      has_results = results;  // the newest user message decides
    }
    llm::ModelResponse r;
    r.message.role = llm::Role::kAssistant;
    if (!has_results && !request.tools.empty()) {
      for (int i = 0; i < 2; ++i) {
        llm::ToolUseBlock use{"use-" + std::to_string(i), request.tools.front().name,
                              bj::object{{"key", "k" + std::to_string(i)}}};
        if (handlers.on_tool_use) handlers.on_tool_use(use);
        r.message.content.emplace_back(std::move(use));
      }
      r.stop_reason = llm::StopReason::kToolUse;
    } else {
      if (handlers.on_text) handlers.on_text("Both keys are found.");
      r.message.content.emplace_back(llm::TextBlock{"Both keys are found."});
      r.stop_reason = llm::StopReason::kEndTurn;
    }
    r.usage = {10, 5};
    std::lock_guard lock(mu_);
    spent_[question] += Ms(Clock::now() - start).count();
    co_return r;
  }
  const llm::ModelInfo& info() const override { return info_; }

  // The time spent on the question the user asked (the agent loop may add to its text).
  double spent_ms(const std::string& question) {
    std::lock_guard lock(mu_);
    double ms = 0;
    for (const auto& [text, spent] : spent_) {
      if (text.find(question) != std::string::npos) ms += spent;
    }
    return ms;
  }

 private:
  std::chrono::milliseconds delay_;
  llm::ModelInfo info_;
  std::mutex mu_;
  std::map<std::string, double> spent_;
};

awaitable<idp::mcp::CallToolResult> lookup(const bj::object& args, idp::mcp::ToolContext&) {
  co_return idp::mcp::CallToolResult::text("value of " + std::string(args.at("key").as_string()));
}

std::int64_t rss_kb() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

bj::object cognito(idp::auth::LocalCognito& idp, std::string_view op, const bj::object& in) {
  auto r = idp.handle("AWSCognitoIdentityProviderService." + std::string(op), bj::serialize(in));
  auto v = idp::json::parse(r.body);
  if (r.status != 200 || !v || !v->is_object()) die(std::string(op) + ": " + r.body);
  return v->get_object();
}

awaitable<void> user(Client& c, std::string token, int round, int u, int messages,
                     std::vector<Turn>& out) {
  std::string body = "{\"agent_ids\":[\"bench\"]}";
  auto session = co_await idp::bench::chat_post(c, "/api/chat/sessions", std::move(body), token);
  if (!session) die(session.error().message());
  const std::string sid(session->at("session_id").as_string());
  for (int m = 0; m < messages; ++m) {
    std::string question = "Look up two keys for user " + std::to_string(u) + ", round " +
                           std::to_string(round) + ", message " + std::to_string(m);
    auto t = co_await idp::bench::chat_turn(c, sid, std::move(question), token);
    if (!t) die("a turn's stream failed: " + t.error().message());
    out.push_back(std::move(*t));
  }
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> int {
      if (i + 1 >= argc) die(a + " needs a value");
      int v = std::atoi(argv[++i]);
      if (v < 1) die(a + " must be a positive whole number");
      return v;
    };
    if (a == "--users")
      o.users = value();
    else if (a == "--messages")
      o.messages = value();
    else if (a == "--model-delay-ms")
      o.delay_ms = value();
    else if (a == "--rounds")
      o.rounds = value();
    else
      die("unknown option " + a);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  idp::log::init(idp::log::Level::kError);
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("bench-service-chat-" + std::to_string(::getpid())))
                              .string();
  std::filesystem::create_directories(dir);

  // The identity provider: one pool, the UI's app client, the users.
  auto idp = std::make_unique<idp::auth::LocalCognito>(dir + "/cognito");
  idp::http::Server idp_http(idp::http::ServerOptions{});
  idp->attach(idp_http);
  auto idp_port = idp_http.start();
  if (!idp_port) die(idp_port.error().message());
  const std::string cognito_url = "http://127.0.0.1:" + std::to_string(*idp_port);
  idp->set_issuer_base(cognito_url);
  const std::string pool(
      cognito(*idp, "CreateUserPool", {{"PoolName", "bench"}}).at("UserPool").at("Id").as_string());
  const std::string client(
      cognito(*idp, "CreateUserPoolClient", {{"UserPoolId", pool}, {"ClientName", "ui"}})
          .at("UserPoolClient")
          .at("ClientId")
          .as_string());
  for (int u = 0; u < opt.users; ++u) {
    const std::string name = "user" + std::to_string(u);
    cognito(*idp, "AdminCreateUser", {{"UserPoolId", pool}, {"Username", name}});
    cognito(
        *idp, "AdminSetUserPassword",
        {{"UserPoolId", pool}, {"Username", name}, {"Password", kPassword}, {"Permanent", true}});
  }

  // The MCP server.
  idp::mcp::ServerOptions so;
  so.info = idp::mcp::Implementation{"bench-tools", "1.0.0"};
  idp::mcp::Server mcp(so);
  idp::mcp::Tool tool;
  tool.name = "lookup";
  tool.description = "Looks up a key";
  tool.input_schema = {{"type", "object"},
                       {"properties", bj::object{{"key", bj::object{{"type", "string"}}}}},
                       {"required", bj::array{"key"}}};
  (void)mcp.add_tool(tool, lookup);
  idp::http::Server mcp_http(idp::http::ServerOptions{});
  idp::mcp::StreamableHttpServer transport(mcp, idp::mcp::StreamableHttpOptions{});
  transport.attach(mcp_http);
  auto mcp_port = mcp_http.start();
  if (!mcp_port) die(mcp_port.error().message());
  bj::array secret{bj::object{{"mcp_url", "http://127.0.0.1:" + std::to_string(*mcp_port) + "/mcp"},
                              {"agent_id", "bench"},
                              {"agent_name", "Bench"},
                              {"agent_description", "Looks up keys."},
                              {"auth", bj::object{{"type", "none"}}}}};

  // The service, with the real agent loop over the fake model.
  auto model = std::make_shared<FakeModel>(std::chrono::milliseconds(opt.delay_ms));
  idp::service::ServiceOptions o;
  o.port = 0;
  o.store_path = dir + "/service.db";
  o.user_pool_id = pool;
  o.user_client_id = client;
  o.cognito_endpoint = cognito_url;
  o.limits.max_sessions_per_user = opt.rounds + 10;
  o.model = model->info();
  const std::string secret_text = bj::serialize(secret);
  idp::service::Service svc(
      o,
      [secret_text](
          net::any_io_executor) -> idp::Result<std::shared_ptr<idp::agents::SecretSource>> {
        return std::make_shared<idp::agents::MemorySecretSource>(secret_text, "bench");
      },
      [model](std::shared_ptr<idp::agents::AgentRegistry> registry) -> idp::service::TurnFunction {
        auto runner = std::make_shared<idp::agents::AgentRunner>(std::move(registry), model);
        return [runner](idp::agents::TurnRequest r, idp::agents::EventSink s,
                        std::shared_ptr<idp::CancelSignal> c) {
          return runner->run_turn(std::move(r), std::move(s), std::move(c));
        };
      });
  auto port = svc.start();
  if (!port) die(port.error().message());

  net::io_context ioc;
  idp::http::ClientOptions co;
  co.max_idle_per_origin = static_cast<std::size_t>(opt.users) + 8;
  idp::http::Client http(ioc.get_executor(), co);
  Client c{http, "http://127.0.0.1:" + std::to_string(*port)};
  using idp::bench::block_on;

  // Sign-ins (not measured), and the agent ready before the first round.
  std::vector<std::string> tokens;
  for (int u = 0; u < opt.users; ++u) {
    bj::object in{{"username", "user" + std::to_string(u)}, {"password", kPassword}};
    auto login = block_on(ioc, idp::bench::chat_post(c, "/api/auth/login", bj::serialize(in), ""));
    if (!login) die(login.error().message());
    tokens.emplace_back(login->at("access_token").as_string());
  }
  for (int i = 0;; ++i) {
    auto a = svc.registry()->agent("bench");
    if (a && a->status == idp::agents::AgentStatus::kReady) break;
    if (i > 600) die("the bench agent never got ready: " + (a ? a->reason : std::string("absent")));
    net::steady_timer pause(ioc, std::chrono::milliseconds(50));
    pause.wait();
  }

  const std::int64_t rss_before = rss_kb();
  std::vector<double> tps, p50, p99;
  for (int round = 0; round < opt.rounds; ++round) {
    std::vector<std::vector<Turn>> turns(static_cast<std::size_t>(opt.users));
    const auto start = Clock::now();
    for (int u = 0; u < opt.users; ++u) {
      net::co_spawn(ioc, user(c, tokens[u], round, u, opt.messages, turns[u]), net::detached);
    }
    ioc.restart();
    ioc.run();
    const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    std::vector<double> added;
    for (const auto& per_user : turns) {
      if (per_user.size() != static_cast<std::size_t>(opt.messages)) {
        idp::bench::invalid(kBench, "a user did not finish its turns");
      }
      for (const auto& t : per_user) {
        const double model_ms = model->spent_ms(t.question);
        if (!t.final) idp::bench::invalid(kBench, "a turn did not end with final");
        if (t.tools != 2) {
          idp::bench::invalid(kBench,
                              "a turn made " + std::to_string(t.tools) + " tool calls, not 2");
        }
        if (model_ms < 2.0 * opt.delay_ms) {
          idp::bench::invalid(kBench, "the model spent " + idp::bench::fixed(model_ms, 1) +
                                          " ms on a turn, less than two delays");
        }
        const double a = t.wall_ms - model_ms - t.tool_ms;
        if (a < 0) idp::bench::invalid(kBench, "a turn took less than its model and tools");
        added.push_back(a);
      }
    }
    std::sort(added.begin(), added.end());
    tps.push_back(static_cast<double>(added.size()) / wall_s);
    p50.push_back(idp::bench::percentile(added, 50));
    p99.push_back(idp::bench::percentile(added, 99));
    std::fprintf(stderr, "round %d: %zu turns in %.2f s, added p50 %.2f ms p99 %.2f ms\n",
                 round + 1, added.size(), wall_s, p50.back(), p99.back());
  }
  const std::int64_t rss_after = rss_kb();
  const double sessions = static_cast<double>(opt.users) * opt.rounds;
  const double per_session =
      static_cast<double>(std::max<std::int64_t>(0, rss_after - rss_before)) / sessions;

  const auto p99s = idp::bench::spread_of(p99);
  idp::bench::BenchLine line(std::string{kBench});
  line.add("users", std::to_string(opt.users))
      .add("turns_per_s", idp::bench::spread_of(tps).median, 1)
      .add("added_p50_ms", idp::bench::spread_of(p50).median, 2)
      .add("added_p99_ms", p99s.median, 2)
      .add("rss_kb_per_session", per_session, 1)
      .add("model_delay_ms", std::to_string(opt.delay_ms))
      .add("messages", std::to_string(opt.messages))
      .add("rounds", std::to_string(opt.rounds))
      .add("spread", idp::bench::range(p99s, 2));
  svc.stop();
  mcp_http.stop();
  mcp_http.wait();
  idp_http.stop();
  idp_http.wait();
  std::filesystem::remove_all(dir);
  line.print();
  return 0;
}

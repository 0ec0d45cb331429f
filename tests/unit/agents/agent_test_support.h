// Test support for the agent loop: an MCP server on 127.0.0.1 whose tools behave as a test
// needs (answer, fail, wait to be cancelled, wait for a partner call, return a lot), a scripted
// llm::Model, and a fixture that runs a registry over such servers and an AgentRunner, collecting
// the events of a turn. Servers record what they saw (calls with their arguments and
// notifications/cancelled). Waits are for events, each guarded by kEventGuard against a hang.
// Test-only.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
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

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "idp/agents/agent_runner.h"
#include "idp/agents/registry.h"
#include "idp/core/cancel.h"
#include "idp/core/cancel_wait.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/server.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"

namespace idp::agents::test {

namespace bj = boost::json;
namespace net = boost::asio;
using net::awaitable;
using namespace std::chrono_literals;
using namespace net::experimental::awaitable_operators;

constexpr auto kEventGuard = std::chrono::seconds(20);

inline bj::object obj(std::string_view json) { return ::idp::json::parse(json)->as_object(); }

// Waits for `signal`, or kEventGuard; true when the signal fired.
inline awaitable<bool> wait_for(std::shared_ptr<CancelSignal> signal) {
  auto ex = co_await net::this_coro::executor;
  net::steady_timer guard(ex, kEventGuard);
  auto fired = wait_cancelled(signal);
  auto expired = guard.async_wait(net::as_tuple(net::use_awaitable));
  auto either = std::move(fired) || std::move(expired);
  auto which = co_await std::move(either);
  co_return which.index() == 0;
}

// What a tool of ToolServer does.
enum class Behaviour {
  kEcho,   // text "<name> <arguments as JSON>"
  kAdd,    // a + b, as text and structuredContent {"sum":...}
  kError,  // isError: true, text "<name> failed on purpose"
  kSlow,   // waits until cancelled (text "cancelled")
  kPair,   // waits until two kPair calls are in flight at once: "together" (else "alone")
  kBig,    // 50,000 bytes of text
};

struct SeenCall {
  std::string tool;
  bj::object arguments;
};

// An MCP server with tools of the behaviours above. `legacy_only`: it answers server/discover
// with HTTP 400, so clients use the initialize handshake (the era with notifications/cancelled).
class ToolServer {
 public:
  explicit ToolServer(bool legacy_only = false) : shared_(std::make_shared<Shared>()) {
    shared_->legacy_only = legacy_only;
    server_ = std::make_unique<mcp::Server>(mcp::ServerOptions{.info = {"agent-test-server", "1.0"}});
    http::ServerOptions ho;
    ho.shutdown_grace = 300ms;
    http_ = std::make_unique<http::Server>(ho);
    mcp::StreamableHttpOptions mo;
    mo.authenticate = [shared = shared_](const http::Request& req) {
      return authenticate(shared, std::string(req.body()));
    };
    transport_ = std::make_unique<mcp::StreamableHttpServer>(*server_, mo);
    transport_->attach(*http_);
  }
  ~ToolServer() { stop(); }

  void add(std::string name, Behaviour behaviour, std::string_view schema = R"({"type":"object"})",
           std::string description = {}) {
    mcp::Tool t;
    t.name = name;
    t.description = description.empty() ? "the " + name + " tool" : description;
    t.input_schema = obj(schema);
    auto r = server_->add_tool(t, [shared = shared_, name, behaviour](const bj::object& args,
                                                                      mcp::ToolContext& ctx) {
      return handle(shared, name, behaviour, args, ctx);
    });
    if (!r) throw std::runtime_error(r.error().message());
  }
  void add_adder(std::string name = "add") {
    add(std::move(name), Behaviour::kAdd,
        R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},
            "required":["a","b"]})");
  }

  void start() {
    auto p = http_->start();
    if (!p) throw std::runtime_error(p.error().message());
    port_ = *p;
  }
  void stop() {
    if (stopped_ || port_ == 0) return;
    stopped_ = true;
    http_->stop();
    http_->wait();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/mcp", port_); }
  std::vector<SeenCall> calls() const {
    std::lock_guard lock(shared_->mu);
    return shared_->calls;
  }
  int cancelled_notifications() const {
    std::lock_guard lock(shared_->mu);
    return shared_->cancel_notes;
  }
  // Fires when a notifications/cancelled arrives, or a kSlow call sees its cancellation.
  std::shared_ptr<CancelSignal> cancel_seen() const { return shared_->cancel_seen; }
  std::shared_ptr<CancelSignal> slow_call_cancelled() const { return shared_->slow_cancelled; }
  // Fires when the first tool call arrives.
  std::shared_ptr<CancelSignal> call_seen() const { return shared_->call_seen; }

 private:
  struct Shared {
    mutable std::mutex mu;
    bool legacy_only = false;
    std::vector<SeenCall> calls;
    int cancel_notes = 0;
    int pairs_in_flight = 0;
    std::shared_ptr<CancelSignal> pair_met = std::make_shared<CancelSignal>();
    std::shared_ptr<CancelSignal> cancel_seen = std::make_shared<CancelSignal>();
    std::shared_ptr<CancelSignal> slow_cancelled = std::make_shared<CancelSignal>();
    std::shared_ptr<CancelSignal> call_seen = std::make_shared<CancelSignal>();
  };

  static awaitable<std::expected<mcp::Identity, http::Response>> authenticate(
      std::shared_ptr<Shared> shared, std::string body) {
    if (body.find("\"notifications/cancelled\"") != std::string::npos) {
      {
        std::lock_guard lock(shared->mu);
        ++shared->cancel_notes;
      }
      shared->cancel_seen->cancel();
    }
    if (shared->legacy_only && body.find("\"server/discover\"") != std::string::npos) {
      co_return std::unexpected(http::Response::text(400, "unknown method"));
    }
    co_return mcp::Identity{};
  }

  static awaitable<mcp::CallToolResult> handle(std::shared_ptr<Shared> shared, std::string name,
                                               Behaviour behaviour, bj::object args,
                                               mcp::ToolContext& ctx) {
    {
      std::lock_guard lock(shared->mu);
      shared->calls.push_back({name, args});
    }
    shared->call_seen->cancel();
    switch (behaviour) {
      case Behaviour::kEcho:
        co_return mcp::CallToolResult::text(name + " " + bj::serialize(args));
      case Behaviour::kAdd: {
        double sum = args.at("a").to_number<double>() + args.at("b").to_number<double>();
        mcp::CallToolResult r = mcp::CallToolResult::text(fmt::format("{}", sum));
        r.structured_content = bj::object{{"sum", sum}};
        co_return r;
      }
      case Behaviour::kError:
        co_return mcp::CallToolResult::error(name + " failed on purpose");
      case Behaviour::kSlow: {
        // Ends when the call is cancelled (notifications/cancelled, the session's end) or the
        // server stops; kEventGuard only bounds a hang.
        bool slept = co_await ctx.sleep(kEventGuard);
        if (!slept) {
          shared->slow_cancelled->cancel();
          co_return mcp::CallToolResult::text("cancelled");
        }
        co_return mcp::CallToolResult::text("nobody cancelled");
      }
      case Behaviour::kPair: {
        std::shared_ptr<CancelSignal> met;
        {
          std::lock_guard lock(shared->mu);
          if (++shared->pairs_in_flight >= 2) shared->pair_met->cancel();
          met = shared->pair_met;
        }
        bool together = co_await wait_for(met);
        co_return mcp::CallToolResult::text(together ? "together" : "alone");
      }
      case Behaviour::kBig:
        co_return mcp::CallToolResult::text(std::string(50'000, 'x'));
    }
    co_return mcp::CallToolResult::error("no behaviour");
  }

  std::shared_ptr<Shared> shared_;
  std::unique_ptr<mcp::Server> server_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<mcp::StreamableHttpServer> transport_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

// One scripted model answer.
struct Step {
  std::string text;                       // streamed in pieces of 4 bytes
  std::vector<llm::ToolUseBlock> uses;    // tool uses (ids made up when empty)
  bool hang = false;                      // wait until cancelled (answers kCancelled)
  bool deaf = false;                      // with hang: ignore cancellation until release()
  std::optional<Error> error;
  llm::Usage usage{100, 10};
};

inline llm::ToolUseBlock use(std::string name, std::string_view input = "{}") {
  return llm::ToolUseBlock{"", std::move(name), obj(input)};
}

// The tool results of the last message of a request, as text (each result's text blocks).
inline std::vector<std::string> last_results(const llm::ModelRequest& request) {
  std::vector<std::string> out;
  if (request.messages.empty()) return out;
  for (const auto& b : request.messages.back().content) {
    if (auto* r = std::get_if<llm::ToolResultBlock>(&b)) {
      out.push_back((r->is_error ? "ERROR " : "") + llm::tool_result_text(*r));
    }
  }
  return out;
}

// A model that answers by a script: a function of the request (called under a lock, so the
// requests of parallel sub-agents are seen one at a time).
class ScriptedModel final : public llm::Model {
 public:
  using Script = std::function<Step(const llm::ModelRequest&)>;
  explicit ScriptedModel(Script script) : shared_(std::make_shared<Shared>()) {
    shared_->script = std::move(script);
    info_.spec = "scripted";
    info_.provider = "test";
    info_.model_id = "scripted";
  }

  awaitable<Result<llm::ModelResponse>> converse(const llm::ModelRequest& request,
                                                 const llm::StreamHandlers& handlers,
                                                 std::shared_ptr<CancelSignal> cancel) override {
    Step step;
    {
      std::lock_guard lock(shared_->mu);
      shared_->requests.push_back(request);
      step = shared_->script(request);
      for (auto& u : step.uses) {
        if (u.id.empty()) u.id = "toolu_" + std::to_string(++shared_->ids);
      }
    }
    if (step.hang) {
      shared_->hanging->cancel();
      auto until = step.deaf ? shared_->release : cancel;
      bool woke = co_await wait_for(until);
      if (!woke) co_return make_error(ErrorCode::kTimeout, "scripted model: nothing woke it");
      co_return make_error(ErrorCode::kCancelled, "scripted model: cancelled");
    }
    if (step.error) co_return std::unexpected(*step.error);
    llm::ModelResponse r;
    r.message.role = llm::Role::kAssistant;
    for (std::size_t i = 0; i < step.text.size(); i += 4) {
      if (handlers.on_text) handlers.on_text(std::string_view(step.text).substr(i, 4));
    }
    if (!step.text.empty()) r.message.content.push_back(llm::TextBlock{step.text});
    for (auto& u : step.uses) {
      if (handlers.on_tool_use) handlers.on_tool_use(u);
      r.message.content.push_back(u);
    }
    r.stop_reason = step.uses.empty() ? llm::StopReason::kEndTurn : llm::StopReason::kToolUse;
    r.usage = step.usage;
    co_return r;
  }
  const llm::ModelInfo& info() const override { return info_; }

  std::vector<llm::ModelRequest> requests() const {
    std::lock_guard lock(shared_->mu);
    return shared_->requests;
  }
  // Fires when a step hangs.
  std::shared_ptr<CancelSignal> hanging() const { return shared_->hanging; }
  void release() { shared_->release->cancel(); }

 private:
  struct Shared {
    mutable std::mutex mu;
    Script script;
    std::vector<llm::ModelRequest> requests;
    int ids = 0;
    std::shared_ptr<CancelSignal> hanging = std::make_shared<CancelSignal>();
    std::shared_ptr<CancelSignal> release = std::make_shared<CancelSignal>();
  };
  std::shared_ptr<Shared> shared_;
  llm::ModelInfo info_;
};

// A turn's outcome: its events in order and the runner's result.
struct Outcome {
  std::vector<Event> events;
  TurnResult result;

  std::vector<Event> of_type(std::string_view type) const {
    std::vector<Event> out;
    for (const auto& e : events) {
      if (event_type(e) == type) out.push_back(e);
    }
    return out;
  }
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.emplace_back(event_type(e));
    return out;
  }
  std::string dump() const {
    std::string out;
    for (const auto& e : events) out += bj::serialize(e) + "\n";
    return out;
  }
};

// Servers, a registry over them (an entry per server: {"agent_name": name}), and turns.
class AgentLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init(log::Level::kWarn);
    work_.emplace(ioc_.get_executor());
    threads_.emplace_back([this] { ioc_.run(); });
    threads_.emplace_back([this] { ioc_.run(); });  // turns must not rely on one thread
  }
  void TearDown() override {
    if (registry_) {
      net::co_spawn(ioc_, registry_->stop(), net::use_future).get();
    }
    runner_.reset();
    registry_.reset();
    servers_.clear();
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }

  ToolServer& server(bool legacy_only = false) {
    servers_.push_back(std::make_unique<ToolServer>(legacy_only));
    return *servers_.back();
  }

  // Starts the servers and a registry with one agent per (name, server); waits until every
  // agent is ready.
  void start_agents(const std::vector<std::pair<std::string, ToolServer*>>& agents,
                    std::shared_ptr<llm::Model> model, LoopLimits limits = {}) {
    std::string secret = "[";
    for (const auto& [name, srv] : agents) {
      srv->start();
      if (secret.size() > 1) secret += ",";
      secret += fmt::format(
          R"({{"mcp_url":"{}","auth":{{"type":"none"}},"agent_name":"{}",
               "agent_description":"{} does things.","sample_queries":["ask {}"]}})",
          srv->url(), name, name, name);
    }
    secret += "]";
    RegistryOptions options;
    options.refresh_interval = 60s;
    registry_ = std::make_shared<AgentRegistry>(
        ioc_.get_executor(), std::make_shared<MemorySecretSource>(secret), options);
    auto started = net::co_spawn(ioc_, registry_->start(), net::use_future).get();
    ASSERT_TRUE(started) << started.error().message();
    for (const auto& a : registry_->list_available_agents()) {
      ASSERT_EQ(a.status, AgentStatus::kReady) << a.agent_id << ": " << a.reason;
    }
    runner_ = std::make_unique<AgentRunner>(registry_, std::move(model), limits);
  }

  // Starts a turn; `on_event` sees each event as it is emitted (on the turn's strand).
  struct Running {
    std::shared_ptr<Outcome> out;
    std::future<TurnResult> result;
    Outcome get() {
      out->result = result.get();
      return *out;
    }
  };
  Running start_turn(TurnRequest request, std::shared_ptr<CancelSignal> cancel = nullptr,
                     std::function<void(const Event&)> on_event = {}) {
    auto out = std::make_shared<Outcome>();
    EventSink sink = [out, on_event](Event e) {
      if (on_event) on_event(e);
      out->events.push_back(std::move(e));
    };
    auto result =
        net::co_spawn(ioc_, runner_->run_turn(std::move(request), sink, cancel), net::use_future);
    return Running{out, std::move(result)};
  }
  Outcome ask(TurnRequest request) { return start_turn(std::move(request)).get(); }
  Outcome ask(std::string question, std::vector<std::string> agent_ids = {}) {
    TurnRequest r;
    r.question = std::move(question);
    r.agent_ids = std::move(agent_ids);
    return ask(std::move(r));
  }
  // Blocks until `signal` fires (false after kEventGuard).
  bool wait_signal(std::shared_ptr<CancelSignal> signal) {
    return net::co_spawn(ioc_, wait_for(std::move(signal)), net::use_future).get();
  }

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<ToolServer>> servers_;
  std::shared_ptr<AgentRegistry> registry_;
  std::unique_ptr<AgentRunner> runner_;
};

}  // namespace idp::agents::test

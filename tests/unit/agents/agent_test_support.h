// Test support for the agent loop: a scripted llm::Model, and a fixture that runs a registry over
// ToolServers (tests/lib/agent_tool_server.h) and an AgentRunner, collecting the events of a
// turn. Waits are for events, each guarded by kEventGuard against a hang. Test-only.
#pragma once

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <optional>
#include <thread>

#include "../../lib/agent_tool_server.h"  // ToolServer, kEventGuard, wait_for, obj; bj, net
#include "idp/agents/agent_runner.h"
#include "idp/agents/registry.h"
#include "idp/core/log.h"

namespace idp::agents::test {

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

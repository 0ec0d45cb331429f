// ToolServer: an MCP server on 127.0.0.1 whose tools behave as a test of the agent loop needs
// (answer, add, fail, wait to be cancelled, wait for a partner call, return a lot, run as an MCP
// task). It records what it saw (calls with their arguments, notifications/cancelled,
// tasks/cancel) and can tell an observer.
// Used by the in-process agent loop tests (tests/unit/agents) and by the agent-test-server
// fixture that the end-to-end scripts start. Waits are guarded by kEventGuard against a hang.
// Test-only.
#pragma once

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "idp/core/cancel.h"
#include "idp/core/cancel_wait.h"
#include "idp/core/json_util.h"
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
  kEcho,    // text "<name> <arguments as JSON>"
  kAdd,     // a + b, as text and structuredContent {"sum":...}
  kError,   // isError: true, text "<name> failed on purpose"
  kSlow,    // waits until cancelled (text "cancelled")
  kPair,    // waits until two kPair calls are in flight at once: "together" (else "alone")
  kBig,     // 50,000 bytes of text
  kStream,  // logs "working" (notifications/message), then waits as kSlow: with a session (the
            // initialize era) the answer is an SSE stream that stays open until the call ends
  // Tools that allow tasks (taskSupport "optional"; the server's poll interval is 20 ms):
  kTask,      // as a task: reports "step 1 of 3" .. "step 3 of 3" (statusMessage), then "done"
  kTaskSlow,  // as a task: waits as kSlow (tasks/cancel ends it)
};

struct SeenCall {
  std::string tool;
  bj::object arguments;
};

// An MCP server with tools of the behaviours above. `legacy_only`: it answers server/discover
// with HTTP 400, so clients use the initialize handshake (the era with notifications/cancelled).
class ToolServer {
 public:
  // `observer` hears "call NAME" for each call and "notifications/cancelled" (from any thread;
  // set it before start()).
  explicit ToolServer(bool legacy_only = false, std::uint16_t port = 0,
                      std::function<void(const std::string&)> observer = {})
      : shared_(std::make_shared<Shared>()) {
    shared_->legacy_only = legacy_only;
    shared_->observer = std::move(observer);
    mcp::ServerOptions so{.info = {"agent-test-server", "1.0"}};
    so.tasks.poll_interval = 20ms;
    server_ = std::make_unique<mcp::Server>(std::move(so));
    http::ServerOptions ho;
    ho.shutdown_grace = 300ms;
    ho.port = port;
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
    if (behaviour == Behaviour::kTask || behaviour == Behaviour::kTaskSlow) {
      t.task_support = mcp::TaskSupport::kOptional;
    }
    auto r = server_->add_tool(
        t, [shared = shared_, name, behaviour](const bj::object& args, mcp::ToolContext& ctx) {
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
  // Fires when a tasks/cancel arrives.
  std::shared_ptr<CancelSignal> task_cancel_seen() const { return shared_->task_cancel_seen; }

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
    std::shared_ptr<CancelSignal> task_cancel_seen = std::make_shared<CancelSignal>();
    std::function<void(const std::string&)> observer;  // "call NAME", "notifications/cancelled",
                                                       // "tasks/cancel"
  };

  static awaitable<mcp::AuthResult> authenticate(std::shared_ptr<Shared> shared, std::string body) {
    if (body.find("\"notifications/cancelled\"") != std::string::npos) {
      {
        std::lock_guard lock(shared->mu);
        ++shared->cancel_notes;
      }
      shared->cancel_seen->cancel();
      if (shared->observer) shared->observer("notifications/cancelled");
    }
    if (body.find("\"tasks/cancel\"") != std::string::npos) {
      shared->task_cancel_seen->cancel();
      if (shared->observer) shared->observer("tasks/cancel");
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
    if (shared->observer) shared->observer("call " + name);
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
      case Behaviour::kTask: {
        for (int step = 1; step <= 3; ++step) {
          ctx.progress(step, 3, fmt::format("step {} of 3", step));
          if (!co_await ctx.sleep(60ms)) co_return mcp::CallToolResult::text("cancelled");
        }
        co_return mcp::CallToolResult::text("done");
      }
      case Behaviour::kTaskSlow: {
        bool slept = co_await ctx.sleep(kEventGuard);
        if (!slept) {
          shared->slow_cancelled->cancel();
          co_return mcp::CallToolResult::text("cancelled");
        }
        co_return mcp::CallToolResult::text("nobody cancelled");
      }
      case Behaviour::kStream: {
        ctx.log(mcp::LogLevel::kInfo, bj::value("working"));
        bool slept = co_await ctx.sleep(kEventGuard);
        co_return mcp::CallToolResult::text(slept ? "nobody cancelled" : "cancelled");
      }
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

}  // namespace idp::agents::test

// bench-agent-turn: our side of bench/agent_turn. Runs agent turns one after another, for a
// given time, with AgentRunner over one MCP server (an agent of a one-entry secret, discovered
// once, as the service keeps it) and the OpenAI-compatible model at a fake base URL, and prints
//
//   turns=N seconds=S per_s=X rss_mb=R tool_calls=C
//
// rss_mb is this process's peak resident set (VmHWM). Premise, checked for every turn (else the
// line is `invalid=<why>` and the exit status 3): the turn answered, with exactly
// --expect-calls tool calls that all succeeded.
//
//   bench-agent-turn --base-url URL --mcp-url URL --question TEXT [--seconds 3] [--expect-calls 3]
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "idp/agents/agent_runner.h"
#include "idp/agents/registry.h"
#include "idp/agents/secret_source.h"
#include "idp/core/log.h"
#include "idp/llm/providers.h"

namespace net = boost::asio;
using net::awaitable;

namespace {

struct Options {
  std::string base_url;
  std::string mcp_url;
  std::string question;
  double seconds = 3;
  int expect_calls = 3;
};

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

struct Count {
  int tool_ends = 0;
  int failed_tools = 0;
  bool final_seen = false;
};

awaitable<int> bench(Options o) {
  auto ex = co_await net::this_coro::executor;
  std::string secret = fmt::format(
      R"([{{"mcp_url":"{}","auth":{{"type":"none"}},"agent_name":"Bench"}}])", o.mcp_url);
  idp::agents::RegistryOptions ro;
  ro.listen = false;
  auto registry = std::make_shared<idp::agents::AgentRegistry>(
      ex, std::make_shared<idp::agents::MemorySecretSource>(secret), ro);
  auto started = co_await registry->start();
  auto agents = registry->list_available_agents();
  if (!started || agents.size() != 1 || agents[0].status != idp::agents::AgentStatus::kReady) {
    std::printf("invalid=the-agent-is-not-ready\n");
    co_await registry->stop();
    co_return 3;
  }
  idp::llm::ModelOptions mo;
  mo.openai_base_url = o.base_url;
  auto model = idp::llm::make_openai_model("fake-model", ex, mo);
  if (!model) {
    std::fprintf(stderr, "error: %s\n", model.error().message().c_str());
    co_return 1;
  }
  idp::agents::AgentRunner runner(registry, *model);

  auto start = std::chrono::steady_clock::now();
  auto until = start + std::chrono::duration<double>(o.seconds);
  long turns = 0;
  long calls = 0;
  std::string invalid;
  while (std::chrono::steady_clock::now() < until) {
    auto count = std::make_shared<Count>();
    idp::agents::EventSink sink = [count](idp::agents::Event e) {
      std::string_view type = idp::agents::event_type(e);
      if (type == "tool_end") {
        ++count->tool_ends;
        if (e.at("is_error").as_bool()) ++count->failed_tools;
      }
      if (type == "final") count->final_seen = true;
    };
    idp::agents::TurnRequest request;
    request.question = o.question;
    auto turn = runner.run_turn(std::move(request), sink);
    idp::agents::TurnResult result = co_await std::move(turn);
    if (!result.ok || !count->final_seen) {
      invalid = "a-turn-failed:" + (result.error ? result.error->message() : std::string("?"));
      break;
    }
    if (count->tool_ends != o.expect_calls || count->failed_tools != 0) {
      invalid = fmt::format("a-turn-made-{}-tool-calls-{}-failed", count->tool_ends,
                            count->failed_tools);
      break;
    }
    ++turns;
    calls += count->tool_ends;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  co_await registry->stop();
  if (!invalid.empty()) {
    for (char& c : invalid) c = c == ' ' ? '-' : c;
    std::printf("invalid=%s\n", invalid.c_str());
    co_return 3;
  }
  std::printf("turns=%ld seconds=%.3f per_s=%.2f rss_mb=%.1f tool_calls=%ld\n", turns, seconds,
              static_cast<double>(turns) / seconds, peak_rss_mb(), calls);
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench-agent-turn: agent turns per second (our side of bench/agent_turn)"};
  Options o;
  app.add_option("--base-url", o.base_url, "the fake model's base URL (.../v1)")->required();
  app.add_option("--mcp-url", o.mcp_url, "the MCP server")->required();
  app.add_option("--question", o.question, "the scripted question")->required();
  app.add_option("--seconds", o.seconds, "how long to run turns")->check(CLI::PositiveNumber);
  app.add_option("--expect-calls", o.expect_calls, "tool calls every turn must make");
  CLI11_PARSE(app, argc, argv);
  idp::log::init(idp::log::Level::kWarn);
  net::io_context ioc;
  int rc = 1;
  net::co_spawn(ioc, bench(o), [&rc](std::exception_ptr e, int r) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "error: %s\n", ex.what());
      }
      rc = 1;
    } else {
      rc = r;
    }
  });
  ioc.run();
  return rc;
}

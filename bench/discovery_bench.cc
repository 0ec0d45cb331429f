// bench/discovery: agent discovery of N MCP servers that each delay `initialize` by D ms,
// with our registry (every entry at once) against a sequential loop doing the same work with our
// own client, one server after the other (what the Python reference does). Both sides do
// initialize + tools/list per server over Streamable HTTP on 127.0.0.1.
//
//   bench-discovery [--servers 20] [--delay-ms 200] [--rounds 3]
//
// The servers run in this process, each its own idp::http::Server on a free loopback port,
// with an authenticate hook that holds every `initialize` for the delay (a slow server's
// handshake, the cost the reference pays N times). Each side is run `rounds` times; the best
// wall time of each is reported. Last line:
//   BENCH discovery servers=N parallel_ms=P sequential_ms=S speedup=X one_server_ms=O
// Target: parallel_ms within 1.5x of one server's time (one_server_ms, measured the same way).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "idp/agents/registry.h"
#include "idp/agents/secret_source.h"
#include "idp/core/log.h"
#include "idp/http/server.h"
#include "idp/mcp/client.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"

namespace bj = boost::json;
namespace net = boost::asio;
using net::awaitable;
using Clock = std::chrono::steady_clock;

namespace {

struct SlowServer {
  std::unique_ptr<idp::mcp::Server> mcp;
  std::unique_ptr<idp::http::Server> http;
  std::unique_ptr<idp::mcp::StreamableHttpServer> transport;
  std::string url;
};

std::unique_ptr<SlowServer> start_server(int index, std::chrono::milliseconds delay) {
  auto s = std::make_unique<SlowServer>();
  idp::mcp::ServerOptions so;
  so.info = idp::mcp::Implementation{"slow-" + std::to_string(index), "1.0.0"};
  s->mcp = std::make_unique<idp::mcp::Server>(so);
  for (const char* name : {"lookup", "summarize", "extract"}) {
    idp::mcp::Tool t;
    t.name = name;
    t.description = std::string("The ") + name + " tool";
    (void)s->mcp->add_tool(t, [](const bj::object&, idp::mcp::ToolContext&) -> awaitable<idp::mcp::CallToolResult> {
      co_return idp::mcp::CallToolResult::text("ok");
    });
  }
  idp::http::ServerOptions ho;
  ho.threads = 1;
  s->http = std::make_unique<idp::http::Server>(ho);
  idp::mcp::StreamableHttpOptions mo;
  mo.authenticate = [delay](const idp::http::Request& req) -> awaitable<std::expected<idp::mcp::Identity, idp::http::Response>> {
    if (req.body().find("\"initialize\"") != std::string_view::npos) {
      net::steady_timer t(co_await net::this_coro::executor, delay);
      co_await t.async_wait(net::use_awaitable);
    }
    co_return idp::mcp::Identity{};
  };
  s->transport = std::make_unique<idp::mcp::StreamableHttpServer>(*s->mcp, mo);
  s->transport->attach(*s->http);
  auto port = s->http->start();
  if (!port) {
    std::fprintf(stderr, "bench-discovery: cannot start a server: %s\n", port.error().message().c_str());
    std::exit(1);
  }
  s->url = "http://127.0.0.1:" + std::to_string(*port) + "/mcp";
  return s;
}

std::string secret_for(const std::vector<std::unique_ptr<SlowServer>>& servers, std::size_t n) {
  bj::array entries;
  for (std::size_t i = 0; i < n; ++i) {
    entries.push_back(bj::object{{"mcp_url", servers[i]->url},
                                 {"agent_name", "Slow " + std::to_string(i)},
                                 {"auth", bj::object{{"type", "none"}}}});
  }
  return bj::serialize(entries);
}

template <class F>
double run_ms(F body) {
  net::io_context ioc;
  double ms = 0;
  net::co_spawn(ioc, [&]() -> awaitable<void> {
    auto t0 = Clock::now();
    co_await body(ioc.get_executor());
    ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }, net::detached);
  ioc.run();
  return ms;
}

// Our registry: start() discovers every entry at once; returns the number ready.
double registry_ms(const std::string& secret, std::size_t expect_ready) {
  return run_ms([&](net::any_io_executor ex) -> awaitable<void> {
    auto source = std::make_shared<idp::agents::MemorySecretSource>(secret);
    idp::agents::RegistryOptions o;
    o.listen = false;
    idp::agents::AgentRegistry registry(ex, source, o);
    auto ok = co_await registry.start();
    std::size_t ready = 0;
    for (const auto& a : registry.list_available_agents()) ready += a.status == idp::agents::AgentStatus::kReady;
    if (!ok || ready != expect_ready) {
      std::fprintf(stderr, "bench-discovery: the registry made %zu of %zu agents ready\n", ready, expect_ready);
      std::exit(1);
    }
    co_await registry.stop();
  });
}

// The reference's way: one server after the other, connect + tools/list each.
double sequential_ms(const std::vector<std::unique_ptr<SlowServer>>& servers, std::size_t n) {
  return run_ms([&](net::any_io_executor ex) -> awaitable<void> {
    for (std::size_t i = 0; i < n; ++i) {
      idp::mcp::ClientOptions o;
      o.listen = false;
      idp::mcp::Client c(ex, servers[i]->url, o);
      auto ok = co_await c.connect();
      if (!ok) {
        std::fprintf(stderr, "bench-discovery: %s\n", ok.error().message().c_str());
        std::exit(1);
      }
      auto tools = co_await c.list_tools();
      if (!tools || tools->size() != 3) {
        std::fprintf(stderr, "bench-discovery: sequential discovery of %s failed\n", servers[i]->url.c_str());
        std::exit(1);
      }
      co_await c.close();
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 20;
  long delay_ms = 200;
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench-discovery: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::strtol(argv[++i], nullptr, 10);
    };
    if (a == "--servers") n = static_cast<std::size_t>(std::clamp(value(), 1L, 200L));
    else if (a == "--delay-ms") delay_ms = std::clamp(value(), 0L, 10'000L);
    else if (a == "--rounds") rounds = static_cast<int>(std::clamp(value(), 1L, 20L));
    else {
      std::fprintf(stderr, "usage: bench-discovery [--servers 20] [--delay-ms 200] [--rounds 3]\n");
      return 2;
    }
  }
  idp::log::init(idp::log::Level::kError);
  std::vector<std::unique_ptr<SlowServer>> servers;
  for (std::size_t i = 0; i < n; ++i) servers.push_back(start_server(static_cast<int>(i), std::chrono::milliseconds(delay_ms)));

  const std::string all = secret_for(servers, n);
  const std::string one = secret_for(servers, 1);
  double best_parallel = 1e18, best_sequential = 1e18, best_one = 1e18;
  for (int r = 0; r < rounds; ++r) {
    best_one = std::min(best_one, registry_ms(one, 1));
    best_parallel = std::min(best_parallel, registry_ms(all, n));
    best_sequential = std::min(best_sequential, sequential_ms(servers, n));
  }
  std::printf("%-34s %10s\n", "discovery (best of rounds)", "wall ms");
  std::printf("%-34s %10.1f\n", "one server, registry", best_one);
  std::printf("%-34s %10.1f\n", ("registry, " + std::to_string(n) + " servers at once").c_str(), best_parallel);
  std::printf("%-34s %10.1f\n", ("sequential loop, " + std::to_string(n) + " servers").c_str(), best_sequential);
  std::printf("parallel / one server = %.2f (target <= 1.5)\n", best_parallel / best_one);
  std::printf("BENCH discovery servers=%zu parallel_ms=%.0f sequential_ms=%.0f speedup=%.1f one_server_ms=%.0f\n", n,
              best_parallel, best_sequential, best_sequential / best_parallel, best_one);
  for (auto& s : servers) s->http->stop();
  for (auto& s : servers) s->http->wait();
  return 0;
}

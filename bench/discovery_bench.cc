// bench-discovery: agent discovery of N MCP servers that each hold the first request of either
// protocol era (`server/discover` for 2026-07-28, `initialize` for the legacy era) for D ms, with
// our registry (every entry at once) against a sequential loop doing the same work with our own
// client, one server after the other (what the Python reference does). Both sides do the
// handshake + tools/list per server over Streamable HTTP on 127.0.0.1. For bench/discovery.
//
//   bench-discovery [--servers 20] [--delay-ms 200] [--rounds 5] [--no-server-delay]
//
// The servers run in this process, each its own idp::http::Server on a free loopback port, with
// an authenticate hook that holds every handshake request for the delay (a slow server's
// handshake, the cost the reference pays N times) and notes when each handshake and tools/list
// arrived. Each round runs three measurements in an order rotated every round: the registry on
// one server, the registry on all N, the sequential loop on all N.
//
// Premise, checked for every discovery of every round (else `BENCH discovery INVALID <why>`,
// exit status 3): the server saw a handshake and then a tools/list at least the delay later, and
// every measured wall time is at least the delay (the sequential loop: each discovery, and N
// times the delay in all). --no-server-delay makes the servers answer at once while the
// benchmark still expects the delay: the way to see that a benchmark which stopped measuring
// says so (bench-smoke does).
//
// Last line (medians over the rounds; spread is that of parallel_vs_one):
//   BENCH discovery servers=N delay_ms=D parallel_ms=P sequential_ms=S one_server_ms=O
//         parallel_vs_one=X speedup=Y speedup_spread=.. rounds=R spread=MIN-MAX
// Target: parallel_vs_one <= 1.5 (20 servers at once within 1.5x of one server's time).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench_report.h"
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
using Ms = std::chrono::duration<double, std::milli>;

namespace {

constexpr std::string_view kBench = "discovery";

// What one server saw during one measurement.
struct Seen {
  int handshakes = 0;
  int lists = 0;
  std::optional<Clock::time_point> first_handshake;
  std::optional<Clock::time_point> first_list;
};

struct SlowServer {
  std::unique_ptr<idp::mcp::Server> mcp;
  std::unique_ptr<idp::http::Server> http;
  std::unique_ptr<idp::mcp::StreamableHttpServer> transport;
  std::string url;
  std::mutex mutex;
  Seen seen;  // guarded by mutex

  void reset() {
    std::lock_guard lock(mutex);
    seen = {};
  }
  Seen snapshot() {
    std::lock_guard lock(mutex);
    return seen;
  }
};

// The JSON-RPC method of a request body ("" when it has none).
std::string method_of(std::string_view body) {
  bj::error_code ec;
  bj::value v = bj::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const bj::value* m = v.as_object().if_contains("method");
  return m != nullptr && m->is_string() ? std::string(m->as_string()) : std::string();
}

std::unique_ptr<SlowServer> start_server(int index, std::chrono::milliseconds delay,
                                         bool delay_handshakes) {
  auto s = std::make_unique<SlowServer>();
  idp::mcp::ServerOptions so;
  so.info = idp::mcp::Implementation{"slow-" + std::to_string(index), "1.0.0"};
  s->mcp = std::make_unique<idp::mcp::Server>(so);
  for (const char* name : {"lookup", "summarize", "extract"}) {
    idp::mcp::Tool t;
    t.name = name;
    t.description = std::string("The ") + name + " tool";
    (void)s->mcp->add_tool(
        t, [](const bj::object&, idp::mcp::ToolContext&) -> awaitable<idp::mcp::CallToolResult> {
          co_return idp::mcp::CallToolResult::text("ok");
        });
  }
  idp::http::ServerOptions ho;
  ho.threads = 1;
  s->http = std::make_unique<idp::http::Server>(ho);
  idp::mcp::StreamableHttpOptions mo;
  SlowServer* self = s.get();
  mo.authenticate = [self, delay, delay_handshakes](
                        const idp::http::Request& req) -> awaitable<idp::mcp::AuthResult> {
    const std::string method = method_of(req.body());
    const bool handshake = method == "server/discover" || method == "initialize";
    {
      std::lock_guard lock(self->mutex);
      const auto now = Clock::now();
      if (handshake) {
        ++self->seen.handshakes;
        if (!self->seen.first_handshake) self->seen.first_handshake = now;
      } else if (method == "tools/list") {
        ++self->seen.lists;
        if (!self->seen.first_list) self->seen.first_list = now;
      }
    }
    if (handshake && delay_handshakes) {
      net::steady_timer t(co_await net::this_coro::executor, delay);
      co_await t.async_wait(net::use_awaitable);
    }
    co_return idp::mcp::Identity{};
  };
  s->transport = std::make_unique<idp::mcp::StreamableHttpServer>(*s->mcp, mo);
  s->transport->attach(*s->http);
  auto port = s->http->start();
  if (!port) {
    std::fprintf(stderr, "bench-discovery: cannot start a server: %s\n",
                 port.error().message().c_str());
    std::exit(1);
  }
  s->url = "http://127.0.0.1:" + std::to_string(*port) + "/mcp";
  return s;
}

using Servers = std::vector<std::unique_ptr<SlowServer>>;

std::string secret_for(const Servers& servers, std::size_t n) {
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
  net::co_spawn(
      ioc,
      [&]() -> awaitable<void> {
        auto t0 = Clock::now();
        co_await body(ioc.get_executor());
        ms = Ms(Clock::now() - t0).count();
      },
      net::detached);
  ioc.run();
  return ms;
}

// Our registry: start() discovers every entry at once.
double registry_ms(const std::string& secret, std::size_t expect_ready) {
  return run_ms([&](net::any_io_executor ex) -> awaitable<void> {
    auto source = std::make_shared<idp::agents::MemorySecretSource>(secret);
    idp::agents::RegistryOptions o;
    o.listen = false;
    idp::agents::AgentRegistry registry(ex, source, o);
    auto ok = co_await registry.start();
    std::size_t ready = 0;
    std::string reason;
    for (const auto& a : registry.list_available_agents()) {
      if (a.status == idp::agents::AgentStatus::kReady) {
        ++ready;
      } else if (reason.empty()) {
        reason = a.agent_name + ": " + a.reason;
      }
    }
    co_await registry.stop();
    if (!ok || ready != expect_ready) {
      idp::bench::invalid(kBench, "the registry made " + std::to_string(ready) + " of " +
                                      std::to_string(expect_ready) + " agents ready (" +
                                      (ok ? reason : ok.error().message()) + ")");
    }
  });
}

// The reference's way: one server after the other, connect + tools/list each. Each discovery's
// wall time goes to `each_ms`.
double sequential_ms(const Servers& servers, std::size_t n, std::vector<double>& each_ms) {
  each_ms.clear();
  return run_ms([&](net::any_io_executor ex) -> awaitable<void> {
    for (std::size_t i = 0; i < n; ++i) {
      const auto t0 = Clock::now();
      idp::mcp::ClientOptions o;
      o.listen = false;
      idp::mcp::Client c(ex, servers[i]->url, o);
      auto ok = co_await c.connect();
      if (!ok) idp::bench::invalid(kBench, "sequential connect: " + ok.error().message());
      auto tools = co_await c.list_tools();
      if (!tools || tools->size() != 3) {
        idp::bench::invalid(kBench, "sequential discovery of " + servers[i]->url + " failed");
      }
      each_ms.push_back(Ms(Clock::now() - t0).count());
      co_await c.close();
    }
  });
}

// The premise of one measurement over servers [0, n): each saw a handshake and, at least the
// delay later, a tools/list.
void check_servers(const Servers& servers, std::size_t n, double delay_ms,
                   const std::string& what) {
  for (std::size_t i = 0; i < n; ++i) {
    const Seen s = servers[i]->snapshot();
    const std::string who = what + ", server " + std::to_string(i);
    if (s.handshakes == 0 || !s.first_handshake) {
      idp::bench::invalid(kBench, who +
                                      ": no server/discover or initialize request arrived, so "
                                      "nothing was delayed");
    }
    if (s.lists == 0 || !s.first_list) idp::bench::invalid(kBench, who + ": no tools/list arrived");
    const double gap = Ms(*s.first_list - *s.first_handshake).count();
    if (gap < delay_ms) {
      idp::bench::invalid(kBench, who + ": tools/list came " + idp::bench::fixed(gap, 1) +
                                      " ms after the handshake, less than the " +
                                      idp::bench::fixed(delay_ms, 0) +
                                      " ms delay (the handshake was not delayed)");
    }
  }
}

void check_wall(double ms, double at_least_ms, const std::string& what) {
  if (ms < at_least_ms) {
    idp::bench::invalid(kBench, what + " took " + idp::bench::fixed(ms, 1) + " ms, less than the " +
                                    idp::bench::fixed(at_least_ms, 0) + " ms its delays add up to");
  }
}

long parse_long(const char* text, const char* flag, long lo, long hi) {
  char* rest = nullptr;
  const long v = std::strtol(text, &rest, 10);
  if (rest == text || *rest != '\0' || v < lo || v > hi) {
    std::fprintf(stderr, "bench-discovery: %s must be a whole number from %ld to %ld, got '%s'\n",
                 flag, lo, hi, text);
    std::exit(2);
  }
  return v;
}

constexpr const char* kUsage =
    "usage: bench-discovery [--servers 20] [--delay-ms 200] [--rounds 5] [--no-server-delay]\n";

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 20;
  long delay_ms = 200;
  int rounds = 5;
  bool server_delay = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](long lo, long hi) -> long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench-discovery: %s needs a value\n%s", a.c_str(), kUsage);
        std::exit(2);
      }
      return parse_long(argv[++i], a.c_str(), lo, hi);
    };
    if (a == "--servers") {
      n = static_cast<std::size_t>(value(1, 200));
    } else if (a == "--delay-ms") {
      delay_ms = value(1, 10'000);
    } else if (a == "--rounds") {
      rounds = static_cast<int>(value(1, 99));
    } else if (a == "--no-server-delay") {
      server_delay = false;
    } else if (a == "-h" || a == "--help") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "bench-discovery: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  idp::log::init(idp::log::Level::kError);
  const auto delay = std::chrono::milliseconds(delay_ms);
  const auto d = static_cast<double>(delay_ms);
  Servers servers;
  for (std::size_t i = 0; i < n; ++i) {
    servers.push_back(start_server(static_cast<int>(i), delay, server_delay));
  }

  const std::string all = secret_for(servers, n);
  const std::string one = secret_for(servers, 1);
  std::vector<double> one_ms, parallel_ms, seq_ms, ratio, speedup, each;
  for (int r = 0; r < rounds; ++r) {
    const std::string round = "round " + std::to_string(r + 1);
    double o = 0, p = 0, s = 0;
    for (int k = 0; k < 3; ++k) {
      for (auto& srv : servers) srv->reset();
      switch ((r + k) % 3) {
        case 0:
          o = registry_ms(one, 1);
          check_servers(servers, 1, d, round + ", registry on one server");
          check_wall(o, d, round + ", registry on one server");
          break;
        case 1:
          p = registry_ms(all, n);
          check_servers(servers, n, d, round + ", registry on all servers");
          check_wall(p, d, round + ", registry on all servers");
          break;
        default:
          s = sequential_ms(servers, n, each);
          check_servers(servers, n, d, round + ", sequential loop");
          for (std::size_t i = 0; i < each.size(); ++i) {
            check_wall(each[i], d, round + ", sequential discovery of server " + std::to_string(i));
          }
          check_wall(s, d * static_cast<double>(n), round + ", the sequential loop");
          break;
      }
    }
    one_ms.push_back(o);
    parallel_ms.push_back(p);
    seq_ms.push_back(s);
    ratio.push_back(p / o);
    speedup.push_back(s / p);
  }
  for (auto& s : servers) s->http->stop();
  for (auto& s : servers) s->http->wait();

  using idp::bench::fixed;
  const auto one_s = idp::bench::spread_of(one_ms), par_s = idp::bench::spread_of(parallel_ms),
             seq_s = idp::bench::spread_of(seq_ms), ratio_s = idp::bench::spread_of(ratio),
             speed_s = idp::bench::spread_of(speedup);
  std::printf(
      "discovery: %zu servers, each holding its handshake %ld ms; %d rounds (order rotated "
      "each round)\n",
      n, delay_ms, rounds);
  std::printf("%-34s %10s %18s\n", "", "median ms", "min-max ms");
  std::printf("%-34s %10.1f %18s\n", "one server, registry", one_s.median,
              idp::bench::range(one_s, 1).c_str());
  std::printf("%-34s %10.1f %18s\n",
              ("registry, " + std::to_string(n) + " servers at once").c_str(), par_s.median,
              idp::bench::range(par_s, 1).c_str());
  std::printf("%-34s %10.1f %18s\n", ("sequential loop, " + std::to_string(n) + " servers").c_str(),
              seq_s.median, idp::bench::range(seq_s, 1).c_str());
  std::printf("parallel / one server = %.2f, spread %s (target <= 1.5)\n", ratio_s.median,
              idp::bench::range(ratio_s, 2).c_str());
  idp::bench::BenchLine line("discovery");
  line.add("servers", std::to_string(n))
      .add("delay_ms", std::to_string(delay_ms))
      .add("parallel_ms", par_s.median, 0)
      .add("sequential_ms", seq_s.median, 0)
      .add("one_server_ms", one_s.median, 0)
      .add("parallel_vs_one", ratio_s.median, 2)
      .add("speedup", speed_s.median, 1)
      .add("speedup_spread", idp::bench::range(speed_s, 1))
      .add("rounds", std::to_string(rounds))
      .add("spread", idp::bench::range(ratio_s, 2));
  line.print();
  return 0;
}

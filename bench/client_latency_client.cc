// bench-client-latency: sequential tools/call rate of idp::mcp::Client, for bench/client_latency.
//
//   bench-client-latency <url> <seconds> [<warm-up seconds>]
//
// Connects to the MCP server at <url> (ClientOptions.listen = false: no standalone GET stream),
// then calls the `add` tool with {a: 2, b: 3} over and over, one call in flight, first for a
// warm-up (default 1 s, not measured), then for <seconds> (positive numbers, fractions
// allowed; a warm-up of 0 is none). Every
// result must have structuredContent.sum == 5 and isError false; a failed or wrong call ends the
// program with exit status 1 and a message on stderr. On success it prints one line to stdout:
//
//   calls=N seconds=S calls_per_s=R p50_us=.. p99_us=..
//
// where S is the measured wall time (from the first measured call's start to the last one's
// end) and p50/p99 are per-call latencies in microseconds. Built only on the public idp::mcp
// client API, on a single-threaded io_context.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "bench_report.h"
#include "idp/mcp/client.h"

namespace bj = boost::json;
using boost::asio::awaitable;
using Clock = std::chrono::steady_clock;
using namespace idp;

namespace {

// Empty when the result is the expected one, else what is wrong with it.
std::string check_result(const Result<mcp::CallToolResult>& r) {
  if (!r) return "call failed: " + r.error().message();
  if (r->is_error) return "isError is true: " + bj::serialize(bj::value_from(*r));
  if (!r->structured_content) return "no structuredContent: " + bj::serialize(bj::value_from(*r));
  const bj::value* sum = r->structured_content->if_contains("sum");
  if (sum == nullptr || !sum->is_number()) {
    return "structuredContent has no numeric sum: " + bj::serialize(bj::value_from(*r));
  }
  bj::error_code ec;
  const double v = sum->to_number<double>(ec);
  if (ec || v != 5.0) return "structuredContent.sum is not 5: " + bj::serialize(bj::value_from(*r));
  return {};
}

awaitable<int> run(std::string url, double seconds, double warmup) {
  auto ex = co_await boost::asio::this_coro::executor;
  mcp::ClientOptions opt;
  opt.info = {"bench-client-latency", "1.0.0"};
  opt.listen = false;
  mcp::Client client(ex, url, opt);
  auto connected = co_await client.connect();
  if (!connected) {
    std::fprintf(stderr, "bench-client-latency: connect: %s\n",
                 connected.error().message().c_str());
    co_return 1;
  }

  const std::string tool = "add";
  const std::string_view tool_name = tool;
  bj::object arguments;
  arguments["a"] = 2;
  arguments["b"] = 3;

  // warm-up
  long warmup_calls = 0;
  const auto warmup_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(warmup));
  while (Clock::now() < warmup_end) {
    bj::object args = arguments;
    auto r = co_await client.call_tool(tool_name, std::move(args));
    std::string wrong = check_result(r);
    if (!wrong.empty()) {
      std::fprintf(stderr, "bench-client-latency: warm-up call %ld: %s\n", warmup_calls + 1,
                   wrong.c_str());
      co_return 1;
    }
    ++warmup_calls;
  }

  // measured run
  std::vector<double> latencies_us;
  latencies_us.reserve(1 << 20);
  const auto duration =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const auto start = Clock::now();
  const auto end = start + duration;
  auto now = start;
  while (now < end) {
    bj::object args = arguments;
    const auto t0 = now;
    auto r = co_await client.call_tool(tool_name, std::move(args));
    now = Clock::now();
    std::string wrong = check_result(r);
    if (!wrong.empty()) {
      std::fprintf(stderr, "bench-client-latency: call %zu: %s\n", latencies_us.size() + 1,
                   wrong.c_str());
      co_return 1;
    }
    latencies_us.push_back(std::chrono::duration<double, std::micro>(now - t0).count());
  }
  const double elapsed = std::chrono::duration<double>(now - start).count();

  co_await client.close();

  std::sort(latencies_us.begin(), latencies_us.end());
  const auto calls = latencies_us.size();
  std::printf("calls=%zu seconds=%.3f calls_per_s=%.0f p50_us=%.0f p99_us=%.0f\n", calls, elapsed,
              elapsed > 0 ? static_cast<double>(calls) / elapsed : 0.0,
              bench::percentile(latencies_us, 50), bench::percentile(latencies_us, 99));
  co_return 0;
}

// A non-negative number of seconds (fractions allowed), or -1 when `text` is not one.
double parse_seconds(const char* text) {
  char* rest = nullptr;
  const double v = std::strtod(text, &rest);
  if (rest == text || *rest != '\0' || !(v >= 0) || v > 86400) return -1;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: bench-client-latency <url> <seconds> [<warm-up seconds>]\n");
    return 2;
  }
  const double seconds = parse_seconds(argv[2]);
  if (!(seconds > 0)) {
    std::fprintf(stderr, "bench-client-latency: <seconds> must be a positive number, got '%s'\n",
                 argv[2]);
    return 2;
  }
  const double warmup = argc == 4 ? parse_seconds(argv[3]) : 1.0;
  if (warmup < 0) {
    std::fprintf(stderr,
                 "bench-client-latency: <warm-up seconds> must be a number >= 0, got '%s'\n",
                 argv[3]);
    return 2;
  }
  boost::asio::io_context ioc(1);
  int rc = 1;
  boost::asio::co_spawn(ioc, run(argv[1], seconds, warmup), [&](std::exception_ptr e, int r) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "bench-client-latency: error: %s\n", ex.what());
      }
      rc = 1;
    } else {
      rc = r;
    }
  });
  ioc.run();
  return rc;
}

// bench-chat-load: chat turns against a running `idp-agents serve` (or several behind a load
// balancer) for bench/scale_out. USERS users (USER_PREFIX0, USER_PREFIX1, ... with one password,
// made by the caller in the identity provider) sign in through the API, each opens a chat session
// with AGENT and sends one message after another for SECONDS (a turn started before the end
// counts), reading each turn's event stream to its end.
//
//   bench-chat-load --url http://127.0.0.1:PORT --users 32 --seconds 5 --agent bench
//                   [--user-prefix user] [--tools 3]   (the password: BENCH_CHAT_PASSWORD)
//
// Prints one line on stdout:
//   turns=N seconds=S turns_per_s=X p50_ms=A p99_ms=B bad=K [first_bad=<why, no spaces>]
// where a bad turn did not end with `final` or did not make exactly TOOLS tool calls. Exit 0
// with that line; 1 on an error (a refused sign-in, a failed request or stream: the message says
// which).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_report.h"
#include "chat_client.h"
#include "idp/core/log.h"

namespace bj = boost::json;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string url;
  std::string agent = "bench";
  std::string user_prefix = "user";
  int users = 16;
  double seconds = 5;
  int tools = 3;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "bench-chat-load: error: %s\n", why.c_str());
  std::exit(1);
}

struct Tally {
  std::vector<double> wall_ms;
  int bad = 0;
  std::string first_bad;
};

net::awaitable<void> user(idp::bench::ChatClient& c, const Options& o, std::string token, int u,
                          Clock::time_point end, Tally& tally) {
  std::string body = bj::serialize(bj::object{{"agent_ids", bj::array{bj::string(o.agent)}}});
  auto session = co_await idp::bench::chat_post(c, "/api/chat/sessions", std::move(body), token);
  if (!session) die("user " + std::to_string(u) + ": new session: " + session.error().message());
  const bj::string* sid = idp::json::find_string(*session, "session_id");
  if (!sid) die("POST /api/chat/sessions gave no session_id: " + bj::serialize(*session));
  const std::string id(*sid);
  for (int m = 0; Clock::now() < end; ++m) {
    std::string question = "Turn " + std::to_string(m) + " of user " + std::to_string(u);
    auto t = co_await idp::bench::chat_turn(c, id, std::move(question), token);
    if (!t)
      die("user " + std::to_string(u) + ", turn " + std::to_string(m) + ": " + t.error().message());
    tally.wall_ms.push_back(t->wall_ms);
    if (!t->final || t->tools != o.tools) {
      ++tally.bad;
      if (tally.first_bad.empty()) {
        tally.first_bad =
            !t->final ? "no_final:" + t->error : std::to_string(t->tools) + "_tool_calls";
        std::replace(tally.first_bad.begin(), tally.first_bad.end(), ' ', '_');
      }
    }
  }
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) die(a + " needs a value");
    const std::string v = argv[++i];
    auto positive = [&](double min) {
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || d < min) {
        std::string why = a;
        why += ": want a number of at least " + idp::bench::fixed(min, 1) + ", got '" + v + "'";
        die(why);
      }
      return d;
    };
    if (a == "--url")
      o.url = v;
    else if (a == "--agent")
      o.agent = v;
    else if (a == "--user-prefix")
      o.user_prefix = v;
    else if (a == "--users")
      o.users = static_cast<int>(positive(1));
    else if (a == "--seconds")
      o.seconds = positive(0.1);
    else if (a == "--tools")
      o.tools = static_cast<int>(positive(0));
    else
      die("unknown option " + a);
  }
  if (o.url.empty()) die("--url is required");
  while (!o.url.empty() && o.url.back() == '/') o.url.pop_back();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  idp::log::init(idp::log::Level::kError);
  const char* password = std::getenv("BENCH_CHAT_PASSWORD");
  if (!password || !*password) die("BENCH_CHAT_PASSWORD is not set (the users' password)");

  net::io_context ioc;
  idp::http::ClientOptions co;
  co.max_idle_per_origin = static_cast<std::size_t>(opt.users) + 8;
  idp::http::Client http(ioc.get_executor(), co);
  idp::bench::ChatClient c{http, opt.url};

  std::vector<std::string> tokens;
  for (int u = 0; u < opt.users; ++u) {
    bj::object in{{"username", opt.user_prefix + std::to_string(u)}, {"password", password}};
    auto login = idp::bench::block_on(
        ioc, idp::bench::chat_post(c, "/api/auth/login", bj::serialize(in), ""));
    if (!login)
      die("sign-in of " + opt.user_prefix + std::to_string(u) + ": " + login.error().message());
    const bj::string* token = idp::json::find_string(*login, "access_token");
    if (!token) die("POST /api/auth/login gave no access_token");
    tokens.emplace_back(*token);
  }

  std::vector<Tally> tallies(static_cast<std::size_t>(opt.users));
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(opt.seconds));
  for (int u = 0; u < opt.users; ++u) {
    net::co_spawn(ioc, user(c, opt, tokens[u], u, end, tallies[u]), net::detached);
  }
  ioc.restart();
  ioc.run();
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> all;
  int bad = 0;
  std::string first_bad;
  for (const auto& t : tallies) {
    all.insert(all.end(), t.wall_ms.begin(), t.wall_ms.end());
    bad += t.bad;
    if (first_bad.empty()) first_bad = t.first_bad;
  }
  std::sort(all.begin(), all.end());
  std::printf("turns=%zu seconds=%s turns_per_s=%s p50_ms=%s p99_ms=%s bad=%d%s%s\n", all.size(),
              idp::bench::fixed(wall_s, 2).c_str(),
              idp::bench::fixed(static_cast<double>(all.size()) / wall_s, 1).c_str(),
              idp::bench::fixed(idp::bench::percentile(all, 50), 1).c_str(),
              idp::bench::fixed(idp::bench::percentile(all, 99), 1).c_str(), bad,
              first_bad.empty() ? "" : " first_bad=", first_bad.c_str());
  return 0;
}

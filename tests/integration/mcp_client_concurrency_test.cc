// One mcp::Client shared by many coroutines on several threads, against our server while the
// server forgets the session or starts refusing the token: every call succeeds, the server sees
// exactly one new initialize per forgotten session (and no session left behind), no request goes
// out without a session id, and the token provider is asked for a fresh token once for all the
// calls that got the same 401.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "idp/core/json_util.h"
#include "idp/http/server.h"
#include "idp/mcp/client.h"
#include "idp/mcp/server.h"
#include "idp/mcp/streamable_http_server.h"
#include "raw_http.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;
namespace net = boost::asio;
using net::awaitable;

// An io_context run by several threads, for the client and the coroutines that share it.
class Pool {
 public:
  explicit Pool(int threads) : work_(net::make_work_guard(ioc_)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~Pool() {
    work_.reset();
    for (auto& t : threads_) t.join();
  }
  net::io_context& ioc() { return ioc_; }

  // Runs `body` on the pool and waits for its result.
  template <class T>
  T run(std::function<awaitable<T>()> body) {
    return net::co_spawn(ioc_, body(), net::use_future).get();
  }

 private:
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

class McpClientConcurrency : public ::testing::Test {
 protected:
  void SetUp() override {
    forget_protocol_eras();
    Tool add;
    add.name = "add";
    add.input_schema = ::idp::json::parse(R"({"type":"object","properties":{"a":{"type":"number"},
        "b":{"type":"number"}},"required":["a","b"]})")
                           ->as_object();
    ASSERT_TRUE(
        server_.add_tool(add, [](const bj::object& a, ToolContext&) -> awaitable<CallToolResult> {
          CallToolResult r = CallToolResult::text("sum");
          r.structured_content =
              bj::object{{"sum", a.at("a").to_number<double>() + a.at("b").to_number<double>()}};
          co_return r;
        }));
    http::ServerOptions ho;
    ho.threads = 2;
    ho.shutdown_grace = std::chrono::milliseconds(300);
    http_ = std::make_unique<http::Server>(ho);
    StreamableHttpOptions mo;
    // Sees every request first: records what the client sent, and plays the token rules.
    mo.authenticate = [this](const http::Request& req) -> awaitable<AuthResult> {
      record(req);
      std::string required;
      {
        std::lock_guard lock(mu_);
        required = required_token_;
      }
      if (required.empty()) co_return Identity{};
      if (req.header("Authorization") == "Bearer " + required)
        co_return Identity{.authenticated = true, .subject = "u"};
      http::Response r = http::Response::json(401, R"({"error":"invalid_token"})");
      r.headers.add("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      co_return std::unexpected(std::move(r));
    };
    transport_ = std::make_unique<StreamableHttpServer>(server_, mo);
    transport_->attach(*http_);
    auto port = http_->start();
    ASSERT_TRUE(port);
    port_ = *port;
    url_ = fmt::format("http://127.0.0.1:{}/mcp", port_);
  }
  void TearDown() override {
    http_->stop();
    http_->wait();
  }

  void record(const http::Request& req) {
    std::string method;
    if (auto body = ::idp::json::parse(req.body()); body && body->is_object()) {
      if (auto* m = ::idp::json::find_string(body->as_object(), "method")) method = std::string(*m);
    }
    std::lock_guard lock(mu_);
    if (req.method() == "POST" && method == "initialize") ++initializes_;
    if (method == "tools/call") {
      ++calls_by_session_[std::string(req.header("Mcp-Session-Id").value_or(""))];
      ++calls_by_token_[std::string(req.header("Authorization").value_or(""))];
    }
  }
  int initializes() {
    std::lock_guard lock(mu_);
    return initializes_;
  }
  std::map<std::string, int> calls_by_session() {
    std::lock_guard lock(mu_);
    return calls_by_session_;
  }

  Server server_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<StreamableHttpServer> transport_;
  std::uint16_t port_ = 0;
  std::string url_;
  std::mutex mu_;
  int initializes_ = 0;
  std::string required_token_;
  std::map<std::string, int> calls_by_session_;
  std::map<std::string, int> calls_by_token_;
};

struct Tally {
  std::atomic<int> bad{0};
  test::Event finished;
  std::mutex mu;
  std::vector<std::string> errors;
};

// One caller: `calls` add calls one after the other. A plain coroutine (not a lambda), so that
// nothing it uses dies with a temporary closure.
awaitable<void> caller(Client& client, int i, int calls, Tally& tally) {
  for (int k = 0; k < calls; ++k) {
    bj::object args{{"a", i}, {"b", k}};
    auto r = co_await client.call_tool("add", std::move(args));
    bool right =
        r && r->structured_content && r->structured_content->at("sum").to_number<double>() == i + k;
    if (!right) {
      ++tally.bad;
      std::lock_guard lock(tally.mu);
      tally.errors.push_back(r ? "wrong sum" : r.error().message());
    }
  }
  tally.finished.add();
}

// Starts `coroutines` callers (half on the pool's executor, half each on a strand of its own)
// and waits for all; the number of calls that failed or came back wrong.
int hammer(Pool& pool, Client& client, int coroutines, int calls,
           std::vector<std::string>* errors) {
  Tally tally;
  for (int i = 0; i < coroutines; ++i) {
    if (i % 2 == 0) {
      net::co_spawn(pool.ioc(), caller(client, i, calls, tally), net::detached);
    } else {
      net::co_spawn(net::make_strand(pool.ioc()), caller(client, i, calls, tally), net::detached);
    }
  }
  bool ended = tally.finished.wait(std::chrono::seconds(60), coroutines);
  EXPECT_TRUE(ended) << "the calls did not end";
  if (!ended) std::abort();  // the callers still use `tally`
  std::lock_guard lock(tally.mu);
  for (auto& e : tally.errors) errors->push_back(e);
  return tally.bad.load();
}

TEST_F(McpClientConcurrency, ManyCallersShareOneReinitializePerForgottenSession) {
  Pool pool(4);
  ClientOptions o;
  o.protocol_era = ProtocolEra::kLegacy;  // sessions
  o.default_retry = std::chrono::milliseconds(50);
  Client client(pool.ioc().get_executor(), url_, o);
  auto connected = pool.run<Result<void>>([&]() { return client.connect(); });
  ASSERT_TRUE(connected) << connected.error().message();
  ASSERT_EQ(initializes(), 1);

  constexpr int kRounds = 4, kCoroutines = 24, kCalls = 3;
  std::set<std::string> dropped;
  std::vector<std::string> errors;
  for (int round = 1; round <= kRounds; ++round) {
    // The server forgets the session (as after a restart), then the burst begins.
    std::string old = client.session_id();
    ASSERT_FALSE(old.empty());
    auto del = test::request(port_, "DELETE", "/mcp", {{"Mcp-Session-Id", old}}, "");
    ASSERT_EQ(del.status, 200);
    dropped.insert(old);
    const int before_in_old = calls_by_session()[old];
    EXPECT_EQ(hammer(pool, client, kCoroutines, kCalls, &errors), 0)
        << "round " << round << ": " << (errors.empty() ? "" : errors.front());
    EXPECT_EQ(initializes(), 1 + round)
        << "round " << round << ": one initialize per forgotten session";
    std::string now = client.session_id();
    EXPECT_FALSE(now.empty());
    EXPECT_FALSE(dropped.contains(now));
    auto seen = calls_by_session();
    EXPECT_EQ(seen[now], kCoroutines * kCalls) << "every call succeeded once in the new session";
    EXPECT_LE(seen[old] - before_in_old, kCoroutines)
        << "a call tries the forgotten session at most once";
  }
  auto seen = calls_by_session();
  EXPECT_EQ(seen.count(""), 0u) << "a tools/call went out without a session id";
  for (const auto& [session, n] : seen) {
    EXPECT_TRUE(dropped.contains(session) || session == client.session_id())
        << "a call carried a session id the client was never given: " << session;
  }
  EXPECT_EQ(transport_->session_count(), 1u) << "a renewal left a session behind";
  pool.run<bool>([&]() -> awaitable<bool> {
    co_await client.close();
    co_return true;
  });
  EXPECT_EQ(transport_->session_count(), 0u);
}

// The standalone stream notices the forgotten session too (its GET gets 404): the renewal it
// starts is the one the calls share.
TEST_F(McpClientConcurrency, TheStandaloneStreamSharesTheRenewal) {
  Pool pool(3);
  ClientOptions o;
  o.protocol_era = ProtocolEra::kLegacy;
  o.default_retry = std::chrono::milliseconds(20);
  Client client(pool.ioc().get_executor(), url_, o);  // listen = true
  auto connected = pool.run<Result<void>>([&]() { return client.connect(); });
  ASSERT_TRUE(connected) << connected.error().message();
  std::vector<std::string> errors;
  for (int round = 1; round <= 3; ++round) {
    std::string old = client.session_id();
    ASSERT_EQ(test::request(port_, "DELETE", "/mcp", {{"Mcp-Session-Id", old}}, "").status, 200);
    EXPECT_EQ(hammer(pool, client, 8, 2, &errors), 0) << (errors.empty() ? "" : errors.front());
    EXPECT_EQ(initializes(), 1 + round);
  }
  EXPECT_EQ(transport_->session_count(), 1u);
  pool.run<bool>([&]() -> awaitable<bool> {
    co_await client.close();
    co_return true;
  });
}

// A provider like the real ones: it caches, and a refresh takes a round trip to the identity
// provider.
struct RotatingProvider : TokenProvider {
  std::mutex mu;
  std::string current = "v1";
  std::atomic<int> refreshes{0};
  std::string next;
  awaitable<Result<Secret>> token(bool refresh) override {
    if (refresh) {
      ++refreshes;
      auto ex = co_await net::this_coro::executor;
      net::steady_timer round_trip(ex, std::chrono::milliseconds(20));
      co_await round_trip.async_wait(net::as_tuple(net::use_awaitable));
      std::lock_guard lock(mu);
      current = next;
    }
    std::lock_guard lock(mu);
    co_return Secret(current);
  }
};

TEST_F(McpClientConcurrency, ConcurrentCallsAfterA401ShareOneTokenRefresh) {
  required_token_ = "v1";
  auto provider = std::make_shared<RotatingProvider>();
  provider->next = "v2";
  Pool pool(4);
  ClientOptions o;
  o.protocol_era = ProtocolEra::kLegacy;
  o.listen = false;
  o.token_provider = provider;
  Client client(pool.ioc().get_executor(), url_, o);
  auto connected = pool.run<Result<void>>([&]() { return client.connect(); });
  ASSERT_TRUE(connected) << connected.error().message();
  {
    std::lock_guard lock(mu_);
    required_token_ = "v2";  // the server rotated its keys: every v1 token is now refused
    calls_by_token_.clear();
  }
  std::vector<std::string> errors;
  constexpr int kCoroutines = 16;
  EXPECT_EQ(hammer(pool, client, kCoroutines, 1, &errors), 0)
      << (errors.empty() ? "" : errors.front());
  EXPECT_EQ(provider->refreshes.load(), 1) << "one refresh serves every call that got the 401";
  std::lock_guard lock(mu_);
  EXPECT_EQ(calls_by_token_["Bearer v2"], kCoroutines);
  EXPECT_GE(calls_by_token_["Bearer v1"], 2)
      << "the calls did not overlap: the test proves nothing";
}

}  // namespace
}  // namespace idp::mcp

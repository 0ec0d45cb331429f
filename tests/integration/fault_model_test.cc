// Fault injection on the model service: a whole agent turn (AgentRunner, a registry over an
// in-process MCP server) with the OpenAI-compatible model pointed at a fake chat-completions
// endpoint on 127.0.0.1 that answers 429, 500, a stream cut off before its end, garbage, or
// nothing at all. What the user sees is the turn's last event: an error whose code and message
// say what failed (and that retries were made), never a hang; a fault that clears within the
// retries gives the answer. Events already emitted (a tool's result before the model failed)
// stay in the turn.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <atomic>

#include "../unit/agents/agent_test_support.h"
#include "idp/llm/model.h"

namespace idp::agents::test {
namespace {

enum class Fault { kNone, k429, k500, kCut, kGarbageStream, kHtml, kSilent, kToolThen500 };

// An OpenAI-compatible POST /v1/chat/completions whose answer is `fault` for the first
// `times` requests (then a good streamed answer, "All good."), counting every request.
class FakeModelService {
 public:
  FakeModelService() : hang_up_(std::make_shared<CancelSignal>()) {
    http::ServerOptions o;
    o.shutdown_grace = 200ms;
    o.threads = 2;
    server_ = std::make_unique<http::Server>(o);
    server_->route("POST", "/v1/chat/completions",
                   [this](const http::Request&, http::Responder& res) { return answer(res); });
    auto port = server_->start();
    if (!port) throw std::runtime_error(port.error().message());
    base_ = fmt::format("http://127.0.0.1:{}/v1", *port);
  }
  ~FakeModelService() {
    hang_up_->cancel();
    server_->stop();
    server_->wait();
  }
  void fail(Fault fault, int times = 1'000) {
    fault_ = fault;
    times_ = times;
  }
  int requests() const { return requests_; }
  const std::string& base() const { return base_; }

 private:
  static std::string chunk(std::string_view delta_json, std::string_view finish = "null") {
    return fmt::format(
        "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"fake\","
        "\"choices\":[{{\"index\":0,\"delta\":{},\"finish_reason\":{}}}]}}\n\n",
        delta_json, finish);
  }
  static http::Response sse_head() {
    http::Response head = http::Response::empty(200);
    head.headers.add("Content-Type", "text/event-stream");
    return head;
  }

  awaitable<void> answer(http::Responder& res) {
    int n = ++requests_;
    Fault f = n <= times_ ? fault_.load() : Fault::kNone;
    if (f == Fault::kToolThen500) f = n == 1 ? Fault::kNone : Fault::k500;
    bool tool_call = fault_ == Fault::kToolThen500 && n == 1;
    switch (f) {
      case Fault::k429: {
        http::Response r = http::Response::json(
            429, R"({"error":{"message":"Rate limit reached for requests","type":"requests",
                     "code":"rate_limit_exceeded"}})");
        co_await res.send(std::move(r));
        co_return;
      }
      case Fault::k500: {
        http::Response r =
            http::Response::json(500, R"({"error":{"message":"The server had an error"}})");
        co_await res.send(std::move(r));
        co_return;
      }
      case Fault::kHtml: {
        http::Response r = http::Response::text(200, "<html><body>Bad gateway</body></html>");
        r.headers.set("Content-Type", "text/html");
        co_await res.send(std::move(r));
        co_return;
      }
      case Fault::kSilent: {
        auto hang_up = hang_up_;
        co_await wait_cancelled(hang_up);
        http::Response r = http::Response::empty(503);
        co_await res.send(std::move(r));
        co_return;
      }
      case Fault::kCut:
      case Fault::kGarbageStream:
      case Fault::kNone:
      case Fault::kToolThen500:
        break;
    }
    http::Response head = sse_head();
    if (!co_await res.start_stream(std::move(head))) co_return;
    if (f == Fault::kGarbageStream) {
      co_await res.write("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\n\n");
      co_await res.write("data: [DONE]\n\n");
    } else if (f == Fault::kCut) {
      // Words, then the body ends: no finish_reason and no [DONE].
      std::string words = chunk(R"({"role":"assistant","content":"The answ"})");
      co_await res.write(words);
    } else if (tool_call) {
      // One line: an SSE data line ends at the line break.
      std::string call = chunk(
          R"({"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function",)"
          R"("function":{"name":"add","arguments":"{\"a\":2,\"b\":40}"}}]})");
      std::string end = chunk("{}", "\"tool_calls\"");
      co_await res.write(call);
      co_await res.write(end);
      co_await res.write("data: [DONE]\n\n");
    } else {
      std::string words = chunk(R"({"role":"assistant","content":"All good."})");
      std::string end = chunk("{}", "\"stop\"");
      co_await res.write(words);
      co_await res.write(end);
      co_await res.write("data: [DONE]\n\n");
    }
    co_await res.finish();
  }

  std::unique_ptr<http::Server> server_;
  std::string base_;
  std::shared_ptr<CancelSignal> hang_up_;
  std::atomic<Fault> fault_{Fault::kNone};
  std::atomic<int> times_{0};
  std::atomic<int> requests_{0};
};

class FaultModel : public AgentLoopTest {
 protected:
  void start(int max_attempts = 3) {
    srv_.add_adder();
    llm::ModelOptions mo;
    mo.openai_base_url = fake_.base();
    mo.max_attempts = max_attempts;
    mo.backoff_initial = 10ms;
    mo.backoff_max = 20ms;
    mo.http.read_timeout = 1s;   // a silent service is given up on after this
    mo.http.total_timeout = 5s;
    auto model = llm::make_model("openai:fake-model", ioc_.get_executor(), mo);
    ASSERT_TRUE(model) << model.error().message();
    start_agents({{"Tools", &srv_}}, *model);
  }
  // The turn's last event, which the user sees: {"type":"error","code":...,"message":...}.
  static const Event& last(const Outcome& o) { return o.events.back(); }
  static std::string str(const Event& e, std::string_view key) {
    auto* v = e.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : "";
  }

  FakeModelService fake_;
  ToolServer& srv_ = server();
};

TEST_F(FaultModel, TooManyRequestsIsRetriedThenAnswered) {
  start();
  fake_.fail(Fault::k429, 2);
  auto o = ask("hello");
  EXPECT_EQ(str(last(o), "type"), "final") << o.dump();
  EXPECT_EQ(str(last(o), "text"), "All good.");
  EXPECT_EQ(fake_.requests(), 3);
}

TEST_F(FaultModel, TooManyRequestsThroughEveryRetryIsAnErrorSayingSo) {
  start();
  fake_.fail(Fault::k429);
  auto o = ask("hello");
  ASSERT_EQ(str(last(o), "type"), "error") << o.dump();
  EXPECT_EQ(str(last(o), "code"), "unavailable");
  EXPECT_NE(str(last(o), "message").find("Rate limit reached"), std::string::npos) << o.dump();
  EXPECT_NE(str(last(o), "message").find("3 attempts"), std::string::npos) << o.dump();
  EXPECT_EQ(fake_.requests(), 3);
}

TEST_F(FaultModel, ServerErrorsAreRetriedAndThenReported) {
  start();
  fake_.fail(Fault::k500);
  auto o = ask("hello");
  ASSERT_EQ(str(last(o), "type"), "error") << o.dump();
  EXPECT_EQ(str(last(o), "code"), "unavailable");
  EXPECT_NE(str(last(o), "message").find("500"), std::string::npos) << o.dump();
  EXPECT_EQ(fake_.requests(), 3);
}

TEST_F(FaultModel, AToolResultBeforeTheModelFailedStaysInTheTurn) {
  start();
  fake_.fail(Fault::kToolThen500);
  auto o = ask("add 2 and 40");
  ASSERT_EQ(str(last(o), "type"), "error") << o.dump();
  auto ends = o.of_type("tool_end");
  ASSERT_EQ(ends.size(), 1u) << o.dump();
  EXPECT_FALSE(ends[0].at("is_error").as_bool());
  EXPECT_EQ(srv_.calls().size(), 1u);  // the tool ran once; the model's retries did not rerun it
  EXPECT_EQ(fake_.requests(), 4);      // the tool call, then three attempts at the next answer
}

TEST_F(FaultModel, AStreamCutBeforeItsEndIsAnErrorAndNotRetriedOnceWordsWereShown) {
  start();
  fake_.fail(Fault::kCut);
  auto o = ask("hello");
  ASSERT_EQ(str(last(o), "type"), "error") << o.dump();
  EXPECT_FALSE(str(last(o), "message").empty());
  EXPECT_EQ(o.of_type("text_delta").size(), 1u) << o.dump();  // the words shown stay shown, once
  EXPECT_EQ(fake_.requests(), 1);
}

TEST_F(FaultModel, GarbageIsAProtocolErrorNamingTheService) {
  start();
  fake_.fail(Fault::kGarbageStream);
  auto o = ask("hello");
  ASSERT_EQ(str(last(o), "type"), "error") << o.dump();
  EXPECT_NE(str(last(o), "message").find(fake_.base()), std::string::npos) << o.dump();
  fake_.fail(Fault::kHtml);
  o = ask("hello again");
  ASSERT_EQ(str(last(o), "type"), "error") << o.dump();
  EXPECT_NE(str(last(o), "message").find(fake_.base()), std::string::npos) << o.dump();
}

TEST_F(FaultModel, AServiceThatSaysNothingTimesOutInsteadOfHanging) {
  start(2);
  fake_.fail(Fault::kSilent);
  auto o = ask("hello");
  ASSERT_EQ(str(last(o), "type"), "error") << o.dump();
  EXPECT_TRUE(str(last(o), "code") == "timeout" || str(last(o), "code") == "unavailable")
      << o.dump();
  EXPECT_EQ(fake_.requests(), 2);
  // Once the service is back, the next turn is answered.
  fake_.fail(Fault::kNone, 0);
  o = ask("hello");
  EXPECT_EQ(str(last(o), "type"), "final") << o.dump();
}

}  // namespace
}  // namespace idp::agents::test

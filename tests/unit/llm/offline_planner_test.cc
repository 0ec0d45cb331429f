// The offline model through whole simulated agent turns: the test plays the agent loop (calls
// converse, runs the tool uses against scripted tools, sends the results back) and checks the
// tool calls made and the final answer. Tool specs are those of the example MCP server (issue
// 13), the conformance fixture's `add`, the demo's document tools, and an orchestrator's
// sub-agent tools.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <functional>
#include <map>

#include "idp/llm/offline_planner.h"
#include "idp/llm/providers.h"

namespace idp::llm {
namespace {

namespace bj = boost::json;

bj::object obj(std::string_view json) { return bj::parse(json).as_object(); }

ToolSpec spec(std::string name, std::string description, std::string_view schema) {
  return ToolSpec{std::move(name), std::move(description), obj(schema)};
}

// The example MCP server's tools (issue 13).
std::vector<ToolSpec> example_tools() {
  return {
      spec("calculator",
           "Evaluate an arithmetic expression (+ - * / ^, parentheses, sqrt, sin, cos, log, ...).",
           R"({"type":"object","properties":{"expression":{"type":"string","maxLength":1000}},
               "required":["expression"]})"),
      spec("get_client_address",
           "Look up a client's postal address (and e-mail) by client id, e.g. C-1001.",
           R"({"type":"object","properties":{"client_id":{"type":"string",
               "pattern":"^C-[0-9]{4}$"}},"required":["client_id"]})"),
      spec("send_verification_email",
           "Send a verification e-mail to a client or an address; returns the outbox message id "
           "and status.",
           R"({"type":"object","properties":{
                 "client_id":{"type":"string","pattern":"^C-[0-9]{4}$"},
                 "email":{"type":"string","format":"email"},
                 "subject":{"type":"string"},"idempotency_key":{"type":"string"}},
               "anyOf":[{"required":["client_id"]},{"required":["email"]}]})"),
      spec("list_outbox", "List messages in the e-mail outbox.",
           R"({"type":"object","properties":{
                 "status":{"type":"string","enum":["queued","sent","failed"]},
                 "limit":{"type":"integer","minimum":1,"maximum":100}}})"),
  };
}

// What a scripted tool answers: content blocks and the error flag.
struct Reply {
  bj::array content;
  bool is_error = false;
};
Reply structured(std::string text, bj::value json) {
  return Reply{bj::array{bj::object{{"type", "text"}, {"text", std::move(text)}},
                         bj::object{{"type", "json"}, {"json", std::move(json)}}}};
}
Reply text_reply(std::string text) {
  return Reply{bj::array{bj::object{{"type", "text"}, {"text", std::move(text)}}}};
}
Reply error_reply(std::string text) {
  Reply r = text_reply(std::move(text));
  r.is_error = true;
  return r;
}

const bj::object kAda = obj(R"({"client_id":"C-1001","name":"Ada Lovelace",
    "street":"12 Analytical Row","city":"London","postal_code":"N1 7AA","country":"UK",
    "email":"ada@example.com"})");

// The example server's behaviour, scripted.
Reply example_server(const ToolUseBlock& use) {
  if (use.name == "calculator") {
    std::string e(use.input.at("expression").as_string());
    static const std::map<std::string, double> kResults{
        {"(12.5 + 7) * 3", 58.5}, {"12*3", 36}, {"12 + 30", 42}};
    auto it = kResults.find(e);
    if (it == kResults.end()) return error_reply("cannot evaluate " + e);
    return structured(bj::serialize(bj::value(it->second)),
                      bj::object{{"expression", e}, {"result", it->second}});
  }
  if (use.name == "get_client_address") {
    std::string id(use.input.at("client_id").as_string());
    if (id != "C-1001") return error_reply("Unknown client " + id);
    return structured("Ada Lovelace, 12 Analytical Row, London N1 7AA, UK", kAda);
  }
  if (use.name == "send_verification_email") {
    std::string to = use.input.contains("email") ? std::string(use.input.at("email").as_string())
                                                 : std::string("ada@example.com");
    return structured("queued msg-0001 to " + to,
                      bj::object{{"message_id", "msg-0001"}, {"status", "queued"}, {"to", to}});
  }
  if (use.name == "list_outbox") {
    return structured("2 messages", obj(R"({"messages":[
        {"message_id":"msg-0001","to":"ada@example.com","subject":"Verify","status":"queued",
         "created_at":"2026-01-05T10:00:00Z"},
        {"message_id":"msg-0002","to":"a.b@example.com","subject":"Verify","status":"queued",
         "created_at":"2026-01-05T10:01:00Z"}]})"));
  }
  return error_reply("unknown tool " + use.name);
}

struct Turn {
  std::vector<ToolUseBlock> calls;          // every tool use, in order
  std::vector<std::size_t> calls_per_step;  // tool uses of each model answer
  std::string text;                         // the final answer
  std::string streamed;                     // on_text chunks, joined
  std::size_t chunks = 0;
  std::vector<Message> messages;  // the conversation after the turn
  Usage usage;                    // of the last model call
};

Result<ModelResponse> converse_once(Model& model, const ModelRequest& request,
                                    const StreamHandlers& handlers,
                                    std::shared_ptr<CancelSignal> cancel = nullptr) {
  boost::asio::io_context io;
  std::optional<Result<ModelResponse>> out;
  boost::asio::co_spawn(io, model.converse(request, handlers, std::move(cancel)),
                        [&](std::exception_ptr e, Result<ModelResponse> r) {
                          if (e) std::rethrow_exception(e);
                          out = std::move(r);
                        });
  io.run();
  return std::move(*out);
}

// Plays the agent loop: model turn, tool uses through `server`, results back, until the model
// answers (at most 10 model calls, like the loop's default).
Turn run_turn(const std::vector<ToolSpec>& tools, std::vector<Message> messages,
              const std::function<Reply(const ToolUseBlock&)>& server = example_server) {
  auto model = make_offline_model();
  Turn turn;
  for (int i = 0; i < 10; ++i) {
    ModelRequest request{"You answer with tools.", messages, tools};
    std::vector<ToolUseBlock> streamed_uses;
    StreamHandlers handlers;
    handlers.on_text = [&](std::string_view t) {
      turn.streamed += t;
      ++turn.chunks;
    };
    handlers.on_tool_use = [&](const ToolUseBlock& u) { streamed_uses.push_back(u); };
    auto r = converse_once(*model, request, handlers);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
    if (!r) return turn;
    turn.usage = r->usage;
    messages.push_back(r->message);
    if (r->stop_reason == StopReason::kEndTurn) {
      turn.text = r->message.text();
      turn.messages = std::move(messages);
      return turn;
    }
    EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
    auto uses = r->message.tool_uses();
    EXPECT_EQ(uses.size(), streamed_uses.size());
    turn.calls_per_step.push_back(uses.size());
    Message results{Role::kUser, {}};
    for (const auto* u : uses) {
      turn.calls.push_back(*u);
      Reply reply = server(*u);
      results.content.push_back(ToolResultBlock{u->id, reply.content, reply.is_error});
    }
    messages.push_back(std::move(results));
  }
  ADD_FAILURE() << "the model did not finish within 10 calls";
  return turn;
}

Turn ask(const std::vector<ToolSpec>& tools, std::string question,
         const std::function<Reply(const ToolUseBlock&)>& server = example_server) {
  return run_turn(tools, {Message::user_text(std::move(question))}, server);
}

// The fenced ```json block of an answer, parsed.
std::optional<bj::object> block_of(const std::string& text) {
  auto b = text.find("```json\n");
  if (b == std::string::npos) return std::nullopt;
  auto e = text.find("\n```", b + 8);
  if (e == std::string::npos) return std::nullopt;
  return bj::parse(text.substr(b + 8, e - b - 8)).as_object();
}

TEST(OfflinePlanner, AddressOfClient) {
  Turn t = ask(example_tools(), "What is the address of client C-1001?");
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "get_client_address");
  EXPECT_EQ(t.calls[0].input, obj(R"({"client_id":"C-1001"})"));
  EXPECT_NE(t.text.find("12 Analytical Row"), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("- City: London"), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("- Postal code: N1 7AA"), std::string::npos) << t.text;
  EXPECT_EQ(t.streamed, t.text);
}

TEST(OfflinePlanner, SendVerificationEmailToAnAddress) {
  Turn t = ask(example_tools(), "Send a verification email to a.b@example.com");
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "send_verification_email");
  EXPECT_EQ(t.calls[0].input, obj(R"({"email":"a.b@example.com"})"));
  EXPECT_NE(t.text.find("- Message id: msg-0001"), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("- Status: queued"), std::string::npos) << t.text;
}

TEST(OfflinePlanner, SendVerificationEmailToAClientById) {
  Turn t = ask(example_tools(), "Please send a verification e-mail to client C-1001.");
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "send_verification_email");
  EXPECT_EQ(t.calls[0].input, obj(R"({"client_id":"C-1001"})"));
}

TEST(OfflinePlanner, ArithmeticExpression) {
  Turn t = ask(example_tools(), "What is (12.5 + 7) * 3?");
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "calculator");
  EXPECT_EQ(t.calls[0].input, obj(R"({"expression":"(12.5 + 7) * 3"})"));
  EXPECT_EQ(t.text, "(12.5 + 7) * 3 = 58.5");
}

TEST(OfflinePlanner, ArithmeticInWords) {
  Turn t = ask(example_tools(), "What is 12 plus 30?");
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].input, obj(R"({"expression":"12 + 30"})"));
  EXPECT_EQ(t.text, "12 + 30 = 42");
}

TEST(OfflinePlanner, WhichToolsDoYouHave) {
  for (std::string q : {"Which tools do you have?", "What can you do?", "help"}) {
    Turn t = ask(example_tools(), q);
    EXPECT_TRUE(t.calls.empty()) << q;
    EXPECT_TRUE(t.text.starts_with("I can use these tools:")) << t.text;
    for (std::string_view name :
         {"calculator", "get_client_address", "send_verification_email", "list_outbox"}) {
      EXPECT_NE(t.text.find("- **" + std::string(name) + "**: "), std::string::npos) << name;
    }
    EXPECT_NE(t.text.find("Look up a client's postal address"), std::string::npos);
  }
}

TEST(OfflinePlanner, OutboxAsATable) {
  Turn t = ask(example_tools(), "List the queued messages in the outbox");
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "list_outbox");
  EXPECT_EQ(t.calls[0].input, obj(R"({"status":"queued"})"));
  // A one-line summary, then the block.
  EXPECT_TRUE(t.text.starts_with("list_outbox (status: queued) returned 2 messages:\n\n```json\n"))
      << t.text;
  auto block = block_of(t.text);
  ASSERT_TRUE(block);
  EXPECT_EQ(block->at("responseType"), "table");
  const auto& data = block->at("data").as_object();
  EXPECT_EQ(data.at("headers").as_array().front(),
            bj::value(obj(R"({"id":"message_id","label":"Message id"})")));
  EXPECT_EQ(data.at("headers").as_array().size(), 5u);
  const auto& rows = data.at("rows").as_array();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].at("id"), "2");
  EXPECT_EQ(rows[1].at("data").at("to"), "a.b@example.com");
}

TEST(OfflinePlanner, OptionalLimitByName) {
  Turn t = ask(example_tools(), "Show the outbox, limit 5, only failed ones");
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].input, obj(R"({"status":"failed","limit":5})"));
}

TEST(OfflinePlanner, MissingArgumentIsAskedForNotGuessed) {
  Turn t = ask(example_tools(), "What is the address of a client?");
  EXPECT_TRUE(t.calls.empty());
  EXPECT_EQ(t.text,
            "I need more information to call get_client_address: the `client_id` (a value like "
            "C-1001 (pattern `^C-[0-9]{4}$`)). Please give it.");
}

TEST(OfflinePlanner, TheAnswerToTheQuestionBackCompletesTheCall) {
  Turn first = ask(example_tools(), "What is the address of a client?");
  ASSERT_TRUE(first.calls.empty());
  std::vector<Message> history = first.messages;
  history.push_back(Message::user_text("C-1001"));
  Turn t = run_turn(example_tools(), history);
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "get_client_address");
  EXPECT_EQ(t.calls[0].input, obj(R"({"client_id":"C-1001"})"));
  EXPECT_NE(t.text.find("Ada Lovelace"), std::string::npos);
}

TEST(OfflinePlanner, OneOfTwoAlternativesIsAskedFor) {
  Turn t = ask(example_tools(), "Send a verification email");
  EXPECT_TRUE(t.calls.empty());
  EXPECT_EQ(t.text,
            "I need more information to call send_verification_email: one of `client_id` (a value "
            "matching the pattern `^C-[0-9]{4}$`) or `email` (an e-mail address). Please give one "
            "of them.");
}

TEST(OfflinePlanner, NothingMatchesSoNoToolIsCalled) {
  Turn t = ask(example_tools(), "What is the weather in Paris?");
  EXPECT_TRUE(t.calls.empty());
  EXPECT_TRUE(
      t.text.starts_with("I could not match your question to a tool; the tools are: "
                         "calculator, get_client_address, send_verification_email, "
                         "list_outbox."))
      << t.text;
}

TEST(OfflinePlanner, NoToolsAtAll) {
  Turn t = ask({}, "What is the address of client C-1001?");
  EXPECT_TRUE(t.calls.empty());
  EXPECT_TRUE(t.text.starts_with("I could not answer: no tools are available")) << t.text;
}

TEST(OfflinePlanner, AToolErrorIsReportedAndNotRetried) {
  Turn t = ask(example_tools(), "What is the address of client C-9999?");
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.text, "get_client_address failed: Unknown client C-9999.");
}

TEST(OfflinePlanner, TwoPartsOfOneQuestionAreCalledTogether) {
  Turn t = ask(example_tools(), "What is the address of client C-1001 and what is 12*3?");
  ASSERT_EQ(t.calls_per_step, std::vector<std::size_t>{2});
  EXPECT_EQ(t.calls[0].name, "get_client_address");
  EXPECT_EQ(t.calls[1].name, "calculator");
  EXPECT_EQ(t.calls[1].input, obj(R"({"expression":"12*3"})"));
  EXPECT_NE(t.calls[0].id, t.calls[1].id);
  EXPECT_NE(t.text.find("12 Analytical Row"), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("12*3 = 36"), std::string::npos) << t.text;
}

// A tool needs "email"; the question names a client id; another tool's result has the e-mail.
TEST(OfflinePlanner, ChainsOneResultIntoTheNextCall) {
  auto tools = example_tools();
  std::vector<ToolSpec> chain{
      tools[1], spec("send_email", "Send an e-mail message to an address.",
                     R"({"type":"object","properties":{"email":{"type":"string","format":"email"},
               "subject":{"type":"string"}},"required":["email"]})")};
  auto server = [](const ToolUseBlock& u) {
    if (u.name == "send_email") {
      return structured(
          "sent",
          bj::object{{"message_id", "msg-7"}, {"status", "sent"}, {"to", u.input.at("email")}});
    }
    return example_server(u);
  };
  Turn t = ask(chain, "Send a welcome email to client C-1001", server);
  ASSERT_EQ(t.calls.size(), 2u);
  EXPECT_EQ(t.calls_per_step, (std::vector<std::size_t>{1, 1}));
  EXPECT_EQ(t.calls[0].name, "get_client_address");
  EXPECT_EQ(t.calls[0].input, obj(R"({"client_id":"C-1001"})"));
  EXPECT_EQ(t.calls[1].name, "send_email");
  EXPECT_EQ(t.calls[1].input, obj(R"({"email":"ada@example.com"})"));
  EXPECT_NE(t.calls[0].id, t.calls[1].id);
  auto first = t.text.find("get_client_address (client_id: C-1001):");
  auto second = t.text.find("send_email (email: ada@example.com):");
  EXPECT_NE(first, std::string::npos) << t.text;
  EXPECT_NE(second, std::string::npos) << t.text;
  EXPECT_LT(first, second);
}

TEST(OfflinePlanner, AChainWhoseFirstStepFailsAsksInstead) {
  std::vector<ToolSpec> chain{
      example_tools()[1],
      spec("send_email", "Send an e-mail message to an address.",
           R"({"type":"object","properties":{"email":{"type":"string","format":"email"}},
               "required":["email"]})")};
  Turn t = ask(chain, "Send a welcome email to client C-9999");
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_NE(t.text.find("get_client_address failed: Unknown client C-9999."), std::string::npos)
      << t.text;
  EXPECT_NE(t.text.find("I need more information to call send_email: the `email`"),
            std::string::npos)
      << t.text;
}

// The conformance fixture's `add` among other fixture tools.
TEST(OfflinePlanner, FixtureAdd) {
  std::vector<ToolSpec> tools{
      spec("test_simple_text", "Returns a simple text response", R"({"type":"object"})"),
      spec("test_sampling", "Asks the client's LLM to answer a prompt",
           R"({"type":"object","properties":{"prompt":{"type":"string"}},"required":["prompt"]})"),
      spec("add", "Adds two numbers",
           R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},
               "required":["a","b"],"additionalProperties":false})"),
      spec("whoami", "Returns the verified caller's subject and token claims",
           R"({"type":"object"})")};
  auto server = [](const ToolUseBlock& u) {
    double sum = u.input.at("a").to_number<double>() + u.input.at("b").to_number<double>();
    return structured(offline::format_number(sum), bj::object{{"sum", sum}});
  };
  Turn t = ask(tools, "Add 2 and 40", server);
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "add");
  EXPECT_EQ(t.calls[0].input, obj(R"({"a":2,"b":40})"));
  EXPECT_EQ(t.text, "The sum is 42.");
}

std::vector<ToolSpec> document_tools() {
  return {spec("word_count", "Counts the words, lines and characters of a text",
               R"({"type":"object","properties":{"text":{"type":"string","maxLength":100000}},
                   "required":["text"]})"),
          spec("find_dates",
               "Lists the ISO dates (YYYY-MM-DD) that appear in a text, e.g. invoice and due dates",
               R"({"type":"object","properties":{"text":{"type":"string","maxLength":100000}},
                   "required":["text"]})"),
          spec("sum_amounts", "Adds up a list of amounts (for example invoice line totals)",
               R"({"type":"object","properties":{"amounts":{"type":"array",
                   "items":{"type":"number"},"maxItems":10000}},"required":["amounts"]})")};
}

Reply document_server(const ToolUseBlock& u) {
  if (u.name == "word_count") {
    return structured("4 words, 1 lines, 19 characters",
                      obj(R"({"words":4,"lines":1,"characters":19})"));
  }
  if (u.name == "find_dates") {
    return structured(R"(["2026-11-02","2026-12-02"])",
                      obj(R"({"dates":["2026-11-02","2026-12-02"]})"));
  }
  double total = 0;
  for (const auto& v : u.input.at("amounts").as_array()) total += v.to_number<double>();
  return structured(offline::format_number(total), bj::object{{"total", total}});
}

TEST(OfflinePlanner, DemoDocumentTools) {
  Turn words =
      ask(document_tools(), "How many words are in 'the quick brown fox'?", document_server);
  ASSERT_EQ(words.calls.size(), 1u);
  EXPECT_EQ(words.calls[0].name, "word_count");
  EXPECT_EQ(words.calls[0].input, obj(R"({"text":"the quick brown fox"})"));
  EXPECT_NE(words.text.find("- Words: 4"), std::string::npos) << words.text;

  Turn dates =
      ask(document_tools(), "Find the dates in 'due 2026-11-02 and 2026-12-02'", document_server);
  ASSERT_EQ(dates.calls.size(), 1u);
  EXPECT_EQ(dates.calls[0].name, "find_dates");
  EXPECT_EQ(dates.calls[0].input, obj(R"({"text":"due 2026-11-02 and 2026-12-02"})"));
  EXPECT_EQ(dates.text, "Dates (2): 2026-11-02, 2026-12-02.");

  Turn sum = ask(document_tools(), "Add up the amounts 10, 20.5 and $30", document_server);
  ASSERT_EQ(sum.calls.size(), 1u);
  EXPECT_EQ(sum.calls[0].name, "sum_amounts");
  EXPECT_EQ(sum.calls[0].input, obj(R"({"amounts":[10,20.5,30]})"));
  EXPECT_EQ(sum.text, "The total is 60.5.");
}

TEST(OfflinePlanner, TextAfterAColonIsTheText) {
  Turn t = ask(document_tools(), "Count the words: the quick brown fox", document_server);
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].input, obj(R"({"text":"the quick brown fox"})"));
}

TEST(OfflinePlanner, ChartWhenTheQuestionAsksForOne) {
  std::vector<ToolSpec> tools{
      spec("sales_by_month", "Sales totals per month", R"({"type":"object","properties":{}})")};
  auto server = [](const ToolUseBlock&) {
    return structured("3 months", obj(R"({"months":[{"month":"Jan","total":10,"count":2},
        {"month":"Feb","total":12.5,"count":3},{"month":"Mar","total":7,"count":1}]})"));
  };
  Turn chart = ask(tools, "Show a bar chart of sales by month", server);
  ASSERT_EQ(chart.calls.size(), 1u);
  auto block = block_of(chart.text);
  ASSERT_TRUE(block) << chart.text;
  EXPECT_EQ(bj::value(*block), bj::parse(R"({"responseType":"plotData","data":{"type":"bar",
      "data":{"labels":["Jan","Feb","Mar"],"datasets":[{"label":"Total","data":[10,12.5,7]},
      {"label":"Count","data":[2,3,1]}]}}})"));
  EXPECT_TRUE(chart.text.starts_with("Here is a bar chart of the result of sales_by_month:"));

  Turn table = ask(tools, "What are the sales by month?", server);
  auto t = block_of(table.text);
  ASSERT_TRUE(t) << table.text;
  EXPECT_EQ(t->at("responseType"), "table");
  EXPECT_EQ(t->at("data").at("rows").as_array()[1].at("data").at("total"), "12.5");
}

std::vector<ToolSpec> agent_tools() {
  const char* query = R"({"type":"object","properties":{"query":{"type":"string"}},
                          "required":["query"]})";
  return {spec("crm_agent",
               "CRM Agent: Client records: postal addresses and verification e-mails. The tools "
               "available are: get_client_address, send_verification_email, list_outbox. Sample "
               "queries: What is the address of client C-1001?",
               query),
          spec("calc_agent",
               "Calculator Agent: Evaluates arithmetic. The tools available are: calculator. "
               "Sample queries: What is (2 + 3) * 4?",
               query)};
}

Reply agents(const ToolUseBlock& u) {
  std::string q(u.input.at("query").as_string());
  if (u.name == "crm_agent") return text_reply("Client C-1001 lives at 12 Analytical Row, London.");
  return text_reply(q.find("12*3") != std::string::npos ? "12*3 = 36" : "I cannot compute that.");
}

TEST(OfflinePlanner, OrchestratorRoutesToTheSubAgentThatFits) {
  Turn t = ask(agent_tools(), "What is the address of client C-1001?", agents);
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "crm_agent");
  EXPECT_EQ(t.calls[0].input, obj(R"({"query":"What is the address of client C-1001?"})"));
  EXPECT_EQ(t.text, "Client C-1001 lives at 12 Analytical Row, London.");
}

TEST(OfflinePlanner, OrchestratorSplitsAQuestionForTwoAgents) {
  Turn t = ask(agent_tools(), "What is the address of client C-1001 and what is 12*3?", agents);
  ASSERT_EQ(t.calls_per_step, std::vector<std::size_t>{2});
  EXPECT_EQ(t.calls[0].name, "crm_agent");
  EXPECT_EQ(t.calls[0].input, obj(R"({"query":"What is the address of client C-1001"})"));
  EXPECT_EQ(t.calls[1].name, "calc_agent");
  EXPECT_EQ(t.calls[1].input, obj(R"({"query":"what is 12*3"})"));
  EXPECT_EQ(t.text,
            "**crm_agent**: Client C-1001 lives at 12 Analytical Row, London.\n\n"
            "**calc_agent**: 12*3 = 36");
}

TEST(OfflinePlanner, OrchestratorPassesASubAgentTableThrough) {
  std::string sub =
      "list_outbox returned 1 messages:\n\n```json\n{\"responseType\":\"table\",\"data\":{}}\n```";
  Turn t = ask(agent_tools(), "List the outbox messages",
               [&](const ToolUseBlock&) { return text_reply(sub); });
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "crm_agent");
  EXPECT_EQ(t.text, sub);
}

TEST(OfflinePlanner, OrchestratorListsItsAgents) {
  Turn t = ask(agent_tools(), "Which tools do you have?", agents);
  EXPECT_TRUE(t.calls.empty());
  EXPECT_TRUE(t.text.starts_with("I can pass your question to these agents:\n- **crm_agent**: "))
      << t.text;
}

TEST(OfflinePlanner, SameRequestSameAnswer) {
  auto tools = example_tools();
  for (std::string q : {"What is the address of client C-1001 and what is 12*3?",
                        "List the queued messages in the outbox", "What is the weather?"}) {
    Turn a = ask(tools, q);
    Turn b = ask(tools, q);
    ASSERT_EQ(a.calls.size(), b.calls.size()) << q;
    for (std::size_t i = 0; i < a.calls.size(); ++i) {
      EXPECT_EQ(a.calls[i].id, b.calls[i].id);
      EXPECT_EQ(a.calls[i].name, b.calls[i].name);
      EXPECT_EQ(a.calls[i].input, b.calls[i].input);
    }
    EXPECT_EQ(a.text, b.text);
    EXPECT_EQ(a.usage.input_tokens, b.usage.input_tokens);
  }
}

TEST(OfflinePlanner, ToolUseIdsStayUniqueAcrossTurns) {
  Turn first = ask(example_tools(), "What is the address of client C-1001?");
  std::vector<Message> history = first.messages;
  history.push_back(Message::user_text("What is the address of client C-1001?"));
  Turn second = run_turn(example_tools(), history);
  ASSERT_EQ(second.calls.size(), 1u);
  EXPECT_NE(first.calls[0].id, second.calls[0].id);
}

TEST(OfflinePlanner, StreamsInChunksAndEstimatesUsage) {
  Turn t = ask(example_tools(), "Which tools do you have?");
  EXPECT_GT(t.chunks, 1u);
  EXPECT_EQ(t.streamed, t.text);
  EXPECT_EQ(t.usage.output_tokens, static_cast<std::int64_t>((t.text.size() + 3) / 4));
  EXPECT_GT(t.usage.input_tokens, 100);  // the tool specs are part of the input
}

TEST(OfflinePlanner, SaysItIsOffline) {
  auto model = make_offline_model();
  ASSERT_TRUE(model);
  EXPECT_TRUE(model->info().offline);
  EXPECT_EQ(model->info().provider, "offline");
  EXPECT_EQ(model->info().spec, "offline");
  boost::asio::io_context io;
  auto made = make_model("offline", io.get_executor());
  ASSERT_TRUE(made);
  EXPECT_TRUE((*made)->info().offline);
}

TEST(OfflinePlanner, CancelledAndMalformedRequestsFail) {
  auto model = make_offline_model();
  auto cancel = std::make_shared<CancelSignal>();
  cancel->cancel();
  ModelRequest request{"", {Message::user_text("What is 2+2?")}, example_tools()};
  auto r = converse_once(*model, request, {}, cancel);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);

  ModelRequest empty{"", {Message::assistant_text("hello")}, example_tools()};
  auto e = converse_once(*model, empty, {});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(e.error().message().find("no user question"), std::string::npos);
}

}  // namespace
}  // namespace idp::llm

// The offline model through whole simulated agent turns (offline_test_loop.h plays the loop):
// the tool calls made and the final answer, for the example MCP server's tools (issue 13), the
// conformance fixture's `add`, the demo's document tools and a charting tool; determinism,
// tool-use ids, streaming, usage and metadata.
#include "offline_test_loop.h"

namespace idp::llm {
namespace {

using namespace offline_test;

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

// Questions no tool is made for, and large ones: an answer every time, never an empty one.
TEST(OfflinePlanner, OddAndLargeQuestionsGetAnAnswer) {
  std::string sum = "What is 1";
  for (int i = 0; i < 3000; ++i) sum += " + 1";
  std::string many = "Add up the amounts";
  for (int i = 0; i < 2000; ++i) many += " " + std::to_string(i) + ",";
  std::vector<std::string> questions{"?",
                                     "'unclosed quote",
                                     "\"\"",
                                     "((((((((",
                                     "1e400 + 1e400",
                                     "and and and ; ; ? . then also",
                                     "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC 5",
                                     "Count the words: " + std::string(50000, 'x'),
                                     sum,
                                     many};
  auto tools = example_tools();
  for (const auto& t : document_tools()) tools.push_back(t);
  for (const auto& q : questions) {
    Turn t = ask(tools, q, [](const ToolUseBlock& u) {
      return u.name == "calculator" || u.name == "get_client_address" ||
                     u.name == "send_verification_email" || u.name == "list_outbox"
                 ? example_server(u)
                 : document_server(u);
    });
    EXPECT_FALSE(t.text.empty()) << q.substr(0, 40);
  }
  Turn big = ask(document_tools(), many, document_server);
  ASSERT_EQ(big.calls.size(), 1u);
  EXPECT_EQ(big.calls[0].input.at("amounts").as_array().size(), 2000u);
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

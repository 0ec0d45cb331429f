// The offline planner's parts on their own: reading a question, matching tools, filling
// arguments by schema, and the answer blocks.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "idp/llm/offline_planner.h"

namespace idp::llm::offline {
namespace {

namespace bj = boost::json;

bj::object obj(std::string_view json) { return bj::parse(json).as_object(); }

// "kind:value" for every value found (words left out).
std::vector<std::string> values(std::string_view text) {
  static const char* kNames[] = {"quoted", "url", "email", "date", "expr", "number", "id", "word"};
  std::vector<std::string> out;
  for (const auto& e : analyse(text).entities) {
    if (e.kind != EntityKind::kWord) {
      out.push_back(std::string(kNames[static_cast<int>(e.kind)]) + ":" + e.value);
    }
  }
  return out;
}
using V = std::vector<std::string>;

TEST(OfflineText, FindsQuotedTextsButNotApostrophes) {
  EXPECT_EQ(values("How many words are in 'the quick brown fox'?"),
            V{"quoted:the quick brown fox"});
  EXPECT_EQ(values("Count \"a b\" and \xE2\x80\x9C"
                   "c d\xE2\x80\x9D"),
            (V{"quoted:a b", "quoted:c d"}));
  EXPECT_EQ(values("What is the client's address? Don't guess."), V{});
}

TEST(OfflineText, FindsEmailsUrlsAndDates) {
  EXPECT_EQ(values("Mail a.b+x@example.co.uk, see https://example.com/x?y=1."),
            (V{"email:a.b+x@example.co.uk", "url:https://example.com/x?y=1"}));
  EXPECT_EQ(values("due 2026-11-02, paid 2026/12/02 and 2 November 2026 or Nov 3rd, 2026"),
            (V{"date:2026-11-02", "date:2026-12-02", "date:2026-11-02", "date:2026-11-03"}));
  EXPECT_EQ(values("2026-02-30 is no day"), V{"id:2026-02-30"});
  EXPECT_EQ(values("not an address: a@b, x@y.z1"), (V{"id:x@y.z1"}));
}

TEST(OfflineText, FindsArithmeticExpressions) {
  EXPECT_EQ(values("What is (12.5 + 7) * 3?"), V{"expr:(12.5 + 7) * 3"});
  EXPECT_EQ(values("what is 12*3?"), V{"expr:12*3"});
  EXPECT_EQ(values("What is 12 plus 30 divided by 5?"), V{"expr:12 + 30 / 5"});
  EXPECT_EQ(values("sqrt(16) + 2^3"), V{"expr:sqrt(16) + 2^3"});
  EXPECT_EQ(values("What is 10-20?"), V{"expr:10-20"});
  // Phone numbers and ids are not subtractions; a lone number is a number.
  EXPECT_EQ(values("call 555-1234 about C-1001"), (V{"id:555-1234", "id:C-1001"}));
  EXPECT_EQ(values("Add 2 and 40"), (V{"number:2", "number:40"}));
  // A formula longer than 256 pieces is not taken (rather than a part of it).
  std::string longer = "1";
  for (int i = 0; i < 200; ++i) longer += " + 1";
  for (const auto& v : values(longer)) EXPECT_FALSE(v.starts_with("expr:")) << v;
}

TEST(OfflineText, ReadsNumbersAsWritten) {
  auto a = analyse("amounts 1,200.50 and $30, 15% or -2.5 (12)");
  std::vector<double> numbers;
  for (const auto& e : a.entities) {
    if (e.kind == EntityKind::kNumber) numbers.push_back(e.number);
  }
  EXPECT_EQ(numbers, (std::vector<double>{1200.5, 30, 15, -2.5, 12}));
  EXPECT_EQ(values("10,20,5.5"), (V{"number:10", "number:20", "number:5.5"}));  // a list
}

TEST(OfflineText, KeywordsAreNormalizedWordsOutsideValues) {
  EXPECT_EQ(analyse("What is the address of client C-1001?").keywords, (V{"address", "client"}));
  EXPECT_EQ(analyse("How many words are in 'alpha beta'?").keywords, (V{"word", "count"}));
  EXPECT_EQ(normalize_word("E-Mails"), "email");
  EXPECT_EQ(normalize_word("addresses"), "address");
  EXPECT_EQ(normalize_word("entries"), "entry");
  EXPECT_EQ(normalize_word("Counting"), "count");
  EXPECT_EQ(normalize_word("client's"), "client");
  EXPECT_EQ(normalize_word("status"), "status");
  EXPECT_EQ(split_identifier("getClientAddress"), (V{"get", "client", "address"}));
  EXPECT_EQ(split_identifier("crm_get-client.address"), (V{"crm", "get", "client", "address"}));
  EXPECT_EQ(split_identifier("HTTPServer"), (V{"http", "server"}));
  EXPECT_EQ(humanize("postal_code"), "Postal code");
  EXPECT_EQ(format_number(58.5), "58.5");
  EXPECT_EQ(format_number(42.0), "42");
  EXPECT_EQ(format_number(-0.125), "-0.125");
}

TEST(OfflineMatch, CapabilityQuestions) {
  for (std::string_view q : {"Which tools do you have?", "what can you do", "HELP",
                             "List your tools, please", "What agents are available?"}) {
    EXPECT_TRUE(is_capability_question(q)) << q;
  }
  for (std::string_view q : {"What is 2+2?", "List the outbox", "help me add 2 and 3"}) {
    EXPECT_FALSE(is_capability_question(q)) << q;
  }
}

TEST(OfflineMatch, SplitsAtConjunctionsButNotInsideValues) {
  auto parts = [](std::string_view q) {
    auto a = analyse(q);
    V out;
    for (const auto& s : split_question(a)) out.push_back(a.text.substr(s.begin, s.end - s.begin));
    return out;
  };
  EXPECT_EQ(parts("What is the address of client C-1001 and what is 12*3?"),
            (V{"What is the address of client C-1001", "what is 12*3"}));
  EXPECT_EQ(parts("Find the dates in 'due 2026-11-02 and 2026-12-02'"),
            (V{"Find the dates in 'due 2026-11-02 and 2026-12-02'"}));
  EXPECT_EQ(parts("Verify C-1001. Then list the outbox; also 2+2"),
            (V{"Verify C-1001", "list the outbox", "2+2"}));
  EXPECT_EQ(parts("Android and iOS"), (V{"Android", "iOS"}));
}

ToolSpec tool(std::string name, std::string description, std::string_view schema) {
  return ToolSpec{std::move(name), std::move(description), obj(schema)};
}

TEST(OfflineMatch, AnActionIsOnlyChosenWhenAskedFor) {
  std::vector<ToolSpec> tools{tool("send_verification_email",
                                   "Send a verification e-mail to a client.",
                                   R"({"type":"object","properties":{"client_id":{"type":"string",
               "pattern":"^C-[0-9]{4}$"}}})")};
  EXPECT_FALSE(best_tool(analyse("email of C-1001"), tools));
  EXPECT_TRUE(best_tool(analyse("send an email to C-1001"), tools));
}

TEST(OfflineMatch, SchemaTitlesAndParameterNamesCount) {
  std::vector<ToolSpec> tools{tool("t1", "", R"({"type":"object","title":"Invoice lookup",
                         "properties":{"invoice_number":{"type":"string"}}})"),
                              tool("t2", "Weather", R"({"type":"object"})")};
  auto best = best_tool(analyse("Look up the invoice"), tools);
  ASSERT_TRUE(best);
  EXPECT_EQ(best->index, 0u);
  EXPECT_FALSE(best_tool(analyse("Tell me a joke"), tools));
}

TEST(OfflineArgs, FitsSchema) {
  auto fits = [](std::string_view value, std::string_view schema) {
    return fits_schema(bj::parse(value), obj(schema));
  };
  EXPECT_TRUE(fits(R"("C-1001")", R"({"type":"string","pattern":"^C-[0-9]{4}$"})"));
  EXPECT_FALSE(fits(R"("C-101")", R"({"type":"string","pattern":"^C-[0-9]{4}$"})"));
  EXPECT_TRUE(fits(R"("a@b.io")", R"({"type":"string","format":"email"})"));
  EXPECT_FALSE(fits(R"("a@b")", R"({"type":"string","format":"email"})"));
  EXPECT_TRUE(fits(R"("2024-02-29")", R"({"format":"date"})"));
  EXPECT_FALSE(fits(R"("2023-02-29")", R"({"format":"date"})"));
  EXPECT_TRUE(fits("5", R"({"type":"integer","minimum":1,"maximum":100})"));
  EXPECT_FALSE(fits("0", R"({"type":"integer","minimum":1})"));
  EXPECT_FALSE(fits("2.5", R"({"type":"integer"})"));
  EXPECT_FALSE(fits(R"("queue")", R"({"enum":["queued","sent"]})"));
  EXPECT_FALSE(fits(R"("abcd")", R"({"type":"string","maxLength":3})"));
  EXPECT_TRUE(fits(R"("\u00e9\u00e9\u00e9")", R"({"type":"string","maxLength":3})"));
  EXPECT_FALSE(fits("[1,\"x\"]", R"({"type":"array","items":{"type":"number"}})"));
  EXPECT_TRUE(fits("null", R"({"type":["string","null"]})"));
  // A pattern std::regex cannot read is left to the server; one that could take exponential
  // time, and a value too long to match safely, are not used.
  EXPECT_TRUE(fits(R"("x")", R"({"type":"string","pattern":"\\p{L}+"})"));
  EXPECT_FALSE(fits(R"("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!")",
                    R"({"type":"string","pattern":"^(a+)+$"})"));
  EXPECT_FALSE(fits(bj::serialize(bj::value(std::string(300, 'a'))),
                    R"({"type":"string","pattern":"^a+$"})"));
}

Arguments fill(std::string_view schema, std::string_view question, Evidence evidence = {}) {
  ToolSpec t = tool("t", "", schema);
  Analysis a = analyse(question);
  return fill_arguments(t, a, a, evidence);
}

TEST(OfflineArgs, NamedValuesEnumsAndPositions) {
  auto a = fill(R"({"type":"object","properties":{
                   "status":{"type":"string","enum":["queued","sent","failed"]},
                   "limit":{"type":"integer","minimum":1,"maximum":100},
                   "subject":{"type":"string"}}})",
                "Show 3 sent messages with subject: Welcome");
  EXPECT_EQ(bj::value(a.args), bj::parse(R"({"status":"sent","limit":3,"subject":"Welcome"})"));
  // A number out of bounds is not taken; a bare word is not a free-text value.
  auto b = fill(R"({"type":"object","properties":{"limit":{"type":"integer","maximum":100},
                   "subject":{"type":"string"}}})",
                "limit 500 subject Welcome");
  EXPECT_TRUE(b.args.empty()) << bj::serialize(b.args);
  auto c = fill(R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},
                   "required":["a","b"]})",
                "b=2, a=7.5");
  EXPECT_EQ(bj::value(c.args), bj::parse(R"({"a":7.5,"b":2})"));
}

TEST(OfflineArgs, RequiredTextQueryAndMissing) {
  auto text = fill(R"({"type":"object","properties":{"text":{"type":"string"}},
                      "required":["text"]})",
                   "Count the words in \"one two\"");
  EXPECT_EQ(text.args.at("text"), "one two");
  auto query = fill(R"({"type":"object","properties":{"query":{"type":"string"}},
                       "required":["query"]})",
                    "Where is C-1001?");
  EXPECT_EQ(query.args.at("query"), "Where is C-1001?");
  auto missing = fill(R"({"type":"object","properties":{"text":{"type":"string"},
                         "when":{"type":"string","format":"date"}},"required":["text","when"]})",
                      "Count words");
  EXPECT_EQ(missing.missing, (V{"text", "when"}));
  EXPECT_FALSE(missing.alternatives);
  auto defaulted = fill(R"({"type":"object","properties":{"unit":{"type":"string",
                           "default":"cm"}},"required":["unit"]})",
                        "anything");
  EXPECT_EQ(defaulted.args.at("unit"), "cm");
}

TEST(OfflineArgs, ValuesFromEarlierResults) {
  const char* schema = R"({"type":"object","properties":{
      "email":{"type":"string","format":"email"},"client_id":{"type":"string"}},
      "required":["email","client_id"]})";
  Evidence e;
  e.structured.push_back(bj::parse(R"({"client":{"clientId":"C-1","contact_email":"x@y.io"}})"));
  auto a = fill(schema, "send it", e);
  EXPECT_TRUE(a.missing.empty());
  EXPECT_EQ(a.args.at("email"), "x@y.io");
  EXPECT_EQ(a.args.at("client_id"), "C-1");
  EXPECT_EQ(a.filled_from_question, 0u);
  Evidence texts;
  texts.texts.push_back("The client's address is ada@example.com.");
  auto b = fill(R"({"type":"object","properties":{"email":{"type":"string","format":"email"}},
                   "required":["email"]})",
                "send it", texts);
  EXPECT_EQ(b.args.at("email"), "ada@example.com");
}

TEST(OfflineArgs, DescribesWhatIsExpected) {
  ToolSpec t = tool("get_client_address", "Look up a client by id, e.g. C-1001.",
                    R"({"type":"object","properties":{
                        "client_id":{"type":"string","pattern":"^C-[0-9]{4}$"},
                        "status":{"enum":["queued","sent"]},
                        "limit":{"type":"integer","minimum":1,"maximum":100},
                        "code":{"type":"string","pattern":"^[A-Z]{3}$","description":"Currency"},
                        "email":{"type":"string","format":"email"}}})");
  EXPECT_EQ(describe_expected(t, "client_id"), "a value like C-1001 (pattern `^C-[0-9]{4}$`)");
  EXPECT_EQ(describe_expected(t, "status"), "one of queued, sent");
  EXPECT_EQ(describe_expected(t, "limit"), "a whole number from 1 to 100");
  EXPECT_EQ(describe_expected(t, "code"), "Currency; a value matching the pattern `^[A-Z]{3}$`");
  EXPECT_EQ(describe_expected(t, "email"), "an e-mail address");
}

TEST(OfflineArgs, FindsAProviderForAMissingField) {
  std::vector<ToolSpec> tools{
      tool("send_email", "Send an e-mail.",
           R"({"type":"object","properties":{"email":{"type":"string"}},"required":["email"]})"),
      tool("update_email", "Change a client's e-mail address.",
           R"({"type":"object","properties":{"client_id":{"type":"string"},
               "email":{"type":"string"}},"required":["client_id"]})"),
      tool("get_client", "A client's record with name and e-mail, by client id.",
           R"({"type":"object","properties":{"client_id":{"type":"string",
               "pattern":"^C-[0-9]{4}$"}},"required":["client_id"]})")};
  auto p = find_provider(tools, 0, "email", analyse("Send a welcome email to client C-1001"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->index, 2u);  // update_email takes an e-mail, so it does not provide one
  EXPECT_EQ(bj::value(p->args), bj::parse(R"({"client_id":"C-1001"})"));
  EXPECT_FALSE(find_provider(tools, 0, "email", analyse("Send a welcome email")));
}

TEST(OfflineAnswer, TableAndChartBlocks) {
  auto table =
      table_block(bj::parse(R"([{"name":"a","n":1,"tags":["x"]},{"name":"b","extra":true}])"));
  ASSERT_TRUE(table);
  EXPECT_EQ(bj::value(*table), bj::parse(R"({"responseType":"table","data":{
      "headers":[{"id":"name","label":"Name"},{"id":"n","label":"N"},{"id":"tags","label":"Tags"},
                 {"id":"extra","label":"Extra"}],
      "rows":[{"id":"1","data":{"name":"a","n":"1","tags":"[\"x\"]","extra":""}},
              {"id":"2","data":{"name":"b","n":"","tags":"","extra":"true"}}]}})"));
  EXPECT_FALSE(table_block(bj::parse(R"({"total":3})")));
  EXPECT_FALSE(table_block(bj::parse(R"({"items":[]})")));

  auto pie = plot_block(bj::parse(R"({"by_status":{"queued":2,"sent":5,"failed":1}})"), "pie");
  ASSERT_TRUE(pie);
  EXPECT_EQ(bj::value(*pie), bj::parse(R"({"responseType":"plotData","data":{"type":"pie",
      "data":{"labels":["Queued","Sent","Failed"],"datasets":[{"label":"Value","data":[2,5,1]}]}}})"));
  EXPECT_FALSE(plot_block(bj::parse(R"({"a":1})"), "bar"));  // one value is no series
  EXPECT_FALSE(plot_block(bj::parse(R"({"a":1,"b":"x"})"), "bar"));
  EXPECT_EQ(chart_request("show a pie of statuses"), "pie");
  EXPECT_EQ(chart_request("plot the trend"), "line");
  EXPECT_EQ(chart_request("Chart sales by month"), "bar");
  EXPECT_FALSE(chart_request("list sales by month"));
  EXPECT_EQ(fence(obj(R"({"a":1})")), "```json\n{\"a\":1}\n```");
}

TEST(OfflineAnswer, MarkdownTableWhenTheBlockIsTaken) {
  ToolResultBlock r{"id", bj::array{bj::object{{"type", "json"},
                                               {"json", bj::parse(R"({"rows":[{"a":"x|y"}]})")}}}};
  Written w = write_outcomes({Outcome{"list", {}, &r}}, "list", /*block_free=*/false);
  EXPECT_FALSE(w.block);
  EXPECT_EQ(w.text, "list returned 1 rows:\n\n| A |\n| --- |\n| x\\|y |");
}

TEST(OfflineAnswer, JsonInATextBlockIsStructured) {
  ToolResultBlock r{"id", bj::array{bj::object{{"type", "text"}, {"text", " {\"sum\": 3}"}}}};
  auto v = structured_result(r);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, bj::parse(R"({"sum":3})"));
  EXPECT_EQ(result_text(r), " {\"sum\": 3}");
}

}  // namespace
}  // namespace idp::llm::offline

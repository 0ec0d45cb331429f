#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "idp/core/json_util.h"
#include "idp/mcp/schema.h"
#include "idp/mcp/types.h"

namespace idp::mcp {
namespace {

boost::json::object obj(std::string_view text) { return ::idp::json::parse(text)->as_object(); }
boost::json::value val(std::string_view text) { return *::idp::json::parse(text); }

const char* kAddSchema = R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},
  "required":["a","b"],"additionalProperties":false})";

TEST(Schema, AcceptsConformingArguments) {
  auto v = SchemaValidator::compile(obj(kAddSchema));
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->validate(val(R"({"a":1,"b":2.5})")));
}

// Found by fuzz-jsonrpc: these made the schema parser recurse until the stack overflowed.
TEST(Schema, RefusesReferenceCyclesAndRemoteReferences) {
  for (const char* text : {R"({"$ref":"#"})", R"({"$ref":"objects"})",
                           R"({"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}}})"}) {
    auto v = SchemaValidator::compile(obj(text));
    ASSERT_FALSE(v) << text;
    EXPECT_NE(v.error().message().find("$ref"), std::string::npos) << v.error().message();
  }
  // A recursive schema through "properties" is fine: a tree of any depth.
  auto tree = SchemaValidator::compile(obj(R"({"type":"object","properties":{"child":{"$ref":"#"}}})"));
  ASSERT_TRUE(tree);
  EXPECT_FALSE(tree->validate(val(R"({"child":{"child":{}}})")));
  EXPECT_TRUE(tree->validate(val(R"({"child":{"child":3}})")));
}

TEST(Schema, NamesTheFieldWithTheWrongType) {
  auto v = SchemaValidator::compile(obj(kAddSchema));
  auto problem = v->validate(val(R"({"a":"one","b":2})"));
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("a: wrong type (got string)"), std::string::npos) << *problem;
}

// A count a tool keeps in a std::size_t is a uint64 in Boost.JSON; it is an integer all the same
// (valijson's adapter alone would say "wrong type"), also where the fast path does not apply.
TEST(Schema, UnsignedCountsAreIntegers) {
  auto v = SchemaValidator::compile(obj(R"({"type":"object","properties":{"words":{"type":"integer"},
      "keywords":{"type":"array","items":{"type":"string"}}},"required":["words"]})"));
  ASSERT_TRUE(v);
  boost::json::object counted{{"words", std::size_t{12}}, {"keywords", boost::json::array{"report"}}};
  ASSERT_TRUE(counted.at("words").is_uint64());
  EXPECT_FALSE(v->validate(counted));
  EXPECT_FALSE(v->validate(boost::json::value(counted)));
  counted["words"] = 1.5;
  EXPECT_TRUE(v->validate(counted));
}

TEST(Schema, NamesAMissingRequiredField) {
  auto v = SchemaValidator::compile(obj(kAddSchema));
  auto problem = v->validate(val(R"({"a":1})"));
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("'b'"), std::string::npos) << *problem;
}

TEST(Schema, RejectsUnexpectedFields) {
  auto v = SchemaValidator::compile(obj(kAddSchema));
  auto problem = v->validate(val(R"({"a":1,"b":2,"c":3})"));
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("c"), std::string::npos) << *problem;
}

TEST(Schema, FollowsDefsReferencesOf2020_12Schemas) {
  auto v = SchemaValidator::compile(obj(R"({
    "$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
    "$defs":{"address":{"type":"object","properties":{"city":{"type":"string"}}}},
    "properties":{"address":{"$ref":"#/$defs/address"}},"additionalProperties":false})"));
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_FALSE(v->validate(val(R"({"address":{"city":"Paris"}})")));
  auto problem = v->validate(val(R"({"address":{"city":7}})"));
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("address.city"), std::string::npos) << *problem;
}

TEST(Schema, NestedArrayPathsArePrinted) {
  auto v = SchemaValidator::compile(
      obj(R"({"type":"object","properties":{"items":{"type":"array","items":{"type":"integer"}}}})"));
  auto problem = v->validate(val(R"({"items":[1,"two"]})"));
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("items[1]"), std::string::npos) << *problem;
}

TEST(Schema, UncompilableSchemaIsAnError) {
  auto v = SchemaValidator::compile(obj(R"({"type":"object","properties":{"a":{"$ref":"#/nowhere"}}})"));
  EXPECT_FALSE(v);
}

TEST(Types, ToolRoundTripsThroughJson) {
  Tool t;
  t.name = "add";
  t.title = "Add";
  t.description = "Adds";
  t.input_schema = obj(kAddSchema);
  t.annotations = ToolAnnotations{.read_only_hint = true};
  auto j = boost::json::value_from(t);
  EXPECT_EQ(j.at("inputSchema").at("required").as_array().size(), 2u);
  EXPECT_EQ(j.at("annotations").at("readOnlyHint").as_bool(), true);
  auto back = boost::json::value_to<Tool>(j);
  EXPECT_EQ(back.name, "add");
  EXPECT_EQ(back.title, "Add");
  EXPECT_EQ(back.annotations->read_only_hint, true);
}

TEST(Types, CallToolResultOmitsDefaults) {
  auto j = boost::json::value_from(CallToolResult::text("hi"));
  EXPECT_FALSE(j.as_object().contains("isError"));
  auto e = boost::json::value_from(CallToolResult::error("boom"));
  EXPECT_TRUE(e.at("isError").as_bool());
  EXPECT_EQ(e.at("content").at(0).at("text").as_string(), "boom");
}

TEST(Types, ProtocolVersions) {
  EXPECT_TRUE(is_supported_protocol_version("2025-11-25"));
  EXPECT_TRUE(is_supported_protocol_version("2025-03-26"));
  EXPECT_FALSE(is_supported_protocol_version("2024-11-05"));
  EXPECT_EQ(parse_log_level("warning"), LogLevel::kWarning);
  EXPECT_FALSE(parse_log_level("loud"));
}

}  // namespace
}  // namespace idp::mcp

namespace idp::mcp {
namespace {

// The quick acceptance path for simple object schemas must agree with the full validator.
TEST(Schema, QuickPathAgreesWithTheFullValidator) {
  auto v = SchemaValidator::compile(obj(R"({"type":"object","properties":{
      "n":{"type":"integer","minimum":1,"maximum":10,"description":"count"},
      "mode":{"type":"string","enum":["fast","slow"]},
      "flag":{"type":["boolean","null"]}},"required":["n"]})"));
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->validate(val(R"({"n":3})")));
  EXPECT_FALSE(v->validate(val(R"({"n":3,"mode":"slow","flag":null,"other":1})")));
  EXPECT_TRUE(v->validate(val(R"({"n":0})")));
  EXPECT_TRUE(v->validate(val(R"({"n":11})")));
  EXPECT_TRUE(v->validate(val(R"({"n":2.5})")));
  EXPECT_TRUE(v->validate(val(R"({"n":3,"mode":"medium"})")));
  EXPECT_TRUE(v->validate(val(R"({"n":3,"flag":"yes"})")));
  EXPECT_TRUE(v->validate(val(R"({"mode":"fast"})")));
  EXPECT_TRUE(v->validate(val(R"([1,2])")));
  auto problem = v->validate(val(R"({"n":"3"})"));
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("n: wrong type (got string)"), std::string::npos) << *problem;
}

// Patterns and lengths (in code points) on the quick path, and the full validator's message.
TEST(Schema, PatternsAndLengthsAreCheckedWithTheMessageNamingTheField) {
  auto v = SchemaValidator::compile(obj(R"({"type":"object","properties":{
      "id":{"type":"string","pattern":"^C-[0-9]{4}$"},
      "name":{"type":"string","minLength":2,"maxLength":3}},"required":["id"],
      "additionalProperties":false})"));
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->validate(val(R"({"id":"C-1001","name":"\u00e4\u00f6\u00fc"})")));  // 3 code points
  EXPECT_TRUE(v->validate(val(R"({"id":"C-1001","name":"\u00e4\u00f6\u00fcx"})")));
  EXPECT_TRUE(v->validate(val(R"({"id":"C-1001","name":"a"})")));
  auto problem = v->validate(val(R"({"id":"C-1001' OR 1=1 --"})"));
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("id: "), std::string::npos) << *problem;
  EXPECT_NE(problem->find("pattern"), std::string::npos) << *problem;
}

// Formats are the validator's own: every tool gets them, whether a guard is in front or not.
TEST(Schema, EnforcedFormatsNameTheFieldAndTheRule) {
  auto v = SchemaValidator::compile(obj(R"({"type":"object","properties":{
      "email":{"type":"string","format":"email"},
      "when":{"type":"array","items":{"type":"string","format":"date"}},
      "at":{"type":"string","format":"time"}}})"));
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->check(val(R"({"email":"ada@example.com","when":["2024-02-29"]})")));
  auto email = v->check(val(R"({"email":"ada(at)example.com"})"));
  ASSERT_TRUE(email);
  EXPECT_TRUE(email->format);
  EXPECT_EQ(email->message, "email: not a valid e-mail address (format email)");
  auto leap = v->check(val(R"({"when":["2024-02-29","2023-02-29"]})"));
  ASSERT_TRUE(leap);
  EXPECT_TRUE(leap->format);
  EXPECT_NE(leap->message.find("when[1]: "), std::string::npos) << leap->message;
  EXPECT_NE(leap->message.find("(format date)"), std::string::npos) << leap->message;
  // "time" is not one of ours: the schema validator checks it (a schema rule).
  auto time = v->check(val(R"({"at":"25:00:00Z"})"));
  ASSERT_TRUE(time);
  EXPECT_FALSE(time->format);
  auto type = v->check(val(R"({"email":7})"));
  ASSERT_TRUE(type);
  EXPECT_FALSE(type->format);
}

// Under anyOf a format is part of its branch: a value that fits no branch is refused.
TEST(Schema, FormatsInsideAnyOfStayPartOfTheirBranch) {
  auto v = SchemaValidator::compile(obj(R"({"type":"object","properties":{"d":{"anyOf":[
      {"type":"string","format":"date"},{"type":"integer"}]}}})"));
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->validate(val(R"({"d":"2024-01-31"})")));
  EXPECT_FALSE(v->validate(val(R"({"d":7})")));
  EXPECT_TRUE(v->validate(val(R"({"d":"not a date"})")));
}

// One compiled schema, validated from several threads at once (patterns through the full
// validator, whose compiled regexes are kept per thread).
TEST(Schema, ValidatesFromManyThreadsAtOnce) {
  auto v = SchemaValidator::compile(obj(R"({"type":"object","properties":{
      "id":{"type":"string","pattern":"^C-[0-9]{4}$"},"tags":{"type":"array","items":{
      "type":"string","pattern":"^[a-z]+$"}}},"not":{"required":["forbidden"]}})"));
  ASSERT_TRUE(v);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (v->validate(val(R"({"id":"C-1234","tags":["a","bc"]})"))) ++wrong;
        if (!v->validate(val(R"({"id":"C-12345","tags":["a"]})"))) ++wrong;
        if (!v->validate(val(R"({"id":"C-1234","tags":["A"]})"))) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace idp::mcp

namespace idp::mcp {
namespace {

// A structured result is validated as an object, with the same verdicts as the value form.
TEST(Schema, ObjectsAreValidatedWithoutAValueWrapper) {
  auto v = SchemaValidator::compile(obj(R"({"type":"object","properties":{
      "id":{"type":"string","pattern":"^C-[0-9]{4}$"}},"required":["id"]})"));
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->validate(obj(R"({"id":"C-1001"})")));
  auto problem = v->validate(obj(R"({"id":"nope"})"));
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("id: "), std::string::npos) << *problem;
  EXPECT_TRUE(v->validate(obj(R"({})")));
}

}  // namespace
}  // namespace idp::mcp

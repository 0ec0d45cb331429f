// x-mcp-header, written once for client and server: which annotations make a tool invalid (and
// the message that names the property), and the header encoding both sides must agree on.
#include <gtest/gtest.h>

#include "idp/core/json_util.h"
#include "x_mcp_header.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;

Result<std::vector<xheader::ParamHeader>> scan(std::string_view schema) {
  return xheader::scan(::idp::json::parse(schema)->as_object());
}

TEST(XMcpHeader, FindsAnnotationsThroughPropertiesOnly) {
  auto ok = scan(R"({"type":"object","properties":{
      "region":{"type":"string","x-mcp-header":"Region"},
      "n":{"type":"object","properties":{"depth":{"type":"integer","x-mcp-header":"Depth"}}},
      "flag":{"type":"boolean","x-mcp-header":"Flag","default":true},
      "e":{"type":"string","enum":[{"x-mcp-header":"InData"}]}}})");
  ASSERT_TRUE(ok) << ok.error().message();
  ASSERT_EQ(ok->size(), 3u);
  EXPECT_EQ((*ok)[0].name, "Region");
  EXPECT_EQ((*ok)[1].path, (std::vector<std::string>{"n", "depth"}));
  EXPECT_EQ((*ok)[2].name, "Flag");
}

TEST(XMcpHeader, InvalidAnnotationsNameTheProperty) {
  struct Case {
    const char* schema;
    const char* message;
  };
  for (
      const auto& c : std::vector<Case>{
          {R"({"type":"object","properties":{"x":{"type":"number","x-mcp-header":"X"}}})",
           "x-mcp-header of property 'x' needs \"type\" string, integer or boolean"},
          {R"({"type":"object","properties":{"l":{"type":"array","items":{"type":"string","x-mcp-header":"L"}}}})",
           "is not reachable from the root through \"properties\" alone"},
          {R"({"type":"object","x-mcp-header":"Root"})", "x-mcp-header on the schema root"},
          {R"({"type":"object","properties":{"a":{"type":"string","x-mcp-header":"bad header"}}})",
           "x-mcp-header of property 'a' must be a non-empty HTTP header token"},
          {R"({"type":"object","properties":{"a":{"type":"string","x-mcp-header":""}}})",
           "must be a non-empty HTTP header token"},
          {R"({"type":"object","properties":{"a":{"type":"string","x-mcp-header":"Dup"},"b":{"type":"string","x-mcp-header":"dup"}}})",
           "x-mcp-header 'dup' is used twice"},
          {R"({"type":"object","$defs":{"d":{"type":"string","x-mcp-header":"D"}}})",
           "is not reachable"},
      }) {
    auto r = scan(c.schema);
    ASSERT_FALSE(r) << c.schema;
    EXPECT_NE(r.error().message().find(c.message), std::string::npos) << r.error().message();
  }
}

TEST(XMcpHeader, EncodingRoundTrips) {
  for (std::string v : {"eu-west-1", "Zürich", " padded ", "line\nbreak", "=?base64?looks?=", ""}) {
    std::string header = xheader::encode(v);
    for (char c : header) EXPECT_TRUE(c >= 0x20 && c <= 0x7E) << "not plain ASCII: " << header;
    auto back = xheader::decode(header);
    ASSERT_TRUE(back) << header;
    EXPECT_EQ(*back, v);
  }
  EXPECT_EQ(xheader::encode("eu-west-1"), "eu-west-1");
  EXPECT_EQ(xheader::encode("Zürich"), "=?base64?WsO8cmljaA==?=");
  EXPECT_FALSE(xheader::decode("=?base64?not base64!?="));
  EXPECT_FALSE(xheader::decode("=?base64?WsO8cmljaA?=")) << "padding is required";
  EXPECT_FALSE(xheader::decode("caf\xC3\xA9")) << "raw UTF-8 is not a header value";
}

TEST(XMcpHeader, ValuesAndComparison) {
  EXPECT_EQ(xheader::param_value(bj::value(42)), "42");
  EXPECT_EQ(xheader::param_value(bj::value(3.0)), "3");
  EXPECT_FALSE(xheader::param_value(bj::value(3.5)));
  EXPECT_EQ(xheader::param_value(bj::value(true)), "true");
  EXPECT_FALSE(xheader::param_value(bj::value(nullptr)));
  EXPECT_FALSE(xheader::param_value(bj::value(bj::object{})));
  EXPECT_TRUE(xheader::mirrors("42", bj::value(42)));
  EXPECT_TRUE(xheader::mirrors("42.0", bj::value(42)));
  EXPECT_FALSE(xheader::mirrors("42x", bj::value(42)));
  EXPECT_TRUE(xheader::mirrors("false", bj::value(false)));
  EXPECT_FALSE(xheader::mirrors("False", bj::value(false)));
  bj::object args = ::idp::json::parse(R"({"n":{"depth":3},"flat":1})")->as_object();
  EXPECT_EQ(*xheader::find_argument(&args, {"n", "depth"}), bj::value(3));
  EXPECT_EQ(xheader::find_argument(&args, {"flat", "deeper"}), nullptr)
      << "not an object on the way";
  EXPECT_EQ(xheader::find_argument(nullptr, {"n"}), nullptr);
}

}  // namespace
}  // namespace idp::mcp

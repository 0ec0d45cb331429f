#include <gtest/gtest.h>

#include "idp/core/json_util.h"
#include "idp/mcp/jsonrpc.h"

namespace idp::mcp::jsonrpc {
namespace {

std::expected<Message, RpcError> parse_text(std::string_view text) {
  auto v = ::idp::json::parse(text);
  EXPECT_TRUE(v) << text;
  return parse(std::move(*v));
}

TEST(JsonRpc, ClassifiesEachKind) {
  auto req = parse_text(R"({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"x"}})");
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->is_request());
  EXPECT_EQ(req->method, "tools/list");
  EXPECT_EQ(req->params.at("cursor").as_string(), "x");

  auto note = parse_text(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  ASSERT_TRUE(note);
  EXPECT_TRUE(note->is_notification());

  auto res = parse_text(R"({"jsonrpc":"2.0","id":"a","result":{}})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->kind, Message::Kind::kResponse);

  auto err = parse_text(R"({"jsonrpc":"2.0","id":"a","error":{"code":-1,"message":"no"}})");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->kind, Message::Kind::kErrorResponse);
  EXPECT_EQ(err->error.code, -1);
  EXPECT_EQ(err->error.message, "no");
}

TEST(JsonRpc, RejectsBadEnvelopesWithAReason) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", "batches are not supported"},
      {R"({"jsonrpc":"1.0","id":1,"method":"ping"})", "\"jsonrpc\" must be \"2.0\""},
      {R"({"id":1,"method":"ping"})", "\"jsonrpc\" must be \"2.0\""},
      {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", "\"id\" must be a string or an integer"},
      {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", "\"id\" must be a string or an integer"},
      {R"({"jsonrpc":"2.0","id":1,"method":5})", "\"method\" must be a string"},
      {R"({"jsonrpc":"2.0","id":1,"method":"x","params":[1]})", "\"params\" must be an object"},
      {R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":""}})", "exactly one"},
      {R"({"jsonrpc":"2.0"})", "needs \"method\""},
      {R"("ping")", "must be a JSON object"},
  };
  for (const auto& c : cases) {
    auto m = parse_text(c.text);
    ASSERT_FALSE(m) << c.text;
    EXPECT_EQ(m.error().code, kInvalidRequest) << c.text;
    EXPECT_NE(m.error().message.find(c.reason), std::string::npos)
        << c.text << " -> " << m.error().message;
  }
}

TEST(JsonRpc, BuildsMessages) {
  EXPECT_EQ(response(json::value(1), json::object{}), R"({"jsonrpc":"2.0","id":1,"result":{}})");
  EXPECT_EQ(error_response(nullptr, {kParseError, "Parse error", std::nullopt}),
            R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})");
  EXPECT_EQ(notification("notifications/initialized", {}),
            R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_NE(id_key(json::value("1")), id_key(json::value(1)));
}

}  // namespace
}  // namespace idp::mcp::jsonrpc

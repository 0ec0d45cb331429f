// The MCP endpoint's body parse (request_body.h): the message reads as idp::json::parse reads
// it, except that params._meta holding only a client's envelope comes out shared (the same
// object for the same text, on this thread) and out of params; anything else stays where it was.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

#include "idp/core/json_util.h"
#include "request_body.h"

namespace idp::mcp {
namespace {

namespace bj = boost::json;

const std::string kEnvelope = R"({"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                              R"("io.modelcontextprotocol/clientCapabilities":{"roots":{}},)"
                              R"("io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}})";

std::string call(const std::string& meta, const std::string& arguments = R"({"a":2,"b":3})") {
  return R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","arguments":)" +
         arguments + R"(,"_meta":)" + meta + "}}";
}

RequestBody parse_ok(const std::string& body) {
  auto r = parse_request_body(body, bj::storage_ptr());
  EXPECT_TRUE(r) << body << ": " << (r ? "" : r.error().message());
  return r ? std::move(*r) : RequestBody{};
}

TEST(RequestBody, AnEnvelopeIsSharedAndLeavesParamsTheRestIntact) {
  auto first = parse_ok(call(kEnvelope));
  ASSERT_TRUE(first.shared_meta);
  EXPECT_EQ(*first.shared_meta, bj::parse(kEnvelope).as_object());
  const auto& params = first.doc.at("params").as_object();
  EXPECT_FALSE(params.contains("_meta"));
  EXPECT_EQ(params.size(), 2u);
  EXPECT_EQ(params.at("arguments"), bj::parse(R"({"a":2,"b":3})"));
  EXPECT_EQ(first.doc.at("id"), bj::value(7));

  // The next request with the same envelope gets the same object, whatever else differs.
  auto second = parse_ok(call(kEnvelope, R"({"a":40,"b":2,"s":"_meta\"x"})"));
  EXPECT_EQ(second.shared_meta.get(), first.shared_meta.get());
  EXPECT_EQ(second.doc.at("params").at("arguments").at("a"), bj::value(40));
  EXPECT_EQ(second.doc.at("params").at("arguments").at("s"), bj::value("_meta\"x"));
  EXPECT_FALSE(second.doc.at("params").as_object().contains("_meta"));
}

TEST(RequestBody, OtherKeysInMetaKeepItInParams) {
  const std::string meta = R"({"progressToken":"p1","io.modelcontextprotocol/clientInfo":{}})";
  auto r = parse_ok(call(meta));
  EXPECT_FALSE(r.shared_meta);
  EXPECT_EQ(r.doc.at("params").at("_meta"), bj::parse(meta));
  // A large one (recorded, then built into the DOM), and an envelope after it.
  const std::string big = R"({"progressToken":"p2","note":")" + std::string(200000, 'n') + R"("})";
  auto b = parse_ok(call(big));
  EXPECT_FALSE(b.shared_meta);
  EXPECT_EQ(b.doc.at("params").at("_meta"), bj::parse(big));
  auto e = parse_ok(call(kEnvelope));
  ASSERT_TRUE(e.shared_meta);
  EXPECT_EQ(*e.shared_meta, bj::parse(kEnvelope).as_object());
}

TEST(RequestBody, TheEnvelopesTextElsewhereIsNotTakenForParamsMeta) {
  parse_ok(call(kEnvelope));  // known on this thread now
  // The same text first under arguments._meta, then as params._meta: only the second is shared.
  auto r = parse_ok(call(kEnvelope, R"({"_meta":)" + kEnvelope + "}"));
  ASSERT_TRUE(r.shared_meta);
  EXPECT_EQ(r.doc.at("params").at("arguments").at("_meta"), bj::parse(kEnvelope));
  EXPECT_FALSE(r.doc.at("params").as_object().contains("_meta"));
  // Only under arguments: nothing is shared, the DOM has it.
  const std::string nested =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"_meta":)" +
      kEnvelope + "}}}";
  auto n = parse_ok(nested);
  EXPECT_FALSE(n.shared_meta);
  EXPECT_EQ(n.doc, bj::parse(nested));
  // At the root: not params' either.
  const std::string root = R"({"jsonrpc":"2.0","id":1,"method":"ping","_meta":)" + kEnvelope + "}";
  auto top = parse_ok(root);
  EXPECT_FALSE(top.shared_meta);
  EXPECT_EQ(top.doc, bj::parse(root));
}

TEST(RequestBody, AnEscapedKeyAndSpacesReadTheSameAsJsonSays) {
  // "\u005fmeta" is "_meta" to JSON; it stays in params, where a reader finds it.
  const std::string escaped =
      R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"\u005fmeta":)" + kEnvelope + "}}";
  auto e = parse_ok(escaped);
  EXPECT_FALSE(e.shared_meta);
  EXPECT_EQ(e.doc, bj::parse(escaped));
  // Spaces around the colon and inside the envelope: shared, the same content.
  const std::string spaced =
      R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"_meta" :  { "io.modelcontextprotocol/protocolVersion" : "2026-07-28" } }})";
  for (int i = 0; i < 2; ++i) {  // a miss, then a hit
    auto s = parse_ok(spaced);
    ASSERT_TRUE(s.shared_meta);
    EXPECT_EQ(*s.shared_meta,
              bj::parse(R"({"io.modelcontextprotocol/protocolVersion":"2026-07-28"})").as_object());
    EXPECT_TRUE(s.doc.at("params").as_object().empty());
  }
}

TEST(RequestBody, TheLastMetaCounts) {
  const std::string then_string = R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"_meta":)" +
                                  kEnvelope + R"(,"_meta":"x"}})";
  auto a = parse_ok(then_string);
  EXPECT_FALSE(a.shared_meta);
  EXPECT_EQ(a.doc.at("params").at("_meta"), bj::value("x"));
  const std::string then_other = R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"_meta":)" +
                                 kEnvelope + R"(,"_meta":{"progressToken":1}}})";
  auto b = parse_ok(then_other);
  EXPECT_FALSE(b.shared_meta);
  EXPECT_EQ(b.doc.at("params").at("_meta"), bj::parse(R"({"progressToken":1})"));
  // Another _meta first, then the envelope: the envelope, in params, as JSON's last key wins.
  for (int i = 0; i < 2; ++i) {  // the full parse, then the cached path
    const std::string other_then =
        R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"_meta":{"x":1},"_meta":)" + kEnvelope +
        "}}";
    auto c = parse_ok(other_then);
    EXPECT_FALSE(c.shared_meta);
    EXPECT_EQ(c.doc, bj::parse(other_then));
    EXPECT_EQ(c.doc.at("params").at("_meta"), bj::parse(kEnvelope));
  }
}

TEST(RequestBody, ALaterParamsReplacesTheEarlierAndItsMeta) {
  for (const std::string& later : {std::string(R"("params":0)"), std::string(R"("p\u0061rams":{})"),
                                   std::string(R"("params":{"name":"y"})")}) {
    for (int i = 0; i < 2; ++i) {  // the full parse, then the cached path
      const std::string body =
          call(kEnvelope).substr(0, call(kEnvelope).size() - 1) + "," + later + "}";
      auto r = parse_ok(body);
      EXPECT_FALSE(r.shared_meta) << body;
      EXPECT_EQ(r.doc, bj::parse(body)) << body;
    }
  }
}

TEST(RequestBody, ManyEnvelopesEachReadRight) {
  // More distinct envelopes than the cache holds, twice over: each parse still gives its own.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 20; ++i) {
      const std::string meta = R"({"io.modelcontextprotocol/clientInfo":{"name":"c)" +
                               std::to_string(i) +
                               R"(","version":"1"},"io.modelcontextprotocol/logLevel":"info"})";
      auto r = parse_ok(call(meta));
      ASSERT_TRUE(r.shared_meta);
      EXPECT_EQ(*r.shared_meta, bj::parse(meta).as_object());
    }
  }
}

TEST(RequestBody, ErrorsReadAsTheGeneralParsersDo) {
  parse_ok(call(kEnvelope));  // the envelope is known: bodies carrying it take the fast path
  const std::string good = call(kEnvelope);
  for (const std::string& bad : {
           std::string(R"({"jsonrpc" "2.0"})"),
           good.substr(0, 10) + "}" + good.substr(11),
           good + "x",  // the envelope and then garbage: the fast path must not hide it
           good.substr(0, good.size() - 1),
           call(kEnvelope, R"({"a":1e999})"),
           call(kEnvelope, R"({"a":-1e999})"),
           std::string(70, '[') + std::string(70, ']'),
       }) {
    auto ours = parse_request_body(bad, bj::storage_ptr());
    auto general = ::idp::json::parse(bad);
    ASSERT_FALSE(ours) << bad;
    ASSERT_FALSE(general) << bad;
    EXPECT_EQ(ours.error().message(), general.error().message()) << bad;
  }
}

}  // namespace
}  // namespace idp::mcp

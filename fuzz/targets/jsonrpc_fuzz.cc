// Fuzz target: JSON-RPC messages and MCP types (idp::mcp), the first thing done with every body
// that reaches an MCP server or comes back to our client. The input is one message body. It is
// parsed as the transport parses it, classified (jsonrpc::parse), and its params or result are
// read as the MCP types a client reads (Tool, with its x-mcp-header annotations and its
// inputSchema compiled and applied to the arguments; CallToolResult; Implementation;
// InputRequiredResult). Checks: a classified message rebuilt with the builders classifies the
// same, and a Tool written back and read again is unchanged (listings pass through as they are).
// The MCP server's own body parse (request_body.h), twice so that a shared _meta envelope also
// takes the cached path, must accept what the general parser accepts and give the same value
// once the shared _meta is put back into params.
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <string>

#include "fuzz_target.h"
#include "idp/core/json_util.h"
#include "idp/mcp/jsonrpc.h"
#include "idp/mcp/schema.h"
#include "idp/mcp/types.h"
#include "request_body.h"
#include "x_mcp_header.h"

namespace json = boost::json;
namespace mcp = idp::mcp;

namespace {

template <class T>
std::optional<T> read_as(const json::value& v) {
  try {
    return json::value_to<T>(v);
  } catch (const std::exception&) {  // how the client reads them: a malformed one is skipped
    return std::nullopt;
  }
}

void check_tool(const json::value& v, const json::value* arguments) {
  auto tool = read_as<mcp::Tool>(v);
  if (!tool) return;
  json::value written = json::value_from(*tool);
  auto again = read_as<mcp::Tool>(written);
  IDP_FUZZ_CHECK(again.has_value());
  IDP_FUZZ_CHECK(json::serialize(json::value_from(*again)) == json::serialize(written));
  (void)mcp::xheader::scan(tool->input_schema);
  auto schema = mcp::SchemaValidator::compile(tool->input_schema);
  if (schema && arguments) (void)schema->validate(*arguments);
  if (tool->output_schema) (void)mcp::SchemaValidator::compile(*tool->output_schema);
}

void check_roundtrip(const mcp::jsonrpc::Message& m) {
  std::string text;
  switch (m.kind) {
    case mcp::jsonrpc::Message::Kind::kRequest:
      text = mcp::jsonrpc::request(m.id, m.method, m.params);
      break;
    case mcp::jsonrpc::Message::Kind::kNotification:
      text = mcp::jsonrpc::notification(m.method, m.params);
      break;
    case mcp::jsonrpc::Message::Kind::kResponse:
      text = mcp::jsonrpc::response(m.id, m.result);
      break;
    case mcp::jsonrpc::Message::Kind::kErrorResponse:
      text = mcp::jsonrpc::error_response(m.id, m.error);
      break;
  }
  auto parsed = idp::json::parse(text);
  IDP_FUZZ_CHECK(parsed.has_value());
  auto again = mcp::jsonrpc::parse(std::move(*parsed));
  IDP_FUZZ_CHECK(again.has_value());
  IDP_FUZZ_CHECK(again->kind == m.kind);
  IDP_FUZZ_CHECK(again->method == m.method);
  IDP_FUZZ_CHECK(mcp::jsonrpc::id_key(again->id) == mcp::jsonrpc::id_key(m.id));
}

void check_request_body(std::string_view text, const idp::Result<json::value>& general) {
  for (int pass = 0; pass < 2; ++pass) {
    auto ours = mcp::parse_request_body(text, json::storage_ptr());
    IDP_FUZZ_CHECK(ours.has_value() == general.has_value());
    if (!ours) continue;
    json::value doc = std::move(ours->doc);
    if (ours->shared_meta) {
      auto* params = doc.is_object() ? doc.as_object().if_contains("params") : nullptr;
      IDP_FUZZ_CHECK(params && params->is_object() && !params->as_object().contains("_meta"));
      params->as_object()["_meta"] = *ours->shared_meta;
    }
    IDP_FUZZ_CHECK(doc == *general);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = idp::json::parse(idp::fuzz::as_text(data, size));
  check_request_body(idp::fuzz::as_text(data, size), parsed);
  if (!parsed) return 0;
  auto message = mcp::jsonrpc::parse(std::move(*parsed));
  if (!message) {
    IDP_FUZZ_CHECK(!message.error().message.empty());
    return 0;
  }
  check_roundtrip(*message);

  if (!message->is_response()) {
    const json::value params(message->params);
    const json::value* arguments = message->params.if_contains("arguments");
    check_tool(params, arguments);
    (void)read_as<mcp::Implementation>(params);
    if (auto* info = message->params.if_contains("clientInfo")) {
      (void)read_as<mcp::Implementation>(*info);
    }
    return 0;
  }
  const json::value& result = message->result;
  (void)read_as<mcp::CallToolResult>(result);
  (void)read_as<mcp::InputRequiredResult>(result);
  if (result.is_object()) {
    if (auto* tools = result.as_object().if_contains("tools"); tools && tools->is_array()) {
      for (const auto& t : tools->as_array()) check_tool(t, nullptr);
    }
    if (auto* info = result.as_object().if_contains("serverInfo")) {
      (void)read_as<mcp::Implementation>(*info);
    }
  }
  return 0;
}

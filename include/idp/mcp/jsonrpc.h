// JSON-RPC 2.0 envelopes as MCP uses them: classification of an incoming message (request,
// notification, response, error response) with the spec's error codes, and builders for
// outgoing messages. MCP ids are strings or integers, never null; batches are not allowed
// since protocol revision 2025-06-18.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace idp::mcp::jsonrpc {

namespace json = boost::json;

inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
// MCP's own codes.
inline constexpr int kResourceNotFound = -32002;  // through 2025-11-25; 2026-07-28 uses -32602
inline constexpr int kConnectionClosed = -32000;  // also used for transport-level rejections
inline constexpr int kRequestTimeout = -32001;
// 2026-07-28 (the range -32020..-32099 is reserved for the specification).
inline constexpr int kHeaderMismatch = -32020;                   // HTTP headers vs body
inline constexpr int kMissingRequiredClientCapability = -32021;  // data.requiredCapabilities
inline constexpr int kUnsupportedProtocolVersion = -32022;       // data.supported, data.requested

struct RpcError {
  int code = kInternalError;
  std::string message;
  std::optional<json::value> data;
};

struct Message {
  enum class Kind { kRequest, kNotification, kResponse, kErrorResponse };
  Kind kind = Kind::kRequest;
  json::value id;         // string or integer; null for notifications
  std::string method;     // requests and notifications
  json::object params;    // requests and notifications; empty when absent
  json::value result;     // responses
  RpcError error;         // error responses

  bool is_request() const { return kind == Kind::kRequest; }
  bool is_notification() const { return kind == Kind::kNotification; }
  bool is_response() const { return kind == Kind::kResponse || kind == Kind::kErrorResponse; }
};

// Classifies one parsed JSON value. On failure the RpcError is kInvalidRequest with a message
// naming the problem ("\"jsonrpc\" must be \"2.0\"").
std::expected<Message, RpcError> parse(json::value value);

// Builders; each returns the serialized message.
std::string response(const json::value& id, const json::value& result);
// A response whose result is already serialized JSON.
std::string response_raw(const json::value& id, std::string_view result_json);
// The same, wrapped around `result_json` in place (no new string when it has the room).
std::string response_raw(const json::value& id, std::string&& result_json);
std::string error_response(const json::value& id, const RpcError& error);
std::string request(const json::value& id, std::string_view method, const json::object& params);
std::string notification(std::string_view method, const json::object& params);

// The id as a map key: strings keep their text prefixed with 's', numbers with 'n'.
std::string id_key(const json::value& id);

}  // namespace idp::mcp::jsonrpc

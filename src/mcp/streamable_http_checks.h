// Private: the request checks of the Streamable HTTP transport, as pure functions of the HTTP
// request (and the options): DNS-rebinding protection (Host, Origin), content negotiation
// (Content-Type, Accept), the protocol version header of each era, which era a message belongs
// to, and the header rules of 2026-07-28 (MCP-Protocol-Version, Mcp-Method, Mcp-Name and the
// Mcp-Param-* headers of x-mcp-header parameters mirror the body). Each check returns the
// response to send instead of serving the request, or nothing. Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "idp/http/message.h"
#include "idp/mcp/jsonrpc.h"
#include "idp/mcp/streamable_http_server.h"

namespace idp::mcp {

struct ServerCore;
struct ToolEntry;

// A JSON-RPC error answer with an HTTP status.
http::Response rpc_error(int status, int code, std::string message, const json::value& id = nullptr,
                         std::optional<json::value> data = std::nullopt);

// A header's value without the optional whitespace around it (RFC 9110 5.5).
std::optional<std::string_view> header_value(const http::Request& req, std::string_view name);

// The transport's own request headers, found in one pass over the request's fields (a POST reads
// several of them, some more than once). MCP-Protocol-Version, Mcp-Method and Mcp-Name are
// trimmed as header_value() does; the others are as sent.
struct TransportHeaders {
  std::optional<std::string_view> host, origin, content_type, accept, protocol_version, session_id,
      method, name, last_event_id;
  explicit TransportHeaders(const http::Request& req);
};

// "type/subtype" of a Content-Type value, without parameters.
std::string_view media_type(std::string_view content_type);
// Whether an Accept header admits `type` ("application/json"), wildcards included.
bool accepts(std::string_view accept, std::string_view type);
// "2025-11-25, 2025-06-18, ..."
std::string version_list(std::span<const std::string_view> versions);

// Host against allowed_hosts (or loopback names when the server listens on loopback) and Origin
// against allowed_origins (or loopback origins): 400 without Host, 403 otherwise.
std::optional<http::Response> check_host_origin(const TransportHeaders& h,
                                                const StreamableHttpOptions& opt,
                                                bool loopback_bind);
// MCP-Protocol-Version of the handshake era (it repeats the negotiated version): 400 when
// unsupported.
std::optional<http::Response> check_legacy_version(const TransportHeaders& h);

// Which era a POSTed message belongs to. MCP-Protocol-Version 2026-07-28 means 2026-07-28 (a
// stray Mcp-Session-Id is then ignored: sessions cannot negotiate it). Otherwise a session id, a
// handshake version, a posted response, or neither a version header nor a _meta
// protocolVersion (an initialize, typically) mean 2025-11-25 and older; an unknown version
// header or a _meta protocolVersion without a session mean 2026-07-28 (which then answers
// -32022 or -32020, and where initialize is an unknown method). `shared_meta`: the message's
// _meta when it came shared (request_body.h), else null (then params._meta is read).
bool is_modern(const TransportHeaders& h, const jsonrpc::Message& m,
               const json::object* shared_meta);
// GET and DELETE of a 2026-07-28 client: its version header, or an unknown one without a
// session.
bool is_modern_get_or_delete(const TransportHeaders& h);

// What validate_modern found in a request that passed it, so that nothing is looked up twice:
// pointers into the message's params._meta (stable when the _meta object is moved, as its
// members are not; or into the shared envelope, which the request state then holds), the log level,
// and the tool of a tools/call when the checks needed it.
struct ModernFields {
  std::string_view protocol_version;
  const json::object* client_capabilities = nullptr;
  const json::object* client_info = nullptr;
  std::optional<LogLevel> log_level;
  std::shared_ptr<const ToolEntry> tool;
};

// The header and _meta rules of a 2026-07-28 request, in this order: version header, version
// support, required _meta, header/_meta agreement, logLevel, Mcp-Method, Mcp-Name,
// Mcp-Param-*. `meta`: the request's _meta (shared or in params), null if none. `found` receives
// what the checks read (only meaningful when they pass).
// `req` for the Mcp-Param-* headers, `h` for the others.
std::optional<http::Response> validate_modern(const http::Request& req, const TransportHeaders& h,
                                              const jsonrpc::Message& m, const json::object* meta,
                                              const ServerCore& core, ModernFields& found);

}  // namespace idp::mcp

#include "streamable_http_checks.h"

#include <array>
#include <cassert>

#include <boost/json/serialize.hpp>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/url_policy.h"
#include "server_core.h"
#include "x_mcp_header.h"

namespace idp::mcp {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Mcp-Param-<name> headers of a tool's x-mcp-header parameters must mirror the arguments.
std::optional<http::Response> check_param_headers(const http::Request& req, const ToolEntry& tool,
                                                  const jsonrpc::Message& m) {
  const json::object* args = ::idp::json::find_object(m.params, "arguments");
  for (const auto& ph : tool.param_headers) {
    const json::value* v = xheader::find_argument(args, ph.path);
    if (!v || v->is_null()) continue;  // no value: no header expected
    std::string header = "Mcp-Param-" + ph.name;
    std::string where = "arguments." + ph.path.front();
    for (std::size_t i = 1; i < ph.path.size(); ++i) where += "." + ph.path[i];
    auto raw = header_value(req, header);
    if (!raw) {
      return rpc_error(400, jsonrpc::kHeaderMismatch,
                       "Header mismatch: the " + header + " header is missing but " + where +
                           " has a value (see the tool's x-mcp-header annotations)",
                       m.id);
    }
    auto decoded = xheader::decode(*raw);
    if (!decoded) {
      return rpc_error(400, jsonrpc::kHeaderMismatch,
                       "Header mismatch: the " + header +
                           " header value is malformed (invalid characters or Base64)",
                       m.id);
    }
    if (!xheader::mirrors(*decoded, *v)) {
      return rpc_error(400, jsonrpc::kHeaderMismatch,
                       "Header mismatch: " + header + " header value '" + std::string(*raw) +
                           "' does not match " + where + " " + json::serialize(*v),
                       m.id);
    }
  }
  return std::nullopt;
}

}  // namespace

http::Response rpc_error(int status, int code, std::string message, const json::value& id,
                         std::optional<json::value> data) {
  return http::Response::json(
      status, jsonrpc::error_response(id, {code, std::move(message), std::move(data)}));
}

std::optional<std::string_view> header_value(const http::Request& req, std::string_view name) {
  auto v = req.header(name);
  if (!v) return std::nullopt;
  return trim(*v);
}

std::string_view media_type(std::string_view v) {
  auto semi = v.find(';');
  return trim(semi == std::string_view::npos ? v : v.substr(0, semi));
}

bool accepts(std::string_view accept, std::string_view type) {
  auto slash = type.find('/');
  std::string_view major = type.substr(0, slash);
  while (!accept.empty()) {
    auto comma = accept.find(',');
    std::string_view item = media_type(accept.substr(0, comma));
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    if (http::iequals(item, type) || item == "*/*") return true;
    if (item.size() == major.size() + 2 && http::iequals(item.substr(0, major.size()), major) &&
        item.substr(major.size()) == "/*") {
      return true;
    }
  }
  return false;
}

std::string version_list(std::span<const std::string_view> versions) {
  std::string out;
  for (auto v : versions) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

TransportHeaders::TransportHeaders(const http::Request& req) {
  static const http::HeaderNames kNames{
      "Host",       "Origin",         "Content-Type", "Accept",       "MCP-Protocol-Version",
      "Mcp-Method", "Mcp-Session-Id", "Mcp-Name",     "Last-Event-ID"};
  std::array<std::optional<std::string_view>, 9> v;
  assert(kNames.size() == v.size());
  req.find_headers(kNames, v);
  host = v[0];
  origin = v[1];
  content_type = v[2];
  accept = v[3];
  if (v[4]) protocol_version = trim(*v[4]);
  if (v[5]) method = trim(*v[5]);
  session_id = v[6];
  if (v[7]) name = trim(*v[7]);
  last_event_id = v[8];
}

std::optional<http::Response> check_host_origin(const TransportHeaders& h,
                                                const StreamableHttpOptions& opt,
                                                bool loopback_bind) {
  const auto& host = h.host;
  if (!host) return rpc_error(400, jsonrpc::kConnectionClosed, "Bad Request: missing Host header");
  bool host_ok;
  if (!opt.allowed_hosts.empty()) {
    host_ok = false;
    for (const auto& h : opt.allowed_hosts) {
      if (http::iequals(h, *host) || http::iequals(h, http::authority_host(*host))) host_ok = true;
    }
  } else {
    host_ok = !loopback_bind || http::is_loopback_host(http::authority_host(*host));
  }
  if (!host_ok) {
    log::warn("rejected request with Host '{}' (DNS rebinding protection)", *host);
    return rpc_error(403, jsonrpc::kConnectionClosed,
                     "Forbidden: Host '" + std::string(*host) + "' is not allowed");
  }
  if (const auto& origin = h.origin) {
    bool origin_ok = false;
    if (!opt.allowed_origins.empty()) {
      for (const auto& o : opt.allowed_origins) {
        if (o == "*" || http::iequals(o, *origin)) origin_ok = true;
      }
    } else {
      origin_ok = http::is_loopback_origin(*origin);
    }
    if (!origin_ok) {
      log::warn("rejected request with Origin '{}'", *origin);
      return rpc_error(403, jsonrpc::kConnectionClosed,
                       "Forbidden: Origin '" + std::string(*origin) + "' is not allowed");
    }
  }
  return std::nullopt;
}

std::optional<http::Response> check_legacy_version(const TransportHeaders& h) {
  if (const auto& v = h.protocol_version; v && !is_supported_protocol_version(*v)) {
    return rpc_error(400, jsonrpc::kConnectionClosed,
                     "Bad Request: unsupported MCP-Protocol-Version '" + std::string(*v) +
                         "' (supported: " + version_list(supported_protocol_versions()) + ")");
  }
  return std::nullopt;
}

bool is_modern(const TransportHeaders& h, const jsonrpc::Message& m,
               const json::object* shared_meta) {
  if (m.is_response()) return false;
  const auto& v = h.protocol_version;
  if (v && is_modern_protocol_version(*v)) return true;
  if (h.session_id) return false;
  if (v) return !is_supported_protocol_version(*v);
  if (!shared_meta) shared_meta = ::idp::json::find_object(m.params, "_meta");
  return shared_meta && shared_meta->contains(meta_keys::kProtocolVersion);
}

bool is_modern_get_or_delete(const TransportHeaders& h) {
  const auto& v = h.protocol_version;
  if (!v) return false;
  if (is_modern_protocol_version(*v)) return true;
  return !h.session_id && !is_supported_protocol_version(*v);
}

std::optional<http::Response> validate_modern(const http::Request& req, const TransportHeaders& h,
                                              const jsonrpc::Message& m, const json::object* meta,
                                              const ServerCore& core, ModernFields& found) {
  const json::value& id = m.id;
  const auto& version = h.protocol_version;
  if (!version) {
    return rpc_error(400, jsonrpc::kHeaderMismatch,
                     "Header mismatch: the MCP-Protocol-Version header is missing; it must "
                     "repeat params._meta[\"" +
                         std::string(meta_keys::kProtocolVersion) + "\"]",
                     id);
  }
  if (!is_modern_protocol_version(*version)) {
    json::array supported;
    for (auto v : all_protocol_versions()) supported.emplace_back(v);
    return rpc_error(
        400, jsonrpc::kUnsupportedProtocolVersion,
        "Unsupported protocol version '" + std::string(*version) +
            "' (supported: " + version_list(all_protocol_versions()) +
            "; versions before 2026-07-28 start with initialize)",
        id,
        json::value(json::object{{"supported", std::move(supported)}, {"requested", *version}}));
  }
  // One pass over _meta for what this era reads from it.
  const json::string* meta_version = nullptr;
  const json::object* caps = nullptr;
  const json::value* log_level = nullptr;
  if (meta) {
    for (const auto& member : *meta) {
      const std::string_view key = member.key();
      if (key == meta_keys::kProtocolVersion) {
        meta_version = member.value().if_string();
      } else if (key == meta_keys::kClientCapabilities) {
        caps = member.value().if_object();
      } else if (key == meta_keys::kClientInfo) {
        found.client_info = member.value().if_object();
      } else if (key == meta_keys::kLogLevel) {
        log_level = &member.value();
      }
    }
  }
  if (!meta_version || !caps) {
    std::string missing;
    if (!meta_version) missing += "\"" + std::string(meta_keys::kProtocolVersion) + "\" (a string)";
    if (!caps) {
      if (!missing.empty()) missing += " and ";
      missing += "\"" + std::string(meta_keys::kClientCapabilities) + "\" (an object)";
    }
    return rpc_error(400, jsonrpc::kInvalidParams,
                     "Invalid params: params._meta must carry " + missing, id);
  }
  if (*meta_version != *version) {
    return rpc_error(400, jsonrpc::kHeaderMismatch,
                     "Header mismatch: MCP-Protocol-Version header '" + std::string(*version) +
                         "' does not match params._meta protocolVersion '" +
                         std::string(*meta_version) + "'",
                     id);
  }
  found.client_capabilities = caps;
  found.protocol_version = *meta_version;
  if (log_level) {
    auto* level = log_level->if_string();
    if (level) found.log_level = parse_log_level(*level);
    if (!found.log_level) {
      return rpc_error(400, jsonrpc::kInvalidParams,
                       "Invalid params: params._meta logLevel must be one of debug, info, notice, "
                       "warning, error, critical, alert, emergency",
                       id);
    }
  }
  const auto& method_header = h.method;
  if (!method_header) {
    return rpc_error(400, jsonrpc::kHeaderMismatch,
                     "Header mismatch: the Mcp-Method header is missing (it must repeat the "
                     "body's method '" +
                         m.method + "')",
                     id);
  }
  const std::string_view method = m.method;
  if (*method_header != method) {
    return rpc_error(400, jsonrpc::kHeaderMismatch,
                     "Header mismatch: Mcp-Method header value '" + std::string(*method_header) +
                         "' does not match body method '" + m.method + "'",
                     id);
  }
  // The tasks extension routes tasks/get, tasks/update and tasks/cancel by params.taskId.
  const char* name_field =
      method == "tools/call" || method == "prompts/get"                               ? "name"
      : method == "resources/read"                                                    ? "uri"
      : method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel" ? "taskId"
                                                                                      : nullptr;
  const json::string* name = name_field ? ::idp::json::find_string(m.params, name_field) : nullptr;
  if (name) {
    const auto& raw = h.name;
    if (!raw) {
      return rpc_error(400, jsonrpc::kHeaderMismatch,
                       "Header mismatch: the Mcp-Name header is missing (it must repeat params." +
                           std::string(name_field) + " '" + std::string(*name) + "')",
                       id);
    }
    auto decoded = xheader::decode(*raw);
    if (!decoded) {
      return rpc_error(400, jsonrpc::kHeaderMismatch,
                       "Header mismatch: the Mcp-Name header value is malformed (invalid "
                       "characters or Base64)",
                       id);
    }
    if (*decoded != std::string_view(*name)) {
      return rpc_error(400, jsonrpc::kHeaderMismatch,
                       "Header mismatch: Mcp-Name header value '" + std::string(*raw) +
                           "' does not match body value '" + std::string(*name) + "'",
                       id);
    }
  }
  if (method == "tools/call" && name && core.tools_with_param_headers.load() > 0) {
    found.tool = core.find_tool(*name);
    if (found.tool && !found.tool->param_headers.empty()) {
      return check_param_headers(req, *found.tool, m);
    }
  }
  return std::nullopt;
}

}  // namespace idp::mcp

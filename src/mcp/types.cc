#include "idp/mcp/types.h"
#include "idp/mcp/jsonrpc.h"
#include "idp/core/json_util.h"

#include <boost/json/serialize.hpp>

#include <array>
#include <stdexcept>

namespace idp::mcp {

namespace {

constexpr std::array<std::string_view, 3> kVersions = {"2025-11-25", "2025-06-18", "2025-03-26"};
constexpr std::array<std::string_view, 1> kModernVersions = {kModernProtocolVersion};
constexpr std::array<std::string_view, 4> kAllVersions = {kModernProtocolVersion, "2025-11-25",
                                                          "2025-06-18", "2025-03-26"};

template <class T>
void put(json::object& o, std::string_view key, const std::optional<T>& v) {
  if (v) o[key] = json::value_from(*v);
}

std::optional<std::string> opt_string(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().get_string());
}

std::optional<bool> opt_bool(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_bool()) return std::nullopt;
  return it->value().get_bool();
}

const json::object& as_object(const json::value& v, const char* what) {
  if (!v.is_object()) throw std::invalid_argument(std::string(what) + " must be a JSON object");
  return v.get_object();
}

std::string req_string(const json::object& o, std::string_view key, const char* what) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) {
    throw std::invalid_argument(std::string(what) + "." + std::string(key) +
                                " is missing or not a string");
  }
  return std::string(it->value().get_string());
}

}  // namespace

std::span<const std::string_view> supported_protocol_versions() { return kVersions; }

bool is_supported_protocol_version(std::string_view version) {
  for (auto v : kVersions) {
    if (v == version) return true;
  }
  return false;
}

std::span<const std::string_view> modern_protocol_versions() { return kModernVersions; }

bool is_modern_protocol_version(std::string_view version) {
  for (auto v : kModernVersions) {
    if (v == version) return true;
  }
  return false;
}

std::span<const std::string_view> all_protocol_versions() { return kAllVersions; }

namespace content {
json::object text(std::string_view text) { return {{"type", "text"}, {"text", text}}; }
json::object image(std::string_view data, std::string_view mime) {
  return {{"type", "image"}, {"data", data}, {"mimeType", mime}};
}
json::object audio(std::string_view data, std::string_view mime) {
  return {{"type", "audio"}, {"data", data}, {"mimeType", mime}};
}
json::object embedded_text(std::string_view uri, std::string_view mime, std::string_view text) {
  return {{"type", "resource"},
          {"resource", json::object{{"uri", uri}, {"mimeType", mime}, {"text", text}}}};
}
json::object embedded_blob(std::string_view uri, std::string_view mime, std::string_view blob) {
  return {{"type", "resource"},
          {"resource", json::object{{"uri", uri}, {"mimeType", mime}, {"blob", blob}}}};
}
json::object resource_link(std::string_view uri, std::string_view name,
                           std::optional<std::string_view> mime) {
  json::object o{{"type", "resource_link"}, {"uri", uri}, {"name", name}};
  if (mime) o["mimeType"] = *mime;
  return o;
}
}  // namespace content

CallToolResult CallToolResult::text(std::string_view text) {
  CallToolResult r;
  r.content.push_back(content::text(text));
  return r;
}

CallToolResult CallToolResult::error(std::string_view message) {
  CallToolResult r = text(message);
  r.is_error = true;
  return r;
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kNotice: return "notice";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
    case LogLevel::kCritical: return "critical";
    case LogLevel::kAlert: return "alert";
    case LogLevel::kEmergency: return "emergency";
  }
  return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view t) {
  for (int i = 0; i <= static_cast<int>(LogLevel::kEmergency); ++i) {
    auto l = static_cast<LogLevel>(i);
    if (to_string(l) == t) return l;
  }
  return std::nullopt;
}

void tag_invoke(json::value_from_tag, json::value& v, const Implementation& x) {
  json::object o{{"name", x.name}, {"version", x.version}};
  put(o, "title", x.title);
  put(o, "description", x.description);
  put(o, "websiteUrl", x.website_url);
  v = std::move(o);
}

Implementation tag_invoke(json::value_to_tag<Implementation>, const json::value& v) {
  const auto& o = as_object(v, "implementation");
  Implementation x;
  x.name = req_string(o, "name", "implementation");
  x.version = opt_string(o, "version").value_or("");
  x.title = opt_string(o, "title");
  x.description = opt_string(o, "description");
  x.website_url = opt_string(o, "websiteUrl");
  return x;
}

void tag_invoke(json::value_from_tag, json::value& v, const ToolAnnotations& x) {
  json::object o;
  put(o, "title", x.title);
  put(o, "readOnlyHint", x.read_only_hint);
  put(o, "destructiveHint", x.destructive_hint);
  put(o, "idempotentHint", x.idempotent_hint);
  put(o, "openWorldHint", x.open_world_hint);
  v = std::move(o);
}

ToolAnnotations tag_invoke(json::value_to_tag<ToolAnnotations>, const json::value& v) {
  const auto& o = as_object(v, "annotations");
  ToolAnnotations x;
  x.title = opt_string(o, "title");
  x.read_only_hint = opt_bool(o, "readOnlyHint");
  x.destructive_hint = opt_bool(o, "destructiveHint");
  x.idempotent_hint = opt_bool(o, "idempotentHint");
  x.open_world_hint = opt_bool(o, "openWorldHint");
  return x;
}

void tag_invoke(json::value_from_tag, json::value& v, const Tool& x) {
  json::object o{{"name", x.name}};
  put(o, "title", x.title);
  put(o, "description", x.description);
  o["inputSchema"] = x.input_schema;
  if (x.output_schema) o["outputSchema"] = *x.output_schema;
  if (x.annotations) o["annotations"] = json::value_from(*x.annotations);
  if (x.meta) o["_meta"] = *x.meta;
  if (x.task_support != TaskSupport::kForbidden) {
    o["execution"] = json::object{{"taskSupport", to_string(x.task_support)}};
  }
  for (const auto& [k, val] : x.extra) {
    if (!o.contains(k)) o[k] = val;
  }
  v = std::move(o);
}

Tool tag_invoke(json::value_to_tag<Tool>, const json::value& v) {
  const auto& o = as_object(v, "tool");
  Tool x;
  x.name = req_string(o, "name", "tool");
  x.title = opt_string(o, "title");
  x.description = opt_string(o, "description");
  if (auto it = o.find("inputSchema"); it != o.end() && it->value().is_object()) {
    x.input_schema = it->value().get_object();
  }
  if (auto it = o.find("outputSchema"); it != o.end() && it->value().is_object()) {
    x.output_schema = it->value().get_object();
  }
  if (auto it = o.find("annotations"); it != o.end() && it->value().is_object()) {
    x.annotations = json::value_to<ToolAnnotations>(it->value());
  }
  if (auto it = o.find("_meta"); it != o.end() && it->value().is_object()) {
    x.meta = it->value().get_object();
  }
  if (auto* execution = ::idp::json::find_object(o, "execution")) {
    if (auto* support = ::idp::json::find_string(*execution, "taskSupport")) {
      x.task_support = parse_task_support(*support).value_or(TaskSupport::kForbidden);
    }
  }
  return x;
}

std::string_view to_string(TaskSupport support) {
  switch (support) {
    case TaskSupport::kOptional:
      return "optional";
    case TaskSupport::kRequired:
      return "required";
    case TaskSupport::kForbidden:
      break;
  }
  return "forbidden";
}

std::optional<TaskSupport> parse_task_support(std::string_view text) {
  if (text == "forbidden") return TaskSupport::kForbidden;
  if (text == "optional") return TaskSupport::kOptional;
  if (text == "required") return TaskSupport::kRequired;
  return std::nullopt;
}

std::string serialize(const CallToolResult& x) {
  std::string out;
  // Room for a small result plus what the transport appends (the 2026-07-28 members, the
  // JSON-RPC envelope) without growing: one allocation on the hot path.
  out.reserve(320);
  out += R"({"content":)";
  jsonrpc::append_json(out, x.content);
  if (x.structured_content) {
    out += R"(,"structuredContent":)";
    jsonrpc::append_json(out, *x.structured_content);
  }
  if (x.is_error) out += R"(,"isError":true)";
  if (x.meta) {
    out += R"(,"_meta":)";
    jsonrpc::append_json(out, *x.meta);
  }
  out += '}';
  return out;
}

void tag_invoke(json::value_from_tag, json::value& v, const CallToolResult& x) {
  json::object o{{"content", x.content}};
  if (x.structured_content) o["structuredContent"] = *x.structured_content;
  if (x.is_error) o["isError"] = true;
  if (x.meta) o["_meta"] = *x.meta;
  v = std::move(o);
}

CallToolResult tag_invoke(json::value_to_tag<CallToolResult>, const json::value& v) {
  const auto& o = as_object(v, "tool result");
  CallToolResult x;
  if (auto it = o.find("content"); it != o.end() && it->value().is_array()) {
    x.content = it->value().get_array();
  }
  if (auto it = o.find("structuredContent"); it != o.end() && it->value().is_object()) {
    x.structured_content = it->value().get_object();
  }
  x.is_error = opt_bool(o, "isError").value_or(false);
  if (auto it = o.find("_meta"); it != o.end() && it->value().is_object()) {
    x.meta = it->value().get_object();
  }
  return x;
}

void tag_invoke(json::value_from_tag, json::value& v, const Resource& x) {
  json::object o{{"uri", x.uri}, {"name", x.name}};
  put(o, "title", x.title);
  put(o, "description", x.description);
  put(o, "mimeType", x.mime_type);
  put(o, "size", x.size);
  v = std::move(o);
}

void tag_invoke(json::value_from_tag, json::value& v, const ResourceTemplate& x) {
  json::object o{{"uriTemplate", x.uri_template}, {"name", x.name}};
  put(o, "title", x.title);
  put(o, "description", x.description);
  put(o, "mimeType", x.mime_type);
  v = std::move(o);
}

void tag_invoke(json::value_from_tag, json::value& v, const ResourceContents& x) {
  json::object o{{"uri", x.uri}};
  put(o, "mimeType", x.mime_type);
  put(o, "text", x.text);
  put(o, "blob", x.blob);
  v = std::move(o);
}

void tag_invoke(json::value_from_tag, json::value& v, const PromptArgument& x) {
  json::object o{{"name", x.name}};
  put(o, "title", x.title);
  put(o, "description", x.description);
  if (x.required) o["required"] = true;
  v = std::move(o);
}

void tag_invoke(json::value_from_tag, json::value& v, const Prompt& x) {
  json::object o{{"name", x.name}};
  put(o, "title", x.title);
  put(o, "description", x.description);
  if (!x.arguments.empty()) o["arguments"] = json::value_from(x.arguments);
  v = std::move(o);
}

void tag_invoke(json::value_from_tag, json::value& v, const PromptMessage& x) {
  v = json::object{{"role", x.role}, {"content", x.content}};
}

void tag_invoke(json::value_from_tag, json::value& v, const GetPromptResult& x) {
  json::object o;
  put(o, "description", x.description);
  o["messages"] = json::value_from(x.messages);
  v = std::move(o);
}

void tag_invoke(json::value_from_tag, json::value& v, const InputRequiredResult& x) {
  json::object o{{"resultType", kResultInputRequired}, {"inputRequests", x.input_requests}};
  put(o, "requestState", x.request_state);
  if (x.meta) o["_meta"] = *x.meta;
  v = std::move(o);
}

InputRequiredResult tag_invoke(json::value_to_tag<InputRequiredResult>, const json::value& v) {
  const auto& o = as_object(v, "input-required result");
  InputRequiredResult x;
  if (auto it = o.find("inputRequests"); it != o.end() && it->value().is_object()) {
    x.input_requests = it->value().get_object();
  }
  x.request_state = opt_string(o, "requestState");
  if (auto it = o.find("_meta"); it != o.end() && it->value().is_object()) {
    x.meta = it->value().get_object();
  }
  return x;
}

}  // namespace idp::mcp

// MCP protocol types (schema revisions 2025-11-25 and 2026-07-28), named as in the
// specification's schema (Tool, CallToolResult, Resource, Prompt, ...). Converted to and from
// Boost.JSON with value_from / value_to. Content blocks stay JSON objects, built with the
// content:: helpers.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace idp::mcp {

namespace json = boost::json;

inline constexpr std::string_view kLatestProtocolVersion = "2025-11-25";
// Versions this SDK speaks through the initialize handshake ("legacy" era), newest first.
std::span<const std::string_view> supported_protocol_versions();
bool is_supported_protocol_version(std::string_view version);

// The stateless revision ("modern" era): no initialize handshake and no sessions; every request
// carries its protocol version, client capabilities and client info in params._meta.
inline constexpr std::string_view kModernProtocolVersion = "2026-07-28";
// Versions served statelessly through per-request _meta, newest first.
std::span<const std::string_view> modern_protocol_versions();
bool is_modern_protocol_version(std::string_view version);
// Every version this SDK speaks, newest first: the modern ones, then the handshake ones. This is
// what server/discover and UnsupportedProtocolVersion errors list.
std::span<const std::string_view> all_protocol_versions();

// Reserved _meta keys of the 2026-07-28 revision.
namespace meta_keys {
inline constexpr std::string_view kProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view kClientCapabilities =
    "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view kClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view kLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr std::string_view kServerInfo = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view kSubscriptionId = "io.modelcontextprotocol/subscriptionId";
}  // namespace meta_keys

// resultType values of 2026-07-28 results.
inline constexpr std::string_view kResultComplete = "complete";
inline constexpr std::string_view kResultInputRequired = "input_required";

struct Implementation {
  std::string name;
  std::string version;
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<std::string> website_url;
};

struct ToolAnnotations {
  std::optional<std::string> title;
  std::optional<bool> read_only_hint;
  std::optional<bool> destructive_hint;
  std::optional<bool> idempotent_hint;
  std::optional<bool> open_world_hint;
};

// Whether a tool runs as a task (2025-11-25 "execution.taskSupport"; the 2026-07-28 tasks
// extension, io.modelcontextprotocol/tasks). Forbidden: always a plain call. Optional: a task
// when the client asks for one (2025-11-25: params.task) or declares the extension (2026-07-28).
// Required: only as a task; a call that cannot be one is refused.
enum class TaskSupport { kForbidden, kOptional, kRequired };
std::string_view to_string(TaskSupport support);
std::optional<TaskSupport> parse_task_support(std::string_view text);

// The tasks extension's identifier (capabilities.extensions key, 2026-07-28).
inline constexpr std::string_view kTasksExtension = "io.modelcontextprotocol/tasks";

struct Tool {
  std::string name;
  std::optional<std::string> title;
  std::optional<std::string> description;
  json::object input_schema{{"type", "object"}};
  std::optional<json::object> output_schema;
  std::optional<ToolAnnotations> annotations;
  std::optional<json::object> meta;  // "_meta"
  // Listed as "execution": {"taskSupport": ...} unless forbidden (the default).
  TaskSupport task_support = TaskSupport::kForbidden;
  // Members this SDK does not model (icons, ...), kept so that a listing passes
  // through unchanged.
  json::object extra;
};

namespace content {
json::object text(std::string_view text);
json::object image(std::string_view base64_data, std::string_view mime_type);
json::object audio(std::string_view base64_data, std::string_view mime_type);
json::object embedded_text(std::string_view uri, std::string_view mime_type, std::string_view text);
json::object embedded_blob(std::string_view uri, std::string_view mime_type,
                           std::string_view base64_blob);
json::object resource_link(std::string_view uri, std::string_view name,
                           std::optional<std::string_view> mime_type = std::nullopt);
}  // namespace content

struct CallToolResult {
  json::array content;
  std::optional<json::object> structured_content;
  bool is_error = false;
  std::optional<json::object> meta;

  static CallToolResult text(std::string_view text);
  static CallToolResult error(std::string_view message);
};

struct Resource {
  std::string uri;
  std::string name;
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<std::string> mime_type;
  std::optional<std::int64_t> size;
};

struct ResourceTemplate {
  std::string uri_template;  // RFC 6570 level 1: "test://template/{id}/data"
  std::string name;
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<std::string> mime_type;
};

// One item of ReadResourceResult.contents: text or base64 blob.
struct ResourceContents {
  std::string uri;
  std::optional<std::string> mime_type;
  std::optional<std::string> text;
  std::optional<std::string> blob;
};

struct PromptArgument {
  std::string name;
  std::optional<std::string> title;
  std::optional<std::string> description;
  bool required = false;
};

struct Prompt {
  std::string name;
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::vector<PromptArgument> arguments;
};

struct PromptMessage {
  std::string role;  // "user" | "assistant"
  json::object content;
};

struct GetPromptResult {
  std::optional<std::string> description;
  std::vector<PromptMessage> messages;
};

// 2026-07-28 multi round-trip requests (MRTR): the server needs input from the client (an
// elicitation, a sampling, the roots) before it can complete tools/call, prompts/get or
// resources/read. The client answers every inputRequests entry under the same key in
// params.inputResponses, echoes requestState unchanged, and retries the request with a new id.
struct InputRequiredResult {
  json::object input_requests;  // key -> {"method": ..., "params": {...}}
  std::optional<std::string> request_state;
  std::optional<json::object> meta;
};

// Syslog severities used by logging/setLevel and notifications/message, lowest first.
enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError, kCritical, kAlert, kEmergency };
std::string_view to_string(LogLevel level);
std::optional<LogLevel> parse_log_level(std::string_view text);

// CallToolResult as JSON text, without building a json::value first (the hot path).
std::string serialize(const CallToolResult& result);

void tag_invoke(json::value_from_tag, json::value& v, const Implementation& x);
Implementation tag_invoke(json::value_to_tag<Implementation>, const json::value& v);
void tag_invoke(json::value_from_tag, json::value& v, const ToolAnnotations& x);
ToolAnnotations tag_invoke(json::value_to_tag<ToolAnnotations>, const json::value& v);
void tag_invoke(json::value_from_tag, json::value& v, const Tool& x);
Tool tag_invoke(json::value_to_tag<Tool>, const json::value& v);
void tag_invoke(json::value_from_tag, json::value& v, const CallToolResult& x);
CallToolResult tag_invoke(json::value_to_tag<CallToolResult>, const json::value& v);
void tag_invoke(json::value_from_tag, json::value& v, const Resource& x);
void tag_invoke(json::value_from_tag, json::value& v, const ResourceTemplate& x);
void tag_invoke(json::value_from_tag, json::value& v, const ResourceContents& x);
void tag_invoke(json::value_from_tag, json::value& v, const PromptArgument& x);
void tag_invoke(json::value_from_tag, json::value& v, const Prompt& x);
void tag_invoke(json::value_from_tag, json::value& v, const PromptMessage& x);
void tag_invoke(json::value_from_tag, json::value& v, const GetPromptResult& x);
// Writes resultType "input_required".
void tag_invoke(json::value_from_tag, json::value& v, const InputRequiredResult& x);
InputRequiredResult tag_invoke(json::value_to_tag<InputRequiredResult>, const json::value& v);

}  // namespace idp::mcp

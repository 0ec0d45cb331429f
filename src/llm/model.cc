#include "idp/llm/model.h"

#include <cstdlib>

#include "idp/core/json_util.h"
#include "idp/llm/providers.h"

namespace idp::llm {

const char* to_string(Role role) { return role == Role::kUser ? "user" : "assistant"; }

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::kEndTurn:
      return "end_turn";
    case StopReason::kToolUse:
      return "tool_use";
    case StopReason::kMaxTokens:
      return "max_tokens";
    case StopReason::kStopSequence:
      return "stop_sequence";
    case StopReason::kContentFiltered:
      return "content_filtered";
    case StopReason::kOther:
      return "other";
  }
  return "other";
}

Message Message::user_text(std::string text) {
  return Message{Role::kUser, {TextBlock{std::move(text)}}};
}

Message Message::assistant_text(std::string text) {
  return Message{Role::kAssistant, {TextBlock{std::move(text)}}};
}

std::string Message::text() const {
  std::string out;
  for (const auto& block : content) {
    if (const auto* t = std::get_if<TextBlock>(&block)) out += t->text;
  }
  return out;
}

std::vector<const ToolUseBlock*> Message::tool_uses() const {
  std::vector<const ToolUseBlock*> out;
  for (const auto& block : content) {
    if (const auto* t = std::get_if<ToolUseBlock>(&block)) out.push_back(t);
  }
  return out;
}

std::string content_block_text(const json::value& block) {
  if (!block.is_object()) return ::idp::json::serialize(block);
  const json::object& o = block.get_object();
  const json::string* type = ::idp::json::find_string(o, "type");
  if (type && *type == "text") {
    const json::string* text = ::idp::json::find_string(o, "text");
    return text ? std::string(*text) : std::string();
  }
  if (type && *type == "json") {
    const json::value* v = o.if_contains("json");
    return v ? ::idp::json::serialize(*v) : std::string("null");
  }
  if (type && *type == "image") {
    const json::string* mime = ::idp::json::find_string(o, "mime_type");
    const json::string* data = ::idp::json::find_string(o, "data");
    std::size_t bytes = data ? data->size() / 4 * 3 : 0;
    return "[" + (mime ? std::string(*mime) : std::string("unknown")) + " image, " +
           std::to_string(bytes) + " bytes, not shown to this model]";
  }
  return ::idp::json::serialize(block);
}

std::string tool_result_text(const ToolResultBlock& result) {
  std::string out;
  for (const auto& block : result.content) {
    if (!out.empty()) out += "\n";
    out += content_block_text(block);
  }
  return out;
}

namespace {

json::object block_to_json(const ContentBlock& block) {
  return std::visit(
      [](const auto& b) -> json::object {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, TextBlock>) {
          return {{"type", "text"}, {"text", b.text}};
        } else if constexpr (std::is_same_v<T, ReasoningBlock>) {
          json::object o{{"type", "reasoning"}, {"text", b.text}};
          if (!b.signature.empty()) o["signature"] = b.signature;
          return o;
        } else if constexpr (std::is_same_v<T, ToolUseBlock>) {
          return {{"type", "tool_use"}, {"id", b.id}, {"name", b.name}, {"input", b.input}};
        } else {
          return {{"type", "tool_result"},
                  {"tool_use_id", b.tool_use_id},
                  {"content", b.content},
                  {"is_error", b.is_error}};
        }
      },
      block);
}

Result<ContentBlock> block_from_json(const json::value& v, std::size_t index) {
  auto where = [&](std::string_view what) {
    return make_error(ErrorCode::kInvalidArgument,
                      "content block " + std::to_string(index) + ": " + std::string(what));
  };
  if (!v.is_object()) return where("not an object");
  const json::object& o = v.get_object();
  const json::string* type = ::idp::json::find_string(o, "type");
  if (!type) return where("missing \"type\"");
  auto str = [&](std::string_view key) -> std::string {
    const json::string* s = ::idp::json::find_string(o, key);
    return s ? std::string(*s) : std::string();
  };
  if (*type == "text") {
    if (!::idp::json::find_string(o, "text")) return where("text block without \"text\"");
    return TextBlock{str("text")};
  }
  if (*type == "reasoning") return ReasoningBlock{str("text"), str("signature")};
  if (*type == "tool_use") {
    const json::object* input = ::idp::json::find_object(o, "input");
    if (str("id").empty() || str("name").empty()) return where("tool_use block needs id and name");
    return ToolUseBlock{str("id"), str("name"), input ? *input : json::object{}};
  }
  if (*type == "tool_result") {
    const json::value* content = o.if_contains("content");
    const json::value* is_error = o.if_contains("is_error");
    if (str("tool_use_id").empty()) return where("tool_result block needs tool_use_id");
    ToolResultBlock r{
        str("tool_use_id"), {}, is_error && is_error->is_bool() && is_error->get_bool()};
    if (content && content->is_array()) r.content = content->get_array();
    return r;
  }
  return where("unknown type \"" + std::string(*type) + "\"");
}

}  // namespace

json::object to_json(const Message& message) {
  json::array content;
  for (const auto& block : message.content) content.push_back(block_to_json(block));
  return {{"role", to_string(message.role)}, {"content", std::move(content)}};
}

Result<Message> message_from_json(const json::value& value) {
  if (!value.is_object()) return make_error(ErrorCode::kInvalidArgument, "message: not an object");
  const json::object& o = value.get_object();
  const json::string* role = ::idp::json::find_string(o, "role");
  Message m;
  if (role && *role == "user") {
    m.role = Role::kUser;
  } else if (role && *role == "assistant") {
    m.role = Role::kAssistant;
  } else {
    return make_error(ErrorCode::kInvalidArgument,
                      "message: \"role\" must be \"user\" or \"assistant\"");
  }
  const json::value* content = o.if_contains("content");
  if (!content || !content->is_array()) {
    return make_error(ErrorCode::kInvalidArgument, "message: \"content\" must be an array");
  }
  std::size_t i = 0;
  for (const auto& b : content->get_array()) {
    auto block = block_from_json(b, i++);
    if (!block) return std::unexpected(block.error().with_context("message"));
    m.content.push_back(std::move(*block));
  }
  return m;
}

json::array to_json(const std::vector<Message>& messages) {
  json::array out;
  for (const auto& m : messages) out.push_back(to_json(m));
  return out;
}

Result<std::vector<Message>> messages_from_json(const json::value& value) {
  if (!value.is_array()) return make_error(ErrorCode::kInvalidArgument, "messages: not an array");
  std::vector<Message> out;
  std::size_t i = 0;
  for (const auto& v : value.get_array()) {
    auto m = message_from_json(v);
    if (!m) return std::unexpected(m.error().with_context("messages[" + std::to_string(i) + "]"));
    out.push_back(std::move(*m));
    ++i;
  }
  return out;
}

Result<std::shared_ptr<Model>> make_model(std::string_view spec,
                                          boost::asio::any_io_executor executor,
                                          ModelOptions options) {
  std::string chosen(spec);
  if (chosen.empty()) {
    const char* env = std::getenv("IDP_MODEL");
    chosen = env && *env ? env : "offline";
  }
  static constexpr std::string_view kForms =
      "use bedrock:MODEL_ID (e.g. bedrock:us.anthropic.claude-3-7-sonnet-20250219-v1:0), "
      "openai:MODEL (e.g. openai:gpt-4o-mini, or a local model with OPENAI_BASE_URL) or offline";
  if (chosen == "offline") return make_offline_model();
  auto colon = chosen.find(':');
  std::string provider = colon == std::string::npos ? chosen : chosen.substr(0, colon);
  std::string id = colon == std::string::npos ? std::string() : chosen.substr(colon + 1);
  if (provider == "bedrock" || provider == "openai") {
    if (id.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "model '" + chosen + "': the model id is missing; " + std::string(kForms));
    }
    if (provider == "bedrock")
      return make_bedrock_model(std::move(id), executor, std::move(options));
    return make_openai_model(std::move(id), executor, std::move(options));
  }
  return make_error(ErrorCode::kInvalidArgument, "model '" + chosen + "': unknown provider '" +
                                                     provider + "'; " + std::string(kForms));
}

}  // namespace idp::llm

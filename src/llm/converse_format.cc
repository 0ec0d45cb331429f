#include "idp/llm/converse_format.h"

#include "idp/core/json_util.h"

namespace idp::llm {

namespace bj = boost::json;

namespace {

constexpr std::size_t kMaxBlocks = 1024;

std::string_view str(const bj::object& o, std::string_view key) {
  const bj::string* s = ::idp::json::find_string(o, key);
  return s ? std::string_view(*s) : std::string_view();
}

std::int64_t integer(const bj::object& o, std::string_view key, std::int64_t fallback) {
  const bj::value* v = o.if_contains(key);
  if (v && v->is_int64()) return v->get_int64();
  if (v && v->is_uint64() && v->get_uint64() <= std::uint64_t(INT64_MAX)) return v->get_uint64();
  return fallback;
}

Usage usage_of(const bj::object& o) {
  Usage u;
  if (const bj::object* usage = ::idp::json::find_object(o, "usage")) {
    u.input_tokens = integer(*usage, "inputTokens", 0);
    u.output_tokens = integer(*usage, "outputTokens", 0);
  }
  return u;
}

// Bedrock's image formats, by MIME type.
std::string_view image_format(std::string_view mime) {
  if (mime == "image/png") return "png";
  if (mime == "image/jpeg" || mime == "image/jpg") return "jpeg";
  if (mime == "image/gif") return "gif";
  if (mime == "image/webp") return "webp";
  return {};
}

bj::array tool_result_content(const ToolResultBlock& result) {
  bj::array out;
  for (const auto& v : result.content) {
    const bj::object* o = v.is_object() ? &v.get_object() : nullptr;
    std::string_view type = o ? str(*o, "type") : std::string_view();
    if (type == "json" && o->contains("json") && o->at("json").is_object()) {
      out.push_back(bj::object{{"json", o->at("json")}});  // Converse takes objects only
      continue;
    }
    if (type == "image" && !image_format(str(*o, "mime_type")).empty() &&
        !str(*o, "data").empty()) {
      out.push_back(
          bj::object{{"image", bj::object{{"format", image_format(str(*o, "mime_type"))},
                                          {"source", bj::object{{"bytes", str(*o, "data")}}}}}});
      continue;
    }
    std::string text = content_block_text(v);
    if (!text.empty()) out.push_back(bj::object{{"text", std::move(text)}});
  }
  if (out.empty()) out.push_back(bj::object{{"text", "(no output)"}});
  return out;
}

bj::array message_content(const Message& m) {
  bj::array out;
  for (const auto& block : m.content) {
    if (const auto* t = std::get_if<TextBlock>(&block)) {
      if (!t->text.empty()) out.push_back(bj::object{{"text", t->text}});
    } else if (const auto* r = std::get_if<ReasoningBlock>(&block)) {
      if (m.role == Role::kAssistant && !r->signature.empty()) {
        out.push_back(
            bj::object{{"reasoningContent",
                        bj::object{{"reasoningText",
                                    bj::object{{"text", r->text}, {"signature", r->signature}}}}}});
      }
    } else if (const auto* u = std::get_if<ToolUseBlock>(&block)) {
      out.push_back(bj::object{
          {"toolUse", bj::object{{"toolUseId", u->id}, {"name", u->name}, {"input", u->input}}}});
    } else if (const auto* res = std::get_if<ToolResultBlock>(&block)) {
      out.push_back(
          bj::object{{"toolResult", bj::object{{"toolUseId", res->tool_use_id},
                                               {"status", res->is_error ? "error" : "success"},
                                               {"content", tool_result_content(*res)}}}});
    }
  }
  // Bedrock refuses a message without content; an assistant turn that was only unsigned
  // reasoning keeps its place in the alternation this way.
  if (out.empty()) out.push_back(bj::object{{"text", "(no answer)"}});
  return out;
}

}  // namespace

bj::object converse_request_body(const ModelRequest& request) {
  bj::array messages;
  for (const auto& m : request.messages) {
    messages.push_back(bj::object{{"role", to_string(m.role)}, {"content", message_content(m)}});
  }
  bj::object body{{"messages", std::move(messages)}};
  if (!request.system.empty()) body["system"] = bj::array{bj::object{{"text", request.system}}};
  bj::object inference{{"maxTokens", request.max_tokens}};
  if (request.temperature) inference["temperature"] = *request.temperature;
  body["inferenceConfig"] = std::move(inference);
  if (!request.tools.empty()) {
    bj::array tools;
    for (const auto& t : request.tools) {
      tools.push_back(bj::object{
          {"toolSpec", bj::object{{"name", t.name},
                                  {"description", t.description.empty() ? t.name : t.description},
                                  {"inputSchema", bj::object{{"json", t.input_schema}}}}}});
    }
    body["toolConfig"] = bj::object{{"tools", std::move(tools)}};
  }
  return body;
}

StopReason bedrock_stop_reason(std::string_view r) {
  if (r == "end_turn") return StopReason::kEndTurn;
  if (r == "tool_use") return StopReason::kToolUse;
  if (r == "max_tokens" || r == "model_context_window_exceeded") return StopReason::kMaxTokens;
  if (r == "stop_sequence") return StopReason::kStopSequence;
  if (r == "guardrail_intervened" || r == "content_filtered") return StopReason::kContentFiltered;
  return StopReason::kOther;
}

Result<ModelResponse> parse_converse_response(const bj::object& body,
                                              const StreamHandlers* handlers) {
  const bj::object* output = ::idp::json::find_object(body, "output");
  const bj::object* message = output ? ::idp::json::find_object(*output, "message") : nullptr;
  const bj::array* content = message ? ::idp::json::find_array(*message, "content") : nullptr;
  if (!content) {
    return make_error(ErrorCode::kProtocol, "the Converse answer has no output.message.content");
  }
  ModelResponse out;
  out.message.role = Role::kAssistant;
  for (const auto& v : *content) {
    if (!v.is_object()) return make_error(ErrorCode::kProtocol, "a content block is not an object");
    const bj::object& b = v.get_object();
    if (const bj::string* text = ::idp::json::find_string(b, "text")) {
      if (handlers && handlers->on_text && !text->empty()) handlers->on_text(*text);
      out.message.content.push_back(TextBlock{std::string(*text)});
    } else if (const bj::object* use = ::idp::json::find_object(b, "toolUse")) {
      ToolUseBlock u{std::string(str(*use, "toolUseId")), std::string(str(*use, "name")), {}};
      if (u.id.empty() || u.name.empty()) {
        return make_error(ErrorCode::kProtocol, "a toolUse block has no toolUseId or name");
      }
      if (const bj::object* input = ::idp::json::find_object(*use, "input")) u.input = *input;
      if (handlers && handlers->on_tool_use) handlers->on_tool_use(u);
      out.message.content.push_back(std::move(u));
    } else if (const bj::object* rc = ::idp::json::find_object(b, "reasoningContent")) {
      if (const bj::object* rt = ::idp::json::find_object(*rc, "reasoningText")) {
        ReasoningBlock r{std::string(str(*rt, "text")), std::string(str(*rt, "signature"))};
        if (handlers && handlers->on_reasoning && !r.text.empty()) handlers->on_reasoning(r.text);
        out.message.content.push_back(std::move(r));
      }
    }
  }
  out.raw_stop_reason = std::string(str(body, "stopReason"));
  out.stop_reason = bedrock_stop_reason(out.raw_stop_reason);
  out.usage = usage_of(body);
  return out;
}

Result<ConverseStreamAssembler::Block*> ConverseStreamAssembler::block_for(
    const bj::object& payload, Kind kind) {
  const std::int64_t index = integer(payload, "contentBlockIndex", -1);
  if (index < 0) return make_error(ErrorCode::kProtocol, "an event has no contentBlockIndex");
  auto it = blocks_.find(index);
  if (it == blocks_.end()) {
    if (blocks_.size() >= kMaxBlocks) {
      return make_error(ErrorCode::kResourceExhausted,
                        "the answer has more than " + std::to_string(kMaxBlocks) + " blocks");
    }
    it = blocks_.emplace(index, Block{}).first;
  }
  Block& b = it->second;
  const std::string where = "content block " + std::to_string(index);
  if (b.closed) return make_error(ErrorCode::kProtocol, where + " got a delta after its stop");
  if (b.kind == Kind::kUnknown) b.kind = kind;
  if (kind != Kind::kUnknown && b.kind != kind) {
    return make_error(ErrorCode::kProtocol, where + " mixes kinds of content");
  }
  return &b;
}

Result<void> ConverseStreamAssembler::close(std::int64_t index, Block& b) {
  if (b.closed) return {};
  b.closed = true;
  if (b.kind != Kind::kToolUse) return {};
  const std::string where = "content block " + std::to_string(index) + " (tool '" + b.name + "')";
  if (b.tool_use_id.empty() || b.name.empty()) {
    return make_error(ErrorCode::kProtocol, where + " has no toolUseId or name");
  }
  if (!b.text.empty()) {
    auto parsed = ::idp::json::parse(b.text);
    if (!parsed || !parsed->is_object()) {
      return make_error(ErrorCode::kProtocol,
                        where + ": the input is not a JSON object: " + b.text.substr(0, 80));
    }
    b.input = std::move(parsed->get_object());
  }
  if (handlers_ && handlers_->on_tool_use) {
    handlers_->on_tool_use(ToolUseBlock{b.tool_use_id, b.name, b.input});
  }
  return {};
}

Result<void> ConverseStreamAssembler::add_event(std::string_view type, const bj::object& payload) {
  if (stopped_ && type != "metadata") {
    return make_error(ErrorCode::kProtocol, "event '" + std::string(type) + "' after messageStop");
  }
  if (type == "contentBlockStart") {
    const bj::object* start = ::idp::json::find_object(payload, "start");
    const bj::object* use = start ? ::idp::json::find_object(*start, "toolUse") : nullptr;
    auto b = block_for(payload, use ? Kind::kToolUse : Kind::kUnknown);
    if (!b) return std::unexpected(b.error());
    if (use) {
      (*b)->tool_use_id = std::string(str(*use, "toolUseId"));
      (*b)->name = std::string(str(*use, "name"));
    }
    return {};
  }
  if (type == "contentBlockDelta") {
    const bj::object* delta = ::idp::json::find_object(payload, "delta");
    if (!delta) return make_error(ErrorCode::kProtocol, "contentBlockDelta without delta");
    if (const bj::string* text = ::idp::json::find_string(*delta, "text")) {
      auto b = block_for(payload, Kind::kText);
      if (!b) return std::unexpected(b.error());
      (*b)->text += *text;
      if (!text->empty()) {
        delivered_ = true;
        if (handlers_ && handlers_->on_text) handlers_->on_text(*text);
      }
    } else if (const bj::object* use = ::idp::json::find_object(*delta, "toolUse")) {
      auto b = block_for(payload, Kind::kToolUse);
      if (!b) return std::unexpected(b.error());
      (*b)->text += str(*use, "input");
    } else if (const bj::object* rc = ::idp::json::find_object(*delta, "reasoningContent")) {
      auto b = block_for(payload, Kind::kReasoning);
      if (!b) return std::unexpected(b.error());
      if (const bj::string* text = ::idp::json::find_string(*rc, "text")) {
        (*b)->text += *text;
        if (!text->empty()) {
          delivered_ = true;
          if (handlers_ && handlers_->on_reasoning) handlers_->on_reasoning(*text);
        }
      }
      (*b)->signature += str(*rc, "signature");
    }
    // Other deltas (citations, redacted reasoning, images) are not part of a Message.
    return {};
  }
  if (type == "contentBlockStop") {
    const std::int64_t index = integer(payload, "contentBlockIndex", -1);
    auto it = blocks_.find(index);
    if (it == blocks_.end()) return {};  // an empty block: nothing to close
    return close(index, it->second);
  }
  if (type == "messageStop") {
    for (auto& [index, b] : blocks_) {
      if (auto r = close(index, b); !r) return r;
    }
    stop_reason_ = std::string(str(payload, "stopReason"));
    stopped_ = true;
    return {};
  }
  if (type == "metadata") {
    usage_ = usage_of(payload);
    return {};
  }
  return {};  // messageStart and event types added later
}

Result<ModelResponse> ConverseStreamAssembler::finish() {
  if (!stopped_) {
    return make_error(ErrorCode::kProtocol,
                      "the stream ended before the answer was complete (no messageStop event)");
  }
  ModelResponse out;
  out.message.role = Role::kAssistant;
  for (auto& [index, b] : blocks_) {
    switch (b.kind) {
      case Kind::kText:
        if (!b.text.empty()) out.message.content.push_back(TextBlock{std::move(b.text)});
        break;
      case Kind::kReasoning:
        out.message.content.push_back(ReasoningBlock{std::move(b.text), std::move(b.signature)});
        break;
      case Kind::kToolUse:
        out.message.content.push_back(
            ToolUseBlock{std::move(b.tool_use_id), std::move(b.name), std::move(b.input)});
        break;
      case Kind::kUnknown:
        break;
    }
  }
  out.raw_stop_reason = stop_reason_;
  out.stop_reason = bedrock_stop_reason(stop_reason_);
  out.usage = usage_;
  return out;
}

}  // namespace idp::llm

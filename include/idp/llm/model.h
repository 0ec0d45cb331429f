// idp::llm::Model is the one interface every language model sits behind: Bedrock Runtime
// (Converse / ConverseStream), any OpenAI-compatible chat-completions server (OpenAI, Ollama,
// vLLM, llama.cpp), and the offline planner that needs no model service. A call is one
// assistant turn, streaming first: text and reasoning deltas and complete tool uses are handed
// to StreamHandlers as they arrive, and the assembled message comes back at the end (a
// non-streaming API is a stream that arrives at once).
//
// Messages have one neutral shape (system text; user and assistant turns made of text,
// reasoning, tool-use and tool-result blocks; tool specs with JSON Schema) that each model
// translates to its wire format. Tool names given to a model must already fit
// ^[a-zA-Z0-9_-]{1,64}$ (the agent loop sanitizes and maps them back).
//
// Thread-safety: a Model may run several converse() calls at once, from any executor; handlers
// of one call are invoked in order, never concurrently, on the executor of that call.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "idp/aws/credentials.h"
#include "idp/core/cancel.h"
#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "idp/http/client.h"

namespace idp::llm {

namespace json = boost::json;

enum class Role { kUser, kAssistant };
const char* to_string(Role role);  // "user" | "assistant"

struct TextBlock {
  std::string text;
};
// Model "thinking" (Bedrock reasoningContent, <thinking> blocks): kept so that a model that
// needs it back gets it, never shown as answer text.
struct ReasoningBlock {
  std::string text;
  std::string signature;  // Bedrock's reasoningText.signature, when given
};
struct ToolUseBlock {
  std::string id;    // the model's id (toolUseId / tool_call id); the loop never invents one
  std::string name;  // as sent to the model (sanitized)
  json::object input;
};
// One tool result. `content` holds neutral blocks:
//   {"type":"text","text":"..."}
//   {"type":"json","json":<any JSON>}              (a tool's structuredContent)
//   {"type":"image","mime_type":"image/png","data":"<base64>"}
// Models that cannot take a block kind get a short text description of it instead.
struct ToolResultBlock {
  std::string tool_use_id;
  json::array content;
  bool is_error = false;
};
using ContentBlock = std::variant<TextBlock, ReasoningBlock, ToolUseBlock, ToolResultBlock>;

// One neutral tool-result content block as plain text, for models that cannot take its kind:
// text as is, JSON serialized, an image as "[image/png image, 1234 bytes, not shown]".
std::string content_block_text(const json::value& block);
// The whole result as text (blocks joined by newlines), for APIs whose tool results are text.
std::string tool_result_text(const ToolResultBlock& result);

struct Message {
  Role role = Role::kUser;
  std::vector<ContentBlock> content;

  static Message user_text(std::string text);
  static Message assistant_text(std::string text);
  // The concatenated text blocks (no reasoning).
  std::string text() const;
  std::vector<const ToolUseBlock*> tool_uses() const;
};

// Stored form (conversation history): {"role":"user","content":[{"type":"text","text":..},
// {"type":"reasoning","text":..,"signature":..},{"type":"tool_use","id":..,"name":..,"input":{}},
// {"type":"tool_result","tool_use_id":..,"content":[..],"is_error":false}]}.
json::object to_json(const Message& message);
Result<Message> message_from_json(const json::value& value);
json::array to_json(const std::vector<Message>& messages);
Result<std::vector<Message>> messages_from_json(const json::value& value);

struct ToolSpec {
  std::string name;  // fits ^[a-zA-Z0-9_-]{1,64}$
  std::string description;
  json::object input_schema{{"type", "object"}};
};

struct ModelRequest {
  std::string system;
  std::vector<Message> messages;  // alternating user / assistant, first and last a user turn
  std::vector<ToolSpec> tools;
  int max_tokens = 4096;
  std::optional<double> temperature;
};

enum class StopReason {
  kEndTurn,
  kToolUse,
  kMaxTokens,
  kStopSequence,
  kContentFiltered,  // content filter or guardrail
  kOther,
};
const char* to_string(StopReason reason);  // "end_turn", "tool_use", ...

struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
};

struct ModelResponse {
  Message message;  // role assistant: text, reasoning and tool-use blocks in the order received
  StopReason stop_reason = StopReason::kEndTurn;
  std::string raw_stop_reason;  // as the API said it ("tool_calls", "end_turn", ...)
  Usage usage;
};

// Called as the answer streams in. All members optional.
struct StreamHandlers {
  std::function<void(std::string_view text)> on_text;
  std::function<void(std::string_view text)> on_reasoning;
  std::function<void(const ToolUseBlock& tool_use)> on_tool_use;  // once its input is complete
};

struct ModelInfo {
  std::string spec;      // "bedrock:us.anthropic.claude-3-7-sonnet-20250219-v1:0", "offline"
  std::string provider;  // "bedrock" | "openai" | "offline"
  std::string model_id;  // empty for offline
  bool offline = false;  // answers come from the deterministic planner, not a language model
};

class Model {
 public:
  virtual ~Model() = default;
  // One assistant turn. Errors: kUnauthenticated / kPermissionDenied (credentials, model
  // access: the message says what to do), kInvalidArgument (the API refused the request; its
  // message is shown), kNotFound (unknown model id, named), kUnavailable / kTimeout (after the
  // retries), kProtocol (a malformed stream, a bad frame CRC), kCancelled.
  virtual boost::asio::awaitable<Result<ModelResponse>> converse(
      const ModelRequest& request, const StreamHandlers& handlers,
      std::shared_ptr<CancelSignal> cancel = nullptr) = 0;
  virtual const ModelInfo& info() const = 0;
};

struct ModelOptions {
  http::ClientOptions http;
  int max_attempts = 4;                            // throttling and 5xx, jittered backoff
  std::chrono::milliseconds backoff_initial{500};  // doubled per attempt, with jitter
  std::chrono::milliseconds backoff_max{8'000};
  // bedrock: the region (empty: AWS_REGION, AWS_DEFAULT_REGION, the profile's region) and the
  // endpoint (empty: AWS_ENDPOINT_URL_BEDROCK_RUNTIME, AWS_ENDPOINT_URL, else
  // https://bedrock-runtime.<region>.amazonaws.com).
  std::string region;
  std::string bedrock_endpoint;
  // bedrock: where credentials come from (null: aws::DefaultCredentialsChain over the process
  // environment). AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key), when set, is used instead.
  std::shared_ptr<aws::CredentialsProvider> aws_credentials;
  // openai: base URL (empty: OPENAI_BASE_URL, else https://api.openai.com/v1) and API key
  // (empty: OPENAI_API_KEY; optional for local servers).
  std::string openai_base_url;
  Secret openai_api_key;
  bool stream = true;  // use the streaming APIs (ConverseStream, stream: true)
};

// "bedrock:MODEL_ID" | "openai:MODEL" | "offline". An empty spec means IDP_MODEL from the
// environment, else "offline". Errors name the spec and list the accepted forms.
Result<std::shared_ptr<Model>> make_model(std::string_view spec,
                                          boost::asio::any_io_executor executor,
                                          ModelOptions options = {});

}  // namespace idp::llm

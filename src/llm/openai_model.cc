// openai:MODEL: `POST {base}/chat/completions` of any OpenAI-compatible server (OpenAI, Ollama,
// vLLM, llama.cpp), streamed as server-sent events or answered at once.
#include <boost/asio/any_io_executor.hpp>
#include <boost/json/serialize.hpp>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/sse_parser.h"
#include "idp/http/url_policy.h"
#include "idp/llm/call_policy.h"
#include "idp/llm/openai_format.h"
#include "idp/llm/openai_stream.h"
#include "idp/llm/providers.h"
#include "model_http.h"

namespace idp::llm {

namespace net = boost::asio;
namespace bj = boost::json;

namespace {

constexpr std::string_view kDefaultBase = "https://api.openai.com/v1";
constexpr std::size_t kMaxEventBytes = 4 * 1024 * 1024;

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

class OpenAiModel final : public HttpModel {
 public:
  OpenAiModel(std::string model, net::any_io_executor executor, ModelOptions options,
              std::string base, bool official)
      : HttpModel(std::move(options)),
        http_(executor, options_.http),
        base_(std::move(base)),
        official_(official) {
    info_.provider = "openai";
    info_.model_id = std::move(model);
    info_.spec = "openai:" + info_.model_id;
  }

  const ModelInfo& info() const override { return info_; }

 private:
  std::string request_body(const ModelRequest& request) const override {
    ChatRequestOptions shape{options_.stream, official_};
    return bj::serialize(chat_request_body(info_.model_id, request, shape));
  }

  ApiFailure failure() const {
    ApiFailure f;
    f.provider = Provider::kOpenAi;
    f.model = info_.model_id;
    f.location = base_;
    f.api_key_sent = !options_.openai_api_key.empty();
    return f;
  }

  // {"error":{"message","type","code"}} (OpenAI, llama.cpp), {"error":"..."} (Ollama),
  // {"object":"error","message","type","code"} (vLLM), {"detail":"..."} (FastAPI servers).
  ApiFailure decode_error(const Exchange& ex) const {
    ApiFailure f = failure();
    f.status = ex.status;
    auto parsed = ::idp::json::parse(ex.error_body);
    const bj::object* o = parsed && parsed->is_object() ? &parsed->get_object() : nullptr;
    const bj::object* e = o ? ::idp::json::find_object(*o, "error") : nullptr;
    if (!e && o && ::idp::json::find_string(*o, "message")) e = o;
    if (e) {
      if (auto* m = ::idp::json::find_string(*e, "message")) f.message = std::string(*m);
      if (auto* c = ::idp::json::find_string(*e, "code")) f.type = std::string(*c);
      if (auto* t = ::idp::json::find_string(*e, "type"); t && f.type.empty()) {
        f.type = std::string(*t);
      }
    } else if (auto* s = o ? ::idp::json::find_string(*o, "error") : nullptr) {
      f.message = std::string(*s);
    } else if (auto* d = o ? ::idp::json::find_string(*o, "detail") : nullptr) {
      f.message = std::string(*d);
    } else if (!ex.error_body.empty()) {
      f.message = ex.error_body.substr(0, 200);
    }
    f.message = redact(std::move(f.message), {&options_.openai_api_key});
    if (auto id = ex.headers.get("x-request-id")) f.request_id = std::string(*id);
    return f;
  }

  net::awaitable<Attempt> attempt(const std::string& body, const StreamHandlers& handlers,
                                  int n) override {
    http::ClientRequest req;
    req.method = "POST";
    req.url = base_ + "/chat/completions";
    req.headers.add("Content-Type", "application/json");
    req.headers.add("Accept", options_.stream ? "text/event-stream" : "application/json");
    if (!options_.openai_api_key.empty()) {
      req.headers.add("Authorization", "Bearer " + options_.openai_api_key.reveal());
    }
    req.body = body;
    log::debug("openai: POST {} (attempt {})", req.url, n);

    OpenAiAssembler assembler(&handlers);
    http::SseParser sse(kMaxEventBytes);
    bool done = false;   // [DONE] seen
    bool whole = false;  // the server answered with JSON although we asked for a stream
    std::string json_body;
    auto on_body = [&](const http::Headers& headers, std::string_view piece) -> Result<void> {
      auto type = headers.get("Content-Type");
      whole = !options_.stream || (type && starts_with_nocase(*type, "application/json"));
      if (whole) {
        json_body.append(piece);
        return {};
      }
      for (auto& event : sse.feed(piece)) {
        if (done) break;
        if (event.data == "[DONE]") {
          done = true;
          break;
        }
        if (event.data.empty()) continue;
        auto chunk = ::idp::json::parse(event.data);
        if (!chunk || !chunk->is_object()) {
          return make_error(ErrorCode::kProtocol,
                            "a stream event is not a JSON object: " + event.data.substr(0, 80));
        }
        if (auto r = assembler.add_chunk(chunk->get_object()); !r) return r;
      }
      if (sse.failed()) return std::unexpected(*sse.error());
      return {};
    };
    auto ex = co_await exchange(http_, std::move(req), options_.http.max_response_bytes, on_body);

    const std::string where = "openai model '" + info_.model_id + "' at " + base_;
    if (ex.body_error) {
      Error e(ex.body_error->code(), redact(ex.body_error->message(), {&options_.openai_api_key}));
      // An error event before any words: as retryable as the same error as a status would be.
      bool retry = e.code() == ErrorCode::kUnavailable && !assembler.delivered();
      co_return Attempt{std::unexpected(e.with_context(where)), retry};
    }
    if (ex.transport && !done) {  // a connection lost after [DONE] lost nothing
      ApiFailure f = failure();
      f.transport = ex.transport;
      co_return failed_attempt(f, assembler.delivered());
    }
    if (ex.status < 200 || ex.status > 299)
      co_return failed_attempt(decode_error(ex), assembler.delivered());
    if (whole) {
      auto parsed = ::idp::json::parse(json_body);
      if (!parsed || !parsed->is_object()) {
        co_return final_attempt(make_error(ErrorCode::kProtocol, "the answer is not JSON"), where);
      }
      if (auto r = assembler.add_completion(parsed->get_object()); !r) {
        co_return final_attempt(std::unexpected(r.error()), where);
      }
    } else if (!done && !assembler.saw_finish_reason()) {
      co_return final_attempt(make_error(ErrorCode::kProtocol,
                                         "the stream ended before the answer was complete (no "
                                         "finish_reason and no [DONE])"),
                              where);
    }
    co_return final_attempt(assembler.finish(), where);
  }

  ModelInfo info_;
  http::Client http_;
  std::string base_;
  bool official_;  // api.openai.com: max_completion_tokens instead of max_tokens
};

}  // namespace

Result<std::shared_ptr<Model>> make_openai_model(std::string model, net::any_io_executor executor,
                                                 ModelOptions options) {
  const std::string what = "openai model '" + model + "'";
  if (model.empty()) return make_error(ErrorCode::kInvalidArgument, "openai: the model is empty");
  std::string base = options.openai_base_url;
  if (base.empty()) base = aws::process_getenv("OPENAI_BASE_URL").value_or("");
  if (base.empty()) base = std::string(kDefaultBase);
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto checked = http::check_url(base, "OPENAI_BASE_URL");
  if (!checked) return std::unexpected(checked.error().with_context(what));
  if (base.find('?') != std::string::npos || base.find('#') != std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      what + ": OPENAI_BASE_URL " + base + " must not have a query or fragment");
  }
  if (options.openai_api_key.empty()) {
    options.openai_api_key = Secret(aws::process_getenv("OPENAI_API_KEY").value_or(""));
  }
  const bool official = checked->host == "api.openai.com";
  return std::make_shared<OpenAiModel>(std::move(model), executor, std::move(options),
                                       std::move(base), official);
}

}  // namespace idp::llm

// bedrock:MODEL_ID: Bedrock Runtime Converse / ConverseStream over our HTTP client, signed
// with SigV4 for service "bedrock" (the model id goes on the wire as one %-encoded path segment
// and is signed double-encoded), or a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK).
#include <boost/asio/any_io_executor.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <chrono>

#include "idp/aws/json_client.h"
#include "idp/aws/sigv4.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/http/url_policy.h"
#include "idp/llm/call_policy.h"
#include "idp/llm/converse_format.h"
#include "idp/llm/event_stream.h"
#include "idp/llm/providers.h"
#include "model_http.h"

namespace idp::llm {

namespace net = boost::asio;
namespace bj = boost::json;

namespace {

// "throttlingException" (the union member a stream exception is named by) -> the shape name.
std::string shape_name(std::string_view member) {
  std::string s(member);
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = char(s[0] - 'a' + 'A');
  return s;
}

bool is_expired_token(std::string_view type) {
  return type == "ExpiredTokenException" || type == "ExpiredToken";
}

class BedrockModel final : public HttpModel {
 public:
  struct Endpoint {
    std::string origin;  // "https://bedrock-runtime.us-east-1.amazonaws.com"
    std::string host;    // the Host header: host and port as in the URL
    std::string path;    // a path prefix of the endpoint URL ("" normally)
  };

  BedrockModel(std::string model_id, net::any_io_executor executor, ModelOptions options,
               std::string region, Endpoint endpoint,
               std::shared_ptr<aws::CredentialsProvider> credentials, Secret bearer)
      : HttpModel(std::move(options)),
        http_(executor, options_.http),
        region_(std::move(region)),
        endpoint_(std::move(endpoint)),
        credentials_(std::move(credentials)),
        bearer_(std::move(bearer)) {
    info_.provider = "bedrock";
    info_.model_id = std::move(model_id);
    info_.spec = "bedrock:" + info_.model_id;
  }

  const ModelInfo& info() const override { return info_; }

 private:
  std::string where() const { return "bedrock model '" + info_.model_id + "' in " + region_; }

  std::string request_body(const ModelRequest& request) const override {
    return bj::serialize(converse_request_body(request));
  }

  ApiFailure failure() const {
    ApiFailure f;
    f.provider = Provider::kBedrock;
    f.model = info_.model_id;
    f.location = region_;
    f.api_key_sent = !bearer_.empty();
    return f;
  }

  // Headers that authenticate the request: SigV4 or the API key.
  net::awaitable<Result<http::Headers>> authenticate(const std::string& path,
                                                     const std::string& body, bool stream) {
    http::Headers headers;
    headers.add("Content-Type", "application/json");
    headers.add("Accept", stream ? "application/vnd.amazon.eventstream" : "application/json");
    if (!bearer_.empty()) {
      headers.add("Authorization", "Bearer " + bearer_.reveal());
      co_return headers;
    }
    auto creds = co_await credentials_->get();
    if (!creds) co_return std::unexpected(creds.error());
    aws::SigningRequest sreq;
    sreq.method = "POST";
    sreq.path = path;
    sreq.headers = {{"Host", endpoint_.host}, {"Content-Type", "application/json"}};
    sreq.body = body;
    auto signed_request =
        signer_.sign(sreq, *creds, region_, "bedrock", std::chrono::system_clock::now());
    if (!signed_request) co_return std::unexpected(signed_request.error());
    for (auto& [name, value] : signed_request->headers) headers.add(name, std::move(value));
    co_return headers;
  }

  net::awaitable<Attempt> attempt(const std::string& body, const StreamHandlers& handlers,
                                  int n) override {
    const bool stream = options_.stream;
    const std::string path = endpoint_.path + "/model/" + aws::uri_encode(info_.model_id, false) +
                             (stream ? "/converse-stream" : "/converse");
    auto headers = co_await authenticate(path, body, stream);
    if (!headers) co_return final_attempt(std::unexpected(headers.error()), where());
    http::ClientRequest req;
    req.method = "POST";
    req.url = endpoint_.origin + path;
    req.headers = std::move(*headers);
    req.body = body;
    log::debug("bedrock: POST {} (attempt {})", req.url, n);

    ConverseStreamAssembler assembler(&handlers);
    eventstream::EventStreamDecoder decoder;
    std::optional<ApiFailure> stream_failure;  // an exception message inside the stream
    std::string whole;                         // the body of a non-streaming answer
    auto on_body = [&](const http::Headers&, std::string_view piece) -> Result<void> {
      if (!stream) {
        whole.append(piece);
        return {};
      }
      auto messages = decoder.feed(piece);
      if (!messages) return std::unexpected(messages.error());
      for (const auto& m : *messages) {
        std::string_view kind = m.string_header(":message-type");
        if (kind == "exception" || kind == "error") {
          ApiFailure f = failure();
          f.type = kind == "error" ? std::string(m.string_header(":error-code"))
                                   : shape_name(m.string_header(":exception-type"));
          f.message = std::string(m.string_header(":error-message"));
          if (auto parsed = ::idp::json::parse(m.payload); parsed && parsed->is_object()) {
            if (auto* msg = ::idp::json::find_string(parsed->get_object(), "message")) {
              f.message = std::string(*msg);
            }
          }
          stream_failure = std::move(f);
          return make_error(ErrorCode::kUnavailable, "exception in the stream");
        }
        if (kind != "event") continue;
        auto payload = ::idp::json::parse(m.payload);
        if (!payload || !payload->is_object()) {
          return make_error(ErrorCode::kProtocol, "event '" +
                                                      std::string(m.string_header(":event-type")) +
                                                      "' has a payload that is not a JSON object");
        }
        if (auto r = assembler.add_event(m.string_header(":event-type"), payload->get_object());
            !r) {
          return r;
        }
      }
      return {};
    };
    auto ex = co_await exchange(http_, std::move(req), options_.http.max_response_bytes, on_body);
    co_return finish_attempt(ex, stream_failure, assembler, decoder, whole, handlers, stream, n);
  }

  Attempt finish_attempt(Exchange& ex, std::optional<ApiFailure>& stream_failure,
                         ConverseStreamAssembler& assembler,
                         eventstream::EventStreamDecoder& decoder, const std::string& whole,
                         const StreamHandlers& handlers, bool stream, int n) {
    auto give = [&](const ApiFailure& f) {
      Attempt a = failed_attempt(f, assembler.delivered());
      if (is_expired_token(f.type) && n == 1 && credentials_) {
        credentials_->invalidate();  // temporary credentials ran out: fetch new ones, once
        a.retryable = true;
      }
      return a;
    };
    if (stream_failure) return give(*stream_failure);
    if (ex.body_error) return final_attempt(std::unexpected(*ex.body_error), where());
    // A connection lost after the last event lost nothing.
    const bool whole_answer = stream && assembler.complete() && decoder.pending_bytes() == 0;
    if (ex.transport && !whole_answer) {
      ApiFailure f = failure();
      f.transport = ex.transport;
      return give(f);
    }
    if (ex.status < 200 || ex.status > 299) {
      ApiFailure f = failure();
      f.status = ex.status;
      auto parsed = ::idp::json::parse(ex.error_body);
      const bj::object* o = parsed && parsed->is_object() ? &parsed->get_object() : nullptr;
      if (auto h = ex.headers.get("X-Amzn-ErrorType")) f.type = aws::sanitize_error_type(*h);
      if (const bj::string* t = o ? ::idp::json::find_string(*o, "__type") : nullptr;
          t && f.type.empty()) {
        f.type = aws::sanitize_error_type(*t);
      }
      for (const char* key : {"message", "Message"}) {
        if (const bj::string* m = o ? ::idp::json::find_string(*o, key) : nullptr;
            m && f.message.empty()) {
          f.message = std::string(*m);
        }
      }
      if (!o && !ex.error_body.empty()) f.message = ex.error_body.substr(0, 200);
      if (auto id = ex.headers.get("x-amzn-RequestId")) f.request_id = std::string(*id);
      return give(f);
    }
    if (!stream) {
      auto parsed = ::idp::json::parse(whole);
      if (!parsed || !parsed->is_object()) {
        return final_attempt(make_error(ErrorCode::kProtocol, "the answer is not JSON"), where());
      }
      return final_attempt(parse_converse_response(parsed->get_object(), &handlers), where());
    }
    if (decoder.pending_bytes() > 0) {
      return final_attempt(
          make_error(ErrorCode::kProtocol, "the stream ended in the middle of a message (" +
                                               std::to_string(decoder.pending_bytes()) + " bytes)"),
          where());
    }
    return final_attempt(assembler.finish(), where());
  }

  ModelInfo info_;
  http::Client http_;
  std::string region_;
  Endpoint endpoint_;
  std::shared_ptr<aws::CredentialsProvider> credentials_;
  Secret bearer_;
  aws::Signer signer_;
};

}  // namespace

Result<std::shared_ptr<Model>> make_bedrock_model(std::string model_id,
                                                  net::any_io_executor executor,
                                                  ModelOptions options) {
  const std::string what = "bedrock model '" + model_id + "'";
  if (model_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "bedrock: the model id is empty");
  }
  aws::Environment env = aws::Environment::process();
  std::string region = options.region;
  if (region.empty()) {
    auto r = aws::resolve_region(env);
    if (!r) return std::unexpected(r.error().with_context(what));
    region = *r;
  }
  std::string endpoint = options.bedrock_endpoint;
  if (endpoint.empty())
    endpoint = aws::resolve_endpoint(env, "Bedrock Runtime", "bedrock-runtime", region);
  if (auto checked = http::check_url(endpoint, "the Bedrock endpoint"); !checked) {
    return std::unexpected(checked.error().with_context(what));
  }
  auto url = boost::urls::parse_uri(endpoint);
  if (!url || url->has_query()) {
    return make_error(ErrorCode::kInvalidArgument,
                      what + ": the Bedrock endpoint '" + endpoint + "' is not a plain URL");
  }
  BedrockModel::Endpoint endpoint_parts;
  endpoint_parts.host = std::string(url->encoded_host_and_port());
  endpoint_parts.origin = std::string(url->scheme()) + "://" + endpoint_parts.host;
  endpoint_parts.path = std::string(url->encoded_path());
  while (!endpoint_parts.path.empty() && endpoint_parts.path.back() == '/')
    endpoint_parts.path.pop_back();
  Secret bearer(env.get("AWS_BEARER_TOKEN_BEDROCK").value_or(""));
  auto credentials = options.aws_credentials;
  if (!credentials && bearer.empty()) {
    credentials = std::make_shared<aws::DefaultCredentialsChain>(executor, env);
  }
  return std::make_shared<BedrockModel>(std::move(model_id), executor, std::move(options),
                                        std::move(region), std::move(endpoint_parts),
                                        std::move(credentials), std::move(bearer));
}

}  // namespace idp::llm

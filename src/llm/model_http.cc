#include "model_http.h"

namespace idp::llm {

namespace {
constexpr std::size_t kMaxErrorBody = 64 * 1024;
}

boost::asio::awaitable<Exchange> exchange(
    http::Client& client, http::ClientRequest request, std::size_t max_body_bytes,
    std::function<Result<void>(const http::Headers& headers, std::string_view piece)> on_body) {
  Exchange out;
  std::size_t received = 0;
  auto on_head = [&out](const http::ClientResponse& head) {
    out.status = head.status;
    out.headers = head.headers;
  };
  auto on_chunk = [&](std::string_view piece) {
    received += piece.size();
    if (received > max_body_bytes) {
      out.body_error =
          Error(ErrorCode::kResourceExhausted,
                "the answer is larger than " + std::to_string(max_body_bytes) + " bytes");
      return false;
    }
    if (out.status < 200 || out.status > 299) {
      if (out.error_body.size() < kMaxErrorBody) {
        out.error_body.append(piece.substr(0, kMaxErrorBody - out.error_body.size()));
      }
      return true;
    }
    if (auto r = on_body(out.headers, piece); !r) {
      out.body_error = r.error();
      return false;
    }
    return true;
  };
  auto status = co_await client.stream(std::move(request), on_head, on_chunk);
  if (!status && !out.body_error) out.transport = status.error();
  co_return out;
}

boost::asio::awaitable<Result<ModelResponse>> HttpModel::converse(
    const ModelRequest& request, const StreamHandlers& handlers,
    std::shared_ptr<CancelSignal> cancel) {
  auto self = shared_from_this();  // the model outlives the call even if its owner lets go
  const std::string body = request_body(request);
  auto one = [self, &body, &handlers](int n) { return self->attempt(body, handlers, n); };
  const RetryPolicy policy = RetryPolicy::from(options_);
  auto result = co_await run_attempts(policy, std::move(cancel), one);
  co_return result;
}

}  // namespace idp::llm

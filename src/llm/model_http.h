// What the two HTTP model providers (bedrock_model.cc, openai_model.cc) share, private to
// idp_llm: HttpModel runs converse() as the request body built once and attempts retried by
// run_attempts() (call_policy.h); exchange() is one HTTP exchange, streamed: the body of a 2xx
// answer goes to `on_body` piece by piece as it arrives (it returns an error to stop reading),
// the body of any other answer is kept (up to 64 KiB) for the error decoding, and the whole body
// is capped. Thread-safety: as Model and http::Client.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/http/client.h"
#include "idp/llm/call_policy.h"
#include "idp/llm/model.h"

namespace idp::llm {

struct Exchange {
  std::optional<Error> transport;  // the exchange broke: connect, TLS, timeout, reset
  int status = 0;                  // 0 when no answer head arrived
  http::Headers headers;
  std::string error_body;           // of a non-2xx answer
  std::optional<Error> body_error;  // what on_body or the size cap said; reading stopped there
};

boost::asio::awaitable<Exchange> exchange(
    http::Client& client, http::ClientRequest request, std::size_t max_body_bytes,
    std::function<Result<void>(const http::Headers& headers, std::string_view piece)> on_body);

class HttpModel : public Model, public std::enable_shared_from_this<HttpModel> {
 public:
  explicit HttpModel(ModelOptions options) : options_(std::move(options)) {}

  boost::asio::awaitable<Result<ModelResponse>> converse(
      const ModelRequest& request, const StreamHandlers& handlers,
      std::shared_ptr<CancelSignal> cancel) final;

 protected:
  virtual std::string request_body(const ModelRequest& request) const = 0;
  // Attempt `n` (1, 2, ...) with the body request_body() made.
  virtual boost::asio::awaitable<Attempt> attempt(const std::string& body,
                                                  const StreamHandlers& handlers, int n) = 0;

  ModelOptions options_;
};

}  // namespace idp::llm

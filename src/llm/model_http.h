// One HTTP exchange of a model provider, streamed: the body of a 2xx answer goes to `on_body`
// piece by piece as it arrives (it returns an error to stop reading), the body of any other
// answer is kept (up to 64 KiB) for the error decoding, and the whole body is capped. Private to
// idp_llm. Thread-safety: as http::Client.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/error.h"
#include "idp/http/client.h"

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

}  // namespace idp::llm

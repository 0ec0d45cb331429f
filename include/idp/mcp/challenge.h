// What a token provider implements, besides mcp::TokenProvider, to act on the server's
// challenge itself (MCP authorization: idp::auth::McpOAuthProvider). mcp::Client finds it with
// dynamic_cast on its token provider. With it, an HTTP 401 and an HTTP 403 whose
// WWW-Authenticate says error="insufficient_scope" (a scope step-up) go to on_challenge, whose
// token the request is retried with (a 401 once; step-ups a few times, the handler stopping a
// futile loop sooner). Without it, a 401 asks token(true) and a 403 is final.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>

#include "idp/core/error.h"
#include "idp/core/secret.h"

namespace idp::mcp {

class ChallengeHandler {
 public:
  virtual ~ChallengeHandler() = default;
  // `status`: 401 or 403; `www_authenticate`: that header ("" when absent). Returns the token to
  // retry with, or the error when no retry can help.
  virtual boost::asio::awaitable<Result<Secret>> on_challenge(int status,
                                                              std::string www_authenticate) = 0;
};

}  // namespace idp::mcp

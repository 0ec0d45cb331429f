// OAuth 2.0 client credentials (RFC 6749 §4.4) as a token provider for the MCP client: the
// secret's {"type": "oauth2_client_credentials", ...} auth. Tokens are cached until shortly
// before `expires_in`, fetched once for any number of concurrent callers, and fetched again
// when the server rejected one (HTTP 401). There is no refresh token in this grant.
// Thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "idp/http/client.h"
#include "idp/mcp/client.h"

namespace idp::auth {

struct ClientCredentialsConfig {
  std::string token_url;  // https:// (http:// only on loopback)
  std::string client_id;
  Secret client_secret;
  std::string scope;  // optional, space-separated
  enum class ClientAuth {
    kBasic,  // client_secret_basic: Authorization: Basic (the default)
    kPost,   // client_secret_post: client_id and client_secret in the form
  };
  ClientAuth client_auth = ClientAuth::kBasic;
};

// application/x-www-form-urlencoded encoding of one value.
std::string form_encode(std::string_view value);

class ClientCredentialsTokenProvider final : public mcp::TokenProvider {
 public:
  ClientCredentialsTokenProvider(boost::asio::any_io_executor executor,
                                 ClientCredentialsConfig config, http::ClientOptions options = {},
                                 std::chrono::seconds margin = std::chrono::seconds(60));
  ~ClientCredentialsTokenProvider() override;

  boost::asio::awaitable<Result<Secret>> token(bool refresh) override;
  int fetches() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::auth

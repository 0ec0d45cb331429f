// Signing in to an AWS Cognito user pool the way the seed's agent does: InitiateAuth with
// USER_PASSWORD_AUTH (and REFRESH_TOKEN_AUTH) over AWS JSON 1.1, no SigV4 needed. The endpoint's
// region comes from the pool id (`us-east-1_AbC123`), overridable. SECRET_HASH is sent when the
// app client has a secret. Every Cognito error and challenge becomes an idp::Error that tells the
// operator what to do. CognitoTokenProvider caches tokens for an MCP client: proactive refresh
// before expiry, refresh token first and password second, one sign-in for any number of
// concurrent callers, a fresh sign-in when the server rejected the token (HTTP 401).
// Thread-safety: CognitoClient is stateless apart from its HTTP pool; CognitoTokenProvider is
// safe to share between coroutines of one io_context.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "idp/core/clock.h"
#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "idp/http/client.h"
#include "idp/mcp/client.h"

namespace idp::auth {

struct CognitoConfig {
  std::string user_pool_id;  // "us-east-1_AbC123xyz"
  std::string client_id;
  std::optional<Secret> client_secret;
  std::string username;
  Secret password;
  // Default: AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, else
  // https://cognito-idp.<region of the pool>.amazonaws.com/
  std::string endpoint;
};

struct CognitoTokens {
  Secret access_token;
  Secret id_token;
  std::optional<Secret> refresh_token;
  std::chrono::system_clock::time_point expires;  // of the access token
  std::string subject;                            // `sub` (for SECRET_HASH on refresh)
};

// "us-east-1" from "us-east-1_AbC123"; an error naming the expected shape otherwise.
Result<std::string> region_of_pool(std::string_view user_pool_id);
// base64(HMAC-SHA256(client_secret, username + client_id)).
std::string secret_hash(std::string_view username, std::string_view client_id, const Secret& secret);

class CognitoClient {
 public:
  // `clock` (default: the real time) dates the tokens' expiry.
  CognitoClient(boost::asio::any_io_executor executor, http::ClientOptions options = {},
                std::shared_ptr<const TimeSource> clock = nullptr);
  ~CognitoClient();

  boost::asio::awaitable<Result<CognitoTokens>> sign_in(const CognitoConfig& config);
  boost::asio::awaitable<Result<CognitoTokens>> refresh(const CognitoConfig& config,
                                                        const Secret& refresh_token,
                                                        std::string_view subject);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class CognitoTokenProvider final : public mcp::TokenProvider {
 public:
  // `clock` (default: the real time) decides when the cached token needs renewing.
  CognitoTokenProvider(boost::asio::any_io_executor executor, CognitoConfig config,
                       http::ClientOptions options = {},
                       std::chrono::seconds refresh_margin = std::chrono::seconds(120),
                       std::shared_ptr<const TimeSource> clock = nullptr);
  ~CognitoTokenProvider() override;

  boost::asio::awaitable<Result<Secret>> token(bool refresh) override;

  struct Stats {
    int sign_ins = 0;   // password flows
    int refreshes = 0;  // refresh-token flows
  };
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace idp::auth

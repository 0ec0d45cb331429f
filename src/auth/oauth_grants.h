// Private to idp::auth: the requests an OAuth client makes of an authorization server for MCP
// authorization: token requests (any grant) with the client authentication the server asked
// for (client_secret_basic, client_secret_post, private_key_jwt, none), dynamic client
// registration (RFC 7591), and PKCE (RFC 7636, S256). Errors name the endpoint and the
// server's error code, never a secret. Thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "idp/http/client.h"

namespace idp::auth::detail {

struct ClientIdentity {
  std::string client_id;
  Secret client_secret;
  Secret private_key;  // PEM, for private_key_jwt
  std::string signing_alg = "RS256";
  // client_secret_basic, client_secret_post, private_key_jwt or none.
  std::string auth_method = "none";
};

struct TokenAnswer {
  Secret access_token;
  Secret refresh_token;  // empty when none was issued
  std::chrono::seconds expires_in{3600};
  std::string scope;  // as granted, when the server said
};

using Form = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded of the pairs.
std::string encode_form(const Form& form);

// POSTs `form` (grant_type and the grant's fields) to the token endpoint, authenticated as
// `client`. `audience` is the client assertion's aud (the issuer) for private_key_jwt.
boost::asio::awaitable<Result<TokenAnswer>> request_token(http::Client& http,
                                                          std::string token_endpoint,
                                                          std::string audience, Form form,
                                                          const ClientIdentity& client);

// RFC 7591 registration: POSTs `metadata` and reads client_id, client_secret and
// token_endpoint_auth_method. `preferred_method` is used when the answer names none.
boost::asio::awaitable<Result<ClientIdentity>> register_client(http::Client& http,
                                                               std::string endpoint,
                                                               std::string metadata_json,
                                                               std::string preferred_method);

struct Pkce {
  std::string verifier;   // 43 characters of base64url
  std::string challenge;  // BASE64URL(SHA-256(verifier))
};
Pkce make_pkce();

}  // namespace idp::auth::detail

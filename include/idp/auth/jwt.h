// JWT access-token verification for resource servers (RFC 7519, RFC 8725): a pure function of
// (rules, keys, token, now), in the manner of Envoy's jwt_authn: the rules are plain data per
// provider, key fetching and caching live elsewhere, and every failure maps once to an HTTP
// status and a `WWW-Authenticate` challenge (RFC 6750, RFC 9728).
//
// The verifier decides the algorithm, never the token: `alg` must be in the rules' allow-list,
// `none` and every HMAC algorithm are refused even when listed, and the key selected by the
// required `kid` must be of the algorithm's family.
//
// All functions are stateless and thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/auth/jwk.h"
#include "idp/core/error.h"

namespace idp::auth {

// Verification rules for one token issuer.
struct JwtRules {
  std::string issuer;  // exact `iss`; an empty issuer matches no token
  // Allowed `alg` values: any of RS256, RS384, RS512, ES256, ES384, ES512.
  std::vector<std::string> algorithms = {"RS256"};
  enum class Mode {
    kCognitoAccess,  // Cognito access token: token_use == "access", client_id in client_ids
    kAudience,       // `aud` (string or array) must name one of audiences
  };
  Mode mode = Mode::kCognitoAccess;
  std::vector<std::string> client_ids;       // Cognito mode; empty matches no token
  std::vector<std::string> audiences;        // audience mode; empty matches no token
  std::vector<std::string> required_scopes;  // all must be granted (`scope` or `scp`)
  std::chrono::seconds skew{60};             // tolerance for exp, nbf and iat
  std::size_t max_token_bytes = std::size_t{16} * 1024;
};

struct VerifiedToken {
  std::string subject;         // `sub`
  boost::json::object claims;  // the whole payload
  std::vector<std::string> scopes;
  std::chrono::system_clock::time_point expires;  // `exp`
};

enum class JwtFailure {
  kMalformed,             // not three base64url parts of JSON objects, or a claim of the wrong type
  kUnsupportedAlgorithm,  // alg not allowed (none, HS*, or not in the rules)
  kUnknownKey,            // no kid, kid not in the key set, or the key does not fit the alg
  kBadSignature,
  kExpired,
  kNotYetValid,  // nbf or iat in the future
  kWrongIssuer,
  kWrongAudience,  // aud or Cognito client_id not allowed
  kWrongTokenUse,  // Cognito token_use is not "access" (e.g. an ID token)
  kMissingClaim,   // exp, sub, iss, client_id or aud absent
  kTooLarge,
  kInsufficientScope,
};

// Stable snake_case name ("bad_signature") for logs and metrics.
const char* to_string(JwtFailure failure);
// 403 for kInsufficientScope, 401 otherwise.
int http_status(JwtFailure failure);
// The RFC 6750 error code: "insufficient_scope" or "invalid_token".
const char* oauth_error(JwtFailure failure);

struct JwtError {
  JwtFailure failure;
  // Short reason safe to send to the client: never contains the token or values taken from it.
  std::string message;

  int http_status() const { return auth::http_status(failure); }
  const char* oauth_error() const { return auth::oauth_error(failure); }
  // As an idp::Error: kPermissionDenied for insufficient scope, kUnauthenticated otherwise.
  Error to_error() const;
};

std::expected<VerifiedToken, JwtError> verify_jwt(std::string_view token, const JwtRules& rules,
                                                  const JwkSet& keys,
                                                  std::chrono::system_clock::time_point now);

// The signature step alone (RFC 7515 §5.2): checks `signature` (raw bytes, already base64url-
// decoded; for ES* the JOSE r||s form) over `signing_input` (the ASCII "header.payload") with
// `key`. `alg` must be RS256/384/512 or ES256/384/512 and fit the key's kty, curve and own alg.
std::expected<void, JwtError> verify_jws_signature(std::string_view alg, const Jwk& key,
                                                   std::string_view signing_input,
                                                   std::string_view signature);

// The payload of a JWT, NOT verified: for a client reading its own freshly issued token (`exp`,
// `sub`, what to show a user) or for finding which issuer a token names before verifying it.
// Never a basis for trust. Empty when `token` is not three parts with a JSON object payload.
boost::json::object unverified_claims(std::string_view token);

// The scopes a token's claims grant: the space-separated `scope` (Cognito, RFC 9068), else `scp`
// (a string or an array, as Okta and Entra ID send it).
std::vector<std::string> granted_scopes(const boost::json::object& claims);

// The `WWW-Authenticate` value for a failed verification:
//   Bearer error="invalid_token", error_description="...", resource_metadata="..."
//   Bearer error="insufficient_scope", scope="...", error_description="...",
//   resource_metadata="..."
// Empty `resource_metadata_url` / `required_scope` are left out. Values are quoted-string escaped
// and stripped of characters RFC 6750 does not allow.
std::string www_authenticate(const JwtError& error, std::string_view resource_metadata_url,
                             std::string_view required_scope = {});
// The challenge for a request without credentials (RFC 6750 §3.1: no error code).
std::string www_authenticate_missing_token(std::string_view resource_metadata_url);

}  // namespace idp::auth

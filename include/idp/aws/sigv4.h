// AWS Signature Version 4, header form. Signer::sign() turns a request description, credentials,
// region, service and one timestamp into the headers to add (X-Amz-Date, optionally
// X-Amz-Content-Sha256, X-Amz-Security-Token, Authorization) and keeps every intermediate step
// (canonical request, string to sign, signature) so tests and the local fake services can compare
// or recompute them. Canonicalization follows the official suite: for every service but S3 the
// wire path is normalized (dot segments, empty segments) and URI-encoded once more, so a Bedrock
// model id sent as `%3A` is signed as `%253A`; query pairs are decoded, re-encoded and sorted;
// header values are trimmed with inner whitespace collapsed; duplicate headers are joined with ','.
// The derived signing key is cached per (date, region, service, access key id).
// Thread-safety: Signer is safe to share between threads (the key cache is locked); the free
// functions are pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "idp/aws/credentials.h"
#include "idp/core/crypto.h"
#include "idp/core/error.h"

namespace idp::aws {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What is signed. Header names are matched case-insensitively; a Host header is required.
// X-Amz-Date, X-Amz-Security-Token and Authorization in `headers` are ignored: the signer sets
// them. Hop-by-hop and proxy-rewritten headers (connection, user-agent, transfer-encoding, ...) are
// not signed, as in botocore. Every other header is signed, X-Amz-Content-Sha256 included (as
// given, unless add_content_sha256_header replaces it).
struct SigningRequest {
  std::string method = "GET";
  std::string path = "/";  // as sent on the wire (already percent-encoded), without the query
  std::string query;       // after '?', as sent; empty when there is none
  HeaderList headers;      // in order, duplicates kept
  std::string_view body;   // must stay alive during sign(); ignored when payload_hash is set
};

struct SigningOptions {
  bool normalize_path = true;  // remove dot and empty segments (false for S3)
  bool encode_path = true;     // URI-encode the wire path again, "double encoding" (false for S3)
  // The payload hash to sign instead of SHA-256(body), e.g. "UNSIGNED-PAYLOAD".
  std::optional<std::string> payload_hash;
  bool add_content_sha256_header = false;  // send (and sign) X-Amz-Content-Sha256
  // Send X-Amz-Security-Token without signing it (the suite's post-sts-header-after); a few old
  // services want that. Cognito, Secrets Manager and Bedrock sign it (the default).
  bool omit_session_token = false;
};

// The outcome of signing, step by step. `headers` holds the session token in plain text because it
// goes on the wire: never log them.
struct SignedRequest {
  std::string amz_date;          // "20150830T123600Z"
  std::string credential_scope;  // "20150830/us-east-1/service/aws4_request"
  std::string canonical_request;
  std::string signed_headers;  // "host;x-amz-date"
  std::string payload_hash;
  std::string string_to_sign;
  std::string signature;      // 64 lowercase hex digits
  std::string authorization;  // the Authorization header value
  HeaderList headers;         // to add to the request, in this order
};

class Signer {
 public:
  Signer();
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // kInvalidArgument when the request has no Host header or the credentials, region or service
  // are empty.
  Result<SignedRequest> sign(const SigningRequest& request, const Credentials& credentials,
                             std::string_view region, std::string_view service,
                             std::chrono::system_clock::time_point time,
                             const SigningOptions& options = {}) const;

  // How many signing keys were derived (cache misses); for tests.
  std::size_t key_derivations() const;

 private:
  struct Cache;
  Secret signing_key(const Credentials& credentials, std::string_view date, std::string_view region,
                     std::string_view service) const;
  std::unique_ptr<Cache> cache_;
};

// The pieces of an Authorization header value, for services that verify signatures (our fakes).
struct ParsedAuthorization {
  std::string access_key_id;
  std::string date;  // "20150830"
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  // lowercase, as listed
  std::string signature;
};
// nullopt unless `value` is "AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request,
// SignedHeaders=a;b, Signature=hex" (spaces after the commas optional).
std::optional<ParsedAuthorization> parse_authorization(std::string_view value);

// "20150830T123600Z" (UTC) and back.
std::string format_amz_date(std::chrono::system_clock::time_point time);
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text);

// Building blocks, exposed for tests.
std::string canonical_uri(std::string_view wire_path, bool normalize, bool encode);
std::string canonical_query(std::string_view wire_query);
// RFC 3986 unreserved characters kept, everything else %XX (uppercase); '/' kept when asked.
std::string uri_encode(std::string_view text, bool keep_slash);
// The hashes come from core (kept reachable here for the signature-checking fakes).
using crypto::hmac_sha256;
using crypto::sha256_hex;
using crypto::to_hex;

}  // namespace idp::aws

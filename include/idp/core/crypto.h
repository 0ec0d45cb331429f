// Hashes and MACs used across the modules (SigV4, Cognito SECRET_HASH, JWT kids, secret
// versions, signed MCP requestState), written once on OpenSSL 3. Encodings live in random.h
// (base64, base64url). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace idp::crypto {

std::string sha256(std::string_view data);      // 32 raw bytes
std::string sha256_hex(std::string_view data);  // 64 lowercase hex characters
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes
std::string to_hex(std::string_view bytes);                            // lowercase

}  // namespace idp::crypto

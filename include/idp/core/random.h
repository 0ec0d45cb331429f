// Unguessable identifiers and the base64 encodings, built on OpenSSL's CSPRNG. Every base64 and
// base64url encoder and decoder of the project lives here. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace idp {

// `bytes` random bytes from the CSPRNG, base64url-encoded without padding. 32 bytes (the
// default) give 256 bits: fit for session ids and other bearer-like handles.
std::string random_token(std::size_t bytes = 32);
// `n` raw bytes from the CSPRNG (salts, keys).
std::string random_bytes(std::size_t n);

// A short random id for logs and trace ids (15 hex characters); not for security.
std::string trace_id();

std::string base64_encode(std::string_view data);     // standard alphabet, padded
std::string base64url_encode(std::string_view data);  // URL alphabet, no padding
// Lenient: accepts both alphabets, with or without padding; nullopt on any invalid character.
// For text that other programs wrote as "base64" (AWS binary secrets, MIME-encoded headers).
std::optional<std::string> base64_decode(std::string_view text);

// Strict base64url as JOSE uses it (RFC 7515 section 2): URL alphabet, no padding, unused low
// bits zero, so each value has exactly one encoding; nullopt otherwise. Table-driven: it decodes
// every part of every JWT a server checks.
std::optional<std::string> base64url_decode(std::string_view text);
// The same into a caller's buffer of at least base64url_decoded_size(text.size()) bytes (the
// JWT verifier decodes into a stack buffer); returns the decoded length.
std::optional<std::size_t> base64url_decode_into(std::string_view text, unsigned char* out);
constexpr std::size_t base64url_decoded_size(std::size_t chars) {
  return chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1);
}

// Constant-time equality for secrets.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace idp

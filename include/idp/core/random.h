// Unguessable identifiers and encodings built on OpenSSL's CSPRNG. Thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace idp {

// `bytes` random bytes from the CSPRNG, base64url-encoded without padding. 32 bytes (the
// default) give 256 bits: fit for session ids and other bearer-like handles.
std::string random_token(std::size_t bytes = 32);

// A short random id for logs and trace ids (15 hex characters); not for security.
std::string trace_id();

std::string base64_encode(std::string_view data);     // standard alphabet, padded
std::string base64url_encode(std::string_view data);  // URL alphabet, no padding
// Accepts both alphabets, with or without padding; nullopt on any invalid character.
std::optional<std::string> base64_decode(std::string_view text);

// Constant-time equality for secrets.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace idp

// Text helpers for messages that help a user recover from a typo ("did you mean 'tools'?"), and
// the RFC 9110 token test that header names must pass. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace idp {

// Levenshtein distance (insertions, deletions, substitutions), byte-wise.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` (ignoring ASCII case) when it is close enough to be a likely
// typo: at most `max_edits` edits and fewer edits than `word` has characters. nullopt otherwise.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates,
                                         std::size_t max_edits = 2);

// True when `s` is an RFC 9110 token (a valid header field name): not empty, and only letters,
// digits and !#$%&'*+-.^_`|~.
bool is_http_token(std::string_view s);

// The longest prefix of `text` of at most `max_bytes` bytes that does not split a UTF-8
// sequence.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

}  // namespace idp

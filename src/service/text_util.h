// Text helpers of the service: counting characters as a person does (Unicode code points of
// UTF-8), and the one-line previews the session list shows. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace idp::service {

// Code points in valid UTF-8 text (each lead byte counts once).
std::size_t utf8_length(std::string_view text);

// `text` on one line (runs of whitespace become one space, ends trimmed), cut to at most
// `max_chars` code points with "…" as the last one when cut.
std::string shorten(std::string_view text, std::size_t max_chars);

}  // namespace idp::service

#include "text_util.h"

namespace idp::service {

namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
}

}  // namespace

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += !is_continuation(static_cast<unsigned char>(c));
  return n;
}

std::string shorten(std::string_view text, std::size_t max_chars) {
  std::string line;
  line.reserve(std::min(text.size(), max_chars * 4));
  bool space = false;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_space(c)) {
      space = !line.empty();
      continue;
    }
    bool lead = !is_continuation(static_cast<unsigned char>(c));
    if (lead) {
      if (chars + (space ? 1 : 0) + 1 > max_chars) {
        // No room for this character (and its space): cut, leaving room for the ellipsis.
        while (chars + 1 > max_chars && !line.empty()) {
          // Drop one whole code point from the end.
          while (!line.empty() && is_continuation(static_cast<unsigned char>(line.back())))
            line.pop_back();
          if (!line.empty()) line.pop_back();
          --chars;
        }
        while (!line.empty() && line.back() == ' ') {
          line.pop_back();
          --chars;
        }
        return line + "\xE2\x80\xA6";  // …
      }
      if (space) {
        line += ' ';
        ++chars;
        space = false;
      }
      ++chars;
    }
    line += c;
  }
  return line;
}

}  // namespace idp::service

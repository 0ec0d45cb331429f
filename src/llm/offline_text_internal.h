// Internals shared by the offline planner's question reader (offline_text.cc) and its
// arithmetic-expression finder (offline_expression.cc). Pure functions; thread-safe.
#pragma once

#include <cctype>
#include <cstddef>
#include <string_view>
#include <vector>

#include "idp/llm/offline_planner.h"

namespace idp::llm::offline {

inline bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
// Letters and digits, and the bytes of non-ASCII characters (words of other scripts).
inline bool is_word_byte(char c) { return is_alnum(c) || static_cast<unsigned char>(c) >= 0x80; }

// A whitespace-separated piece of the question outside quotations.
struct Token {
  std::size_t begin = 0;  // raw, whitespace-separated
  std::size_t end = 0;
  std::size_t tbegin = 0;  // without surrounding brackets and sentence punctuation
  std::size_t tend = 0;
};

// Finds arithmetic expressions in runs of tokens not yet `used`: appends kExpression entities
// (the longest well-formed expression of each run) and marks their tokens used.
void find_expressions(std::string_view text, const std::vector<Token>& tokens,
                      std::vector<bool>& used, std::vector<Entity>& out);

}  // namespace idp::llm::offline

// Arithmetic for the `calculator` tool: + - * / ^, parentheses, unary minus, and the common
// functions (sqrt, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, exp, ln, log (base 10),
// log2, log10, abs, sign, rint, min, max, sum, avg) and constants (pi, _pi, _e), evaluated by
// muparser (Debian's libmuparser-dev). Limits: at most kMaxLength characters and kMaxDepth
// nested parentheses. Every failure says where: "division by zero at position 4 (the divisor
// '(2-2)' is 0)", "unexpected token ')' at position 7". Pure function; thread-safe (a parser
// per call).
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace example {

inline constexpr std::size_t kMaxLength = 1000;
inline constexpr int kMaxDepth = 32;

std::expected<double, std::string> evaluate(std::string_view expression);

// The result as the tool prints it: the shortest text that reads back as the same number
// ("58.5", "0.1", "1e+21").
std::string format_number(double value);

}  // namespace example

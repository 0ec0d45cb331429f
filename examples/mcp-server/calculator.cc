#include "calculator.h"

#include <fmt/format.h>
#include <muParser.h>

#include <cctype>
#include <cmath>
#include <numbers>

namespace example {

namespace {

// Positions in messages are 1-based, as a person counts characters.
std::string at(std::size_t zero_based) { return fmt::format("position {}", zero_based + 1); }

void define(mu::Parser& p) {
  p.DefineConst("pi", std::numbers::pi);
  // muparser's "log" is the natural logarithm; people mean base 10 by "log" and say "ln" for e.
  p.DefineFun("log", static_cast<double (*)(double)>(std::log10));
}

// The operand right of a '/' at `slash`: a number or name, a function call or a parenthesized
// group, with a leading sign and a following power; empty when it cannot be delimited.
std::string_view divisor_at(std::string_view e, std::size_t slash) {
  std::size_t i = slash + 1;
  while (i < e.size() && std::isspace(static_cast<unsigned char>(e[i]))) ++i;
  std::size_t start = i;
  while (i < e.size() &&
         (e[i] == '-' || e[i] == '+' || std::isspace(static_cast<unsigned char>(e[i]))))
    ++i;
  auto skip_group = [&]() {
    int depth = 0;
    for (; i < e.size(); ++i) {
      if (e[i] == '(') ++depth;
      if (e[i] == ')' && --depth == 0) {
        ++i;
        return true;
      }
    }
    return false;
  };
  auto operand = [&]() {
    if (i < e.size() && e[i] == '(') return skip_group();
    std::size_t begin = i;
    while (i < e.size() &&
           (std::isalnum(static_cast<unsigned char>(e[i])) || e[i] == '.' || e[i] == '_' ||
            ((e[i] == '-' || e[i] == '+') && i > begin && (e[i - 1] == 'e' || e[i - 1] == 'E') &&
             std::isdigit(static_cast<unsigned char>(e[begin]))))) {
      ++i;
    }
    if (i == begin) return false;
    if (i < e.size() && e[i] == '(') return skip_group();  // a function call
    return true;
  };
  if (!operand()) return {};
  std::size_t end = i;
  while (i < e.size() && std::isspace(static_cast<unsigned char>(e[i]))) ++i;
  if (i < e.size() && e[i] == '^') {
    ++i;
    while (i < e.size() && (e[i] == '-' || std::isspace(static_cast<unsigned char>(e[i])))) ++i;
    if (operand()) end = i;
  }
  return e.substr(start, end - start);
}

std::expected<double, std::string> eval_plain(std::string_view expression) {
  mu::Parser p;
  define(p);
  p.SetExpr(std::string(expression));
  return p.Eval();
}

// Finds the division whose divisor is 0 (or evaluates to 0), for the error message.
std::string explain_division(std::string_view e) {
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e[i] != '/') continue;
    std::string_view d = divisor_at(e, i);
    if (d.empty()) continue;
    try {
      auto v = eval_plain(d);
      if (v && *v == 0) {
        return fmt::format("division by zero at {} (the divisor '{}' is 0)", at(i), d);
      }
    } catch (const mu::Parser::exception_type&) {
    }
  }
  return {};
}

}  // namespace

std::string format_number(double value) {
  if (value == 0) return "0";  // also for -0
  return fmt::format("{}", value);
}

std::expected<double, std::string> evaluate(std::string_view expression) {
  if (expression.size() > kMaxLength) {
    return std::unexpected(
        fmt::format("the expression is {} characters long; at most {} are allowed",
                    expression.size(), kMaxLength));
  }
  bool blank = true;
  int depth = 0;
  for (std::size_t i = 0; i < expression.size(); ++i) {
    char c = expression[i];
    if (!std::isspace(static_cast<unsigned char>(c))) blank = false;
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      return std::unexpected(fmt::format("control character at {}", at(i)));
    }
    if (c == '(' && ++depth > kMaxDepth) {
      return std::unexpected(
          fmt::format("parentheses nested deeper than {} at {}", kMaxDepth, at(i)));
    }
    if (c == ')') --depth;
  }
  if (blank) return std::unexpected(std::string("the expression is empty"));
  double value = 0;
  try {
    mu::Parser p;
    define(p);
    p.SetExpr(std::string(expression));
    value = p.Eval();
  } catch (const mu::Parser::exception_type& e) {
    std::string msg = e.GetMsg();
    // muparser ends its messages with " at position N." (0-based) or a period; we say it once,
    // 1-based.
    if (auto cut = msg.find(" at position "); cut != std::string::npos) msg.resize(cut);
    while (!msg.empty() && (msg.back() == '.' || msg.back() == ' ')) msg.pop_back();
    if (!msg.empty()) msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
    if (e.GetPos() >= 0)
      return std::unexpected(
          fmt::format("{} at {}", msg, at(static_cast<std::size_t>(e.GetPos()))));
    return std::unexpected(msg);
  }
  if (std::isfinite(value)) return value;
  if (auto why = explain_division(expression); !why.empty()) return std::unexpected(why);
  return std::unexpected(std::isnan(value)
                             ? std::string("the result is not a number (e.g. sqrt or log of a "
                                           "negative number)")
                             : std::string("the result is too large (beyond ±1.8e308)"));
}

}  // namespace example

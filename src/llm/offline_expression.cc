// Arithmetic expressions in a question: "(12.5 + 7) * 3", "12*3", "12 plus 30", "sqrt(16) + 2".
// Runs of tokens made only of numbers, operators, brackets, function names and word operators
// are lexed and checked with a small recursive-descent grammar; the longest well-formed part of
// a run that has an operator or a function is the expression. Phone numbers and ids such as
// 555-1234 are not taken for subtractions.
#include <algorithm>
#include <set>
#include <string>

#include "offline_text_internal.h"

namespace idp::llm::offline {
namespace {

constexpr std::size_t kMaxRunPieces = 256;

enum class Lex { kNum, kOp, kMinus, kOpen, kClose, kFunc, kConst };
struct LexTok {
  Lex kind;
  std::string text;  // normalized
  std::size_t begin, end;
};

bool is_function(std::string_view w) {
  static const std::set<std::string_view> kFuncs{"sqrt", "sin",   "cos",  "tan",  "log",  "ln",
                                                 "exp",  "abs",   "asin", "acos", "atan", "log10",
                                                 "log2", "floor", "ceil", "round"};
  return kFuncs.contains(w);
}

// Lexes one raw token as expression pieces; false when it holds anything else.
bool lex_token(std::string_view t, std::size_t base, std::vector<LexTok>& out) {
  std::string w = lowercase(t);
  if (w == "plus") return out.push_back({Lex::kOp, "+", base, base + t.size()}), true;
  if (w == "minus") return out.push_back({Lex::kMinus, "-", base, base + t.size()}), true;
  if (w == "times" || w == "x" || w == "multiplied") {
    return out.push_back({Lex::kOp, "*", base, base + t.size()}), true;
  }
  if (w == "divided") return out.push_back({Lex::kOp, "/", base, base + t.size()}), true;
  std::size_t i = 0;
  while (i < t.size()) {
    char c = t[i];
    std::size_t start = i;
    if (is_digit(c) || (c == '.' && i + 1 < t.size() && is_digit(t[i + 1]))) {
      while (i < t.size() && (is_digit(t[i]) || t[i] == '.')) ++i;
      std::string num(t.substr(start, i - start));
      if (std::count(num.begin(), num.end(), '.') > 1) return false;
      out.push_back({Lex::kNum, num, base + start, base + i});
    } else if (is_alpha(c)) {
      while (i < t.size() && (is_alnum(t[i]))) ++i;
      std::string name = lowercase(t.substr(start, i - start));
      if (is_function(name)) {
        out.push_back({Lex::kFunc, name, base + start, base + i});
      } else if (name == "pi") {
        out.push_back({Lex::kConst, name, base + start, base + i});
      } else {
        return false;
      }
    } else if (std::string_view("+*/^").find(c) != std::string_view::npos) {
      out.push_back({Lex::kOp, std::string(1, c), base + start, base + ++i});
    } else if (c == '-') {
      out.push_back({Lex::kMinus, "-", base + start, base + ++i});
    } else if (c == '(') {
      out.push_back({Lex::kOpen, "(", base + start, base + ++i});
    } else if (c == ')') {
      out.push_back({Lex::kClose, ")", base + start, base + ++i});
    } else if (t.substr(i, 2) == "\xC3\x97" || t.substr(i, 2) == "\xC3\xB7") {  // × ÷
      out.push_back({Lex::kOp, t[i + 1] == '\x97' ? "*" : "/", base + start, base + i + 2});
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

// A recursive-descent check of expr := unary (op unary)*, counting binary operators.
struct ExprCheck {
  const std::vector<LexTok>& toks;
  std::size_t pos, end;
  int binary = 0, functions = 0, numbers = 0;

  bool primary(int depth) {
    if (pos >= end || depth > 32) return false;
    const LexTok& t = toks[pos];
    if (t.kind == Lex::kNum || t.kind == Lex::kConst) {
      ++numbers;
      ++pos;
      return true;
    }
    if (t.kind == Lex::kFunc) {
      ++functions;
      ++pos;
      return primary(depth + 1);
    }
    if (t.kind == Lex::kOpen) {
      ++pos;
      if (!expr(depth + 1) || pos >= end || toks[pos].kind != Lex::kClose) return false;
      ++pos;
      return true;
    }
    return false;
  }
  bool unary(int depth) {
    if (pos < end && toks[pos].kind == Lex::kMinus) ++pos;
    return primary(depth);
  }
  bool expr(int depth) {
    if (!unary(depth)) return false;
    while (pos < end && (toks[pos].kind == Lex::kOp || toks[pos].kind == Lex::kMinus)) {
      ++pos;
      ++binary;
      if (!unary(depth)) return false;
    }
    return true;
  }
};

// "555-1234" and "1-800-555-0199" are phone numbers and ids, not subtractions ("10-20" is one).
bool looks_like_dashed_id(const std::vector<LexTok>& toks, std::size_t b, std::size_t e) {
  std::size_t operands = 0, long_operands = 0;
  for (std::size_t k = b; k < e; ++k) {
    bool num = toks[k].kind == Lex::kNum && toks[k].text.find('.') == std::string::npos;
    bool dash = toks[k].kind == Lex::kMinus && k > b && toks[k - 1].end == toks[k].begin &&
                k + 1 < e && toks[k + 1].begin == toks[k].end;
    if (!num && !dash) return false;
    if (num) {
      ++operands;
      if (toks[k].text.size() >= 3) ++long_operands;
    }
  }
  return operands >= 3 || long_operands > 0;
}

// An expression starts and ends at word boundaries (brackets aside): "-02-30" inside
// "2026-02-30" is none.
bool whole_tokens(const std::vector<LexTok>& lex, const std::vector<std::size_t>& owner,
                  std::size_t b, std::size_t e) {
  for (std::size_t i = b; i-- > 0 && owner[i] == owner[b];) {
    if (lex[i].kind != Lex::kOpen) return false;
  }
  for (std::size_t i = e; i < lex.size() && owner[i] == owner[e - 1]; ++i) {
    if (lex[i].kind != Lex::kClose) return false;
  }
  return true;
}

}  // namespace

void find_expressions(std::string_view t, const std::vector<Token>& tokens,
                      std::vector<bool>& used_token, std::vector<Entity>& out) {
  std::size_t k = 0;
  while (k < tokens.size()) {
    std::vector<LexTok> lex;
    std::vector<std::size_t> owner;  // token index of each lex piece
    std::size_t run_end = k;
    while (run_end < tokens.size() && !used_token[run_end]) {
      const Token& tok = tokens[run_end];
      // Keep brackets (part of the expression); drop sentence punctuation only.
      std::size_t e = tok.end;
      while (e > tok.begin &&
             std::string_view(".,;:!?=").find(t[e - 1]) != std::string_view::npos) {
        --e;
      }
      std::size_t before = lex.size();
      if (e == tok.begin || !lex_token(t.substr(tok.begin, e - tok.begin), tok.begin, lex)) {
        lex.resize(before);
        break;
      }
      if (lowercase(t.substr(tok.begin, e - tok.begin)) == "multiplied" ||
          lowercase(t.substr(tok.begin, e - tok.begin)) == "divided") {
        // "multiplied by", "divided by": the "by" belongs to the operator.
        if (run_end + 1 < tokens.size() &&
            lowercase(t.substr(tokens[run_end + 1].tbegin,
                               tokens[run_end + 1].tend - tokens[run_end + 1].tbegin)) == "by") {
          owner.resize(lex.size(), run_end);
          ++run_end;
        }
      }
      owner.resize(lex.size(), run_end);
      ++run_end;
    }
    // Longer runs are not looked into: the search below is cubic in the length, and a part of
    // a longer formula would be a wrong expression.
    if (lex.empty() || lex.size() > kMaxRunPieces) {
      k = std::max(run_end, k + 1);
      continue;
    }
    // Longest sub-range that parses, with an operator or a function in it.
    std::size_t best_b = 0, best_e = 0;
    for (std::size_t b = 0; b < lex.size(); ++b) {
      for (std::size_t e = lex.size(); e > b + best_e - best_b && e > b; --e) {
        ExprCheck check{lex, b, e};
        if (whole_tokens(lex, owner, b, e) && check.expr(0) && check.pos == e &&
            (check.binary > 0 || check.functions > 0) && !looks_like_dashed_id(lex, b, e)) {
          best_b = b;
          best_e = e;
          break;
        }
      }
    }
    if (best_e > best_b) {
      bool words = false;
      std::string normalized;
      for (std::size_t i = best_b; i < best_e; ++i) {
        const LexTok& p = lex[i];
        if (t.substr(p.begin, p.end - p.begin) != p.text) words = true;
        bool binary_op = (p.kind == Lex::kOp || p.kind == Lex::kMinus) && i > best_b &&
                         (lex[i - 1].kind == Lex::kNum || lex[i - 1].kind == Lex::kClose ||
                          lex[i - 1].kind == Lex::kConst);
        if (binary_op) {
          normalized += " " + p.text + " ";
        } else {
          normalized += p.text;
        }
      }
      std::size_t b = lex[best_b].begin, e = lex[best_e - 1].end;
      // Keep the user's own writing when it is all symbols; word operators are rewritten.
      std::string value = words ? normalized : std::string(t.substr(b, e - b));
      out.push_back({EntityKind::kExpression, value, b, e});
      for (std::size_t i = best_b; i < best_e; ++i) used_token[owner[i]] = true;
    }
    k = std::max(run_end, k + 1);
  }
}

}  // namespace idp::llm::offline

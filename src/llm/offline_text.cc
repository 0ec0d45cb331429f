// The offline planner's reading of a question: the values in it (quoted strings, URLs, e-mail
// addresses, dates, arithmetic expressions, numbers, id-like words) and the keywords left over.
// Values are found before keywords so that the words of a quoted text or the letters of an id
// never count as keywords.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>

#include "idp/llm/offline_planner.h"
#include "offline_text_internal.h"

namespace idp::llm::offline {
namespace {

// ---- Quoted strings ----

struct QuotePair {
  std::string_view open;
  std::string_view close;
};
constexpr std::array<QuotePair, 5> kQuotes{{{"\"", "\""},
                                            {"\xE2\x80\x9C", "\xE2\x80\x9D"},  // “ ”
                                            {"\xE2\x80\x98", "\xE2\x80\x99"},  // ‘ ’
                                            {"`", "`"},
                                            {"'", "'"}}};

// A straight single quote opens a quotation only at a word start and closes one only at a word
// end, so that "client's" and "don't" stay words.
bool single_quote_can_open(std::string_view t, std::size_t i) {
  return (i == 0 || !is_word_byte(t[i - 1])) && i + 1 < t.size() && !is_space(t[i + 1]);
}
bool single_quote_can_close(std::string_view t, std::size_t i) {
  return i > 0 && !is_space(t[i - 1]) && (i + 1 == t.size() || !is_word_byte(t[i + 1]));
}

void find_quotes(std::string_view t, std::vector<Entity>& out, std::vector<bool>& taken) {
  std::size_t i = 0;
  while (i < t.size()) {
    bool matched = false;
    for (const auto& q : kQuotes) {
      if (t.substr(i, q.open.size()) != q.open) continue;
      if (q.open == "'" && !single_quote_can_open(t, i)) continue;
      std::size_t from = i + q.open.size();
      std::size_t j = from;
      for (; j < t.size(); ++j) {
        if (t.substr(j, q.close.size()) != q.close) continue;
        if (q.close == "'" && !single_quote_can_close(t, j)) continue;
        break;
      }
      if (j >= t.size() || j == from) continue;
      std::size_t end = j + q.close.size();
      out.push_back({EntityKind::kQuoted, std::string(t.substr(from, j - from)), i, end});
      std::fill(taken.begin() + static_cast<std::ptrdiff_t>(i),
                taken.begin() + static_cast<std::ptrdiff_t>(end), true);
      i = end;
      matched = true;
      break;
    }
    if (!matched) ++i;
  }
}

// ---- Words of the rest ----

std::vector<Token> raw_tokens(std::string_view t, const std::vector<bool>& taken) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < t.size()) {
    if (taken[i] || is_space(t[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < t.size() && !taken[j] && !is_space(t[j])) ++j;
    Token tok{i, j, i, j};
    auto lead = std::string_view("([{<#");
    auto trail = std::string_view(")]}>.,;:!?");
    while (tok.tbegin < tok.tend && lead.find(t[tok.tbegin]) != std::string_view::npos) {
      ++tok.tbegin;
    }
    while (tok.tend > tok.tbegin && trail.find(t[tok.tend - 1]) != std::string_view::npos) {
      --tok.tend;
    }
    out.push_back(tok);
    i = j;
  }
  return out;
}

}  // namespace

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_email_address(std::string_view s) {
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  for (char c : local) {
    if (!is_alnum(c) && std::string_view("._%+-'").find(c) == std::string_view::npos) return false;
  }
  auto dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || domain.size() - dot - 1 < 2) return false;
  for (char c : domain) {
    if (!is_alnum(c) && c != '.' && c != '-') return false;
  }
  for (std::size_t k = dot + 1; k < domain.size(); ++k) {
    if (!is_alpha(domain[k])) return false;
  }
  return domain.find("..") == std::string_view::npos;
}

namespace {

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

std::optional<std::string> iso_date(int y, int m, int d) {
  if (y < 1000 || y > 9999 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
    return std::nullopt;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return std::string(buf);
}

int parse_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() ? v : -1;
}

// 2026-11-02, 2026/11/02, with an optional time after a 'T' (kept as written).
std::optional<std::string> numeric_date(std::string_view s) {
  if (s.size() < 10 || (s[4] != '-' && s[4] != '/') || s[7] != s[4]) return std::nullopt;
  for (std::size_t k : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!is_digit(s[k])) return std::nullopt;
  }
  auto date =
      iso_date(parse_int(s.substr(0, 4)), parse_int(s.substr(5, 2)), parse_int(s.substr(8, 2)));
  if (!date) return std::nullopt;
  if (s.size() == 10) return date;
  if (s[10] != 'T' || s.size() < 16) return std::nullopt;
  return *date + std::string(s.substr(10));
}

}  // namespace

bool is_iso_date(std::string_view text) {
  return text.size() == 10 && text[4] == '-' && numeric_date(text).has_value();
}

namespace {

int month_of(std::string_view word) {
  static constexpr std::array<std::string_view, 12> kMonths{
      "january", "february", "march",     "april",   "may",      "june",
      "july",    "august",   "september", "october", "november", "december"};
  std::string w = lowercase(word);
  if (w.size() < 3) return 0;
  for (std::size_t m = 0; m < kMonths.size(); ++m) {
    if (w == kMonths[m] ||
        (w.size() >= 3 && w.size() <= 4 && kMonths[m].starts_with(w) && w != "mar" && w != "may")) {
      return static_cast<int>(m) + 1;
    }
  }
  return w == "mar" ? 3 : 0;
}

// "2", "2nd", "21st," -> day number; -1 otherwise.
int day_of(std::string_view word) {
  while (!word.empty() && (word.back() == ',' || word.back() == '.')) word.remove_suffix(1);
  for (std::string_view suffix : {"st", "nd", "rd", "th"}) {
    if (word.ends_with(suffix)) word.remove_suffix(2);
  }
  if (word.empty() || word.size() > 2) return -1;
  return parse_int(word);
}

// 40, -2.5, 1,200.50, $30, €12, 15% -> the number; nullopt for anything else.
std::optional<double> parse_number(std::string_view s) {
  for (std::string_view prefix : {"$", "\xE2\x82\xAC", "\xC2\xA3"}) {
    if (s.starts_with(prefix)) s.remove_prefix(prefix.size());
  }
  if (s.ends_with("%")) s.remove_suffix(1);
  std::string plain;
  std::size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) plain += s[i++];
  std::size_t group = 0;  // digits since the start or the last thousands separator
  bool comma = false, dot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (is_digit(c)) {
      plain += c;
      ++group;
    } else if (c == ',' && !dot && group > 0 && (comma ? group == 3 : group <= 3) &&
               i + 4 <= s.size() && is_digit(s[i + 1]) && is_digit(s[i + 2]) &&
               is_digit(s[i + 3]) && (i + 4 == s.size() || !is_digit(s[i + 4]))) {
      comma = true;  // a thousands separator: exactly three digits follow
      group = 0;
    } else if (c == '.' && !dot && group > 0 && (!comma || group == 3) && i + 1 < s.size()) {
      dot = true;
      plain += c;
    } else {
      return std::nullopt;
    }
  }
  if (group == 0) return std::nullopt;
  double v = 0;
  const char* first = plain.data() + (plain[0] == '+' ? 1 : 0);
  auto [p, ec] = std::from_chars(first, plain.data() + plain.size(), v);
  if (ec != std::errc() || p != plain.data() + plain.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<std::vector<std::pair<std::string, double>>> number_list(std::string_view s) {
  if (s.find(',') == std::string_view::npos) return std::nullopt;
  std::vector<std::pair<std::string, double>> out;
  std::size_t from = 0;
  while (from <= s.size()) {
    std::size_t comma = std::min(s.find(',', from), s.size());
    std::string_view piece = s.substr(from, comma - from);
    auto n = parse_number(piece);
    if (!n || piece.find(',') != std::string_view::npos) return std::nullopt;
    out.emplace_back(std::string(piece), *n);
    from = comma + 1;
  }
  return out;
}

bool looks_like_id(std::string_view s) {
  bool digit = false, letter = false, inner_sep = false, underscore = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (is_digit(c)) digit = true;
    if (is_alpha(c)) letter = true;
    bool inner = i > 0 && i + 1 < s.size();
    if (inner && std::string_view("-/:.").find(c) != std::string_view::npos) inner_sep = true;
    if (inner && c == '_') underscore = true;
  }
  return underscore || (digit && (letter || inner_sep));
}

// The words of free text, lowercase, with "e-mail" kept as one word.
std::vector<std::string> raw_words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    char c = i < text.size() ? text[i] : ' ';
    if (is_word_byte(c) || c == '\'') {
      cur += c;
      continue;
    }
    if (c == '-' && (cur == "e" || cur == "E") && i + 1 < text.size() &&
        (text[i + 1] == 'm' || text[i + 1] == 'M')) {
      continue;  // e-mail -> email
    }
    while (!cur.empty() && cur.back() == '\'') cur.pop_back();
    while (!cur.empty() && cur.front() == '\'') cur.erase(cur.begin());
    if (!cur.empty()) out.push_back(lowercase(cur));
    cur.clear();
  }
  return out;
}

void add_unique(std::vector<std::string>& out, std::string word) {
  if (std::find(out.begin(), out.end(), word) == out.end()) out.push_back(std::move(word));
}

}  // namespace

bool is_stop_word(std::string_view w) {
  static const std::set<std::string_view> kStop{
      "a",      "an",    "the",   "of",     "to",     "for",  "in",    "on",    "at",     "by",
      "with",   "from",  "and",   "or",     "but",    "is",   "are",   "was",   "were",   "be",
      "been",   "being", "am",    "do",     "does",   "did",  "have",  "has",   "had",    "i",
      "me",     "my",    "we",    "our",    "us",     "you",  "your",  "it",    "its",    "this",
      "that",   "these", "those", "there",  "here",   "what", "which", "who",   "whom",   "whose",
      "when",   "where", "why",   "how",    "please", "can",  "could", "would", "will",   "shall",
      "should", "may",   "might", "must",   "let",    "give", "show",  "tell",  "get",    "got",
      "need",   "want",  "like",  "just",   "also",   "then", "than",  "so",    "if",     "not",
      "no",     "yes",   "any",   "some",   "all",    "each", "every", "about", "into",   "as",
      "per",    "via",   "much",  "many",   "more",   "most", "hi",    "hello", "thanks", "thank",
      "kindly", "s",     "whats", "what's", "i'm",    "it's", "they",  "them",  "their",  "he",
      "she",    "him",   "her",   "his",    "up",     "out",  "use",   "using", "e.g",    "eg",
      "etc",    "now",   "one",   "ones",   "too",    "very"};
  return kStop.contains(w);
}

std::string normalize_word(std::string_view word) {
  std::string w = lowercase(word);
  for (std::string_view possessive : {"'s", "\xE2\x80\x99s"}) {
    if (w.ends_with(possessive)) w.resize(w.size() - possessive.size());
  }
  while (!w.empty() && !is_word_byte(w.back())) w.pop_back();
  while (!w.empty() && !is_word_byte(w.front())) w.erase(w.begin());
  if (w == "e-mail" || w == "e-mails" || w == "mail" || w == "mails" || w == "emails") {
    return "email";
  }
  auto n = w.size();
  if (n > 4 && w.ends_with("ies")) {
    w.replace(n - 3, 3, "y");
  } else if (w.ends_with("sses") || w.ends_with("xes") || w.ends_with("ches") ||
             w.ends_with("shes")) {
    w.resize(n - 2);
  } else if (n > 3 && w.back() == 's' && !w.ends_with("ss") && !w.ends_with("us") &&
             !w.ends_with("is")) {
    w.pop_back();
  }
  n = w.size();
  if (n > 5 && w.ends_with("ing")) {
    w.resize(n - 3);
    if (w.size() > 3 && w[w.size() - 1] == w[w.size() - 2]) w.pop_back();  // running -> run
  } else if (n > 4 && w.ends_with("ed") && !w.ends_with("eed")) {
    w.resize(n - 2);
    if (w.size() > 3 && w[w.size() - 1] == w[w.size() - 2]) w.pop_back();
  }
  return w;
}

std::vector<std::string> keywords_of(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& raw : raw_words(text)) {
    if (is_stop_word(raw)) continue;
    std::string w = normalize_word(raw);
    if (w.empty() || is_stop_word(w)) continue;
    add_unique(out, std::move(w));
  }
  return out;
}

std::vector<std::string> split_identifier(std::string_view name) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!is_word_byte(c)) {
      if (!cur.empty()) out.push_back(lowercase(cur));
      cur.clear();
      continue;
    }
    bool boundary =
        !cur.empty() && std::isupper(static_cast<unsigned char>(c)) &&
        (std::islower(static_cast<unsigned char>(cur.back())) ||
         (i + 1 < name.size() && std::islower(static_cast<unsigned char>(name[i + 1])) &&
          std::isupper(static_cast<unsigned char>(cur.back()))));
    if (boundary) {
      out.push_back(lowercase(cur));
      cur.clear();
    }
    cur += c;
  }
  if (!cur.empty()) out.push_back(lowercase(cur));
  return out;
}

std::string humanize(std::string_view name) {
  std::string out;
  for (const auto& w : split_identifier(name)) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  if (out.empty()) out = std::string(name);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string format_number(double value) {
  if (std::isfinite(value) && std::fabs(value) < 1e15 && value == std::trunc(value)) {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(value));
    return std::string(buf, p);
  }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, p) : std::string("NaN");
}

Analysis analyse(std::string_view text) {
  Analysis a;
  a.text = std::string(text);
  std::string_view t = a.text;
  std::vector<bool> taken(t.size(), false);
  std::vector<Entity> found;
  find_quotes(t, found, taken);

  std::vector<Token> tokens = raw_tokens(t, taken);
  std::vector<bool> used(tokens.size(), false);
  auto trimmed = [&](std::size_t k) {
    return t.substr(tokens[k].tbegin, tokens[k].tend - tokens[k].tbegin);
  };
  auto take = [&](std::size_t k, EntityKind kind, std::string value, double number = 0) {
    found.push_back({kind, std::move(value), tokens[k].tbegin, tokens[k].tend, number});
    used[k] = true;
  };

  // URLs, e-mail addresses and dates first: their digits and dashes are not arithmetic.
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    std::string_view s = trimmed(k);
    if (s.starts_with("http://") || s.starts_with("https://")) {
      take(k, EntityKind::kUrl, std::string(s));
    } else if (s.starts_with("mailto:") && is_email_address(s.substr(7))) {
      take(k, EntityKind::kEmail, std::string(s.substr(7)));
    } else if (is_email_address(s)) {
      take(k, EntityKind::kEmail, std::string(s));
    } else if (auto d = numeric_date(s)) {
      take(k, EntityKind::kDate, *d);
    }
  }
  // Dates with month names: "2 November 2026", "November 2, 2026", "Nov 2nd 2026".
  for (std::size_t k = 0; k + 2 < tokens.size(); ++k) {
    if (used[k] || used[k + 1] || used[k + 2]) continue;
    std::string_view w0 = t.substr(tokens[k].begin, tokens[k].end - tokens[k].begin);
    std::string_view w1 = t.substr(tokens[k + 1].begin, tokens[k + 1].end - tokens[k + 1].begin);
    int year = parse_int(trimmed(k + 2));
    int month = month_of(trimmed(k));
    int day = -1;
    if (month != 0) {
      day = day_of(w1);
    } else {
      month = month_of(trimmed(k + 1));
      if (month != 0) day = day_of(w0);
    }
    if (month == 0 || day < 1 || year < 1000) continue;
    if (auto d = iso_date(year, month, day)) {
      found.push_back({EntityKind::kDate, *d, tokens[k].tbegin, tokens[k + 2].tend});
      used[k] = used[k + 1] = used[k + 2] = true;
    }
  }
  find_expressions(t, tokens, used, found);
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    if (used[k] || tokens[k].tend == tokens[k].tbegin) continue;
    std::string_view s = trimmed(k);
    if (auto n = parse_number(s)) {
      take(k, EntityKind::kNumber, std::string(s), *n);
    } else if (auto list = number_list(s)) {
      // "10,20,30": numbers written without spaces.
      std::size_t at = tokens[k].tbegin;
      for (const auto& [text, value] : *list) {
        found.push_back({EntityKind::kNumber, text, at, at + text.size(), value});
        at += text.size() + 1;
      }
      used[k] = true;
    } else if (looks_like_id(s)) {
      take(k, EntityKind::kId, std::string(s));
    } else {
      found.push_back({EntityKind::kWord, std::string(s), tokens[k].tbegin, tokens[k].tend});
    }
  }
  std::sort(found.begin(), found.end(),
            [](const Entity& x, const Entity& y) { return x.begin < y.begin; });

  // Keywords: the words (not the values); "how many" asks for a count, "how much" for a total.
  std::string low = lowercase(t);
  for (const auto& e : found) {
    if (e.kind != EntityKind::kWord) continue;
    for (auto& w : keywords_of(e.value)) add_unique(a.keywords, std::move(w));
  }
  if (low.find("how many") != std::string::npos || low.find("number of") != std::string::npos) {
    add_unique(a.keywords, "count");
  }
  if (low.find("how much") != std::string::npos) add_unique(a.keywords, "total");
  a.entities = std::move(found);
  return a;
}

}  // namespace idp::llm::offline

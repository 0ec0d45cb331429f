#include "idp/mcp/formats.h"

#include <boost/url/parse.hpp>

#include <map>
#include <vector>

namespace idp::mcp {

namespace bj = boost::json;

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int digits(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// RFC 3339 full-date, with the real number of days of the month.
bool valid_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int y = digits(s, 0, 4), m = digits(s, 5, 2), d = digits(s, 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  return d <= max;
}

// RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM).
bool valid_time(std::string_view s) {
  if (s.size() < 9 || s[2] != ':' || s[5] != ':') return false;
  int h = digits(s, 0, 2), m = digits(s, 3, 2), sec = digits(s, 6, 2);
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) return false;
  std::size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    std::size_t start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i == s.size()) return false;  // the offset is required
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if ((s[i] != '+' && s[i] != '-') || i + 6 != s.size() || s[i + 3] != ':') return false;
  int oh = digits(s, i + 1, 2), om = digits(s, i + 4, 2);
  return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
}

bool valid_date_time(std::string_view s) {
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't')) return false;
  return valid_date(s.substr(0, 10)) && valid_time(s.substr(11));
}

bool valid_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    int v = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) v = v * 10 + (s[i++] - '0');
    std::size_t len = i - start;
    if (len == 0 || v > 255 || (len > 1 && s[start] == '0')) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

// A mailbox as RFC 5321 allows it for the dot-atom forms people use: local@domain, the local part
// of atext characters and single dots (at most 64), the domain of at least two DNS labels (letters,
// digits, inner hyphens, at most 63 each, 253 in all). Quoted local parts and address literals are
// refused: no mail system an MCP tool talks to needs them, and they are where injection hides.
bool valid_email(std::string_view s) {
  if (s.size() > 254) return false;
  auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64 || local.front() == '.' || local.back() == '.') return false;
  static constexpr std::string_view kAtext = "!#$%&'*+-/=?^_`{|}~";
  char prev = 0;
  for (char c : local) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!is_alnum(c) && kAtext.find(c) == std::string_view::npos) {
      return false;
    }
    prev = c;
  }
  if (domain.size() > 253) return false;
  int labels = 0;
  std::size_t start = 0;
  while (start <= domain.size()) {
    auto end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    std::string_view label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!is_alnum(c) && c != '-') return false;
    }
    ++labels;
    start = end + 1;
    if (end == domain.size()) break;
  }
  return labels >= 2;
}

bool valid_uri(std::string_view s) {
  // RFC 3986 "URI": a scheme is required (a relative reference is a "uri-reference").
  return !s.empty() && boost::urls::parse_uri(s).has_value();
}

}  // namespace

bool is_enforced_format(std::string_view f) {
  return f == "email" || f == "uri" || f == "date-time" || f == "date" || f == "uuid" ||
         f == "ipv4";
}

std::optional<std::string> check_format(std::string_view format, std::string_view v) {
  if (format == "email") {
    if (!valid_email(v)) return "not a valid e-mail address";
  } else if (format == "uri") {
    if (!valid_uri(v)) return "not an absolute URI (RFC 3986)";
  } else if (format == "date-time") {
    if (!valid_date_time(v)) return "not an RFC 3339 date-time such as 2026-05-01T12:00:00Z";
  } else if (format == "date") {
    if (!valid_date(v)) return "not a date (YYYY-MM-DD)";
  } else if (format == "uuid") {
    if (!valid_uuid(v)) return "not a UUID (8-4-4-4-12 hexadecimal digits)";
  } else if (format == "ipv4") {
    if (!valid_ipv4(v)) return "not an IPv4 address in dotted-quad form";
  }
  return std::nullopt;
}

struct FormatChecker::Node {
  std::string format;
  std::map<std::string, std::shared_ptr<const Node>, std::less<>> properties;
  std::shared_ptr<const Node> items, additional;
  std::vector<std::shared_ptr<const Node>> all_of;
  std::vector<std::vector<std::shared_ptr<const Node>>> any_of;  // anyOf / oneOf groups

  std::optional<std::string> check(const bj::value& v, const std::string& path) const {
    if (!format.empty()) {
      if (const auto* s = v.if_string()) {
        if (auto rule = check_format(format, *s)) {
          return (path.empty() ? std::string("value") : path) + ": " + *rule + " (format " +
                 format + ")";
        }
      }
    }
    if (const auto* o = v.if_object()) {
      for (const auto& [key, value] : *o) {
        auto it = properties.find(std::string_view(key));
        const Node* sub = it != properties.end() ? it->second.get() : additional.get();
        if (!sub) continue;
        std::string p = path.empty() ? std::string(key) : path + "." + std::string(key);
        if (auto e = sub->check(value, p)) return e;
      }
    }
    if (const auto* a = v.if_array(); a && items) {
      for (std::size_t i = 0; i < a->size(); ++i) {
        if (auto e = items->check((*a)[i], path + "[" + std::to_string(i) + "]")) return e;
      }
    }
    for (const auto& n : all_of) {
      if (auto e = n->check(v, path)) return e;
    }
    for (const auto& group : any_of) {
      std::optional<std::string> first;
      bool passed = false;
      for (const auto& n : group) {
        auto e = n ? n->check(v, path) : std::nullopt;
        if (!e) {
          passed = true;
          break;
        }
        if (!first) first = e;
      }
      if (!passed) return first;
    }
    return std::nullopt;
  }
};

struct FormatCompiler {
  using NodePtr = std::shared_ptr<const FormatChecker::Node>;
  const bj::object& root;

  const bj::object* resolve(std::string_view ref) const {
    // Local references only: "#/$defs/name" or "#/definitions/name".
    for (std::string_view prefix : {"#/$defs/", "#/definitions/"}) {
      if (ref.substr(0, prefix.size()) == prefix) {
        auto defs = root.find(prefix.substr(2, prefix.size() - 3));
        if (defs == root.end() || !defs->value().is_object()) return nullptr;
        auto it = defs->value().get_object().find(ref.substr(prefix.size()));
        return it != defs->value().get_object().end() && it->value().is_object()
                   ? &it->value().get_object()
                   : nullptr;
      }
    }
    return nullptr;
  }

  // nullptr when the subschema enforces no format anywhere.
  NodePtr compile(const bj::value& schema, int depth) const {
    const auto* o = schema.if_object();
    if (!o || depth > 32) return nullptr;  // recursive $refs end here
    auto n = std::make_shared<FormatChecker::Node>();
    bool any = false;
    if (auto it = o->find("format");
        it != o->end() && it->value().is_string() && is_enforced_format(it->value().get_string())) {
      n->format = std::string(it->value().get_string());
      any = true;
    }
    if (auto it = o->find("$ref"); it != o->end() && it->value().is_string()) {
      if (const auto* target = resolve(it->value().get_string())) {
        if (auto sub = compile(bj::value(*target), depth + 1)) {
          n->all_of.push_back(sub);
          any = true;
        }
      }
    }
    if (auto it = o->find("properties"); it != o->end() && it->value().is_object()) {
      for (const auto& [key, sub] : it->value().get_object()) {
        if (auto c = compile(sub, depth + 1)) {
          n->properties.emplace(std::string(key), c);
          any = true;
        }
      }
    }
    for (const char* key : {"items", "additionalProperties"}) {
      if (auto it = o->find(key); it != o->end()) {
        if (auto c = compile(it->value(), depth + 1)) {
          (std::string_view(key) == "items" ? n->items : n->additional) = c;
          any = true;
        }
      }
    }
    if (auto it = o->find("allOf"); it != o->end() && it->value().is_array()) {
      for (const auto& sub : it->value().get_array()) {
        if (auto c = compile(sub, depth + 1)) {
          n->all_of.push_back(c);
          any = true;
        }
      }
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (auto it = o->find(key); it != o->end() && it->value().is_array()) {
        std::vector<NodePtr> group;
        bool has = false;
        for (const auto& sub : it->value().get_array()) {
          auto c = compile(sub, depth + 1);
          has = has || c;
          group.push_back(c);
        }
        if (has) {
          n->any_of.push_back(std::move(group));
          any = true;
        }
      }
    }
    return any ? n : nullptr;
  }
};

FormatChecker FormatChecker::compile(const bj::object& schema) {
  FormatChecker f;
  f.root_ = FormatCompiler{schema}.compile(bj::value(schema), 0);
  return f;
}

bool FormatChecker::empty() const { return !root_; }

std::optional<std::string> FormatChecker::check(const bj::value& instance) const {
  if (!root_) return std::nullopt;
  return root_->check(instance, "");
}

}  // namespace idp::mcp

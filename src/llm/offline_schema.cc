// JSON Schema checks the offline planner needs to decide whether a value fits a parameter:
// type, enum, string length (in characters), pattern, the email/date/date-time/uri formats,
// number bounds, array items and sizes. Patterns run on std::regex (ECMAScript, what JSON Schema
// patterns are written in) with guards against backtracking blow-ups.
#include <algorithm>
#include <cmath>
#include <map>
#include <regex>

#include "idp/core/json_util.h"
#include "idp/llm/offline_planner.h"

namespace idp::llm::offline {
namespace {

namespace bj = boost::json;

constexpr std::size_t kMaxPatternLength = 512;
constexpr std::size_t kMaxPatternInput = 256;

}  // namespace

std::string schema_type(const bj::object& schema) {
  if (const auto* t = ::idp::json::find_string(schema, "type")) return std::string(*t);
  if (const auto* ts = ::idp::json::find_array(schema, "type")) {
    for (const auto& t : *ts) {
      if (t.is_string() && t.get_string() != "null") return std::string(t.get_string());
    }
  }
  if (schema.contains("enum") || schema.contains("pattern") || schema.contains("format")) {
    return "string";
  }
  return "";
}

std::string schema_format(const bj::object& schema) {
  const auto* f = ::idp::json::find_string(schema, "format");
  return f ? lowercase(*f) : std::string();
}

std::optional<double> number_value(const bj::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

namespace {

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool type_fits(const bj::value& v, std::string_view type) {
  if (type.empty()) return true;
  if (type == "string") return v.is_string();
  if (type == "number") return number_value(v).has_value();
  if (type == "integer") {
    auto n = number_value(v);
    return n && *n == std::trunc(*n);
  }
  if (type == "boolean") return v.is_bool();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  if (type == "null") return v.is_null();
  return true;
}

// A group with a quantifier inside that is itself repeated ("(a+)+", "(\\w*x)*") can make a
// backtracking matcher take exponential time; such patterns are not evaluated here.
bool risky_pattern(std::string_view p) {
  std::vector<bool> quantified;  // per open group: holds a quantifier
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '(') {
      quantified.push_back(false);
    } else if ((c == '+' || c == '*' || c == '{') && !quantified.empty()) {
      quantified.back() = true;
    } else if (c == ')' && !quantified.empty()) {
      bool inner = quantified.back();
      quantified.pop_back();
      bool repeated = i + 1 < p.size() && (p[i + 1] == '+' || p[i + 1] == '*' || p[i + 1] == '{');
      if (inner && repeated) return true;
      if (inner && !quantified.empty()) quantified.back() = true;
    }
  }
  return false;
}

// Patterns compiled once per thread (a planner turn checks the same few many times).
const std::regex* compiled(std::string_view pattern) {
  constexpr std::size_t kCacheSize = 64;
  thread_local std::map<std::string, std::optional<std::regex>, std::less<>> cache;
  if (auto it = cache.find(pattern); it != cache.end()) {
    return it->second ? &*it->second : nullptr;
  }
  if (cache.size() >= kCacheSize) cache.clear();
  std::optional<std::regex> re;
  try {
    re.emplace(std::string(pattern), std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    re.reset();  // a pattern std::regex cannot read (e.g. \p{L})
  }
  auto [it, inserted] = cache.emplace(std::string(pattern), std::move(re));
  return it->second ? &*it->second : nullptr;
}

// Whether a value fits a pattern. Patterns this matcher cannot read are left to the server
// (true); values too long for a backtracking matcher, and patterns that could take it
// exponential time, are not used for filling (false).
bool pattern_fits(std::string_view value, std::string_view pattern) {
  if (value.size() > kMaxPatternInput || pattern.size() > kMaxPatternLength ||
      risky_pattern(pattern)) {
    return false;
  }
  const std::regex* re = compiled(pattern);
  if (!re) return true;
  try {
    return std::regex_search(value.begin(), value.end(), *re);
  } catch (const std::regex_error&) {
    return false;  // the matcher gave up (complexity or stack)
  }
}

}  // namespace

bool fits_schema(const boost::json::value& value, const boost::json::object& schema) {
  if (const auto* types = ::idp::json::find_array(schema, "type")) {
    bool any = std::any_of(types->begin(), types->end(), [&](const bj::value& t) {
      return t.is_string() && type_fits(value, t.get_string());
    });
    if (!any) return false;
  } else if (const auto* type = ::idp::json::find_string(schema, "type")) {
    if (!type_fits(value, *type)) return false;
  }
  if (const auto* en = ::idp::json::find_array(schema, "enum")) {
    if (std::find(en->begin(), en->end(), value) == en->end()) return false;
  }
  if (const auto* s = value.if_string()) {
    std::size_t n = code_points(*s);
    if (auto min = ::idp::json::find_number(schema, "minLength"); min && n < *min) return false;
    if (auto max = ::idp::json::find_number(schema, "maxLength"); max && n > *max) return false;
    if (const auto* p = ::idp::json::find_string(schema, "pattern"); p && !pattern_fits(*s, *p)) {
      return false;
    }
    std::string format = schema_format(schema);
    if (format == "email" && !is_email_address(*s)) return false;
    if (format == "date" && !is_iso_date(*s)) return false;
    if (format == "date-time" && !(s->size() > 10 && is_iso_date(s->subview(0, 10)))) {
      return false;
    }
    if ((format == "uri" || format == "url") && s->find(':') == bj::string::npos) return false;
  }
  if (auto n = number_value(value)) {
    auto bound = [&](std::string_view key) { return ::idp::json::find_number(schema, key); };
    if (auto b = bound("minimum"); b && *n < *b) return false;
    if (auto b = bound("maximum"); b && *n > *b) return false;
    if (auto b = bound("exclusiveMinimum"); b && *n <= *b) return false;
    if (auto b = bound("exclusiveMaximum"); b && *n >= *b) return false;
  }
  if (const auto* arr = value.if_array()) {
    if (auto min = ::idp::json::find_number(schema, "minItems"); min && arr->size() < *min) {
      return false;
    }
    if (auto max = ::idp::json::find_number(schema, "maxItems"); max && arr->size() > *max) {
      return false;
    }
    if (const auto* items = ::idp::json::find_object(schema, "items")) {
      for (const auto& item : *arr) {
        if (!fits_schema(item, *items)) return false;
      }
    }
  }
  return true;
}

}  // namespace idp::llm::offline

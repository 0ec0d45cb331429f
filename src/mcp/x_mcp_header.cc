#include "x_mcp_header.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "idp/core/text.h"
#include "idp/http/message.h"

namespace idp::mcp::xheader {

namespace {

// Keywords whose values are data, not subschemas: an annotation inside them is not one.
bool is_data_keyword(std::string_view k) {
  return k == "enum" || k == "const" || k == "default" || k == "examples" || k == "required" ||
         k == "x-mcp-header";
}

class Scan {
 public:
  std::vector<ParamHeader> found;
  std::string problem;

  // `on_chain`: reachable from the root through "properties" alone.
  void schema(const json::object& o, bool on_chain, std::vector<std::string>& path) {
    if (!problem.empty()) return;
    if (auto it = o.find("x-mcp-header"); it != o.end()) annotation(o, it->value(), on_chain, path);
    for (const auto& [k, v] : o) {
      if (!problem.empty()) return;
      if (is_data_keyword(k)) continue;
      if (k == "properties" && v.is_object()) {
        for (const auto& [name, sub] : v.get_object()) {
          auto* so = sub.if_object();
          if (!so) continue;
          path.emplace_back(name);
          schema(*so, on_chain, path);
          path.pop_back();
        }
      } else {
        any(v);
      }
    }
  }

 private:
  // A subschema off the "properties" chain (items, anyOf, $defs, ...): annotations there are
  // errors, so it is still walked.
  void any(const json::value& v) {
    if (auto* o = v.if_object()) {
      std::vector<std::string> none;
      schema(*o, false, none);
    } else if (auto* a = v.if_array()) {
      for (const auto& e : *a) any(e);
    }
  }

  void annotation(const json::object& o, const json::value& value, bool on_chain,
                  const std::vector<std::string>& path) {
    std::string where = path.empty() ? "the schema root" : "property '" + path.back() + "'";
    if (!on_chain || path.empty()) {
      problem = "x-mcp-header on " + where +
                " is not reachable from the root through \"properties\" alone";
      return;
    }
    auto* name = value.if_string();
    if (!name || !is_http_token(*name)) {
      problem = "x-mcp-header of " + where + " must be a non-empty HTTP header token";
      return;
    }
    auto* type = ::idp::json::find_string(o, "type");
    if (!type || (*type != "string" && *type != "integer" && *type != "boolean")) {
      problem = "x-mcp-header of " + where +
                " needs \"type\" string, integer or boolean (numbers and structured values "
                "cannot be mirrored into a header)";
      return;
    }
    for (const auto& f : found) {
      if (http::iequals(f.name, *name)) {
        problem = "x-mcp-header '" + std::string(*name) + "' is used twice";
        return;
      }
    }
    found.push_back(ParamHeader{path, std::string(*name)});
  }
};

// Visible ASCII, space and tab: what a mirrored header may carry as it is.
bool plain_header_value(std::string_view v) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u != '\t' && (u < 0x20 || u > 0x7E)) return false;
  }
  return true;
}

// Standard base64, padded, nothing else (a sentinel with bad padding is an error, not text).
std::optional<std::string> strict_base64(std::string_view s) {
  if (s.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '=') {
      if (i + 2 < s.size()) return std::nullopt;
      ++pad;
      continue;
    }
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/';
    if (!alpha || pad > 0) return std::nullopt;
  }
  return base64_decode(s);
}

constexpr std::string_view kOpen = "=?base64?", kClose = "?=";

bool is_sentinel(std::string_view v) {
  return v.size() >= kOpen.size() + kClose.size() && v.starts_with(kOpen) && v.ends_with(kClose);
}

}  // namespace

Result<std::vector<ParamHeader>> scan(const json::object& input_schema) {
  Scan s;
  std::vector<std::string> root;
  s.schema(input_schema, true, root);
  if (!s.problem.empty()) return make_error(ErrorCode::kInvalidArgument, s.problem);
  return std::move(s.found);
}

const json::value* find_argument(const json::object* arguments,
                                 const std::vector<std::string>& path) {
  const json::value* v = nullptr;
  const json::object* at = arguments;
  for (const auto& key : path) {
    if (!at) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    v = &it->value();
    at = v->if_object();
  }
  return v;
}

std::string encode(std::string_view v) {
  bool plain = true;
  for (unsigned char c : v) plain = plain && c >= 0x20 && c <= 0x7E;
  if (plain && !v.empty() && (v.front() == ' ' || v.back() == ' ')) plain = false;
  if (plain && is_sentinel(v)) plain = false;
  if (plain) return std::string(v);
  return std::string(kOpen) + base64_encode(v) + std::string(kClose);
}

std::optional<std::string> param_value(const json::value& v) {
  if (v.is_string()) return encode(v.get_string());
  if (v.is_bool()) return std::string(v.get_bool() ? "true" : "false");
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) {
    double d = v.get_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740991.0) {
      return std::to_string(static_cast<std::int64_t>(d));
    }
  }
  return std::nullopt;
}

std::optional<std::string> decode(std::string_view v) {
  if (!plain_header_value(v)) return std::nullopt;
  if (is_sentinel(v)) {
    return strict_base64(v.substr(kOpen.size(), v.size() - kOpen.size() - kClose.size()));
  }
  return std::string(v);
}

bool mirrors(std::string_view text, const json::value& v) {
  if (auto* s = v.if_string()) return text == std::string_view(*s);
  if (v.is_bool()) return text == (v.get_bool() ? "true" : "false");
  if (v.is_number()) {
    double parsed = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    return ec == std::errc() && p == text.data() + text.size() && parsed == v.to_number<double>();
  }
  return false;
}

}  // namespace idp::mcp::xheader

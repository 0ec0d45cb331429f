#define VALIJSON_USE_EXCEPTIONS 1
#include "idp/mcp/schema.h"

#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "idp/core/json_util.h"
#include "idp/mcp/formats.h"

namespace idp::mcp {

namespace {

namespace bj = boost::json;

// A fast acceptance check for the shape most tool schemas have: an object whose properties have
// a primitive "type" (and perhaps bounds, lengths, a pattern or an enum), "required",
// "additionalProperties". It never rejects: when it cannot say "valid" the full validator
// decides (and explains), so it only has to be at least as strict as the full one. Its patterns
// are compiled once, here (valijson's own are cached per thread, see regex_cache()).
struct FastProperty {
  enum Type : unsigned { kString = 1, kNumber = 2, kInteger = 4, kBoolean = 8, kNull = 16 };
  unsigned types = 0;
  std::optional<double> minimum, maximum;
  std::optional<std::uint64_t> min_length, max_length;  // in code points, as valijson counts
  std::shared_ptr<const std::regex> pattern;           // regex_search, as valijson does
  std::optional<boost::json::array> enumeration;
};

// Code points of UTF-8 text: the bytes that do not continue a sequence.
std::uint64_t code_points(std::string_view s) {
  std::uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

struct FastSchema {
  std::vector<std::pair<std::string, FastProperty>> properties;
  std::vector<std::string> required;
  bool additional = true;

  bool accepts(const boost::json::value& instance) const {
    const auto* obj = instance.if_object();
    return obj && accepts(*obj);
  }

  bool accepts(const boost::json::object& object) const {
    const auto* obj = &object;
    for (const auto& name : required) {
      if (!obj->contains(name)) return false;
    }
    for (const auto& [key, value] : *obj) {
      const FastProperty* prop = nullptr;
      for (const auto& [n, p] : properties) {
        if (n == key) {
          prop = &p;
          break;
        }
      }
      if (!prop) {
        if (!additional) return false;
        continue;
      }
      if (!accepts(*prop, value)) return false;
    }
    return true;
  }

  static bool accepts(const FastProperty& p, const boost::json::value& v) {
    bool ok = false;
    double number = 0;
    if (v.is_string()) {
      ok = p.types & FastProperty::kString;
    } else if (v.is_int64() || v.is_uint64()) {
      ok = p.types & (FastProperty::kNumber | FastProperty::kInteger);
      number = v.is_int64() ? static_cast<double>(v.get_int64()) : static_cast<double>(v.get_uint64());
    } else if (v.is_double()) {
      ok = p.types & FastProperty::kNumber;
      number = v.get_double();
    } else if (v.is_bool()) {
      ok = p.types & FastProperty::kBoolean;
    } else if (v.is_null()) {
      ok = p.types & FastProperty::kNull;
    }
    if (!ok) return false;
    if (const auto* s = v.if_string()) {
      if (p.min_length || p.max_length) {
        const std::uint64_t n = code_points(*s);
        if (p.min_length && n < *p.min_length) return false;
        if (p.max_length && n > *p.max_length) return false;
      }
      if (p.pattern && !std::regex_search(s->begin(), s->end(), *p.pattern)) return false;
    }
    if (v.is_number()) {
      if (p.minimum && number < *p.minimum) return false;
      if (p.maximum && number > *p.maximum) return false;
    }
    if (p.enumeration) {
      bool found = false;
      for (const auto& e : *p.enumeration) found = found || e == v;
      if (!found) return false;
    }
    return true;
  }
};

bool is_annotation(std::string_view key) {
  return key == "description" || key == "title" || key == "default" || key == "examples" ||
         key == "$comment";
}

std::optional<FastProperty> fast_property(const boost::json::value& schema) {
  const auto* o = schema.if_object();
  if (!o) return std::nullopt;
  FastProperty p;
  for (const auto& [key, value] : *o) {
    if (is_annotation(key)) continue;
    if (key == "type") {
      auto add = [&](const boost::json::value& t) {
        if (!t.is_string()) return false;
        std::string_view n = t.get_string();
        if (n == "string") p.types |= FastProperty::kString;
        else if (n == "number") p.types |= FastProperty::kNumber;
        else if (n == "integer") p.types |= FastProperty::kInteger;
        else if (n == "boolean") p.types |= FastProperty::kBoolean;
        else if (n == "null") p.types |= FastProperty::kNull;
        else return false;
        return true;
      };
      if (const auto* a = value.if_array()) {
        for (const auto& t : *a) {
          if (!add(t)) return std::nullopt;
        }
      } else if (!add(value)) {
        return std::nullopt;
      }
    } else if ((key == "minimum" || key == "maximum") && value.is_number()) {
      (key == "minimum" ? p.minimum : p.maximum) = value.to_number<double>();
    } else if ((key == "minLength" || key == "maxLength") && (value.is_uint64() ||
                                                               (value.is_int64() && value.get_int64() >= 0))) {
      (key == "minLength" ? p.min_length : p.max_length) = value.to_number<std::uint64_t>();
    } else if (key == "pattern" && value.is_string()) {
      try {
        p.pattern = std::make_shared<const std::regex>(std::string(value.get_string()));
      } catch (const std::regex_error&) {
        return std::nullopt;
      }
    } else if (key == "format" && value.is_string() && value.get_string() != "time") {
      // Enforced formats are FormatChecker's (run after this check); others annotate only.
      // "time" stays valijson's.
    } else if (key == "enum" && value.is_array()) {
      p.enumeration = value.get_array();
    } else {
      return std::nullopt;  // anything else: leave it to the full validator
    }
  }
  if (p.types == 0) return std::nullopt;
  return p;
}

std::optional<FastSchema> fast_schema(const boost::json::object& schema) {
  FastSchema f;
  bool is_object = false;
  for (const auto& [key, value] : schema) {
    if (is_annotation(key) || key == "$schema") continue;
    if (key == "type" && value.is_string() && value.get_string() == "object") {
      is_object = true;
    } else if (key == "properties" && value.is_object()) {
      for (const auto& [name, sub] : value.get_object()) {
        auto prop = fast_property(sub);
        if (!prop) return std::nullopt;
        f.properties.emplace_back(std::string(name), std::move(*prop));
      }
    } else if (key == "required" && value.is_array()) {
      for (const auto& r : value.get_array()) {
        if (!r.is_string()) return std::nullopt;
        f.required.emplace_back(r.get_string());
      }
    } else if (key == "additionalProperties" && value.is_bool()) {
      f.additional = value.get_bool();
    } else {
      return std::nullopt;
    }
  }
  if (!is_object) return std::nullopt;
  return f;
}

// valijson follows "$ref" by recursion: a reference that leads back to itself through nothing but
// other references ({"$ref":"#"}, a -> b -> a) or one that is not local ({"$ref":"x"}, which it
// resolves against this very document) overflows the stack (found by fuzz-jsonrpc). We fetch no
// remote schema anyway. Returns what is wrong, or "" when every $ref is a local JSON pointer whose
// chain of references ends.
std::string check_refs(const boost::json::value& root, const boost::json::value& v) {
  if (const auto* a = v.if_array()) {
    for (const auto& e : *a) {
      if (auto bad = check_refs(root, e); !bad.empty()) return bad;
    }
    return {};
  }
  const auto* o = v.if_object();
  if (!o) return {};
  if (const auto* ref = ::idp::json::find_string(*o, "$ref")) {
    std::vector<std::string_view> seen;
    std::string_view cur = *ref;
    for (;;) {
      if (!cur.starts_with('#')) {
        return "$ref '" + std::string(cur.substr(0, 80)) +
               "' is not a local reference ('#' or '#/json/pointer'; remote schemas are not fetched)";
      }
      if (std::find(seen.begin(), seen.end(), cur) != seen.end()) {
        return "$ref '" + std::string(cur.substr(0, 80)) + "' refers back to itself";
      }
      seen.push_back(cur);
      boost::system::error_code ec;
      const boost::json::value* target = root.find_pointer(cur.substr(1), ec);
      const auto* next = target && target->is_object()
                             ? ::idp::json::find_string(target->get_object(), "$ref")
                             : nullptr;
      if (!next) break;
      cur = *next;
    }
  }
  for (const auto& [key, value] : *o) {
    if (auto bad = check_refs(root, value); !bad.empty()) return bad;
  }
  return {};
}

// Removes the formats FormatChecker enforces from valijson's copy of the schema, where the
// checker enforces them on their own: the schema itself and, from there, "properties", "items",
// "additionalProperties" and "allOf" (places where every subschema must hold). valijson would
// check date and date-time again (without leap years, with a std::regex built per call). Under
// anyOf, oneOf, not, if/then/else and $defs they stay: there the checker's verdict is not the
// subschema's.
void strip_enforced_formats(bj::value& schema, int depth) {
  auto* o = schema.if_object();
  if (!o || depth > 64) return;
  if (auto it = o->find("format");
      it != o->end() && it->value().is_string() && is_enforced_format(it->value().get_string())) {
    o->erase(it);
  }
  if (auto it = o->find("properties"); it != o->end() && it->value().is_object()) {
    for (auto& kv : it->value().get_object()) strip_enforced_formats(kv.value(), depth + 1);
  }
  for (const char* key : {"items", "additionalProperties"}) {
    if (auto it = o->find(key); it != o->end()) strip_enforced_formats(it->value(), depth + 1);
  }
  if (auto it = o->find("allOf"); it != o->end() && it->value().is_array()) {
    for (auto& sub : it->value().get_array()) strip_enforced_formats(sub, depth + 1);
  }
}

// valijson's compiled "pattern"s, per thread and shared by all schemas (the key is the pattern):
// a valijson::Validator keeps its cache only for its own life. Bounded, since a client validates
// result schemas that servers choose.
std::unordered_map<std::string, std::regex>& regex_cache() {
  thread_local std::unordered_map<std::string, std::regex> cache;
  if (cache.size() > 512) cache.clear();
  return cache;
}

bool valijson_accepts(const valijson::Schema& schema,
                      const valijson::adapters::BoostJsonAdapter& target,
                      valijson::ValidationResults* results) {
  valijson::ValidationVisitor<valijson::adapters::BoostJsonAdapter> visitor(
      target, std::vector<std::string>(1, "<root>"), true, results, regex_cache());
  return visitor.validateSchema(schema);
}

}  // namespace

struct SchemaValidator::Compiled {
  boost::json::value document;  // keeps the adapter's source alive for $ref resolution
  valijson::Schema schema;
  std::optional<FastSchema> fast;
  FormatChecker formats;
};

Result<SchemaValidator> SchemaValidator::compile(const boost::json::object& schema) {
  auto compiled = std::make_shared<Compiled>();
  compiled->document = schema;
  if (auto bad = check_refs(compiled->document, compiled->document); !bad.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "invalid JSON Schema: " + bad);
  }
  strip_enforced_formats(compiled->document, 0);
  compiled->formats = FormatChecker::compile(schema);
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::BoostJsonAdapter adapter(compiled->document);
    parser.populateSchema(adapter, compiled->schema);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, std::string("invalid JSON Schema: ") + e.what());
  }
  compiled->fast = fast_schema(schema);
  SchemaValidator v;
  v.compiled_ = std::move(compiled);
  return v;
}

namespace {

// valijson's context is {"<root>", "[name]", "[0]", ...}; we print "name[0].city".
std::string path_of(const std::vector<std::string>& context) {
  std::string out;
  for (std::size_t i = 1; i < context.size(); ++i) {
    const std::string& c = context[i];
    if (c.size() >= 2 && c.front() == '[' && c.back() == ']') {
      std::string inner = c.substr(1, c.size() - 2);
      bool numeric = !inner.empty() && std::all_of(inner.begin(), inner.end(), ::isdigit);
      if (numeric) {
        out += c;
      } else {
        if (!out.empty()) out += '.';
        out += inner;
      }
    } else {
      if (!out.empty()) out += '.';
      out += c;
    }
  }
  return out;
}

const boost::json::value* at_path(const boost::json::value& root,
                                  const std::vector<std::string>& context) {
  const boost::json::value* cur = &root;
  for (std::size_t i = 1; i < context.size() && cur; ++i) {
    const std::string& c = context[i];
    if (c.size() < 2 || c.front() != '[') return nullptr;
    std::string inner = c.substr(1, c.size() - 2);
    if (auto* o = cur->if_object()) {
      auto it = o->find(inner);
      cur = it == o->end() ? nullptr : &it->value();
    } else if (auto* a = cur->if_array()) {
      char* end = nullptr;
      unsigned long idx = std::strtoul(inner.c_str(), &end, 10);
      cur = (end && *end == '\0' && idx < a->size()) ? &(*a)[idx] : nullptr;
    } else {
      return nullptr;
    }
  }
  return cur;
}

// valijson's Boost.JSON adapter counts only int64 values as integers, so a uint64 (what a
// std::size_t becomes) would fail "type": "integer". Such values up to INT64_MAX are made int64
// for the check; larger ones stay what they are (numbers).
bool has_int64_sized_uint64(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::uint64:
      return v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX);
    case boost::json::kind::array:
      for (const auto& item : v.get_array()) {
        if (has_int64_sized_uint64(item)) return true;
      }
      return false;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (has_int64_sized_uint64(kv.value())) return true;
      }
      return false;
    default:
      return false;
  }
}

void uint64_to_int64(boost::json::value& v) {
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    v = static_cast<std::int64_t>(v.get_uint64());
  } else if (auto* a = v.if_array()) {
    for (auto& item : *a) uint64_to_int64(item);
  } else if (auto* o = v.if_object()) {
    for (auto& kv : *o) uint64_to_int64(kv.value());
  }
}

}  // namespace

std::optional<std::string> SchemaValidator::validate(const boost::json::value& instance) const {
  auto v = check(instance);
  if (!v) return std::nullopt;
  return std::move(v->message);
}

std::optional<std::string> SchemaValidator::validate(const boost::json::object& instance) const {
  const Compiled& c = *compiled_;
  if (c.fast && c.formats.empty() && c.fast->accepts(instance)) return std::nullopt;
  return validate(boost::json::value(instance));  // the full path needs a value
}

std::optional<SchemaViolation> SchemaValidator::check(const boost::json::value& instance) const {
  const Compiled& c = *compiled_;
  if (c.fast && c.fast->accepts(instance)) {
    if (auto bad = c.formats.check(instance)) return SchemaViolation{std::move(*bad), true};
    return std::nullopt;
  }
  if (has_int64_sized_uint64(instance)) {
    boost::json::value same = instance;
    uint64_to_int64(same);
    return check(same);
  }
  valijson::adapters::BoostJsonAdapter target(instance);
  if (valijson_accepts(c.schema, target, nullptr)) {
    if (auto bad = c.formats.check(instance)) return SchemaViolation{std::move(*bad), true};
    return std::nullopt;
  }
  valijson::ValidationResults results;
  valijson_accepts(c.schema, target, &results);
  std::vector<valijson::ValidationResults::Error> errors;
  valijson::ValidationResults::Error e;
  while (results.popError(e)) errors.push_back(e);
  // Keep the most specific errors: drop one whose path is a prefix of another's.
  std::vector<std::string> parts;
  for (const auto& err : errors) {
    bool has_deeper = std::any_of(errors.begin(), errors.end(), [&](const auto& other) {
      return other.context.size() > err.context.size() &&
             std::equal(err.context.begin(), err.context.end(), other.context.begin());
    });
    if (has_deeper) continue;
    std::string path = path_of(err.context);
    std::string text = err.description;
    if (text.find("'type' constraint") != std::string::npos) {
      if (const auto* v = at_path(instance, err.context)) {
        text = std::string("wrong type (got ") + ::idp::json::kind_name(*v) + ")";
      }
    }
    if (!text.empty() && text.back() == '.') text.pop_back();
    std::string line = path.empty() ? text : path + ": " + text;
    if (std::find(parts.begin(), parts.end(), line) == parts.end()) parts.push_back(line);
    if (parts.size() >= 5) break;
  }
  if (parts.empty()) return SchemaViolation{"arguments do not match the input schema", false};
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += "; ";
    out += p;
  }
  return SchemaViolation{std::move(out), false};
}

}  // namespace idp::mcp

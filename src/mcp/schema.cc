#define VALIJSON_USE_EXCEPTIONS 1
#include "idp/mcp/schema.h"

#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>

#include "idp/core/json_util.h"

namespace idp::mcp {

struct SchemaValidator::Compiled {
  boost::json::value document;  // keeps the adapter's source alive for $ref resolution
  valijson::Schema schema;
};

Result<SchemaValidator> SchemaValidator::compile(const boost::json::object& schema) {
  auto compiled = std::make_shared<Compiled>();
  compiled->document = schema;
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::BoostJsonAdapter adapter(compiled->document);
    parser.populateSchema(adapter, compiled->schema);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, std::string("invalid JSON Schema: ") + e.what());
  }
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

}  // namespace

std::optional<std::string> SchemaValidator::validate(const boost::json::value& instance) const {
  valijson::adapters::BoostJsonAdapter target(instance);
  {
    valijson::Validator fast;
    if (fast.validate(compiled_->schema, target, nullptr)) return std::nullopt;
  }
  valijson::Validator validator;
  valijson::ValidationResults results;
  validator.validate(compiled_->schema, target, &results);
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
  if (parts.empty()) return std::string("arguments do not match the input schema");
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += "; ";
    out += p;
  }
  return out;
}

}  // namespace idp::mcp

// JSON Schema "format" checks for tool arguments: email, uri, date-time, date, uuid and ipv4 are
// enforced (the JSON Schema specification leaves "format" to implementations; an MCP server
// should not let a malformed e-mail address or date reach its code). FormatChecker collects the
// "format" keywords of a schema once (through properties, items, additionalProperties, allOf,
// anyOf, oneOf and local "$ref"s to "$defs"/"definitions") and checks an instance against them;
// a failure names the field and the rule: "email: not a valid e-mail address (format email)".
// Unknown formats are annotations and accept anything. SchemaValidator (schema.h) runs it for
// every schema it compiles. Immutable after compile(); check() is thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace idp::mcp {

// True when `format` is one this checker enforces.
bool is_enforced_format(std::string_view format);
// nullopt when `value` satisfies `format` (or the format is not enforced); otherwise the rule
// it breaks ("not a valid e-mail address").
std::optional<std::string> check_format(std::string_view format, std::string_view value);

class FormatChecker {
 public:
  static FormatChecker compile(const boost::json::object& schema);
  // True when the schema has no enforced format anywhere (check() always passes).
  bool empty() const;
  // nullopt, or "<path>: <rule> (format <name>)" for the first failing string.
  std::optional<std::string> check(const boost::json::value& instance) const;

 private:
  friend struct FormatCompiler;
  struct Node;
  std::shared_ptr<const Node> root_;
};

}  // namespace idp::mcp

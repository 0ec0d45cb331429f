// A compiled JSON Schema (draft 7 vocabulary, which covers what MCP tool schemas use, including
// "$defs" references and 2020-12 "$schema" declarations), used to validate tool arguments and
// structured results. Compile once at registration; validate from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>

#include "idp/core/error.h"

namespace idp::mcp {

class SchemaValidator {
 public:
  // Fails with a message naming the problem when the schema cannot be compiled.
  static Result<SchemaValidator> compile(const boost::json::object& schema);

  // nullopt when `instance` conforms; otherwise a message naming the fields, e.g.
  // "a: expected type number, got string; missing required property 'b'".
  std::optional<std::string> validate(const boost::json::value& instance) const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace idp::mcp

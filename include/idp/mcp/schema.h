// A compiled JSON Schema (draft 7 vocabulary, which covers what MCP tool schemas use, including
// "$defs" references and 2020-12 "$schema" declarations), used to validate tool arguments and
// structured results. The "format"s of formats.h (email, uri, date-time, date, uuid, ipv4) are
// enforced too, so every tool of a Server gets them. Compile once at registration (patterns are
// compiled then, or once per thread); validate from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>

#include "idp/core/error.h"

namespace idp::mcp {

struct SchemaViolation {
  std::string message;  // as validate() returns it
  bool format = false;  // a "format" rule failed (the rest of the schema held)
};

class SchemaValidator {
 public:
  // Fails with a message naming the problem when the schema cannot be compiled.
  static Result<SchemaValidator> compile(const boost::json::object& schema);

  // nullopt when `instance` conforms; otherwise a message naming the fields, e.g.
  // "a: expected type number, got string; missing required property 'b'".
  // A failing "format" reads "email: not a valid e-mail address (format email)".
  std::optional<std::string> validate(const boost::json::value& instance) const;
  // The same for an object (a structured result), without copying it when it conforms.
  std::optional<std::string> validate(const boost::json::object& instance) const;
  // validate(), saying also which kind of rule failed.
  std::optional<SchemaViolation> check(const boost::json::value& instance) const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace idp::mcp

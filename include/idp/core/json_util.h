// Small helpers over Boost.JSON used by every module: parsing with a position in the error,
// typed member access that reports what was expected, and compact serialization.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "idp/core/error.h"

namespace idp::json {

namespace bj = boost::json;

struct ParseLimits {
  std::size_t max_depth = 64;
};

// Parses one JSON text. The error names the byte offset and the reason:
// "invalid JSON at byte 17: syntax error".
Result<bj::value> parse(std::string_view text, ParseLimits limits = {});
// The same, allocating from `storage` (e.g. a per-request arena).
Result<bj::value> parse(std::string_view text, ParseLimits limits, bj::storage_ptr storage);

std::string serialize(const bj::value& v);

// Typed lookups; nullptr / nullopt when absent or of another type.
const bj::string* find_string(const bj::object& o, std::string_view key);
const bj::object* find_object(const bj::object& o, std::string_view key);
const bj::array* find_array(const bj::object& o, std::string_view key);
std::optional<double> find_number(const bj::object& o, std::string_view key);
std::optional<bool> find_bool(const bj::object& o, std::string_view key);

// "string", "number", "object", ... for error messages.
const char* kind_name(const bj::value& v);

}  // namespace idp::json

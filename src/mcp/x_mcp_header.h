// Private: the x-mcp-header annotations of the 2026-07-28 revision (SEP-2243), written once for
// the client and the server. A tool parameter annotated {"x-mcp-header": "Region"} is mirrored
// into the HTTP header Mcp-Param-Region of every tools/call, so that proxies can route on it
// without parsing the body. This module finds the annotations of an inputSchema (or says why the
// tool is invalid), encodes a value for a header (client) and decodes and compares it (server).
// Pure functions; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/error.h"

namespace idp::mcp::xheader {

namespace json = boost::json;

// One annotated parameter: Mcp-Param-<name> mirrors the argument at `path`.
struct ParamHeader {
  std::vector<std::string> path;  // the "properties" chain from the schema root
  std::string name;               // the annotation's value
};

// The annotations of an inputSchema in schema order, or why they make the tool invalid: an
// annotation that is not reachable from the root through "properties" alone, a value that is not
// a non-empty HTTP token, a parameter whose "type" is not string, integer or boolean, or a name
// used twice (case-insensitively). The error's message names the property.
Result<std::vector<ParamHeader>> scan(const json::object& input_schema);

// The argument at `path` below `arguments`; nullptr when absent (or `arguments` is null).
const json::value* find_argument(const json::object* arguments,
                                 const std::vector<std::string>& path);

// A value as a header carries it: as it is when it is visible ASCII and spaces without leading
// or trailing whitespace, else "=?base64?<UTF-8 as base64>?=" (also for a plain value that
// looks like that sentinel).
std::string encode(std::string_view value);
// The Mcp-Param-* value of an argument: strings encoded, integers in decimal (also integral
// doubles up to 2^53), booleans as true/false; nullopt for anything else (null, objects, ...).
std::optional<std::string> param_value(const json::value& v);

// The text a mirrored header (Mcp-Name, Mcp-Param-*) stands for: the sentinel decoded (strict
// padded base64), anything else as it is; nullopt when the value has characters a header may
// not carry or the sentinel is malformed.
std::optional<std::string> decode(std::string_view header_value);
// Whether a decoded header text mirrors the body value (numbers compare as numbers).
bool mirrors(std::string_view text, const json::value& v);

}  // namespace idp::mcp::xheader

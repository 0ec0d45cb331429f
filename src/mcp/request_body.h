// The body of a POST to the MCP endpoint, parsed for the hot path.
//
// The JSON-RPC message goes into the request's arena as a DOM, with two differences from
// idp::json::parse:
// - params._meta, when it holds only the envelope a client repeats on every request (2026-07-28:
//   protocol version, client capabilities, client info, log level), is not built into the
//   message: it is parsed once per thread and shared, and each later request that carries the
//   same envelope gets that immutable object (`shared_meta`) without building a DOM for it.
//   Any other key in _meta (progressToken, a task's fields, an extension's) leaves _meta in the
//   message as before. Equality is on the parsed content (keys, strings, numbers in order),
//   compared in full, never by a hash alone.
// - A number out of double range (1e999) is refused while parsing, not by a second walk.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <memory>
#include <string_view>

#include "idp/core/error.h"

namespace idp::mcp {

struct RequestBody {
  boost::json::value doc;  // the message; its params lack _meta when shared_meta is set
  std::shared_ptr<const boost::json::object> shared_meta;  // params._meta when shared
};

// Parses `body` into `storage`. Errors read as idp::json::parse's ("invalid JSON at byte 17:
// syntax error"). `max_depth` bounds nesting as ParseLimits does.
Result<RequestBody> parse_request_body(std::string_view body, boost::json::storage_ptr storage,
                                       std::size_t max_depth = 64);

}  // namespace idp::mcp

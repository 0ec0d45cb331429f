#include "idp/core/json_util.h"

#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

namespace idp::json {

Result<bj::value> parse(std::string_view text, ParseLimits limits) {
  return parse(text, limits, bj::storage_ptr());
}

Result<bj::value> parse(std::string_view text, ParseLimits limits, bj::storage_ptr storage) {
  bj::parse_options opt;
  opt.max_depth = limits.max_depth;
  // The parser's temporary stack stays in a small local buffer.
  unsigned char temp[1024];
  bj::stream_parser p(bj::storage_ptr(), opt, temp);
  p.reset(std::move(storage));
  boost::system::error_code ec;
  std::size_t n = p.write_some(text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = bj::error::extra_data;
  if (!ec) p.finish(ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid JSON at byte " + std::to_string(n) + ": " + ec.message());
  }
  return p.release();
}

std::string serialize(const bj::value& v) { return bj::serialize(v); }

const bj::string* find_string(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() ? it->value().if_string() : nullptr;
}

const bj::object* find_object(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() ? it->value().if_object() : nullptr;
}

const bj::array* find_array(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() ? it->value().if_array() : nullptr;
}

std::optional<double> find_number(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  const bj::value& v = it->value();
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

std::optional<bool> find_bool(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_bool()) return std::nullopt;
  return it->value().get_bool();
}

const char* kind_name(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null: return "null";
    case bj::kind::bool_: return "boolean";
    case bj::kind::int64:
    case bj::kind::uint64:
    case bj::kind::double_: return "number";
    case bj::kind::string: return "string";
    case bj::kind::array: return "array";
    case bj::kind::object: return "object";
  }
  return "unknown";
}

}  // namespace idp::json

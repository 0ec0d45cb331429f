#include "idp/core/json_util.h"

#include <cmath>

#include <boost/json/parse_options.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

namespace idp::json {

Result<bj::value> parse(std::string_view text, ParseLimits limits) {
  return parse(text, limits, bj::storage_ptr());
}

namespace {

// Boost.JSON reads a number beyond the double range (1e999) as infinity and writes that back as
// "Infinity", which is not JSON: such a value would make whatever we forward or store
// unreadable (found by fuzz-jsonrpc). The depth is bounded by the parser's max_depth.
bool all_finite(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::double_:
      return std::isfinite(v.get_double());
    case bj::kind::array:
      for (const auto& e : v.get_array()) {
        if (!all_finite(e)) return false;
      }
      return true;
    case bj::kind::object:
      for (const auto& m : v.get_object()) {
        if (!all_finite(m.value())) return false;
      }
      return true;
    default:
      return true;
  }
}

}  // namespace

Result<bj::value> parse(std::string_view text, ParseLimits limits, bj::storage_ptr storage) {
  bj::parse_options opt;
  opt.max_depth = limits.max_depth;
  // The parser's temporary stack stays in a small local buffer. The text is whole: a
  // bj::parser (not a stream_parser, which suspends at the end of its input awaiting more and
  // allocates a stack for that) reads it in one go.
  unsigned char temp[1024];
  bj::parser p(bj::storage_ptr(), opt, temp);
  p.reset(std::move(storage));
  boost::system::error_code ec;
  std::size_t n = p.write_some(text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = bj::error::extra_data;
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid JSON at byte " + std::to_string(n) + ": " + ec.message());
  }
  bj::value v = p.release();
  if (!all_finite(v)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid JSON: a number is out of range (beyond about 1.8e308)");
  }
  return v;
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
    case bj::kind::null:
      return "null";
    case bj::kind::bool_:
      return "boolean";
    case bj::kind::int64:
    case bj::kind::uint64:
    case bj::kind::double_:
      return "number";
    case bj::kind::string:
      return "string";
    case bj::kind::array:
      return "array";
    case bj::kind::object:
      return "object";
  }
  return "unknown";
}

}  // namespace idp::json

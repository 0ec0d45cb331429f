// Private: the parsed message behind idp::http::Request.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory_resource>
#include <string>

namespace idp::http {

// Header fields live in a per-request arena (one allocation-free block for typical requests).
using Fields = boost::beast::http::basic_fields<std::pmr::polymorphic_allocator<char>>;

struct RequestImpl {
  boost::beast::http::request<boost::beast::http::string_body, Fields> message;
  std::string remote_address;
  std::string trace_id;
  bool tls = false;
};

}  // namespace idp::http

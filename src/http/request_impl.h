// Private: the parsed message behind idp::http::Request.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace idp::http {

struct RequestImpl {
  boost::beast::http::request<boost::beast::http::string_body> message;
  std::string remote_address;
  std::string trace_id;
  bool tls = false;
};

}  // namespace idp::http

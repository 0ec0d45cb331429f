// The HTTP server's wire details (server_conn.h): an answer's header block, the checks of a
// handler's fields, and the answers to requests that could not be read.
#include "server_conn.h"

#include <charconv>

namespace idp::http::server_detail {

bool is_benign(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::operation_aborted || ec == beast::error::timeout ||
         ec == net::error::connection_reset || ec == net::error::bad_descriptor ||
         ec == net::ssl::error::stream_truncated || ec == net::error::broken_pipe;
}

bool plain_field(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!kTchar[static_cast<unsigned char>(c)]) return false;
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool format_head(const Response& r, unsigned version, bool keep_alive, std::string& out) {
  const int status = r.status;
  if (status < 100 || status > 999) return false;
  if ((status < 200 || status == 204 || status == 304) && !r.body.empty()) return false;
  out.clear();
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10 % 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
  out += ' ';
  char num[24];
  auto end = std::to_chars(num, num + sizeof num, status).ptr;
  out.append(num, end);
  out += ' ';
  out += bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  out += "\r\n";
  for (const auto& [k, v] : r.headers.items()) {
    if (!plain_field(k, v) || iequals(k, "Content-Length") || iequals(k, "Transfer-Encoding") ||
        iequals(k, "Connection")) {
      return false;
    }
    out.append(k).append(": ", 2).append(v).append("\r\n", 2);
  }
  out += "Content-Length: ";
  end = std::to_chars(num, num + sizeof num, r.body.size()).ptr;
  out.append(num, end);
  out += "\r\n";
  if (version >= 11 && !keep_alive) out += "Connection: close\r\n";
  if (version < 11 && keep_alive) out += "Connection: keep-alive\r\n";
  out += "\r\n";
  return true;
}

std::pair<int, std::string> read_error_reply(const beast::error_code& ec,
                                             const ServerOptions& opt) {
  if (ec == bhttp::error::header_limit) {
    return {431, "request header fields exceed " + std::to_string(opt.max_header_bytes) + " bytes"};
  }
  if (ec == bhttp::error::body_limit) {
    return {413,
            "request body exceeds the limit of " + std::to_string(opt.max_body_bytes) + " bytes"};
  }
  if (!is_benign(ec)) return {400, "malformed HTTP request: " + ec.message()};
  return {0, {}};
}

bhttp::response<bhttp::string_body> plain_error(int status, const std::string& text) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.keep_alive(false);
  res.body() = std::string(text) + "\n";
  res.prepare_payload();
  return res;
}

}  // namespace idp::http::server_detail

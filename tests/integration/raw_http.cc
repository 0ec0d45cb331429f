#include "raw_http.h"

#include <sys/socket.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <optional>
#include <stdexcept>

namespace idp::test {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

std::string RawResponse::header(const std::string& name) const {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(lower);
  return it == headers.end() ? std::string() : it->second;
}

struct RawConnection::Impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
  boost::beast::flat_buffer buffer;
  std::uint16_t port;
  std::chrono::milliseconds timeout;
  // The response being streamed by read_until(), kept across calls.
  std::optional<bhttp::response_parser<bhttp::string_body>> streaming;
};

RawConnection::RawConnection(std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->timeout = timeout;
  impl_->socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

RawConnection::~RawConnection() = default;

void RawConnection::send(const std::string& method, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body) {
  std::string req = method + " " + target + " HTTP/1.1\r\n";
  bool has_host = false;
  for (const auto& [k, v] : headers) {
    if (k == "Host" || k == "host") has_host = true;
  }
  if (!has_host) req += "Host: 127.0.0.1:" + std::to_string(impl_->port) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  send_raw(req);
}

void RawConnection::send_raw(const std::string& bytes) {
  net::write(impl_->socket, net::buffer(bytes));
}

namespace {
RawResponse convert(bhttp::response_parser<bhttp::string_body>& p) {
  RawResponse r;
  const auto& msg = p.get();
  r.status = static_cast<int>(msg.result_int());
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  r.body = msg.body();
  return r;
}
}  // namespace

RawResponse RawConnection::read() {
  bhttp::response_parser<bhttp::string_body> p;
  p.body_limit(64 * 1024 * 1024);
  boost::system::error_code ec;
  bhttp::read(impl_->socket, impl_->buffer, p, ec);
  if (ec && !p.is_header_done()) throw std::runtime_error("read failed: " + ec.message());
  return convert(p);
}

RawResponse RawConnection::read_until(const std::string& needle) {
  return read_until_found(
      [&](const std::string& body) { return body.find(needle) != std::string::npos; });
}

RawResponse RawConnection::read_event(const std::string& needle) {
  return read_until_found([&](const std::string& body) {
    auto at = body.find(needle);
    return at != std::string::npos && body.find("\n\n", at) != std::string::npos;
  });
}

RawResponse RawConnection::read_until_found(const std::function<bool(const std::string&)>& found) {
  boost::system::error_code ec;
  if (!impl_->streaming) {
    impl_->streaming.emplace();
    impl_->streaming->body_limit(64 * 1024 * 1024);
    bhttp::read_header(impl_->socket, impl_->buffer, *impl_->streaming, ec);
    if (ec) throw std::runtime_error("read_header failed: " + ec.message());
  }
  auto& p = *impl_->streaming;
  auto deadline = std::chrono::steady_clock::now() + impl_->timeout;
  while (!p.is_done() && !found(p.get().body()) && std::chrono::steady_clock::now() < deadline) {
    bhttp::read_some(impl_->socket, impl_->buffer, p, ec);
    if (ec) break;
  }
  return convert(p);
}

bool RawConnection::closed_by_peer() {
  char c;
  boost::system::error_code ec;
  impl_->socket.read_some(net::buffer(&c, 1), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

void RawConnection::close() {
  boost::system::error_code ec;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ec);
  impl_->socket.close(ec);
}

RawResponse request(std::uint16_t port, const std::string& method, const std::string& target,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    const std::string& body) {
  RawConnection c(port);
  c.send(method, target, headers, body);
  return c.read();
}

namespace {
template <class F>
void each_event(const std::string& body, F f) {
  std::string data, id;
  bool has_data = false;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto nl = body.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string line = body.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      f(data, id, has_data);
      data.clear();
      has_data = false;
      continue;
    }
    if (line.rfind("data:", 0) == 0) {
      std::string v = line.substr(5);
      if (!v.empty() && v[0] == ' ') v.erase(0, 1);
      if (has_data) data += "\n";
      data += v;
      has_data = true;
    } else if (line.rfind("id:", 0) == 0) {
      id = line.substr(3);
      if (!id.empty() && id[0] == ' ') id.erase(0, 1);
    }
  }
}
}  // namespace

std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  each_event(body, [&](const std::string& d, const std::string&, bool has) {
    if (has && !d.empty()) out.push_back(d);
  });
  return out;
}

std::vector<std::string> sse_ids(const std::string& body) {
  std::vector<std::string> out;
  each_event(body, [&](const std::string&, const std::string& id, bool) { out.push_back(id); });
  return out;
}

}  // namespace idp::test

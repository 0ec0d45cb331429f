// Test helpers for idp::auth::LocalCognito (local_cognito_test.cc, local_cognito_oauth_test.cc,
// bearer_auth_test.cc, bearer_tool_scopes_test.cc): one provider in one server on 127.0.0.1 and
// its answers, and an admin call straight into a provider.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <initializer_list>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "idp/auth/local_cognito.h"
#include "idp/core/clock.h"
#include "idp/core/random.h"
#include "idp/http/server.h"
#include "raw_http.h"

namespace idp::auth {

namespace bj = boost::json;

// An answer: status, the JSON body (empty when not an object) and the raw body.
struct Call {
  int status = 0;
  bj::object body;
  std::string raw;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string type() const {
    auto* t = body.if_contains("__type");
    return t && t->is_string() ? std::string(t->as_string()) : std::string();
  }
  std::string message() const {
    auto* t = body.if_contains("message");
    return t && t->is_string() ? std::string(t->as_string()) : std::string();
  }
  std::string str(std::initializer_list<std::string_view> path) const {
    const bj::value* v = nullptr;
    const bj::object* o = &body;
    for (auto k : path) {
      if (!o) return {};
      v = o->if_contains(k);
      if (!v) return {};
      o = v->if_object();
    }
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  }
};

// The JSON of a JWT's part `index` (0 header, 1 payload), not verified.
inline bj::object json_part(const std::string& jwt, int index) {
  std::size_t start = 0;
  for (int i = 0; i < index; ++i) start = jwt.find('.', start) + 1;
  std::size_t end = jwt.find('.', start);
  auto text = base64_decode(jwt.substr(start, end == std::string::npos ? end : end - start));
  if (!text) return {};
  return bj::parse(*text).as_object();
}

// One operation straight into `idp` (no HTTP), expected to succeed; its output.
inline bj::object admin_call(LocalCognito& idp, std::string_view op, const bj::object& body) {
  auto r = idp.handle("AWSCognitoIdentityProviderService." + std::string(op), bj::serialize(body));
  boost::system::error_code ec;
  auto v = bj::parse(r.body, ec);
  EXPECT_EQ(r.status, 200) << op << ": " << r.body;
  return !ec && v.is_object() ? v.as_object() : bj::object{};
}

// One LocalCognito in one server.
struct Instance {
  std::unique_ptr<LocalCognito> idp;
  std::unique_ptr<http::Server> server;
  std::uint16_t port = 0;

  explicit Instance(const std::string& dir, std::shared_ptr<const TimeSource> clock = nullptr) {
    idp = std::make_unique<LocalCognito>(dir);
    if (clock) idp->set_clock(std::move(clock));
    server = std::make_unique<http::Server>(http::ServerOptions{});
    idp->attach(*server);
    auto p = server->start();
    if (!p) throw std::runtime_error(p.error().message());
    port = *p;
  }
  ~Instance() {
    server->stop();
    server->wait();
  }

  Call call(const std::string& op, const bj::object& input) const {
    return call_raw("AWSCognitoIdentityProviderService." + op, bj::serialize(input));
  }
  Call call_raw(const std::string& target, const std::string& body) const {
    std::vector<std::pair<std::string, std::string>> headers{
        {"Content-Type", "application/x-amz-json-1.1"}};
    if (!target.empty()) headers.emplace_back("X-Amz-Target", target);
    return to_call(test::request(port, "POST", "/", headers, body));
  }
  Call get(const std::string& path) const { return to_call(test::request(port, "GET", path, {}, "")); }
  // A POST of `form` (application/x-www-form-urlencoded) to `path`, with `headers` added.
  Call post_form(const std::string& path, const std::string& form,
                 std::vector<std::pair<std::string, std::string>> headers = {}) const {
    headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return to_call(test::request(port, "POST", path, headers, form));
  }

  static Call to_call(const test::RawResponse& r) {
    Call c;
    c.status = r.status;
    c.raw = r.body;
    c.headers = r.headers;
    boost::system::error_code ec;
    auto v = bj::parse(r.body, ec);
    if (!ec && v.is_object()) c.body = v.as_object();
    return c;
  }
};

}  // namespace idp::auth

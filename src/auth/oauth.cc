#include "idp/auth/oauth.h"

#include <boost/json/serialize.hpp>

#include <atomic>

#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "idp/http/url_policy.h"
#include "token_flight.h"

namespace idp::auth {

namespace net = boost::asio;
using net::awaitable;

std::string form_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct ClientCredentialsTokenProvider::Impl {
  Impl(net::any_io_executor ex, ClientCredentialsConfig c, http::ClientOptions o, std::chrono::seconds m)
      : config(std::move(c)), http(ex, std::move(o)), margin(m) {}
  ClientCredentialsConfig config;
  http::Client http;
  std::chrono::seconds margin;
  detail::TokenFlight flight;
  std::atomic<int> fetches{0};

  awaitable<Result<detail::FetchedToken>> fetch() {
    ++fetches;
    auto policy = http::check_url(config.token_url, "OAuth token endpoint");
    if (!policy) co_return std::unexpected(policy.error());
    std::string form = "grant_type=client_credentials";
    if (!config.scope.empty()) form += "&scope=" + form_encode(config.scope);
    http::ClientRequest req;
    req.method = "POST";
    req.url = config.token_url;
    req.headers.add("Content-Type", "application/x-www-form-urlencoded");
    req.headers.add("Accept", "application/json");
    if (config.client_auth == ClientCredentialsConfig::ClientAuth::kBasic) {
      req.headers.add("Authorization",
                      "Basic " + base64_encode(form_encode(config.client_id) + ":" +
                                               form_encode(config.client_secret.reveal())));
    } else {
      form += "&client_id=" + form_encode(config.client_id) +
              "&client_secret=" + form_encode(config.client_secret.reveal());
    }
    req.body = std::move(form);
    req.timeout = std::chrono::seconds(30);
    auto r = co_await http.request(std::move(req));
    std::string where = "OAuth token endpoint " + config.token_url + " (client " + config.client_id + ")";
    if (!r) co_return std::unexpected(r.error().with_context(where));
    auto parsed = ::idp::json::parse(r->body);
    const boost::json::object* o = parsed && parsed->is_object() ? &parsed->get_object() : nullptr;
    if (r->status != 200) {
      std::string code = o && ::idp::json::find_string(*o, "error") ? std::string(*::idp::json::find_string(*o, "error"))
                                                                     : "HTTP " + std::to_string(r->status);
      std::string desc = o && ::idp::json::find_string(*o, "error_description")
                             ? ": " + std::string(*::idp::json::find_string(*o, "error_description"))
                             : "";
      std::string hint = code == "invalid_client" ? " (check the client id and secret, and the client auth method)"
                         : code == "invalid_scope" ? " (the client may not request that scope)"
                         : code == "unauthorized_client" ? " (the client is not allowed the client_credentials grant)"
                                                         : "";
      co_return make_error(r->status == 400 || r->status == 401 ? ErrorCode::kUnauthenticated : ErrorCode::kUnavailable,
                           where + " refused the client credentials: " + code + desc + hint);
    }
    const boost::json::string* token = o ? ::idp::json::find_string(*o, "access_token") : nullptr;
    if (!token) co_return make_error(ErrorCode::kProtocol, where + ": the answer has no access_token");
    auto expires_in = ::idp::json::find_number(*o, "expires_in").value_or(300);
    co_return detail::FetchedToken{
        Secret(std::string(*token)),
        std::chrono::system_clock::now() + std::chrono::seconds(static_cast<long>(expires_in))};
  }
};

ClientCredentialsTokenProvider::ClientCredentialsTokenProvider(net::any_io_executor executor,
                                                               ClientCredentialsConfig config,
                                                               http::ClientOptions options,
                                                               std::chrono::seconds margin)
    : impl_(std::make_shared<Impl>(executor, std::move(config), std::move(options), margin)) {}
ClientCredentialsTokenProvider::~ClientCredentialsTokenProvider() = default;

awaitable<Result<Secret>> ClientCredentialsTokenProvider::token(bool refresh) {
  auto self = impl_;
  detail::TokenFlight::Fetch fetch = [self]() { return self->fetch(); };
  const std::shared_ptr<const TimeSource> clock = real_time();
  co_return co_await self->flight.get(refresh, self->margin, std::move(fetch), *clock);
}

int ClientCredentialsTokenProvider::fetches() const { return impl_->fetches.load(); }

}  // namespace idp::auth

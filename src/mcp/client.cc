// The public face of idp::mcp::Client; the work is in client_*.cc (see client_impl.h).
#include "idp/mcp/client.h"

#include <boost/url/parse.hpp>

#include "client_impl.h"
#include "idp/core/json_util.h"
#include "idp/http/url_policy.h"

namespace idp::mcp {

namespace net = boost::asio;
using net::awaitable;

// Coroutines here follow the GCC 12 rule (docs/architecture.md).

awaitable<Result<Secret>> StaticTokenProvider::token(bool) { co_return token_; }

Result<void> check_url_policy(std::string_view url) {
  auto checked = http::check_url(url, "MCP server URL");
  if (checked) return {};
  // The decision is http::check_url's; for its most common refusal (plain http:// to a remote
  // host) the message also names the host, as users of this function have always seen it.
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (parsed && parsed->scheme_id() == boost::urls::scheme::http && parsed->has_authority() &&
      !parsed->has_userinfo()) {
    return make_error(ErrorCode::kInvalidArgument, "refusing plain http:// to " +
                                                       std::string(parsed->encoded_host()) + ": " +
                                                       checked.error().message());
  }
  return std::unexpected(checked.error());
}

Client::Client(net::any_io_executor executor, std::string url, ClientOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(url), std::move(options))) {}

Client::~Client() { impl_->stop_listening(); }

namespace {

bool connected(const Client::Impl& impl) {
  std::lock_guard lock(impl.mu);
  return impl.connected;
}

Error not_connected(const Client::Impl& impl, std::string_view method) {
  return Error(ErrorCode::kInvalidArgument, impl.where(method) + ": call connect() first");
}

// Every page of a list method, its `key` arrays concatenated.
awaitable<Result<json::array>> list_all(Client& c, std::string_view method, std::string_view key) {
  json::array all;
  PageRequest request = [&c, method](json::object params) {
    CallOptions defaults;
    return c.request(method, std::move(params), std::move(defaults));
  };
  std::function<Result<void>(const json::object&)> on_page =
      [&](const json::object& page) -> Result<void> {
    const json::array* items = ::idp::json::find_array(page, key);
    if (!items) {
      return make_error(ErrorCode::kProtocol, std::string(method) + " " + c.url() +
                                                  ": the result has no " + std::string(key) +
                                                  " array");
    }
    for (const auto& i : *items) all.push_back(i);
    return {};
  };
  auto walked = co_await for_each_page(method, c.url(), std::move(request), std::move(on_page));
  if (!walked) co_return std::unexpected(walked.error());
  co_return all;
}

}  // namespace

awaitable<Result<void>> Client::connect() {
  auto policy = check_url_policy(impl_->url);
  if (!policy) co_return std::unexpected(policy.error());
  auto done = co_await impl_->connect();
  co_return done;
}

awaitable<Result<std::vector<Tool>>> Client::list_tools() {
  if (!connected(*impl_)) co_return std::unexpected(not_connected(*impl_, "tools/list"));
  auto tools = co_await impl_->list_tools(true);
  co_return tools;
}

// Not a coroutine of its own (one frame less per call): Impl::call_tool checks the connection.
awaitable<Result<CallToolResult>> Client::call_tool(std::string_view name, json::object arguments,
                                                    CallOptions options) {
  return impl_->call_tool(std::string(name), std::move(arguments), std::move(options));
}

awaitable<Result<json::array>> Client::list_resources() {
  auto all = co_await list_all(*this, "resources/list", "resources");
  co_return all;
}

awaitable<Result<json::array>> Client::list_prompts() {
  auto all = co_await list_all(*this, "prompts/list", "prompts");
  co_return all;
}

awaitable<Result<json::array>> Client::read_resource(std::string_view uri) {
  json::object params;
  params["uri"] = uri;
  const std::string_view method = "resources/read";
  CallOptions defaults;
  auto r = co_await request(method, std::move(params), std::move(defaults));
  if (!r) co_return std::unexpected(r.error());
  const json::object* o = r->if_object();
  const json::array* contents = o ? ::idp::json::find_array(*o, "contents") : nullptr;
  if (!contents) {
    co_return make_error(ErrorCode::kProtocol, impl_->where(method) + ": no contents array");
  }
  co_return *contents;
}

awaitable<Result<json::object>> Client::get_prompt(std::string_view name, json::object arguments) {
  json::object params;
  params["name"] = name;
  if (!arguments.empty()) params["arguments"] = std::move(arguments);
  const std::string_view method = "prompts/get";
  CallOptions defaults;
  auto r = co_await request(method, std::move(params), std::move(defaults));
  if (!r) co_return std::unexpected(r.error());
  if (!r->is_object()) {
    co_return make_error(ErrorCode::kProtocol,
                         impl_->where(method) + ": the result is not an object");
  }
  co_return std::move(r->get_object());
}

awaitable<Result<void>> Client::ping() {
  // 2026-07-28 has no ping; server/discover is the cheapest request that proves the server alive.
  const std::string_view method = impl_->view().modern ? "server/discover" : "ping";
  json::object none;
  CallOptions defaults;
  auto r = co_await request(method, std::move(none), std::move(defaults));
  if (!r) co_return std::unexpected(r.error());
  co_return Result<void>{};
}

awaitable<Result<json::value>> Client::request(std::string_view method, json::object params,
                                               CallOptions options) {
  if (!connected(*impl_)) co_return std::unexpected(not_connected(*impl_, method));
  auto r = co_await impl_->request(method, std::move(params), std::move(options));
  co_return r;
}

awaitable<Result<void>> Client::notify(std::string_view method, json::object params) {
  std::string body = jsonrpc::notification(method, params);
  std::string what(method);
  auto r = co_await impl_->post_message(std::move(body), std::move(what));
  co_return r;
}

awaitable<void> Client::close() { co_await impl_->close(); }

const std::string& Client::url() const { return impl_->url; }

std::string Client::protocol_version() const {
  std::lock_guard lock(impl_->mu);
  return impl_->protocol_version;
}

ProtocolEra Client::era() const {
  std::lock_guard lock(impl_->mu);
  return impl_->era;
}

Implementation Client::server_info() const {
  std::lock_guard lock(impl_->mu);
  return impl_->server_info;
}

json::object Client::server_capabilities() const {
  std::lock_guard lock(impl_->mu);
  return impl_->server_capabilities;
}

std::string Client::instructions() const {
  std::lock_guard lock(impl_->mu);
  return impl_->instructions;
}

std::string Client::session_id() const {
  std::lock_guard lock(impl_->mu);
  return impl_->session_id;
}

http::ClientStats Client::http_stats() const { return impl_->http.stats(); }

}  // namespace idp::mcp

// idp::http::Client's facade: the options read once (proxies from the environment), and the
// public request(), stream(), close_idle() and stats(). The work is in client_pool.cc,
// client_connect.cc and client_exchange.cc (client_impl.h).
#include "client_impl.h"

namespace idp::http {

using namespace client_detail;
using net::awaitable;

Client::Impl::Impl(net::any_io_executor ex, ClientOptions o)
    : executor(std::move(ex)), opt(std::move(o)) {
  if (opt.use_env_proxy) {
    if (opt.https_proxy.empty()) opt.https_proxy = env("https_proxy", "HTTPS_PROXY");
    if (opt.http_proxy.empty()) opt.http_proxy = env("http_proxy", "HTTP_PROXY");
    if (opt.no_proxy.empty()) opt.no_proxy = env("no_proxy", "NO_PROXY");
  }
}

Client::Client(net::any_io_executor executor, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

Client::~Client() { close_idle(); }

awaitable<Result<ClientResponse>> Client::request(ClientRequest request) {
  auto self = impl_;
  Attempt a = co_await self->run(request, false, nullptr, nullptr);
  if (a.error) co_return std::unexpected(a.error->with_context(request.method + " " + request.url));
  co_return std::move(a.response);
}

awaitable<Result<int>> Client::stream(ClientRequest request,
                                      std::function<void(const ClientResponse&)> on_head,
                                      std::function<bool(std::string_view)> on_chunk) {
  auto self = impl_;
  if (!on_chunk) on_chunk = [](std::string_view) { return true; };
  const std::function<void(const ClientResponse&)>* head = on_head ? &on_head : nullptr;
  Attempt a = co_await self->run(request, true, head, &on_chunk);
  if (a.error) co_return std::unexpected(a.error->with_context(request.method + " " + request.url));
  co_return a.response.status;
}

void Client::close_idle() { impl_->close_idle(); }

ClientStats Client::stats() const {
  return ClientStats{impl_->opened.load(), impl_->reused.load(), impl_->retries.load()};
}

const ClientOptions& Client::options() const { return impl_->opt; }

}  // namespace idp::http

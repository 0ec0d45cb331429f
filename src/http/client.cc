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

// Not coroutines: they return Impl::run's, one frame less per request.
awaitable<Result<ClientResponse>> Client::request(ClientRequest request) {
  return impl_->run<Result<ClientResponse>>(std::move(request), false, nullptr, nullptr);
}

awaitable<Result<int>> Client::stream(ClientRequest request,
                                      std::function<void(const ClientResponse&)> on_head,
                                      std::function<bool(std::string_view)> on_chunk) {
  if (!on_chunk) on_chunk = [](std::string_view) { return true; };
  return impl_->run<Result<int>>(std::move(request), true, std::move(on_head), std::move(on_chunk));
}

void Client::close_idle() { impl_->close_idle(); }

ClientStats Client::stats() const {
  return ClientStats{impl_->opened.load(), impl_->reused.load(), impl_->retries.load()};
}

const ClientOptions& Client::options() const { return impl_->opt; }

}  // namespace idp::http

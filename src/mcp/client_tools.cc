// tools/list: every page, the ttlMs cache of a 2026-07-28 listing, and the x-mcp-header
// annotations that say which arguments a tools/call mirrors into Mcp-Param-* headers (tools
// whose annotations are invalid are left out, as the revision requires).
#include <set>

#include "client_impl.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"

namespace idp::mcp {

using boost::asio::awaitable;

// Coroutines here follow the GCC 12 rule (docs/architecture.md).

awaitable<Result<void>> for_each_page(std::string_view method, const std::string& url,
                                      PageRequest request,
                                      std::function<Result<void>(const json::object&)> on_page) {
  constexpr int kMaxPages = 10'000;
  std::string cursor;
  std::set<std::string> seen;
  for (int page = 0;; ++page) {
    if (page >= kMaxPages) {
      co_return make_error(
          ErrorCode::kResourceExhausted,
          std::string(method) + " " + url + ": more than " + std::to_string(kMaxPages) + " pages");
    }
    json::object params;
    if (!cursor.empty()) params["cursor"] = cursor;
    auto r = co_await request(std::move(params));
    if (!r) co_return std::unexpected(r.error());
    const json::object* o = r->if_object();
    if (!o) {
      co_return make_error(ErrorCode::kProtocol,
                           std::string(method) + " " + url + ": the result is not an object");
    }
    auto taken = on_page(*o);
    if (!taken) co_return taken;
    const json::string* next = ::idp::json::find_string(*o, "nextCursor");
    if (!next || next->empty()) co_return Result<void>{};
    cursor = std::string(*next);
    if (!seen.insert(cursor).second) {
      co_return make_error(
          ErrorCode::kProtocol,
          std::string(method) + " " + url + ": the server repeated cursor '" + cursor + "'");
    }
  }
}

awaitable<Result<std::vector<Tool>>> Client::Impl::list_tools(bool use_cache) {
  {
    std::lock_guard lock(mu);
    if (use_cache && tools_cache && std::chrono::steady_clock::now() < tools_cache_until) {
      co_return *tools_cache;
    }
  }
  const std::string_view method = "tools/list";
  const bool modern_era = view().modern;
  std::vector<Tool> tools;
  std::map<std::string, std::vector<xheader::ParamHeader>, std::less<>> headers_by_tool;
  std::map<std::string, std::string, std::less<>> support;
  std::optional<double> ttl_ms;
  bool every_page_has_ttl = true;
  auto self = shared_from_this();
  PageRequest request = [self, method](json::object params) {
    CallOptions none;
    return self->send_owned(method, std::move(params), std::move(none));
  };
  std::function<Result<void>(const json::object&)> on_page =
      [&](const json::object& o) -> Result<void> {
    const json::array* list = ::idp::json::find_array(o, "tools");
    if (!list)
      return make_error(ErrorCode::kProtocol, where(method) + ": the result has no tools array");
    auto ttl = ::idp::json::find_number(o, "ttlMs");
    if (!ttl) {
      every_page_has_ttl = false;
    } else {
      ttl_ms = ttl_ms ? std::min(*ttl_ms, *ttl) : *ttl;
    }
    for (const auto& t : *list) {
      Tool tool;
      try {
        tool = json::value_to<Tool>(t);
      } catch (const std::exception& e) {
        log::warn("{}: skipping a malformed tool: {}", url, e.what());
        continue;
      }
      if (modern_era) {
        auto annotated = xheader::scan(tool.input_schema);
        if (!annotated) {
          log::warn("{}: leaving out tool '{}': {}", url, tool.name, annotated.error().message());
          continue;
        }
        if (!annotated->empty()) headers_by_tool[tool.name] = std::move(*annotated);
      }
      remember_task_support(support, tool.name, t);
      tools.push_back(std::move(tool));
    }
    return {};
  };
  auto walked = co_await for_each_page(method, url, std::move(request), std::move(on_page));
  if (!walked) co_return std::unexpected(walked.error());
  std::lock_guard lock(mu);
  if (modern_era) tool_headers = std::move(headers_by_tool);
  task_support = std::move(support);
  tools_listed = true;
  tools_cache.reset();
  if (every_page_has_ttl && ttl_ms && *ttl_ms >= 1) {
    auto ttl =
        std::chrono::milliseconds(static_cast<std::int64_t>(std::min(*ttl_ms, 86'400'000.0)));
    tools_cache = tools;
    tools_cache_until = std::chrono::steady_clock::now() + ttl;
  }
  co_return tools;
}

}  // namespace idp::mcp

#include "streamable_http_listen.h"

#include "idp/core/json_util.h"
#include "idp/mcp/jsonrpc.h"
#include "idp/mcp/types.h"

namespace idp::mcp {

std::shared_ptr<ListenStream> ListenStreams::open(const json::value& id, const json::object& filter,
                                                  const json::object& caps, std::size_t capacity,
                                                  std::size_t max_uris) {
  auto l = std::make_shared<ListenStream>(capacity);
  l->id = id;
  json::object honored;
  auto wants = [&](std::string_view key) { return ::idp::json::find_bool(filter, key) == true; };
  if (wants("toolsListChanged") && caps.contains("tools")) {
    l->tools = true;
    honored["toolsListChanged"] = true;
  }
  if (wants("promptsListChanged") && caps.contains("prompts")) {
    l->prompts = true;
    honored["promptsListChanged"] = true;
  }
  if (wants("resourcesListChanged") && caps.contains("resources")) {
    l->resources = true;
    honored["resourcesListChanged"] = true;
  }
  if (auto* uris = ::idp::json::find_array(filter, "resourceSubscriptions");
      uris && caps.contains("resources")) {
    json::array kept;
    for (const auto& u : *uris) {
      if (!u.is_string() || l->uris.size() >= max_uris) continue;
      l->uris.emplace(u.get_string());
      kept.push_back(u);
    }
    honored["resourceSubscriptions"] = std::move(kept);
  }
  l->stream.push(jsonrpc::notification(
      "notifications/subscriptions/acknowledged",
      json::object{{"notifications", std::move(honored)},
                   {"_meta", json::object{{meta_keys::kSubscriptionId, l->id}}}}));
  std::lock_guard lock(mu_);
  streams_.push_back(l);
  return l;
}

void ListenStreams::close(const std::shared_ptr<ListenStream>& stream) {
  std::lock_guard lock(mu_);
  std::erase(streams_, stream);
}

void ListenStreams::notify(std::string_view method, const json::object& params,
                           std::string_view only_subscribed_uri) {
  std::vector<std::shared_ptr<ListenStream>> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& l : streams_) {
      bool wanted = method == "notifications/tools/list_changed"       ? l->tools
                    : method == "notifications/prompts/list_changed"   ? l->prompts
                    : method == "notifications/resources/list_changed" ? l->resources
                    : method == "notifications/resources/updated"
                        ? l->uris.contains(only_subscribed_uri)
                        : false;
      if (wanted) targets.push_back(l);
    }
  }
  for (auto& l : targets) {
    json::object tagged = params;
    json::object meta;
    if (auto* m = ::idp::json::find_object(params, "_meta")) meta = *m;
    meta[meta_keys::kSubscriptionId] = l->id;
    tagged["_meta"] = std::move(meta);
    l->stream.push(jsonrpc::notification(method, tagged));
  }
}

void ListenStreams::request_close_all() {
  std::lock_guard lock(mu_);
  for (auto& l : streams_) l->stream.request_close();
}

}  // namespace idp::mcp

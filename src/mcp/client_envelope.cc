// What a request carries besides its own params: the client capabilities, the 2026-07-28
// envelope in params._meta (serialized once per protocol version and spliced into the request),
// and the Mcp-Method / Mcp-Name / Mcp-Param-* headers of that era.
#include <boost/json/serialize.hpp>

#include "client_impl.h"
#include "idp/core/json_util.h"

namespace idp::mcp {

void declare_extension(json::object& params) {
  json::value& meta = params["_meta"];
  if (!meta.is_object()) meta = json::object{};
  json::value& caps = meta.get_object()[meta_keys::kClientCapabilities];
  if (!caps.is_object()) caps = json::object{};
  json::value& ext = caps.get_object()["extensions"];
  if (!ext.is_object()) ext = json::object{};
  ext.get_object()[kTasksExtension] = json::object{};
}

json::object Client::Impl::capabilities(bool modern_era) const {
  json::object caps;
  if (opt.hooks.sampling) caps["sampling"] = json::object{};
  if (opt.hooks.elicitation) caps["elicitation"] = json::object{{"form", json::object{}}};
  if (opt.hooks.roots) {
    if (modern_era) {
      caps["roots"] = json::object{};
    } else {
      caps["roots"] = json::object{{"listChanged", false}};
    }
  }
  return caps;
}

void Client::Impl::add_envelope(json::object& params, std::string_view version) const {
  json::value& meta = params["_meta"];
  if (!meta.is_object()) meta = json::object{};
  json::object& m = meta.get_object();
  m[meta_keys::kProtocolVersion] = version;
  json::object caps = capabilities(true);
  // Extensions the request itself declares (the tasks extension on tools/call and tasks/*).
  if (const json::object* given = ::idp::json::find_object(m, meta_keys::kClientCapabilities)) {
    if (const json::object* ext = ::idp::json::find_object(*given, "extensions")) {
      caps["extensions"] = *ext;
    }
  }
  m[meta_keys::kClientCapabilities] = std::move(caps);
  m[meta_keys::kClientInfo] = json::value_from(opt.info);
  // 2026-07-28 has no logging/setLevel: a request gets notifications/message only when it names
  // a level.
  if (opt.hooks.log && !opt.log_level.empty()) m[meta_keys::kLogLevel] = opt.log_level;
}

std::string Client::Impl::request_with_envelope(const json::value& id, std::string_view method,
                                                const json::object& params,
                                                std::string_view version,
                                                bool tasks_extension) const {
  const int which = tasks_extension ? 1 : 0;
  // What jsonrpc::request writes for `params` with the envelope added as its last member.
  std::string out;
  out.reserve(512);  // a small request with its envelope: one allocation
  out += R"({"jsonrpc":"2.0","id":)";
  jsonrpc::append_json(out, id);
  out += R"(,"method":)";
  jsonrpc::append_json(out, method);
  out += R"(,"params":)";
  jsonrpc::append_json(out, params);
  out.pop_back();  // the params' closing brace
  if (!params.empty()) out += ',';
  out += R"("_meta":)";
  {
    // Appended from the cache under the lock: no copy of its own.
    std::lock_guard lock(mu);
    if (envelope_version == version && !envelope_json[which].empty()) {
      out += envelope_json[which];
      out += "}}";
      return out;
    }
  }
  std::string meta;
  {
    json::object holder;
    if (tasks_extension) {
      holder["_meta"] = json::object{
          {meta_keys::kClientCapabilities,
           json::object{{"extensions", json::object{{kTasksExtension, json::object{}}}}}}};
    }
    add_envelope(holder, version);
    meta = json::serialize(holder["_meta"]);
    std::lock_guard lock(mu);
    if (envelope_version != version) {
      envelope_version = std::string(version);
      envelope_json[0].clear();
      envelope_json[1].clear();
    }
    envelope_json[which] = meta;
  }
  out += meta;
  out += "}}";
  return out;
}

bool Client::Impl::take_tasks_declaration(json::object& params) {
  const json::object* meta = ::idp::json::find_object(params, "_meta");
  if (!meta || meta->size() != 1) return false;
  const json::object* caps = ::idp::json::find_object(*meta, meta_keys::kClientCapabilities);
  if (!caps || caps->size() != 1) return false;
  const json::object* ext = ::idp::json::find_object(*caps, "extensions");
  if (!ext || ext->size() != 1) return false;
  const json::object* tasks = ::idp::json::find_object(*ext, kTasksExtension);
  if (!tasks || !tasks->empty()) return false;
  params.erase("_meta");
  return true;
}

namespace {

// The params member a method's Mcp-Name carries, if the method has one and params hold it.
const json::string* routed_name(std::string_view method, const json::object& params) {
  std::string_view key;
  if (method == "tools/call" || method == "prompts/get") key = "name";
  if (method == "resources/read") key = "uri";
  if (method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel") {
    key = "taskId";  // the tasks extension's routing header
  }
  return key.empty() ? nullptr : ::idp::json::find_string(params, key);
}

void add_route(http::Headers& h, std::string_view method, const json::string* name) {
  h.add("Mcp-Method", std::string(method));
  if (name) h.add("Mcp-Name", xheader::encode(*name));
}

// When the cache of fixed fields holds more than this many routes it starts afresh.
constexpr std::size_t kMaxFixedRoutes = 256;

}  // namespace

http::Headers base_headers(const http::Headers& given, std::string version,
                           const std::string& sid) {
  http::Headers h = given;
  // add() where the caller's headers cannot hold the field already: no search, no erase.
  const bool mine = given.items().empty();
  auto put = [&](std::string_view name, std::string value) {
    if (mine) {
      h.add(std::string(name), std::move(value));
    } else {
      h.set(name, std::move(value));
    }
  };
  put("Content-Type", "application/json");
  put("Accept", "application/json, text/event-stream");
  if (!version.empty()) put("MCP-Protocol-Version", std::move(version));
  if (!sid.empty()) put("Mcp-Session-Id", sid);
  return h;
}

// Mcp-Method always; Mcp-Name for the methods that name a thing (a task too); Mcp-Param-* for the
// tool's x-mcp-header arguments (when the tool was listed by this client).
http::Headers Client::Impl::modern_headers(std::string_view method,
                                           const json::object& params) const {
  http::Headers h;
  add_route(h, method, routed_name(method, params));
  const http::Headers params_fields = param_headers(method, params);
  for (const auto& [name, value] : params_fields.items()) h.set(name, value);
  return h;
}

http::Headers Client::Impl::param_headers(std::string_view method,
                                          const json::object& params) const {
  http::Headers h;
  if (method != "tools/call") return h;
  const json::string* name = ::idp::json::find_string(params, "name");
  const json::object* args = ::idp::json::find_object(params, "arguments");
  if (!name || !args) return h;
  std::lock_guard lock(mu);
  auto tool = tool_headers.find(std::string_view(*name));
  if (tool == tool_headers.end()) return h;
  for (const auto& ph : tool->second) {
    const json::value* v = xheader::find_argument(args, ph.path);
    if (!v) continue;
    if (auto value = xheader::param_value(*v)) h.set("Mcp-Param-" + ph.name, std::move(*value));
  }
  return h;
}

std::shared_ptr<const http::FixedFields> Client::Impl::fixed_fields(
    const Envelope& envelope, Sent& sent, bool modern_era, std::string_view method,
    const json::object& params) const {
  static const std::string kNone;
  const json::string* name = modern_era ? routed_name(method, params) : nullptr;
  if (!modern_era) method = {};
  std::lock_guard lock(mu);
  const std::string& version =
      envelope.protocol_version ? *envelope.protocol_version : protocol_version;
  const std::string& sid = envelope.session_id     ? *envelope.session_id
                           : envelope.with_session ? session_id
                                                   : kNone;
  sent = Sent{sid, session_generation, token_generation, false};
  if (fixed_version != version || fixed_session != sid || fixed_count >= kMaxFixedRoutes) {
    fixed_routes.clear();
    fixed_count = 0;
    fixed_version = version;
    fixed_session = sid;
  }
  auto route = fixed_routes.find(method);
  if (route != fixed_routes.end()) {
    if (!name && route->second.unnamed) return route->second.unnamed;
    if (name) {
      auto named = route->second.named.find(std::string_view(*name));
      if (named != route->second.named.end()) return named->second;
    }
  }
  http::Headers h = base_headers(opt.headers, version, sid);
  if (modern_era) add_route(h, method, name);
  auto made = http::FixedFields::make(h);
  if (!made) return nullptr;  // the HTTP client refuses them with the reason
  FixedRoute& r = fixed_routes[std::string(method)];
  ++fixed_count;
  if (name) return r.named[std::string(*name)] = std::move(*made);
  return r.unnamed = std::move(*made);
}

}  // namespace idp::mcp

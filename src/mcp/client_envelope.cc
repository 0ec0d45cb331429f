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

// Mcp-Method always; Mcp-Name for the methods that name a thing (a task too); Mcp-Param-* for the
// tool's x-mcp-header arguments (when the tool was listed by this client).
http::Headers Client::Impl::modern_headers(std::string_view method,
                                           const json::object& params) const {
  http::Headers h;
  h.add("Mcp-Method", std::string(method));
  std::string_view key;
  if (method == "tools/call" || method == "prompts/get") key = "name";
  if (method == "resources/read") key = "uri";
  if (method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel") {
    key = "taskId";  // the tasks extension's routing header
  }
  const json::string* name = key.empty() ? nullptr : ::idp::json::find_string(params, key);
  if (name) h.add("Mcp-Name", xheader::encode(*name));
  if (method != "tools/call" || !name) return h;
  const json::object* args = ::idp::json::find_object(params, "arguments");
  std::lock_guard lock(mu);
  auto tool = tool_headers.find(std::string_view(*name));
  if (tool == tool_headers.end() || !args) return h;
  for (const auto& ph : tool->second) {
    const json::value* v = xheader::find_argument(args, ph.path);
    if (!v) continue;
    if (auto value = xheader::param_value(*v)) h.set("Mcp-Param-" + ph.name, std::move(*value));
  }
  return h;
}

}  // namespace idp::mcp

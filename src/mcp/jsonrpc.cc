#include "idp/mcp/jsonrpc.h"

#include <boost/json/serialize.hpp>

namespace idp::mcp::jsonrpc {

namespace {

std::unexpected<RpcError> invalid(std::string message) {
  return std::unexpected<RpcError>(RpcError{kInvalidRequest, std::move(message), std::nullopt});
}

bool valid_id(const json::value& id) { return id.is_string() || id.is_int64() || id.is_uint64(); }

}  // namespace

std::expected<Message, RpcError> parse(json::value value) {
  if (value.is_array()) {
    return invalid("JSON-RPC batches are not supported (MCP removed them in 2025-06-18); "
                   "send one message per request");
  }
  auto* obj = value.if_object();
  if (!obj) return invalid("a JSON-RPC message must be a JSON object");
  auto jv = obj->find("jsonrpc");
  if (jv == obj->end() || !jv->value().is_string() || jv->value().get_string() != "2.0") {
    return invalid("\"jsonrpc\" must be \"2.0\"");
  }
  // Members are moved (not assigned) into the Message so that they keep the storage they were
  // parsed with (a per-request arena): assignment across storages would copy.
  auto method = obj->find("method");
  auto id = obj->find("id");
  if (method != obj->end()) {
    if (!method->value().is_string()) return invalid("\"method\" must be a string");
    auto p = obj->find("params");
    bool has_params = p != obj->end() && p->value().is_object();
    if (p != obj->end() && !has_params && !p->value().is_null()) {  // "params": null is tolerated
      return invalid("\"params\" must be an object (MCP uses named parameters)");
    }
    // Constructed, never assigned: assignment into default storage would copy.
    json::object params =
        has_params ? json::object(std::move(p->value().get_object())) : json::object();
    if (id == obj->end()) {
      return Message{Message::Kind::kNotification, json::value(),
                     std::string(method->value().get_string()), std::move(params), {}, {}};
    }
    if (!valid_id(id->value())) return invalid("\"id\" must be a string or an integer");
    return Message{Message::Kind::kRequest, json::value(std::move(id->value())),
                   std::string(method->value().get_string()), std::move(params), {}, {}};
  }
  if (id == obj->end()) return invalid("a message needs \"method\" or an \"id\" with a result");
  auto result = obj->find("result");
  auto error = obj->find("error");
  if (result != obj->end() && error == obj->end()) {
    if (!valid_id(id->value())) return invalid("\"id\" must be a string or an integer");
    return Message{Message::Kind::kResponse, json::value(std::move(id->value())), {}, {},
                   json::value(std::move(result->value())), {}};
  }
  if (error != obj->end() && result == obj->end()) {
    auto* eo = error->value().if_object();
    if (!eo) return invalid("\"error\" must be an object");
    auto code = eo->find("code");
    auto msg = eo->find("message");
    if (code == eo->end() || !code->value().is_int64()) {
      return invalid("\"error.code\" must be an integer");
    }
    RpcError e;
    e.code = static_cast<int>(code->value().get_int64());
    if (msg != eo->end() && msg->value().is_string()) e.message = std::string(msg->value().get_string());
    if (auto d = eo->find("data"); d != eo->end()) e.data = d->value();
    return Message{Message::Kind::kErrorResponse, json::value(std::move(id->value())), {}, {}, {},
                   std::move(e)};
  }
  return invalid("a response must have exactly one of \"result\" and \"error\"");
}

namespace {
void append_id(std::string& out, const json::value& id) {
  if (id.is_null()) {
    out += "null";
  } else {
    out += json::serialize(id);
  }
}
}  // namespace

std::string response(const json::value& id, const json::value& result) {
  std::string out = R"({"jsonrpc":"2.0","id":)";
  append_id(out, id);
  out += R"(,"result":)";
  out += json::serialize(result);
  out += '}';
  return out;
}

std::string response_raw(const json::value& id, std::string_view result_json) {
  std::string out;
  out.reserve(40 + result_json.size());
  out += R"({"jsonrpc":"2.0","id":)";
  append_id(out, id);
  out += R"(,"result":)";
  out += result_json;
  out += '}';
  return out;
}

std::string response_raw(const json::value& id, std::string&& result_json) {
  // The envelope's head is built in a buffer each thread reuses, then moved in front.
  thread_local std::string head;
  head.assign(R"({"jsonrpc":"2.0","id":)");
  append_id(head, id);
  head += R"(,"result":)";
  result_json.insert(0, head);
  result_json += '}';
  return std::move(result_json);
}

std::string error_response(const json::value& id, const RpcError& error) {
  json::object e{{"code", error.code}, {"message", error.message}};
  if (error.data) e["data"] = *error.data;
  std::string out = R"({"jsonrpc":"2.0","id":)";
  append_id(out, id);
  out += R"(,"error":)";
  out += json::serialize(e);
  out += '}';
  return out;
}

std::string request(const json::value& id, std::string_view method, const json::object& params) {
  json::object o{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.empty()) o["params"] = params;
  return json::serialize(o);
}

std::string notification(std::string_view method, const json::object& params) {
  json::object o{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.empty()) o["params"] = params;
  return json::serialize(o);
}

std::string id_key(const json::value& id) {
  if (id.is_string()) return "s" + std::string(id.get_string());
  if (id.is_int64()) return "n" + std::to_string(id.get_int64());
  if (id.is_uint64()) return "n" + std::to_string(id.get_uint64());
  return "x" + json::serialize(id);
}

}  // namespace idp::mcp::jsonrpc

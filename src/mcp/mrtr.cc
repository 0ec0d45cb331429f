#include "mrtr.h"

#include <boost/json/serialize.hpp>

#include "idp/core/crypto.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"
#include "idp/mcp/jsonrpc.h"

namespace idp::mcp {

namespace {

std::string digest(std::string_view data) { return base64url_encode(crypto::sha256(data)); }

// Computed only when a round involves a requestState (most requests never do).
std::string args_digest(const RoundTarget& t) {
  if (!t.params) return {};
  if (auto it = t.params->find("arguments"); it != t.params->end() && !it->value().is_null()) {
    return digest(json::serialize(it->value()));
  }
  return {};
}

std::string subject_digest(const RoundTarget& t) {
  return t.identity && t.identity->authenticated ? digest(t.identity->subject) : std::string();
}

std::string signature(std::string_view key, std::string_view body) {
  return base64url_encode(crypto::hmac_sha256(key, body));
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string encode_request_state(std::string_view key, const RoundTarget& t,
                                 const json::object& responses, std::int64_t expires_unix) {
  json::object payload{{"v", 1},
                       {"m", t.method},
                       {"t", t.target},
                       {"a", args_digest(t)},
                       {"s", subject_digest(t)},
                       {"e", expires_unix},
                       {"r", responses}};
  std::string body = base64url_encode(json::serialize(payload));
  std::string sig = signature(key, body);
  return body + "." + sig;
}

std::expected<json::object, std::string> decode_request_state(std::string_view key,
                                                              const RoundTarget& t,
                                                              std::string_view state,
                                                              std::int64_t now_unix) {
  auto dot = state.rfind('.');
  if (dot == std::string_view::npos) return std::unexpected("requestState is malformed");
  std::string_view body = state.substr(0, dot);
  if (!constant_time_equal(signature(key, body), state.substr(dot + 1))) {
    return std::unexpected(
        "requestState failed integrity verification (it was altered, or it was issued by "
        "another server)");
  }
  auto raw = base64_decode(body);
  if (!raw) return std::unexpected("requestState is malformed");
  auto value = ::idp::json::parse(*raw);
  if (!value || !value->is_object()) return std::unexpected("requestState is malformed");
  const json::object& p = value->get_object();
  auto str = [&](std::string_view k) -> std::string_view {
    auto* s = ::idp::json::find_string(p, k);
    return s ? std::string_view(*s) : std::string_view("\x01");  // matches no digest or name
  };
  if (str("m") != t.method || str("t") != t.target) {
    return std::unexpected("requestState belongs to another request (" + std::string(str("m")) +
                           " " + std::string(str("t")) + ")");
  }
  if (str("a") != args_digest(t)) {
    return std::unexpected(
        "requestState belongs to a request with other arguments; retry with the original "
        "arguments");
  }
  if (str("s") != subject_digest(t))
    return std::unexpected("requestState belongs to another caller");
  auto exp = p.find("e");
  if (exp == p.end() || !exp->value().is_int64() || exp->value().get_int64() < now_unix) {
    return std::unexpected("requestState has expired; send the request again without it");
  }
  const json::object* r = ::idp::json::find_object(p, "r");
  return r ? *r : json::object{};
}

std::optional<std::string> Round::begin(RequestState& rs, const RoundTarget& t,
                                        const json::object& params) const {
  const json::object* answers = nullptr;
  if (auto it = params.find("inputResponses"); it != params.end()) {
    answers = it->value().if_object();
    if (!answers) return "params.inputResponses must be an object (key -> the client's result)";
    for (const auto& [k, v] : *answers) {
      if (!v.is_object()) {
        return "params.inputResponses['" + std::string(k) +
               "'] must be an object (the result of the requested " +
               "elicitation/create, sampling/createMessage or roots/list)";
      }
    }
  }
  if (auto it = params.find("requestState"); it != params.end()) {
    auto* s = it->value().if_string();
    if (!s) return std::string("params.requestState must be the string the server returned");
    auto carried = decode_request_state(key, t, *s, unix_now());
    if (!carried) return carried.error();
    rs.input_responses = std::move(*carried);
    rs.resumed = true;
  }
  if (answers) {
    for (const auto& [k, v] : *answers) rs.input_responses[k] = v;
  }
  return std::nullopt;
}

std::optional<std::string> Round::end(RequestState& rs, const RoundTarget& t) const {
  if (!rs.missing_capabilities.empty()) {
    std::string names;
    for (const auto& [k, v] : rs.missing_capabilities) {
      if (!names.empty()) names += ", ";
      names += std::string(k);
    }
    rs.http_status = 400;
    rs.outcome = RequestOutcome::kError;
    rs.rpc_error = jsonrpc::kMissingRequiredClientCapability;
    json::object data{{"requiredCapabilities", rs.missing_capabilities}};
    return jsonrpc::error_response(
        rs.id, {jsonrpc::kMissingRequiredClientCapability,
                "Missing required client capability: this request needs '" + names +
                    "', which the request's _meta clientCapabilities does not declare",
                json::value(std::move(data))});
  }
  if (rs.input_requests.empty()) return std::nullopt;
  json::object result{
      {"resultType", kResultInputRequired},
      {"inputRequests", std::move(rs.input_requests)},
      {"requestState", encode_request_state(key, t, rs.used_responses, unix_now() + ttl.count())}};
  if (server_info) result["_meta"] = json::object{{meta_keys::kServerInfo, *server_info}};
  return jsonrpc::response(rs.id, result);
}

}  // namespace idp::mcp

#include "idp/mcp/server.h"

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "core.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"

namespace idp::mcp {

namespace detail {

// ---- EventStream ---------------------------------------------------------------------------

bool EventStream::push(std::string message) {
  std::shared_ptr<Notifier> w;
  {
    std::lock_guard lock(mu_);
    if (complete_) return false;
    ever_pushed_ = true;
    events_.emplace_back(next_seq_++, std::move(message));
    if (events_.size() > capacity_) {
      events_.erase(events_.begin(), events_.begin() + (events_.size() - capacity_));
      first_retained_ = events_.front().first;
    }
    w = waker_;
  }
  if (w) w->notify();
  return true;
}

void EventStream::complete(std::optional<std::string> final_message) {
  std::shared_ptr<Notifier> w;
  {
    std::lock_guard lock(mu_);
    if (complete_) return;
    complete_ = true;
    has_final_ = final_message.has_value();
    if (final_message) {
      events_.emplace_back(next_seq_++, std::move(*final_message));
      if (events_.size() > capacity_ + 1) {
        events_.erase(events_.begin(), events_.begin() + (events_.size() - capacity_ - 1));
        first_retained_ = events_.front().first;
      }
    }
    w = waker_;
  }
  if (w) w->notify();
}

void EventStream::request_close() {
  std::shared_ptr<Notifier> w;
  {
    std::lock_guard lock(mu_);
    close_requested_ = true;
    w = waker_;
  }
  if (w) w->notify();
}

EventStream::Batch EventStream::take(std::uint64_t after, bool consume_close) {
  Batch b;
  std::lock_guard lock(mu_);
  if (after + 1 < first_retained_) b.lost = true;
  for (const auto& e : events_) {
    if (e.first > after) b.events.push_back(e);
  }
  b.complete = complete_;
  b.close_requested = close_requested_;
  if (consume_close) close_requested_ = false;
  return b;
}

std::optional<std::string> EventStream::take_final() {
  std::lock_guard lock(mu_);
  if (!complete_ || events_.empty() || !has_final_) return std::nullopt;
  return std::move(events_.back().second);
}

bool EventStream::attach(std::shared_ptr<Notifier> waker) {
  std::lock_guard lock(mu_);
  if (waker_) return false;
  waker_ = std::move(waker);
  return true;
}

void EventStream::detach() {
  std::lock_guard lock(mu_);
  waker_.reset();
}

bool EventStream::attached() const {
  std::lock_guard lock(mu_);
  return static_cast<bool>(waker_);
}

bool EventStream::is_complete() const {
  std::lock_guard lock(mu_);
  return complete_;
}

std::uint64_t EventStream::last_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1;
}

bool EventStream::has_pending_events() const {
  std::lock_guard lock(mu_);
  return ever_pushed_;
}

// ---- PendingRegistry ----

void PendingRegistry::add(const std::string& id, std::string session_id,
                          std::shared_ptr<PendingReply> reply) {
  std::lock_guard lock(mu_);
  entries_[id] = Entry{std::move(session_id), std::move(reply)};
}

void PendingRegistry::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  entries_.erase(id);
}

std::shared_ptr<PendingReply> PendingRegistry::find(const std::string& id,
                                                    const std::string& session_id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.session_id != session_id) return nullptr;
  return it->second.reply;
}

// ---- RequestState / Session ----------------------------------------------------------------

void RequestState::cancel() {
  if (cancelled.exchange(true)) return;
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(mu);
    hooks = on_cancel;
  }
  for (auto& h : hooks) h();
}

void RequestState::push(std::string message) {
  if (stream) stream->push(std::move(message));
}

void Session::notify(std::string message) {
  std::shared_ptr<EventStream> s;
  {
    std::lock_guard lock(mu);
    s = standalone;
  }
  if (s) s->push(std::move(message));
}

void ServerCore::broadcast(std::string_view method, const json::object& params,
                           std::string_view only_subscribed_uri) {
  std::vector<std::function<void(std::string_view, const json::object&, std::string_view)>> ls;
  {
    std::lock_guard lock(listeners_mu);
    ls = listeners;
  }
  for (auto& l : ls) l(method, params, only_subscribed_uri);
}

// ---- dispatch helpers ----------------------------------------------------------------------

namespace {

using jsonrpc::RpcError;

std::string ok(const json::value& id, const json::value& result) {
  return jsonrpc::response(id, result);
}

std::string fail(const json::value& id, int code, std::string message,
                 std::optional<json::value> data = std::nullopt) {
  return jsonrpc::error_response(id, RpcError{code, std::move(message), std::move(data)});
}

std::string make_cursor(std::uint64_t seq) { return base64url_encode("v1:" + std::to_string(seq)); }

// Decodes a cursor; nullopt when it is not one of ours.
std::optional<std::uint64_t> parse_cursor(std::string_view cursor) {
  auto raw = base64_decode(cursor);
  if (!raw || raw->rfind("v1:", 0) != 0) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(raw->data() + 3, raw->data() + raw->size(), v);
  if (ec != std::errc() || p != raw->data() + raw->size()) return std::nullopt;
  return v;
}

// Pages entries (anything with ->seq) in registration order; nullopt for an invalid cursor.
template <class Entry, class ToJson>
std::optional<json::object> paginate(const json::object& params,
                                     std::vector<std::shared_ptr<const Entry>> entries,
                                     std::size_t page_size, std::string_view key, ToJson to_json) {
  std::uint64_t after = 0;
  if (auto it = params.find("cursor"); it != params.end() && !it->value().is_null()) {
    auto* s = it->value().if_string();
    auto parsed = s ? parse_cursor(*s) : std::nullopt;
    if (!parsed) return std::nullopt;
    after = *parsed;
  }
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a->seq < b->seq; });
  json::array items;
  std::uint64_t last = 0;
  bool more = false;
  for (const auto& e : entries) {
    if (e->seq <= after) continue;
    if (items.size() == page_size) {
      more = true;
      break;
    }
    items.push_back(to_json(*e));
    last = e->seq;
  }
  json::object result;
  result[key] = std::move(items);
  if (more) result["nextCursor"] = make_cursor(last);
  return result;
}

// RFC 6570 level-1 matching: "test://template/{id}/data" against "test://template/123/data".
bool match_template(std::string_view tmpl, std::string_view uri,
                    std::map<std::string, std::string>* vars) {
  std::size_t ti = 0, ui = 0;
  while (ti < tmpl.size()) {
    if (tmpl[ti] == '{') {
      auto close = tmpl.find('}', ti);
      if (close == std::string_view::npos) return false;
      std::string name(tmpl.substr(ti + 1, close - ti - 1));
      ti = close + 1;
      // The variable runs to the next literal character of the template (or the end).
      std::size_t end;
      if (ti >= tmpl.size()) {
        end = uri.size();
      } else {
        end = uri.find(tmpl[ti], ui);
        if (end == std::string_view::npos) return false;
      }
      if (end == ui) return false;
      std::string_view value = uri.substr(ui, end - ui);
      if (value.find('/') != std::string_view::npos) return false;
      (*vars)[name] = std::string(value);
      ui = end;
    } else {
      if (ui >= uri.size() || uri[ui] != tmpl[ti]) return false;
      ++ti;
      ++ui;
    }
  }
  return ui == uri.size();
}

template <class Map>
auto snapshot(const Map& m) {
  std::vector<typename Map::mapped_type> out;
  out.reserve(m.size());
  for (const auto& [k, v] : m) out.push_back(v);
  return out;
}

// ---- requestState (MRTR) -------------------------------------------------------------------
//
// base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload))). The payload binds the
// method, the target (tool/prompt name or resource URI), a digest of the arguments, a digest of
// the caller's subject and an expiry, and carries the answers the handler has used so far (a
// later round's retry brings only that round's answers).

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string sha256_b64(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What a round is about: the state of one round is accepted only for the same target. The
// digests are computed only when a round involves a requestState (most requests never do).
struct RoundTarget {
  std::string_view method;
  std::string_view target;
  const json::object* params = nullptr;
  const Identity* identity = nullptr;

  std::string args_digest() const {
    if (auto it = params->find("arguments"); it != params->end() && !it->value().is_null()) {
      return sha256_b64(json::serialize(it->value()));
    }
    return {};
  }
  std::string subject_digest() const {
    return identity->authenticated ? sha256_b64(identity->subject) : std::string();
  }
};

RoundTarget round_target(const RequestState& rs, std::string_view method, std::string_view target,
                         const json::object& params) {
  return RoundTarget{method, target, &params, &rs.identity};
}

std::string sign_state(std::string_view key, const RoundTarget& t, const json::object& responses,
                       std::chrono::seconds ttl) {
  json::object payload{{"v", 1},
                       {"m", t.method},
                       {"t", t.target},
                       {"a", t.args_digest()},
                       {"s", t.subject_digest()},
                       {"e", unix_now() + ttl.count()},
                       {"r", responses}};
  std::string body = base64url_encode(json::serialize(payload));
  std::string sig = base64url_encode(hmac_sha256(key, body));
  return body + "." + sig;
}

// The answers carried by a state, or why it is refused.
std::expected<json::object, std::string> verify_state(std::string_view key, const RoundTarget& t,
                                                      std::string_view state) {
  auto dot = state.rfind('.');
  if (dot == std::string_view::npos) return std::unexpected("requestState is malformed");
  std::string_view body = state.substr(0, dot);
  std::string expected = base64url_encode(hmac_sha256(key, body));
  if (!constant_time_equal(expected, state.substr(dot + 1))) {
    return std::unexpected(
        "requestState failed integrity verification (it was altered, or it "
        "was issued by another server)");
  }
  auto raw = base64_decode(body);
  if (!raw) return std::unexpected("requestState is malformed");
  auto value = ::idp::json::parse(*raw);
  if (!value || !value->is_object()) return std::unexpected("requestState is malformed");
  const json::object& p = value->get_object();
  auto str = [&](std::string_view k) -> std::string_view {
    auto* s = ::idp::json::find_string(p, k);
    return s ? std::string_view(*s) : std::string_view("\x01");
  };
  if (str("m") != t.method || str("t") != t.target) {
    return std::unexpected("requestState belongs to another request (" + std::string(str("m")) +
                           " " + std::string(str("t")) + ")");
  }
  if (str("a") != t.args_digest()) {
    return std::unexpected(
        "requestState belongs to a request with other arguments; retry with "
        "the original arguments");
  }
  if (str("s") != t.subject_digest())
    return std::unexpected("requestState belongs to another caller");
  auto exp = p.find("e");
  if (exp == p.end() || !exp->value().is_int64() || exp->value().get_int64() < unix_now()) {
    return std::unexpected("requestState has expired; send the request again without it");
  }
  const json::object* r = ::idp::json::find_object(p, "r");
  return r ? *r : json::object{};
}

// Reads inputResponses and requestState of a modern tools/call, prompts/get or resources/read.
// The message of the -32602 error on malformed input or a refused state.
std::optional<std::string> begin_round(const ServerCore& core, RequestState& rs,
                                       const RoundTarget& t, const json::object& params) {
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
    auto carried = verify_state(core.state_key, t, *s);
    if (!carried) return carried.error();
    rs.input_responses = std::move(*carried);
    rs.resumed = true;
  }
  if (answers) {
    for (const auto& [k, v] : *answers) rs.input_responses[k] = v;
  }
  return std::nullopt;
}

// After the handler: -32021 when it needed an undeclared capability, an InputRequiredResult when
// it asked questions, nullopt when its own result stands.
std::optional<std::string> end_round(const ServerCore& core, RequestState& rs,
                                     const RoundTarget& t) {
  if (!rs.missing_capabilities.empty()) {
    std::string names;
    for (const auto& [k, v] : rs.missing_capabilities) {
      if (!names.empty()) names += ", ";
      names += std::string(k);
    }
    rs.http_status = 400;
    return fail(rs.id, jsonrpc::kMissingRequiredClientCapability,
                "Missing required client capability: this request needs '" + names +
                    "', which the request's _meta clientCapabilities does not declare",
                json::value(json::object{{"requiredCapabilities", rs.missing_capabilities}}));
  }
  if (rs.input_requests.empty()) return std::nullopt;
  json::object result{{"resultType", kResultInputRequired},
                      {"inputRequests", std::move(rs.input_requests)},
                      {"requestState", sign_state(core.state_key, t, rs.used_responses,
                                                  core.options.request_state_ttl)}};
  if (core.options.server_info_in_results) {
    result["_meta"] = json::object{{meta_keys::kServerInfo, core.server_info}};
  }
  return ok(rs.id, result);
}

}  // namespace

ServerCore::ServerCore(ServerOptions o) : options(std::move(o)) {
  server_info = json::value_from(options.info);
  complete_suffix = R"("resultType":"complete")";
  if (options.server_info_in_results) {
    complete_suffix += R"(,"_meta":{")";
    complete_suffix += meta_keys::kServerInfo;
    complete_suffix += R"(":)";
    complete_suffix += json::serialize(server_info);
    complete_suffix += '}';
  }
  cache_fields = R"("ttlMs":)" + std::to_string(std::max<std::int64_t>(0, options.cache_ttl_ms)) +
                 R"(,"cacheScope":")" + (options.cache_public ? "public" : "private") + '"';
  state_key =
      options.request_state_key.empty() ? random_token(32) : options.request_state_key.reveal();
}

json::object ServerCore::capabilities() const {
  json::object caps{{"tools", json::object{{"listChanged", true}}}, {"logging", json::object{}}};
  std::shared_lock lock(mu);
  if (!resources.empty() || !templates.empty()) {
    caps["resources"] = json::object{{"subscribe", true}, {"listChanged", true}};
  }
  if (!prompts.empty()) caps["prompts"] = json::object{{"listChanged", true}};
  if (!completers.empty()) caps["completions"] = json::object{};
  return caps;
}

bool ServerCore::modern_method_available(std::string_view method) const {
  if (method == "server/discover" || method == "tools/list" || method == "tools/call") return true;
  std::shared_lock lock(mu);
  if (method == "resources/list" || method == "resources/templates/list" ||
      method == "resources/read") {
    return !resources.empty() || !templates.empty();
  }
  if (method == "prompts/list" || method == "prompts/get") return !prompts.empty();
  if (method == "completion/complete") return !completers.empty();
  return false;
}

std::shared_ptr<const ToolEntry> ServerCore::find_tool(std::string_view name) const {
  std::shared_lock lock(mu);
  auto it = tools.find(name);
  return it == tools.end() ? nullptr : it->second;
}

std::string ServerCore::modern_result(std::string result_json, bool cacheable) const {
  // result_json is "{...}": reopen it and append the 2026-07-28 members.
  result_json.pop_back();
  if (result_json.size() > 1) result_json += ',';
  if (cacheable) {
    result_json += cache_fields;
    result_json += ',';
  }
  result_json += complete_suffix;
  result_json += '}';
  return result_json;
}

std::string ServerCore::reply(const RequestState& rs, json::object result, bool cacheable) const {
  if (!rs.modern) return jsonrpc::response(rs.id, result);
  if (auto it = result.find("_meta"); it != result.end()) {
    if (options.server_info_in_results) {
      if (auto* m = it->value().if_object(); m && !m->contains(meta_keys::kServerInfo)) {
        (*m)[meta_keys::kServerInfo] = server_info;
      }
    }
    if (!result.contains("resultType")) result["resultType"] = kResultComplete;
    if (cacheable) {
      result["ttlMs"] = std::max<std::int64_t>(0, options.cache_ttl_ms);
      result["cacheScope"] = options.cache_public ? "public" : "private";
    }
    return jsonrpc::response(rs.id, result);
  }
  return jsonrpc::response_raw(rs.id, modern_result(json::serialize(result), cacheable));
}

json::object ServerCore::initialize(Session& session, const json::object& params) {
  std::string requested;
  if (auto* v = ::idp::json::find_string(params, "protocolVersion")) requested = std::string(*v);
  session.protocol_version =
      is_supported_protocol_version(requested) ? requested : std::string(kLatestProtocolVersion);
  if (auto* caps = ::idp::json::find_object(params, "capabilities")) session.client_capabilities = *caps;
  if (auto* info = ::idp::json::find_object(params, "clientInfo")) session.client_info = *info;

  json::object result{{"protocolVersion", session.protocol_version},
                      {"capabilities", capabilities()},
                      {"serverInfo", server_info}};
  if (options.instructions) result["instructions"] = *options.instructions;
  return result;
}

void ServerCore::handle_notification(Session& session, const jsonrpc::Message& m) {
  if (m.method == "notifications/initialized") {
    std::lock_guard lock(session.mu);
    session.initialized = true;
    return;
  }
  if (m.method == "notifications/cancelled") {
    auto it = m.params.find("requestId");
    if (it == m.params.end()) return;
    std::shared_ptr<RequestState> target;
    {
      std::lock_guard lock(session.mu);
      auto f = session.in_flight.find(jsonrpc::id_key(it->value()));
      if (f != session.in_flight.end()) target = f->second.lock();
    }
    if (target) {
      log::debug("request {} cancelled by the client", json::serialize(it->value()));
      target->cancel();
    }
    return;
  }
  // notifications/roots/list_changed, notifications/progress, ...: nothing to do.
}

boost::asio::awaitable<std::optional<std::string>> ServerCore::handle_request(
    std::shared_ptr<Session> session, std::shared_ptr<RequestState> request,
    jsonrpc::Message m) {
  const json::value& id = m.id;
  const json::object& params = m.params;
  const std::string& method = m.method;
  RequestState& rs = *request;
  const bool modern = rs.modern;

  if (!modern && session) {
    if (method == "ping") co_return ok(id, json::object{});
    if (method == "initialize") co_return ok(id, initialize(*session, params));
  }

  if (method == "server/discover" && modern) {
    json::array versions;
    for (auto v : all_protocol_versions()) versions.emplace_back(v);
    json::object result{{"supportedVersions", std::move(versions)},
                        {"capabilities", capabilities()}};
    if (options.instructions) result["instructions"] = *options.instructions;
    co_return reply(rs, std::move(result), true);
  }

  if (method == "tools/list") {
    std::vector<std::shared_ptr<const ToolEntry>> entries;
    {
      std::shared_lock lock(mu);
      entries = snapshot(tools);
    }
    auto page = paginate(params, std::move(entries), options.page_size, "tools",
                         [](const ToolEntry& e) { return e.listing; });
    if (!page) co_return fail(id, jsonrpc::kInvalidParams, "invalid cursor");
    co_return reply(rs, std::move(*page), true);
  }

  if (method == "tools/call") {
    auto* name = ::idp::json::find_string(params, "name");
    if (!name) co_return fail(id, jsonrpc::kInvalidParams, "tools/call needs params.name (a string)");
    std::shared_ptr<const ToolEntry> entry = find_tool(*name);
    if (!entry) {
      co_return fail(id, jsonrpc::kInvalidParams, "Unknown tool: " + std::string(*name),
                     json::value(json::object{{"tool", json::string(*name)}}));
    }
    static const json::value kNoArgs = json::object{};
    const json::value* args_value = &kNoArgs;
    if (auto it = params.find("arguments"); it != params.end() && !it->value().is_null()) {
      args_value = &it->value();
      if (!args_value->is_object()) {
        co_return fail(id, jsonrpc::kInvalidParams, "tools/call: params.arguments must be an object");
      }
    }
    const json::object* args = &args_value->get_object();
    std::optional<RoundTarget> round;
    if (modern) {
      round = round_target(rs, method, entry->tool.name, params);
      if (auto problem = begin_round(*this, rs, *round, params)) {
        co_return fail(id, jsonrpc::kInvalidParams, "tools/call: " + *problem);
      }
    }
    CallToolResult result;
    if (entry->input) {
      if (auto problem = entry->input->validate(*args_value)) {
        result = CallToolResult::error("Invalid arguments for tool '" + entry->tool.name +
                                       "': " + *problem);
        if (modern) co_return jsonrpc::response_raw(id, modern_result(serialize(result), false));
        co_return jsonrpc::response_raw(id, serialize(result));
      }
    }
    ToolContext ctx(request);
    std::string failure;
    try {
      result = co_await entry->handler(*args, ctx);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (request->cancelled) co_return std::nullopt;
    if (modern) {
      if (auto answer = end_round(*this, rs, *round)) co_return answer;
    }
    if (!failure.empty()) {
      result = CallToolResult::error("Tool '" + entry->tool.name + "' failed: " + failure);
    } else if (entry->output && !result.is_error) {
      if (!result.structured_content) {
        result = CallToolResult::error("Tool '" + entry->tool.name +
                                       "' declares an outputSchema but returned no "
                                       "structuredContent");
      } else if (auto problem = entry->output->validate(json::value(*result.structured_content))) {
        result = CallToolResult::error("Tool '" + entry->tool.name +
                                       "' returned structuredContent that does not match its "
                                       "outputSchema: " + *problem);
      }
    }
    if (!modern) co_return jsonrpc::response_raw(id, serialize(result));
    if (!result.meta) co_return jsonrpc::response_raw(id, modern_result(serialize(result), false));
    if (options.server_info_in_results && !result.meta->contains(meta_keys::kServerInfo)) {
      (*result.meta)[meta_keys::kServerInfo] = server_info;
    }
    std::string body = serialize(result);
    body.pop_back();
    body += R"(,"resultType":"complete"})";
    co_return jsonrpc::response_raw(id, body);
  }

  if (method == "resources/list") {
    std::vector<std::shared_ptr<const ResourceEntry>> entries;
    {
      std::shared_lock lock(mu);
      entries = snapshot(resources);
    }
    auto page = paginate(params, std::move(entries), options.page_size, "resources",
                         [](const ResourceEntry& e) { return json::value_from(e.resource); });
    if (!page) co_return fail(id, jsonrpc::kInvalidParams, "invalid cursor");
    co_return reply(rs, std::move(*page), true);
  }

  if (method == "resources/templates/list") {
    std::vector<std::shared_ptr<const TemplateEntry>> entries;
    {
      std::shared_lock lock(mu);
      entries = templates;
    }
    auto page = paginate(params, std::move(entries), options.page_size, "resourceTemplates",
                         [](const TemplateEntry& e) { return json::value_from(e.tmpl); });
    if (!page) co_return fail(id, jsonrpc::kInvalidParams, "invalid cursor");
    co_return reply(rs, std::move(*page), true);
  }

  if (method == "resources/read") {
    auto* uri = ::idp::json::find_string(params, "uri");
    if (!uri) co_return fail(id, jsonrpc::kInvalidParams, "resources/read needs params.uri");
    std::string u(*uri);
    std::shared_ptr<const ResourceEntry> direct;
    std::shared_ptr<const TemplateEntry> tmpl;
    std::map<std::string, std::string> vars;
    {
      std::shared_lock lock(mu);
      if (auto it = resources.find(u); it != resources.end()) {
        direct = it->second;
      } else {
        for (const auto& t : templates) {
          vars.clear();
          if (match_template(t->tmpl.uri_template, u, &vars)) {
            tmpl = t;
            break;
          }
        }
      }
    }
    // 2026-07-28 replaced -32002 with -32602 (Invalid Params).
    const int not_found = modern ? jsonrpc::kInvalidParams : jsonrpc::kResourceNotFound;
    if (!direct && !tmpl) {
      co_return fail(id, not_found, "Resource not found: " + u,
                     json::value(json::object{{"uri", u}}));
    }
    std::optional<RoundTarget> round;
    if (modern) {
      round = round_target(rs, method, u, params);
      if (auto problem = begin_round(*this, rs, *round, params)) {
        co_return fail(id, jsonrpc::kInvalidParams, "resources/read: " + *problem);
      }
    }
    ToolContext ctx(request);
    Result<std::vector<ResourceContents>> contents =
        make_error(ErrorCode::kInternal, "no reader");
    std::string failure;
    try {
      if (direct) {
        contents = co_await direct->reader(u, ctx);
      } else {
        contents = co_await tmpl->reader(u, vars, ctx);
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (request->cancelled) co_return std::nullopt;
    if (modern) {
      if (auto answer = end_round(*this, rs, *round)) co_return answer;
    }
    if (!failure.empty()) {
      co_return fail(id, jsonrpc::kInternalError, "reading " + u + " failed: " + failure);
    }
    if (!contents) {
      int code =
          contents.error().code() == ErrorCode::kNotFound ? not_found : jsonrpc::kInternalError;
      co_return fail(id, code, contents.error().message(), json::value(json::object{{"uri", u}}));
    }
    co_return reply(rs, json::object{{"contents", json::value_from(*contents)}}, true);
  }

  if ((method == "resources/subscribe" || method == "resources/unsubscribe") && session) {
    auto* uri = ::idp::json::find_string(params, "uri");
    if (!uri) co_return fail(id, jsonrpc::kInvalidParams, method + " needs params.uri");
    std::lock_guard lock(session->mu);
    if (method == "resources/subscribe") {
      session->subscriptions.insert(std::string(*uri));
    } else {
      session->subscriptions.erase(std::string(*uri));
    }
    co_return ok(id, json::object{});
  }

  if (method == "prompts/list") {
    std::vector<std::shared_ptr<const PromptEntry>> entries;
    {
      std::shared_lock lock(mu);
      entries = snapshot(prompts);
    }
    auto page = paginate(params, std::move(entries), options.page_size, "prompts",
                         [](const PromptEntry& e) { return json::value_from(e.prompt); });
    if (!page) co_return fail(id, jsonrpc::kInvalidParams, "invalid cursor");
    co_return reply(rs, std::move(*page), true);
  }

  if (method == "prompts/get") {
    auto* name = ::idp::json::find_string(params, "name");
    if (!name) co_return fail(id, jsonrpc::kInvalidParams, "prompts/get needs params.name");
    std::shared_ptr<const PromptEntry> entry;
    {
      std::shared_lock lock(mu);
      auto it = prompts.find(std::string_view(*name));
      if (it != prompts.end()) entry = it->second;
    }
    if (!entry) co_return fail(id, jsonrpc::kInvalidParams, "Unknown prompt: " + std::string(*name));
    std::map<std::string, std::string> args;
    if (auto* a = ::idp::json::find_object(params, "arguments")) {
      for (const auto& [k, v] : *a) {
        if (!v.is_string()) {
          co_return fail(id, jsonrpc::kInvalidParams,
                         "prompt argument '" + std::string(k) + "' must be a string");
        }
        args[std::string(k)] = std::string(v.get_string());
      }
    }
    for (const auto& arg : entry->prompt.arguments) {
      if (arg.required && !args.contains(arg.name)) {
        co_return fail(id, jsonrpc::kInvalidParams,
                       "prompt '" + entry->prompt.name + "' needs argument '" + arg.name + "'");
      }
    }
    std::optional<RoundTarget> round;
    if (modern) {
      round = round_target(rs, method, entry->prompt.name, params);
      if (auto problem = begin_round(*this, rs, *round, params)) {
        co_return fail(id, jsonrpc::kInvalidParams, "prompts/get: " + *problem);
      }
    }
    ToolContext ctx(request);
    Result<GetPromptResult> result = make_error(ErrorCode::kInternal, "no handler");
    std::string failure;
    try {
      result = co_await entry->handler(args, ctx);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (request->cancelled) co_return std::nullopt;
    if (modern) {
      if (auto answer = end_round(*this, rs, *round)) co_return answer;
    }
    if (!failure.empty()) co_return fail(id, jsonrpc::kInternalError, failure);
    if (!result) co_return fail(id, jsonrpc::kInvalidParams, result.error().message());
    co_return reply(rs, json::value_from(*result).as_object());
  }

  if (method == "completion/complete") {
    auto* ref = ::idp::json::find_object(params, "ref");
    auto* argument = ::idp::json::find_object(params, "argument");
    if (!ref || !argument) {
      co_return fail(id, jsonrpc::kInvalidParams, "completion/complete needs params.ref and params.argument");
    }
    auto* type = ::idp::json::find_string(*ref, "type");
    const json::string* rname = nullptr;
    if (type && *type == "ref/prompt") rname = ::idp::json::find_string(*ref, "name");
    if (type && *type == "ref/resource") rname = ::idp::json::find_string(*ref, "uri");
    auto* aname = ::idp::json::find_string(*argument, "name");
    auto* avalue = ::idp::json::find_string(*argument, "value");
    if (!type || !rname || !aname) {
      co_return fail(id, jsonrpc::kInvalidParams, "completion/complete: malformed ref or argument");
    }
    Completer completer;
    {
      std::shared_lock lock(mu);
      auto it = completers.find(std::make_pair(std::string(*type), std::string(*rname)));
      if (it != completers.end()) completer = it->second;
    }
    json::array values;
    std::size_t total = 0;
    if (completer) {
      auto all = completer(*aname, avalue ? std::string_view(*avalue) : std::string_view{});
      total = all.size();
      for (std::size_t i = 0; i < all.size() && i < 100; ++i) values.emplace_back(all[i]);
    }
    bool more = total > values.size();
    co_return reply(rs, json::object{{"completion", json::object{{"values", std::move(values)},
                                                                 {"total", total},
                                                                 {"hasMore", more}}}});
  }

  if (method == "logging/setLevel" && session) {
    auto* level = ::idp::json::find_string(params, "level");
    auto parsed = level ? parse_log_level(*level) : std::nullopt;
    if (!parsed) {
      co_return fail(id, jsonrpc::kInvalidParams,
                     "logging/setLevel: level must be one of debug, info, notice, warning, error, "
                     "critical, alert, emergency");
    }
    session->min_log_level = static_cast<int>(*parsed);
    co_return ok(id, json::object{});
  }

  if (modern) rs.http_status = 404;
  co_return fail(id, jsonrpc::kMethodNotFound, "Method not found: " + method);
}

// ---- x-mcp-header annotations -------------------------------------------------------------

namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Keywords whose values are data, not subschemas.
bool is_data_keyword(std::string_view k) {
  return k == "enum" || k == "const" || k == "default" || k == "examples" || k == "required" ||
         k == "x-mcp-header";
}

struct HeaderScan {
  std::vector<ParamHeader> found;
  std::string problem;

  void any(const json::value& v) {
    if (auto* o = v.if_object()) {
      schema(*o, false, {});
    } else if (auto* a = v.if_array()) {
      for (const auto& e : *a) any(e);
    }
  }

  // `on_chain`: reachable from the root through "properties" alone (SEP-2243).
  void schema(const json::object& o, bool on_chain, const std::vector<std::string>& path) {
    if (!problem.empty()) return;
    if (auto it = o.find("x-mcp-header"); it != o.end()) annotation(o, it->value(), on_chain, path);
    for (const auto& [k, v] : o) {
      if (is_data_keyword(k)) continue;
      if (k == "properties" && v.is_object()) {
        for (const auto& [name, sub] : v.get_object()) {
          auto* so = sub.if_object();
          if (!so) continue;
          std::vector<std::string> p = path;
          p.emplace_back(name);
          schema(*so, on_chain, p);
        }
      } else {
        any(v);
      }
    }
  }

  void annotation(const json::object& o, const json::value& value, bool on_chain,
                  const std::vector<std::string>& path) {
    std::string where = path.empty() ? "the schema root" : "property '" + path.back() + "'";
    if (!on_chain || path.empty()) {
      problem = "x-mcp-header on " + where +
                " is not reachable from the root through \"properties\" alone";
      return;
    }
    auto* name = value.if_string();
    if (!name || name->empty() || !std::all_of(name->begin(), name->end(), is_tchar)) {
      problem = "x-mcp-header of " + where + " must be a non-empty HTTP header token";
      return;
    }
    auto* type = ::idp::json::find_string(o, "type");
    if (!type || (*type != "string" && *type != "integer" && *type != "boolean")) {
      problem = "x-mcp-header of " + where +
                " needs \"type\" string, integer or boolean (numbers and structured values "
                "cannot be mirrored into a header)";
      return;
    }
    for (const auto& f : found) {
      if (http_iequals(f.header, *name)) {
        problem = "x-mcp-header '" + std::string(*name) + "' is used twice";
        return;
      }
    }
    found.push_back(ParamHeader{path, std::string(*name)});
  }

  static bool http_iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  }
};

}  // namespace

}  // namespace detail

// ---- Server --------------------------------------------------------------------------------

Server::Server(ServerOptions options)
    : core_(std::make_unique<detail::ServerCore>(std::move(options))) {
  if (core_->options.page_size == 0) core_->options.page_size = 100;
}

Server::~Server() = default;

Result<void> Server::add_tool(Tool tool, ToolHandler handler) {
  if (tool.name.empty()) return make_error(ErrorCode::kInvalidArgument, "a tool needs a name");
  if (!handler) {
    return make_error(ErrorCode::kInvalidArgument, "tool '" + tool.name + "' needs a handler");
  }
  auto entry = std::make_shared<detail::ToolEntry>();
  auto input = SchemaValidator::compile(tool.input_schema);
  if (!input) return std::unexpected(input.error().with_context("tool '" + tool.name + "' inputSchema"));
  entry->input = std::move(*input);
  if (tool.output_schema) {
    auto output = SchemaValidator::compile(*tool.output_schema);
    if (!output) {
      return std::unexpected(output.error().with_context("tool '" + tool.name + "' outputSchema"));
    }
    entry->output = std::move(*output);
  }
  detail::HeaderScan scan;
  scan.schema(tool.input_schema, true, {});
  if (!scan.problem.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "tool '" + tool.name + "' inputSchema: " + scan.problem);
  }
  entry->param_headers = std::move(scan.found);
  entry->listing = json::value_from(tool);
  entry->tool = std::move(tool);
  entry->handler = std::move(handler);
  {
    std::unique_lock lock(core_->mu);
    if (core_->tools.contains(entry->tool.name)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a tool named '" + entry->tool.name + "' is already registered");
    }
    entry->seq = core_->next_seq++;
    if (!entry->param_headers.empty()) ++core_->tools_with_param_headers;
    core_->tools.emplace(entry->tool.name, std::move(entry));
  }
  core_->broadcast("notifications/tools/list_changed", {});
  return {};
}

bool Server::remove_tool(std::string_view name) {
  {
    std::unique_lock lock(core_->mu);
    auto it = core_->tools.find(name);
    if (it == core_->tools.end()) return false;
    if (!it->second->param_headers.empty()) --core_->tools_with_param_headers;
    core_->tools.erase(it);
  }
  core_->broadcast("notifications/tools/list_changed", {});
  return true;
}

Result<void> Server::add_resource(Resource resource, ResourceReader reader) {
  if (resource.uri.empty() || resource.name.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "a resource needs a uri and a name");
  }
  auto entry = std::make_shared<detail::ResourceEntry>();
  entry->resource = std::move(resource);
  entry->reader = std::move(reader);
  {
    std::unique_lock lock(core_->mu);
    if (core_->resources.contains(entry->resource.uri)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "resource " + entry->resource.uri + " is already registered");
    }
    entry->seq = core_->next_seq++;
    core_->resources.emplace(entry->resource.uri, std::move(entry));
  }
  core_->broadcast("notifications/resources/list_changed", {});
  return {};
}

Result<void> Server::add_resource_template(ResourceTemplate tmpl, TemplateReader reader) {
  if (tmpl.uri_template.empty() || tmpl.name.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "a resource template needs a uriTemplate and a name");
  }
  auto entry = std::make_shared<detail::TemplateEntry>();
  entry->tmpl = std::move(tmpl);
  entry->reader = std::move(reader);
  {
    std::unique_lock lock(core_->mu);
    entry->seq = core_->next_seq++;
    core_->templates.push_back(std::move(entry));
  }
  core_->broadcast("notifications/resources/list_changed", {});
  return {};
}

Result<void> Server::add_prompt(Prompt prompt, PromptHandler handler) {
  if (prompt.name.empty()) return make_error(ErrorCode::kInvalidArgument, "a prompt needs a name");
  auto entry = std::make_shared<detail::PromptEntry>();
  entry->prompt = std::move(prompt);
  entry->handler = std::move(handler);
  {
    std::unique_lock lock(core_->mu);
    if (core_->prompts.contains(entry->prompt.name)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "a prompt named '" + entry->prompt.name + "' is already registered");
    }
    entry->seq = core_->next_seq++;
    core_->prompts.emplace(entry->prompt.name, std::move(entry));
  }
  core_->broadcast("notifications/prompts/list_changed", {});
  return {};
}

bool Server::remove_prompt(std::string_view name) {
  {
    std::unique_lock lock(core_->mu);
    auto it = core_->prompts.find(name);
    if (it == core_->prompts.end()) return false;
    core_->prompts.erase(it);
  }
  core_->broadcast("notifications/prompts/list_changed", {});
  return true;
}

void Server::add_completion(std::string ref_type, std::string ref_name, Completer completer) {
  std::unique_lock lock(core_->mu);
  core_->completers[{std::move(ref_type), std::move(ref_name)}] = std::move(completer);
}

void Server::notify_resource_updated(std::string_view uri) {
  core_->broadcast("notifications/resources/updated", json::object{{"uri", uri}}, uri);
}

const ServerOptions& Server::options() const { return core_->options; }

std::vector<Tool> Server::tools() const {
  std::shared_lock lock(core_->mu);
  std::vector<std::shared_ptr<const detail::ToolEntry>> entries;
  for (const auto& [k, v] : core_->tools) entries.push_back(v);
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a->seq < b->seq; });
  std::vector<Tool> out;
  for (const auto& e : entries) out.push_back(e->tool);
  return out;
}

detail::ServerCore& Server::core() { return *core_; }

}  // namespace idp::mcp

// connect(): which protocol era a server speaks and the handshake of each. Auto mode sends
// server/discover first (2026-07-28) and falls back to initialize (2025-11-25, then older
// versions) when the server shows no sign of the modern era; the answer is remembered per URL
// for the process. initialize() also renews a session the server forgot: it builds the new
// session aside and publishes it only when the handshake is complete, so concurrent requests
// never go out with a half-made session.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "client_impl.h"
#include "idp/core/json_util.h"
#include "idp/core/log.h"

namespace idp::mcp {

namespace net = boost::asio;
using net::awaitable;

// Coroutines here follow the GCC 12 rule (docs/architecture.md).

namespace {

struct EraCache {
  std::mutex mu;
  std::map<std::string, ProtocolEra, std::less<>> eras;
};

EraCache& era_cache() {
  static EraCache cache;
  return cache;
}

bool lists_version(const json::array* versions, std::string_view v) {
  if (!versions) return false;
  for (const auto& x : *versions) {
    if (x.is_string() && x.get_string() == v) return true;
  }
  return false;
}

std::string join(const json::array* versions) {
  std::string out;
  if (!versions) return out;
  for (const auto& x : *versions) {
    if (!x.is_string()) continue;
    if (!out.empty()) out += ", ";
    out += std::string(x.get_string());
  }
  return out;
}

std::string join_versions(std::span<const std::string_view> versions) {
  std::string out;
  for (auto v : versions) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

// The legacy HTTP+SSE transport speaks only this version.
constexpr std::string_view kLegacySseVersion = "2024-11-05";

}  // namespace

std::optional<ProtocolEra> remembered_era(const std::string& url) {
  auto& c = era_cache();
  std::lock_guard lock(c.mu);
  auto it = c.eras.find(url);
  if (it == c.eras.end()) return std::nullopt;
  return it->second;
}

void remember_era(const std::string& url, ProtocolEra era) {
  auto& c = era_cache();
  std::lock_guard lock(c.mu);
  if (c.eras.size() >= 4096) c.eras.clear();  // a bound; forgetting only costs a probe
  c.eras[url] = era;
}

void forget_era(const std::string& url) {
  auto& c = era_cache();
  std::lock_guard lock(c.mu);
  c.eras.erase(url);
}

void forget_protocol_eras() {
  auto& c = era_cache();
  std::lock_guard lock(c.mu);
  c.eras.clear();
}

std::string_view to_string(ProtocolEra era) {
  switch (era) {
    case ProtocolEra::kModern:
      return "modern";
    case ProtocolEra::kLegacy:
      return "legacy";
    case ProtocolEra::kAuto:
      break;
  }
  return "auto";
}

void Client::Impl::apply_server_description(const json::object& o, bool modern_era) {
  const json::object* info = nullptr;
  if (modern_era) {
    const json::object* meta = ::idp::json::find_object(o, "_meta");
    info = meta ? ::idp::json::find_object(*meta, meta_keys::kServerInfo) : nullptr;
  }
  if (!info) info = ::idp::json::find_object(o, "serverInfo");  // modern: seen in test servers
  std::optional<Implementation> parsed;
  if (info) {
    try {
      parsed = json::value_to<Implementation>(json::value(*info));
    } catch (const std::exception&) {
    }
  }
  std::lock_guard lock(mu);
  if (parsed) server_info = std::move(*parsed);
  if (auto* caps = ::idp::json::find_object(o, "capabilities")) server_capabilities = *caps;
  task_wire.store(wire_of(server_capabilities, modern_era));
  if (auto* ins = ::idp::json::find_string(o, "instructions")) instructions = std::string(*ins);
}

awaitable<Result<void>> Client::Impl::initialize(bool renewing) {
  if (legacy()) {
    auto opened = co_await legacy_open();
    if (!opened) co_return std::unexpected(opened.error());
  }
  std::vector<std::string_view> versions(supported_protocol_versions().begin(),
                                         supported_protocol_versions().end());
  if (legacy()) versions = {kLegacySseVersion};
  std::optional<Error> last;
  bool started_again = false;
  for (std::size_t at = 0; at < versions.size(); ++at) {
    const std::string_view version = versions[at];
    json::object params{{"protocolVersion", version},
                        {"capabilities", capabilities(false)},
                        {"clientInfo", json::value_from(opt.info)}};
    ReplyInfo info;
    SendOptions send;
    send.allow_reinit = false;
    send.envelope = Envelope{.with_session = false, .modern = false, .protocol_version = ""};
    send.info = &info;
    const std::string_view method = "initialize";
    CallOptions defaults;
    auto r = co_await send_request(method, std::move(params), std::move(defaults), std::move(send));
    if (!r) {
      // A server that rejects the version outright (HTTP 400 / JSON-RPC error): try older.
      last = r.error();
      if (r.error().code() == ErrorCode::kProtocol &&
          r.error().message().find("ersion") != std::string::npos) {
        continue;
      }
      co_return std::unexpected(r.error());
    }
    const json::object* o = r->if_object();
    const json::string* v = o ? ::idp::json::find_string(*o, "protocolVersion") : nullptr;
    if (!v) {
      co_return make_error(ErrorCode::kProtocol,
                           where("initialize") + ": the result has no protocolVersion");
    }
    const bool supported =
        legacy() ? std::string_view(*v) == kLegacySseVersion : is_supported_protocol_version(*v);
    if (!supported) {
      co_return make_error(ErrorCode::kProtocol,
                           where("initialize") + ": the server speaks MCP " + std::string(*v) +
                               ", which this client does not support (it speaks " +
                               join_versions(supported_protocol_versions()) + ")");
    }
    const std::string new_version(*v);
    const std::string new_session = info.session_id;
    // The handshake ends with notifications/initialized in the new session, before anything
    // else may use it.
    Envelope in_new_session{.with_session = true,
                            .modern = false,
                            .protocol_version = new_version,
                            .session_id = new_session};
    std::string note_body = jsonrpc::notification("notifications/initialized", {});
    std::string what = "notifications/initialized";
    std::optional<std::chrono::milliseconds> default_timeout;
    int note_status = 0;
    auto note = co_await post_message(std::move(note_body), std::move(what), default_timeout,
                                      std::move(in_new_session), &note_status);
    if (!note && note_status == 404 && !new_session.empty() && !started_again) {
      // The server does not know the session it just created: behind a load balancer, the
      // notification reached another replica. A 404 for a session means a new initialize
      // (MCP 2025-11-25, session management); once, with the same version.
      log::info("{}: the server does not know the new session (HTTP 404); initializing again",
                where("initialize"));
      started_again = true;
      --at;  // unsigned: wraps and comes back to the same index
      continue;
    }
    if (!note) {
      // Leave no orphan behind: the server would keep the session until it expires.
      if (!new_session.empty()) {
        net::co_spawn(executor, delete_session(new_session), net::detached);
      }
      co_return std::unexpected(note.error());
    }
    bool closed_meanwhile = false;
    {
      std::lock_guard lock(mu);
      closed_meanwhile = renewing && closing;
    }
    if (closed_meanwhile) {
      // close() ran while the session was being renewed (by the standalone stream): leave no
      // session behind.
      if (!new_session.empty()) co_await delete_session(new_session);
      co_return make_error(ErrorCode::kCancelled, where("initialize") + ": the client was closed");
    }
    apply_server_description(*o, false);
    {
      std::lock_guard lock(mu);
      protocol_version = new_version;
      session_id = new_session;
      ++session_generation;
      modern = false;
      connected = true;
      era = ProtocolEra::kLegacy;
    }
    if (!legacy() && !renewing) co_await start_listening();
    co_return Result<void>{};
  }
  co_return std::unexpected(last.value_or(
      Error(ErrorCode::kProtocol, where("initialize") + ": no common protocol version")));
}

// server/discover. true: the server speaks 2026-07-28 (the era is set up). false: it gave no
// modern evidence and `fallback` allows the initialize handshake; `definitive` then says the
// answer was a clear "not modern" (worth remembering) rather than a timeout or a 5xx. An error:
// negotiation cannot go on (no answer, authentication, a modern server that rejects this client,
// or no fallback allowed).
awaitable<Result<bool>> Client::Impl::discover(bool fallback, bool& definitive) {
  definitive = false;
  const std::string_view method = "server/discover";
  bool corrected = false;
  for (;;) {
    ReplyInfo failure;
    SendOptions send;
    send.allow_reinit = false;
    send.envelope = Envelope{.with_session = false,
                             .modern = true,
                             .protocol_version = std::string(kModernProtocolVersion)};
    send.info = &failure;
    json::object params;
    CallOptions options;
    // A legacy server that never answers unknown methods must not hold auto mode for long.
    if (fallback) options.timeout = std::min(opt.timeout, std::chrono::milliseconds(10'000));
    auto r = co_await send_request(method, std::move(params), std::move(options), std::move(send));
    if (r) {
      const json::object* o = r->if_object();
      const json::array* versions = o ? ::idp::json::find_array(*o, "supportedVersions") : nullptr;
      if (lists_version(versions, kModernProtocolVersion)) {
        apply_server_description(*o, true);
        std::lock_guard lock(mu);
        modern = true;
        protocol_version = std::string(kModernProtocolVersion);
        session_id.clear();
        co_return true;
      }
      if (!fallback) {
        co_return make_error(ErrorCode::kProtocol,
                             where(method) + ": the server does not offer MCP " +
                                 std::string(kModernProtocolVersion) +
                                 (versions ? " (it offers " + join(versions) + ")"
                                           : " (the answer is not a DiscoverResult)") +
                                 "; try the auto or legacy protocol era");
      }
      definitive = true;
      co_return false;
    }
    const Error& e = r.error();
    const int code = failure.rpc ? failure.rpc->code : 0;
    if (code == jsonrpc::kUnsupportedProtocolVersion) {
      const json::object* data = failure.rpc->data ? failure.rpc->data->if_object() : nullptr;
      const json::array* supported = data ? ::idp::json::find_array(*data, "supported") : nullptr;
      if (lists_version(supported, kModernProtocolVersion) && !corrected) {
        corrected = true;  // the server named our version after all: one corrected retry
        continue;
      }
      bool any_modern = false;
      if (supported) {
        for (const auto& v : *supported) {
          any_modern = any_modern || (v.is_string() && v.get_string() > "2026");
        }
      }
      if (!any_modern && fallback) {  // no list at all: not a modern error either
        definitive = supported != nullptr;
        co_return false;
      }
      co_return make_error(ErrorCode::kProtocol,
                           where(method) + ": the server does not support MCP " +
                               std::string(kModernProtocolVersion) +
                               (supported ? " (it supports " + join(supported) + ")" : ""));
    }
    switch (e.code()) {
      case ErrorCode::kUnauthenticated:
      case ErrorCode::kPermissionDenied:
      case ErrorCode::kUnavailable:
      case ErrorCode::kCancelled:
      case ErrorCode::kInvalidArgument:
        co_return std::unexpected(e);
      default:
        break;
    }
    if (!fallback) {
      co_return make_error(e.code(), e.message() + " (no MCP " +
                                         std::string(kModernProtocolVersion) +
                                         " here; try the auto or legacy protocol era)");
    }
    if (code == jsonrpc::kHeaderMismatch || code == jsonrpc::kMissingRequiredClientCapability) {
      // A modern server that rejects this request; a dual-era one may still take initialize.
      log::warn("{}: falling back to initialize: {}", url, e.message());
      co_return false;
    }
    const int st = failure.status;
    definitive = (st >= 400 && st < 500 && st != 408 && st != 429) || (st == 200 && failure.rpc);
    log::debug("{}: no 2026-07-28 ({}); using initialize", url, e.message());
    co_return false;
  }
}

awaitable<Result<void>> Client::Impl::connect() {
  {
    std::lock_guard lock(mu);
    closing = false;
    tools_cache.reset();
    tool_headers.clear();
  }
  auto as_modern = [this]() -> awaitable<Result<void>> {
    {
      std::lock_guard lock(mu);
      connected = true;
      era = ProtocolEra::kModern;
    }
    co_await start_listening();
    co_return Result<void>{};
  };
  if (legacy() || opt.protocol_era == ProtocolEra::kLegacy) {
    auto r = co_await initialize(false);
    co_return r;
  }
  bool definitive = false;
  if (opt.protocol_era == ProtocolEra::kModern) {
    auto d = co_await discover(false, definitive);
    if (!d) co_return std::unexpected(d.error());
    auto r = co_await as_modern();
    co_return r;
  }
  if (remembered_era(url) == ProtocolEra::kLegacy) {
    auto r = co_await initialize(false);
    if (r || r.error().code() != ErrorCode::kProtocol) co_return r;
    // The server may have moved on to the modern era: probe again.
    forget_era(url);
    auto d = co_await discover(true, definitive);
    if (!d || !*d) co_return r;
    remember_era(url, ProtocolEra::kModern);
    auto m = co_await as_modern();
    co_return m;
  }
  auto d = co_await discover(true, definitive);
  if (!d) co_return std::unexpected(d.error());
  if (*d) {
    remember_era(url, ProtocolEra::kModern);
    auto m = co_await as_modern();
    co_return m;
  }
  auto r = co_await initialize(false);
  if (r && definitive) remember_era(url, ProtocolEra::kLegacy);
  co_return r;
}

}  // namespace idp::mcp

#include "streamable_http_session.h"

#include "idp/core/json_util.h"
#include "idp/core/random.h"

namespace idp::mcp {

std::string session_owner(const Identity& identity) {
  if (!identity.authenticated) return {};
  std::string_view client;
  for (std::string_view claim : {"client_id", "azp", "aud"}) {
    if (auto* s = ::idp::json::find_string(identity.claims, claim)) {
      client = *s;
      break;
    }
  }
  // NUL cannot occur in either part, so no two identities share a key.
  std::string owner = "sub:" + identity.subject;
  owner += '\0';
  owner += client;
  return owner;
}

void Session::notify(std::string message) {
  std::shared_ptr<EventStream> s;
  {
    std::lock_guard lock(mu);
    s = standalone;
  }
  if (s) s->push(std::move(message));
}

void Session::remember_stream(const std::shared_ptr<EventStream>& stream, std::size_t retained) {
  std::lock_guard lock(mu);
  streams[stream->id()] = stream;
  stream_order.push_back(stream->id());
  while (stream_order.size() > retained) {
    streams.erase(stream_order.front());
    stream_order.pop_front();
  }
}

std::shared_ptr<EventStream> Session::find_stream(std::string_view stream_id) {
  std::lock_guard lock(mu);
  if (stream_id == "g") return standalone;
  auto it = streams.find(stream_id);
  return it == streams.end() ? nullptr : it->second;
}

bool Session::busy() {
  std::lock_guard lock(mu);
  return !in_flight.empty() || (standalone && standalone->attached());
}

void Session::end() {
  closed = true;
  std::vector<std::shared_ptr<RequestState>> running;
  std::vector<std::shared_ptr<EventStream>> ended;
  {
    std::lock_guard lock(mu);
    for (auto& [k, w] : in_flight) {
      if (auto r = w.lock()) running.push_back(r);
    }
    for (auto& [k, st] : streams) ended.push_back(st);
    if (standalone) ended.push_back(standalone);
  }
  for (auto& r : running) r->cancel();
  for (auto& st : ended) st->complete(std::nullopt);
}

std::int64_t SessionTable::now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<Session> SessionTable::create(std::string owner) {
  auto s = std::make_shared<Session>();
  s->last_used_ns = now_ns();
  s->max_subscriptions = max_subscriptions_;
  s->owner = std::move(owner);
  s->id = random_token(32);
  s->standalone = std::make_shared<EventStream>("g", replay_events_);
  // Reserve a place first: the bound holds across shards.
  if (count_.fetch_add(1) >= max_sessions_) {
    count_.fetch_sub(1);
    return nullptr;
  }
  Shard& sh = shard_of(s->id);
  std::lock_guard lock(sh.mu);
  sh.sessions.emplace(s->id, s);
  return s;
}

std::shared_ptr<Session> SessionTable::ephemeral() const {
  auto s = std::make_shared<Session>();
  s->last_used_ns = now_ns();
  s->max_subscriptions = max_subscriptions_;
  return s;
}

std::shared_ptr<Session> SessionTable::find(std::string_view id, std::string_view owner) {
  std::shared_ptr<Session> s;
  {
    Shard& sh = shard_of(id);
    std::lock_guard lock(sh.mu);
    auto it = sh.sessions.find(id);
    if (it != sh.sessions.end()) s = it->second;
  }
  if (!s || s->owner != owner) return nullptr;
  // Written only when it moved by a millisecond or more: requests of one session on several
  // threads would otherwise take turns owning its cache line for nothing (expiry is coarser).
  auto now = now_ns();
  if (now - s->last_used_ns.load(std::memory_order_relaxed) >= 1'000'000) {
    s->last_used_ns.store(now, std::memory_order_relaxed);
  }
  return s;
}

std::shared_ptr<Session> SessionTable::remove(std::string_view id) {
  Shard& sh = shard_of(id);
  std::lock_guard lock(sh.mu);
  auto it = sh.sessions.find(id);
  if (it == sh.sessions.end()) return nullptr;
  auto s = std::move(it->second);
  sh.sessions.erase(it);
  count_.fetch_sub(1);
  return s;
}

std::vector<std::shared_ptr<Session>> SessionTable::remove_idle(std::int64_t limit_ns) {
  std::vector<std::shared_ptr<Session>> expired;
  for (Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (auto it = sh.sessions.begin(); it != sh.sessions.end();) {
      Session& s = *it->second;
      if (s.last_used_ns.load() < limit_ns && !s.busy()) {
        expired.push_back(std::move(it->second));
        it = sh.sessions.erase(it);
        count_.fetch_sub(1);
      } else {
        ++it;
      }
    }
  }
  return expired;
}

std::vector<std::shared_ptr<Session>> SessionTable::all() const {
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(count_.load());
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (const auto& [k, s] : sh.sessions) out.push_back(s);
  }
  return out;
}

std::size_t SessionTable::size() const { return count_.load(); }

void HttpRequest::close_stream() {
  auto s = session.lock();
  if (!s || s->id.empty() || !streaming) return;  // only a session's streams can be resumed
  own_stream.request_close();
}

}  // namespace idp::mcp

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
  std::lock_guard lock(mu_);
  if (sessions_.size() >= max_sessions_) return nullptr;
  sessions_.emplace(s->id, s);
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
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end()) s = it->second;
  }
  if (!s || s->owner != owner) return nullptr;
  s->last_used_ns = now_ns();
  return s;
}

std::shared_ptr<Session> SessionTable::remove(std::string_view id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  auto s = std::move(it->second);
  sessions_.erase(it);
  return s;
}

std::vector<std::shared_ptr<Session>> SessionTable::remove_idle(std::int64_t limit_ns) {
  std::vector<std::shared_ptr<Session>> expired;
  std::lock_guard lock(mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    Session& s = *it->second;
    if (s.last_used_ns.load() < limit_ns && !s.busy()) {
      expired.push_back(std::move(it->second));
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

std::vector<std::shared_ptr<Session>> SessionTable::all() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(sessions_.size());
  for (const auto& [k, s] : sessions_) out.push_back(s);
  return out;
}

std::size_t SessionTable::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

void HttpRequest::close_stream() {
  auto s = session.lock();
  if (!s || s->id.empty() || !streaming) return;  // only a session's streams can be resumed
  own_stream.request_close();
}

}  // namespace idp::mcp

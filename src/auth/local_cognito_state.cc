#include "local_cognito_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "idp/core/log.h"
#include "idp/core/random.h"

namespace idp::auth::local {

namespace bj = boost::json;

namespace {

constexpr int kFileVersion = 1;

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string b64d(const bj::value& v) {
  auto d = base64_decode(std::string_view(v.as_string()));
  if (!d) throw std::runtime_error("bad base64");
  return *d;
}

std::string str(const bj::object& o, std::string_view name) {
  return std::string(o.at(name).as_string());
}

User user_from_json(const bj::object& uo) {
  User u;
  u.username = str(uo, "username");
  u.sub = str(uo, "sub");
  u.status = str(uo, "status");
  u.enabled = uo.at("enabled").as_bool();
  u.created = uo.at("created").to_number<std::int64_t>();
  u.modified = uo.at("modified").to_number<std::int64_t>();
  for (const auto& av : uo.at("attributes").as_array()) {
    const auto& aa = av.as_array();
    u.attributes.emplace_back(std::string(aa.at(0).as_string()), std::string(aa.at(1).as_string()));
  }
  const auto& pw = uo.at("password").as_object();
  u.password.iterations = pw.at("iterations").to_number<int>();
  u.password.salt = b64d(pw.at("salt"));
  u.password.hash = b64d(pw.at("hash"));
  if (const auto* groups = uo.if_contains("groups")) {  // absent in files written before groups
    for (const auto& g : groups->as_array()) u.groups.emplace_back(g.as_string());
  }
  return u;
}

Group group_from_json(const bj::object& go) {
  Group g;
  g.name = str(go, "name");
  g.description = str(go, "description");
  if (const auto* p = go.if_contains("precedence"); p && !p->is_null()) {
    g.precedence = p->to_number<std::int64_t>();
  }
  g.role_arn = str(go, "role_arn");
  g.created = go.at("created").to_number<std::int64_t>();
  g.modified = go.at("modified").to_number<std::int64_t>();
  return g;
}

bj::object group_to_json(const Group& g) {
  bj::object o{{"name", g.name},
               {"description", g.description},
               {"role_arn", g.role_arn},
               {"created", g.created},
               {"modified", g.modified}};
  if (g.precedence) o["precedence"] = *g.precedence;
  return o;
}

bj::array strings_json(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.push_back(bj::string(s));
  return a;
}

// Members added after version 1 are optional when read.
std::vector<std::string> strings_from(const bj::object& o, std::string_view name) {
  std::vector<std::string> out;
  if (const auto* a = o.if_contains(name)) {
    for (const auto& v : a->as_array()) out.emplace_back(v.as_string());
  }
  return out;
}

bj::object resource_server_to_json(const ResourceServer& r) {
  bj::array scopes;
  for (const auto& [n, d] : r.scopes) scopes.push_back(bj::array{bj::string(n), bj::string(d)});
  return bj::object{{"identifier", r.identifier}, {"name", r.name}, {"scopes", std::move(scopes)}};
}

ResourceServer resource_server_from_json(const bj::object& o) {
  ResourceServer r;
  r.identifier = str(o, "identifier");
  r.name = str(o, "name");
  for (const auto& sv : o.at("scopes").as_array()) {
    const auto& sa = sv.as_array();
    r.scopes.emplace_back(std::string(sa.at(0).as_string()), std::string(sa.at(1).as_string()));
  }
  return r;
}

bj::object user_to_json(const User& u) {
  bj::array groups;
  for (const auto& g : u.groups) groups.push_back(bj::string(g));
  bj::array attributes;
  for (const auto& [n, v] : u.attributes)
    attributes.push_back(bj::array{bj::string(n), bj::string(v)});
  bj::object password{{"alg", "pbkdf2-hmac-sha256"},
                      {"iterations", u.password.iterations},
                      {"salt", base64_encode(u.password.salt)},
                      {"hash", base64_encode(u.password.hash)}};
  return bj::object{{"username", u.username},
                    {"sub", u.sub},
                    {"status", u.status},
                    {"enabled", u.enabled},
                    {"created", u.created},
                    {"modified", u.modified},
                    {"attributes", std::move(attributes)},
                    {"password", std::move(password)},
                    {"groups", std::move(groups)}};
}

}  // namespace

bj::object to_json(const State& state, std::int64_t now) {
  bj::array pools;
  for (const auto& [id, p] : state.pools) {
    bj::array users;
    for (const auto& [name, u] : p.users) users.push_back(user_to_json(u));
    bj::array groups;
    for (const auto& [name, g] : p.groups) groups.push_back(group_to_json(g));
    bj::array servers;
    for (const auto& [id, r] : p.resource_servers) servers.push_back(resource_server_to_json(r));
    pools.push_back(bj::object{{"id", p.id},
                               {"name", p.name},
                               {"created", p.created},
                               {"private_key_pem", p.key->pem().reveal()},
                               {"users", std::move(users)},
                               {"groups", std::move(groups)},
                               {"resource_servers", std::move(servers)}});
  }
  bj::array clients;
  for (const auto& [id, c] : state.clients) {
    bj::array flows;
    for (const auto& f : c.flows) flows.push_back(bj::string(f));
    bj::object co{{"id", c.id},
                  {"pool", c.pool_id},
                  {"name", c.name},
                  {"flows", std::move(flows)},
                  {"prevent_user_existence_errors", c.prevent_user_existence_errors},
                  {"created", c.created},
                  {"oauth_flows", strings_json(c.oauth_flows)},
                  {"oauth_scopes", strings_json(c.oauth_scopes)},
                  {"oauth_enabled", c.oauth_enabled}};
    if (c.secret) co["secret"] = c.secret->reveal();
    clients.push_back(std::move(co));
  }
  bj::array refresh;
  for (const auto& [hash, r] : state.refresh) {
    if (r.expires <= now) continue;
    refresh.push_back(bj::object{{"sha256", base64_encode(hash)},
                                 {"pool", r.pool_id},
                                 {"client", r.client_id},
                                 {"username", r.username},
                                 {"auth_time", r.auth_time},
                                 {"expires", r.expires}});
  }
  return bj::object{{"version", kFileVersion},
                    {"pools", std::move(pools)},
                    {"clients", std::move(clients)},
                    {"refresh_tokens", std::move(refresh)}};
}

State from_json(const bj::object& root, std::int64_t now) {
  State state;
  for (const auto& pv : root.at("pools").as_array()) {
    const auto& po = pv.as_object();
    Pool p;
    p.id = str(po, "id");
    p.name = str(po, "name");
    p.created = po.at("created").to_number<std::int64_t>();
    try {
      p.key = SigningKey::from_pem(Secret(str(po, "private_key_pem")));
    } catch (const std::exception& e) {
      throw std::runtime_error("pool " + p.id + ": " + e.what());
    }
    for (const auto& uv : po.at("users").as_array()) {
      User u = user_from_json(uv.as_object());
      std::string name = u.username;
      p.users.emplace(std::move(name), std::move(u));
    }
    if (const auto* groups = po.if_contains("groups")) {
      for (const auto& gv : groups->as_array()) {
        Group g = group_from_json(gv.as_object());
        std::string name = g.name;
        p.groups.emplace(std::move(name), std::move(g));
      }
    }
    if (const auto* servers = po.if_contains("resource_servers")) {
      for (const auto& rv : servers->as_array()) {
        ResourceServer r = resource_server_from_json(rv.as_object());
        std::string identifier = r.identifier;
        p.resource_servers.emplace(std::move(identifier), std::move(r));
      }
    }
    std::string id = p.id;
    state.pools.emplace(std::move(id), std::move(p));
  }
  for (const auto& cv : root.at("clients").as_array()) {
    const auto& co = cv.as_object();
    Client c;
    c.id = str(co, "id");
    c.pool_id = str(co, "pool");
    c.name = str(co, "name");
    if (const auto* s = co.if_contains("secret"); s && s->is_string()) {
      c.secret = Secret(std::string(s->as_string()));
    }
    for (const auto& f : co.at("flows").as_array()) c.flows.emplace_back(f.as_string());
    c.prevent_user_existence_errors = co.at("prevent_user_existence_errors").as_bool();
    c.created = co.at("created").to_number<std::int64_t>();
    c.oauth_flows = strings_from(co, "oauth_flows");
    c.oauth_scopes = strings_from(co, "oauth_scopes");
    if (const auto* e = co.if_contains("oauth_enabled")) c.oauth_enabled = e->as_bool();
    std::string id = c.id;
    state.clients.emplace(std::move(id), std::move(c));
  }
  for (const auto& rv : root.at("refresh_tokens").as_array()) {
    const auto& ro = rv.as_object();
    RefreshEntry r{str(ro, "pool"), str(ro, "client"), str(ro, "username"),
                   ro.at("auth_time").to_number<std::int64_t>(),
                   ro.at("expires").to_number<std::int64_t>()};
    if (r.expires > now) state.refresh.emplace(b64d(ro.at("sha256")), std::move(r));
  }
  return state;
}

std::optional<std::string> read_state_file(const std::string& dir, const std::string& file) {
  // Like mkdir -p: missing parents are created too (only the last level gets 0700).
  std::error_code ec;
  auto parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::runtime_error(errno_text("cannot create data directory", dir));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error(errno_text("cannot read", file));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StateWriter::StateWriter(std::string file, std::function<Secret()> snapshot)
    : file_(std::move(file)), snapshot_(std::move(snapshot)), thread_([this] { run(); }) {}

StateWriter::~StateWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void StateWriter::changed() {
  {
    std::lock_guard lock(mu_);
    ++requested_;
  }
  cv_.notify_all();
}

Result<void> StateWriter::flush() {
  std::unique_lock lock(mu_);
  if (last_error_ && written_ == requested_) ++requested_;  // try the failed write again
  const std::uint64_t target = requested_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return written_ >= target; });
  if (last_error_) return std::unexpected(*last_error_);
  return {};
}

void StateWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || requested_ > written_; });
    if (requested_ == written_) return;  // stopping, nothing left to write
    const std::uint64_t target = requested_;
    lock.unlock();
    Result<void> done;
    try {
      done = write(snapshot_());
    } catch (const std::exception& e) {
      done = make_error(ErrorCode::kInternal, "local cognito: writing " + file_ + ": " + e.what());
    }
    lock.lock();
    written_ = target;
    if (done) {
      last_error_.reset();
    } else {
      log::error("{} (the change stays in memory; it is written with the next change)",
                 done.error().message());
      last_error_ = done.error();
    }
    cv_.notify_all();
  }
}

Result<void> StateWriter::write(const Secret& text) const {
  const std::string tmp = file_ + ".tmp." + trace_id();
  auto fail = [&](const std::string& what, const std::string& path) {
    std::string message = "local cognito: " + errno_text(what, path);
    ::unlink(tmp.c_str());
    return make_error(ErrorCode::kUnavailable, std::move(message));
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create", tmp);
  const std::string& data = text.reveal();
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto failed = fail("cannot write", tmp);
      ::close(fd);
      return failed;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto failed = fail("cannot write", tmp);
    ::close(fd);
    return failed;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file_.c_str()) != 0) return fail("cannot rename onto", file_);
  // The rename itself reaches the disk with the directory.
  const std::string dir = std::filesystem::path(file_).parent_path().string();
  if (int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace idp::auth::local

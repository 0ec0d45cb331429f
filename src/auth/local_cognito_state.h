// Private to LocalCognito: its state (pools with their keys, users and groups, app clients,
// hashes of refresh tokens), the state file's JSON form, and the StateWriter that keeps the file
// up to date off the request path.
//
// The StateWriter owns a thread. A request that changed the state only calls changed() (no I/O,
// no lock of the state held); the thread then takes one snapshot of the state (under the state's
// lock, no I/O) and writes it atomically: a temporary file (mode 0600), fsync, rename over the
// file, fsync of the directory. Changes that arrive while a write runs are coalesced into the
// next snapshot. flush() waits until every change made before it is on disk; destruction
// flushes. A failed write is logged and retried with the next change (or by flush()). The
// structs are plain data guarded by the owner's lock; StateWriter is thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "idp/core/error.h"
#include "idp/core/secret.h"
#include "local_cognito_keys.h"

namespace idp::auth::local {

struct User {
  std::string username;
  std::string sub;
  std::string status;  // FORCE_CHANGE_PASSWORD | CONFIRMED
  bool enabled = true;
  std::int64_t created = 0;
  std::int64_t modified = 0;
  std::vector<std::pair<std::string, std::string>> attributes;  // without sub
  PasswordHash password;
  std::vector<std::string> groups;  // names of the pool's groups, in the order joined
};

struct Group {
  std::string name;
  std::string description;
  std::optional<std::int64_t> precedence;  // lower first in `cognito:groups`
  std::string role_arn;
  std::int64_t created = 0;
  std::int64_t modified = 0;
};

// A resource server (CreateResourceServer): custom scopes `<identifier>/<scope name>` that app
// clients may be allowed (AllowedOAuthScopes) and ask for at the token endpoint.
struct ResourceServer {
  std::string identifier;  // "https://mcp.example.com" or "mcp"
  std::string name;
  std::vector<std::pair<std::string, std::string>> scopes;  // name, description
};

struct Pool {
  std::string id;
  std::string name;
  std::int64_t created = 0;
  std::optional<SigningKey> key;      // always set once the pool exists
  std::map<std::string, User> users;    // by username
  std::map<std::string, Group> groups;  // by name
  std::map<std::string, ResourceServer> resource_servers;  // by identifier
};

struct Client {
  std::string id;
  std::string pool_id;
  std::string name;
  std::optional<Secret> secret;
  std::vector<std::string> flows;
  bool prevent_user_existence_errors = false;
  std::int64_t created = 0;
  // The OAuth side (the pool's /oauth2/token): AllowedOAuthFlows ("client_credentials", "code",
  // "implicit"), AllowedOAuthScopes, AllowedOAuthFlowsUserPoolClient.
  std::vector<std::string> oauth_flows;
  std::vector<std::string> oauth_scopes;
  bool oauth_enabled = false;
};

struct RefreshEntry {
  std::string pool_id;
  std::string client_id;
  std::string username;
  std::int64_t auth_time = 0;
  std::int64_t expires = 0;
};

// What the state file holds (challenge sessions live in memory only).
struct State {
  std::map<std::string, Pool> pools;            // by id
  std::map<std::string, Client> clients;        // by id
  std::map<std::string, RefreshEntry> refresh;  // by SHA-256 of the token
};

// The file's JSON; refresh tokens expired at `now` are left out. Throws std::runtime_error
// naming what is wrong when `root` is not a valid state.
boost::json::object to_json(const State& state, std::int64_t now);
State from_json(const boost::json::object& root, std::int64_t now);

// The state file's text, or nullopt when the file does not exist; creates `dir` (mode 0700).
// Throws std::runtime_error naming the path on any other failure.
std::optional<std::string> read_state_file(const std::string& dir, const std::string& file);

class StateWriter {
 public:
  // `snapshot` is called on the writer thread and returns the file's text.
  StateWriter(std::string file, std::function<Secret()> snapshot);
  ~StateWriter();  // flushes, then stops the thread
  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  void changed();
  // Waits until the changes made before the call are written; the error names the file.
  Result<void> flush();

 private:
  void run();
  Result<void> write(const Secret& text) const;

  const std::string file_;
  const std::function<Secret()> snapshot_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t requested_ = 0;  // changes announced
  std::uint64_t written_ = 0;    // changes whose snapshot was written (or failed)
  std::optional<Error> last_error_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace idp::auth::local

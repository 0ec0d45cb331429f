#include "idp/auth/local_cognito.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <boost/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "idp/core/json_util.h"
#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/core/secret.h"
#include "idp/http/server.h"

namespace idp::auth {
namespace {

namespace bj = boost::json;
using boost::asio::awaitable;

constexpr std::string_view kTargetPrefix = "AWSCognitoIdentityProviderService.";
constexpr std::int64_t kDefaultTokenLifetime = 3600;      // access and ID tokens: 1 h
constexpr std::int64_t kRefreshLifetime = 30 * 24 * 3600;  // Cognito's default: 30 days
constexpr std::int64_t kSessionLifetime = 180;             // challenge sessions: 3 min
constexpr int kPbkdf2Iterations = 120'000;
constexpr int kFileVersion = 1;

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- errors ------------------------------------------------------------------------------------

struct ApiError {
  std::string type;
  std::string message;
  int status = 400;
};

http::Response error_response(const ApiError& e) {
  bj::object o;
  o["__type"] = e.type;
  o["message"] = e.message;
  http::Response r;
  r.status = e.status;
  r.body = json::serialize(o);
  r.headers.add("Content-Type", "application/x-amz-json-1.1");
  r.headers.add("x-amzn-ErrorType", e.type + ":");
  r.headers.add("x-amzn-RequestId", trace_id());
  return r;
}

ApiError invalid(std::string message) { return {"InvalidParameterException", std::move(message)}; }
ApiError not_authorized(std::string message) { return {"NotAuthorizedException", std::move(message)}; }

template <class T>
using ApiResult = std::expected<T, ApiError>;

// --- crypto helpers ----------------------------------------------------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string openssl_error(std::string_view what) { return std::string(what) + " failed (OpenSSL)"; }

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error(openssl_error("RAND_bytes"));
  }
  return out;
}

// Random string over `alphabet` without modulo bias.
std::string random_string(std::size_t n, std::string_view alphabet) {
  std::string out;
  const unsigned limit = 256 - (256 % alphabet.size());
  while (out.size() < n) {
    for (unsigned char c : random_bytes(n)) {
      if (c >= limit) continue;
      out += alphabet[c % alphabet.size()];
      if (out.size() == n) break;
    }
  }
  return out;
}

constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kLowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";

std::string uuid4() {
  std::string b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    auto c = static_cast<unsigned char>(b[i]);
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error(openssl_error("SHA-256"));
  }
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
                 &len)) {
    throw std::runtime_error(openssl_error("HMAC-SHA256"));
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string pbkdf2(std::string_view password, std::string_view salt, int iterations) {
  std::string out(32, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    throw std::runtime_error(openssl_error("PBKDF2"));
  }
  return out;
}

PkeyPtr generate_rsa_key() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  if (!key) throw std::runtime_error(openssl_error("RSA key generation"));
  return key;
}

std::string private_key_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error(openssl_error("PEM encoding"));
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<std::size_t>(n));
  return pem;
}

PkeyPtr load_private_key(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1 || !bn) {
    throw std::runtime_error(openssl_error("reading the RSA key"));
  }
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

// kid: base64url(SHA-256(SubjectPublicKeyInfo DER)), stable for the key.
std::string key_id(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key, &der);
  if (n <= 0) throw std::runtime_error(openssl_error("encoding the public key"));
  std::string d(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return base64url_encode(sha256(d)).substr(0, 22);
}

std::string rs256_sign(EVP_PKEY* key, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    throw std::runtime_error(openssl_error("RS256 signing"));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    throw std::runtime_error(openssl_error("RS256 signing"));
  }
  sig.resize(len);
  return sig;
}

bool rs256_verify(EVP_PKEY* key, std::string_view data, std::string_view sig) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

// Cognito's default policy, reduced: at least 8 characters with upper, lower and digit.
std::optional<std::string> password_policy_violation(std::string_view p) {
  if (p.size() < 8) return "Password not long enough";
  bool upper = false, lower = false, digit = false;
  for (char c : p) {
    upper |= (c >= 'A' && c <= 'Z');
    lower |= (c >= 'a' && c <= 'z');
    digit |= (c >= '0' && c <= '9');
  }
  if (!lower) return "Password must have lowercase characters";
  if (!upper) return "Password must have uppercase characters";
  if (!digit) return "Password must have numeric characters";
  return std::nullopt;
}

// --- state -------------------------------------------------------------------------------------

struct PasswordHash {
  int iterations = 0;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes
};

struct User {
  std::string username;
  std::string sub;
  std::string status;  // FORCE_CHANGE_PASSWORD | CONFIRMED
  bool enabled = true;
  std::int64_t created = 0;
  std::int64_t modified = 0;
  std::vector<std::pair<std::string, std::string>> attributes;  // without sub
  PasswordHash password;

  const std::string* attribute(std::string_view name) const {
    for (const auto& [n, v] : attributes) {
      if (n == name) return &v;
    }
    return nullptr;
  }
};

struct Pool {
  std::string id;
  std::string name;
  std::int64_t created = 0;
  PkeyPtr key;
  std::string kid;
  std::string n, e;  // base64url
  std::map<std::string, User> users;  // by username
};

struct Client {
  std::string id;
  std::string pool_id;
  std::string name;
  std::optional<Secret> secret;
  std::vector<std::string> flows;
  bool prevent_user_existence_errors = false;
  std::int64_t created = 0;
};

struct RefreshEntry {
  std::string pool_id;
  std::string client_id;
  std::string username;
  std::int64_t auth_time = 0;
  std::int64_t expires = 0;
};

struct Session {
  std::string pool_id;
  std::string client_id;
  std::string username;
  std::int64_t expires = 0;
};

PasswordHash hash_password(std::string_view password) {
  PasswordHash h;
  h.iterations = kPbkdf2Iterations;
  h.salt = random_bytes(16);
  h.hash = pbkdf2(password, h.salt, h.iterations);
  return h;
}

bool check_password(const PasswordHash& h, std::string_view password) {
  if (h.iterations <= 0 || h.hash.empty()) return false;
  return constant_time_equal(pbkdf2(password, h.salt, h.iterations), h.hash);
}

bj::array attributes_json(const User& u) {
  bj::array a;
  bj::object sub;
  sub["Name"] = "sub";
  sub["Value"] = u.sub;
  a.push_back(std::move(sub));
  for (const auto& [n, v] : u.attributes) {
    bj::object o;
    o["Name"] = n;
    o["Value"] = v;
    a.push_back(std::move(o));
  }
  return a;
}

// Input helpers: Cognito reports a missing member as a validation error in lowerCamel case.
std::string lower_camel(std::string_view name) {
  std::string s(name);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

ApiResult<std::string> required_string(const bj::object& in, std::string_view name) {
  const bj::string* s = json::find_string(in, name);
  if (!s) {
    return std::unexpected(invalid("1 validation error detected: Value null at '" + lower_camel(name) +
                                   "' failed to satisfy constraint: Member must not be null"));
  }
  if (s->empty()) {
    return std::unexpected(invalid("1 validation error detected: Value '' at '" + lower_camel(name) +
                                   "' failed to satisfy constraint: Member must have length greater "
                                   "than or equal to 1"));
  }
  return std::string(*s);
}

std::optional<std::string> param(const bj::object* map, std::string_view name) {
  if (!map) return std::nullopt;
  const bj::string* s = json::find_string(*map, name);
  if (!s) return std::nullopt;
  return std::string(*s);
}

std::string file_mode_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

// --- Impl --------------------------------------------------------------------------------------

struct LocalCognito::Impl {
  std::int64_t token_lifetime = kDefaultTokenLifetime;  // guarded by mu
  std::string data_dir;
  std::string region;
  std::string file;

  mutable std::mutex mu;
  std::string issuer_base;                    // guarded by mu
  const http::Server* server = nullptr;        // for the default issuer base
  std::map<std::string, Pool> pools;          // by id
  std::map<std::string, Client> clients;      // by id
  std::map<std::string, RefreshEntry> refresh;  // by SHA-256 of the token
  std::map<std::string, Session> sessions;      // by SHA-256 of the session (memory only)

  std::string issuer_locked(std::string_view pool_id) const {
    std::string base = issuer_base;
    if (base.empty()) {
      std::uint16_t port = server ? server->port() : 0;
      base = "http://127.0.0.1:" + std::to_string(port);
    }
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/" + std::string(pool_id);
  }

  // --- persistence ---

  void load() {
    // Like mkdir -p: missing parents are created too (only the last level gets 0700).
    std::error_code ec;
    auto parent = std::filesystem::path(data_dir).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      throw std::runtime_error(file_mode_error("cannot create data directory", data_dir));
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      if (errno == ENOENT) return;
      throw std::runtime_error(file_mode_error("cannot read", file));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    auto parsed = json::parse(text);
    if (!parsed || !parsed->is_object()) {
      throw std::runtime_error(file + ": " +
                               (parsed ? std::string("not a JSON object") : parsed.error().message()));
    }
    try {
      from_json(parsed->as_object());
    } catch (const std::exception& e) {
      throw std::runtime_error(file + ": invalid state file: " + e.what());
    }
  }

  static std::string b64d(const bj::value& v) {
    auto d = base64_decode(std::string_view(v.as_string()));
    if (!d) throw std::runtime_error("bad base64");
    return *d;
  }

  void from_json(const bj::object& root) {
    for (const auto& pv : root.at("pools").as_array()) {
      const auto& po = pv.as_object();
      Pool p;
      p.id = std::string(po.at("id").as_string());
      p.name = std::string(po.at("name").as_string());
      p.created = po.at("created").to_number<std::int64_t>();
      Secret pem(std::string(po.at("private_key_pem").as_string()));
      p.key = load_private_key(pem.reveal());
      if (!p.key) throw std::runtime_error("pool " + p.id + ": unreadable private key");
      p.kid = key_id(p.key.get());
      p.n = base64url_encode(bn_param(p.key.get(), OSSL_PKEY_PARAM_RSA_N));
      p.e = base64url_encode(bn_param(p.key.get(), OSSL_PKEY_PARAM_RSA_E));
      for (const auto& uv : po.at("users").as_array()) {
        const auto& uo = uv.as_object();
        User u;
        u.username = std::string(uo.at("username").as_string());
        u.sub = std::string(uo.at("sub").as_string());
        u.status = std::string(uo.at("status").as_string());
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
        p.users.emplace(u.username, std::move(u));
      }
      pools.emplace(p.id, std::move(p));
    }
    for (const auto& cv : root.at("clients").as_array()) {
      const auto& co = cv.as_object();
      Client c;
      c.id = std::string(co.at("id").as_string());
      c.pool_id = std::string(co.at("pool").as_string());
      c.name = std::string(co.at("name").as_string());
      if (const auto* s = co.if_contains("secret"); s && s->is_string()) {
        c.secret = Secret(std::string(s->as_string()));
      }
      for (const auto& f : co.at("flows").as_array()) c.flows.emplace_back(f.as_string());
      c.prevent_user_existence_errors = co.at("prevent_user_existence_errors").as_bool();
      c.created = co.at("created").to_number<std::int64_t>();
      clients.emplace(c.id, std::move(c));
    }
    std::int64_t now = now_s();
    for (const auto& rv : root.at("refresh_tokens").as_array()) {
      const auto& ro = rv.as_object();
      RefreshEntry r;
      r.pool_id = std::string(ro.at("pool").as_string());
      r.client_id = std::string(ro.at("client").as_string());
      r.username = std::string(ro.at("username").as_string());
      r.auth_time = ro.at("auth_time").to_number<std::int64_t>();
      r.expires = ro.at("expires").to_number<std::int64_t>();
      if (r.expires > now) refresh.emplace(b64d(ro.at("sha256")), std::move(r));
    }
  }

  std::string to_json() const {
    bj::object root;
    root["version"] = kFileVersion;
    bj::array ps;
    for (const auto& [id, p] : pools) {
      bj::object po;
      po["id"] = p.id;
      po["name"] = p.name;
      po["created"] = p.created;
      po["private_key_pem"] = private_key_pem(p.key.get());
      bj::array us;
      for (const auto& [name, u] : p.users) {
        bj::object uo;
        uo["username"] = u.username;
        uo["sub"] = u.sub;
        uo["status"] = u.status;
        uo["enabled"] = u.enabled;
        uo["created"] = u.created;
        uo["modified"] = u.modified;
        bj::array as;
        for (const auto& [n, v] : u.attributes) as.push_back(bj::array{bj::string(n), bj::string(v)});
        uo["attributes"] = std::move(as);
        bj::object pw;
        pw["alg"] = "pbkdf2-hmac-sha256";
        pw["iterations"] = u.password.iterations;
        pw["salt"] = base64_encode(u.password.salt);
        pw["hash"] = base64_encode(u.password.hash);
        uo["password"] = std::move(pw);
        us.push_back(std::move(uo));
      }
      po["users"] = std::move(us);
      ps.push_back(std::move(po));
    }
    root["pools"] = std::move(ps);
    bj::array cs;
    for (const auto& [id, c] : clients) {
      bj::object co;
      co["id"] = c.id;
      co["pool"] = c.pool_id;
      co["name"] = c.name;
      if (c.secret) co["secret"] = c.secret->reveal();
      bj::array fs;
      for (const auto& f : c.flows) fs.push_back(bj::string(f));
      co["flows"] = std::move(fs);
      co["prevent_user_existence_errors"] = c.prevent_user_existence_errors;
      co["created"] = c.created;
      cs.push_back(std::move(co));
    }
    root["clients"] = std::move(cs);
    bj::array rs;
    std::int64_t now = now_s();
    for (const auto& [hash, r] : refresh) {
      if (r.expires <= now) continue;
      bj::object ro;
      ro["sha256"] = base64_encode(hash);
      ro["pool"] = r.pool_id;
      ro["client"] = r.client_id;
      ro["username"] = r.username;
      ro["auth_time"] = r.auth_time;
      ro["expires"] = r.expires;
      rs.push_back(std::move(ro));
    }
    root["refresh_tokens"] = std::move(rs);
    return json::serialize(root);
  }

  // Writes the whole state: temporary file (0600) + fsync + rename. Called with mu held.
  void save() const {
    Secret text(to_json());  // holds the private keys and client secrets
    std::string tmp = file + ".tmp." + trace_id();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error(file_mode_error("cannot create", tmp));
    const std::string& data = text.reveal();
    std::size_t off = 0;
    bool ok = true;
    while (off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        ok = false;
        break;
      }
      off += static_cast<std::size_t>(n);
    }
    if (ok && ::fsync(fd) != 0) ok = false;
    std::string err = ok ? std::string() : file_mode_error("cannot write", tmp);
    ::close(fd);
    if (ok && ::rename(tmp.c_str(), file.c_str()) != 0) {
      ok = false;
      err = file_mode_error("cannot rename onto", file);
    }
    if (!ok) {
      ::unlink(tmp.c_str());
      throw std::runtime_error(err);
    }
  }

  // --- lookups (mu held) ---

  ApiResult<Pool*> pool(const std::string& id) {
    auto it = pools.find(id);
    if (it == pools.end()) {
      return std::unexpected(ApiError{"ResourceNotFoundException", "User pool " + id + " does not exist."});
    }
    return &it->second;
  }

  ApiResult<Client*> client(const std::string& id) {
    auto it = clients.find(id);
    if (it == clients.end()) {
      return std::unexpected(ApiError{"ResourceNotFoundException", "User pool client " + id + " does not exist."});
    }
    return &it->second;
  }

  static User* find_user(Pool& p, const std::string& name) {
    if (auto it = p.users.find(name); it != p.users.end()) return &it->second;
    for (auto& [n, u] : p.users) {  // sign-in by sub works too, as in Cognito
      if (u.sub == name) return &u;
    }
    return nullptr;
  }

  ApiResult<User*> user(Pool& p, const std::string& name) {
    User* u = find_user(p, name);
    if (!u) return std::unexpected(ApiError{"UserNotFoundException", "User does not exist."});
    return u;
  }

  // SECRET_HASH = base64(HMAC-SHA256(secret, username + client_id)); any of `names` may match.
  static ApiResult<void> check_secret_hash(const Client& c, const std::optional<std::string>& given,
                                           std::initializer_list<std::string_view> names) {
    if (!c.secret) return {};
    if (!given) {
      return std::unexpected(not_authorized("Client " + c.id +
                                            " is configured with secret but SECRET_HASH was not received"));
    }
    for (std::string_view name : names) {
      std::string msg = std::string(name) + c.id;
      std::string expected = base64_encode(hmac_sha256(c.secret->reveal(), msg));
      if (constant_time_equal(expected, *given)) return {};
    }
    return std::unexpected(not_authorized("Unable to verify secret hash for client " + c.id));
  }

  // --- tokens (mu held) ---

  std::string jwt(const Pool& p, const bj::object& claims) const {
    bj::object header;
    header["kid"] = p.kid;
    header["alg"] = "RS256";
    std::string input = base64url_encode(json::serialize(header)) + "." +
                        base64url_encode(json::serialize(claims));
    std::string sig = rs256_sign(p.key.get(), input);
    return input + "." + base64url_encode(sig);
  }

  bj::object issue(const Pool& p, const Client& c, const User& u, std::int64_t auth_time,
                   bool with_refresh) {
    std::int64_t iat = now_s();
    std::string iss = issuer_locked(p.id);
    std::string origin = uuid4();

    bj::object access;
    access["sub"] = u.sub;
    access["iss"] = iss;
    access["client_id"] = c.id;
    access["origin_jti"] = origin;
    access["event_id"] = uuid4();
    access["token_use"] = "access";
    access["scope"] = "aws.cognito.signin.user.admin";
    access["auth_time"] = auth_time;
    access["exp"] = iat + token_lifetime;
    access["iat"] = iat;
    access["jti"] = uuid4();
    access["username"] = u.username;

    bj::object id;
    id["sub"] = u.sub;
    for (const auto& [n, v] : u.attributes) {
      if (n == "sub") continue;
      if (n == "email_verified" || n == "phone_number_verified") {
        id[n] = (v == "true");
      } else {
        id[n] = v;
      }
    }
    id["iss"] = iss;
    id["cognito:username"] = u.username;
    id["origin_jti"] = origin;
    id["aud"] = c.id;
    id["event_id"] = access["event_id"];
    id["token_use"] = "id";
    id["auth_time"] = auth_time;
    id["exp"] = iat + token_lifetime;
    id["iat"] = iat;
    id["jti"] = uuid4();

    bj::object result;
    result["AccessToken"] = jwt(p, access);
    result["ExpiresIn"] = token_lifetime;
    result["TokenType"] = "Bearer";
    if (with_refresh) {
      std::erase_if(refresh, [iat](const auto& kv) { return kv.second.expires <= iat; });
      std::string token = random_token(64);
      refresh[sha256(token)] = RefreshEntry{p.id, c.id, u.username, auth_time, iat + kRefreshLifetime};
      result["RefreshToken"] = token;
    }
    result["IdToken"] = jwt(p, id);
    return result;
  }

  std::string new_session(const Pool& p, const Client& c, const User& u) {
    std::int64_t now = now_s();
    std::erase_if(sessions, [now](const auto& kv) { return kv.second.expires <= now; });
    std::string s = random_token(96);
    sessions[sha256(s)] = Session{p.id, c.id, u.username, now + kSessionLifetime};
    return s;
  }

  // --- operations ---
  // Password hashing (PBKDF2, ~tens of ms) runs outside the lock: the ops copy what they need,
  // unlock, hash, and lock again to commit.

  ApiResult<bj::object> create_user_pool(const bj::object& in) {
    auto name = required_string(in, "PoolName");
    if (!name) return std::unexpected(name.error());
    PkeyPtr key = generate_rsa_key();
    Pool p;
    p.name = *name;
    p.created = now_s();
    p.kid = key_id(key.get());
    p.n = base64url_encode(bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N));
    p.e = base64url_encode(bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E));
    p.key = std::move(key);
    std::lock_guard lock(mu);
    do {
      p.id = region + "_" + random_string(9, kAlnum);
    } while (pools.contains(p.id));
    bj::object up;
    up["Id"] = p.id;
    up["Name"] = p.name;
    up["Arn"] = "arn:aws:cognito-idp:" + region + ":000000000000:userpool/" + p.id;
    up["CreationDate"] = p.created;
    up["LastModifiedDate"] = p.created;
    up["MfaConfiguration"] = "OFF";
    up["EstimatedNumberOfUsers"] = 0;
    bj::object policy;
    policy["MinimumLength"] = 8;
    policy["RequireUppercase"] = true;
    policy["RequireLowercase"] = true;
    policy["RequireNumbers"] = true;
    policy["RequireSymbols"] = false;
    policy["TemporaryPasswordValidityDays"] = 7;
    bj::object policies;
    policies["PasswordPolicy"] = std::move(policy);
    up["Policies"] = std::move(policies);
    std::string id = p.id;
    pools.emplace(id, std::move(p));
    save();
    log::info("local-cognito: created user pool {} ({})", id, std::string_view(*name));
    bj::object out;
    out["UserPool"] = std::move(up);
    return out;
  }

  ApiResult<bj::object> create_user_pool_client(const bj::object& in) {
    auto pool_id = required_string(in, "UserPoolId");
    if (!pool_id) return std::unexpected(pool_id.error());
    auto name = required_string(in, "ClientName");
    if (!name) return std::unexpected(name.error());
    Client c;
    c.pool_id = *pool_id;
    c.name = *name;
    c.created = now_s();
    if (auto g = json::find_bool(in, "GenerateSecret"); g && *g) {
      c.secret = Secret(random_string(51, kLowerAlnum));
    }
    if (const bj::array* flows = json::find_array(in, "ExplicitAuthFlows")) {
      for (const auto& f : *flows) {
        if (!f.is_string()) return std::unexpected(invalid("ExplicitAuthFlows must be strings"));
        c.flows.emplace_back(f.as_string());
      }
    }
    if (const bj::string* pue = json::find_string(in, "PreventUserExistenceErrors")) {
      c.prevent_user_existence_errors = (*pue == "ENABLED");
    }
    std::lock_guard lock(mu);
    auto p = pool(c.pool_id);
    if (!p) return std::unexpected(p.error());
    do {
      c.id = random_string(26, kLowerAlnum);
    } while (clients.contains(c.id));
    bj::object uc;
    uc["UserPoolId"] = c.pool_id;
    uc["ClientName"] = c.name;
    uc["ClientId"] = c.id;
    if (c.secret) uc["ClientSecret"] = c.secret->reveal();
    uc["CreationDate"] = c.created;
    uc["LastModifiedDate"] = c.created;
    uc["RefreshTokenValidity"] = 30;
    uc["AccessTokenValidity"] = 60;
    uc["IdTokenValidity"] = 60;
    bj::object units;
    units["AccessToken"] = "minutes";
    units["IdToken"] = "minutes";
    units["RefreshToken"] = "days";
    uc["TokenValidityUnits"] = std::move(units);
    bj::array fs;
    for (const auto& f : c.flows) fs.push_back(bj::string(f));
    uc["ExplicitAuthFlows"] = std::move(fs);
    uc["PreventUserExistenceErrors"] = c.prevent_user_existence_errors ? "ENABLED" : "LEGACY";
    std::string id = c.id;
    clients.emplace(id, std::move(c));
    save();
    log::info("local-cognito: created app client {} in pool {}", id, *pool_id);
    bj::object out;
    out["UserPoolClient"] = std::move(uc);
    return out;
  }

  static bj::object user_json(const User& u, bool attributes_key_is_user_attributes) {
    bj::object o;
    o["Username"] = u.username;
    o[attributes_key_is_user_attributes ? "UserAttributes" : "Attributes"] = attributes_json(u);
    o["UserCreateDate"] = u.created;
    o["UserLastModifiedDate"] = u.modified;
    o["Enabled"] = u.enabled;
    o["UserStatus"] = u.status;
    return o;
  }

  ApiResult<bj::object> admin_create_user(const bj::object& in) {
    auto pool_id = required_string(in, "UserPoolId");
    if (!pool_id) return std::unexpected(pool_id.error());
    auto username = required_string(in, "Username");
    if (!username) return std::unexpected(username.error());
    Secret temp;
    if (const bj::string* t = json::find_string(in, "TemporaryPassword")) {
      temp = Secret(std::string(*t));
      if (auto why = password_policy_violation(temp.reveal())) {
        return std::unexpected(ApiError{"InvalidPasswordException",
                                        "Password did not conform with policy: " + *why});
      }
    } else {
      // Cognito would mail a generated one; MessageAction is ignored here.
      temp = Secret("Aa1" + random_string(13, kAlnum));
    }
    User u;
    u.username = *username;
    u.sub = uuid4();
    u.status = "FORCE_CHANGE_PASSWORD";
    u.created = u.modified = now_s();
    if (const bj::array* attrs = json::find_array(in, "UserAttributes")) {
      for (const auto& a : *attrs) {
        const bj::object* ao = a.if_object();
        const bj::string* n = ao ? json::find_string(*ao, "Name") : nullptr;
        const bj::string* v = ao ? json::find_string(*ao, "Value") : nullptr;
        if (!n || !v) return std::unexpected(invalid("UserAttributes entries need Name and Value"));
        if (*n == "sub") continue;
        u.attributes.emplace_back(std::string(*n), std::string(*v));
      }
    }
    {
      std::lock_guard lock(mu);  // fail fast before hashing
      auto p = pool(*pool_id);
      if (!p) return std::unexpected(p.error());
    }
    u.password = hash_password(temp.reveal());
    std::lock_guard lock(mu);
    auto p = pool(*pool_id);
    if (!p) return std::unexpected(p.error());
    if (find_user(**p, u.username)) {
      return std::unexpected(ApiError{"UsernameExistsException", "User account already exists"});
    }
    bj::object out;
    out["User"] = user_json(u, false);
    (*p)->users.emplace(u.username, std::move(u));
    save();
    log::info("local-cognito: created user {} in pool {}", *username, *pool_id);
    return out;
  }

  ApiResult<bj::object> admin_set_user_password(const bj::object& in) {
    auto pool_id = required_string(in, "UserPoolId");
    if (!pool_id) return std::unexpected(pool_id.error());
    auto username = required_string(in, "Username");
    if (!username) return std::unexpected(username.error());
    auto pw = required_string(in, "Password");
    if (!pw) return std::unexpected(pw.error());
    Secret password(std::move(*pw));
    bool permanent = json::find_bool(in, "Permanent").value_or(false);
    {
      std::lock_guard lock(mu);
      auto p = pool(*pool_id);
      if (!p) return std::unexpected(p.error());
      auto u = user(**p, *username);
      if (!u) return std::unexpected(u.error());
    }
    if (auto why = password_policy_violation(password.reveal())) {
      return std::unexpected(ApiError{"InvalidPasswordException",
                                      "Password did not conform with policy: " + *why});
    }
    PasswordHash h = hash_password(password.reveal());
    std::lock_guard lock(mu);
    auto p = pool(*pool_id);
    if (!p) return std::unexpected(p.error());
    auto u = user(**p, *username);
    if (!u) return std::unexpected(u.error());
    (*u)->password = std::move(h);
    (*u)->status = permanent ? "CONFIRMED" : "FORCE_CHANGE_PASSWORD";
    (*u)->modified = now_s();
    save();
    return bj::object{};
  }

  ApiResult<bj::object> admin_get_user(const bj::object& in) {
    auto pool_id = required_string(in, "UserPoolId");
    if (!pool_id) return std::unexpected(pool_id.error());
    auto username = required_string(in, "Username");
    if (!username) return std::unexpected(username.error());
    std::lock_guard lock(mu);
    auto p = pool(*pool_id);
    if (!p) return std::unexpected(p.error());
    auto u = user(**p, *username);
    if (!u) return std::unexpected(u.error());
    return user_json(**u, true);
  }

  bool flow_allowed(const Client& c, std::string_view flow) const {
    if (c.flows.empty()) return true;  // lenient: a client created without flows allows all
    for (const auto& f : c.flows) {
      if (f == flow || f == "ALLOW_" + std::string(flow)) return true;
    }
    return false;
  }

  ApiResult<bj::object> initiate_auth(const bj::object& in) {
    auto flow = required_string(in, "AuthFlow");
    if (!flow) return std::unexpected(flow.error());
    auto client_id = required_string(in, "ClientId");
    if (!client_id) return std::unexpected(client_id.error());
    const bj::object* params = json::find_object(in, "AuthParameters");
    if (*flow == "USER_PASSWORD_AUTH") return password_auth(*client_id, params);
    if (*flow == "REFRESH_TOKEN_AUTH" || *flow == "REFRESH_TOKEN") return refresh_auth(*client_id, params);
    {
      std::lock_guard lock(mu);
      auto c = client(*client_id);
      if (!c) return std::unexpected(c.error());
    }
    return std::unexpected(invalid("Initiate Auth method not supported."));
  }

  ApiResult<bj::object> password_auth(const std::string& client_id, const bj::object* params) {
    std::optional<std::string> username = param(params, "USERNAME");
    std::optional<std::string> pw = param(params, "PASSWORD");
    std::optional<std::string> secret_hash = param(params, "SECRET_HASH");
    PasswordHash stored;
    std::string pool_id;
    {
      std::lock_guard lock(mu);
      auto c = client(client_id);
      if (!c) return std::unexpected(c.error());
      if (!flow_allowed(**c, "USER_PASSWORD_AUTH")) {
        return std::unexpected(invalid("USER_PASSWORD_AUTH flow not enabled for this client"));
      }
      if (!username) return std::unexpected(invalid("Missing required parameter USERNAME"));
      if (!pw) return std::unexpected(invalid("Missing required parameter PASSWORD"));
      auto h = check_secret_hash(**c, secret_hash, {*username});
      if (!h) return std::unexpected(h.error());
      pool_id = (*c)->pool_id;
      auto p = pool(pool_id);
      if (!p) return std::unexpected(p.error());
      User* u = find_user(**p, *username);
      if (!u) {
        if ((*c)->prevent_user_existence_errors) {
          return std::unexpected(not_authorized("Incorrect username or password."));
        }
        return std::unexpected(ApiError{"UserNotFoundException", "User does not exist."});
      }
      stored = u->password;
    }
    Secret password(std::move(*pw));
    bool ok = check_password(stored, password.reveal());
    if (!ok) return std::unexpected(not_authorized("Incorrect username or password."));

    std::lock_guard lock(mu);
    auto c = client(client_id);
    if (!c) return std::unexpected(c.error());
    auto p = pool(pool_id);
    if (!p) return std::unexpected(p.error());
    auto u = user(**p, *username);
    if (!u) return std::unexpected(u.error());
    if ((*u)->password.hash != stored.hash) {  // changed meanwhile
      return std::unexpected(not_authorized("Incorrect username or password."));
    }
    if (!(*u)->enabled) return std::unexpected(not_authorized("User is disabled."));
    if ((*u)->status == "FORCE_CHANGE_PASSWORD") {
      bj::object out;
      out["ChallengeName"] = "NEW_PASSWORD_REQUIRED";
      out["Session"] = new_session(**p, **c, **u);
      bj::object attrs;
      for (const auto& [n, v] : (*u)->attributes) {
        if (n != "email_verified" && n != "phone_number_verified") attrs[n] = v;
      }
      bj::object cp;
      cp["USER_ID_FOR_SRP"] = (*u)->username;
      cp["requiredAttributes"] = "[]";
      cp["userAttributes"] = json::serialize(attrs);
      out["ChallengeParameters"] = std::move(cp);
      return out;
    }
    bj::object out;
    out["ChallengeParameters"] = bj::object{};
    out["AuthenticationResult"] = issue(**p, **c, **u, now_s(), true);
    save();
    return out;
  }

  ApiResult<bj::object> refresh_auth(const std::string& client_id, const bj::object* params) {
    std::optional<std::string> token = param(params, "REFRESH_TOKEN");
    std::optional<std::string> secret_hash = param(params, "SECRET_HASH");
    std::lock_guard lock(mu);
    auto c = client(client_id);
    if (!c) return std::unexpected(c.error());
    if (!token) return std::unexpected(invalid("Missing required parameter REFRESH_TOKEN"));
    auto it = refresh.find(sha256(*token));
    if (it == refresh.end() || it->second.client_id != client_id || it->second.expires <= now_s()) {
      return std::unexpected(not_authorized("Invalid Refresh Token"));
    }
    auto p = pool(it->second.pool_id);
    if (!p) return std::unexpected(not_authorized("Invalid Refresh Token"));
    User* u = find_user(**p, it->second.username);
    if (!u) return std::unexpected(not_authorized("Invalid Refresh Token"));
    // Cognito computes it over the internal username (the sub); accept the username too.
    auto h = check_secret_hash(**c, secret_hash, {u->sub, u->username});
    if (!h) return std::unexpected(h.error());
    if (!u->enabled) return std::unexpected(not_authorized("User is disabled."));
    bj::object out;
    out["ChallengeParameters"] = bj::object{};
    out["AuthenticationResult"] = issue(**p, **c, *u, it->second.auth_time, false);
    return out;
  }

  ApiResult<bj::object> respond_to_auth_challenge(const bj::object& in) {
    auto client_id = required_string(in, "ClientId");
    if (!client_id) return std::unexpected(client_id.error());
    auto name = required_string(in, "ChallengeName");
    if (!name) return std::unexpected(name.error());
    const bj::object* responses = json::find_object(in, "ChallengeResponses");
    std::optional<std::string> username = param(responses, "USERNAME");
    std::optional<std::string> new_pw = param(responses, "NEW_PASSWORD");
    std::optional<std::string> secret_hash = param(responses, "SECRET_HASH");
    const bj::string* session = json::find_string(in, "Session");
    std::string session_key;
    {
      std::lock_guard lock(mu);
      auto c = client(*client_id);
      if (!c) return std::unexpected(c.error());
      if (*name != "NEW_PASSWORD_REQUIRED") {
        return std::unexpected(invalid("Challenge " + *name + " is not supported"));
      }
      if (!username) return std::unexpected(invalid("Missing required parameter USERNAME"));
      if (!new_pw) return std::unexpected(invalid("Missing required parameter NEW_PASSWORD"));
      if (!session) return std::unexpected(invalid("Missing required parameter Session"));
      auto h = check_secret_hash(**c, secret_hash, {*username});
      if (!h) return std::unexpected(h.error());
      session_key = sha256(*session);
      auto it = sessions.find(session_key);
      if (it == sessions.end() || it->second.expires <= now_s() || it->second.client_id != *client_id) {
        return std::unexpected(not_authorized("Invalid session for the user, session is expired."));
      }
      auto p = pool(it->second.pool_id);
      if (!p) return std::unexpected(p.error());
      User* u = find_user(**p, *username);
      if (!u || u->username != it->second.username) {
        return std::unexpected(not_authorized("Invalid session for the user."));
      }
    }
    Secret password(std::move(*new_pw));
    if (auto why = password_policy_violation(password.reveal())) {
      return std::unexpected(ApiError{"InvalidPasswordException",
                                      "Password does not conform to policy: " + *why});
    }
    PasswordHash h = hash_password(password.reveal());
    std::lock_guard lock(mu);
    auto it = sessions.find(session_key);
    if (it == sessions.end()) {
      return std::unexpected(not_authorized("Invalid session for the user, session is expired."));
    }
    Session s = it->second;
    sessions.erase(it);
    auto c = client(*client_id);
    if (!c) return std::unexpected(c.error());
    auto p = pool(s.pool_id);
    if (!p) return std::unexpected(p.error());
    auto u = user(**p, s.username);
    if (!u) return std::unexpected(u.error());
    (*u)->password = std::move(h);
    (*u)->status = "CONFIRMED";
    (*u)->modified = now_s();
    bj::object out;
    out["ChallengeParameters"] = bj::object{};
    out["AuthenticationResult"] = issue(**p, **c, **u, now_s(), true);
    save();
    return out;
  }

  // Verifies one of our access tokens; returns the pool and user.
  ApiResult<std::pair<Pool*, User*>> verify_access_token(const std::string& token) {
    auto invalid_token = [] { return std::unexpected(not_authorized("Invalid Access Token")); };
    auto dot1 = token.find('.');
    auto dot2 = dot1 == std::string::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string::npos || token.find('.', dot2 + 1) != std::string::npos) return invalid_token();
    auto header_text = base64_decode(std::string_view(token).substr(0, dot1));
    auto payload_text = base64_decode(std::string_view(token).substr(dot1 + 1, dot2 - dot1 - 1));
    auto sig = base64_decode(std::string_view(token).substr(dot2 + 1));
    if (!header_text || !payload_text || !sig) return invalid_token();
    auto header = json::parse(*header_text);
    auto payload = json::parse(*payload_text);
    if (!header || !payload || !header->is_object() || !payload->is_object()) return invalid_token();
    const bj::string* alg = json::find_string(header->as_object(), "alg");
    const bj::string* kid = json::find_string(header->as_object(), "kid");
    const bj::object& claims = payload->as_object();
    const bj::string* iss = json::find_string(claims, "iss");
    const bj::string* use = json::find_string(claims, "token_use");
    const bj::string* uname = json::find_string(claims, "username");
    auto exp = json::find_number(claims, "exp");
    if (!alg || *alg != "RS256" || !kid || !iss || !use || *use != "access" || !uname || !exp) {
      return invalid_token();
    }
    std::string_view iss_v(*iss);
    auto slash = iss_v.rfind('/');
    if (slash == std::string_view::npos) return invalid_token();
    auto pit = pools.find(std::string(iss_v.substr(slash + 1)));
    if (pit == pools.end() || pit->second.kid != *kid) return invalid_token();
    if (!rs256_verify(pit->second.key.get(), std::string_view(token).substr(0, dot2), *sig)) {
      return invalid_token();
    }
    if (*exp <= static_cast<double>(now_s())) return std::unexpected(not_authorized("Access Token has expired"));
    User* u = find_user(pit->second, std::string(*uname));
    if (!u) return std::unexpected(ApiError{"UserNotFoundException", "User does not exist."});
    return std::pair{&pit->second, u};
  }

  ApiResult<bj::object> get_user(const bj::object& in) {
    auto token = required_string(in, "AccessToken");
    if (!token) return std::unexpected(token.error());
    std::lock_guard lock(mu);
    auto v = verify_access_token(*token);
    if (!v) return std::unexpected(v.error());
    bj::object out;
    out["Username"] = v->second->username;
    out["UserAttributes"] = attributes_json(*v->second);
    return out;
  }

  ApiResult<bj::object> dispatch(std::string_view op, const bj::object& in) {
    if (op == "CreateUserPool") return create_user_pool(in);
    if (op == "CreateUserPoolClient") return create_user_pool_client(in);
    if (op == "AdminCreateUser") return admin_create_user(in);
    if (op == "AdminSetUserPassword") return admin_set_user_password(in);
    if (op == "AdminGetUser") return admin_get_user(in);
    if (op == "InitiateAuth") return initiate_auth(in);
    if (op == "RespondToAuthChallenge") return respond_to_auth_challenge(in);
    if (op == "GetUser") return get_user(in);
    return std::unexpected(ApiError{"UnknownOperationException",
                                    "Unknown operation " + std::string(op), 400});
  }
};

// --- public ------------------------------------------------------------------------------------

LocalCognito::LocalCognito(std::string data_dir, std::string region) : impl_(std::make_unique<Impl>()) {
  impl_->data_dir = std::move(data_dir);
  impl_->region = std::move(region);
  impl_->file = impl_->data_dir + "/local-cognito.json";
  impl_->load();
}

Result<std::unique_ptr<LocalCognito>> LocalCognito::open(std::string data_dir, std::string region) {
  try {
    return std::make_unique<LocalCognito>(std::move(data_dir), std::move(region));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, std::string("local cognito: ") + e.what());
  }
}

LocalCognito::~LocalCognito() = default;

const std::string& LocalCognito::data_file() const { return impl_->file; }

void LocalCognito::set_token_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(impl_->mu);
  impl_->token_lifetime = std::max<std::int64_t>(1, lifetime.count());
}

void LocalCognito::set_issuer_base(std::string issuer_base) {
  std::lock_guard lock(impl_->mu);
  impl_->issuer_base = std::move(issuer_base);
}

std::string LocalCognito::issuer(std::string_view pool_id) const {
  std::lock_guard lock(impl_->mu);
  return impl_->issuer_locked(pool_id);
}

http::Response LocalCognito::handle(std::string_view target, std::string_view body) {
  if (!target.starts_with(kTargetPrefix)) {
    std::string what = target.empty() ? std::string("Missing X-Amz-Target header")
                                      : "Unknown operation " + std::string(target);
    return error_response(ApiError{"UnknownOperationException", what, 400});
  }
  std::string_view op = target.substr(kTargetPrefix.size());
  std::string_view text = body.empty() ? std::string_view("{}") : body;
  auto parsed = json::parse(text);
  if (!parsed || !parsed->is_object()) {
    return error_response(ApiError{"SerializationException", "Start of structure or map found where not expected.", 400});
  }
  ApiResult<bj::object> out;
  try {
    out = impl_->dispatch(op, parsed->as_object());
  } catch (const std::exception& e) {
    log::error("local-cognito: {} failed: {}", op, e.what());
    return error_response(ApiError{"InternalErrorException", "Internal error", 500});
  }
  if (!out) return error_response(out.error());
  http::Response r;
  r.status = 200;
  r.body = json::serialize(*out);
  r.headers.add("Content-Type", "application/x-amz-json-1.1");
  r.headers.add("x-amzn-RequestId", trace_id());
  return r;
}

std::optional<http::Response> LocalCognito::handle_well_known(std::string_view path) const {
  static constexpr std::string_view kJwks = "/.well-known/jwks.json";
  static constexpr std::string_view kOidc = "/.well-known/openid-configuration";
  if (!path.starts_with("/")) return std::nullopt;
  bool jwks = path.ends_with(kJwks);
  bool oidc = path.ends_with(kOidc);
  if (!jwks && !oidc) return std::nullopt;
  std::string_view pool_id = path.substr(1, path.size() - 1 - (jwks ? kJwks.size() : kOidc.size()));
  if (pool_id.empty() || pool_id.find('/') != std::string_view::npos) return std::nullopt;
  std::lock_guard lock(impl_->mu);
  auto it = impl_->pools.find(std::string(pool_id));
  if (it == impl_->pools.end()) {
    bj::object o;
    o["__type"] = "ResourceNotFoundException";
    o["message"] = "User pool " + std::string(pool_id) + " does not exist.";
    return http::Response::json(404, json::serialize(o));
  }
  const Pool& p = it->second;
  bj::object out;
  if (jwks) {
    bj::object k;
    k["alg"] = "RS256";
    k["e"] = p.e;
    k["kid"] = p.kid;
    k["kty"] = "RSA";
    k["n"] = p.n;
    k["use"] = "sig";
    bj::array keys;
    keys.push_back(std::move(k));
    out["keys"] = std::move(keys);
  } else {
    std::string iss = impl_->issuer_locked(p.id);
    out["issuer"] = iss;
    out["jwks_uri"] = iss + std::string(kJwks);
    out["id_token_signing_alg_values_supported"] = bj::array{"RS256"};
    out["subject_types_supported"] = bj::array{"public"};
    out["response_types_supported"] = bj::array{"code", "token"};
    out["scopes_supported"] = bj::array{"openid", "email", "phone", "profile"};
    out["token_endpoint_auth_methods_supported"] = bj::array{"client_secret_basic", "client_secret_post"};
  }
  return http::Response::json(200, json::serialize(out));
}

void LocalCognito::attach(http::Server& server, std::string issuer_base) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->server = &server;
    if (!issuer_base.empty()) impl_->issuer_base = std::move(issuer_base);
  }
  server.route("POST", "/", [this](const http::Request& req, http::Responder& res) -> awaitable<void> {
    std::string target(req.header("X-Amz-Target").value_or(""));
    http::Response r = handle(target, req.body());
    co_await res.send(std::move(r));
  });
  // Every pool's JWKS and OIDC discovery, also of pools created while serving.
  server.route_prefix("GET", "/", [this](const http::Request& req, http::Responder& res) -> awaitable<void> {
    std::optional<http::Response> found = handle_well_known(req.path());
    http::Response r = found ? std::move(*found) : http::Response::text(404, "not found");
    co_await res.send(std::move(r));
  });
}

}  // namespace idp::auth

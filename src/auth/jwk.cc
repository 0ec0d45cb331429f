#include "idp/auth/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>

#include "idp/core/json_util.h"
#include "idp/core/random.h"

namespace idp::auth {

namespace bj = boost::json;

const char* to_string(KeyType kty) {
  switch (kty) {
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEc:
      return "EC";
  }
  return "?";
}

namespace {

constexpr std::size_t kMinRsaBits = 2048;   // RFC 7518 §3.3
constexpr std::size_t kMaxRsaBits = 16384;  // bounds the cost of one verification
constexpr int kMaxRsaExponentBits = 64;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using BldPtr = std::unique_ptr<OSSL_PARAM_BLD, BldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;

struct Curve {
  const char* jwk_name;
  const char* openssl_group;
  std::size_t coord_bytes;
  std::size_t bits;
  const char* alg;
};
constexpr std::array<Curve, 3> kCurves = {{
    {"P-256", "prime256v1", 32, 256, "ES256"},
    {"P-384", "secp384r1", 48, 384, "ES384"},
    {"P-521", "secp521r1", 66, 521, "ES512"},
}};

// A problem with one key. `fatal` problems (symmetric or private keys) reject a whole JWKS;
// the others only make a JWKS skip the key.
struct KeyProblem {
  std::string message;
  bool fatal = false;
};

std::unexpected<KeyProblem> problem(std::string message, bool fatal = false) {
  return std::unexpected<KeyProblem>(KeyProblem{std::move(message), fatal});
}

std::expected<std::string, KeyProblem> member_bytes(const bj::object& o, std::string_view name) {
  const bj::string* s = json::find_string(o, name);
  if (s == nullptr) {
    return problem(fmt::format("member '{}' is missing or not a string", name));
  }
  std::optional<std::string> bytes = base64url_decode(std::string_view(s->data(), s->size()));
  if (!bytes || bytes->empty()) {
    return problem(fmt::format("member '{}' is not valid base64url", name));
  }
  return *bytes;
}

std::expected<std::shared_ptr<evp_pkey_st>, KeyProblem> build_key(const char* type,
                                                                  OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) {
    return problem("OpenSSL could not prepare the key import");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0 ||
      raw == nullptr) {
    return problem("OpenSSL rejected the public key parameters");
  }
  std::shared_ptr<evp_pkey_st> key(raw, EVP_PKEY_free);
  CtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) <= 0) {
    return problem("the public key fails OpenSSL's consistency check");
  }
  return key;
}

std::expected<void, KeyProblem> parse_rsa(const bj::object& o, Jwk& out) {
  auto n_bytes = member_bytes(o, "n");
  if (!n_bytes) return std::unexpected(n_bytes.error());
  auto e_bytes = member_bytes(o, "e");
  if (!e_bytes) return std::unexpected(e_bytes.error());
  BnPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n_bytes->data()),
                    static_cast<int>(n_bytes->size()), nullptr));
  BnPtr e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e_bytes->data()),
                    static_cast<int>(e_bytes->size()), nullptr));
  if (!n || !e) return problem("OpenSSL could not allocate the RSA parameters");
  const auto bits = static_cast<std::size_t>(BN_num_bits(n.get()));
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return problem(fmt::format("RSA modulus has {} bits; {} to {} are accepted", bits, kMinRsaBits,
                               kMaxRsaBits));
  }
  if (!BN_is_odd(e.get()) || BN_is_one(e.get()) || BN_num_bits(e.get()) > kMaxRsaExponentBits) {
    return problem("RSA exponent 'e' is not a valid public exponent (usually AQAB = 65537)");
  }
  BldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get())) {
    return problem("OpenSSL could not build the RSA parameters");
  }
  auto key = build_key("RSA", bld.get());
  if (!key) return std::unexpected(key.error());
  out.key = std::move(*key);
  out.bits = bits;
  return {};
}

std::expected<void, KeyProblem> parse_ec(const bj::object& o, Jwk& out) {
  const bj::string* crv = json::find_string(o, "crv");
  if (crv == nullptr) return problem("EC key has no 'crv' (expected P-256, P-384 or P-521)");
  const Curve* curve = nullptr;
  for (const Curve& c : kCurves) {
    if (*crv == c.jwk_name) curve = &c;
  }
  if (curve == nullptr) {
    return problem(fmt::format("EC curve '{}' is not supported (use P-256, P-384 or P-521)",
                               std::string_view(crv->data(), crv->size())));
  }
  auto x = member_bytes(o, "x");
  if (!x) return std::unexpected(x.error());
  auto y = member_bytes(o, "y");
  if (!y) return std::unexpected(y.error());
  if (x->size() != curve->coord_bytes || y->size() != curve->coord_bytes) {
    return problem(fmt::format("EC coordinates 'x' and 'y' must be {} bytes each for {}",
                               curve->coord_bytes, curve->jwk_name));
  }
  std::string point;
  point.reserve(1 + 2 * curve->coord_bytes);
  point += '\x04';  // uncompressed SEC1 point
  point += *x;
  point += *y;
  BldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->openssl_group,
                                       0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return problem("OpenSSL could not build the EC parameters");
  }
  auto key = build_key("EC", bld.get());
  if (!key) return std::unexpected(key.error());
  out.key = std::move(*key);
  out.crv = curve->jwk_name;
  out.bits = curve->bits;
  return {};
}

bool is_rsa_signature_alg(std::string_view alg) {
  return alg == "RS256" || alg == "RS384" || alg == "RS512" || alg == "PS256" || alg == "PS384" ||
         alg == "PS512";
}

std::expected<Jwk, KeyProblem> parse_key(const bj::object& o) {
  const bj::string* kty = json::find_string(o, "kty");
  if (kty == nullptr) return problem("member 'kty' is missing or not a string");
  if (*kty == "oct") {
    return problem(
        "kty 'oct' is a symmetric (HMAC) key; the verifier accepts only public RSA or EC keys "
        "and never verifies HMAC-signed tokens",
        /*fatal=*/true);
  }
  for (const char* priv : {"d", "p", "q", "dp", "dq", "qi", "oth"}) {
    if (o.contains(priv)) {
      return problem(fmt::format("the key contains private key material ('{}'); publish only the "
                                 "public part (for RSA: kty, kid, n, e; for EC: kty, kid, crv, "
                                 "x, y)",
                                 priv),
                     /*fatal=*/true);
    }
  }
  Jwk out;
  if (const bj::string* kid = json::find_string(o, "kid")) out.kid = kid->c_str();
  if (const bj::string* alg = json::find_string(o, "alg")) out.alg = alg->c_str();
  if (const bj::string* use = json::find_string(o, "use")) {
    out.use = use->c_str();
    if (out.use != "sig") {
      return problem(fmt::format("use '{}' is not for signatures", out.use));
    }
  }
  if (const bj::array* ops = json::find_array(o, "key_ops")) {
    bool verify = std::any_of(ops->begin(), ops->end(), [](const bj::value& v) {
      return v.is_string() && v.get_string() == "verify";
    });
    if (!verify) return problem("key_ops does not include 'verify'");
  }
  if (*kty == "RSA") {
    out.kty = KeyType::kRsa;
    if (!out.alg.empty() && !is_rsa_signature_alg(out.alg)) {
      return problem(fmt::format("alg '{}' is not an RSA signature algorithm", out.alg));
    }
    if (auto r = parse_rsa(o, out); !r) return std::unexpected(r.error());
  } else if (*kty == "EC") {
    out.kty = KeyType::kEc;
    if (auto r = parse_ec(o, out); !r) return std::unexpected(r.error());
    if (!out.alg.empty()) {
      auto curve = std::find_if(kCurves.begin(), kCurves.end(),
                                [&](const Curve& c) { return out.crv == c.jwk_name; });
      if (out.alg != curve->alg) {
        return problem(fmt::format("alg '{}' does not fit curve {} (expected {})", out.alg, out.crv,
                                   curve->alg));
      }
    }
  } else {
    return problem(fmt::format("kty '{}' is not supported (use RSA or EC)",
                               std::string_view(kty->data(), kty->size())));
  }
  out.contexts = std::make_shared<detail::VerifyContextPool>(out.key);
  return out;
}

std::string describe(std::size_t index, const bj::object& o) {
  const bj::string* kid = json::find_string(o, "kid");
  if (kid == nullptr) return fmt::format("key {}", index);
  return fmt::format("key {} (kid '{}')", index, std::string_view(kid->data(), kid->size()));
}

}  // namespace

namespace detail {

VerifyContextPool::VerifyContextPool(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}

VerifyContextPool::~VerifyContextPool() {
  for (auto& list : idle_) {
    for (EVP_PKEY_CTX* ctx : list) EVP_PKEY_CTX_free(ctx);
  }
}

namespace {

int digest_slot(int sha_bits) {
  switch (sha_bits) {
    case 256:
      return 0;
    case 384:
      return 1;
    case 512:
      return 2;
  }
  return -1;
}

}  // namespace

EVP_PKEY_CTX* VerifyContextPool::make(EVP_PKEY* key, int sha_bits) {
  const EVP_MD* md = sha_bits == 256   ? EVP_sha256()
                     : sha_bits == 384 ? EVP_sha384()
                     : sha_bits == 512 ? EVP_sha512()
                                       : nullptr;
  if (key == nullptr || md == nullptr) return nullptr;
  CtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) <= 0) return nullptr;
  // RS* is PKCS#1 v1.5 (RFC 7518 §3.3), OpenSSL's default for RSA; set it anyway.
  if (EVP_PKEY_is_a(key, "RSA") &&
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0) {
    return nullptr;
  }
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), md) <= 0) return nullptr;
  return ctx.release();
}

EVP_PKEY_CTX* VerifyContextPool::take(int sha_bits) {
  const int slot = digest_slot(sha_bits);
  if (slot < 0) return nullptr;
  {
    std::lock_guard lock(mu_);
    auto& list = idle_[static_cast<std::size_t>(slot)];
    if (!list.empty()) {
      EVP_PKEY_CTX* ctx = list.back();
      list.pop_back();
      return ctx;
    }
  }
  return make(key_.get(), sha_bits);
}

void VerifyContextPool::give_back(int sha_bits, EVP_PKEY_CTX* ctx) {
  if (ctx == nullptr) return;
  const int slot = digest_slot(sha_bits);
  if (slot >= 0) {
    std::lock_guard lock(mu_);
    auto& list = idle_[static_cast<std::size_t>(slot)];
    if (list.size() < kMaxIdle) {
      if (list.capacity() == 0) list.reserve(kMaxIdle);
      list.push_back(ctx);
      return;
    }
  }
  EVP_PKEY_CTX_free(ctx);
}

}  // namespace detail

Result<Jwk> parse_jwk(const bj::object& jwk) {
  auto key = parse_key(jwk);
  if (!key) return make_error(ErrorCode::kInvalidArgument, "JWK: " + key.error().message);
  return std::move(*key);
}

Result<Jwk> parse_jwk(std::string_view json) {
  auto v = json::parse(json);
  if (!v) return std::unexpected(v.error().with_context("JWK"));
  if (!v->is_object()) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("JWK: expected a JSON object, got {}", json::kind_name(*v)));
  }
  return parse_jwk(v->get_object());
}

Result<JwkSet> JwkSet::parse(std::string_view json) {
  auto v = json::parse(json);
  if (!v) return std::unexpected(v.error().with_context("JWKS"));
  if (!v->is_object()) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("JWKS: expected a JSON object with a 'keys' array, got {}",
                                  json::kind_name(*v)));
  }
  return from_json(v->get_object());
}

Result<JwkSet> JwkSet::from_json(const bj::object& jwks) {
  const bj::array* keys = json::find_array(jwks, "keys");
  if (keys == nullptr) {
    return make_error(ErrorCode::kInvalidArgument,
                      "JWKS: member 'keys' is missing or not an array; is the URL a JWKS "
                      "document (…/.well-known/jwks.json)?");
  }
  JwkSet set;
  std::set<std::string, std::less<>> seen;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const bj::value& entry = (*keys)[i];
    if (!entry.is_object()) {
      set.skipped_.push_back(fmt::format("key {}: not a JSON object", i));
      continue;
    }
    const bj::object& o = entry.get_object();
    auto key = parse_key(o);
    if (!key) {
      if (key.error().fatal) {
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("JWKS {}: {}", describe(i, o), key.error().message));
      }
      set.skipped_.push_back(fmt::format("{}: {}", describe(i, o), key.error().message));
      continue;
    }
    if (key->kid.empty()) {
      set.skipped_.push_back(fmt::format("key {}: has no 'kid', so no token can select it", i));
      continue;
    }
    if (!seen.insert(key->kid).second) {
      set.skipped_.push_back(fmt::format(
          "{}: repeats a kid already in the set; the first one is used", describe(i, o)));
      continue;
    }
    set.keys_.push_back(std::move(*key));
  }
  if (set.keys_.empty()) {
    std::string why;
    for (const std::string& s : set.skipped_) why += (why.empty() ? "" : "; ") + s;
    return make_error(ErrorCode::kInvalidArgument,
                      "JWKS: no usable signature key (RSA or EC with a kid)", why);
  }
  return set;
}

const Jwk* JwkSet::find(std::string_view kid) const {
  for (const Jwk& k : keys_) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

}  // namespace idp::auth

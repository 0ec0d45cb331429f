// Public verification keys from a JSON Web Key (RFC 7517) or a JWK Set such as a Cognito user
// pool's `/.well-known/jwks.json`. Only signature-verification keys are accepted: RSA (`n`, `e`,
// at least 2048 bits) and EC (`crv` P-256, P-384 or P-521 with `x`, `y`). Symmetric keys
// (`kty: oct`) and keys carrying private material (`d`, `p`, ...) are refused: a verifier never
// needs them, and a JWKS that publishes them is a leak the operator must fix.
//
// Jwk and JwkSet are immutable values once built; the EVP_PKEY behind a Jwk is shared and only
// used for verification, so copies may be used from any number of threads at once.
#pragma once

#include <boost/json/object.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/error.h"

struct evp_pkey_st;      // OpenSSL's EVP_PKEY, kept out of this header.
struct evp_pkey_ctx_st;  // OpenSSL's EVP_PKEY_CTX

namespace idp::auth {

namespace detail {

// Verification contexts of one public key, kept for reuse by verify_jws_signature: a fresh
// OpenSSL 3 context costs provider and algorithm look-ups (EVP_DigestVerifyInit measured ~10 % of
// a whole RS256 token check), a reused one nothing. Each context is set up once for
// EVP_PKEY_verify over a SHA-2 digest (PKCS#1 v1.5 padding for RSA) and is used by one thread at
// a time: take() hands it out, give_back() returns it. Thread-safe; shared by the copies of a
// Jwk. It holds its own reference to the key, and verify_jws_signature uses it only when it was
// made for the very key of the Jwk at hand.
class VerifyContextPool {
 public:
  explicit VerifyContextPool(std::shared_ptr<evp_pkey_st> key);
  ~VerifyContextPool();
  VerifyContextPool(const VerifyContextPool&) = delete;
  VerifyContextPool& operator=(const VerifyContextPool&) = delete;

  const evp_pkey_st* key() const { return key_.get(); }
  // An idle context for SHA-`sha_bits` (256, 384 or 512), or a new one; null if OpenSSL fails.
  evp_pkey_ctx_st* take(int sha_bits);
  // Returns a context from take(sha_bits); beyond a few idle ones per digest it is freed.
  void give_back(int sha_bits, evp_pkey_ctx_st* ctx);
  // A context set up as take() does, owned by the caller (EVP_PKEY_CTX_free).
  static evp_pkey_ctx_st* make(evp_pkey_st* key, int sha_bits);

 private:
  static constexpr std::size_t kMaxIdle = 8;  // per digest; about the number of threads
  std::shared_ptr<evp_pkey_st> key_;
  std::mutex mu_;
  std::array<std::vector<evp_pkey_ctx_st*>, 3> idle_;  // SHA-256, SHA-384, SHA-512
};

}  // namespace detail

enum class KeyType { kRsa, kEc };

// "RSA" / "EC", as in the JWK `kty` member.
const char* to_string(KeyType kty);

struct Jwk {
  std::string kid;  // may be empty for a lone key; a JwkSet can only find keys that have one
  KeyType kty = KeyType::kRsa;
  std::string alg;       // the key's own `alg`, empty when the JWK does not pin one
  std::string use;       // "sig" or empty
  std::string crv;       // EC only: "P-256", "P-384", "P-521"
  std::size_t bits = 0;  // RSA modulus or EC field size in bits
  // The public key. Never null in a Jwk returned by parse_jwk / JwkSet.
  std::shared_ptr<evp_pkey_st> key;
  // Reusable verification contexts for `key`, set by parse_jwk / JwkSet. A Jwk built by hand may
  // leave it null (and one whose `key` was replaced keeps a pool that no longer matches): the
  // verifier then sets up a context per call, with the same result, only slower.
  std::shared_ptr<detail::VerifyContextPool> contexts;
};

// Parses one public JWK. Errors (kInvalidArgument) say which member is wrong and what to do.
Result<Jwk> parse_jwk(const boost::json::object& jwk);
Result<Jwk> parse_jwk(std::string_view json);

class JwkSet {
 public:
  JwkSet() = default;
  explicit JwkSet(std::vector<Jwk> keys) : keys_(std::move(keys)) {}

  // Parses `{"keys":[...]}`. Keys this verifier cannot use for signatures (another `kty` such as
  // OKP, `use: enc`, an unsupported curve, no `kid`, a repeated `kid`) are skipped and described
  // in skipped(); a symmetric or private key fails the whole set, and so does a set with no
  // usable key at all.
  static Result<JwkSet> parse(std::string_view json);
  static Result<JwkSet> from_json(const boost::json::object& jwks);

  // The key with this `kid`, or nullptr.
  const Jwk* find(std::string_view kid) const;

  const std::vector<Jwk>& keys() const { return keys_; }
  std::size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }
  // One line per ignored key ("key 2 (kid 'abc'): use 'enc' is not for signatures"), for logs.
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  std::vector<Jwk> keys_;
  std::vector<std::string> skipped_;
};

}  // namespace idp::auth

// Private to LocalCognito: the cryptography of the local identity provider. A pool's RSA-2048
// signing key (its kid, public JWK, RS256 signing, and the same key as a JwkSet so that the
// provider checks its own tokens with the real verifier), PBKDF2-HMAC-SHA256 password hashes,
// and the random ids Cognito hands out. SigningKey is immutable once made and may be shared
// between threads; the free functions are thread-safe. Failures of OpenSSL throw
// std::runtime_error (LocalCognito turns them into a 500 InternalErrorException).
#pragma once

#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "idp/auth/jwk.h"
#include "idp/core/secret.h"

namespace idp::auth::local {

class SigningKey {
 public:
  static SigningKey generate();
  // The key from its PKCS#8 PEM; throws when the PEM is not an RSA private key.
  static SigningKey from_pem(const Secret& pem);

  const std::string& kid() const { return kid_; }
  const Secret& pem() const { return *pem_; }  // for the state file
  // {"alg":"RS256","e","kid","kty":"RSA","n","use":"sig"}: what the JWKS document lists.
  boost::json::object public_jwk() const;
  // The public key as the verifier takes it.
  const JwkSet& verification_keys() const { return *verify_; }
  // header.payload.signature with {"kid","alg":"RS256"}.
  std::string sign_jwt(const boost::json::object& claims) const;

 private:
  explicit SigningKey(std::shared_ptr<evp_pkey_st> key);
  std::shared_ptr<evp_pkey_st> key_;
  std::string kid_, n_, e_;  // n and e base64url
  std::shared_ptr<const Secret> pem_;
  std::shared_ptr<const JwkSet> verify_;
};

struct PasswordHash {
  int iterations = 0;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes
};
PasswordHash hash_password(std::string_view password);
bool check_password(const PasswordHash& stored, std::string_view password);

// `n` characters of `alphabet`, uniformly (no modulo bias).
std::string random_string(std::size_t n, std::string_view alphabet);
inline constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::string_view kLowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";
// A random (version 4) UUID, as Cognito's `sub`.
std::string uuid4();

}  // namespace idp::auth::local

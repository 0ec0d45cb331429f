#include "local_cognito_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdexcept>

#include "idp/core/crypto.h"
#include "idp/core/json_util.h"
#include "idp/core/random.h"

namespace idp::auth::local {

namespace bj = boost::json;

namespace {

constexpr int kPbkdf2Iterations = 120'000;

std::runtime_error openssl_error(std::string_view what) {
  return std::runtime_error(std::string(what) + " failed (OpenSSL)");
}

std::string bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1 || !bn) throw openssl_error("reading the RSA key");
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

std::string private_key_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw openssl_error("PEM encoding");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<std::size_t>(n));
  OPENSSL_cleanse(data, static_cast<std::size_t>(n));
  return pem;
}

std::string rs256_sign(EVP_PKEY* key, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
    throw openssl_error("RS256 signing");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1) {
    throw openssl_error("RS256 signing");
  }
  sig.resize(len);
  return sig;
}

std::string pbkdf2(std::string_view password, std::string_view salt, int iterations) {
  std::string out(32, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    throw openssl_error("PBKDF2");
  }
  return out;
}

}  // namespace

SigningKey::SigningKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {
  n_ = base64url_encode(bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_N));
  e_ = base64url_encode(bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_E));
  // kid: base64url(SHA-256(SubjectPublicKeyInfo DER)), stable for the key.
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key_.get(), &der);
  if (n <= 0) throw openssl_error("encoding the public key");
  std::string spki(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  kid_ = base64url_encode(crypto::sha256(spki)).substr(0, 22);
  pem_ = std::make_shared<const Secret>(private_key_pem(key_.get()));
  bj::object set{{"keys", bj::array{public_jwk()}}};
  auto jwks = JwkSet::from_json(set);
  if (!jwks) throw std::runtime_error("the pool key is not a valid JWK: " + jwks.error().message());
  verify_ = std::make_shared<const JwkSet>(std::move(*jwks));
}

SigningKey SigningKey::generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
  if (!raw) throw openssl_error("RSA key generation");
  return SigningKey(std::shared_ptr<evp_pkey_st>(raw, EVP_PKEY_free));
}

SigningKey SigningKey::from_pem(const Secret& pem) {
  const std::string& text = pem.reveal();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!raw) throw std::runtime_error("unreadable private key");
  std::shared_ptr<evp_pkey_st> key(raw, EVP_PKEY_free);
  if (!EVP_PKEY_is_a(key.get(), "RSA")) throw std::runtime_error("the private key is not RSA");
  return SigningKey(std::move(key));
}

bj::object SigningKey::public_jwk() const {
  return bj::object{{"alg", "RS256"}, {"e", e_}, {"kid", kid_},
                    {"kty", "RSA"},   {"n", n_}, {"use", "sig"}};
}

std::string SigningKey::sign_jwt(const bj::object& claims) const {
  bj::object header{{"kid", kid_}, {"alg", "RS256"}};
  std::string input =
      base64url_encode(json::serialize(header)) + "." + base64url_encode(json::serialize(claims));
  return input + "." + base64url_encode(rs256_sign(key_.get(), input));
}

PasswordHash hash_password(std::string_view password) {
  PasswordHash h;
  h.iterations = kPbkdf2Iterations;
  h.salt = random_bytes(16);
  h.hash = pbkdf2(password, h.salt, h.iterations);
  return h;
}

bool check_password(const PasswordHash& stored, std::string_view password) {
  if (stored.iterations <= 0 || stored.hash.empty()) return false;
  return constant_time_equal(pbkdf2(password, stored.salt, stored.iterations), stored.hash);
}

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

std::string uuid4() {
  std::string b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  const std::string hex = crypto::to_hex(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace idp::auth::local

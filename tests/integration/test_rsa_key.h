// An RSA key for tests that play the issuer of their own tokens: its public JWK (with a kid) for a
// JWKS the test serves, its PEM, and RS256/384/512 signatures over a JWS signing input. For tests
// only (keys live in memory; nothing is checked for errors).
#pragma once

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/object.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "../lib/digest_sign.h"
#include "idp/core/random.h"

namespace idp::test {

// The raw signature of `input` with `key` (`md`: "SHA256", "SHA384" or "SHA512").
inline std::string rsa_sign(EVP_PKEY* key, const char* md, std::string_view input) {
  return digest_sign(key, md, input);
}

struct RsaKey {
  EVP_PKEY* pkey = nullptr;
  std::string kid;
  RsaKey() = default;
  RsaKey(const RsaKey&) = delete;
  RsaKey& operator=(const RsaKey&) = delete;
  ~RsaKey() { EVP_PKEY_free(pkey); }
  // A fresh 2048-bit key, once: a second call keeps the first key (suites that share static keys).
  void generate() {
    if (pkey == nullptr) pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
  }
  boost::json::object jwk() const {
    auto param = [&](const char* name) {
      BIGNUM* bn = nullptr;
      EVP_PKEY_get_bn_param(pkey, name, &bn);
      std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
      BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
      BN_free(bn);
      return base64url_encode(out);
    };
    return {{"kty", "RSA"},
            {"kid", kid},
            {"use", "sig"},
            {"alg", "RS256"},
            {"n", param(OSSL_PKEY_PARAM_RSA_N)},
            {"e", param(OSSL_PKEY_PARAM_RSA_E)}};
  }
  std::string pem_public() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pkey);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return out;
  }
};

}  // namespace idp::test

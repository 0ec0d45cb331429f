// Test helper: a signature made the way a token issuer makes it (OpenSSL's one-shot digest-sign
// with the key's default padding), for tests that build their own JWTs. Empty on failure.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace idp::test {

// `md`: "SHA256", "SHA384" or "SHA512". RSA keys give PKCS#1 v1.5, EC keys DER signatures.
inline std::string digest_sign(EVP_PKEY* key, const char* md, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t len = 0;
  std::string sig;
  if (ctx && EVP_DigestSignInit_ex(ctx, nullptr, md, nullptr, nullptr, key, nullptr) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, in, input.size()) == 1) {
    sig.resize(len);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) ==
        1) {
      sig.resize(len);
    } else {
      sig.clear();
    }
  }
  EVP_MD_CTX_free(ctx);
  return sig;
}

}  // namespace idp::test

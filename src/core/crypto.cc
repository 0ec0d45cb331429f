#include "idp/core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace idp::crypto {

namespace {

// SHA-256 fetched from the provider once: EVP_sha256() is looked up again on every use (a lock
// and a property query per digest).
const EVP_MD* sha256_md() {
  static EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return fetched ? fetched : EVP_sha256();
}

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, sha256_md(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");  // only on allocation failure inside OpenSSL
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len)) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  std::string out(reinterpret_cast<const char*>(md), len);
  OPENSSL_cleanse(md, sizeof md);  // SigV4 derives signing keys with it
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0xf];
  }
  return out;
}

}  // namespace idp::crypto

#include "idp/core/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <stdexcept>

#include "idp/core/secret.h"

namespace idp {
namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  std::size_t rest = in.size() - i;
  if (rest == 1) {
    unsigned v = byte(i) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

// base64url alphabet -> 6-bit value, -1 for every other byte.
constexpr std::array<std::int8_t, 256> kUrlValue = [] {
  std::array<std::int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kUrl[i])] = static_cast<std::int8_t>(i);
  return t;
}();

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

std::string random_bytes(std::size_t n) {
  std::string raw(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  return raw;
}

std::string random_token(std::size_t bytes) { return base64url_encode(random_bytes(bytes)); }

std::string trace_id() {
  // splitmix64 seeded once per thread from the CSPRNG: trace ids need to be distinct, not
  // secret, and this runs for every request.
  thread_local std::uint64_t state = [] {
    std::uint64_t seed = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed);
    return seed;
  }();
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  // 15 hex digits (60 bits): fits std::string's small buffer, so no allocation per request.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(15, '0');
  for (int i = 14; i >= 0; --i, z >>= 4) out[i] = kHex[z & 15];
  return out;
}

std::string base64_encode(std::string_view data) { return encode(data, kStd, true); }
std::string base64url_encode(std::string_view data) { return encode(data, kUrl, false); }

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = decode_char(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::optional<std::size_t> base64url_decode_into(std::string_view text, unsigned char* out) {
  const std::size_t n = text.size();
  if (n % 4 == 1) return std::nullopt;
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  auto val = [](unsigned char c) { return static_cast<int>(kUrlValue[c]); };
  std::size_t o = 0;
  std::size_t i = 0;
  int bad = 0;  // negative once any character is outside the alphabet; checked after the loop
  for (; i + 4 <= n; i += 4) {
    const int a = val(in[i]), b = val(in[i + 1]), c = val(in[i + 2]), d = val(in[i + 3]);
    bad |= a | b | c | d;
    const auto v = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6 | d);
    out[o] = static_cast<unsigned char>(v >> 16);
    out[o + 1] = static_cast<unsigned char>(v >> 8);
    out[o + 2] = static_cast<unsigned char>(v);
    o += 3;
  }
  if (bad < 0) return std::nullopt;
  // The unused low bits of the last character must be zero, so each value has one encoding.
  if (n - i == 2) {
    const int a = val(in[i]), b = val(in[i + 1]);
    if ((a | b) < 0 || (b & 0x0F) != 0) return std::nullopt;
    out[o++] = static_cast<unsigned char>(a << 2 | b >> 4);
  } else if (n - i == 3) {
    const int a = val(in[i]), b = val(in[i + 1]), c = val(in[i + 2]);
    if ((a | b | c) < 0 || (c & 0x03) != 0) return std::nullopt;
    const auto v = static_cast<std::uint32_t>(a << 12 | b << 6 | c);
    out[o] = static_cast<unsigned char>(v >> 10);
    out[o + 1] = static_cast<unsigned char>(v >> 2);
    o += 2;
  }
  return o;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  std::optional<std::size_t> len;
  out.resize_and_overwrite(base64url_decoded_size(text.size()), [&](char* p, std::size_t) {
    len = base64url_decode_into(text, reinterpret_cast<unsigned char*>(p));
    return len ? *len : std::size_t{0};
  });
  if (!len) return std::nullopt;
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool Secret::operator==(const Secret& other) const {
  return constant_time_equal(value_, other.value_);
}

void Secret::wipe() noexcept {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

}  // namespace idp

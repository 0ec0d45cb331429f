#include "idp/aws/sigv4.h"
#include "idp/core/clock.h"
#include "idp/core/text.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <mutex>

namespace idp::aws {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower_ascii(c);
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lenient percent-decoding: a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Trims and collapses runs of whitespace to one space (the suite's get-header-value-trim).
std::string canonical_header_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// Headers botocore never signs: proxies and HTTP stacks may add, drop or rewrite them.
bool is_unsigned_header(std::string_view lname) {
  static constexpr std::string_view kNames[] = {
      "authorization", "connection", "expect", "keep-alive", "proxy-authenticate",
      "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
      "x-amzn-trace-id",
      // set by the signer itself
      "x-amz-date", "x-amz-security-token"};
  return std::find(std::begin(kNames), std::end(kNames), lname) != std::end(kNames);
}

// RFC 3986 section 5.2.4 on the segments, plus dropping empty segments (`//`), keeping a
// trailing slash: the suite's normalize-path vectors.
std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    if (seg.empty() || seg == ".") {
      // skip
    } else if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else {
      out.push_back(seg);
    }
    i = j + 1;
  }
  std::string result = "/";
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (k) result.push_back('/');
    result.append(out[k]);
  }
  if (!out.empty() && !path.empty() && path.back() == '/') result.push_back('/');
  return result;
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

std::string canonical_uri(std::string_view wire_path, bool normalize, bool encode) {
  std::string path = wire_path.empty() ? std::string("/") : std::string(wire_path);
  if (normalize) path = normalize_path(path);
  if (encode) path = uri_encode(path, /*keep_slash=*/true);
  return path;
}

std::string canonical_query(std::string_view wire_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t i = 0;
  while (i <= wire_query.size()) {
    std::size_t j = wire_query.find('&', i);
    if (j == std::string_view::npos) j = wire_query.size();
    std::string_view item = wire_query.substr(i, j - i);
    if (!item.empty()) {
      std::size_t eq = item.find('=');
      std::string_view name = item.substr(0, eq);
      std::string_view value =
          eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
      pairs.emplace_back(uri_encode(percent_decode(name), false),
                         uri_encode(percent_decode(value), false));
    }
    i = j + 1;
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out.append(name).append("=").append(value);
  }
  return out;
}

std::string format_amz_date(std::chrono::system_clock::time_point time) {
  return format_utc(time, "%Y%m%dT%H%M%SZ");
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) -> int {
    int v = 0;
    for (std::size_t k = pos; k < pos + len; ++k) {
      if (s[k] < '0' || s[k] > '9') return -1;
      v = v * 10 + (s[k] - '0');
    }
    return v;
  };
  std::tm tm{};
  int year = num(0, 4), month = num(4, 2), day = num(6, 2);
  int hour = num(9, 2), minute = num(11, 2), second = num(13, 2);
  // Up to 2200: system_clock counts nanoseconds in 64 bits and ends in 2262 (found by
  // fuzz-sigv4: "2815..." overflowed into a date in 2231).
  if (year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::optional<ParsedAuthorization> parse_authorization(std::string_view v) {
  if (!v.starts_with(kAlgorithm)) return std::nullopt;
  v.remove_prefix(kAlgorithm.size());
  if (v.empty() || v.front() != ' ') return std::nullopt;
  ParsedAuthorization out;
  bool have_credential = false, have_signed = false, have_signature = false;
  while (!v.empty()) {
    while (!v.empty() && (v.front() == ' ' || v.front() == ',')) v.remove_prefix(1);
    if (v.empty()) break;
    std::size_t end = v.find(',');
    std::string_view part = v.substr(0, end);
    v = end == std::string_view::npos ? std::string_view() : v.substr(end);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = part.substr(0, eq);
    std::string_view value = part.substr(eq + 1);
    if (key == "Credential") {
      // AK/date/region/service/aws4_request; the key id itself never holds '/'.
      std::vector<std::string_view> pieces;
      std::size_t i = 0;
      while (true) {
        std::size_t j = value.find('/', i);
        pieces.push_back(
            value.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
        if (j == std::string_view::npos) break;
        i = j + 1;
      }
      if (pieces.size() != 5 || pieces[4] != "aws4_request" || pieces[0].empty())
        return std::nullopt;
      out.access_key_id = pieces[0];
      out.date = pieces[1];
      out.region = pieces[2];
      out.service = pieces[3];
      have_credential = true;
    } else if (key == "SignedHeaders") {
      std::size_t i = 0;
      while (i <= value.size()) {
        std::size_t j = value.find(';', i);
        if (j == std::string_view::npos) j = value.size();
        if (j > i) out.signed_headers.push_back(lower(value.substr(i, j - i)));
        i = j + 1;
      }
      have_signed = !out.signed_headers.empty();
    } else if (key == "Signature") {
      out.signature = value;
      have_signature = !value.empty();
    }
  }
  if (!have_credential || !have_signed || !have_signature) return std::nullopt;
  return out;
}

struct Signer::Cache {
  struct Entry {
    Secret secret;       // the secret the key was derived from: a new secret means a new key
    Secret signing_key;  // raw 32 bytes
  };
  mutable std::mutex mu;
  std::map<std::string, Entry, std::less<>> entries;
  std::size_t derivations = 0;
};

Signer::Signer() : cache_(std::make_unique<Cache>()) {}
Signer::~Signer() = default;

std::size_t Signer::key_derivations() const {
  std::lock_guard lock(cache_->mu);
  return cache_->derivations;
}

Secret Signer::signing_key(const Credentials& c, std::string_view date, std::string_view region,
                           std::string_view service) const {
  std::string id;
  id.append(date).append("\n").append(region).append("\n").append(service).append("\n").append(
      c.access_key_id);
  {
    std::lock_guard lock(cache_->mu);
    auto it = cache_->entries.find(id);
    if (it != cache_->entries.end() && it->second.secret == c.secret_access_key) {
      return it->second.signing_key;
    }
  }
  std::string k_secret = "AWS4" + c.secret_access_key.reveal();
  std::string k_date = hmac_sha256(k_secret, date);
  std::string k_region = hmac_sha256(k_date, region);
  std::string k_service = hmac_sha256(k_region, service);
  Secret key(hmac_sha256(k_service, "aws4_request"));
  OPENSSL_cleanse(k_secret.data(), k_secret.size());
  OPENSSL_cleanse(k_date.data(), k_date.size());
  OPENSSL_cleanse(k_region.data(), k_region.size());
  OPENSSL_cleanse(k_service.data(), k_service.size());
  std::lock_guard lock(cache_->mu);
  ++cache_->derivations;
  // Keys change daily; a small bound keeps a long-running process from collecting them.
  if (cache_->entries.size() >= 64) cache_->entries.clear();
  cache_->entries.insert_or_assign(std::move(id), Cache::Entry{c.secret_access_key, key});
  return key;
}

Result<SignedRequest> Signer::sign(const SigningRequest& request, const Credentials& credentials,
                                   std::string_view region, std::string_view service,
                                   std::chrono::system_clock::time_point time,
                                   const SigningOptions& options) const {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "SigV4: the credentials have no access key id or secret access key");
  }
  if (region.empty() || service.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "SigV4: the region and the service are required");
  }
  if (request.method.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "SigV4: the request has no method");
  }

  SignedRequest out;
  out.amz_date = format_amz_date(time);
  std::string date = out.amz_date.substr(0, 8);
  out.credential_scope = date;
  out.credential_scope.append("/").append(region).append("/").append(service).append(
      "/aws4_request");
  out.payload_hash = options.payload_hash ? *options.payload_hash : sha256_hex(request.body);

  // Canonical headers: lowercase names, stable-sorted, duplicates joined in order with ','.
  std::vector<std::pair<std::string, std::string>> headers;
  bool has_host = false;
  for (std::size_t i = 0; i < request.headers.size(); ++i) {
    const auto& [name, value] = request.headers[i];
    // A name with ',', ';', ':' or a line break would change what the signature covers (and
    // could not be sent anyway).
    if (!is_http_token(name)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "SigV4: header " + std::to_string(i + 1) +
                            " has a name that is not a valid HTTP field name (RFC 9110 token)");
    }
    std::string lname = lower(name);
    if (is_unsigned_header(lname)) continue;
    if (options.add_content_sha256_header && lname == "x-amz-content-sha256") continue;
    if (lname == "host") has_host = true;
    headers.emplace_back(std::move(lname), canonical_header_value(value));
  }
  if (!has_host) {
    return make_error(ErrorCode::kInvalidArgument, "SigV4: the request has no Host header");
  }
  bool sign_token = credentials.session_token && !options.omit_session_token;
  headers.emplace_back("x-amz-date", out.amz_date);
  if (sign_token) headers.emplace_back("x-amz-security-token", credentials.session_token->reveal());
  if (options.add_content_sha256_header)
    headers.emplace_back("x-amz-content-sha256", out.payload_hash);
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  std::string canonical_headers;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.back() = ',';  // replaces the '\n' of the previous value
      canonical_headers.append(headers[i].second).append("\n");
      continue;
    }
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers.append(headers[i].first);
    canonical_headers.append(headers[i].first).append(":").append(headers[i].second).append("\n");
  }

  std::string& creq = out.canonical_request;
  creq.append(request.method).append("\n");
  creq.append(canonical_uri(request.path, options.normalize_path, options.encode_path))
      .append("\n");
  creq.append(canonical_query(request.query)).append("\n");
  creq.append(canonical_headers).append("\n");
  creq.append(out.signed_headers).append("\n");
  creq.append(out.payload_hash);

  out.string_to_sign.append(kAlgorithm).append("\n");
  out.string_to_sign.append(out.amz_date).append("\n");
  out.string_to_sign.append(out.credential_scope).append("\n");
  out.string_to_sign.append(sha256_hex(creq));

  Secret key = signing_key(credentials, date, region, service);
  out.signature = to_hex(hmac_sha256(key.reveal(), out.string_to_sign));

  out.authorization.append(kAlgorithm).append(" Credential=").append(credentials.access_key_id);
  out.authorization.append("/").append(out.credential_scope);
  out.authorization.append(", SignedHeaders=").append(out.signed_headers);
  out.authorization.append(", Signature=").append(out.signature);

  out.headers.emplace_back("X-Amz-Date", out.amz_date);
  if (options.add_content_sha256_header)
    out.headers.emplace_back("X-Amz-Content-Sha256", out.payload_hash);
  if (credentials.session_token) {
    out.headers.emplace_back("X-Amz-Security-Token", credentials.session_token->reveal());
  }
  out.headers.emplace_back("Authorization", out.authorization);
  return out;
}

}  // namespace idp::aws

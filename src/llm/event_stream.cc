#include "idp/llm/event_stream.h"

#include <algorithm>
#include <array>

namespace idp::llm::eventstream {

namespace {

constexpr std::size_t kPreludeBytes = 12;  // two lengths and the prelude CRC
constexpr std::size_t kMinMessageBytes = kPreludeBytes + 4;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

std::uint32_t read_u32(std::string_view s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) |
         (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

std::uint64_t read_be(std::string_view s, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | std::uint8_t(s[at + i]);
  return v;
}

void put_be(std::string& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = n; i-- > 0;) out.push_back(char((v >> (8 * i)) & 0xff));
}

// Two's complement of an n-byte big-endian value.
std::int64_t sign_extend(std::uint64_t v, std::size_t n) {
  if (n == 8) return static_cast<std::int64_t>(v);
  std::uint64_t sign = std::uint64_t(1) << (8 * n - 1);
  return static_cast<std::int64_t>((v ^ sign)) - static_cast<std::int64_t>(sign);
}

std::size_t fixed_size(HeaderType t) {
  switch (t) {
    case HeaderType::kTrue:
    case HeaderType::kFalse:
      return 0;
    case HeaderType::kByte:
      return 1;
    case HeaderType::kShort:
      return 2;
    case HeaderType::kInteger:
      return 4;
    case HeaderType::kLong:
    case HeaderType::kTimestamp:
      return 8;
    case HeaderType::kUuid:
      return 16;
    case HeaderType::kBytes:
    case HeaderType::kString:
      return 0;
  }
  return 0;
}

}  // namespace

Header Header::string(std::string name, std::string value) {
  Header h;
  h.name = std::move(name);
  h.type = HeaderType::kString;
  h.bytes = std::move(value);
  return h;
}

const Header* Message::find(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

std::string_view Message::string_header(std::string_view name) const {
  const Header* h = find(name);
  return h && h->type == HeaderType::kString ? std::string_view(h->bytes) : std::string_view();
}

std::uint32_t crc32(std::string_view data, std::uint32_t crc) {
  std::uint32_t c = ~crc;
  for (char ch : data) c = kCrcTable[(c ^ std::uint8_t(ch)) & 0xff] ^ (c >> 8);
  return ~c;
}

std::string encode(const Message& message) {
  std::string headers;
  for (const auto& h : message.headers) {
    headers.push_back(char(h.name.size()));
    headers += h.name;
    headers.push_back(char(h.type));
    switch (h.type) {
      case HeaderType::kTrue:
      case HeaderType::kFalse:
        break;
      case HeaderType::kBytes:
      case HeaderType::kString:
        put_be(headers, h.bytes.size(), 2);
        headers += h.bytes;
        break;
      case HeaderType::kUuid:
        headers += h.bytes.substr(0, 16);
        headers.append(16 - std::min<std::size_t>(16, h.bytes.size()), '\0');
        break;
      default:
        put_be(headers, static_cast<std::uint64_t>(h.integer), fixed_size(h.type));
        break;
    }
  }
  std::string out;
  const std::size_t total = kMinMessageBytes + headers.size() + message.payload.size();
  put_be(out, total, 4);
  put_be(out, headers.size(), 4);
  put_be(out, crc32(out), 4);
  out += headers;
  out += message.payload;
  put_be(out, crc32(out), 4);
  return out;
}

Result<Message> EventStreamDecoder::parse_one(std::string_view frame) const {
  const std::uint32_t headers_length = read_u32(frame, 4);
  const std::size_t headers_end = kPreludeBytes + headers_length;
  Message m;
  std::size_t at = kPreludeBytes;
  while (at < headers_end) {
    const std::size_t name_len = std::uint8_t(frame[at]);
    if (name_len == 0) return make_error(ErrorCode::kProtocol, "a header has an empty name");
    if (at + 1 + name_len + 1 > headers_end) {
      return make_error(ErrorCode::kProtocol, "a header runs past the headers section");
    }
    Header h;
    h.name.assign(frame.substr(at + 1, name_len));
    at += 1 + name_len;
    const std::uint8_t type = std::uint8_t(frame[at++]);
    if (type > std::uint8_t(HeaderType::kUuid)) {
      return make_error(ErrorCode::kProtocol, "header '" + h.name +
                                                  "' has the unknown value type " +
                                                  std::to_string(type) + " (known: 0-9)");
    }
    h.type = HeaderType(type);
    std::size_t value_len = fixed_size(h.type);
    if (h.type == HeaderType::kBytes || h.type == HeaderType::kString) {
      if (at + 2 > headers_end) {
        return make_error(ErrorCode::kProtocol, "header '" + h.name + "' is cut short");
      }
      value_len = read_be(frame, at, 2);
      at += 2;
    }
    if (at + value_len > headers_end) {
      return make_error(ErrorCode::kProtocol,
                        "the value of header '" + h.name + "' runs past the headers section");
    }
    switch (h.type) {
      case HeaderType::kTrue:
        h.integer = 1;
        break;
      case HeaderType::kFalse:
        break;
      case HeaderType::kBytes:
      case HeaderType::kString:
      case HeaderType::kUuid:
        h.bytes.assign(frame.substr(at, value_len));
        break;
      default:
        h.integer = sign_extend(read_be(frame, at, value_len), value_len);
        break;
    }
    at += value_len;
    for (const auto& seen : m.headers) {
      if (seen.name == h.name) {
        return make_error(ErrorCode::kProtocol, "header '" + h.name + "' appears twice");
      }
    }
    m.headers.push_back(std::move(h));
  }
  m.payload.assign(frame.substr(headers_end, frame.size() - headers_end - 4));
  return m;
}

Result<std::vector<Message>> EventStreamDecoder::feed(std::string_view bytes) {
  if (error_) return std::unexpected(*error_);
  buffer_.append(bytes);
  std::vector<Message> out;
  auto fail = [&](ErrorCode code, std::string what) -> Result<std::vector<Message>> {
    error_ = Error(code, "event stream: message " + std::to_string(decoded_ + 1) + " at byte " +
                             std::to_string(consumed_) + ": " + what);
    return std::unexpected(*error_);
  };
  for (;;) {
    std::string_view rest = std::string_view(buffer_).substr(start_);
    if (rest.size() < kPreludeBytes) break;
    const std::uint32_t total = read_u32(rest, 0);
    const std::uint32_t headers_length = read_u32(rest, 4);
    const std::uint32_t prelude_crc = read_u32(rest, 8);
    if (crc32(rest.substr(0, 8)) != prelude_crc) {
      return fail(ErrorCode::kProtocol, "prelude CRC mismatch (a corrupt or misaligned frame)");
    }
    if (total < kMinMessageBytes || headers_length > total - kMinMessageBytes) {
      return fail(ErrorCode::kProtocol, "impossible lengths (total " + std::to_string(total) +
                                            ", headers " + std::to_string(headers_length) + ")");
    }
    if (total > limits_.max_message_bytes) {
      return fail(ErrorCode::kResourceExhausted, "the message is " + std::to_string(total) +
                                                     " bytes, more than the limit of " +
                                                     std::to_string(limits_.max_message_bytes));
    }
    if (headers_length > limits_.max_headers_bytes) {
      return fail(ErrorCode::kResourceExhausted, "the headers are " +
                                                     std::to_string(headers_length) +
                                                     " bytes, more than the limit of " +
                                                     std::to_string(limits_.max_headers_bytes));
    }
    if (rest.size() < total) break;
    std::string_view frame = rest.substr(0, total);
    if (crc32(frame.substr(0, total - 4)) != read_u32(frame, total - 4)) {
      return fail(ErrorCode::kProtocol, "message CRC mismatch (the frame was corrupted)");
    }
    auto m = parse_one(frame);
    if (!m) return fail(m.error().code(), m.error().message());
    out.push_back(std::move(*m));
    ++decoded_;
    start_ += total;
    consumed_ += total;
  }
  // Drop what was consumed once it dominates the buffer, so appends stay amortized O(n).
  if (start_ > 0 && start_ * 2 >= buffer_.size()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  return out;
}

}  // namespace idp::llm::eventstream

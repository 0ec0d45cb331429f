// The AWS event-stream framing (`application/vnd.amazon.eventstream`, what Bedrock's
// ConverseStream answers with): a decoder fed the response body in pieces of any size, and an
// encoder for tests and fixtures. A message is
//   total_length u32 | headers_length u32 | prelude_crc u32 | headers | payload | message_crc u32
// (big-endian; CRC-32/IEEE of the first 8 bytes, then of everything before the last 4). Both
// CRCs are checked, header names must be unique, header value types 0-9 are known, and the sizes
// are bounded before anything is buffered, so a hostile or broken peer cannot make the decoder
// hold more than one message of at most `max_message_bytes`.
// Thread-safety: EventStreamDecoder is not synchronized (one per stream); the free functions are
// pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/core/error.h"

namespace idp::llm::eventstream {

enum class HeaderType : std::uint8_t {
  kTrue = 0,
  kFalse = 1,
  kByte = 2,
  kShort = 3,
  kInteger = 4,
  kLong = 5,
  kBytes = 6,
  kString = 7,
  kTimestamp = 8,  // milliseconds since the epoch
  kUuid = 9,       // 16 raw bytes
};

struct Header {
  std::string name;
  HeaderType type = HeaderType::kString;
  std::int64_t integer = 0;  // kByte..kLong, kTimestamp; 1/0 for kTrue/kFalse
  std::string bytes;         // kBytes, kString, kUuid

  static Header string(std::string name, std::string value);
};

struct Message {
  std::vector<Header> headers;
  std::string payload;

  const Header* find(std::string_view name) const;
  // The value of a string header, "" when absent or of another type.
  std::string_view string_header(std::string_view name) const;
};

struct Limits {
  std::size_t max_message_bytes = 24 * 1024 * 1024 + 128 * 1024 + 16;
  std::size_t max_headers_bytes = 128 * 1024;
};

// CRC-32 (IEEE 802.3, as zlib's crc32), continuing from `crc` (0 to start).
std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0);

// One complete message, CRCs included. Header names and values must fit their length fields.
std::string encode(const Message& message);

class EventStreamDecoder {
 public:
  explicit EventStreamDecoder(Limits limits = {}) : limits_(limits) {}

  // Adds `bytes` and returns the messages they complete, in order. On the first framing error
  // (kProtocol for a bad CRC, length or header; kResourceExhausted past a limit) it returns that
  // error, naming the message's offset in the stream, and every later call returns it again.
  Result<std::vector<Message>> feed(std::string_view bytes);

  // Bytes of an unfinished message held back (a stream that ends here was cut short).
  std::size_t pending_bytes() const { return buffer_.size() - start_; }
  // Messages decoded so far.
  std::size_t messages() const { return decoded_; }

 private:
  Result<Message> parse_one(std::string_view frame) const;

  Limits limits_;
  std::string buffer_;
  std::size_t start_ = 0;       // first unconsumed byte of buffer_
  std::uint64_t consumed_ = 0;  // stream offset of buffer_[start_]
  std::size_t decoded_ = 0;
  std::optional<Error> error_;
};

}  // namespace idp::llm::eventstream

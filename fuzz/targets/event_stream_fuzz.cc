// Fuzz target: the AWS event-stream decoder (idp::llm::eventstream) and what Bedrock's
// ConverseStream answer goes through after it (ConverseStreamAssembler, as bedrock_model.cc
// uses them). The first byte picks the piece size and whether the CRCs and lengths are
// repaired first: random bytes rarely carry two valid CRC-32s, and a repaired stream lets the
// fuzzer reach the header and payload parsers. Checks: whole and piecewise decoding agree, and
// every decoded message survives encode() and a second decode unchanged.
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "idp/core/json_util.h"
#include "idp/llm/converse_format.h"
#include "idp/llm/event_stream.h"

namespace es = idp::llm::eventstream;

namespace {

void put_u32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (24 - 8 * i));
}
std::uint32_t get_u32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// Makes each frame's lengths fit the input and its CRCs right.
std::string repair(std::string s) {
  std::size_t at = 0;
  while (s.size() - at >= 16) {
    const std::size_t left = s.size() - at;
    std::uint32_t total = get_u32(s, at);
    if (total < 16 || total > left) total = static_cast<std::uint32_t>(left);
    std::uint32_t headers = get_u32(s, at + 4);
    if (headers > total - 16) headers = headers % (total - 16 + 1);
    put_u32(s, at, total);
    put_u32(s, at + 4, headers);
    put_u32(s, at + 8, es::crc32(std::string_view(s).substr(at, 8)));
    put_u32(s, at + total - 4, es::crc32(std::string_view(s).substr(at, total - 4)));
    at += total;
  }
  return s;
}

bool same(const es::Message& a, const es::Message& b) {
  if (a.payload != b.payload || a.headers.size() != b.headers.size()) return false;
  for (std::size_t i = 0; i < a.headers.size(); ++i) {
    const auto &x = a.headers[i], &y = b.headers[i];
    if (x.name != y.name || x.type != y.type || x.integer != y.integer || x.bytes != y.bytes)
      return false;
  }
  return true;
}

// What bedrock_model.cc does with each message of a ConverseStream answer.
void assemble(const std::vector<es::Message>& messages) {
  idp::llm::ConverseStreamAssembler assembler;
  for (const auto& m : messages) {
    if (m.string_header(":message-type") != "event") continue;
    auto payload = idp::json::parse(m.payload);
    if (!payload || !payload->is_object()) return;
    if (!assembler.add_event(m.string_header(":event-type"), payload->get_object())) return;
  }
  (void)assembler.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto [mode, rest] = idp::fuzz::take_mode(idp::fuzz::as_text(data, size));
  const std::string stream = (mode & 0x80) ? repair(std::string(rest)) : std::string(rest);
  const std::size_t piece = 1 + (mode & 0x3f);
  es::Limits limits;
  if (mode & 0x40) limits = es::Limits{256, 64};  // small limits, to reach their errors

  es::EventStreamDecoder whole_decoder(limits);
  auto whole = whole_decoder.feed(stream);

  es::EventStreamDecoder piece_decoder(limits);
  std::vector<es::Message> pieces;
  bool piece_failed = false;
  for (std::size_t at = 0; at < stream.size() && !piece_failed; at += piece) {
    auto got = piece_decoder.feed(std::string_view(stream).substr(at, piece));
    if (!got) {
      piece_failed = true;
    } else {
      for (auto& m : *got) pieces.push_back(std::move(m));
    }
  }
  IDP_FUZZ_CHECK(whole.has_value() == !piece_failed);
  IDP_FUZZ_CHECK(whole_decoder.messages() == piece_decoder.messages());
  if (!whole) return 0;
  IDP_FUZZ_CHECK(whole->size() == pieces.size());
  IDP_FUZZ_CHECK(whole_decoder.pending_bytes() == piece_decoder.pending_bytes());
  for (std::size_t i = 0; i < whole->size(); ++i) {
    IDP_FUZZ_CHECK(same((*whole)[i], pieces[i]));
    es::EventStreamDecoder again(limits);
    auto round = again.feed(es::encode((*whole)[i]));
    IDP_FUZZ_CHECK(round && round->size() == 1 && same(round->front(), (*whole)[i]));
  }
  assemble(*whole);
  return 0;
}

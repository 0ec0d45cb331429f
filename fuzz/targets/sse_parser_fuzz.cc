// Fuzz target: the SSE parser (idp::http::SseParser), fed by MCP servers and model services we
// do not control. The input is one stream. It is parsed twice, whole and in pieces whose sizes
// come from the first byte; both must yield the same events, the same last event id and retry,
// and fail alike (the parser promises chunks of any size).
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "idp/http/sse_parser.h"

namespace {

struct Outcome {
  std::vector<idp::http::SseEvent> events;
  std::string last_id;
  std::optional<int> retry;
  bool failed = false;
};

Outcome parse(std::string_view stream, std::size_t piece, std::size_t limit) {
  idp::http::SseParser parser(limit);
  Outcome o;
  while (true) {
    auto n = std::min(piece, stream.size());
    for (auto& e : parser.feed(stream.substr(0, n))) o.events.push_back(std::move(e));
    stream.remove_prefix(n);
    if (stream.empty()) break;
  }
  o.last_id = parser.last_event_id();
  o.retry = parser.retry_ms();
  o.failed = parser.failed();
  return o;
}

bool same(const idp::http::SseEvent& a, const idp::http::SseEvent& b) {
  return a.event == b.event && a.data == b.data && a.id == b.id && a.retry_ms == b.retry_ms;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto [mode, stream] = idp::fuzz::take_mode(idp::fuzz::as_text(data, size));
  // Low bits: the piece size (1..16 bytes); bit 7: a small event limit, to reach its error.
  const std::size_t piece = 1 + (mode & 0x0f);
  const std::size_t limit = (mode & 0x80) ? 64 : idp::http::SseParser::kDefaultMaxEventBytes;
  Outcome whole = parse(stream, stream.size() + 1, limit);
  Outcome pieces = parse(stream, piece, limit);
  IDP_FUZZ_CHECK(whole.failed == pieces.failed);
  IDP_FUZZ_CHECK(whole.events.size() == pieces.events.size());
  for (std::size_t i = 0; i < whole.events.size(); ++i) {
    IDP_FUZZ_CHECK(same(whole.events[i], pieces.events[i]));
    IDP_FUZZ_CHECK(whole.events[i].data.size() <= limit);
  }
  if (!whole.failed) {
    IDP_FUZZ_CHECK(whole.last_id == pieces.last_id);
    IDP_FUZZ_CHECK(whole.retry == pieces.retry);
  }
  return 0;
}

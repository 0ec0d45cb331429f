// Fuzz target: the OpenAI-compatible answer path (SseParser -> JSON -> OpenAiAssembler), as
// openai_model.cc runs it on a body from a model server we do not control. First byte, bit 0:
// the body is a whole `chat.completion` (JSON) instead of a stream; bits 1-4: the size of the
// pieces the stream arrives in. Checks: a finished turn holds exactly the text the handlers
// were given, in order, and every tool use has an id and a name (the loop matches results by id).
#include <string>

#include "fuzz_target.h"
#include "idp/core/json_util.h"
#include "idp/http/sse_parser.h"
#include "idp/llm/openai_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto [mode, body] = idp::fuzz::take_mode(idp::fuzz::as_text(data, size));
  std::string streamed;
  idp::llm::StreamHandlers handlers;
  handlers.on_text = [&](std::string_view t) { streamed.append(t); };
  handlers.on_reasoning = [](std::string_view) {};
  handlers.on_tool_use = [](const idp::llm::ToolUseBlock&) {};
  idp::llm::OpenAiAssembler assembler(&handlers);

  if (mode & 1) {
    auto parsed = idp::json::parse(body);
    if (!parsed || !parsed->is_object()) return 0;
    if (!assembler.add_completion(parsed->get_object())) return 0;
  } else {
    const std::size_t piece = 1 + ((mode >> 1) & 0x0f) * 8;
    idp::http::SseParser sse(64 * 1024);
    bool done = false;
    for (std::size_t at = 0; at < body.size() && !done; at += piece) {
      for (auto& event : sse.feed(body.substr(at, piece))) {
        if (event.data == "[DONE]") {
          done = true;
          break;
        }
        if (event.data.empty()) continue;
        auto chunk = idp::json::parse(event.data);
        if (!chunk || !chunk->is_object()) return 0;
        if (!assembler.add_chunk(chunk->get_object())) return 0;
      }
      if (sse.failed()) return 0;
    }
    if (!done && !assembler.saw_finish_reason()) return 0;
  }
  auto turn = assembler.finish();
  if (!turn) return 0;
  IDP_FUZZ_CHECK(turn->message.text() == streamed);
  for (const auto* use : turn->message.tool_uses()) {
    IDP_FUZZ_CHECK(!use->id.empty());
    IDP_FUZZ_CHECK(!use->name.empty());
  }
  return 0;
}

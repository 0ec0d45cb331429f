// Fuzz target: the calculator tool's expression input (examples/mcp-server, on muparser), text
// that a model writes from a user's question. Checks: a result is a number whose printed form
// reads back as the same number, and an error is a message, not an exception or a crash.
#include <cmath>
#include <cstdlib>
#include <string>

#include "calculator.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto result = example::evaluate(idp::fuzz::as_text(data, size));
  if (!result) {
    IDP_FUZZ_CHECK(!result.error().empty());
    return 0;
  }
  if (std::isfinite(*result)) {
    std::string text = example::format_number(*result);
    IDP_FUZZ_CHECK(std::strtod(text.c_str(), nullptr) == *result);
  }
  return 0;
}

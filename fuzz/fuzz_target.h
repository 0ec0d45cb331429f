// What every fuzz target shares: the libFuzzer entry point it defines, a check that stops the
// run on a broken invariant (a crash the fuzzer records, with the input that caused it), and a
// splitter that cuts one input into several text fields. A target is built twice: with
// libFuzzer (`make fuzz`, clang) and with replay_main.cc (every build; the fuzz-smoke tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace idp::fuzz {

// Aborts when `cond` is false: an invariant of the code under test did not hold.
#define IDP_FUZZ_CHECK(cond)                                                            \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input cut at each '\n' into at most `n` fields (the last one keeps the rest, newlines
// included); missing fields are empty. Seeds and dictionaries stay readable text.
inline std::vector<std::string_view> split_fields(std::string_view input, std::size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    auto nl = input.find('\n');
    if (nl == std::string_view::npos) break;
    out.push_back(input.substr(0, nl));
    input.remove_prefix(nl + 1);
  }
  out.push_back(input);
  out.resize(n);
  return out;
}

// The first byte as a mode selector (0 when empty) and the rest.
struct Mode {
  unsigned char mode = 0;
  std::string_view rest;
};
inline Mode take_mode(std::string_view input) {
  if (input.empty()) return {};
  return {static_cast<unsigned char>(input[0]), input.substr(1)};
}

}  // namespace idp::fuzz

// What the C++ benchmark helpers in bench/ share with bench/lib.sh: the statistics of interleaved
// rounds (median and spread), nearest-rank percentiles, and the `BENCH` line, with its INVALID
// form for a benchmark whose premise failed (docs/benchmarks.md, "Method").
//
//   BENCH <name> key=value ... rounds=R spread=MIN-MAX      (figures; exit status 0)
//   BENCH <name> INVALID <why>                              (no figure; exit status 3)
//
// Header-only, for the benchmark programs only. Not thread-safe (single-threaded reporting).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace idp::bench {

inline constexpr int kExitInvalid = 3;

// Median, minimum and maximum of one figure over the rounds.
struct Spread {
  double median = 0;
  double min = 0;
  double max = 0;
};

inline Spread spread_of(std::vector<double> values) {
  Spread s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  s.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  s.min = values.front();
  s.max = values.back();
  return s;
}

// Nearest-rank percentile (p in 0..100) of sorted values; 0 when there are none.
inline double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

inline std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// "MIN-MAX" with the given decimals.
inline std::string range(const Spread& s, int decimals) {
  return fixed(s.min, decimals) + "-" + fixed(s.max, decimals);
}

// The premise of the figures failed: prints the INVALID line instead of any figure and ends the
// process at once (_Exit: server threads may still be running; stdio is flushed here).
[[noreturn]] inline void invalid(std::string_view bench, std::string_view why) {
  std::printf("BENCH %.*s INVALID %.*s\n", static_cast<int>(bench.size()), bench.data(),
              static_cast<int>(why.size()), why.data());
  std::fflush(stdout);
  std::fprintf(stderr, "%.*s: INVALID: %.*s\n", static_cast<int>(bench.size()), bench.data(),
               static_cast<int>(why.size()), why.data());
  std::fflush(stderr);
  std::_Exit(kExitInvalid);
}

// Builds the BENCH line; print() requires rounds= and spread= (the headline ratio's spread).
class BenchLine {
 public:
  explicit BenchLine(std::string name) : line_("BENCH " + std::move(name)) {}
  BenchLine& add(std::string_view key, std::string_view value) {
    line_.append(" ").append(key).append("=").append(value);
    return *this;
  }
  BenchLine& add(std::string_view key, double value, int decimals) {
    return add(key, fixed(value, decimals));
  }
  void print() const {
    if (line_.find(" rounds=") == std::string::npos ||
        line_.find(" spread=") == std::string::npos) {
      std::fprintf(stderr, "internal: a BENCH line needs rounds= and spread=: %s\n", line_.c_str());
      std::exit(1);
    }
    std::printf("%s\n", line_.c_str());
    std::fflush(stdout);
  }

 private:
  std::string line_;
};

}  // namespace idp::bench

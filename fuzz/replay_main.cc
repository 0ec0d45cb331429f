// The driver of a fuzz target outside libFuzzer (any compiler, the fuzz-smoke tests): runs every
// file named on the command line or found in a named folder (the committed corpus), then, with
// -runs=N, N more inputs made by mutating those (bit flips, byte edits, dictionary tokens from
// -dict=FILE, splices of two inputs), without coverage feedback, within -max_total_time=S
// seconds. The flags are libFuzzer's, so one command line serves both builds. A crashing input
// is written to ./crash-<target>-<n> before the process dies (under the sanitizers through their
// death callback, otherwise from the SIGABRT/SIGSEGV handler).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "fuzz_target.h"

// The sanitizers' own API (a reserved name by design).
// NOLINTNEXTLINE(bugprone-reserved-identifier)
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace {

namespace fs = std::filesystem;

struct Options {
  std::vector<std::string> paths;
  std::uint64_t runs = 0;
  double max_total_time = 0;  // seconds; 0: no limit
  std::uint64_t seed = 1;
  std::size_t max_len = 4096;
  std::string dict;
};

// The input being run, for the crash handlers (async-signal-safe: only write(2) on it).
std::string g_current;
char g_crash_path[512];
bool g_mutating = false;

void save_crash() {
  if (!g_mutating) return;  // a committed input: its path is already known
  g_mutating = false;
  int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  std::size_t done = 0;
  while (done < g_current.size()) {
    ssize_t n = ::write(fd, g_current.data() + done, g_current.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  const char msg[] = "fuzz replay: the crashing input was written to ";
  [[maybe_unused]] auto r1 = ::write(2, msg, sizeof msg - 1);
  [[maybe_unused]] auto r2 = ::write(2, g_crash_path, std::strlen(g_crash_path));
  [[maybe_unused]] auto r3 = ::write(2, "\n", 1);
}

void on_signal(int sig) {
  save_crash();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

bool parse_number(std::string_view text, double& out) {
  try {
    std::size_t used = 0;
    out = std::stod(std::string(text), &used);
    return used == text.size() && out >= 0;
  } catch (const std::exception&) {
    return false;
  }
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view flag) -> std::string_view {
      return a.starts_with(flag) ? a.substr(flag.size()) : std::string_view();
    };
    double n = 0;
    if (a.starts_with("-runs=") && parse_number(value("-runs="), n)) {
      o.runs = static_cast<std::uint64_t>(n);
    } else if (a.starts_with("-max_total_time=") && parse_number(value("-max_total_time="), n)) {
      o.max_total_time = n;
    } else if (a.starts_with("-seed=") && parse_number(value("-seed="), n)) {
      o.seed = static_cast<std::uint64_t>(n);
    } else if (a.starts_with("-max_len=") && parse_number(value("-max_len="), n) && n >= 1) {
      o.max_len = static_cast<std::size_t>(n);
    } else if (a.starts_with("-dict=")) {
      o.dict = std::string(value("-dict="));
    } else if (a.starts_with("-")) {
      std::cerr << "fuzz replay: unknown or malformed flag '" << a
                << "' (known: -runs=N -max_total_time=S -seed=N -max_len=N -dict=FILE)\n";
      return false;
    } else {
      o.paths.emplace_back(a);
    }
  }
  return true;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// libFuzzer's dictionary format: one `"token"` (optionally `name="token"`) per line, with \\, \"
// and \xAB escapes; '#' starts a comment line.
bool load_dict(const std::string& path, std::vector<std::string>& tokens) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "fuzz replay: cannot read dictionary " << path << "\n";
    return false;
  }
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    auto open = line.find('"');
    auto close = line.rfind('"');
    if (open == std::string::npos || close <= open) {
      std::cerr << "fuzz replay: " << path << ":" << lineno << ": expected a quoted token\n";
      return false;
    }
    std::string token;
    for (std::size_t i = open + 1; i < close; ++i) {
      if (line[i] != '\\' || i + 1 >= close) {
        token += line[i];
      } else if (line[i + 1] == 'x' && i + 3 < close) {
        token += static_cast<char>(std::stoi(line.substr(i + 2, 2), nullptr, 16));
        i += 3;
      } else {
        token += line[++i];
      }
    }
    tokens.push_back(std::move(token));
  }
  return true;
}

class Mutator {
 public:
  Mutator(std::uint64_t seed, std::size_t max_len, const std::vector<std::string>& corpus,
          const std::vector<std::string>& dict)
      : rng_(seed), max_len_(max_len), corpus_(corpus), dict_(dict) {}

  std::string next() {
    std::string s = corpus_.empty() ? std::string() : corpus_[below(corpus_.size())];
    int edits = 1 + static_cast<int>(below(4));
    for (int i = 0; i < edits; ++i) mutate(s);
    if (s.size() > max_len_) s.resize(max_len_);
    return s;
  }

 private:
  std::size_t below(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  char byte() { return static_cast<char>(below(256)); }

  void mutate(std::string& s) {
    switch (below(9)) {
      case 0:  // flip a bit
        if (!s.empty()) s[below(s.size())] ^= static_cast<char>(1u << below(8));
        break;
      case 1:  // set a byte to a random or an interesting value
        if (!s.empty()) {
          static constexpr char kInteresting[] = {0, 1, 0x7f, '\x80', '\xff', '"', '\\', '\n', '{', '%'};
          s[below(s.size())] = below(2) ? byte() : kInteresting[below(sizeof kInteresting)];
        }
        break;
      case 2:  // insert random bytes
        s.insert(below(s.size() + 1), std::string(1 + below(4), byte()));
        break;
      case 3:  // erase a range
        if (!s.empty()) {
          auto at = below(s.size());
          s.erase(at, 1 + below(std::min<std::size_t>(16, s.size() - at)));
        }
        break;
      case 4:  // duplicate a range
        if (!s.empty()) {
          auto at = below(s.size());
          auto piece = s.substr(at, 1 + below(std::min<std::size_t>(32, s.size() - at)));
          s.insert(below(s.size() + 1), piece);
        }
        break;
      case 5:  // insert a dictionary token
      case 6:  // overwrite with a dictionary token
        if (!dict_.empty()) {
          const std::string& t = dict_[below(dict_.size())];
          auto at = below(s.size() + 1);
          if (below(2) == 0 || at + t.size() > s.size()) {
            s.insert(at, t);
          } else {
            s.replace(at, t.size(), t);
          }
        }
        break;
      case 7:  // splice: our head with another input's tail
        if (!corpus_.empty()) {
          const std::string& other = corpus_[below(corpus_.size())];
          s = s.substr(0, below(s.size() + 1)) + other.substr(below(other.size() + 1));
        }
        break;
      default: {  // a number written somewhere
        static constexpr const char* kNumbers[] = {"0", "-1", "4294967296", "1e308", "-0",
                                                   "9223372036854775808", "65535", "0.5"};
        s.insert(below(s.size() + 1), kNumbers[below(std::size(kNumbers))]);
        break;
      }
    }
  }

  std::mt19937_64 rng_;
  std::size_t max_len_;
  const std::vector<std::string>& corpus_;
  const std::vector<std::string>& dict_;
};

void run_one(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse_args(argc, argv, opt)) return 2;
  std::string name = fs::path(argv[0]).filename().string();

  std::vector<std::string> corpus;
  for (const auto& p : opt.paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        std::cerr << "fuzz replay: " << f.string() << "\n";
        corpus.push_back(read_file(f));
        run_one(corpus.back());
      }
    } else if (fs::is_regular_file(p, ec)) {
      corpus.push_back(read_file(p));
      run_one(corpus.back());
    } else {
      std::cerr << "fuzz replay: no such file or folder: " << p << "\n";
      return 2;
    }
  }
  std::cerr << "fuzz replay: " << name << ": " << corpus.size() << " inputs ran\n";
  if (opt.runs == 0) return 0;

  std::vector<std::string> dict;
  if (!opt.dict.empty() && !load_dict(opt.dict, dict)) return 2;
  std::snprintf(g_crash_path, sizeof g_crash_path, "crash-%s-seed%llu", name.c_str(),
                static_cast<unsigned long long>(opt.seed));
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(save_crash);
  std::signal(SIGABRT, on_signal);
  std::signal(SIGSEGV, on_signal);
  std::signal(SIGBUS, on_signal);
  std::signal(SIGFPE, on_signal);

  Mutator mutator(opt.seed, opt.max_len, corpus, dict);
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t done = 0;
  for (; done < opt.runs; ++done) {
    if (opt.max_total_time > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
            opt.max_total_time) {
      break;
    }
    g_current = mutator.next();
    g_mutating = true;
    run_one(g_current);
    g_mutating = false;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "fuzz replay: " << name << ": " << done << " mutated inputs ran in " << secs
            << " s (seed " << opt.seed << ", " << dict.size() << " dictionary tokens), no crash\n";
  return 0;
}

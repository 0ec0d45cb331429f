// Starts one of our binaries for a test, waits for the line that says it is ready (its
// listening URL) on its standard output, and stops it by pid (SIGTERM, then SIGKILL) when the
// object goes away. Standard error goes to the test's own.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace idp::test {

class ChildProcess {
 public:
  // Runs `argv` (argv[0] is the program path) and waits until a line of its stdout contains
  // `ready` (an extended regular expression); returns nullptr, with the output so far in
  // `*failure`, when it exits or stays silent past `timeout`.
  static std::unique_ptr<ChildProcess> start(
      const std::vector<std::string>& argv, const std::string& ready, std::string* failure,
      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  ~ChildProcess();
  const std::string& match() const { return match_; }  // the text that matched `ready`
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string match_;
};

// <build>/bin: where the test binaries' siblings are (set by CMake).
std::string bin_dir();

}  // namespace idp::test

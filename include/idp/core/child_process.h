// idp::ChildProcess runs another program beside the caller (the demo's MCP server, a test's
// server): it starts argv[0] with posix_spawn (no shell), waits for the line of its standard
// output that says it is ready (an extended regular expression, e.g. its listening URL), and
// stops it by its pid when asked or when destroyed: SIGTERM, then SIGKILL after a grace.
// Standard error is inherited or appended to a file. Standard output is read only until the
// ready line: the program must not write much more there (a full pipe would block it).
// Not thread-safe: one owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "idp/core/error.h"

namespace idp {

struct ChildOptions {
  std::chrono::milliseconds ready_timeout{20'000};
  std::chrono::milliseconds stop_grace{5'000};  // between SIGTERM and SIGKILL
  std::string stderr_file;                      // appended to (created 0600); empty: inherited
};

class ChildProcess {
 public:
  // Starts `argv` and waits for a stdout line matching `ready`. The error says why it did not
  // get ready (cannot start, exited, silent past the timeout) with its output so far; the
  // process is stopped then.
  static Result<std::unique_ptr<ChildProcess>> start(const std::vector<std::string>& argv,
                                                     const std::string& ready,
                                                     ChildOptions options = {});
  ~ChildProcess();  // stop()
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& match() const { return match_; }  // the text that matched `ready`
  pid_t pid() const { return pid_; }
  // SIGTERM, then SIGKILL when it has not exited within the grace; waits for it. Idempotent.
  void stop();
  // Sends `signo`, waits until the program ends and returns its exit status (128 + the signal
  // that ended it); -1 when it was stopped already.
  int signal_and_wait(int signo);

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int out_ = -1;
  std::chrono::milliseconds grace_{5'000};
  std::string match_;
};

}  // namespace idp

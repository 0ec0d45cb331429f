#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

extern char** environ;

namespace idp::test {

std::string bin_dir() {
#ifdef IDP_TEST_BIN_DIR
  return IDP_TEST_BIN_DIR;
#else
  return "bin";
#endif
}

std::unique_ptr<ChildProcess> ChildProcess::start(const std::vector<std::string>& argv,
                                                  const std::string& ready, std::string* failure,
                                                  std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *failure = "pipe failed";
    return nullptr;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  int rc = ::posix_spawn(&child->pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  child->out_ = fds[0];
  if (rc != 0) {
    child->pid_ = -1;
    *failure = "cannot start " + argv[0];
    return nullptr;
  }
  const std::regex re(ready, std::regex::extended);
  std::string output;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{child->out_, POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (::poll(&p, 1, std::max(left, 0)) <= 0) break;
    char buf[512];
    ssize_t n = ::read(child->out_, buf, sizeof buf);
    if (n <= 0) break;  // the child exited
    output.append(buf, static_cast<std::size_t>(n));
    std::smatch m;
    if (std::regex_search(output, m, re)) {
      child->match_ = m.str();
      return child;
    }
  }
  *failure = argv[0] + " did not become ready; its output: " + output;
  return nullptr;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      ::usleep(50'000);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  if (out_ >= 0) ::close(out_);
}

}  // namespace idp::test

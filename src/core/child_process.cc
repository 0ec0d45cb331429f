#include "idp/core/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>
#include <thread>

extern char** environ;

namespace idp {

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(const std::vector<std::string>& argv,
                                                          const std::string& ready,
                                                          ChildOptions options) {
  if (argv.empty()) return make_error(ErrorCode::kInvalidArgument, "no program to start");
  const std::string& program = argv[0];
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot start " + program + ": pipe: " + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  if (!options.stderr_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, options.stderr_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->grace_ = options.stop_grace;
  int rc = ::posix_spawn(&child->pid_, program.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  child->out_ = fds[0];
  if (rc != 0) {
    child->pid_ = -1;
    return make_error(ErrorCode::kUnavailable,
                      "cannot start " + program + ": " + std::strerror(rc));
  }

  const std::regex re(ready, std::regex::extended);
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{child->out_, POLLIN, 0};
    int polled = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0) {
      return make_error(ErrorCode::kTimeout,
                        program + " did not say it was ready within " +
                            std::to_string(options.ready_timeout.count() / 1000) +
                            " s; its output: " + output);
    }
    char buf[512];
    ssize_t n = ::read(child->out_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // it closed its output: it exited
      return make_error(ErrorCode::kUnavailable,
                        program + " exited before it was ready; its output: " + output);
    }
    output.append(buf, static_cast<std::size_t>(n));
    std::smatch m;
    if (std::regex_search(output, m, re)) {
      child->match_ = m.str();
      return child;
    }
  }
}

// Waits up to `grace` for `pid` to exit: on its pidfd, which becomes readable when it does.
static bool exited_within(pid_t pid, std::chrono::milliseconds grace) {
  int status = 0;
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    int polled;
    do {
      polled = ::poll(&p, 1, static_cast<int>(grace.count()));
    } while (polled < 0 && errno == EINTR);
    ::close(fd);
    return ::waitpid(pid, &status, WNOHANG) == pid;
  }
  // No pidfd (a kernel before 5.3): look every 20 ms.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void ChildProcess::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (!exited_within(pid_, grace_)) {
      int status = 0;
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  if (out_ >= 0) {
    ::close(out_);
    out_ = -1;
  }
}

int ChildProcess::signal_and_wait(int signo) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signo);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

ChildProcess::~ChildProcess() { stop(); }

}  // namespace idp

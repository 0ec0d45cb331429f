#include "process.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

extern char** environ;

namespace idp::aws::detail {

namespace net = boost::asio;
using net::awaitable;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// The descriptor is polled with short naps rather than watched by the reactor: a helper that
// leaves a grandchild holding the pipe must still time out, and the nap needs no cross-thread
// cancellation. credential_process runs about once an hour, so the cost does not matter.
awaitable<void> nap(milliseconds d) {
  auto executor = co_await net::this_coro::executor;
  net::steady_timer t(executor, d);
  co_await t.async_wait(net::as_tuple(net::use_awaitable));
}

}  // namespace

awaitable<Result<ProcessOutput>> run_process(std::string command, milliseconds timeout,
                                             std::size_t max_bytes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    co_return make_error(ErrorCode::kUnavailable,
                         std::string("pipe failed: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: a timeout kills the helper's children too
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string arg0 = "sh", arg1 = "-c";
  char* argv[] = {arg0.data(), arg1.data(), command.data(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    co_return make_error(ErrorCode::kUnavailable,
                         std::string("cannot start /bin/sh: ") + std::strerror(rc));
  }
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);

  auto deadline = steady_clock::now() + timeout;
  bool timed_out = false, too_big = false, killed = false;
  ProcessOutput result;
  milliseconds pause{1};
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      result.out.append(buf, static_cast<std::size_t>(n));
      if (result.out.size() > max_bytes) {
        too_big = true;
        break;
      }
      pause = milliseconds(1);
      continue;
    }
    if (n == 0) break;  // EOF: the helper closed its stdout
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) break;
    if (steady_clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    co_await nap(pause);
    pause = std::min(pause * 2, milliseconds(20));
  }
  ::close(fds[0]);
  if (timed_out || too_big) {
    ::kill(-pid, SIGKILL);
    killed = true;
  }

  int status = 0;
  pause = milliseconds(1);
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {  // ECHILD: reaped elsewhere (a SIGCHLD handler); nothing more to learn
      status = 0;
      break;
    }
    if (!killed && steady_clock::now() >= deadline) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      killed = true;
    }
    co_await nap(pause);
    pause = std::min(pause * 2, milliseconds(20));
  }
  if (timed_out) {
    co_return make_error(ErrorCode::kTimeout,
                         "did not finish within " + std::to_string(timeout.count()) + " ms");
  }
  if (too_big) {
    co_return make_error(ErrorCode::kResourceExhausted,
                         "wrote more than " + std::to_string(max_bytes) + " bytes");
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  co_return result;
}

}  // namespace idp::aws::detail

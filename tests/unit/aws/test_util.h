// Helpers shared by the aws tests: run a coroutine to completion, a temporary directory, and a
// child process (our fixtures) started on loopback and stopped by its pid.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace idp::aws::testing {

// Runs one coroutine on `ioc` (on the calling thread) and returns its result.
template <class T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> a) {
  auto fut = boost::asio::co_spawn(ioc, std::move(a), boost::asio::use_future);
  ioc.restart();
  ioc.run();
  return fut.get();
}

class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("idp-aws-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& relative, const std::string& text) const {
    std::filesystem::path p = path_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

// A fixture binary that prints "listening on http://127.0.0.1:P/" on stdout once ready.
class ChildServer {
 public:
  ChildServer() = default;
  ChildServer(const ChildServer&) = delete;
  ChildServer& operator=(const ChildServer&) = delete;
  ~ChildServer() { stop(); }

  // Starts `argv` and waits (up to 20 s) for its listening line; false with `error` set otherwise.
  bool start(const std::vector<std::string>& argv, std::string* error) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      *error = "pipe failed";
      return false;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    std::vector<char*> args;
    std::vector<std::string> copy = argv;
    for (auto& a : copy) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, copy[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      pid_ = -1;
      *error = "cannot start " + copy[0];
      return false;
    }
    out_ = ::fdopen(fds[0], "r");
    // A reader thread keeps the pipe drained and records the first "listening on" line; the
    // end of the output (the child exited) ends the wait too.
    reader_ = std::thread([this] {
      char buf[512];
      while (std::fgets(buf, sizeof buf, out_)) {
        std::string line(buf);
        if (port_.load() == 0 && line.starts_with("listening on http://127.0.0.1:")) {
          port_.store(
              std::atoi(line.c_str() + std::string("listening on http://127.0.0.1:").size()));
          std::lock_guard lock(mu_);
          cv_.notify_all();
        }
      }
      std::lock_guard lock(mu_);
      output_ended_ = true;
      cv_.notify_all();
    });
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(20),  // a guard against a hang, not a time limit
                 [&] { return port_.load() != 0 || output_ended_; });
    if (port_.load() == 0) {
      *error = copy[0] +
               (output_ended_ ? " exited before listening" : " did not print its listening line");
      return false;
    }
    return true;
  }

  int port() const { return port_.load(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/"; }

  void stop() {
    if (pid_ > 0) {
      // SIGTERM, and SIGKILL only if the child has not exited 10 s later.
      ::kill(pid_, SIGTERM);
      std::mutex m;
      std::condition_variable exited_cv;
      bool exited = false;
      std::thread watchdog([&] {
        std::unique_lock lock(m);
        if (!exited_cv.wait_for(lock, std::chrono::seconds(10), [&] { return exited; })) {
          ::kill(pid_, SIGKILL);
        }
      });
      int status = 0;
      ::waitpid(pid_, &status, 0);
      {
        std::lock_guard lock(m);
        exited = true;
      }
      exited_cv.notify_all();
      watchdog.join();
      pid_ = -1;
    }
    if (reader_.joinable()) reader_.join();
    if (out_) {
      std::fclose(out_);
      out_ = nullptr;
    }
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::thread reader_;
  std::atomic<int> port_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool output_ended_ = false;
};

}  // namespace idp::aws::testing

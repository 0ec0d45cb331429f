// A process that called disable_core_dumps() leaves no core file when it crashes, so the secrets
// it holds never reach the disk; IDP_ALLOW_CORE_DUMPS=1 keeps them for debugging. Each case runs
// in a forked child, which crashes for real (SIGSEGV) in its own directory.
#include "idp/core/core_dumps.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace idp {
namespace {

namespace fs = std::filesystem;

struct Crash {
  bool dumped = false;    // the kernel says a core was written (WCOREDUMP)
  bool core_file = false;  // a file named core* appeared in the child's directory
  int child_check = 0;    // 0, or which in-child check failed
};

// Forks a child that allows core dumps (RLIMIT_CORE unlimited), optionally calls
// disable_core_dumps(), checks what it can see of the result, and crashes.
Crash crash_in_child(const fs::path& dir, bool disable) {
  fs::create_directories(dir);
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(10);
    rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &unlimited);
    if (disable) {
      auto r = disable_core_dumps();
      if (!r) _exit(11);
      rlimit now{};
      getrlimit(RLIMIT_CORE, &now);
      const bool off = *r;
      if (off && (now.rlim_cur != 0 || now.rlim_max != 0)) _exit(12);
      if (off && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) _exit(13);
      if (!off && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1) _exit(14);
    }
    std::signal(SIGSEGV, SIG_DFL);
    std::raise(SIGSEGV);
    _exit(15);
  }
  Crash out;
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) out.child_check = WEXITSTATUS(status);
  out.dumped = WIFSIGNALED(status) && WCOREDUMP(status);
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with("core")) out.core_file = true;
  }
  return out;
}

class CoreDumpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("idp-core-dumps-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    ::unsetenv("IDP_ALLOW_CORE_DUMPS");
  }
  void TearDown() override {
    ::unsetenv("IDP_ALLOW_CORE_DUMPS");
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(CoreDumpsTest, ACrashAfterDisablingWritesNoCore) {
  Crash off = crash_in_child(dir_ / "off", true);
  EXPECT_EQ(off.child_check, 0) << "in-child check failed (RLIMIT_CORE or PR_GET_DUMPABLE)";
  EXPECT_FALSE(off.dumped);
  EXPECT_FALSE(off.core_file);
  // The same crash without the call dumps, where this system writes cores at all: the evidence
  // that the call, not the machine, kept the core away.
  Crash on = crash_in_child(dir_ / "on", false);
  if (!on.dumped) {
    GTEST_SKIP() << "this system writes no core files (core_pattern, sandbox): the in-child "
                    "checks above are what ran";
  }
  EXPECT_TRUE(on.dumped);
}

TEST_F(CoreDumpsTest, AllowCoreDumpsKeepsThemForDebugging) {
  ::setenv("IDP_ALLOW_CORE_DUMPS", "1", 1);
  Crash kept = crash_in_child(dir_ / "kept", true);
  EXPECT_EQ(kept.child_check, 0) << "the process was made undumpable although allowed";
}

}  // namespace
}  // namespace idp

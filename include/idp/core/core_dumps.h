// Keeps secrets out of core dumps: a process that holds passwords, client secrets and tokens in
// memory (the service, the CLI, the example MCP server) must not write that memory to disk when it crashes, nor let
// another process of the same user read it through ptrace or /proc/<pid>/mem. The Secret type
// zeroes what it held once it is gone; this covers what is still alive at the crash.
// Thread-safe; call once at start-up, before secrets are read.
#pragma once

#include "idp/core/error.h"

namespace idp {

// RLIMIT_CORE to 0 (soft and hard, inherited by child processes) and PR_SET_DUMPABLE to 0 (no
// dump even through a core_pattern pipe, which ignores RLIMIT_CORE; no ptrace attach by the same
// user; /proc/<pid>/fd, mem and environ readable by root only). With the environment variable
// IDP_ALLOW_CORE_DUMPS=1 nothing changes (debugging a crash): false. kUnavailable when the
// system refuses either call.
Result<bool> disable_core_dumps();

// disable_core_dumps() for a program's start-up (after log::init): what it could not do, or
// that IDP_ALLOW_CORE_DUMPS=1 kept core dumps, is logged as a warning.
void disable_core_dumps_or_warn();

}  // namespace idp

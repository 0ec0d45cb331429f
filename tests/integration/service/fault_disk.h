// A disk that fails on demand, for the store's fault tests: install_fault_disk() makes a SQLite
// VFS the process's default that wraps the real one ("unix") and passes everything through,
// except that while a fault is set, writes and truncations of files under a given folder fail as
// the operating system would fail them -- a full disk (ENOSPC: SQLITE_FULL) or a file system that
// went read-only (EROFS: SQLITE_IOERR_WRITE). Reads keep working. The store's code runs as in
// production; only the disk under it misbehaves. Thread-safe: the fault may change at any time.
#pragma once

#include <string>

namespace idp::service::test {

enum class DiskFault { kNone, kFull, kReadOnly };

// Registers the VFS (once per process) as the default for connections opened afterwards.
void install_fault_disk();
// Sets the fault for files whose path starts with `folder` (kNone: every file works again).
void set_disk_fault(DiskFault fault, const std::string& folder = {});
// Writes refused so far.
int refused_writes();

}  // namespace idp::service::test

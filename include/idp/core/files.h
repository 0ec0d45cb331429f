// Small file helpers shared by the parts that keep secrets on disk (the local CA's keys, the
// CLI's token file). Thread-safe (no shared state).
#pragma once

#include <sys/types.h>

#include <string>

#include "idp/core/error.h"

namespace idp {

// Writes `data` to `path` through a temporary file next to it (created with `mode`, fsynced)
// and a rename, so a reader sees the old file or the whole new one. The error names the path.
Result<void> write_file_atomic(const std::string& path, const std::string& data, mode_t mode);

}  // namespace idp

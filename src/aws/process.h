// Private: runs a shell command (`/bin/sh -c`) without blocking the executor, for
// credential_process. stdin is /dev/null, stdout is captured (capped), stderr is inherited so the
// helper's own messages reach the operator. On timeout the whole process group is killed.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <string>

#include "idp/core/error.h"

namespace idp::aws::detail {

struct ProcessOutput {
  int exit_code = 0;  // 128 + signal when killed by a signal
  std::string out;
};

// kTimeout after `timeout`; kResourceExhausted when stdout exceeds `max_bytes`; kUnavailable
// when the process cannot be started.
boost::asio::awaitable<Result<ProcessOutput>> run_process(std::string command,
                                                          std::chrono::milliseconds timeout,
                                                          std::size_t max_bytes);

}  // namespace idp::aws::detail

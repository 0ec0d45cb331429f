// The integration tests start our binaries with idp::ChildProcess (idp/core/child_process.h);
// bin_dir() says where they are.
#pragma once

#include <string>

#include "idp/core/child_process.h"

namespace idp::test {

// <build>/bin: where the test binaries' siblings are (set by CMake).
std::string bin_dir();

}  // namespace idp::test

#include "child_process.h"

namespace idp::test {

std::string bin_dir() {
#ifdef IDP_TEST_BIN_DIR
  return IDP_TEST_BIN_DIR;
#else
  return "bin";
#endif
}

}  // namespace idp::test

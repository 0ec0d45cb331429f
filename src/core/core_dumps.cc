#include "idp/core/core_dumps.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace idp {

Result<bool> disable_core_dumps() {
  if (const char* allow = std::getenv("IDP_ALLOW_CORE_DUMPS");
      allow && std::string_view(allow) == "1") {
    return false;
  }
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return make_error(ErrorCode::kUnavailable,
                      std::string("cannot disable core dumps (setrlimit RLIMIT_CORE): ") +
                          std::strerror(errno));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return make_error(ErrorCode::kUnavailable,
                      std::string("cannot disable core dumps (prctl PR_SET_DUMPABLE): ") +
                          std::strerror(errno));
  }
  return true;
}

}  // namespace idp

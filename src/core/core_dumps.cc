#include "idp/core/core_dumps.h"

#include "idp/core/log.h"

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
    return make_error(
        ErrorCode::kUnavailable,
        std::string("cannot disable core dumps (setrlimit RLIMIT_CORE): ") + std::strerror(errno));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return make_error(
        ErrorCode::kUnavailable,
        std::string("cannot disable core dumps (prctl PR_SET_DUMPABLE): ") + std::strerror(errno));
  }
  return true;
}

void disable_core_dumps_or_warn() {
  if (auto off = disable_core_dumps(); !off) {
    log::warn("{}", off.error().message());
  } else if (!*off) {
    log::warn(
        "core dumps stay enabled (IDP_ALLOW_CORE_DUMPS=1): a crash may write secrets held "
        "in memory to disk");
  }
}

}  // namespace idp

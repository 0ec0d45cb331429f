#include "libpq_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "pg_conn.h"

namespace idp::service::pq {

namespace {

struct Loaded {
  Api api{};
  std::string error;  // "" when every function was found
};

template <class F>
void bind(void* lib, const char* name, F& fn, std::string& error) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn && error.empty()) error = std::string("it has no ") + name;
}

Loaded load() {
  Loaded out;
  const char* env = std::getenv("IDP_LIBPQ");
  std::string file = env && *env ? env : "libpq.so.5";
  // RTLD_LOCAL: libpq's symbols stay out of the global namespace; RTLD_NOW: a broken library
  // is found here, not at the first query. Never closed: connections may live until exit.
  void* lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    out.error = "cannot load " + file + " (" + (why ? why : "unknown error") +
                "); the PostgreSQL store needs libpq (Debian package libpq5), or IDP_LIBPQ "
                "naming it";
    return out;
  }
  auto& a = out.api;
  std::string& e = out.error;
  bind(lib, "PQconnectdb", a.connectdb, e);
  bind(lib, "PQstatus", a.status, e);
  bind(lib, "PQerrorMessage", a.error_message, e);
  bind(lib, "PQsetNoticeProcessor", a.set_notice_processor, e);
  bind(lib, "PQfinish", a.finish, e);
  bind(lib, "PQreset", a.reset, e);
  bind(lib, "PQexec", a.exec, e);
  bind(lib, "PQprepare", a.prepare, e);
  bind(lib, "PQexecPrepared", a.exec_prepared, e);
  bind(lib, "PQresultStatus", a.result_status, e);
  bind(lib, "PQresultErrorField", a.result_error_field, e);
  bind(lib, "PQresultErrorMessage", a.result_error_message, e);
  bind(lib, "PQclear", a.clear, e);
  bind(lib, "PQntuples", a.ntuples, e);
  bind(lib, "PQcmdTuples", a.cmd_tuples, e);
  bind(lib, "PQgetisnull", a.getisnull, e);
  bind(lib, "PQgetvalue", a.getvalue, e);
  bind(lib, "PQsocket", a.socket, e);
  bind(lib, "PQconsumeInput", a.consume_input, e);
  bind(lib, "PQnotifies", a.notifies, e);
  bind(lib, "PQfreemem", a.freemem, e);
  if (!e.empty()) e = "cannot use " + file + " as libpq: " + e;
  return out;
}

}  // namespace

const Api& api() {
  static const Loaded loaded = load();  // thread-safe once
  if (!loaded.error.empty()) throw PgError(loaded.error, "", false);
  return loaded.api;
}

}  // namespace idp::service::pq

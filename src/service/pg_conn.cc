#include "pg_conn.h"

#include <cstdlib>

#include "libpq_loader.h"

namespace idp::service {

namespace {

std::string message_of(pg_conn* c) {
  std::string m = c ? pq::api().error_message(c) : "out of memory";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// PostgreSQL's notices ("relation ... already exists, skipping") are for a person at psql.
void drop_notice(void*, const char*) {}

}  // namespace

std::string redact_conninfo(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "(PostgreSQL connection string)";
  auto rest = url.substr(scheme + 3);
  auto at = rest.find('@');
  auto slash = rest.find('/');
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at))
    return std::string(url.substr(0, url.find('?')));
  auto colon = rest.substr(0, at).find(':');
  std::string out(url.substr(0, scheme + 3));
  out += colon == std::string_view::npos ? rest.substr(0, at) : rest.substr(0, colon);
  std::string_view tail = rest.substr(at);
  out += tail.substr(0, tail.find('?'));
  return out;
}

PgResult::~PgResult() {
  if (r_) pq::api().clear(r_);
}

int PgResult::rows() const { return pq::api().ntuples(r_); }

std::int64_t PgResult::affected() const {
  const char* n = pq::api().cmd_tuples(r_);
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

std::string PgResult::text(int row, int column) const {
  return pq::api().getisnull(r_, row, column) ? std::string()
                                              : std::string(pq::api().getvalue(r_, row, column));
}

std::optional<std::string> PgResult::text_or_null(int row, int column) const {
  if (pq::api().getisnull(r_, row, column)) return std::nullopt;
  return std::string(pq::api().getvalue(r_, row, column));
}

std::int64_t PgResult::int64(int row, int column) const {
  return pq::api().getisnull(r_, row, column)
             ? 0
             : std::strtoll(pq::api().getvalue(r_, row, column), nullptr, 10);
}

bool PgResult::is_null(int row, int column) const {
  return pq::api().getisnull(r_, row, column) != 0;
}

PgConn::PgConn(const std::string& conninfo) {
  conn_ = pq::api().connectdb(conninfo.c_str());
  if (!conn_ || pq::api().status(conn_) != CONNECTION_OK) {
    std::string m = message_of(conn_);
    if (conn_) pq::api().finish(conn_);
    conn_ = nullptr;
    throw PgError("cannot connect to PostgreSQL at " + redact_conninfo(conninfo) + ": " + m, "",
                  true);
  }
  pq::api().set_notice_processor(conn_, drop_notice, nullptr);
}

PgConn::~PgConn() {
  if (conn_) pq::api().finish(conn_);
}

bool PgConn::healthy() const { return conn_ && pq::api().status(conn_) == CONNECTION_OK; }

void PgConn::reset() {
  prepared_.clear();
  pq::api().reset(conn_);
  if (pq::api().status(conn_) != CONNECTION_OK)
    throw PgError("cannot reconnect to PostgreSQL: " + message_of(conn_), "", true);
}

PgResult PgConn::check(pg_result* r, std::string_view what) {
  PgResult out(r);
  auto status = r ? pq::api().result_status(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return out;
  const char* state = r ? pq::api().result_error_field(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string m = r ? pq::api().result_error_message(r) : message_of(conn_);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  bool lost = pq::api().status(conn_) != CONNECTION_OK;
  std::string statement(what.substr(0, 60));
  throw PgError("PostgreSQL: " + m + " (in: " + statement + (what.size() > 60 ? "...)" : ")"),
                state ? state : "", lost);
}

PgResult PgConn::exec(std::string_view sql) {
  std::string s(sql);
  return check(pq::api().exec(conn_, s.c_str()), sql);
}

PgResult PgConn::query(const std::string& sql, std::initializer_list<PgParam> params) {
  return query(sql, std::vector<PgParam>(params));
}

PgResult PgConn::query(const std::string& sql, const std::vector<PgParam>& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "idp_" + std::to_string(prepared_.size() + 1);
    check(pq::api().prepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), sql);
    it = prepared_.emplace(sql, name).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.value() ? p.value()->c_str() : nullptr);
  return check(pq::api().exec_prepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                                       values.data(), nullptr, nullptr, 0),
               sql);
}

int PgConn::socket() const { return pq::api().socket(conn_); }

void PgConn::consume_input() {
  if (!pq::api().consume_input(conn_)) throw PgError("PostgreSQL: " + message_of(conn_), "", true);
}

std::optional<std::pair<std::string, std::string>> PgConn::notification() {
  PGnotify* n = pq::api().notifies(conn_);
  if (!n) return std::nullopt;
  std::pair<std::string, std::string> out{n->relname, n->extra ? n->extra : ""};
  pq::api().freemem(n);
  return out;
}

}  // namespace idp::service

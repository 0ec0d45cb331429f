// libpq, loaded on first use instead of linked: the PostgreSQL store is the only part of
// idp-agents that needs it, and libpq brings Kerberos, LDAP, GnuTLS and a dozen more libraries
// with it (about 4 MB of resident memory and their relocations in every process, `idp-agents
// tools` included). A process that never opens a postgresql:// store never loads them.
//
// The functions keep libpq's own types (from libpq-fe.h, a build-time header only).
#pragma once

#include <libpq-fe.h>

namespace idp::service::pq {

struct Api {
  decltype(&::PQconnectdb) connectdb;
  decltype(&::PQstatus) status;
  decltype(&::PQerrorMessage) error_message;
  decltype(&::PQsetNoticeProcessor) set_notice_processor;
  decltype(&::PQfinish) finish;
  decltype(&::PQreset) reset;
  decltype(&::PQexec) exec;
  decltype(&::PQprepare) prepare;
  decltype(&::PQexecPrepared) exec_prepared;
  decltype(&::PQresultStatus) result_status;
  decltype(&::PQresultErrorField) result_error_field;
  decltype(&::PQresultErrorMessage) result_error_message;
  decltype(&::PQclear) clear;
  decltype(&::PQntuples) ntuples;
  decltype(&::PQcmdTuples) cmd_tuples;
  decltype(&::PQgetisnull) getisnull;
  decltype(&::PQgetvalue) getvalue;
  decltype(&::PQsocket) socket;
  decltype(&::PQconsumeInput) consume_input;
  decltype(&::PQnotifies) notifies;
  decltype(&::PQfreemem) freemem;
};

// The loaded library: IDP_LIBPQ (a path or a file name) when set, else libpq.so.5. Loaded once,
// by the first caller; throws PgError naming the library and what the loader said when it cannot
// be loaded or lacks a function (then every later call throws the same).
const Api& api();

}  // namespace idp::service::pq

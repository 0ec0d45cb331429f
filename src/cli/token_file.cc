#include "token_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/object.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "idp/core/files.h"
#include "idp/core/json_util.h"

namespace idp::cli {

namespace bj = boost::json;
using Clock = std::chrono::system_clock;

namespace {

constexpr int kVersion = 1;

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

Result<std::optional<SavedTokens>> read_token_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<SavedTokens>();
    return make_error(ErrorCode::kInvalidArgument, "--token-file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorCode::kInvalidArgument, "--token-file " + path + ": not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    return make_error(ErrorCode::kPermissionDenied,
                      "--token-file " + path + " is readable or writable by group or others (mode " +
                          mode_text(st.st_mode) + "); it holds bearer tokens, so it is not read: run chmod 600 " +
                          path + " (or delete it and sign in again)");
  }
  if (st.st_uid != ::geteuid()) {
    return make_error(ErrorCode::kPermissionDenied,
                      "--token-file " + path + " belongs to another user (uid " + std::to_string(st.st_uid) +
                          "); it is not read");
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return make_error(ErrorCode::kInvalidArgument, "--token-file " + path + ": cannot read it");
  auto parsed = json::parse(text.str());
  const bj::object* o = parsed && parsed->is_object() ? &parsed->as_object() : nullptr;
  auto str = [&](std::string_view name) -> std::string {
    const bj::string* s = o ? json::find_string(*o, name) : nullptr;
    return s ? std::string(*s) : std::string();
  };
  auto expires = o ? json::find_number(*o, "expires_at") : std::nullopt;
  if (!o || str("server_url").empty() || str("access_token").empty() || str("token_endpoint").empty() || !expires) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--token-file " + path +
                          ": not a token file of idp-agents (needs server_url, access_token, token_endpoint "
                          "and expires_at); delete it and sign in again");
  }
  SavedTokens t;
  t.server_url = str("server_url");
  t.resource = str("resource");
  t.issuer = str("issuer");
  t.token_endpoint = str("token_endpoint");
  t.client_id = str("client_id");
  t.auth_method = str("auth_method");
  t.client_secret = Secret(str("client_secret"));
  t.scope = str("scope");
  t.access_token = Secret(str("access_token"));
  t.refresh_token = Secret(str("refresh_token"));
  t.expires = Clock::time_point(std::chrono::seconds(static_cast<std::int64_t>(*expires)));
  return std::optional<SavedTokens>(std::move(t));
}

Result<void> write_token_file(const std::string& path, const SavedTokens& t) {
  bj::object o{{"version", kVersion},
               {"server_url", t.server_url},
               {"resource", t.resource},
               {"issuer", t.issuer},
               {"token_endpoint", t.token_endpoint},
               {"client_id", t.client_id},
               {"auth_method", t.auth_method},
               {"scope", t.scope},
               {"access_token", t.access_token.reveal()},
               {"expires_at", std::chrono::duration_cast<std::chrono::seconds>(t.expires.time_since_epoch()).count()}};
  if (!t.client_secret.empty()) o["client_secret"] = t.client_secret.reveal();
  if (!t.refresh_token.empty()) o["refresh_token"] = t.refresh_token.reveal();
  Secret text(json::serialize(o) + "\n");
  auto w = write_file_atomic(path, text.reveal(), 0600);
  if (!w) return std::unexpected(w.error().with_context("--token-file"));
  return {};
}

}  // namespace idp::cli

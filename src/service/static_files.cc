#include "static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

namespace idp::service {

namespace {

constexpr std::uintmax_t kMaxFileBytes = 32 * 1024 * 1024;

std::string_view content_type(std::string_view name) {
  auto dot = name.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot);
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".map" || ext == ".json") return "application/json";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  return "application/octet-stream";
}

// The relative path for a request path, or "" when it may not name a file of the folder.
std::string relative_path(std::string_view path) {
  if (path == "/" || path.empty()) return "index.html";
  std::string out;
  std::string_view rest = path.substr(1);
  while (true) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (seg.empty() || seg.front() == '.') return {};
    for (char c : seg) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      if (!ok) return {};
    }
    if (!out.empty()) out += '/';
    out += seg;
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return out;
}

void add_headers(http::Response& r) {
  r.headers.set("Content-Security-Policy", kContentSecurityPolicy);
  r.headers.set("X-Content-Type-Options", "nosniff");
  r.headers.set("Referrer-Policy", "no-referrer");
  r.headers.set("X-Frame-Options", "DENY");
}

http::Response not_found() {
  http::Response r = http::Response::text(404, "not found\n");
  add_headers(r);
  return r;
}

}  // namespace

void serve_static_files(http::Server& server, std::string folder) {
  server.route_prefix(
      "GET", "/",
      [folder](const http::Request& req, http::Responder& res) -> boost::asio::awaitable<void> {
        std::error_code ec;
        if (!std::filesystem::is_directory(folder, ec)) {
          http::Response r =
              http::Response::text(503, "the web UI is not installed (no folder " + folder +
                                            "): build the target idp_ui, or pass --ui-dir\n");
          add_headers(r);
          co_return co_await res.send(std::move(r));
        }
        std::string rel = relative_path(req.path());
        if (rel.empty()) co_return co_await res.send(not_found());
        std::filesystem::path file = std::filesystem::path(folder) / rel;
        auto status = std::filesystem::symlink_status(file, ec);
        if (ec || !std::filesystem::is_regular_file(status) ||
            std::filesystem::file_size(file, ec) > kMaxFileBytes || ec) {
          co_return co_await res.send(not_found());
        }
        std::ifstream in(file, std::ios::binary);
        std::ostringstream body;
        body << in.rdbuf();
        if (!in) co_return co_await res.send(not_found());
        http::Response r;
        r.status = 200;
        r.body = std::move(body).str();
        r.headers.set("Content-Type", std::string(content_type(rel)));
        r.headers.set("Cache-Control", rel.starts_with("chunks/")
                                           ? "public, max-age=31536000, immutable"
                                           : "no-cache");
        add_headers(r);
        co_await res.send(std::move(r));
      });
}

}  // namespace idp::service

#include "mailer.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "idp/core/log.h"
#include "idp/core/random.h"
#include "idp/http/url_policy.h"

namespace example {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string host_of(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return {};
  std::string rest = url.substr(scheme_end + 3);
  std::string authority = rest.substr(0, rest.find('/'));
  return std::string(idp::http::authority_host(authority));
}

bool ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

struct Upload {
  const std::string* data;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  std::size_t room = size * n;
  std::size_t left = u->data->size() - u->offset;
  std::size_t take = std::min(room, left);
  std::memcpy(buffer, u->data->data() + u->offset, take);
  u->offset += take;
  return take;
}

}  // namespace

std::expected<void, std::string> check_smtp_url(const std::string& url) {
  if (!url.starts_with("smtp://") && !url.starts_with("smtps://")) {
    return std::unexpected("--smtp " + url + ": expected smtp://host:port or smtps://host:port");
  }
  if (host_of(url).empty()) return std::unexpected("--smtp " + url + ": no host");
  return {};
}

std::string format_message(const OutboxMessage& m, const std::string& from) {
  char date[64];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string subject =
      ascii(m.subject) ? m.subject : "=?UTF-8?B?" + idp::base64_encode(m.subject) + "?=";
  std::string out = fmt::format(
      "Date: {}\r\nFrom: {}\r\nTo: {}\r\nSubject: {}\r\nMessage-ID: <{}@idp-mcp-server>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n",
      date, from, m.to, subject, m.message_id);
  // Body lines end in CRLF (libcurl dot-stuffs lines that start with '.').
  for (char c : m.body) {
    if (c == '\r') continue;
    if (c == '\n')
      out += "\r\n";
    else
      out += c;
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

Mailer::Mailer(Store& store, MailerOptions options) : store_(store), opt_(std::move(options)) {
  starttls_required_ =
      opt_.smtp_url.starts_with("smtp://") && !idp::http::is_loopback_host(host_of(opt_.smtp_url));
}

Mailer::~Mailer() { stop(); }

void Mailer::start() {
  thread_ = std::thread([this] { run(); });
}

void Mailer::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

void Mailer::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::expected<void, std::string> Mailer::send(const OutboxMessage& m) {
  CURL* curl = curl_easy_init();
  if (!curl) return std::unexpected(std::string("cannot create a libcurl handle"));
  std::string data = format_message(m, opt_.from);
  Upload up{&data};
  std::string from = "<" + opt_.from + ">", to = "<" + m.to + ">";
  curl_slist* rcpt = curl_slist_append(nullptr, to.c_str());
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, opt_.smtp_url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &up);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE, static_cast<long>(data.size()));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(opt_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<long>(opt_.timeout.count(), 10'000)));
  if (starttls_required_)
    curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!opt_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, opt_.ca_file.c_str());
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (rc == CURLE_OK) return {};
  return std::unexpected(errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc)));
}

void Mailer::run() {
  while (true) {
    auto due = store_.due(now_ms(), 20);
    if (!due) idp::log::error("outbox: {}", due.error());
    for (const auto& m : due ? *due : std::vector<OutboxMessage>{}) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      auto sent = send(m);
      if (sent) {
        if (auto r = store_.mark_sent(m.message_id); !r) idp::log::error("outbox: {}", r.error());
        idp::log::info("outbox: {} delivered (attempt {})", m.message_id, m.attempts + 1);
        continue;
      }
      int attempt = m.attempts + 1;
      bool give_up = attempt >= opt_.max_attempts;
      auto delay =
          std::min<std::int64_t>(opt_.retry_base.count() << std::min(attempt - 1, 16), 60'000);
      if (auto r =
              store_.mark_attempt_failed(m.message_id, sent.error(), now_ms() + delay, give_up);
          !r) {
        idp::log::error("outbox: {}", r.error());
      }
      if (give_up) {
        idp::log::warn("outbox: {} failed after {} attempts: {}", m.message_id, attempt,
                       sent.error());
      } else {
        idp::log::warn("outbox: delivery of {} failed (attempt {}): {}; retrying in {} ms",
                       m.message_id, attempt, sent.error(), delay);
      }
    }
    std::unique_lock lock(mu_);
    if (stop_) return;
    auto next = store_.next_due();
    auto wait = std::chrono::milliseconds(
        next ? std::clamp<std::int64_t>(*next - now_ms(), 0, 60'000) : 60'000);
    if (wait.count() > 0) cv_.wait_for(lock, wait, [&] { return stop_ || woken_; });
    woken_ = false;
    if (stop_) return;
  }
}

}  // namespace example

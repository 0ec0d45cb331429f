// Delivers the outbox in the background over SMTP (libcurl): a thread takes due messages
// (oldest first), sends each, marks it sent, or records the failure and schedules a retry with
// exponential backoff (retry_base, doubling, at most a minute) until max_attempts, when the
// message is marked failed. Queued messages survive restarts (they are in the database), so
// delivery resumes where it stopped. Plain smtp:// is for loopback relays only; elsewhere
// STARTTLS is required (or use smtps://), with the certificate verified.
// Thread-safe: wake() and stop() may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <expected>
#include <mutex>
#include <string>
#include <thread>

#include "store.h"

namespace example {

struct MailerOptions {
  std::string smtp_url;  // smtp://host:port or smtps://host:port
  std::string from = "no-reply@idp-mcp-server.example";
  std::chrono::milliseconds retry_base{1000};
  int max_attempts = 5;
  std::chrono::milliseconds timeout{30'000};
  std::string ca_file;  // PEM; empty: the system store
};

// Checks the URL (scheme, host, loopback rule); the error says what to pass instead.
std::expected<void, std::string> check_smtp_url(const std::string& url);

// The RFC 5322 message for `m` (CRLF line ends; the subject RFC 2047-encoded when not ASCII).
std::string format_message(const OutboxMessage& m, const std::string& from);

class Mailer {
 public:
  Mailer(Store& store, MailerOptions options);
  ~Mailer();  // stops
  void start();
  void wake();  // a message was queued
  void stop();

 private:
  void run();
  std::expected<void, std::string> send(const OutboxMessage& m);
  Store& store_;
  MailerOptions opt_;
  bool starttls_required_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, woken_ = false;
  std::thread thread_;
};

}  // namespace example

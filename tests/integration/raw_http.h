// A deliberately simple blocking HTTP/1.1 client for tests: sends exactly what it is given
// (so tests can send malformed or hostile requests) and reads one response, or streams SSE.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace idp::test {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const;
};

class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~RawConnection();

  // Sends a request; headers are sent as given (Host is added when absent).
  void send(const std::string& method, const std::string& target,
            const std::vector<std::pair<std::string, std::string>>& headers,
            const std::string& body);
  void send_raw(const std::string& bytes);
  RawResponse read();  // a whole response (Content-Length or chunked)
  // Reads a streamed response until `needle` appears in the body or the timeout; returns what
  // was read. Leaves the connection open.
  RawResponse read_until(const std::string& needle);
  // The same for an SSE stream, until the event holding `needle` is complete (its blank line
  // has arrived too).
  RawResponse read_event(const std::string& needle);
  bool closed_by_peer();  // true if the server closed the connection
  void close();

 private:
  RawResponse read_until_found(const std::function<bool(const std::string&)>& found);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Something a test waits for instead of sleeping: set() (or add()) from any thread; wait()
// returns as soon as it happened. The timeout is a bound only a failing test reaches.
class Event {
 public:
  void set() { add(1); }
  void add(int n = 1) {
    // Notified under the lock: a waiter that returns may destroy the Event at once.
    std::lock_guard lock(mu_);
    count_ += n;
    cv_.notify_all();
  }
  bool is_set() const { return count() > 0; }
  int count() const {
    std::lock_guard lock(mu_);
    return count_;
  }
  // Until at least `n` add()s happened.
  bool wait(std::chrono::milliseconds timeout, int n = 1) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

// One-shot helpers.
RawResponse request(std::uint16_t port, const std::string& method, const std::string& target,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    const std::string& body = {});

// The JSON-RPC messages carried by an SSE body ("data:" lines joined per event), in order.
std::vector<std::string> sse_data(const std::string& body);
std::vector<std::string> sse_ids(const std::string& body);

}  // namespace idp::test

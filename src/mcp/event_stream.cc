#include "event_stream.h"

#include <charconv>

namespace idp::mcp {

void EventStream::trim(std::size_t keep) {
  if (events_.size() <= keep) return;
  events_.erase(events_.begin(),
                events_.begin() + static_cast<std::ptrdiff_t>(events_.size() - keep));
  first_retained_ = events_.front().first;
}

bool EventStream::push(std::string message) {
  std::shared_ptr<Notifier> w;
  {
    std::lock_guard lock(mu_);
    if (complete_) return false;
    ever_pushed_ = true;
    events_.emplace_back(next_seq_++, std::move(message));
    trim(capacity_);
    w = waker_;
  }
  if (w) w->notify();
  return true;
}

bool EventStream::complete(std::optional<std::string> final_message) {
  std::shared_ptr<Notifier> w;
  {
    std::lock_guard lock(mu_);
    if (complete_) return false;
    complete_ = true;
    has_final_ = final_message.has_value();
    if (final_message) {
      events_.emplace_back(next_seq_++, std::move(*final_message));
      trim(capacity_ + 1);  // the final message never pushes out the last event before it
    }
    w = waker_;
  }
  if (w) w->notify();
  return true;
}

void EventStream::request_close() {
  std::shared_ptr<Notifier> w;
  {
    std::lock_guard lock(mu_);
    close_requested_ = true;
    w = waker_;
  }
  if (w) w->notify();
}

EventStream::Batch EventStream::take(std::uint64_t after, bool consume_close) {
  Batch b;
  std::lock_guard lock(mu_);
  if (after + 1 < first_retained_) b.lost = true;
  for (const auto& e : events_) {
    if (e.first > after) b.events.push_back(e);
  }
  b.complete = complete_;
  b.close_requested = close_requested_;
  if (consume_close) close_requested_ = false;
  return b;
}

std::optional<std::string> EventStream::take_final() {
  std::lock_guard lock(mu_);
  if (!complete_ || events_.empty() || !has_final_) return std::nullopt;
  return std::move(events_.back().second);
}

bool EventStream::attach(std::shared_ptr<Notifier> waker) {
  std::lock_guard lock(mu_);
  if (waker_) return false;
  waker_ = std::move(waker);
  return true;
}

void EventStream::detach() {
  std::lock_guard lock(mu_);
  waker_.reset();
}

bool EventStream::attached() const {
  std::lock_guard lock(mu_);
  return static_cast<bool>(waker_);
}

bool EventStream::is_complete() const {
  std::lock_guard lock(mu_);
  return complete_;
}

bool EventStream::has_pending_events() const {
  std::lock_guard lock(mu_);
  return ever_pushed_;
}

bool EventStream::close_requested() const {
  std::lock_guard lock(mu_);
  return close_requested_;
}

std::uint64_t EventStream::last_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1;
}

std::optional<std::pair<std::string_view, std::uint64_t>> EventStream::parse_event_id(
    std::string_view last_event_id) {
  auto sep = last_event_id.rfind('_');
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  std::string_view seq = last_event_id.substr(sep + 1);
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), n);
  if (seq.empty() || ec != std::errc() || p != seq.data() + seq.size()) return std::nullopt;
  return std::pair{last_event_id.substr(0, sep), n};
}

}  // namespace idp::mcp

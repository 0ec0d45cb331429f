#include "idp/http/sse_parser.h"

#include <limits>

namespace idp::http {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

void SseParser::reset() {
  started_ = false;
  bom_prefix_.clear();
  after_cr_ = false;
  line_.clear();
  data_.clear();
  event_.clear();
  has_data_ = false;
  event_retry_.reset();
  error_.reset();
}

void SseParser::fail() {
  error_ = Error(ErrorCode::kResourceExhausted,
                 "SSE event exceeds the limit of " + std::to_string(max_event_bytes_) + " bytes");
  line_.clear();
  data_.clear();
  event_.clear();
}

std::vector<SseEvent> SseParser::feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  if (error_) return out;
  std::string joined;  // only used when a split BOM prefix must be put back
  if (!started_) {
    // A BOM (EF BB BF) may only start the stream, and may arrive split over chunks.
    std::size_t i = 0;
    while (i < bytes.size() && bom_prefix_.size() < kBom.size() &&
           bytes[i] == kBom[bom_prefix_.size()]) {
      bom_prefix_.push_back(bytes[i]);
      ++i;
    }
    if (bom_prefix_.size() == kBom.size()) {
      started_ = true;
      bytes.remove_prefix(i);
    } else if (i == bytes.size()) {
      return out;  // still a possible BOM prefix: wait for more
    } else {
      // Not a BOM: the bytes taken so far are ordinary input.
      started_ = true;
      joined = bom_prefix_;
      joined.append(bytes.substr(i));
      bytes = joined;
    }
    bom_prefix_.clear();
  }

  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes[pos] == '\n') {
        ++pos;
        continue;
      }
    }
    std::size_t end = bytes.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(pos));
      if (pending_bytes() > max_event_bytes_) fail();
      break;
    }
    std::string_view line;
    if (line_.empty()) {
      line = bytes.substr(pos, end - pos);
    } else {
      line_.append(bytes.substr(pos, end - pos));
      line = line_;
    }
    if (line.size() + data_.size() + event_.size() > max_event_bytes_) {
      fail();
      break;
    }
    after_cr_ = bytes[end] == '\r';
    pos = end + 1;
    process_line(line, out);
    line_.clear();
    if (error_) break;
  }
  return out;
}

void SseParser::process_line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    dispatch(out);
    return;
  }
  if (line.front() == ':') return;  // comment
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    event_.assign(value);
  } else if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
    // Not pending_bytes(): line_ may still hold this very line (one that arrived in pieces),
    // whose value was just counted in data_.
    if (data_.size() + event_.size() > max_event_bytes_) fail();
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_event_id_.assign(value);
  } else if (field == "retry") {
    if (value.empty()) return;
    long long v = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return;
      if (v <= std::numeric_limits<int>::max()) v = v * 10 + (c - '0');
    }
    int ms = v > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                                 : static_cast<int>(v);
    retry_ms_ = ms;
    event_retry_ = ms;
  }
  // Any other field is ignored.
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  if (has_data_) {
    SseEvent e;
    if (!event_.empty()) e.event = std::move(event_);
    e.data = std::move(data_);
    e.id = last_event_id_;
    e.retry_ms = event_retry_;
    out.push_back(std::move(e));
  }
  data_.clear();
  event_.clear();
  has_data_ = false;
  event_retry_.reset();
}

}  // namespace idp::http

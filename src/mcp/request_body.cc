#include "request_body.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "idp/mcp/types.h"

namespace idp::mcp {

namespace {

namespace bj = boost::json;
using boost::system::error_code;

// The keys of _meta that a client repeats unchanged on every request.
bool is_envelope_key(std::string_view key) {
  return key == meta_keys::kProtocolVersion || key == meta_keys::kClientCapabilities ||
         key == meta_keys::kClientInfo || key == meta_keys::kLogLevel;
}

// A recorded _meta: the parser's events in order, enough to build the value again and to
// compare two of them. Each event is a tag byte and its payload: a key or string is its length
// (4 bytes) and bytes, a number its 8 bytes, an object's or array's end its member count.
enum Tag : char {
  kKey = 'k',
  kString = 's',
  kInt = 'i',
  kUint = 'u',
  kDouble = 'd',
  kTrue = 't',
  kFalse = 'f',
  kNull = 'n',
  kObjectEnd = 'o',
  kArrayEnd = 'a',
};

template <class T>
void put(std::string& tape, const T& x) {
  tape.append(reinterpret_cast<const char*>(&x), sizeof x);
}

template <class T>
T get(const char*& p) {
  T x;
  std::memcpy(&x, p, sizeof x);
  p += sizeof x;
  return x;
}

// Builds what `tape` recorded onto `st` (one complete value).
void replay(std::string_view tape, bj::value_stack& st) {
  const char* p = tape.data();
  const char* end = p + tape.size();
  while (p < end) {
    switch (static_cast<Tag>(*p++)) {
      case kKey:
      case kString: {
        const bool key = p[-1] == kKey;
        auto n = get<std::uint32_t>(p);
        std::string_view s(p, n);
        p += n;
        if (key) {
          st.push_key(s);
        } else {
          st.push_string(s);
        }
        break;
      }
      case kInt:
        st.push_int64(get<std::int64_t>(p));
        break;
      case kUint:
        st.push_uint64(get<std::uint64_t>(p));
        break;
      case kDouble:
        st.push_double(get<double>(p));
        break;
      case kTrue:
        st.push_bool(true);
        break;
      case kFalse:
        st.push_bool(false);
        break;
      case kNull:
        st.push_null();
        break;
      case kObjectEnd:
        st.push_object(get<std::size_t>(p));
        break;
      case kArrayEnd:
        st.push_array(get<std::size_t>(p));
        break;
    }
  }
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The text of the JSON object that starts at `at` (its '{'), found by matching braces outside
// strings; "" when it does not end within `end`. Only used on text the parser accepted.
std::string_view object_text(const char* at, const char* end) {
  std::size_t depth = 0;
  bool in_string = false;
  for (const char* p = at; p < end; ++p) {
    const char c = *p;
    if (in_string) {
      if (c == '\\') {
        ++p;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return std::string_view(at, static_cast<std::size_t>(p + 1 - at));
    }
  }
  return {};
}

// The envelopes this thread has seen lately, by their exact text. A handful: one client sends
// one envelope (per protocol version and log level); a server with many clients simply builds
// more of them, as it did before this cache.
class EnvelopeCache {
 public:
  static constexpr std::size_t kMaxText = 2048;

  struct Entry {
    std::string text;
    std::shared_ptr<const bj::object> object;
  };

  bool empty() const { return !entries_[0].object; }

  // The entry whose text `at` begins with.
  const Entry* match(std::string_view at) const {
    for (const auto& e : entries_) {
      if (e.object && at.starts_with(e.text)) return &e;
    }
    return nullptr;
  }

  // The object for `text`, built from `tape` (what the parser read of it) when it is new.
  std::shared_ptr<const bj::object> insert(std::string_view text, std::string_view tape) {
    for (const auto& e : entries_) {
      if (e.object && e.text == text) return e.object;
    }
    unsigned char temp[512];
    bj::value_stack st(bj::storage_ptr(), temp, sizeof temp);
    st.reset();
    replay(tape, st);
    bj::value v = st.release();
    auto object = std::make_shared<const bj::object>(std::move(v.get_object()));
    Entry& slot = entries_[next_++ % entries_.size()];
    slot.text.assign(text);
    slot.object = object;
    return object;
  }

 private:
  std::array<Entry, 8> entries_;
  std::size_t next_ = 0;
};

EnvelopeCache& envelope_cache() {
  thread_local EnvelopeCache cache;
  return cache;
}

// The tape is per thread, so that its capacity is kept from one request to the next.
constexpr std::size_t kKeptTape = 16 * 1024;

std::string& thread_tape() {
  thread_local std::string tape;
  return tape;
}

// basic_parser's handler: builds the DOM on a value_stack as Boost's own parser does, except
// that the object under params._meta is recorded on a tape (capture) and, when it is an
// envelope, taken from the cache instead of built.
class Handler {
 public:
  static constexpr std::size_t max_object_size = bj::object::max_size();
  static constexpr std::size_t max_array_size = bj::array::max_size();
  static constexpr std::size_t max_key_size = bj::string::max_size();
  static constexpr std::size_t max_string_size = bj::string::max_size();

  Handler(std::string_view body, unsigned char* temp, std::size_t temp_size)
      : st(bj::storage_ptr(), temp, temp_size), body_(body), tape_(thread_tape()) {}
  // The thread's tape keeps its capacity for the next request, unless a large _meta grew it.
  ~Handler() {
    if (tape_.capacity() > kKeptTape) std::string().swap(tape_);
  }
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;

  bj::value_stack st;
  std::shared_ptr<const bj::object> shared_meta;
  bool nonfinite = false;

  // The object that the "{}" at `at` stands for, if it turns out to be params._meta's value.
  void substitute(const char* at, std::shared_ptr<const bj::object> envelope) {
    substitute_at_ = at;
    substitute_ = std::move(envelope);
  }
  bool substituted() const { return substituted_; }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_comment_part(std::string_view, error_code&) { return true; }
  bool on_comment(std::string_view, error_code&) { return true; }
  bool on_number_part(std::string_view, error_code&) { return true; }

  bool on_object_begin(error_code&) {
    if (capture_ > 0) {
      ++capture_;
    } else if (meta_key_pending_) {
      meta_key_pending_ = false;
      capture_ = 1;
      tape_.clear();
      envelope_ = true;
    } else if (depth_ == 1 && root_key_is_params_) {
      in_params_ = true;
      params_removed_ = 0;
      meta_in_dom_ = false;
    }
    ++depth_;
    return true;
  }

  bool on_object_end(std::size_t n, error_code&) {
    --depth_;
    if (capture_ > 0) {
      tape_ += kObjectEnd;
      put(tape_, n);
      if (--capture_ == 0) end_capture();
      return true;
    }
    if (depth_ == 1 && in_params_) {
      in_params_ = false;
      n -= params_removed_;
    }
    st.push_object(n);
    return true;
  }

  bool on_array_begin(error_code&) {
    value_begins();
    if (capture_ > 0) ++capture_;
    ++depth_;
    return true;
  }

  bool on_array_end(std::size_t n, error_code&) {
    --depth_;
    if (capture_ > 0) {
      --capture_;
      tape_ += kArrayEnd;
      put(tape_, n);
      return true;
    }
    st.push_array(n);
    return true;
  }

  bool on_key_part(std::string_view s, std::size_t, error_code&) {
    if (capture_ > 0) {
      open_text(kKey);
      tape_.append(s);
    } else {
      st.push_chars(s);
      if (depth_ == 1) root_key_.append(s);
    }
    key_in_parts_ = true;
    return true;
  }

  bool on_key(std::string_view s, std::size_t, error_code&) {
    const bool whole = !key_in_parts_;
    key_in_parts_ = false;
    if (capture_ > 0) {
      open_text(kKey);
      tape_.append(s);
      std::string_view key = close_text();
      if (capture_ == 1 && !is_envelope_key(key)) envelope_ = false;
      return true;
    }
    if (depth_ == 1) {
      // A later "params" (in any spelling) replaces the earlier in the DOM, and with it the
      // _meta taken out of the earlier.
      root_key_is_params_ = whole ? s == "params" : root_key_.append(s) == "params";
      root_key_.clear();
      if (root_key_is_params_) shared_meta.reset();
    }
    // An escaped spelling of _meta is left to the DOM (compared only when read whole).
    if (depth_ == 2 && in_params_ && whole && s == "_meta") {
      meta_key_pending_ = true;
      meta_key_end_ = s.data() + s.size();
      return true;
    }
    st.push_key(s);
    return true;
  }

  bool on_string_part(std::string_view s, std::size_t, error_code&) {
    value_begins();
    if (capture_ > 0) {
      open_text(kString);
      tape_.append(s);
    } else {
      st.push_chars(s);
    }
    return true;
  }

  bool on_string(std::string_view s, std::size_t, error_code&) {
    value_begins();
    if (capture_ > 0) {
      open_text(kString);
      tape_.append(s);
      close_text();
    } else {
      st.push_string(s);
    }
    return true;
  }

  bool on_int64(std::int64_t i, std::string_view, error_code&) {
    return scalar(
        kInt, [&] { st.push_int64(i); }, i);
  }
  bool on_uint64(std::uint64_t u, std::string_view, error_code&) {
    return scalar(
        kUint, [&] { st.push_uint64(u); }, u);
  }
  bool on_bool(bool b, error_code&) {
    return scalar(b ? kTrue : kFalse, [&] { st.push_bool(b); });
  }
  bool on_null(error_code&) {
    return scalar(kNull, [&] { st.push_null(); });
  }

  // Boost.JSON reads a number beyond the double range as infinity and would write it back as
  // "Infinity", which is not JSON: refused here.
  bool on_double(double d, std::string_view, error_code& ec) {
    if (!std::isfinite(d)) {
      nonfinite = true;
      ec = bj::error::exponent_overflow;
      return false;
    }
    return scalar(
        kDouble, [&] { st.push_double(d); }, d);
  }

 private:
  // A number, boolean or null: onto the tape while recording _meta, else onto the value stack.
  template <class Push, class... Payload>
  bool scalar(Tag tag, Push push, const Payload&... payload) {
    value_begins();
    if (capture_ > 0) {
      tape_ += tag;
      (put(tape_, payload), ...);
    } else {
      push();
    }
    return true;
  }

  // A value other than an object follows params' "_meta" key: it goes into the DOM, and being
  // the later one, it replaces any _meta captured before it.
  void value_begins() {
    if (!meta_key_pending_) return;
    meta_key_pending_ = false;
    shared_meta.reset();
    meta_in_dom_ = true;
    st.push_key("_meta");
  }

  // Starts a key or string on the tape unless its earlier parts already did.
  void open_text(Tag tag) {
    if (text_at_ != std::string::npos) return;
    tape_ += tag;
    text_at_ = tape_.size();
    put(tape_, std::uint32_t{0});
  }

  std::string_view close_text() {
    const std::size_t start = text_at_ + sizeof(std::uint32_t);
    auto n = static_cast<std::uint32_t>(tape_.size() - start);
    std::memcpy(tape_.data() + text_at_, &n, sizeof n);
    text_at_ = std::string::npos;
    return std::string_view(tape_).substr(start);
  }

  void end_capture() {
    // With duplicate keys the object keeps the last one; once a _meta is in the DOM, a later
    // one goes there too, so that it is the last.
    if (meta_in_dom_) {
      push_captured();
      return;
    }
    if (substitute_ && value_start() == substitute_at_) {
      shared_meta = substitute_;
      substituted_ = true;
      ++params_removed_;
      return;
    }
    if (envelope_) {
      std::string_view text = meta_text();
      if (!text.empty() && text.size() <= EnvelopeCache::kMaxText) {
        shared_meta = envelope_cache().insert(text, tape_);
        ++params_removed_;
        return;
      }
    }
    push_captured();
  }

  // The recorded _meta into the DOM: being the later one, it is the one that counts.
  void push_captured() {
    shared_meta.reset();
    meta_in_dom_ = true;
    st.push_key("_meta");
    replay(tape_, st);
  }

  // The text of the _meta object just read: from its key (when the key was read straight from
  // the body, not unescaped into a buffer) to the matching brace; "" when unknown.
  std::string_view meta_text() const {
    const char* p = value_start();
    return p ? object_text(p, body_.data() + body_.size()) : std::string_view();
  }

  // Where the value of the _meta key just read starts in the body (its '{'), or null.
  const char* value_start() const {
    const char* begin = body_.data();
    const char* end = begin + body_.size();
    if (meta_key_end_ < begin || meta_key_end_ >= end || *meta_key_end_ != '"') return nullptr;
    const char* p = meta_key_end_ + 1;
    while (p < end && is_json_space(*p)) ++p;
    if (p == end || *p++ != ':') return nullptr;
    while (p < end && is_json_space(*p)) ++p;
    return p < end && *p == '{' ? p : nullptr;
  }

  std::string_view body_;
  std::string& tape_;
  std::shared_ptr<const bj::object> substitute_;
  const char* substitute_at_ = nullptr;
  bool substituted_ = false;
  const char* meta_key_end_ = nullptr;
  std::size_t depth_ = 0;  // containers open
  bool root_key_is_params_ = false;
  std::string root_key_;    // a root key read in parts (escaped), until its last part
  bool in_params_ = false;  // inside the object that is the root's "params"
  std::size_t params_removed_ = 0;
  bool meta_in_dom_ = false;       // a _meta of these params went into the DOM
  bool meta_key_pending_ = false;  // params' "_meta" key read, not yet pushed
  bool key_in_parts_ = false;
  std::size_t capture_ = 0;  // depth inside the _meta being recorded (0: not recording)
  bool envelope_ = true;
  std::size_t text_at_ = std::string::npos;  // where an open key's or string's length goes
};

// Where params._meta's value may start with an envelope this thread has seen: the position
// after `"_meta"`, the colon and spaces, and the entry; nullopt when the text appears nowhere.
// The parser then confirms that this "_meta" is params' own key.
struct EnvelopeAt {
  std::size_t at;
  const EnvelopeCache::Entry* entry;
};

std::optional<EnvelopeAt> find_envelope(std::string_view body, const EnvelopeCache& cache) {
  constexpr std::string_view kKey = "_meta\"";
  std::size_t from = 1;
  while (from < body.size()) {
    const void* hit = std::memchr(body.data() + from, '_', body.size() - from);
    if (!hit) return std::nullopt;
    std::size_t q = static_cast<const char*>(hit) - body.data();
    from = q + 1;
    if (body[q - 1] != '"' || body.substr(q, kKey.size()) != kKey) continue;
    std::size_t i = q + kKey.size();
    while (i < body.size() && is_json_space(body[i])) ++i;
    if (i == body.size() || body[i] != ':') continue;
    ++i;
    while (i < body.size() && is_json_space(body[i])) ++i;
    if (auto* e = cache.match(body.substr(i))) return EnvelopeAt{i, e};
  }
  return std::nullopt;
}

Result<RequestBody> error_of(std::size_t n, error_code ec, bool nonfinite) {
  if (nonfinite) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid JSON: a number is out of range (beyond about 1.8e308)");
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "invalid JSON at byte " + std::to_string(n) + ": " + ec.message());
}

// The fast path: the body parsed with "{}" in place of the envelope's text (a copy of at most
// kMaxCopy bytes), the handler told what that "{}" stands for. Null when the stand-in is not
// params' _meta (its "_meta" text was elsewhere) or the body has an error (the full parse then
// says where).
constexpr std::size_t kMaxCopy = 4096;

std::optional<RequestBody> parse_around(std::string_view body, EnvelopeAt envelope,
                                        const bj::storage_ptr& storage,
                                        const bj::parse_options& opt) {
  constexpr std::string_view kStandIn = "{}";
  const std::size_t skip = envelope.entry->text.size();
  const std::size_t size = body.size() - skip + kStandIn.size();
  if (size > kMaxCopy) return std::nullopt;
  char copy[kMaxCopy];
  std::memcpy(copy, body.data(), envelope.at);
  std::memcpy(copy + envelope.at, kStandIn.data(), kStandIn.size());
  std::memcpy(copy + envelope.at + kStandIn.size(), body.data() + envelope.at + skip,
              body.size() - envelope.at - skip);
  unsigned char temp[1024];
  bj::basic_parser<Handler> p(opt, std::string_view(copy, size), temp, sizeof temp);
  Handler& h = p.handler();
  h.st.reset(storage);
  h.substitute(copy + envelope.at, envelope.entry->object);
  error_code ec;
  std::size_t n = p.write_some(false, copy, size, ec);
  if (ec || n != size || !h.substituted()) return std::nullopt;
  return RequestBody{h.st.release(), std::move(h.shared_meta)};
}

}  // namespace

Result<RequestBody> parse_request_body(std::string_view body, bj::storage_ptr storage,
                                       std::size_t max_depth) {
  bj::parse_options opt;
  opt.max_depth = max_depth;
  if (const auto& cache = envelope_cache(); !cache.empty()) {
    if (auto envelope = find_envelope(body, cache)) {
      if (auto done = parse_around(body, *envelope, storage, opt)) return std::move(*done);
    }
  }
  // The value stack's temporary storage stays in a small local buffer.
  unsigned char temp[1024];
  bj::basic_parser<Handler> p(opt, body, temp, sizeof temp);
  p.handler().st.reset(std::move(storage));
  error_code ec;
  std::size_t n = p.write_some(false, body.data(), body.size(), ec);
  if (!ec && n < body.size()) ec = bj::error::extra_data;
  if (ec) return error_of(n, ec, p.handler().nonfinite);
  return RequestBody{p.handler().st.release(), std::move(p.handler().shared_meta)};
}

}  // namespace idp::mcp

#include "sse_stream.h"

#include <string>

#include "idp/http/sse.h"

namespace idp::service {

boost::asio::awaitable<void> stream_feed(http::Responder& responder,
                                         std::shared_ptr<EventFeed> feed,
                                         std::chrono::milliseconds keepalive) {
  http::Response head;
  head.status = 200;
  head.headers.set("Content-Type", "text/event-stream; charset=utf-8");
  head.headers.set("Cache-Control", "no-store");
  head.headers.set("X-Content-Type-Options", "nosniff");
  head.headers.set("X-Accel-Buffering", "no");  // a reverse proxy must not hold events back
  bool open = co_await responder.start_stream(std::move(head));
  while (open) {
    auto items = co_await feed->next(keepalive);
    if (items.empty()) {
      if (feed->ended() || responder.stopping()) break;
      open = co_await responder.write(http::format_sse_comment("keep-alive"));
      continue;
    }
    std::string chunk;
    for (const auto& i : items) {
      // An event that could not be stored (seq 0) has no id: resuming never skips to it.
      chunk += http::format_sse_event(*i.json, i.seq > 0 ? std::to_string(i.seq) : std::string());
    }
    open = co_await responder.write(chunk);
  }
  feed->close();
}

}  // namespace idp::service

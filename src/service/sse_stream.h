// Writes an EventFeed to an HTTP response as text/event-stream: each stored event as
// `id: <seq>` + `data: <json>`, a `: keep-alive` comment every `keepalive` while nothing comes,
// until the feed ends (after its terminal event), the peer goes away or the server stops. The
// feed is closed on the way out, so a turn never writes for a reader that left.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>

#include "event_feed.h"
#include "idp/http/server.h"

namespace idp::service {

boost::asio::awaitable<void> stream_feed(http::Responder& responder,
                                         std::shared_ptr<EventFeed> feed,
                                         std::chrono::milliseconds keepalive);

}  // namespace idp::service

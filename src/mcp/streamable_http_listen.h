// Private: the 2026-07-28 subscriptions/listen streams of the Streamable HTTP transport. Each
// open listen request has an SSE stream that carries the change notifications it opted in to
// (tool, prompt and resource list changes, updates of named resources), each tagged with the
// subscription id (the listen request's id). The acknowledgement is a stream's first message.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "event_stream.h"

namespace idp::mcp {

struct ListenStream {
  explicit ListenStream(std::size_t capacity) : stream("l", capacity) {}
  EventStream stream;
  boost::json::value id;  // the subscription id
  bool tools = false, prompts = false, resources = false;
  std::set<std::string, std::less<>> uris;
};

class ListenStreams {
 public:
  // Opens a stream for a listen request: what `filter` (params.notifications) asks for and the
  // server's `capabilities` offer, at most `max_uris` resource URIs.
  std::shared_ptr<ListenStream> open(const boost::json::value& id,
                                     const boost::json::object& filter,
                                     const boost::json::object& capabilities, std::size_t capacity,
                                     std::size_t max_uris);
  void close(const std::shared_ptr<ListenStream>& stream);
  // Delivers a change to the streams that opted in to it.
  void notify(std::string_view method, const boost::json::object& params,
              std::string_view only_subscribed_uri);
  // Asks every stream's writer to end (the server stops).
  void request_close_all();

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<ListenStream>> streams_;
};

}  // namespace idp::mcp

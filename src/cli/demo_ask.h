// `idp-agents demo --once`: the demo's web user signs in through the service's API (as the
// browser does), waits until the agent is ready, asks one question in a new chat session and
// follows the streamed turn, printing each tool step as it happens and then the answer.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>

#include "idp/core/secret.h"

namespace idp::cli {

struct DemoQuestion {
  std::string base_url;  // the service: http://127.0.0.1:PORT
  std::string username;
  Secret password;
  std::string agent_id;
  std::string question;
};

// 0 when the turn answered (its `final` event), 1 otherwise (the reason is printed).
boost::asio::awaitable<int> ask_once(DemoQuestion q);

}  // namespace idp::cli

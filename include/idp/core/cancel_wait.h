// Awaiting a CancelSignal inside an Asio coroutine: `co_await (work() || wait_cancelled(sig))`
// ends `work` (through Asio's per-operation cancellation) when the signal fires. Kept apart from
// cancel.h so that headers that only pass signals around stay free of Asio.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>

#include "idp/core/cancel.h"

namespace idp {

// Completes when `signal` is cancelled (at once if it already is). Never completes for a null
// signal, so `op || wait_cancelled(nullptr)` is just `op`. Ends quietly when the awaiting
// operation is itself cancelled (the loser of an `||`).
boost::asio::awaitable<void> wait_cancelled(std::shared_ptr<CancelSignal> signal);

}  // namespace idp

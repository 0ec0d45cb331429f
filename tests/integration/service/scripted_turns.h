// A scripted turn function for the service's API tests: a stand-in of our own AgentRunner (whose
// run_turn signature it has), so that these tests can drive the event flow exactly — streams,
// resumption, cancellation, crashes. The end-to-end tests run the real runner, models and MCP
// servers. What a turn does is chosen by the question's first word:
//   hello ...     turn_start, text_delta "Hel", text_delta "lo", usage, final "Hello"
//   tools ...     turn_start, two echo_text tool calls of agent echoer (the second an error),
//                 final "used tools"
//   table ...     turn_start, structured_data (a 3-row table), final "Here is the table."
//   wait ...      turn_start, text_delta "working", then waits until cancelled: error "cancelled"
//   gate NAME     turn_start, text_delta "step1", waits until open(NAME), text_delta "step2",
//                 final "done"
//   stuck ...     turn_start, then waits for open("stuck") and ignores any cancel
//   fail ...      turn_start, error "unavailable"
//   other         turn_start, final "echo: <question>"
// Thread-safety: function() may run many turns at once; open() and requests() from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "idp/service/service.h"

namespace idp::service::test {

class ScriptedTurns {
 public:
  ScriptedTurns();
  TurnFunction function();
  // Lets the turns waiting at gate `name` go on (now and later).
  void open(const std::string& name);
  // Every request so far (question, agent ids, history).
  std::vector<agents::TurnRequest> requests() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace idp::service::test

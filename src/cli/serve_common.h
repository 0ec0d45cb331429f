// What `idp-agents serve` and `idp-agents demo` share to run the service: the --listen address,
// where the web UI and sibling programs are installed, and the agent loop: the model that
// --model names (else IDP_MODEL, else the offline planner) and the TurnFactory that answers each
// turn with an agents::AgentRunner over the service's registry.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "idp/core/error.h"
#include "idp/llm/model.h"
#include "idp/service/service.h"

namespace idp::cli {

// "127.0.0.1:8080", "[::1]:0", "localhost:8080" -> host and port; the error names --listen.
Result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& text);

// The folder of the running idp-agents (its sibling programs, e.g. idp-mcp-server, are there).
std::string program_dir();
// <bindir>/../share/idp-agents/ui, where the build and `cmake --install` put the UI.
std::string default_ui_dir();

struct ServeModel {
  llm::ModelInfo info;         // what /api/config shows
  service::TurnFactory turns;  // an AgentRunner over the registry, with this model
};

// Checks `spec` (and, for Bedrock, the region) now, so that a bad one is a usage error before
// anything listens (it names the spec and the accepted forms); the model itself is made with
// `options` on the service's executor.
Result<ServeModel> serve_model(const std::string& spec, const llm::ModelOptions& options = {});

}  // namespace idp::cli

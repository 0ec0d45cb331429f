#include "serve_common.h"

#include <boost/asio/io_context.hpp>

#include <charconv>
#include <filesystem>
#include <memory>

#include "idp/agents/agent_runner.h"
#include "idp/core/log.h"

namespace idp::cli {

namespace net = boost::asio;

namespace {

net::awaitable<agents::TurnResult> fail_turn(Error e) {
  agents::TurnResult r;
  r.error = std::move(e);
  co_return r;
}

// A turn function that fails every turn with `e` (the model could not be made after all). Not
// a capturing coroutine lambda (the GCC 12 rule): the lambda only calls the coroutine.
service::TurnFunction failing(Error e) {
  return [e](agents::TurnRequest, agents::EventSink, std::shared_ptr<CancelSignal>) {
    return fail_turn(e);
  };
}

}  // namespace

Result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& text) {
  auto colon = text.rfind(':');
  auto bad = [&] {
    return make_error(
        ErrorCode::kInvalidArgument,
        "--listen " + text + ": expected HOST:PORT, e.g. 127.0.0.1:8080 (port 0: any free port)");
  };
  if (colon == std::string::npos || colon == 0) return bad();
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  unsigned port = 0;
  std::string_view p(text.c_str() + colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || p.empty() || port > 65535) return bad();
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

std::string program_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return exe.parent_path().string();
}

std::string default_ui_dir() {
  return (std::filesystem::path(program_dir()).parent_path() / "share" / "idp-agents" / "ui")
      .string();
}

Result<ServeModel> serve_model(const std::string& spec, const llm::ModelOptions& options) {
  ServeModel out;
  {
    // make_model only keeps the executor for the model's own calls: a throwaway one will do to
    // check the spec (the model goes before its io_context).
    net::io_context check;
    auto model = llm::make_model(spec, check.get_executor(), options);
    if (!model) return std::unexpected(model.error());
    if (!*model) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--model: the offline planner is not part of this build");
    }
    out.info = (*model)->info();
  }
  out.turns = [spec, options](
                  std::shared_ptr<agents::AgentRegistry> registry) -> service::TurnFunction {
    auto model = llm::make_model(spec, registry->executor(), options);
    if (!model || !*model) {
      Error e =
          model ? Error(ErrorCode::kInvalidArgument, "the model could not be made") : model.error();
      log::error("--model: {}", e.message());
      return failing(std::move(e));
    }
    log::info("answers come from the model {}", (*model)->info().spec);
    auto runner = std::make_shared<agents::AgentRunner>(std::move(registry), *model);
    return [runner](agents::TurnRequest request, agents::EventSink sink,
                    std::shared_ptr<CancelSignal> cancel) {
      return runner->run_turn(std::move(request), std::move(sink), std::move(cancel));
    };
  };
  return out;
}

}  // namespace idp::cli

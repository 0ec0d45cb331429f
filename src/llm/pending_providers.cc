// Placeholders for the three model providers while they are being written on their branches
// (bedrock_model.cc, openai_model.cc, offline_planner.cc). Each branch deletes its function from
// this file; the file goes when the last one lands.
#include "idp/llm/providers.h"

namespace idp::llm {

Result<std::shared_ptr<Model>> make_bedrock_model(std::string, boost::asio::any_io_executor,
                                                  ModelOptions) {
  return make_error(ErrorCode::kUnavailable, "the bedrock model is not built yet");
}

Result<std::shared_ptr<Model>> make_openai_model(std::string, boost::asio::any_io_executor,
                                                 ModelOptions) {
  return make_error(ErrorCode::kUnavailable, "the openai model is not built yet");
}

}  // namespace idp::llm

// Constructors of the three Model implementations, each in its own file (bedrock_model.cc,
// openai_model.cc, offline_planner.cc). make_model() (model.h) parses a spec and calls one;
// tests and tools may call them directly.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

#include "idp/core/error.h"
#include "idp/llm/model.h"

namespace idp::llm {

// Bedrock Runtime Converse / ConverseStream for `model_id` (a model id, an inference-profile id
// or an ARN). Credentials and region come from the AWS chain (idp/aws/credentials.h) unless
// options say otherwise; fails when no region can be found.
Result<std::shared_ptr<Model>> make_bedrock_model(std::string model_id,
                                                  boost::asio::any_io_executor executor,
                                                  ModelOptions options);

// OpenAI-compatible chat completions (`POST {base}/chat/completions`) for `model`.
Result<std::shared_ptr<Model>> make_openai_model(std::string model,
                                                 boost::asio::any_io_executor executor,
                                                 ModelOptions options);

// The deterministic offline planner (no model service): picks tools by matching the question
// against the tool specs, fills arguments from the question by the input schema, and writes the
// answer from the tool results.
std::shared_ptr<Model> make_offline_model();

}  // namespace idp::llm

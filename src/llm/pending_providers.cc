// Placeholder for the offline planner while it is being written on its branch
// (offline_planner.cc). The file goes when it lands.
#include "idp/llm/providers.h"

namespace idp::llm {

std::shared_ptr<Model> make_offline_model() { return nullptr; }

}  // namespace idp::llm

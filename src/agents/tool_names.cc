#include "tool_names.h"

#include <fmt/format.h>

#include <cstdint>

namespace idp::agents {

namespace {

bool allowed(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::uint32_t fnv1a(std::string_view text) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : text) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

// `base` shortened so that `base + suffix` fits.
std::string with_suffix(std::string base, std::string_view suffix) {
  if (base.size() + suffix.size() > kMaxModelToolName) {
    base.resize(kMaxModelToolName - suffix.size());
  }
  return base + std::string(suffix);
}

}  // namespace

bool is_model_tool_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxModelToolName) return false;
  for (unsigned char c : name) {
    if (!allowed(c)) return false;
  }
  return true;
}

std::string sanitize_tool_name(std::string_view name) {
  if (is_model_tool_name(name)) return std::string(name);
  std::string out;
  bool in_run = false;
  for (unsigned char c : name) {
    if (allowed(c)) {
      out += static_cast<char>(c);
      in_run = false;
    } else if (!in_run) {
      out += '_';
      in_run = true;
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.empty()) out = "tool";
  return with_suffix(std::move(out), fmt::format("_{:08x}", fnv1a(name)));
}

const std::string& ToolNameMap::add(const std::string& original) {
  if (auto it = to_model_.find(original); it != to_model_.end()) return it->second;
  std::string candidate = sanitize_tool_name(original);
  for (int n = 2; to_original_.contains(candidate); ++n) {
    candidate = with_suffix(sanitize_tool_name(original), fmt::format("_{}", n));
  }
  to_original_.emplace(candidate, original);
  return to_model_.emplace(original, std::move(candidate)).first->second;
}

std::optional<std::string> ToolNameMap::original(std::string_view model_name) const {
  auto it = to_original_.find(std::string(model_name));
  if (it == to_original_.end()) return std::nullopt;
  return it->second;
}

}  // namespace idp::agents

#include "idp/llm/think_tags.h"

#include <array>

namespace idp::llm {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kTags{{
    {"<think>", "</think>"},
    {"<thinking>", "</thinking>"},
}};

// True when `tail` could still grow into `tag`.
bool is_prefix_of(std::string_view tail, std::string_view tag) {
  return tail.size() < tag.size() && tag.substr(0, tail.size()) == tail;
}

}  // namespace

void ThinkTagSplitter::emit(std::vector<Piece>& out, bool reasoning, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().reasoning == reasoning) {
    out.back().text += text;
  } else {
    out.push_back(Piece{reasoning, std::string(text)});
  }
}

std::vector<ThinkTagSplitter::Piece> ThinkTagSplitter::feed(std::string_view text) {
  std::vector<Piece> out;
  std::string buf = std::move(held_);
  held_.clear();
  buf.append(text);
  std::string_view rest(buf);
  while (!rest.empty()) {
    std::size_t lt = rest.find('<');
    if (lt == std::string_view::npos) {
      emit(out, in_think_, rest);
      break;
    }
    emit(out, in_think_, rest.substr(0, lt));
    rest.remove_prefix(lt);
    bool matched = false;
    bool maybe = false;
    if (in_think_) {
      if (rest.starts_with(closing_)) {
        rest.remove_prefix(closing_.size());
        in_think_ = false;
        matched = true;
      } else {
        maybe = is_prefix_of(rest, closing_);
      }
    } else {
      for (const auto& [open, close] : kTags) {
        if (rest.starts_with(open)) {
          rest.remove_prefix(open.size());
          in_think_ = true;
          closing_ = std::string(close);
          matched = true;
          break;
        }
        maybe = maybe || is_prefix_of(rest, open);
      }
    }
    if (matched) continue;
    if (maybe) {  // the rest is a tag's beginning: wait for more text
      held_ = std::string(rest);
      break;
    }
    emit(out, in_think_, rest.substr(0, 1));
    rest.remove_prefix(1);
  }
  return out;
}

std::vector<ThinkTagSplitter::Piece> ThinkTagSplitter::flush() {
  std::vector<Piece> out;
  emit(out, in_think_, held_);
  held_.clear();
  return out;
}

}  // namespace idp::llm

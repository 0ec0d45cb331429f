// Process-wide logging. Human-readable lines on a TTY, JSON lines otherwise (one object per
// line: ts, level, msg, plus the fields passed). Formatting happens in the caller's thread;
// writing is serialized. Secrets print as "***" through idp::Secret's formatter, so pass the
// Secret itself, never reveal() it into a message.
#pragma once

#include <fmt/format.h>

#include <initializer_list>
#include <string_view>
#include <utility>

namespace idp::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kAuto, kHuman, kJson };

// Configures the process logger. Safe to call more than once (the last call wins).
void init(Level level, Format format = Format::kAuto);
// Parses "trace|debug|info|warn|warning|error|off"; returns false when unknown.
bool parse_level(std::string_view text, Level* out);
Level level();
bool enabled(Level level);

using Field = std::pair<std::string_view, std::string_view>;
// Writes one line. `fields` become extra JSON members (or " key=value" in human format).
void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

template <class... Args>
void trace(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kTrace)) write(Level::kTrace, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kError)) write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace idp::log

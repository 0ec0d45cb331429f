#include "store_values.h"

#include <boost/json/serialize.hpp>

#include "idp/core/json_util.h"

namespace idp::service::store_detail {

namespace bj = boost::json;

std::int64_t to_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

std::int64_t now_ms() { return to_ms(std::chrono::system_clock::now()); }

std::string strings_to_text(const std::vector<std::string>& items) {
  bj::array a;
  for (const auto& s : items) a.emplace_back(s);
  return bj::serialize(a);
}

std::vector<std::string> text_to_strings(const std::string& text) {
  std::vector<std::string> out;
  auto v = ::idp::json::parse(text);
  if (!v || !v->is_array()) return out;
  for (const auto& item : v->get_array()) {
    if (item.is_string()) out.emplace_back(item.get_string());
  }
  return out;
}

std::optional<std::string> object_to_text(const std::optional<bj::object>& o) {
  if (!o) return std::nullopt;
  return bj::serialize(*o);
}

std::optional<bj::object> text_to_object(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  auto v = ::idp::json::parse(*text);
  if (!v || !v->is_object()) return std::nullopt;
  return std::move(v->get_object());
}

bj::object parse_event(const std::string& text) {
  auto v = ::idp::json::parse(text);
  if (!v || !v->is_object()) return bj::object{{"type", "error"}, {"code", "corrupt"}};
  return std::move(v->get_object());
}

}  // namespace idp::service::store_detail

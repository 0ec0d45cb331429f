// How both store engines write the values of store.h into their columns: times as Unix
// milliseconds, lists and objects as JSON text, events as stored JSON. Pure functions.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store.h"

namespace idp::service::store_detail {

std::int64_t to_ms(TimePoint t);
TimePoint from_ms(std::int64_t ms);
std::int64_t now_ms();
std::string strings_to_text(const std::vector<std::string>& items);  // JSON array text
std::vector<std::string> text_to_strings(const std::string& text);
std::optional<std::string> object_to_text(const std::optional<boost::json::object>& o);
std::optional<boost::json::object> text_to_object(const std::optional<std::string>& text);
// A stored event; a row that is not a JSON object reads as an error event "corrupt".
boost::json::object parse_event(const std::string& text);

}  // namespace idp::service::store_detail

// JSON literals for the llm unit tests: parse a test's JSON text or fail the test, naming it.
// Not thread-safe (gtest assertions).
#pragma once

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string_view>

#include "idp/core/json_util.h"

namespace idp::llm::testing {

inline boost::json::value parse(std::string_view text) {
  auto v = ::idp::json::parse(text);
  EXPECT_TRUE(v) << text;
  return v ? *v : boost::json::value();
}

inline boost::json::object obj(std::string_view text) {
  boost::json::value v = parse(text);
  EXPECT_TRUE(v.is_object()) << text;
  return v.is_object() ? v.get_object() : boost::json::object();
}

}  // namespace idp::llm::testing

#include "calculator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>

namespace example {
namespace {

double ok(std::string_view e) {
  auto v = evaluate(e);
  EXPECT_TRUE(v) << e << ": " << (v ? "" : v.error());
  return v ? *v : 0;
}

std::string err(std::string_view e) {
  auto v = evaluate(e);
  EXPECT_FALSE(v) << e << " gave " << (v ? *v : 0);
  return v ? "" : v.error();
}

TEST(CalculatorTest, Arithmetic) {
  EXPECT_EQ(ok("(12.5 + 7) * 3"), 58.5);
  EXPECT_EQ(format_number(ok("(12.5 + 7) * 3")), "58.5");
  EXPECT_EQ(ok("2^10"), 1024);
  EXPECT_EQ(ok("-2^2"), -4);
  EXPECT_DOUBLE_EQ(ok("sqrt(16) + sin(0) + cos(0)"), 5);
  EXPECT_DOUBLE_EQ(ok("log(1000)"), 3);
  EXPECT_DOUBLE_EQ(ok("ln(_e)"), 1);
  EXPECT_DOUBLE_EQ(ok("2*pi"), 2 * std::numbers::pi);
  EXPECT_DOUBLE_EQ(ok("max(1, 7, 3)"), 7);
  EXPECT_EQ(format_number(ok("0.1 + 0.2")), "0.30000000000000004");
  EXPECT_EQ(format_number(-0.0), "0");
}

TEST(CalculatorTest, DivisionByZeroSaysWhere) {
  EXPECT_EQ(err("1/0"), "division by zero at position 2 (the divisor '0' is 0)");
  EXPECT_EQ(err("10 + 4 / (2 - 2)"), "division by zero at position 8 (the divisor '(2 - 2)' is 0)");
  EXPECT_EQ(err("3/sin(0)"), "division by zero at position 2 (the divisor 'sin(0)' is 0)");
}

TEST(CalculatorTest, BadSyntaxSaysWhere) {
  EXPECT_NE(err("2 + * 3").find("position"), std::string::npos);
  EXPECT_NE(err("(1 + 2").find("parenthes"), std::string::npos);
  std::string e = err("1 + x");
  EXPECT_NE(e.find("position 5"), std::string::npos) << e;
  EXPECT_EQ(err("   "), "the expression is empty");
  EXPECT_NE(err("sqrt(-1)").find("not a number"), std::string::npos);
  EXPECT_NE(err("10^400").find("too large"), std::string::npos);
}

TEST(CalculatorTest, LimitsOnLengthAndDepth) {
  std::string deep(40, '(');
  deep += "1";
  deep += std::string(40, ')');
  EXPECT_EQ(err(deep), "parentheses nested deeper than 32 at position 33");
  std::string ok_depth(32, '(');
  ok_depth += "1" + std::string(32, ')');
  EXPECT_EQ(ok(ok_depth), 1);
  std::string huge(2000, '1');
  EXPECT_EQ(err(huge), "the expression is 2000 characters long; at most 1000 are allowed");
  EXPECT_NE(err("1\x01").find("control character"), std::string::npos);
}

}  // namespace
}  // namespace example

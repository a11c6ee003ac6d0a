#include "worker/agent/params.h"

#include <gtest/gtest.h>

namespace fc::agent {
namespace {

TEST(ParseKeyValueParams, ValuesKeepTheirJsonTypeElseBecomeStrings) {
  auto p = ParseKeyValueParams({"seconds=0.5", "permanent=true", "message=boom now", "n=3",
                                "list=[1,2]", "quoted=\"7\"", "eq=a=b", "empty="});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_DOUBLE_EQ((*p)["seconds"].get<double>(), 0.5);
  EXPECT_TRUE((*p)["permanent"].get<bool>());
  EXPECT_EQ((*p)["message"], "boom now");
  EXPECT_TRUE((*p)["n"].is_number_integer());
  EXPECT_EQ((*p)["list"], nlohmann::json::array({1, 2}));
  EXPECT_EQ((*p)["quoted"], "7");
  EXPECT_EQ((*p)["eq"], "a=b");
  EXPECT_EQ((*p)["empty"], "");
}

TEST(ParseKeyValueParams, MalformedOrRepeatedPairsNameThePair) {
  auto no_eq = ParseKeyValueParams({"seconds"});
  ASSERT_FALSE(no_eq.ok());
  EXPECT_EQ(no_eq.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_eq.status().message().find("'seconds'"), std::string::npos);
  EXPECT_FALSE(ParseKeyValueParams({"=3"}).ok());
  auto twice = ParseKeyValueParams({"a=1", "a=2"});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("key 'a' given twice"), std::string::npos);
}

TEST(GetParams, WrongTypeNamesKindFieldAndValue) {
  nlohmann::json params = {{"seconds", "soon"}, {"permanent", 1}, {"message", 5}};
  auto n = GetNumber(params, "sleep", "seconds", 1.0);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().message(), "job kind 'sleep' field 'seconds': must be a number, got \"soon\"");
  EXPECT_FALSE(GetBool(params, "fail", "permanent", false).ok());
  EXPECT_FALSE(GetString(params, "fail", "message", "").ok());
}

TEST(GetParams, AbsentFieldsTakeTheDefault) {
  nlohmann::json params = nlohmann::json::object();
  EXPECT_DOUBLE_EQ(*GetNumber(params, "sleep", "seconds", 2.5), 2.5);
  EXPECT_TRUE(*GetBool(params, "fail", "permanent", true));
  EXPECT_EQ(*GetString(params, "fail", "message", "x"), "x");
}

}  // namespace
}  // namespace fc::agent

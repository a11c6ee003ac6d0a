// JobParams: local params are checked against common/dag's schemas and completed with their
// defaults; every problem is INVALID_ARGUMENT naming the param.
#include "worker/jobs/job_params.h"

#include <gtest/gtest.h>

namespace fc::jobs {
namespace {

TEST(JobParamsTest, FillsSchemaDefaults) {
  auto p = JobParams::Resolve("discover", {{"model", "/m"}, {"data", "/d"}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p->Int("ig_steps"), 5);
  EXPECT_EQ(*p->Str("method"), "eap_ig");
  EXPECT_EQ(*p->Str("top"), "5%");
  EXPECT_FALSE(p->Has("checkpoint"));
}

TEST(JobParamsTest, NumberForAStringParamTakesItsText) {
  auto p = JobParams::Resolve("discover", {{"model", "/m"}, {"data", "/d"}, {"top", 200}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p->Str("top"), "200");
}

TEST(JobParamsTest, OutOfRangeNamesTheParam) {
  auto p = JobParams::Resolve("discover", {{"model", "/m"}, {"data", "/d"}, {"ig_steps", 0}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("'ig_steps'"), std::string::npos) << p.status().message();
}

TEST(JobParamsTest, BadEnumWrongTypeUnknownAndMissingAreErrors) {
  auto bad_enum = JobParams::Resolve("finetune", {{"model", "m"}, {"data", "d"}, {"method", "qlora"}});
  ASSERT_FALSE(bad_enum.ok());
  EXPECT_NE(bad_enum.status().message().find("'method'"), std::string::npos);
  auto bad_type = JobParams::Resolve("finetune", {{"model", "m"}, {"data", "d"}, {"rank", "big"}});
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("'rank'"), std::string::npos);
  auto unknown = JobParams::Resolve("dataset", {{"task", "add_sub"}, {"colour", "red"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'colour'"), std::string::npos);
  auto missing = JobParams::Resolve("dataset", nlohmann::json::object());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'task'"), std::string::npos);
}

TEST(JobParamsTest, CrossParamChecksOfTheSchemaApply) {
  auto p = JobParams::Resolve("finetune", {{"model", "m"}, {"data", "d"}, {"method", "circuit_lora"}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("'plan'"), std::string::npos) << p.status().message();
}

TEST(JobParamsTest, ExtraParamsAreAcceptedOnlyWhenDeclared) {
  nlohmann::json raw = {{"model", "m"}, {"data", "d"}, {"resume_from", "/x/checkpoint-4"}};
  EXPECT_FALSE(JobParams::Resolve("finetune", raw).ok());
  auto p = JobParams::Resolve("finetune", raw, {"resume_from"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p->OptStr("resume_from"), "/x/checkpoint-4");
}

}  // namespace
}  // namespace fc::jobs

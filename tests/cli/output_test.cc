#include "cli/output.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace fc::cli {
namespace {

TEST(Output, TableColumnsAlignToTheWidestCell) {
  std::string t = RenderTable({"A", "LONGHEADER"}, {{"wide-cell", "x"}, {"b", "y"}});
  EXPECT_EQ(t,
            "A          LONGHEADER\n"
            "wide-cell  x\n"
            "b          y\n");
}

TEST(Output, JobStatesParseCaseInsensitivelyAndRejectUnknownNames) {
  EXPECT_EQ(*ParseJobState("running"), v1::RUNNING);
  EXPECT_EQ(*ParseJobState("SUCCEEDED"), v1::SUCCEEDED);
  auto bad = ParseJobState("done");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'done'"), std::string::npos);
  EXPECT_NE(bad.status().message().find("CANCELLED"), std::string::npos);
  EXPECT_FALSE(ParseJobState("JOB_STATE_UNSPECIFIED").ok());
}

TEST(Output, ExperimentStateNamesDropThePrefix) {
  EXPECT_EQ(ExperimentStateName(v1::EXP_SUCCEEDED), "SUCCEEDED");
  EXPECT_TRUE(IsTerminal(v1::EXP_CANCELLED));
  EXPECT_FALSE(IsTerminal(v1::EXP_RUNNING));
  EXPECT_TRUE(IsTerminal(v1::FAILED));
  EXPECT_FALSE(IsTerminal(v1::LEASED));
}

TEST(Output, JsonUsesProtoFieldNamesAndPrintsDefaults) {
  v1::Job j;
  j.set_id("e1/a");
  j.set_state(v1::RUNNING);
  auto parsed = nlohmann::json::parse(ToJson(j, false));
  EXPECT_EQ(parsed["id"], "e1/a");
  EXPECT_EQ(parsed["state"], "RUNNING");
  EXPECT_EQ(parsed["experiment_id"], "");  // default printed, snake_case name
  EXPECT_EQ(parsed["attempt"], 0);
}

TEST(Output, JobsTableShowsOneRowPerJobWithState) {
  v1::Job a, b;
  a.set_id("e/a");
  a.set_name("a");
  a.set_kind("sleep");
  a.set_state(v1::SUCCEEDED);
  a.set_progress(1);
  b.set_id("e/b");
  b.set_name("b");
  b.set_kind("fail");
  b.set_state(v1::FAILED);
  b.set_error("boom\nsecond line");
  std::string t = JobsTable({&a, &b}, true);
  EXPECT_NE(t.find("e/a"), std::string::npos);
  EXPECT_NE(t.find("SUCCEEDED"), std::string::npos);
  EXPECT_NE(t.find("100%"), std::string::npos);
  EXPECT_NE(t.find("boom"), std::string::npos);
  EXPECT_EQ(t.find("second line"), std::string::npos);  // one line per job
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 3);
}

TEST(Output, WorkersTableShowsFlags) {
  v1::Worker w;
  w.set_name("w1");
  w.set_alive(true);
  w.set_draining(true);
  (*w.mutable_resources()->mutable_labels())["zone"] = "a";
  std::string t = WorkersTable({&w}, 0);
  EXPECT_NE(t.find("alive,draining"), std::string::npos) << t;
  EXPECT_NE(t.find("zone=a"), std::string::npos);
}

TEST(Output, ProgressBarFillsProportionally) {
  EXPECT_EQ(ProgressBar(0.5, 1, 2, 10), "[#####.....]  50% 1/2 done");
  EXPECT_EQ(ProgressBar(2.0, 2, 2, 4), "[####] 100% 2/2 done");
}

TEST(Output, OutputFormatAcceptsTableAndJsonOnly) {
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_EQ(ParseOutputFormat("yaml").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fc::cli

#include "worker/agent/local_run.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "worker/agent/builtin_executors.h"

namespace fc::agent {
namespace {

class LocalRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterBuiltinExecutors(&registry_).ok());
    dir_ = std::filesystem::temp_directory_path() /
           ("fc_local_run_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  nlohmann::json ReadResult() {
    std::ifstream f(dir_ / "result.json");
    EXPECT_TRUE(f.good()) << "no result.json in " << dir_;
    return nlohmann::json::parse(f, nullptr, false);
  }

  ExecutorRegistry registry_;
  std::filesystem::path dir_;
};

TEST_F(LocalRunTest, SuccessWritesResultJsonWithTheExecutorsResult) {
  LocalRunOptions o;
  o.kind = "sleep";
  o.params = {{"seconds", 0.05}};
  o.out_dir = (dir_ / "nested").string();
  dir_ /= "nested";
  ASSERT_TRUE(RunLocal(registry_, o).ok());
  nlohmann::json r = ReadResult();
  EXPECT_EQ(r["status"], "OK");
  EXPECT_EQ(r["kind"], "sleep");
  EXPECT_DOUBLE_EQ(r["result"]["slept_seconds"].get<double>(), 0.05);
  EXPECT_EQ(r["params"]["seconds"], 0.05);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "result.json.tmp"));
}

TEST_F(LocalRunTest, FailureStillWritesResultJsonWithTheError) {
  LocalRunOptions o;
  o.kind = "fail";
  o.params = {{"message", "exploded"}};
  o.out_dir = dir_.string();
  Status s = RunLocal(registry_, o);
  EXPECT_EQ(s.message(), "exploded");
  nlohmann::json r = ReadResult();
  EXPECT_EQ(r["status"], StatusCodeName(s.code()));
  EXPECT_EQ(r["error"], "exploded");
}

TEST_F(LocalRunTest, UnknownKindIsUnimplementedAndRecorded) {
  LocalRunOptions o;
  o.kind = "nope";
  o.out_dir = dir_.string();
  EXPECT_EQ(RunLocal(registry_, o).code(), StatusCode::kUnimplemented);
  EXPECT_EQ(ReadResult()["status"], StatusCodeName(StatusCode::kUnimplemented));
}

TEST_F(LocalRunTest, MissingOutDirIsInvalidArgument) {
  LocalRunOptions o;
  o.kind = "sleep";
  Status s = RunLocal(registry_, o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--out"), std::string::npos);
}

}  // namespace
}  // namespace fc::agent

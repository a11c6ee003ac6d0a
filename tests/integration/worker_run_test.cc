// `fc-worker run KIND --param k=v --out DIR`: one job locally, no coordinator; result.json in DIR
// and exit codes 0 (ok), 2 (bad parameters / unknown kind), 1 (other failure).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/integration/cluster.h"

namespace fc::itest {
namespace {

class WorkerRun : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = FindBinary("fc-worker");
    ASSERT_NE(bin_, "") << "fc-worker not found under $FC_BUILD_DIR";
    dir_ = std::filesystem::temp_directory_path() / ("fc_worker_run_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  nlohmann::json Result(const std::string& sub) {
    std::ifstream f(dir_ / sub / "result.json");
    return nlohmann::json::parse(f, nullptr, false);
  }
  std::string bin_;
  std::filesystem::path dir_;
};

TEST_F(WorkerRun, SleepSucceedsAndWritesResultJson) {
  CommandResult r = RunCommand({bin_, "run", "sleep", "--param", "seconds=0.2", "--out", (dir_ / "ok").string()}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = Result("ok");
  EXPECT_EQ(j["status"], "OK");
  EXPECT_DOUBLE_EQ(j["result"]["slept_seconds"].get<double>(), 0.2);
}

TEST_F(WorkerRun, FailuresExitNonZeroAndStillRecordTheError) {
  CommandResult transient = RunCommand(
      {bin_, "run", "fail", "--param", "message=disk on fire", "--out", (dir_ / "t").string()}, 20s);
  EXPECT_EQ(transient.exit_code, 1);
  EXPECT_NE(transient.err.find("disk on fire"), std::string::npos) << transient.err;
  EXPECT_EQ(Result("t")["error"], "disk on fire");

  CommandResult permanent = RunCommand(
      {bin_, "run", "fail", "--param", "permanent=true", "--out", (dir_ / "p").string()}, 20s);
  EXPECT_EQ(permanent.exit_code, 2);

  CommandResult bad = RunCommand({bin_, "run", "sleep", "--param", "seconds=soon", "--out", (dir_ / "b").string()}, 20s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("field 'seconds'"), std::string::npos) << bad.err;

  CommandResult unknown = RunCommand({bin_, "run", "no_such_kind", "--out", (dir_ / "u").string()}, 20s);
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no_such_kind"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace fc::itest

// A fan-out/fan-in DAG of sleep jobs runs to completion across two real workers, in dependency
// order.
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"

namespace fc::itest {
namespace {

constexpr char kFanOutFanIn[] = R"(experiment: fan
jobs:
  a:  {kind: sleep, seconds: 0.2}
  b1: {kind: sleep, seconds: 0.6, after: [a]}
  b2: {kind: sleep, seconds: 0.6, after: [a]}
  b3: {kind: sleep, seconds: 0.6, after: [a]}
  b4: {kind: sleep, seconds: 0.6, after: [a]}
  z:  {kind: sleep, seconds: 0.1, after: [b1, b2, b3, b4]}
)";

TEST_F(ClusterTest, FanOutFanInDagCompletesOnTwoWorkersInDependencyOrder) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("w1");
  cluster_->StartWorker("w2");
  WaitWorkersAlive({"w1", "w2"});
  std::string err;
  std::string id = cluster_->Submit(kFanOutFanIn, &err);
  ASSERT_NE(id, "") << err;

  v1::GetExperimentReply r = cluster_->WaitExperimentDone(id, 30s);
  ASSERT_EQ(r.experiment().state(), v1::EXP_SUCCEEDED);
  auto jobs = JobsByName(r);
  ASSERT_EQ(jobs.size(), 6u);
  for (const auto& [name, j] : jobs) EXPECT_EQ(j.state(), v1::SUCCEEDED) << name;
  for (const char* b : {"b1", "b2", "b3", "b4"}) {
    EXPECT_GE(jobs[b].started_unix_ms(), jobs["a"].finished_unix_ms()) << b;
    EXPECT_LE(jobs[b].finished_unix_ms(), jobs["z"].started_unix_ms()) << b;
  }
  // Both workers ran part of it: each left result.json files, six in all, all OK.
  auto w1 = ResultFiles("w1"), w2 = ResultFiles("w2");
  EXPECT_FALSE(w1.empty());
  EXPECT_FALSE(w2.empty());
  EXPECT_EQ(w1.size() + w2.size(), 6u);
  for (const auto* files : {&w1, &w2}) {
    for (const std::string& f : *files) {
      std::ifstream in(f);
      auto j = nlohmann::json::parse(in, nullptr, false);
      EXPECT_EQ(j["status"], "OK") << f;
    }
  }
  // The result the sleep executor reported reached the coordinator.
  auto result = nlohmann::json::parse(jobs["b1"].result_json(), nullptr, false);
  ASSERT_FALSE(result.is_discarded()) << jobs["b1"].result_json();
  EXPECT_DOUBLE_EQ(result["slept_seconds"].get<double>(), 0.6);
}

}  // namespace
}  // namespace fc::itest

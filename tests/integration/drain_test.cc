// Draining: an operator drain (fcctl drain) keeps new jobs off a worker; SIGTERM drains a worker
// process: it finishes its job within the grace period, or hands it back (ReleaseJob) when the
// grace runs out, and exits 0 either way.
#include <csignal>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"

namespace fc::itest {
namespace {

TEST_F(ClusterTest, DrainedWorkerTakesNoNewJobUntilUndrained) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("drained");
  cluster_->StartWorker("busy");
  WaitWorkersAlive({"drained", "busy"});

  CommandResult d = cluster_->Fcctl({"drain", "drained", "-o", "json"});
  ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
  auto j = nlohmann::json::parse(d.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << d.out;
  EXPECT_EQ(j["worker"]["draining"], true) << d.out;
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * kHeartbeatMs));  // the worker hears it

  std::string id = cluster_->Submit(
      "experiment: drain\njobs:\n  a: {kind: sleep, seconds: 0.2}\n  b: {kind: sleep, seconds: 0.2}\n"
      "  c: {kind: sleep, seconds: 0.2}\n");
  ASSERT_NE(id, "");
  EXPECT_EQ(cluster_->WaitExperimentDone(id, 20s).experiment().state(), v1::EXP_SUCCEEDED);
  EXPECT_TRUE(ResultFiles("drained").empty());
  EXPECT_EQ(ResultFiles("busy").size(), 3u);
  EXPECT_TRUE(cluster_->worker("drained").running());  // an operator drain keeps the process up

  CommandResult u = cluster_->Fcctl({"drain", "drained", "--undo", "-o", "json"});
  ASSERT_EQ(u.exit_code, 0) << u.out << u.err;
  EXPECT_EQ(nlohmann::json::parse(u.out, nullptr, false)["worker"]["draining"], false) << u.out;
}

TEST_F(ClusterTest, SigtermDrainFinishesTheRunningJobWithinGraceAndExitsZero) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("w1", 1, {"--drain-grace-s", "20"});
  WaitWorkersAlive({"w1"});
  std::string id = cluster_->Submit(
      "experiment: term\njobs:\n  a: {kind: sleep, seconds: 1.5}\n  b: {kind: sleep, seconds: 0.1, after: [a]}\n");
  ASSERT_NE(id, "");
  ASSERT_TRUE(WaitJobState(id, "a", v1::RUNNING, 15s));
  int attempt = GetJobByName(id, "a").attempt();
  cluster_->worker("w1").Signal(SIGTERM);
  EXPECT_EQ(cluster_->worker("w1").Wait(15s), 0);
  v1::Job a = GetJobByName(id, "a");
  EXPECT_EQ(a.state(), v1::SUCCEEDED);
  EXPECT_EQ(a.attempt(), attempt);
  // The draining worker took no new work: b is still waiting for a worker.
  v1::Job b = GetJobByName(id, "b");
  EXPECT_TRUE(b.state() == v1::READY || b.state() == v1::PENDING) << v1::JobState_Name(b.state());
}

TEST_F(ClusterTest, SigtermDrainHandsBackAJobThatOutlivesTheGrace) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("leaving", 1, {"--drain-grace-s", "0.3"});
  WaitWorkersAlive({"leaving"});
  std::string id = cluster_->Submit("experiment: handback\njobs:\n  a: {kind: sleep, seconds: 3}\n");
  ASSERT_NE(id, "");
  ASSERT_TRUE(WaitJobState(id, "a", v1::RUNNING, 15s));
  auto t0 = std::chrono::steady_clock::now();
  cluster_->worker("leaving").Signal(SIGTERM);
  EXPECT_EQ(cluster_->worker("leaving").Wait(10s), 0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.5);
  // Handed back: available again at once (no lease expiry wait), then finished by another worker.
  v1::Job a = GetJobByName(id, "a");
  EXPECT_NE(a.state(), v1::RUNNING);
  EXPECT_NE(a.state(), v1::SUCCEEDED);
  cluster_->StartWorker("next");
  v1::GetExperimentReply r = cluster_->WaitExperimentDone(id, 20s);
  EXPECT_EQ(r.experiment().state(), v1::EXP_SUCCEEDED);
  EXPECT_EQ(ResultFiles("next").size(), 1u);
}

}  // namespace
}  // namespace fc::itest

// fcctl cancel stops a running job within about one heartbeat: the coordinator tells the worker
// in its next heartbeat reply, the executor's cancel token is set, and the worker reports the
// job cancelled (its result.json records CANCELLED).
#include <chrono>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"

namespace fc::itest {
namespace {

TEST_F(ClusterTest, CancelStopsARunningJobWithinOneHeartbeat) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("w1");
  WaitWorkersAlive({"w1"});
  std::string err;
  std::string id = cluster_->Submit("experiment: cancel\njobs:\n  long: {kind: sleep, seconds: 60}\n", &err);
  ASSERT_NE(id, "") << err;
  ASSERT_TRUE(WaitJobState(id, "long", v1::RUNNING, 15s));

  auto t0 = std::chrono::steady_clock::now();
  CommandResult c = cluster_->Fcctl({"cancel", id + "/long"});
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  // The worker stops the executor and writes result.json with status CANCELLED.
  nlohmann::json result;
  ASSERT_TRUE(Cluster::WaitFor([&] {
    auto files = ResultFiles("w1");
    if (files.empty()) return false;
    std::ifstream in(files[0]);
    result = nlohmann::json::parse(in, nullptr, false);
    return !result.is_discarded();
  }, 5s));
  double stopped_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("cancel_to_stopped_ms", static_cast<int>(stopped_s * 1000));
  EXPECT_EQ(result["status"], "CANCELLED");
  // One heartbeat (300 ms) plus an fcctl process start, polling and scheduling slack on a loaded
  // 2-core box (typically ~0.4 s here; the fake-coordinator unit test bounds it tighter).
  EXPECT_LT(stopped_s, 0.3 + 2.2) << "stopped after " << stopped_s << " s";
  ASSERT_TRUE(WaitJobState(id, "long", v1::CANCELLED, 5s));
  // The worker is free again and alive.
  EXPECT_TRUE(cluster_->worker("w1").running());
}

TEST_F(ClusterTest, CancelExperimentStopsItsJobsAndWatchExitsNonZero) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("w1", 2);
  WaitWorkersAlive({"w1"});
  std::string id = cluster_->Submit(
      "experiment: cancel2\njobs:\n  a: {kind: sleep, seconds: 60}\n  b: {kind: sleep, seconds: 60}\n"
      "  c: {kind: sleep, seconds: 1, after: [a, b]}\n");
  ASSERT_NE(id, "");
  ASSERT_TRUE(WaitJobState(id, "a", v1::RUNNING, 15s));
  CommandResult c = cluster_->Fcctl({"cancel", id});
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  v1::GetExperimentReply r = cluster_->WaitExperimentDone(id, 10s);
  EXPECT_EQ(r.experiment().state(), v1::EXP_CANCELLED);
  for (const v1::Job& j : r.jobs()) EXPECT_EQ(j.state(), v1::CANCELLED) << j.name();
  CommandResult w = cluster_->Fcctl({"watch", id}, 20s);
  EXPECT_EQ(w.exit_code, 1) << w.out << w.err;
  EXPECT_NE(w.out.find("CANCELLED"), std::string::npos) << w.out;
}

}  // namespace
}  // namespace fc::itest

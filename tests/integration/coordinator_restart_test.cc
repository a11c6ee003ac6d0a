// The coordinator SIGKILLed mid-run and restarted on the same database and port loses nothing:
// workers reconnect and re-attach their running jobs, every job succeeds exactly once (one
// SUCCEEDED event per job in the durable log), and an fcctl watch running throughout resumes
// and exits 0.
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"

namespace fc::itest {
namespace {

constexpr char kWide[] = R"(experiment: restart
jobs:
  p1: {kind: sleep, seconds: 1.5}
  p2: {kind: sleep, seconds: 1.5}
  p3: {kind: sleep, seconds: 1.5}
  p4: {kind: sleep, seconds: 1.5}
  p5: {kind: sleep, seconds: 0.5, after: [p1, p2]}
  p6: {kind: sleep, seconds: 0.5, after: [p3, p4]}
  join: {kind: sleep, seconds: 0.2, after: [p5, p6]}
)";

TEST_F(ClusterTest, CoordinatorKilledMidRunAndRestartedOnTheSameDbLosesNothing) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("w1", 2);
  cluster_->StartWorker("w2", 2);
  WaitWorkersAlive({"w1", "w2"});
  std::string err;
  std::string id = cluster_->Submit(kWide, &err);
  ASSERT_NE(id, "") << err;

  // fcctl watch follows the whole run, across the restart.
  Subprocess watch;
  ASSERT_TRUE(watch.Start({FindBinary("fcctl"), "--coordinator", cluster_->address(), "watch", id,
                           "-o", "json"},
                          cluster_->dir() + "/watch.log"));
  // The watch must be connected (it printed an event) before the coordinator goes away.
  ASSERT_TRUE(Cluster::WaitFor([&] { return watch.ReadLog().find("\"seq\"") != std::string::npos; }, 15s));
  ASSERT_TRUE(Cluster::WaitFor([&] {
    v1::GetExperimentReply r;
    if (!cluster_->GetExperiment(id, &r).ok()) return false;
    int running = 0;
    for (const v1::Job& j : r.jobs()) running += j.state() == v1::RUNNING ? 1 : 0;
    return running >= 2;
  }, 15s));

  const int port = cluster_->port();
  cluster_->KillCoordinator();
  std::this_thread::sleep_for(500ms);  // the workers notice and start reconnecting
  ASSERT_EQ(cluster_->StartCoordinator(port), "");
  // How long until both workers have registered again (a second "registered" line each).
  auto restarted = std::chrono::steady_clock::now();
  auto registrations = [&](const std::string& w) {
    std::string log = cluster_->worker(w).ReadLog();
    int n = 0;
    for (size_t p = log.find("registered worker="); p != std::string::npos; p = log.find("registered worker=", p + 1)) ++n;
    return n;
  };
  ASSERT_TRUE(Cluster::WaitFor([&] { return registrations("w1") >= 2 && registrations("w2") >= 2; }, 20s));
  RecordProperty("workers_back_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                         std::chrono::steady_clock::now() - restarted).count()));

  v1::GetExperimentReply r = cluster_->WaitExperimentDone(id, 60s);
  ASSERT_EQ(r.experiment().state(), v1::EXP_SUCCEEDED);
  for (const v1::Job& j : r.jobs()) EXPECT_EQ(j.state(), v1::SUCCEEDED) << j.name();

  // Exactly one SUCCEEDED transition per job in the event log.
  v1::WatchRequest req;
  req.set_experiment_id(id);
  auto ctx = Ctx(2000);
  auto reader = cluster_->experiments().Watch(ctx.get(), req);
  std::map<std::string, int> succeeded;
  v1::Event ev;
  while (reader->Read(&ev)) {
    if (ev.type() == "job_state" && ev.job_state() == v1::SUCCEEDED) ++succeeded[ev.job_id()];
  }
  ASSERT_EQ(succeeded.size(), 7u);
  for (const auto& [job, n] : succeeded) EXPECT_EQ(n, 1) << job;

  // The watch saw the end and says the experiment succeeded.
  EXPECT_EQ(watch.Wait(30s), 0) << watch.ReadLog();
  std::istringstream lines(watch.ReadLog());
  std::string line;
  int64_t prev_seq = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("seq")) continue;  // reconnect notices
    int64_t seq = std::stoll(j["seq"].is_string() ? j["seq"].get<std::string>() : j["seq"].dump());
    EXPECT_GT(seq, prev_seq) << "watch repeated or reordered an event";
    prev_seq = seq;
  }
}

}  // namespace
}  // namespace fc::itest
